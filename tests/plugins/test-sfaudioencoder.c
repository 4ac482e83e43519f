/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfaudioencoder: windows, hops and their timestamps, the tail at EOS,
 * S16 against F32 input, bad input (windows with NaN are skipped), and
 * the flow at EOS. The logits of a window are
 * checked against the reference logits of ast-tiny-cls (transformers). */
#include <math.h>
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "gstsftensors.h"
#include "sftest.h"

#define RATE 16000

static gchar *
kws_model (void)
{
  const gchar *src = g_getenv ("SF_SOURCE_DIR");

  g_assert_nonnull (src);
  return g_build_filename (src, "samples", "models", "kws-ast", NULL);
}

static gchar *
audio_caps (const gchar *format)
{
  return g_strdup_printf ("audio/x-raw, format=(string)%s, rate=(int)%d, "
                          "channels=(int)1, layout=(string)interleaved",
      format, RATE);
}

static GstHarness *
encoder_harness (
    const gchar *model, guint window_ms, guint hop_ms, const gchar *format)
{
  GstElement *enc = gst_element_factory_make ("sfaudioencoder", NULL);
  gchar *caps = audio_caps (format);
  GstHarness *h;

  g_assert_nonnull (enc);
  g_object_set (
      enc, "model", model, "window-ms", window_ms, "hop-ms", hop_ms, NULL);
  h = gst_harness_new_with_element (enc, "sink", "src");
  gst_object_unref (enc);
  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
  return h;
}

/* A 440 Hz tone with a slow swell, @n samples. */
static float *
tone (gsize n)
{
  float *x = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    x[i] = 0.3f * sinf (2.0f * G_PI * 440.0f * i / RATE)
        * (0.5f + 0.5f * sinf (2.0f * G_PI * 0.7f * i / RATE));
  return x;
}

/* Pushes @n F32 samples in chunks of @chunk, the first at @pts0. */
static void
push_f32 (
    GstHarness *h, const float *x, gsize n, gsize chunk, GstClockTime pts0)
{
  for (gsize at = 0; at < n; at += chunk) {
    gsize len = MIN (chunk, n - at);
    GstBuffer *b = gst_buffer_new_memdup (x + at, len * sizeof (float));

    GST_BUFFER_PTS (b) = GST_CLOCK_TIME_IS_VALID (pts0)
        ? pts0 + gst_util_uint64_scale_int (at, GST_SECOND, RATE)
        : GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION (b) = gst_util_uint64_scale_int (len, GST_SECOND, RATE);
    g_assert_cmpint (gst_harness_push (h, b), ==, GST_FLOW_OK);
  }
}

static void
copy_floats (GstBuffer *b, float *out, gsize n)
{
  g_assert_cmpuint (gst_buffer_get_size (b), ==, n * sizeof (float));
  gst_buffer_extract (b, 0, out, n * sizeof (float));
}

/* 2.6 s in odd-sized chunks, 1 s windows every 250 ms: seven full windows
 * while streaming, one more at EOS for the last 100 ms. */
static void
test_windows (void)
{
  g_autofree gchar *model = kws_model ();
  GstHarness *h = encoder_harness (model, 1000, 250, "F32LE");
  const GstClockTime pts0 = 10 * GST_SECOND;
  g_autofree float *x = tone (RATE * 13 / 5);
  GstSfTensorsInfo info;
  GstCaps *caps;
  guint k;

  push_f32 (h, x, RATE * 13 / 5, 1234, pts0);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 7);

  caps = gst_pad_get_current_caps (h->sinkpad);
  g_assert_true (gst_sf_tensors_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  g_assert_cmpuint (info.num_tensors, ==, 1);
  g_assert_cmpuint (info.tensors[0].dims[0], ==, 12); /* kws labels */
  g_assert_cmpuint (gst_sf_tensor_info_numel (&info.tensors[0]), ==, 12);
  g_assert_cmpint (info.rate_n, ==, 4);
  g_assert_cmpint (info.rate_d, ==, 1);

  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 8);
  for (k = 0; k < 8; k++) {
    GstBuffer *b = gst_harness_pull (h);
    GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (b);

    g_assert_cmpuint (GST_BUFFER_PTS (b), ==, pts0 + k * 250 * GST_MSECOND);
    /* the last window is padded: it covers the 850 ms of audio left */
    g_assert_cmpuint (
        GST_BUFFER_DURATION (b), ==, k < 7 ? GST_SECOND : 850 * GST_MSECOND);
    g_assert_cmpuint (GST_BUFFER_OFFSET (b), ==, k);
    g_assert_nonnull (meta);
    g_assert_cmpstr (meta->model_name, ==, "kws-ast");
    g_assert_cmpuint (gst_buffer_get_size (b), ==, 12 * sizeof (float));
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
}

/* Hops longer than the window skip audio; input without timestamps is
 * timed by its sample count. */
static void
test_gaps_untimed (void)
{
  g_autofree gchar *model = kws_model ();
  GstHarness *h = encoder_harness (model, 500, 1500, "F32LE");
  g_autofree float *x = tone (RATE * 4);

  push_f32 (h, x, RATE * 4, 4000, GST_CLOCK_TIME_NONE);
  gst_harness_push_event (h, gst_event_new_eos ());
  /* windows at 0, 1.5 and 3 s; the audio after 3.5 s is in no window */
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 3);
  for (guint k = 0; k < 3; k++) {
    GstBuffer *b = gst_harness_pull (h);

    g_assert_cmpuint (GST_BUFFER_PTS (b), ==, k * 1500 * GST_MSECOND);
    g_assert_cmpuint (GST_BUFFER_DURATION (b), ==, 500 * GST_MSECOND);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
}

/* ast-tiny-cls on audio.speech1 with the natural window (the samples of
 * max_length = 100 frames): the first window must give transformers'
 * logits, which saw the same 100 frames. The rest of the clip is one
 * padded window at EOS. */
static void
test_ast_reference (void)
{
  SfTestCase *tc = sftest_case_open ("ast-tiny-cls");
  SfTensor *audio = sftest_case_tensor (tc, "audio.speech1");
  SfTensor *logits = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness (tc->dir, 0, 0, "F32LE");
  gint64 n = sf_tensor_numel (audio);
  float got[5];
  GstBuffer *b;

  push_f32 (h, sf_tensor_f32 (audio), n, 3000, 0);
  gst_harness_push_event (h, gst_event_new_eos ());
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 2);

  b = gst_harness_pull (h);
  /* 99 shifts of 10 ms plus one 25 ms frame */
  g_assert_cmpuint (GST_BUFFER_DURATION (b), ==, 1015 * GST_MSECOND);
  copy_floats (b, got, 5);
  sftest_assert_close (
      got, sf_tensor_f32 (logits), 5, tc->atol, tc->rtol, "logits.speech1");
  gst_buffer_unref (b);

  b = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (b), ==, 1015 * GST_MSECOND);
  /* the padded tail covers the clip's samples after the first window */
  g_assert_cmpuint (GST_BUFFER_DURATION (b), ==,
      gst_util_uint64_scale (n - RATE * 1015 / 1000, GST_SECOND, RATE));
  copy_floats (b, got, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_true (isfinite (got[i]));
  gst_buffer_unref (b);

  gst_harness_teardown (h);
  sf_tensor_unref (audio);
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

/* The same audio as S16LE and as F32LE (the exact float values of the
 * integers) gives the same logits. */
static void
test_s16_f32 (void)
{
  g_autofree gchar *model = kws_model ();
  GstHarness *hf = encoder_harness (model, 1000, 0, "F32LE");
  GstHarness *hs = encoder_harness (model, 1000, 0, "S16LE");
  g_autofree float *x = tone (RATE);
  g_autofree gint16 *s16 = g_new (gint16, RATE);
  float a[12], b[12];
  GstBuffer *buf, *out;

  for (guint i = 0; i < RATE; i++) {
    s16[i] = GINT16_TO_LE ((gint16)lrintf (x[i] * 32767.0f));
    x[i] = (float)(gint16)lrintf (x[i] * 32767.0f) / 32768.0f;
  }
  push_f32 (hf, x, RATE, RATE, 0);
  buf = gst_buffer_new_memdup (s16, RATE * sizeof (gint16));
  GST_BUFFER_PTS (buf) = 0;
  g_assert_cmpint (gst_harness_push (hs, buf), ==, GST_FLOW_OK);

  out = gst_harness_pull (hf);
  copy_floats (out, a, 12);
  gst_buffer_unref (out);
  out = gst_harness_pull (hs);
  copy_floats (out, b, 12);
  gst_buffer_unref (out);
  sftest_assert_close (b, a, 12, 1e-5, 1e-5, "s16 logits");

  gst_harness_teardown (hf);
  gst_harness_teardown (hs);
}

/* Empty buffers are skipped; a format change mid-stream keeps the
 * buffered audio. */
static void
test_bad_samples (void)
{
  g_autofree gchar *model = kws_model ();
  GstHarness *h = encoder_harness (model, 1000, 0, "F32LE");
  g_autofree float *x = tone (RATE);
  g_autofree gchar *s16caps = audio_caps ("S16LE");
  g_autofree gint16 *s16 = g_new0 (gint16, RATE / 2);
  GstBuffer *b;
  float logits[12];

  g_assert_cmpint (gst_harness_push (h, gst_buffer_new ()), ==, GST_FLOW_OK);
  push_f32 (h, x, RATE / 2, RATE / 2, 0);
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new ()), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);

  /* the second half second arrives as S16 */
  gst_harness_set_src_caps_str (h, s16caps);
  b = gst_buffer_new_memdup (s16, RATE / 2 * sizeof (gint16));
  GST_BUFFER_PTS (b) = GST_SECOND / 2;
  g_assert_cmpint (gst_harness_push (h, b), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 1);

  b = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (b), ==, 0);
  copy_floats (b, logits, 12);
  for (guint i = 0; i < 12; i++)
    g_assert_true (isfinite (logits[i]));
  gst_buffer_unref (b);
  gst_harness_teardown (h);
}

/* Pops the warnings on @bus; the last one's message into *@last. */
static guint
count_warnings (GstBus *bus, gchar **last)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING)) != NULL) {
    GError *error = NULL;

    gst_message_parse_warning (msg, &error, NULL);
    g_free (*last);
    *last = g_strdup (error->message);
    g_error_free (error);
    gst_message_unref (msg);
    n++;
  }
  return n;
}

/* A window holding NaN or infinity gives no output (silence in its place
 * gave ordinary-looking classifications) and one warning per stream; the
 * windows without them still come, the first after the gap DISCONT.
 * Pushed in chunks of @chunk samples; the logits go to @logits. */
static void
run_non_finite (gsize chunk, float logits[4][12])
{
  g_autofree gchar *model = kws_model ();
  GstHarness *h = encoder_harness (model, 1000, 500, "F32LE");
  g_autofree float *x = tone (RATE * 4);
  g_autofree gchar *warning = NULL;
  GstBus *bus = gst_bus_new ();
  GstBuffer *b;

  gst_element_set_bus (h->element, bus);
  /* windows at 0, 0.5, 1, …, 3 s; NaN at 0.3 s and infinity at 2.2 s put
   * out the windows at 0 s, and 1.5 and 2 s */
  x[RATE * 3 / 10] = NAN;
  x[RATE * 22 / 10] = -INFINITY;
  push_f32 (h, x, RATE * 4, chunk, 0);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));

  g_assert_cmpuint (count_warnings (bus, &warning), ==, 1);
  g_assert_nonnull (strstr (warning, "not finite"));
  g_assert_nonnull (strstr (warning, "skipped"));
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 4);
  for (guint k = 0; k < 4; k++) {
    static const guint at_ms[] = { 500, 1000, 2500, 3000 };

    b = gst_harness_pull (h);
    g_assert_cmpuint (GST_BUFFER_PTS (b), ==, at_ms[k] * GST_MSECOND);
    g_assert_cmpuint (GST_BUFFER_OFFSET (b), ==, at_ms[k] / 500);
    /* the first buffer, and the first after the skipped ones */
    g_assert_cmpint (GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DISCONT), ==,
        k == 0 || k == 2);
    copy_floats (b, logits[k], 12);
    for (guint i = 0; i < 12; i++)
      g_assert_true (isfinite (logits[k][i]));
    gst_buffer_unref (b);
  }

  /* a new stream warns again */
  g_assert_true (
      gst_harness_push_event (h, gst_event_new_stream_start ("again")));
  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  push_f32 (h, x, RATE, RATE, 0);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 4);
  g_assert_cmpuint (count_warnings (bus, &warning), ==, 1);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* Window by window, and all seven windows at once (run in batches, with
 * the skipped ones among them): the same windows and the same logits. */
static void
test_non_finite (void)
{
  float one[4][12], all[4][12];

  run_non_finite (3000, one);
  run_non_finite (RATE * 4, all);
  sftest_assert_close (&all[0][0], &one[0][0], 4 * 12, 1e-5, 1e-4, "batched");
}

/* Makes every buffer push fail as if downstream had failed. */
static GstPadProbeReturn
fail_buffers (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GST_PAD_PROBE_INFO_FLOW_RETURN (info) = GST_FLOW_ERROR;
  gst_buffer_unref (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = NULL;
  return GST_PAD_PROBE_HANDLED;
}

/* A failure pushing the last window at EOS reaches upstream. */
static void
test_eos_flow (void)
{
  g_autofree gchar *model = kws_model ();
  GstHarness *h = encoder_harness (model, 1000, 0, "F32LE");
  g_autofree float *x = tone (RATE / 2);

  push_f32 (h, x, RATE / 2, RATE / 2, 0);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);
  gst_pad_add_probe (
      h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER, fail_buffers, NULL, NULL);
  g_assert_false (gst_harness_push_event (h, gst_event_new_eos ()));
  gst_harness_teardown (h);
}

/* A window longer than AST's fixed input is cut to it, with a warning:
 * the front-end would drop the rest of the audio. */
static void
test_window_clamp (void)
{
  g_autofree gchar *model = kws_model ();
  GstElement *enc = gst_element_factory_make ("sfaudioencoder", NULL);
  GstBus *bus = gst_bus_new ();
  g_autofree gchar *caps = audio_caps ("F32LE");
  g_autofree gchar *warning = NULL;
  g_autofree float *x = tone (RATE * 3);
  GstHarness *h;
  GstBuffer *b;

  gst_element_set_bus (enc, bus);
  g_object_set (enc, "model", model, "window-ms", 5000, NULL);
  h = gst_harness_new_with_element (enc, "sink", "src");
  gst_harness_set_src_caps_str (h, caps);
  g_assert_cmpuint (count_warnings (bus, &warning), ==, 1);
  g_assert_nonnull (strstr (warning, "window-ms=5000"));
  g_assert_nonnull (strstr (warning, "1015 ms"));

  push_f32 (h, x, RATE * 3, RATE, 0);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 2);
  b = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_DURATION (b), ==, 1015 * GST_MSECOND);
  gst_buffer_unref (b);
  b = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (b), ==, 1015 * GST_MSECOND);
  gst_buffer_unref (b);

  gst_element_set_bus (enc, NULL);
  gst_object_unref (bus);
  gst_object_unref (enc);
  gst_harness_teardown (h);
}

/* Hops longer than the window are allowed, with a warning saying how much
 * audio is never seen. */
static void
test_hop_warning (void)
{
  g_autofree gchar *model = kws_model ();
  GstElement *enc = gst_element_factory_make ("sfaudioencoder", NULL);
  GstBus *bus = gst_bus_new ();
  g_autofree gchar *caps = audio_caps ("F32LE");
  g_autofree gchar *warning = NULL;
  GstHarness *h;

  gst_element_set_bus (enc, bus);
  g_object_set (enc, "model", model, "window-ms", 500, "hop-ms", 1500, NULL);
  h = gst_harness_new_with_element (enc, "sink", "src");
  gst_harness_set_src_caps_str (h, caps);
  g_assert_cmpuint (count_warnings (bus, &warning), ==, 1);
  g_assert_cmpstr (warning, ==,
      "hop-ms=1500 is longer than the 500 ms window: 1000 ms of audio "
      "between windows is never seen.");
  gst_element_set_bus (enc, NULL);
  gst_object_unref (bus);
  gst_object_unref (enc);
  gst_harness_teardown (h);
}

/* A window the model cannot take is an error at start that says which
 * setting is wrong, posted once. */
static void
check_refused (guint window_ms, guint hop_ms, const gchar *expect)
{
  g_autofree gchar *model = kws_model ();
  GstElement *enc = gst_element_factory_make ("sfaudioencoder", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  guint n_errors = 0;

  gst_element_set_bus (enc, bus);
  g_object_set (
      enc, "model", model, "window-ms", window_ms, "hop-ms", hop_ms, NULL);
  g_assert_cmpint (gst_element_set_state (enc, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) != NULL) {
    if (n_errors++ == 0)
      gst_message_parse_error (msg, &error, NULL);
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_errors, ==, 1);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
  g_error_free (error);
  gst_element_set_state (enc, GST_STATE_NULL);
  gst_element_set_bus (enc, NULL);
  gst_object_unref (bus);
  gst_object_unref (enc);
}

static void
test_window_refused (void)
{
  check_refused (10, 0, "window-ms=10 is shorter than the 100 ms");
  check_refused (99, 50, "window-ms=99 is shorter than the 100 ms");
}

/* A sample rate other than the model's is refused at negotiation (the
 * sink caps name the model's rate, so audioresample converts to it). */
static void
test_rate_change (void)
{
  g_autofree gchar *model = kws_model ();
  GstHarness *h = encoder_harness (model, 1000, 0, "F32LE");
  g_autofree float *x = tone (RATE / 2);
  GstCaps *caps = gst_caps_from_string (
      "audio/x-raw, format=(string)F32LE, rate=(int)44100, channels=(int)1, "
      "layout=(string)interleaved");
  GstQuery *query;
  gboolean accepted = TRUE;
  GstBuffer *b;

  query = gst_query_new_accept_caps (caps);
  g_assert_true (gst_pad_peer_query (h->srcpad, query));
  gst_query_parse_accept_caps_result (query, &accepted);
  g_assert_false (accepted);
  gst_query_unref (query);

  push_f32 (h, x, RATE / 2, RATE / 2, 0);
  gst_harness_set_src_caps (h, caps);
  b = gst_buffer_new_memdup (x, RATE / 2 * sizeof (float));
  g_assert_cmpint (gst_harness_push (h, b), ==, GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

/* 44.1 kHz straight into the element: one error that says what the model
 * needs and what to add, not just the source's not-negotiated. */
static void
test_wrong_rate_explained (void)
{
  static const gchar *const inputs[] = {
    "audio/x-raw,format=F32LE,rate=44100,channels=1",
    "audio/x-raw,format=S16LE,rate=16000,channels=2 ! audioresample",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++) {
    g_autofree gchar *model = kws_model ();
    g_autofree gchar *desc = g_strdup_printf (
        "audiotestsrc num-buffers=10 ! %s ! sfaudioencoder name=enc model=%s "
        "! fakesink",
        inputs[i], model);
    g_autofree gchar *text = NULL;

    g_assert_cmpuint (sftest_count_errors (desc, "enc", &text), ==, 1);
    g_assert_nonnull (
        strstr (text, "needs 16000 Hz mono F32 or S16 audio for model"));
    g_assert_nonnull (strstr (text, "add audioconvert ! audioresample"));
    g_assert_nonnull (strstr (
        text, i == 0 ? "F32LE mono at 44100 Hz" : "S16LE with 2 channels"));
  }
}

/* A text checkpoint fails at start with an error naming it. */
static void
test_not_audio_model (void)
{
  GstElement *enc = gst_element_factory_make ("sfaudioencoder", NULL);
  g_autofree gchar *model = sftest_fixture ("bert-tiny-cls");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_bus (enc, bus);
  g_object_set (enc, "model", model, NULL);
  g_assert_cmpint (gst_element_set_state (enc, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "not an audio model"));
  g_assert_nonnull (strstr (error->message, "bert-tiny-cls"));
  g_clear_error (&error);
  gst_message_unref (msg);
  gst_element_set_state (enc, GST_STATE_NULL);
  gst_element_set_bus (enc, NULL);
  gst_object_unref (bus);
  gst_object_unref (enc);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sfaudioencoder/windows/overlap", test_windows);
  g_test_add_func (
      "/plugins/sfaudioencoder/windows/gaps-untimed", test_gaps_untimed);
  g_test_add_func ("/plugins/sfaudioencoder/reference/ast", test_ast_reference);
  g_test_add_func ("/plugins/sfaudioencoder/windows/clamp", test_window_clamp);
  g_test_add_func (
      "/plugins/sfaudioencoder/windows/refused", test_window_refused);
  g_test_add_func (
      "/plugins/sfaudioencoder/windows/hop-warning", test_hop_warning);
  g_test_add_func ("/plugins/sfaudioencoder/input/s16-f32", test_s16_f32);
  g_test_add_func (
      "/plugins/sfaudioencoder/input/bad-samples", test_bad_samples);
  g_test_add_func ("/plugins/sfaudioencoder/input/non-finite", test_non_finite);
  g_test_add_func ("/plugins/sfaudioencoder/flow/eos", test_eos_flow);
  g_test_add_func (
      "/plugins/sfaudioencoder/input/rate-change", test_rate_change);
  g_test_add_func (
      "/plugins/sfaudioencoder/model/not-audio", test_not_audio_model);
  g_test_add_func (
      "/plugins/sfaudioencoder/input/wrong-rate", test_wrong_rate_explained);
  return g_test_run ();
}
