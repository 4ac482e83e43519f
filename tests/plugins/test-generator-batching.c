/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sftextgenerator batch-size: the texts of several streams decode together
 * through one shared queue. Each stream, pushed from its own thread as
 * separate pipelines' streaming threads would, must get exactly the
 * buffers (pts, duration, text) a batch-size 1 run of the same stream
 * gives: its own lines, in order, each with the stream's own limit (the
 * streams stop after different numbers of tokens and have different
 * numbers of lines, so texts leave the batch at different steps and
 * streams end while others go on). GPT-2, BART and T5. A stream that goes
 * to NULL while its text waits must not hang, nor break the queue. */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "sftest.h"

#define N_STREAMS 4

typedef struct
{
  GstHarness *h;
  guint index;
  GstFlowReturn ret;
} Stream;

static const gchar *const words[] = { "the weather today is", "a summary of",
  "once upon a time", "translate this text", "the market opened higher",
  "in the beginning", "my favourite colour is", "the train leaves at" };

/* "sftextgenerator" on @model, greedy, with stream @s's limit. */
static GstHarness *
stream_harness (const gchar *model, guint s, guint batch_size, guint timeout_ms)
{
  g_autofree gchar *launch = g_strdup_printf (
      "sftextgenerator model=\"%s\" num-beams=1 do-sample=false "
      "max-new-tokens=%u batch-size=%u batch-timeout-ms=%u",
      model, 2 + 3 * s, batch_size, timeout_ms);
  GstHarness *h = gst_harness_new_parse (launch);

  gst_harness_set_src_caps_str (h, "text/x-raw, format=(string)utf8");
  return h;
}

/* Stream s: s + 2 lines, two to a buffer, each buffer a second apart. */
static gpointer
push_lines (gpointer data)
{
  Stream *st = data;
  guint n = st->index + 2;

  st->ret = GST_FLOW_OK;
  for (guint i = 0; i < n && st->ret == GST_FLOW_OK; i += 2) {
    g_autofree gchar *text = g_strdup_printf ("%s %u\n%s\n",
        words[(st->index + i) % G_N_ELEMENTS (words)], i,
        words[(st->index * 3 + i + 1) % G_N_ELEMENTS (words)]);
    GstBuffer *b = gst_buffer_new_memdup (
        text, i + 1 < n ? strlen (text) : strchr (text, '\n') - text + 1);

    GST_BUFFER_PTS (b) = i * GST_SECOND;
    GST_BUFFER_DURATION (b) = GST_SECOND;
    st->ret = gst_harness_push (st->h, b);
  }
  if (st->ret == GST_FLOW_OK)
    g_assert_true (gst_harness_push_event (st->h, gst_event_new_eos ()));
  return NULL;
}

/* Runs the streams, all at once from their own threads, through
 * batch-size @batch_size; returns each stream's output. Each gives one
 * buffer per line. */
static GPtrArray *
run_streams (const gchar *model, guint batch_size, guint timeout_ms)
{
  Stream streams[N_STREAMS];
  GThread *threads[N_STREAMS];
  GPtrArray *outs = g_ptr_array_new_with_free_func (g_free);

  for (guint s = 0; s < N_STREAMS; s++)
    streams[s] = (Stream){ stream_harness (model, s, batch_size, timeout_ms), s,
      GST_FLOW_ERROR };
  for (guint s = 0; s < N_STREAMS; s++)
    threads[s] = g_thread_new ("sf-stream", push_lines, &streams[s]);
  for (guint s = 0; s < N_STREAMS; s++) {
    guint n_buffers = 0;

    g_thread_join (threads[s]);
    g_assert_cmpint (streams[s].ret, ==, GST_FLOW_OK);
    g_ptr_array_add (outs, sftest_pull_stamped (streams[s].h, &n_buffers));
    g_assert_cmpuint (n_buffers, ==, s + 2);
    gst_harness_teardown (streams[s].h);
  }
  return outs;
}

static void
test_streams_equal_alone (gconstpointer data)
{
  g_autofree gchar *model = sftest_fixture (data);
  g_autoptr (GPtrArray) alone = run_streams (model, 1, 0);
  g_autoptr (GPtrArray) waiting = run_streams (model, N_STREAMS, 2000);
  g_autoptr (GPtrArray) at_once = run_streams (model, 3, 0);

  for (guint s = 0; s < N_STREAMS; s++) {
    g_test_message ("stream %u:\n%s", s, (gchar *)alone->pdata[s]);
    g_assert_cmpstr (waiting->pdata[s], ==, alone->pdata[s]);
    g_assert_cmpstr (at_once->pdata[s], ==, alone->pdata[s]);
    for (guint t = 0; t < s; t++)
      g_assert_cmpstr (alone->pdata[s], !=, alone->pdata[t]);
  }
}

static gpointer
push_one_line (gpointer data)
{
  Stream *st = data;
  const gchar *text = "the weather today is\n";
  GstBuffer *b = gst_buffer_new_memdup (text, strlen (text));

  GST_BUFFER_PTS (b) = 0;
  st->ret = gst_harness_push (st->h, b);
  return NULL;
}

/* A stream set to NULL while its text waits for a batch that never fills
 * returns at once; the queue then serves the next stream. */
static void
test_null_while_waiting (void)
{
  g_autofree gchar *model = sftest_fixture ("gpt2-tiny-lm");
  Stream st = { stream_harness (model, 0, 4, 60000), 0, GST_FLOW_OK };
  GThread *thread = g_thread_new ("sf-stream", push_one_line, &st);
  g_autofree gchar *out = NULL;
  gint64 until = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;

  /* wait until the text is queued: the push blocks */
  g_usleep (500 * G_TIME_SPAN_MILLISECOND);
  gst_element_set_state (st.h->element, GST_STATE_NULL);
  g_thread_join (thread);
  g_assert_cmpint (st.ret, ==, GST_FLOW_FLUSHING);
  /* far less than the minute the text could have waited */
  g_assert_cmpint (g_get_monotonic_time (), <, until);
  gst_harness_teardown (st.h);

  /* a fresh stream on the same queue still generates */
  st.h = stream_harness (model, 0, 4, 0);
  st.ret = GST_FLOW_ERROR;
  push_one_line (&st);
  g_assert_cmpint (st.ret, ==, GST_FLOW_OK);
  out = sftest_pull_stamped (st.h, NULL);
  g_assert_nonnull (strchr (out, '\n'));
  gst_harness_teardown (st.h);
}

static void
test_properties (void)
{
  sftest_check_batch_properties ("sftextgenerator");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/plugins/sftextgenerator/batch/properties", test_properties);
  g_test_add_data_func ("/plugins/sftextgenerator/batch/gpt2", "gpt2-tiny-lm",
      test_streams_equal_alone);
  g_test_add_data_func ("/plugins/sftextgenerator/batch/bart", "bart-tiny-sum",
      test_streams_equal_alone);
  g_test_add_data_func ("/plugins/sftextgenerator/batch/t5", "t5-tiny-gen",
      test_streams_equal_alone);
  g_test_add_func ("/plugins/sftextgenerator/batch/null-while-waiting",
      test_null_while_waiting);
  return g_test_run ();
}
