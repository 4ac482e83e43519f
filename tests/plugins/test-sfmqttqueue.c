/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfmqttsink's queue without a broker: order, acknowledgements in any
 * order, re-sending after a lost connection, and dropping the oldest
 * (also while in flight) without mistaking a late acknowledgement. */
#include <string.h>

#include "plugins/gstsfmqttqueue.h"
#include "test-sfmqttqueue.h"

/* What a fake client was handed, and the message ids it gives out. */
typedef struct
{
  GPtrArray *sent;
  gint next_token; /* 0: QoS 0, no ids */
  gboolean refuse;
} FakeClient;

static gboolean
fake_send (const gchar *payload, gsize len, gint *token, gpointer user_data)
{
  FakeClient *client = user_data;

  if (client->refuse)
    return FALSE;
  g_ptr_array_add (client->sent, g_strndup (payload, len));
  *token = client->next_token > 0 ? client->next_token++ : 0;
  return TRUE;
}

static void
push (GstSfMqttQueue *queue, const gchar *text, guint want_dropped)
{
  g_assert_cmpuint (
      gst_sf_mqtt_queue_push (queue, g_strdup (text), strlen (text)), ==,
      want_dropped);
}

static void
send_all (GstSfMqttQueue *queue, FakeClient *client, guint max_in_flight)
{
  while (gst_sf_mqtt_queue_send_next (queue, max_in_flight, fake_send, client))
    ;
}

static void
assert_sent (FakeClient *client, const gchar *want)
{
  GString *got = g_string_new (NULL);
  guint i;

  for (i = 0; i < client->sent->len; i++)
    g_string_append_printf (got, "%s%s", i ? " " : "",
        (const gchar *)g_ptr_array_index (client->sent, i));
  g_assert_cmpstr (got->str, ==, want);
  g_string_free (got, TRUE);
  g_ptr_array_set_size (client->sent, 0);
}

static void
test_queue_acks (void)
{
  GstSfMqttQueue *queue = gst_sf_mqtt_queue_new (10);
  FakeClient client = { g_ptr_array_new_with_free_func (g_free), 1, FALSE };

  push (queue, "a", 0);
  push (queue, "b", 0);
  push (queue, "c", 0);
  /* A window of two: c waits. */
  send_all (queue, &client, 2);
  assert_sent (&client, "a b");
  /* b (token 2) is acknowledged first; a still holds its place. */
  gst_sf_mqtt_queue_ack (queue, 2);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 2);
  send_all (queue, &client, 2);
  assert_sent (&client, "c");
  /* An unknown id changes nothing. */
  gst_sf_mqtt_queue_ack (queue, 99);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 2);

  /* The connection drops: a and c go again, in order. */
  g_assert_cmpuint (gst_sf_mqtt_queue_requeue (queue), ==, 2);
  client.refuse = TRUE;
  g_assert_false (gst_sf_mqtt_queue_send_next (queue, 10, fake_send, &client));
  client.refuse = FALSE;
  send_all (queue, &client, 10);
  assert_sent (&client, "a c");
  gst_sf_mqtt_queue_ack (queue, 4);
  gst_sf_mqtt_queue_ack (queue, 5);
  g_assert_cmpuint (
      gst_sf_mqtt_queue_wait_empty (queue, g_get_monotonic_time ()), ==, 0);

  g_ptr_array_unref (client.sent);
  gst_sf_mqtt_queue_free (queue);
}

static void
test_queue_drop_oldest (void)
{
  GstSfMqttQueue *queue = gst_sf_mqtt_queue_new (2);
  FakeClient client = { g_ptr_array_new_with_free_func (g_free), 7, FALSE };

  push (queue, "a", 0);
  push (queue, "b", 0);
  send_all (queue, &client, 10);
  assert_sent (&client, "a b");
  /* a (token 7) is dropped while in flight. */
  push (queue, "c", 1);
  send_all (queue, &client, 10);
  assert_sent (&client, "c");
  /* Its late acknowledgement forgets nothing else. */
  gst_sf_mqtt_queue_ack (queue, 7);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 2);
  gst_sf_mqtt_queue_ack (queue, 8);
  gst_sf_mqtt_queue_ack (queue, 9);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 0);
  /* Nothing in flight: several are dropped at once. */
  push (queue, "d", 0);
  push (queue, "e", 0);
  push (queue, "f", 1);
  send_all (queue, &client, 10);
  assert_sent (&client, "e f");

  g_ptr_array_unref (client.sent);
  gst_sf_mqtt_queue_free (queue);
}

/* QoS 0: completions without ids, in sending order. */
static void
test_queue_in_order_completions (void)
{
  GstSfMqttQueue *queue = gst_sf_mqtt_queue_new (2);
  FakeClient client = { g_ptr_array_new_with_free_func (g_free), 0, FALSE };

  push (queue, "a", 0);
  push (queue, "b", 0);
  send_all (queue, &client, 2);
  assert_sent (&client, "a b");
  /* a is dropped in flight: its completion must not take b's. */
  push (queue, "c", 1);
  gst_sf_mqtt_queue_ack (queue, 0);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 2);
  gst_sf_mqtt_queue_ack (queue, 0);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 1);
  send_all (queue, &client, 2);
  assert_sent (&client, "c");
  gst_sf_mqtt_queue_ack (queue, 0);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 0);
  /* A completion with nothing in flight is ignored. */
  push (queue, "d", 0);
  gst_sf_mqtt_queue_ack (queue, 0);
  g_assert_cmpuint (gst_sf_mqtt_queue_length (queue), ==, 1);

  g_ptr_array_unref (client.sent);
  gst_sf_mqtt_queue_free (queue);
}

void
test_sfmqttqueue_add (void)
{
  g_test_add_func ("/plugins/sfmqttsink/queue/acks", test_queue_acks);
  g_test_add_func (
      "/plugins/sfmqttsink/queue/drop-oldest", test_queue_drop_oldest);
  g_test_add_func ("/plugins/sfmqttsink/queue/in-order-completions",
      test_queue_in_order_completions);
}
