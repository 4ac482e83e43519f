/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sftranscriber batch-size: Whisper windows of several streams decode
 * together through one shared queue. Each stream, pushed from its own
 * thread as separate pipelines' streaming threads would, must get exactly
 * the segments (text, pts, duration) a batch-size 1 run of the same
 * stream gives: its own windows, in order, with its own limit (every
 * stream stops after a different number of tokens, so sequences leave the
 * batch at different steps). A stream that goes to NULL while its window
 * waits must not hang, nor break the queue for the others. */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "gstsftensors.h"
#include "sftest.h"

#define RATE 16000
#define N_STREAMS 4

typedef struct
{
  GstHarness *h;
  const float *audio;
  gint64 n;
  GstFlowReturn ret;
} Stream;

/* "sfaudioencoder ! sftranscriber" on the fixture, stream @s's limit. */
static GstHarness *
stream_harness (SfTestCase *tc, guint s, guint batch_size, guint timeout_ms)
{
  g_autofree gchar *launch = g_strdup_printf (
      "sfaudioencoder model=\"%s\" window-ms=2000 hop-ms=2000 "
      "! sftranscriber timestamps=false max-new-tokens=%u batch-size=%u "
      "batch-timeout-ms=%u",
      tc->dir, 3 + 5 * s, batch_size, timeout_ms);
  GstHarness *h = gst_harness_new_parse (launch);

  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  return h;
}

static gpointer
push_audio (gpointer data)
{
  Stream *st = data;

  st->ret = GST_FLOW_OK;
  for (gint64 at = 0; at < st->n && st->ret == GST_FLOW_OK; at += 8000) {
    gint64 len = MIN (8000, st->n - at);
    GstBuffer *b = gst_buffer_new_memdup (st->audio + at, len * sizeof (float));

    GST_BUFFER_PTS (b) = gst_util_uint64_scale_int (at, GST_SECOND, RATE);
    st->ret = gst_harness_push (st->h, b);
  }
  if (st->ret == GST_FLOW_OK)
    g_assert_true (gst_harness_push_event (st->h, gst_event_new_eos ()));
  return NULL;
}

/* Stream @s's audio: the case's clips in turn, each cut to a different
 * length, so streams have different windows. */
static SfTensor *
stream_audio (SfTestCase *tc, guint s)
{
  static const gchar *const keys[] = { "speech2", "speech5", "tone" };
  g_autofree gchar *name =
      g_strdup_printf ("audio.%s", keys[s % G_N_ELEMENTS (keys)]);
  SfTensor *audio = sftest_case_tensor (tc, name);
  gint64 n = MIN (sf_tensor_numel (audio), (gint64)(RATE * (2.5 + s)));
  SfTensor *cut = sf_tensor_new_from_data (
      SF_DTYPE_F32, 1, (const gint64[]){ n }, sf_tensor_f32 (audio));

  sf_tensor_unref (audio);
  return cut;
}

/* Runs the streams, all at once from their own threads, through
 * batch-size @batch_size; returns each stream's output. */
static GPtrArray *
run_streams (SfTestCase *tc, guint batch_size, guint timeout_ms)
{
  Stream streams[N_STREAMS];
  GThread *threads[N_STREAMS];
  SfTensor *audio[N_STREAMS];
  GPtrArray *outs = g_ptr_array_new_with_free_func (g_free);

  for (guint s = 0; s < N_STREAMS; s++) {
    audio[s] = stream_audio (tc, s);
    streams[s].h = stream_harness (tc, s, batch_size, timeout_ms);
    streams[s].audio = sf_tensor_f32 (audio[s]);
    streams[s].n = sf_tensor_numel (audio[s]);
  }
  for (guint s = 0; s < N_STREAMS; s++)
    threads[s] = g_thread_new ("sf-stream", push_audio, &streams[s]);
  for (guint s = 0; s < N_STREAMS; s++) {
    g_thread_join (threads[s]);
    g_assert_cmpint (streams[s].ret, ==, GST_FLOW_OK);
    g_ptr_array_add (outs, sftest_pull_stamped (streams[s].h, NULL));
    gst_harness_teardown (streams[s].h);
    sf_tensor_unref (audio[s]);
  }
  return outs;
}

static void
test_streams_equal_alone (void)
{
  SfTestCase *tc = sftest_case_open ("whisper-tiny-asr");
  g_autoptr (GPtrArray) alone = run_streams (tc, 1, 0);
  g_autoptr (GPtrArray) waiting = run_streams (tc, N_STREAMS, 2000);
  g_autoptr (GPtrArray) at_once = run_streams (tc, 3, 0);

  for (guint s = 0; s < N_STREAMS; s++) {
    g_test_message ("stream %u:\n%s", s, (gchar *)alone->pdata[s]);
    g_assert_nonnull (strchr (alone->pdata[s], '\n'));
    g_assert_cmpstr (waiting->pdata[s], ==, alone->pdata[s]);
    g_assert_cmpstr (at_once->pdata[s], ==, alone->pdata[s]);
    /* streams stop at different lengths: no two outputs alike */
    for (guint t = 0; t < s; t++)
      g_assert_cmpstr (alone->pdata[s], !=, alone->pdata[t]);
  }
  sftest_case_free (tc);
}

static gpointer
push_one_window (gpointer data)
{
  Stream *st = data;
  GstBuffer *b = gst_buffer_new_memdup (st->audio, st->n * sizeof (float));

  GST_BUFFER_PTS (b) = 0;
  st->ret = gst_harness_push (st->h, b);
  return NULL;
}

/* A stream set to NULL while its window waits for a batch that never
 * fills returns at once; the queue then serves the next stream. */
static void
test_null_while_waiting (void)
{
  SfTestCase *tc = sftest_case_open ("whisper-tiny-asr");
  g_autoptr (SfTensor) audio = stream_audio (tc, 0);
  Stream st = { stream_harness (tc, 0, 4, 60000), sf_tensor_f32 (audio),
    RATE * 2, GST_FLOW_OK };
  GThread *thread = g_thread_new ("sf-stream", push_one_window, &st);
  g_autofree gchar *out = NULL;
  gint64 until = g_get_monotonic_time () + 30 * G_TIME_SPAN_SECOND;

  /* wait until the window is queued: the encoder ran, the push blocks */
  g_usleep (500 * G_TIME_SPAN_MILLISECOND);
  gst_element_set_state (st.h->element, GST_STATE_NULL);
  g_thread_join (thread);
  g_assert_cmpint (st.ret, ==, GST_FLOW_FLUSHING);
  /* far less than the minute the window could have waited */
  g_assert_cmpint (g_get_monotonic_time (), <, until);
  gst_harness_teardown (st.h);

  /* a fresh stream on the same queue still decodes */
  st.h = stream_harness (tc, 0, 4, 0);
  st.ret = GST_FLOW_ERROR;
  push_one_window (&st);
  g_assert_cmpint (st.ret, ==, GST_FLOW_OK);
  out = sftest_pull_stamped (st.h, NULL);
  g_assert_cmpuint (strlen (out), >, 0);
  gst_harness_teardown (st.h);
  sftest_case_free (tc);
}

static void
test_properties (void)
{
  sftest_check_batch_properties ("sftranscriber");
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugins/sftranscriber/batch/properties", test_properties);
  g_test_add_func (
      "/plugins/sftranscriber/batch/streams", test_streams_equal_alone);
  g_test_add_func ("/plugins/sftranscriber/batch/null-while-waiting",
      test_null_while_waiting);
  return g_test_run ();
}
