/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfmqttsink's connection to the broker: an Eclipse Paho asynchronous
 * client driven by one thread that connects, reconnects with back-off,
 * sends the result queue in order and forgets what the broker
 * acknowledges. The element only pushes results and reads the outcome. */
#pragma once

#include <gst/gst.h>

#include "gstsfmqttqueue.h"

G_BEGIN_DECLS

typedef struct _GstSfMqttClient GstSfMqttClient;

typedef struct
{
  const gchar *uri; /* tcp://host:port or ssl://host:port */
  const gchar *topic;
  const gchar *client_id;
  const gchar *username;  /* nullable */
  const gchar *password;  /* nullable */
  const gchar *ca_file;   /* nullable; set for ssl:// */
  gint qos;               /* 0, 1 or 2 */
  guint max_queued;       /* results kept until acknowledged */
  gboolean connect_async; /* warn on @owner, once, when unreachable */
} GstSfMqttClientSettings;

/* How long one connection attempt may take, in seconds. */
#define GST_SF_MQTT_CONNECT_TIMEOUT_S 5

/* (transfer full) a client for @settings (copied) that starts connecting
 * at once; @owner (transfer none, outlives the client) gets the
 * connect-async warning. NULL with a message in *reason when Paho rejects
 * the address. */
GstSfMqttClient *gst_sf_mqtt_client_new (
    GstElement *owner, const GstSfMqttClientSettings *settings, gchar **reason);
/* Stops the thread, disconnects and drops what is still queued. */
void gst_sf_mqtt_client_free (GstSfMqttClient *client);

/* Waits for the outcome of the first connection attempt. FALSE when it
 * failed or timed out: *reason (transfer full) says why, *refused is set
 * when the broker refused the credentials. */
gboolean gst_sf_mqtt_client_wait_connected (
    GstSfMqttClient *client, gboolean *refused, gchar **reason);

/* Queues @payload (transfer full) for sending. Returns how many of the
 * oldest results were dropped because the queue was full. */
guint gst_sf_mqtt_client_publish (
    GstSfMqttClient *client, gchar *payload, gsize len);

/* (transfer none) the results not yet acknowledged. */
GstSfMqttQueue *gst_sf_mqtt_client_queue (GstSfMqttClient *client);

G_END_DECLS
