/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sffuse: CLIP zero-shot scoring (mode=similarity) against the clip-tiny
 * reference, and timestamp alignment of a 30 fps and a 4 Hz tensor stream
 * (mode=concat with every sync-mode). */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "sftest.h"

#define CLIP_CASE "clip-tiny"

/* One sfclassifier result: its labels and scores, best first. */
typedef struct
{
  GPtrArray *labels; /* gchar* */
  GArray *scores;    /* gdouble */
} Result;

static void
result_free (gpointer data)
{
  Result *r = data;

  g_ptr_array_unref (r->labels);
  g_array_unref (r->scores);
  g_free (r);
}

/* Runs @pipeline to EOS (fails on ERROR) and returns the sfclassifier
 * results in order. */
static GPtrArray *
run_to_eos (GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GPtrArray *results = g_ptr_array_new_with_free_func (result_free);
  gboolean done = FALSE;

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  while (!done) {
    /* A guard against a hang, not a timing check. */
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;

    g_assert_nonnull (msg);
    s = gst_message_get_structure (msg);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *error = NULL;
      gchar *debug = NULL;

      gst_message_parse_error (msg, &error, &debug);
      g_error ("pipeline error: %s (%s)", error->message, debug);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      done = TRUE;
    } else if (gst_structure_has_name (s, "sfclassifier")) {
      const GValue *labels = gst_structure_get_value (s, "labels");
      const GValue *scores = gst_structure_get_value (s, "scores");
      Result *r = g_new0 (Result, 1);

      r->labels = g_ptr_array_new_with_free_func (g_free);
      r->scores = g_array_new (FALSE, FALSE, sizeof (gdouble));
      for (guint i = 0; i < gst_value_array_get_size (labels); i++) {
        gdouble score =
            g_value_get_double (gst_value_array_get_value (scores, i));
        g_ptr_array_add (r->labels,
            g_value_dup_string (gst_value_array_get_value (labels, i)));
        g_array_append_val (r->scores, score);
      }
      g_ptr_array_add (results, r);
    }
    gst_message_unref (msg);
  }
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  return results;
}

/* Pushes the case's texts, one per line, then EOS. */
static void
push_prompts (GstElement *pipeline, SfTestCase *tc)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "texts");
  GString *lines = g_string_new (NULL);
  gsize len;
  gchar *data;

  for (guint i = 0; i < sftest_case_n_texts (tc); i++)
    g_string_append_printf (lines, "%s\n", sftest_case_text (tc, i));
  len = lines->len;
  data = g_string_free (lines, FALSE);
  g_assert_cmpint (gst_app_src_push_buffer (
                       GST_APP_SRC (src), gst_buffer_new_wrapped (data, len)),
      ==, GST_FLOW_OK);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
}

/* Every image's labels and logits against the case's logits_per_image:
 * the same scores per prompt, and the argmax prompt first. */
static void
check_zero_shot (SfTestCase *tc, GPtrArray *results)
{
  SfTensor *ref = sftest_case_tensor (tc, "logits_per_image"); /* [I, T] */
  gint64 n_images = sf_tensor_dim (ref, 0), n_texts = sf_tensor_dim (ref, 1);

  g_assert_cmpuint (results->len, ==, n_images);
  for (gint64 i = 0; i < n_images; i++) {
    const float *row = sf_tensor_f32 (ref) + i * n_texts;
    Result *r = results->pdata[i];
    gint64 best = 0;

    for (gint64 j = 1; j < n_texts; j++)
      if (row[j] > row[best])
        best = j;
    g_assert_cmpuint (r->labels->len, ==, n_texts);
    g_assert_cmpstr (r->labels->pdata[0], ==, sftest_case_text (tc, best));
    for (guint k = 0; k < r->labels->len; k++) {
      gint64 j = -1;
      float got, want;

      for (gint64 t = 0; t < n_texts; t++)
        if (g_str_equal (r->labels->pdata[k], sftest_case_text (tc, t)))
          j = t;
      g_assert_cmpint (j, >=, 0);
      got = (float)g_array_index (r->scores, gdouble, k);
      want = row[j];
      sftest_assert_close (&got, &want, 1, 1e-3, 1e-3, "logits_per_image");
    }
  }
  sf_tensor_unref (ref);
}

/* The case's image_embeds as other/tensors buffers on the image pad, the
 * case's texts through sftextencoder (the CLIP text tower) on the text pad. */
static void
test_similarity_embeddings (void)
{
  SfTestCase *tc = sftest_case_open (CLIP_CASE);
  SfTensor *embeds = sftest_case_tensor (tc, "image_embeds"); /* [I, P] */
  gint64 n = sf_tensor_dim (embeds, 0), p = sf_tensor_dim (embeds, 1);
  GError *error = NULL;
  gchar *desc = g_strdup_printf (
      "appsrc name=texts caps=text/x-raw,format=utf8 "
      "! sftextencoder model=\"%s\" split=lines ! f.text "
      "appsrc name=images format=time caps=\"other/tensors,format=static,"
      "num_tensors=1,types=float32,dimensions=(string)%" G_GINT64_FORMAT
      ":1,framerate=1/1\" ! f.image "
      "sffuse name=f mode=similarity "
      "! sfclassifier top-k=0 activation=none threshold=-1e9 ! fakesink",
      tc->dir, p);
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *src;
  GPtrArray *results;

  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (pipeline), "images");
  for (gint64 i = 0; i < n; i++) {
    GstBuffer *buf = gst_buffer_new_memdup (
        sf_tensor_f32 (embeds) + i * p, p * sizeof (float));
    GST_BUFFER_PTS (buf) = i * GST_SECOND;
    GST_BUFFER_DURATION (buf) = GST_SECOND;
    g_assert_cmpint (
        gst_app_src_push_buffer (GST_APP_SRC (src), buf), ==, GST_FLOW_OK);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
  push_prompts (pipeline, tc);

  results = run_to_eos (pipeline);
  check_zero_shot (tc, results);

  g_ptr_array_unref (results);
  gst_object_unref (pipeline);
  g_free (desc);
  sf_tensor_unref (embeds);
  sftest_case_free (tc);
}

/* Writes io.safetensors' image.K (HWC RGB) to @path as a PNG. */
static void
write_png (SfTestCase *tc, const gchar *key, const gchar *path)
{
  gchar *name = g_strconcat ("image.", key, NULL);
  SfTensor *img = sf_safetensors_get (tc->io, name);
  gint64 h, w;
  gsize stride;
  GError *error = NULL;
  gchar *desc;
  GstElement *pipeline, *src;
  GstBuffer *buf;
  GstMapInfo map;
  GPtrArray *results;

  g_assert_nonnull (img);
  g_assert_cmpint (img->dtype, ==, SF_DTYPE_U8);
  h = sf_tensor_dim (img, 0);
  w = sf_tensor_dim (img, 1);
  stride = GST_ROUND_UP_4 (w * 3); /* GStreamer's RGB row stride */
  desc = g_strdup_printf (
      "appsrc name=src caps=video/x-raw,format=RGB,width=%" G_GINT64_FORMAT
      ",height=%" G_GINT64_FORMAT ",framerate=1/1 ! pngenc snapshot=true "
      "! filesink location=\"%s\"",
      w, h, path);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  buf = gst_buffer_new_allocate (NULL, stride * h, NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gint64 y = 0; y < h; y++)
    memcpy (map.data + y * stride, (guint8 *)img->data + y * w * 3, w * 3);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = 0;
  src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
  results = run_to_eos (pipeline);
  g_ptr_array_unref (results);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (name);
  sf_tensor_unref (img);
}

/* The pipeline: the case's three photos as PNG files through
 * multifilesrc ! pngdec ! sfimageencoder, and its four prompts. */
static void
test_similarity_images (void)
{
  SfTestCase *tc;
  GstElementFactory *encoder = gst_element_factory_find ("sfimageencoder");
  const cJSON *images, *item;
  gchar *dir, *pattern, *desc;
  GError *error = NULL;
  GstElement *pipeline;
  GPtrArray *results;
  guint i = 0;

  g_assert_nonnull (encoder);
  gst_object_unref (encoder);
  tc = sftest_case_open (CLIP_CASE);
  dir = g_dir_make_tmp ("sffuse-XXXXXX", NULL);
  images = cJSON_GetObjectItem (tc->json, "images");
  cJSON_ArrayForEach (item, images) {
    gchar *file = g_strdup_printf ("%s/image-%u.png", dir, i++);
    write_png (tc, item->valuestring, file);
    g_free (file);
  }
  g_assert_cmpuint (i, ==, 3);

  pattern = g_build_filename (dir, "image-%d.png", NULL);
  desc = g_strdup_printf (
      "appsrc name=texts caps=text/x-raw,format=utf8 "
      "! sftextencoder model=\"%s\" split=lines ! f.text "
      "multifilesrc location=\"%s\" stop-index=2 "
      "caps=image/png,framerate=1/1 ! pngdec ! videoconvert "
      "! sfimageencoder model=\"%s\" ! f.image "
      "sffuse name=f mode=similarity "
      "! sfclassifier top-k=0 activation=none threshold=-1e9 ! fakesink",
      tc->dir, pattern, tc->dir);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  push_prompts (pipeline, tc);
  results = run_to_eos (pipeline);
  g_assert_cmpuint (results->len, ==, 3);
  /* our pixels differ slightly from the HF processor's: labels must match,
   * scores within the pixel tolerance's effect */
  for (guint k = 0; k < results->len; k++) {
    SfTensor *ref = sftest_case_tensor (tc, "logits_per_image");
    gint64 n_texts = sf_tensor_dim (ref, 1), best = 0;
    const float *row = sf_tensor_f32 (ref) + k * n_texts;
    Result *r = results->pdata[k];

    for (gint64 j = 1; j < n_texts; j++)
      if (row[j] > row[best])
        best = j;
    g_assert_cmpstr (r->labels->pdata[0], ==, sftest_case_text (tc, best));
    sf_tensor_unref (ref);
  }

  for (guint k = 0; k < 3; k++) {
    gchar *file = g_strdup_printf ("%s/image-%u.png", dir, k);
    g_unlink (file);
    g_free (file);
  }
  g_rmdir (dir);
  g_ptr_array_unref (results);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (pattern);
  g_free (dir);
  sftest_case_free (tc);
}

#define N_VIDEO 1000
#define VIDEO_PERIOD (GST_SECOND / 30)
#define AUDIO_PERIOD (GST_SECOND / 4)

/* Queues @n buffers of one float32 [1, @width] tensor each on appsrc
 * @name; value 0 of buffer i is i, its pts i·@period. */
static void
queue_stream (GstElement *pipeline, const gchar *name, guint n,
    GstClockTime period, guint width)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), name);

  for (guint i = 0; i < n; i++) {
    float *values = g_new0 (float, width);
    GstBuffer *buf;

    values[0] = (float)i;
    buf = gst_buffer_new_wrapped (values, width * sizeof (float));
    GST_BUFFER_PTS (buf) = i * period;
    GST_BUFFER_DURATION (buf) = period;
    g_assert_cmpint (
        gst_app_src_push_buffer (GST_APP_SRC (src), buf), ==, GST_FLOW_OK);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
}

static float
first_value (GstBuffer *buf, guint index)
{
  GstMemory *mem = gst_buffer_peek_memory (buf, index);
  GstMapInfo map;
  float v;

  g_assert_true (gst_memory_map (mem, &map, GST_MAP_READ));
  memcpy (&v, map.data, sizeof (float));
  gst_memory_unmap (mem, &map);
  return v;
}

static const gchar *const sync_modes[] = { "slowest", "basepad", "nosync" };

/* @data: an index into sync_modes; basepad runs on the video pad. */
static void
test_concat (gconstpointer data)
{
  guint mode = GPOINTER_TO_UINT (data);
  gboolean basepad = mode == 1, nosync = mode == 2;
  guint n_audio = N_VIDEO * 4 / 30 + 1, n_out = 0;
  GstClockTime last = GST_CLOCK_TIME_NONE;
  GError *error = NULL;
  gchar *desc = g_strdup_printf (
      "appsrc name=video format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)8:1,"
      "framerate=30/1\" ! f.sink_0 "
      "appsrc name=audio format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)3:1,"
      "framerate=4/1\" ! f.sink_1 "
      "sffuse name=f mode=concat sync-mode=%s base-pad=0 "
      "! appsink name=out sync=false",
      sync_modes[mode]);
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstSample *sample;

  g_assert_no_error (error);
  queue_stream (pipeline, "video", N_VIDEO, VIDEO_PERIOD, 8);
  queue_stream (pipeline, "audio", n_audio, AUDIO_PERIOD, 3);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);

  while ((sample = gst_app_sink_try_pull_sample (
              GST_APP_SINK (sink), 120 * GST_SECOND))
      != NULL) {
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstClockTime pts = GST_BUFFER_PTS (buf), tv, ta;
    const GstStructure *s =
        gst_caps_get_structure (gst_sample_get_caps (sample), 0);
    gint num = 0;

    g_assert_true (gst_structure_get_int (s, "num_tensors", &num));
    g_assert_cmpint (num, ==, 2);
    g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "8:1,3:1");
    g_assert_cmpuint (gst_buffer_n_memory (buf), ==, 2);
    g_assert_cmpuint (gst_buffer_get_size (buf), ==, (8 + 3) * sizeof (float));
    g_assert_true (GST_CLOCK_TIME_IS_VALID (pts));
    if (GST_CLOCK_TIME_IS_VALID (last))
      g_assert_cmpuint (pts, >, last);
    last = pts;

    tv = (GstClockTime)first_value (buf, 0) * VIDEO_PERIOD;
    ta = (GstClockTime)first_value (buf, 1) * AUDIO_PERIOD;
    if (nosync) {
      /* buffers pair up in order, whatever their times */
      g_assert_cmpfloat (first_value (buf, 0), ==, first_value (buf, 1));
      g_assert_cmpuint (pts, ==, MAX (tv, ta));
    } else if (basepad) {
      /* every video frame, with the latest audio window not after it */
      g_assert_cmpuint (pts, ==, tv);
      g_assert_cmpuint (ta, <=, tv);
      g_assert_cmpuint (tv - ta, <, AUDIO_PERIOD);
    } else {
      /* the slow stream sets the time; the video frame is the latest one
       * not after it */
      g_assert_cmpuint (pts, ==, ta);
      g_assert_cmpuint (tv, <=, ta);
      g_assert_cmpuint (ta - tv, <, VIDEO_PERIOD);
    }
    n_out++;
    gst_sample_unref (sample);
  }
  g_assert_true (gst_app_sink_is_eos (GST_APP_SINK (sink)));
  /* one output per buffer of the timing stream that the other covers */
  if (nosync) {
    g_assert_cmpuint (n_out, ==, n_audio);
  } else if (basepad) {
    g_assert_cmpuint (n_out, >=, N_VIDEO - 3);
    g_assert_cmpuint (n_out, <=, N_VIDEO);
  } else {
    g_assert_cmpuint (n_out, >=, n_audio - 2);
    g_assert_cmpuint (n_out, <=, n_audio);
  }

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
}

/* max-lag-ms: the 4 Hz stream pauses from 1 s to 3 s; video frames in the
 * pause would pair with a window up to 2 s old, so they are dropped, and
 * every output that remains pairs buffers at most 300 ms apart. */
static void
test_max_lag (void)
{
  const guint n_video = 120; /* 4 s at 30 fps */
  GstElement *pipeline, *sink, *audio;
  GstClockTime before_gap = 0, after_gap = 0;
  GError *error = NULL;
  GstSample *sample;
  guint n_out = 0;

  pipeline = gst_parse_launch (
      "appsrc name=video format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)8:1,"
      "framerate=30/1\" ! f.sink_0 "
      "appsrc name=audio format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)3:1,"
      "framerate=4/1\" ! f.sink_1 "
      "sffuse name=f mode=concat sync-mode=basepad base-pad=0 "
      "max-lag-ms=300 ! appsink name=out sync=false",
      &error);
  g_assert_no_error (error);
  queue_stream (pipeline, "video", n_video, VIDEO_PERIOD, 8);
  audio = gst_bin_get_by_name (GST_BIN (pipeline), "audio");
  for (guint i = 0; i < 16; i++) {
    float *values;
    GstBuffer *buf;

    if (i >= 4 && i < 12) /* no windows from 1 s to 3 s */
      continue;
    values = g_new0 (float, 3);
    values[0] = (float)i;
    buf = gst_buffer_new_wrapped (values, 3 * sizeof (float));
    GST_BUFFER_PTS (buf) = i * AUDIO_PERIOD;
    GST_BUFFER_DURATION (buf) = AUDIO_PERIOD;
    g_assert_cmpint (
        gst_app_src_push_buffer (GST_APP_SRC (audio), buf), ==, GST_FLOW_OK);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (audio));
  gst_object_unref (audio);

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  while ((sample = gst_app_sink_try_pull_sample (
              GST_APP_SINK (sink), 60 * GST_SECOND))
      != NULL) {
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstClockTime tv = (GstClockTime)first_value (buf, 0) * VIDEO_PERIOD;
    GstClockTime ta = (GstClockTime)first_value (buf, 1) * AUDIO_PERIOD;

    g_assert_cmpuint (ta, <=, tv);
    g_assert_cmpuint (tv - ta, <=, 300 * GST_MSECOND);
    if (tv < GST_SECOND + 300 * GST_MSECOND)
      before_gap++;
    else
      after_gap++;
    n_out++;
    gst_sample_unref (sample);
  }
  /* frames on both sides of the pause came through, those inside did not */
  g_assert_cmpuint (before_gap, >, 0);
  g_assert_cmpuint (after_gap, >, 0);
  g_assert_cmpuint (n_out, <, n_video - 40);

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func (
      "/plugins/sffuse/similarity/embeddings", test_similarity_embeddings);
  g_test_add_func ("/plugins/sffuse/similarity/images", test_similarity_images);
  for (guint i = 0; i < G_N_ELEMENTS (sync_modes); i++) {
    gchar *path = g_strconcat ("/plugins/sffuse/concat/", sync_modes[i], NULL);
    g_test_add_data_func (path, GUINT_TO_POINTER (i), test_concat);
    g_free (path);
  }
  g_test_add_func ("/plugins/sffuse/concat/max-lag", test_max_lag);
  return g_test_run ();
}
