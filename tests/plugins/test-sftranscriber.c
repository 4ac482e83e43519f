/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfaudioencoder ! sftranscriber on the reference cases: the raw audio of
 * wav2vec2-tiny-ctc must give transformers' CTC text (ctc_text), and the
 * raw audio of whisper-tiny-asr its greedy text (greedy_text). */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "gstsftensors.h"
#include "sftest.h"

#define RATE 16000

typedef struct
{
  GString *text;
  guint n_segments;
  GstClockTime first_pts;
} Transcript;

/* Streams @name's io.safetensors tensor audio.@key through
 * "sfaudioencoder model=CASE @enc_props ! sftranscriber @tr_props" and
 * joins the text segments. */
static void
transcribe (SfTestCase *tc, const gchar *key, const gchar *enc_props,
    const gchar *tr_props, Transcript *out)
{
  g_autofree gchar *tname = g_strdup_printf ("audio.%s", key);
  SfTensor *audio = sftest_case_tensor (tc, tname);
  g_autofree gchar *launch =
      g_strdup_printf ("sfaudioencoder model=\"%s\" %s ! sftranscriber %s",
          tc->dir, enc_props, tr_props);
  GstHarness *h = gst_harness_new_parse (launch);
  gint64 n = sf_tensor_numel (audio);
  const float *x = sf_tensor_f32 (audio);
  GstBuffer *b;

  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  for (gint64 at = 0; at < n; at += 4000) {
    gint64 len = MIN (4000, n - at);

    b = gst_buffer_new_memdup (x + at, len * sizeof (float));
    GST_BUFFER_PTS (b) = gst_util_uint64_scale_int (at, GST_SECOND, RATE);
    g_assert_cmpint (gst_harness_push (h, b), ==, GST_FLOW_OK);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));

  out->text = g_string_new (NULL);
  out->n_segments = 0;
  out->first_pts = GST_CLOCK_TIME_NONE;
  while ((b = gst_harness_try_pull (h)) != NULL) {
    GstSfResultMeta *meta = gst_buffer_get_sf_result_meta (b);
    const gchar *text;
    gdouble start, end;
    GstMapInfo map;

    g_assert_nonnull (meta);
    text = gst_structure_get_string (meta->result, "text");
    g_assert_nonnull (text);
    g_assert_true (gst_structure_get_double (meta->result, "start", &start));
    g_assert_true (gst_structure_get_double (meta->result, "end", &end));
    g_assert_cmpfloat (start, <=, end);
    /* never past the audio received, even for a padded window */
    g_assert_cmpfloat (end, <=, (double)n / RATE + 1e-6);
    /* the buffer is the text and a newline */
    g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
    g_assert_cmpuint (map.size, ==, strlen (text) + 1);
    g_assert_true (memcmp (map.data, text, map.size - 1) == 0);
    gst_buffer_unmap (b, &map);

    if (out->n_segments++ == 0)
      out->first_pts = GST_BUFFER_PTS (b);
    g_string_append_printf (out->text, "%s%s", out->text->len ? " " : "", text);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  sf_tensor_unref (audio);
}

static void
test_ctc (void)
{
  SfTestCase *tc = sftest_case_open ("wav2vec2-tiny-ctc");
  const cJSON *want = cJSON_GetObjectItem (tc->json, "ctc_text");
  const cJSON *item;

  g_assert_nonnull (want);
  cJSON_ArrayForEach (item, want) {
    Transcript t;

    /* one window longer than the clip: the model sees exactly the clip */
    transcribe (tc, item->string, "window-ms=10000", "", &t);
    g_assert_cmpstr (t.text->str, ==, cJSON_GetStringValue (item));
    g_assert_cmpuint (t.first_pts, <, GST_SECOND);
    g_string_free (t.text, TRUE);
  }
  sftest_case_free (tc);
}

/* Overlapping windows must not repeat words: the words of the joined
 * transcript appear in the clip's own transcript in the same order. */
static void
test_ctc_overlap (void)
{
  SfTestCase *tc = sftest_case_open ("wav2vec2-tiny-ctc");
  Transcript whole, parts;

  transcribe (tc, "speech1", "window-ms=10000", "", &whole);
  transcribe (tc, "speech1", "window-ms=1000 hop-ms=500", "", &parts);
  g_test_message ("whole: %s; windows: %s", whole.text->str, parts.text->str);
  g_assert_cmpuint (parts.n_segments, >=, 1);
  /* a word never follows itself: no window emitted what the last one did */
  {
    g_auto (GStrv) words = g_strsplit (parts.text->str, " ", -1);

    for (guint i = 1; words[i] != NULL; i++)
      g_assert_cmpstr (words[i], !=, words[i - 1]);
  }
  g_string_free (whole.text, TRUE);
  g_string_free (parts.text, TRUE);
  sftest_case_free (tc);
}

static void
test_whisper (void)
{
  SfTestCase *tc = sftest_case_open ("whisper-tiny-asr");
  const cJSON *audios = cJSON_GetObjectItem (tc->json, "audios");
  const cJSON *texts = cJSON_GetObjectItem (tc->json, "greedy_text");
  const cJSON *ids = cJSON_GetObjectItem (tc->json, "greedy_ids");
  const cJSON *prefix = cJSON_GetObjectItem (tc->json, "decoder_prefix");
  guint n = cJSON_GetArraySize (texts);

  g_assert_cmpuint (n, >=, 1);
  for (guint i = 0; i < n; i++) {
    const gchar *key = cJSON_GetStringValue (cJSON_GetArrayItem (audios, i));
    /* the reference stops after this many new tokens */
    guint new_tokens = cJSON_GetArraySize (cJSON_GetArrayItem (ids, i))
        - cJSON_GetArraySize (prefix);
    g_autofree gchar *props =
        g_strdup_printf ("max-new-tokens=%u timestamps=false", new_tokens);
    g_autofree gchar *want = g_strstrip (
        g_strdup (cJSON_GetStringValue (cJSON_GetArrayItem (texts, i))));
    Transcript t;

    transcribe (tc, key, "", props, &t);
    g_assert_cmpuint (t.n_segments, ==, 1);
    g_assert_cmpuint (t.first_pts, ==, 0);
    g_assert_cmpstr (t.text->str, ==, want);
    g_string_free (t.text, TRUE);
  }
  sftest_case_free (tc);
}

/* Tensors without a model meta are refused with an error. */
static void
test_no_model (void)
{
  GstHarness *h = gst_harness_new ("sftranscriber");
  float zeros[8] = { 0 };

  gst_harness_set_src_caps_str (h,
      "other/tensors, format=(string)static, num_tensors=(int)1, "
      "types=(string)float32, dimensions=(string)4:2:1, "
      "framerate=(fraction)1/1");
  g_assert_cmpint (
      gst_harness_push (h, gst_buffer_new_memdup (zeros, sizeof (zeros))), ==,
      GST_FLOW_ERROR);
  gst_harness_teardown (h);
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

/* A clip shorter than the window is transcribed at EOS: when downstream
 * fails then, EOS fails upstream instead of passing as if all was well. */
static void
test_eos_flow (void)
{
  SfTestCase *tc = sftest_case_open ("wav2vec2-tiny-ctc");
  SfTensor *audio = sftest_case_tensor (tc, "audio.speech1");
  g_autofree gchar *launch = g_strdup_printf (
      "sfaudioencoder model=\"%s\" window-ms=10000 ! sftranscriber", tc->dir);
  GstHarness *h = gst_harness_new_parse (launch);
  gint64 n = sf_tensor_numel (audio);
  GstBuffer *b;

  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  b = gst_buffer_new_memdup (sf_tensor_f32 (audio), n * sizeof (float));
  g_assert_cmpint (gst_harness_push (h, b), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_received (h), ==, 0);
  gst_pad_add_probe (
      h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER, fail_buffers, NULL, NULL);
  g_assert_false (gst_harness_push_event (h, gst_event_new_eos ()));
  gst_harness_teardown (h);
  sf_tensor_unref (audio);
  sftest_case_free (tc);
}

/* The task of the buffers' model decides: a classifier's logits are
 * refused with an error that says so. */
static void
test_classifier_model (void)
{
  g_autofree gchar *model = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples", "models", "kws-ast", NULL);
  g_autofree gchar *launch = g_strdup_printf (
      "sfaudioencoder model=\"%s\" window-ms=1000 ! sftranscriber", model);
  GstHarness *h = gst_harness_new_parse (launch);
  g_autofree float *zeros = g_new0 (float, RATE);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  g_assert_cmpint (gst_harness_push (
                       h, gst_buffer_new_memdup (zeros, RATE * sizeof (float))),
      ==, GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "neither Whisper nor a CTC"));
  g_clear_error (&error);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sftranscriber/ctc/reference", test_ctc);
  g_test_add_func ("/plugins/sftranscriber/ctc/overlap", test_ctc_overlap);
  g_test_add_func ("/plugins/sftranscriber/whisper/reference", test_whisper);
  g_test_add_func ("/plugins/sftranscriber/input/no-model", test_no_model);
  g_test_add_func (
      "/plugins/sftranscriber/input/classifier", test_classifier_model);
  g_test_add_func ("/plugins/sftranscriber/flow/eos", test_eos_flow);
  return g_test_run ();
}
