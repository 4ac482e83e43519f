/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfmqttsink's queue of results: kept from render() until the broker
 * acknowledges them, re-sent after a reconnect, oldest dropped when full. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GstSfMqttQueue GstSfMqttQueue;

/* Hands one payload to the client, under the queue's lock. Returns FALSE
 * when it could not be sent; else sets *token to the message id to wait
 * for, or to 0 when completions come in sending order instead (QoS 0:
 * written to the socket). */
typedef gboolean (*GstSfMqttSendFunc) (
    const gchar *payload, gsize len, gint *token, gpointer user_data);

/* (transfer full) a queue of at most @max_items (at least 1) results. */
GstSfMqttQueue *gst_sf_mqtt_queue_new (guint max_items);
void gst_sf_mqtt_queue_free (GstSfMqttQueue *queue);

/* Appends @payload (transfer full, @len bytes), first dropping the oldest
 * results while the queue is full. Returns how many were dropped. */
guint gst_sf_mqtt_queue_push (GstSfMqttQueue *queue, gchar *payload, gsize len);
/* Sends the oldest result not yet sent through @send, unless
 * @max_in_flight are already unacknowledged. TRUE when one was sent. */
gboolean gst_sf_mqtt_queue_send_next (GstSfMqttQueue *queue,
    guint max_in_flight, GstSfMqttSendFunc send, gpointer user_data);
/* The broker acknowledged message @token, or (@token 0) the oldest
 * result sent without a message id was written: it is forgotten. */
void gst_sf_mqtt_queue_ack (GstSfMqttQueue *queue, gint token);
/* The connection is gone: every unacknowledged result waits to be sent
 * again, in order. Returns how many there were. */
guint gst_sf_mqtt_queue_requeue (GstSfMqttQueue *queue);
/* Waits until the queue is empty, @end_time (monotonic µs) passes or the
 * queue is set flushing. Returns how many results are left. */
guint gst_sf_mqtt_queue_wait_empty (GstSfMqttQueue *queue, gint64 end_time);
/* While flushing, gst_sf_mqtt_queue_wait_empty() returns at once. */
void gst_sf_mqtt_queue_set_flushing (GstSfMqttQueue *queue, gboolean flushing);
guint gst_sf_mqtt_queue_length (GstSfMqttQueue *queue);

G_END_DECLS
