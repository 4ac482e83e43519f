/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfmqttsink against a private mosquitto: every result arrives as the
 * JSON object sfjsonsink writes, a broker restart loses nothing at QoS 1,
 * an unreachable broker is an error (or a warning with connect-async),
 * a full queue drops the oldest results, and bad settings fail cleanly. */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <glib/gstdio.h>

#include "sftest-mqtt.h"
#include "test-sfmqttqueue.h"
#include "sftest.h"

static const gchar *mosquitto; /* from argv */

static GstElement *
mqtt_sink (gint port, const gchar *topic, gint qos)
{
  GstElement *sink = gst_element_factory_make ("sfmqttsink", NULL);

  g_assert_nonnull (sink);
  g_object_set (sink, "host", "127.0.0.1", "port", port, "topic", topic, "qos",
      qos, NULL);
  return sink;
}

/* A harness around @sink that pushes text buffers; @bus gets its
 * messages. */
static GstHarness *
text_harness (GstElement *sink, GstBus *bus)
{
  GstHarness *h;

  gst_element_set_bus (sink, bus);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_harness_set_src_caps_str (h, "text/x-raw, format=(string)utf8");
  return h;
}

static void
push_text (GstHarness *h, guint i)
{
  gchar *text = g_strdup_printf ("result %u\n", i);
  GstBuffer *buffer = gst_buffer_new_memdup (text, strlen (text));

  GST_BUFFER_PTS (buffer) = i * GST_SECOND;
  g_assert_cmpint (gst_harness_push (h, buffer), ==, GST_FLOW_OK);
  g_free (text);
}

/* The "text" of each message, each parsed. */
static gchar **
message_texts (SfTestSubscriber *sub)
{
  GPtrArray *texts = g_ptr_array_new ();
  guint i;

  g_mutex_lock (&sub->lock);
  for (i = 0; i < sub->messages->len; i++) {
    cJSON *obj = cJSON_Parse (g_ptr_array_index (sub->messages, i));

    g_assert_nonnull (obj);
    g_ptr_array_add (texts,
        g_strdup (cJSON_GetStringValue (cJSON_GetObjectItem (obj, "text"))));
    cJSON_Delete (obj);
  }
  g_mutex_unlock (&sub->lock);
  g_ptr_array_add (texts, NULL);
  return (gchar **)g_ptr_array_free (texts, FALSE);
}

static void
teardown (GstHarness *h, GstElement *sink, GstBus *bus)
{
  gst_harness_teardown (h);
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (sink, NULL);
  gst_object_unref (sink);
  gst_object_unref (bus);
}

/* The messages on @bus of @type, in order. (transfer full) */
static GList *
pop_messages (GstBus *bus, GstMessageType type)
{
  GList *list = NULL;
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, type)) != NULL)
    list = g_list_append (list, msg);
  return list;
}

/* The text pipeline through sfclassifier, teed into sfjsonsink and
 * sfmqttsink: each message is byte for byte the line sfjsonsink wrote. */
static void
test_pipeline_payloads (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTestBroker *broker = sftest_broker_new (mosquitto, 0);
  SfTestSubscriber *sub = sftest_subscriber_new (broker->port, "sf/labels");
  gchar *in_path = g_build_filename (broker->dir, "texts.txt", NULL);
  gchar *out_path = g_build_filename (broker->dir, "out.jsonl", NULL);
  guint i, n = sftest_case_n_texts (tc);
  GString *texts = g_string_new (NULL);
  GError *error = NULL;
  GstElement *pipeline;
  GstBus *bus;
  GstMessage *msg;
  gchar *desc, *contents = NULL, **lines;

  for (i = 0; i < n; i++)
    g_string_append_printf (texts, "%s\n", sftest_case_text (tc, i));
  g_file_set_contents (in_path, texts->str, texts->len, &error);
  g_assert_no_error (error);

  desc = g_strdup_printf (
      "filesrc location=\"%s\" ! sftextencoder model=\"%s\" split=lines ! "
      "sfclassifier top-k=2 ! tee name=t ! queue ! sfjsonsink location=\"%s\" "
      "t. ! queue ! sfmqttsink host=127.0.0.1 port=%d topic=sf/labels qos=2",
      in_path, tc->dir, out_path, broker->port);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);

  /* EOS waited for the acknowledgements: QoS 2 delivers each once. */
  g_assert_cmpuint (sftest_subscriber_wait (sub, n, 10), ==, n);
  g_file_get_contents (out_path, &contents, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, n + 1);
  for (i = 0; i < n; i++) {
    g_assert_cmpstr (g_ptr_array_index (sub->messages, i), ==, lines[i]);
    g_assert_nonnull (strstr (lines[i], "\"labels\""));
  }
  g_usleep (200000);
  g_assert_cmpuint (sub->messages->len, ==, n);

  g_strfreev (lines);
  g_free (contents);
  g_free (desc);
  g_unlink (in_path);
  g_unlink (out_path);
  g_free (in_path);
  g_free (out_path);
  g_string_free (texts, TRUE);
  sftest_subscriber_free (sub);
  sftest_broker_free (broker);
  sftest_case_free (tc);
}

/* The broker is killed mid-stream, with results in flight, and started
 * again on the same port: at QoS 1 every result arrives, in order;
 * duplicates are counted. */
static void
test_broker_restart (void)
{
  const guint per_phase = 20, n = 3 * per_phase;
  SfTestBroker *broker = sftest_broker_new (mosquitto, 0);
  SfTestSubscriber *sub = sftest_subscriber_new (broker->port, "sf/restart");
  GstElement *sink = mqtt_sink (broker->port, "sf/restart", 1);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  gchar **texts;
  GList *warnings;
  guint i, next = 0, duplicates = 0;

  g_object_set (sink, "flush-timeout-ms", 20000, NULL);
  h = text_harness (sink, bus);

  for (i = 0; i < per_phase; i++)
    push_text (h, i);
  g_assert_cmpuint (sftest_subscriber_wait (sub, per_phase, 10), ==, per_phase);
  sftest_subscriber_wait_saved (sub, broker);

  /* Frozen, the broker takes the next results into its socket without
   * reading them; killed, it loses them: they were never acknowledged. */
  sftest_broker_freeze (broker);
  for (; i < 2 * per_phase; i++)
    push_text (h, i);
  g_usleep (200000);
  sftest_broker_kill (broker);
  g_usleep (300000);
  sftest_broker_start (broker, mosquitto);
  for (; i < n; i++)
    push_text (h, i);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));

  /* EOS returned once the broker acknowledged everything. */
  warnings = pop_messages (bus, GST_MESSAGE_WARNING);
  g_assert_null (warnings);
  sftest_subscriber_wait (sub, n, 10);
  g_usleep (300000);

  texts = message_texts (sub);
  for (i = 0; texts[i] != NULL; i++) {
    gchar *want = g_strdup_printf ("result %u", next);

    if (g_str_equal (texts[i], want)) {
      next++;
    } else {
      /* Only a re-send of something already seen may break the order. */
      guint seen;

      g_assert_true (sscanf (texts[i], "result %u", &seen) == 1);
      g_assert_cmpuint (seen, <, next);
      duplicates++;
    }
    g_free (want);
  }
  g_assert_cmpuint (next, ==, n);
  g_test_message (
      "broker restart at QoS 1: %u results, %u duplicates", n, duplicates);
  if (g_test_verbose ())
    g_printerr (
        "broker restart at QoS 1: %u results, %u duplicates\n", n, duplicates);

  g_strfreev (texts);
  teardown (h, sink, bus);
  sftest_subscriber_free (sub);
  sftest_broker_free (broker);
}

/* Takes @sink (transfer full) to PAUSED, which must fail with an error
 * @domain, @code. Returns the error's message. (transfer full) */
static gchar *
start_error (GstElement *sink, GQuark domain, gint code)
{
  GstBus *bus = gst_bus_new ();
  GError *error = NULL;
  GstMessage *msg;
  gchar *text;

  gst_element_set_bus (sink, bus);
  g_assert_cmpint (gst_element_set_state (sink, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_true (g_error_matches (error, domain, code));
  text = g_strdup (error->message);
  g_clear_error (&error);
  gst_message_unref (msg);
  gst_element_set_state (sink, GST_STATE_NULL);
  /* Queued messages hold the element, which holds the bus. */
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (sink, NULL);
  gst_object_unref (sink);
  gst_object_unref (bus);
  return text;
}

/* Without connect-async, a broker that cannot be reached fails the state
 * change with an error naming the properties. */
static void
test_unreachable_error (void)
{
  gchar *text = start_error (mqtt_sink (sftest_free_port (), "sf/none", 1),
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE);

  g_assert_nonnull (strstr (text, "host"));
  g_assert_nonnull (strstr (text, "port"));
  g_free (text);
}

/* With connect-async the unreachable broker is a warning; results queue
 * up, max-queued drops the oldest with a warning counting them, and the
 * newest arrive once the broker appears. */
static void
test_unreachable_async_overflow (void)
{
  const guint n = 12, max_queued = 5;
  SfTestBroker *broker = sftest_broker_new (mosquitto, 0);
  SfTestSubscriber *sub = sftest_subscriber_new (broker->port, "sf/async");
  GstElement *sink = mqtt_sink (broker->port, "sf/async", 1);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  GList *warnings, *l;
  guint64 dropped = 0;
  gboolean warned_connect = FALSE;
  gchar **texts;
  guint i;

  /* The subscriber's session outlives the broker: it gets what the sink
   * publishes as soon as the broker is back, whoever reconnects first. */
  sftest_subscriber_wait_saved (sub, broker);
  sftest_broker_kill (broker);

  g_object_set (sink, "connect-async", TRUE, "max-queued", max_queued,
      "flush-timeout-ms", 20000, NULL);
  h = text_harness (sink, bus);
  for (i = 0; i < n; i++)
    push_text (h, i);
  /* The first attempt fails at once: nothing listens on the port. */
  g_usleep (200000);

  warnings = pop_messages (bus, GST_MESSAGE_WARNING);
  for (l = warnings; l != NULL; l = l->next) {
    const GstStructure *details = NULL;
    GError *error = NULL;

    gst_message_parse_warning (l->data, &error, NULL);
    gst_message_parse_warning_details (l->data, &details);
    if (details != NULL && gst_structure_has_field (details, "dropped"))
      gst_structure_get_uint64 (details, "dropped", &dropped);
    else if (strstr (error->message, "Could not connect") != NULL)
      warned_connect = TRUE;
    g_clear_error (&error);
  }
  g_list_free_full (warnings, (GDestroyNotify)gst_message_unref);
  g_assert_true (warned_connect);
  g_assert_cmpuint (dropped, >, 0);

  /* The broker comes back where the sink retries; EOS waits for it and
   * gives the final count. */
  sftest_broker_start (broker, mosquitto);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  warnings = pop_messages (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (warnings);
  for (l = warnings; l != NULL; l = l->next) {
    const GstStructure *details = NULL;

    gst_message_parse_warning_details (l->data, &details);
    g_assert_nonnull (details);
    g_assert_true (gst_structure_has_field (details, "dropped"));
    gst_structure_get_uint64 (details, "dropped", &dropped);
  }
  g_list_free_full (warnings, (GDestroyNotify)gst_message_unref);
  g_assert_cmpuint (dropped, ==, n - max_queued);

  /* The newest max-queued results, in order. */
  g_assert_cmpuint (
      sftest_subscriber_wait (sub, max_queued, 10), ==, max_queued);
  g_usleep (200000);
  texts = message_texts (sub);
  g_assert_cmpuint (g_strv_length (texts), ==, max_queued);
  for (i = 0; i < max_queued; i++) {
    gchar *want = g_strdup_printf ("result %u", n - max_queued + i);

    g_assert_cmpstr (texts[i], ==, want);
    g_free (want);
  }
  g_strfreev (texts);

  teardown (h, sink, bus);
  sftest_subscriber_free (sub);
  sftest_broker_free (broker);
}

/* With tls-ca-file the sink publishes over TLS to a broker whose
 * certificate that CA signed, and refuses one it did not sign. At QoS 0,
 * EOS waits until every result is written. */
static void
test_tls (void)
{
  const guint n = 3;
  SfTestBroker *broker = sftest_broker_new_tls (mosquitto);
  SfTestSubscriber *sub = sftest_subscriber_new (broker->port, "sf/tls");
  GstElement *sink = mqtt_sink (broker->tls_port, "sf/tls", 0);
  gchar *ca = g_build_filename (broker->dir, "ca.pem", NULL);
  gchar *other = g_build_filename (broker->dir, "other.pem", NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  gchar **texts, *text;
  guint i;

  /* The certificate names localhost. */
  g_object_set (sink, "host", "localhost", "tls-ca-file", ca, NULL);
  h = text_harness (sink, bus);
  for (i = 0; i < n; i++)
    push_text (h, i);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING));
  g_assert_cmpuint (sftest_subscriber_wait (sub, n, 10), ==, n);
  texts = message_texts (sub);
  for (i = 0; i < n; i++) {
    gchar *want = g_strdup_printf ("result %u", i);

    g_assert_cmpstr (texts[i], ==, want);
    g_free (want);
  }
  g_strfreev (texts);
  teardown (h, sink, bus);

  sink = mqtt_sink (broker->tls_port, "sf/tls", 1);
  g_object_set (sink, "host", "localhost", "tls-ca-file", other, NULL);
  text = start_error (sink, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE);
  g_assert_nonnull (strstr (text, "tls-ca-file"));
  g_free (text);

  g_free (ca);
  g_free (other);
  sftest_subscriber_free (sub);
  sftest_broker_free (broker);
}

/* start() and stop() again and again, and stop() while a background
 * connection attempt is under way or waiting to retry. */
static void
test_state_cycles (void)
{
  SfTestBroker *broker = sftest_broker_new (mosquitto, 0);
  gint ports[2] = { broker->port, sftest_free_port () };
  GstElement *sink;
  guint i, k;

  for (i = 0; i < 3; i++) {
    sink = mqtt_sink (broker->port, "sf/cycles", 1);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_PAUSED), ==,
        GST_STATE_CHANGE_ASYNC);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
        GST_STATE_CHANGE_SUCCESS);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_PAUSED), ==,
        GST_STATE_CHANGE_ASYNC);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_NULL), ==,
        GST_STATE_CHANGE_SUCCESS);
    gst_object_unref (sink);
  }
  for (k = 0; k < G_N_ELEMENTS (ports); k++) {
    for (i = 0; i < 3; i++) {
      sink = mqtt_sink (ports[k], "sf/cycles", 1);
      g_object_set (sink, "connect-async", TRUE, NULL);
      gst_element_set_state (sink, GST_STATE_PAUSED);
      g_usleep (i * 50000);
      g_assert_cmpint (gst_element_set_state (sink, GST_STATE_NULL), ==,
          GST_STATE_CHANGE_SUCCESS);
      gst_object_unref (sink);
    }
  }
  sftest_broker_free (broker);
}

/* A setting that cannot work fails start() with an error naming it. */
static void
check_bad_setting (
    const gchar *prop, const GValue *value, GQuark domain, gint code)
{
  GstElement *sink = mqtt_sink (sftest_free_port (), "sf/bad", 1);
  gchar *text;

  g_object_set_property (G_OBJECT (sink), prop, value);
  text = start_error (sink, domain, code);
  g_assert_nonnull (strstr (text, prop));
  g_free (text);
}

static void
test_bad_settings (void)
{
  GValue value = G_VALUE_INIT;

  g_value_init (&value, G_TYPE_INT);
  g_value_set_int (&value, 3);
  check_bad_setting (
      "qos", &value, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  g_value_set_int (&value, -1);
  check_bad_setting (
      "qos", &value, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS);
  g_value_unset (&value);

  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, "/nonexistent-streamformer-dir/ca.pem");
  check_bad_setting (
      "tls-ca-file", &value, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ);
  g_value_unset (&value);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  mosquitto = argc > 1 ? argv[1] : NULL;

  test_sfmqttqueue_add ();

  g_test_add_func (
      "/plugins/sfmqttsink/pipeline-payloads", test_pipeline_payloads);
  g_test_add_func ("/plugins/sfmqttsink/broker-restart", test_broker_restart);
  g_test_add_func ("/plugins/sfmqttsink/tls", test_tls);
  g_test_add_func ("/plugins/sfmqttsink/state-cycles", test_state_cycles);
  g_test_add_func (
      "/plugins/sfmqttsink/errors/unreachable", test_unreachable_error);
  g_test_add_func ("/plugins/sfmqttsink/unreachable-async-overflow",
      test_unreachable_async_overflow);
  g_test_add_func (
      "/plugins/sfmqttsink/errors/bad-settings", test_bad_settings);

  return g_test_run ();
}
