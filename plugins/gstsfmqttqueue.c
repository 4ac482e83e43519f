/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfmqttsink's queue of results.
 *
 * Results are sent in order, so the unacknowledged ones are always the
 * first n_in_flight of the queue; acknowledgements may come in any order
 * and remove results from inside that prefix. A result dropped while in
 * flight leaves its token behind, mapped to NULL, so that its late
 * acknowledgement is recognised and cannot be taken for a newer result's
 * once the client reuses the message id. Results sent without an id (QoS
 * 0) complete in sending order; one dropped in flight is counted, so
 * that its completion is not taken for the next one's. */
#include "gstsfmqttqueue.h"

typedef struct
{
  gchar *payload;
  gsize len;
  gint token; /* the message id while in flight, else 0 */
} GstSfMqttItem;

struct _GstSfMqttQueue
{
  GMutex lock;
  GCond cond;
  guint max_items;
  GQueue items; /* of GstSfMqttItem, oldest first */
  guint n_in_flight;
  GHashTable *in_flight;     /* token → GstSfMqttItem, or NULL once dropped */
  guint n_dropped_untracked; /* dropped in flight without a token */
  gboolean flushing;
};

static void
item_free (GstSfMqttItem *item)
{
  g_free (item->payload);
  g_free (item);
}

GstSfMqttQueue *
gst_sf_mqtt_queue_new (guint max_items)
{
  GstSfMqttQueue *queue = g_new0 (GstSfMqttQueue, 1);

  g_mutex_init (&queue->lock);
  g_cond_init (&queue->cond);
  queue->max_items = MAX (max_items, 1);
  g_queue_init (&queue->items);
  queue->in_flight = g_hash_table_new (g_direct_hash, g_direct_equal);
  return queue;
}

void
gst_sf_mqtt_queue_free (GstSfMqttQueue *queue)
{
  if (queue == NULL)
    return;
  g_queue_clear_full (&queue->items, (GDestroyNotify)item_free);
  g_hash_table_unref (queue->in_flight);
  g_cond_clear (&queue->cond);
  g_mutex_clear (&queue->lock);
  g_free (queue);
}

guint
gst_sf_mqtt_queue_push (GstSfMqttQueue *queue, gchar *payload, gsize len)
{
  GstSfMqttItem *item = g_new0 (GstSfMqttItem, 1);
  guint dropped = 0;

  item->payload = payload;
  item->len = len;
  g_mutex_lock (&queue->lock);
  while (queue->items.length >= queue->max_items) {
    GstSfMqttItem *old = g_queue_pop_head (&queue->items);

    if (queue->n_in_flight > 0) {
      /* The oldest is in flight: keep its token, forget the result. */
      if (old->token != 0)
        g_hash_table_insert (
            queue->in_flight, GINT_TO_POINTER (old->token), NULL);
      else
        queue->n_dropped_untracked++;
      queue->n_in_flight--;
    }
    item_free (old);
    dropped++;
  }
  g_queue_push_tail (&queue->items, item);
  g_mutex_unlock (&queue->lock);
  return dropped;
}

gboolean
gst_sf_mqtt_queue_send_next (GstSfMqttQueue *queue, guint max_in_flight,
    GstSfMqttSendFunc send, gpointer user_data)
{
  GstSfMqttItem *item;
  gint token = 0;
  gboolean sent = FALSE;

  g_mutex_lock (&queue->lock);
  if (queue->n_in_flight >= max_in_flight
      || queue->n_in_flight >= queue->items.length)
    goto done;

  item = g_queue_peek_nth (&queue->items, queue->n_in_flight);
  /* Under the lock, so that render() cannot drop the item meanwhile. */
  if (!send (item->payload, item->len, &token, user_data))
    goto done;
  sent = TRUE;
  item->token = token;
  if (token != 0)
    g_hash_table_insert (queue->in_flight, GINT_TO_POINTER (token), item);
  queue->n_in_flight++;

done:
  g_mutex_unlock (&queue->lock);
  return sent;
}

void
gst_sf_mqtt_queue_ack (GstSfMqttQueue *queue, gint token)
{
  gpointer key, value;

  g_mutex_lock (&queue->lock);
  if (token == 0) {
    GstSfMqttItem *item = g_queue_peek_head (&queue->items);

    if (queue->n_dropped_untracked > 0) {
      queue->n_dropped_untracked--;
    } else if (queue->n_in_flight > 0 && item->token == 0) {
      g_queue_pop_head (&queue->items);
      item_free (item);
      queue->n_in_flight--;
      g_cond_broadcast (&queue->cond);
    }
  } else if (g_hash_table_lookup_extended (
                 queue->in_flight, GINT_TO_POINTER (token), &key, &value)) {
    g_hash_table_remove (queue->in_flight, key);
    if (value != NULL) {
      g_queue_remove (&queue->items, value);
      item_free (value);
      queue->n_in_flight--;
      g_cond_broadcast (&queue->cond);
    }
  }
  g_mutex_unlock (&queue->lock);
}

guint
gst_sf_mqtt_queue_requeue (GstSfMqttQueue *queue)
{
  guint i, n;
  GList *l;

  g_mutex_lock (&queue->lock);
  n = queue->n_in_flight;
  for (i = 0, l = queue->items.head; i < n; i++, l = l->next)
    ((GstSfMqttItem *)l->data)->token = 0;
  queue->n_in_flight = 0;
  queue->n_dropped_untracked = 0;
  g_hash_table_remove_all (queue->in_flight);
  g_mutex_unlock (&queue->lock);
  return n;
}

guint
gst_sf_mqtt_queue_wait_empty (GstSfMqttQueue *queue, gint64 end_time)
{
  guint left;

  g_mutex_lock (&queue->lock);
  while (queue->items.length > 0 && !queue->flushing) {
    if (!g_cond_wait_until (&queue->cond, &queue->lock, end_time))
      break;
  }
  left = queue->items.length;
  g_mutex_unlock (&queue->lock);
  return left;
}

void
gst_sf_mqtt_queue_set_flushing (GstSfMqttQueue *queue, gboolean flushing)
{
  g_mutex_lock (&queue->lock);
  queue->flushing = flushing;
  g_cond_broadcast (&queue->cond);
  g_mutex_unlock (&queue->lock);
}

guint
gst_sf_mqtt_queue_length (GstSfMqttQueue *queue)
{
  guint n;

  g_mutex_lock (&queue->lock);
  n = queue->items.length;
  g_mutex_unlock (&queue->lock);
  return n;
}
