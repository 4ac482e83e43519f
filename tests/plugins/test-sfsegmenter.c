/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfsegmenter: segmentation logits from sfimageencoder in, label maps,
 * overlays and class fractions out. Label maps are compared with the
 * segmentation.K references of segformer-tiny-seg (transformers'
 * post_process_semantic_segmentation at the image's own size); overlays
 * and fractions are recomputed here from the mask. */
#include <string.h>

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstsftensors.h"
#include "sftest.h"

typedef struct
{
  GstElement *pipeline, *src, *sink;
  GstBus *bus;
} Pipe;

static void
pipe_start (Pipe *p, const gchar *model, const gchar *segmenter)
{
  gchar *desc = g_strdup_printf ("appsrc name=src format=time "
                                 "! sfimageencoder model=\"%s\" "
                                 "! sfsegmenter %s ! appsink name=sink "
                                 "sync=false",
      model, segmenter);

  p->pipeline = gst_parse_launch (desc, NULL);
  g_assert_nonnull (p->pipeline);
  p->src = gst_bin_get_by_name (GST_BIN (p->pipeline), "src");
  p->sink = gst_bin_get_by_name (GST_BIN (p->pipeline), "sink");
  p->bus = gst_element_get_bus (p->pipeline);
  gst_element_set_state (p->pipeline, GST_STATE_PLAYING);
  g_free (desc);
}

static void
pipe_stop (Pipe *p)
{
  GstMessage *msg = gst_bus_pop_filtered (p->bus, GST_MESSAGE_ERROR);

  if (msg != NULL) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    g_error ("pipeline error: %s", error->message);
  }
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  gst_object_unref (p->bus);
  gst_object_unref (p->src);
  gst_object_unref (p->sink);
  gst_object_unref (p->pipeline);
}

/* Pushes @rgb (@width x @height, tight rows) as one RGB frame, padded to
 * GStreamer's default row stride. */
static void
push_rgb (Pipe *p, const guint8 *rgb, int width, int height, GstClockTime pts)
{
  GstVideoInfo info;
  GstCaps *caps;
  GstBuffer *buf;
  GstMapInfo map;
  GstSample *sample;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, width, height);
  GST_VIDEO_INFO_FPS_N (&info) = 10;
  caps = gst_video_info_to_caps (&info);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (int y = 0; y < height; y++)
    memcpy (map.data + (gsize)y * GST_VIDEO_INFO_PLANE_STRIDE (&info, 0),
        rgb + (gsize)y * width * 3, (gsize)width * 3);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 10;
  sample = gst_sample_new (buf, caps, NULL, NULL);
  g_assert_cmpint (
      gst_app_src_push_sample (GST_APP_SRC (p->src), sample), ==, GST_FLOW_OK);
  gst_sample_unref (sample);
  gst_buffer_unref (buf);
  gst_caps_unref (caps);
}

/* (transfer full) the next output; @info gets its caps. */
static GstSample *
pull (Pipe *p, GstVideoInfo *info)
{
  GstSample *sample =
      gst_app_sink_try_pull_sample (GST_APP_SINK (p->sink), 60 * GST_SECOND);

  g_assert_nonnull (sample);
  g_assert_true (gst_video_info_from_caps (info, gst_sample_get_caps (sample)));
  return sample;
}

static guint8 *
case_image (SfTestCase *tc, const gchar *name, int *width, int *height)
{
  gchar *key = g_strdup_printf ("image.%s", name);
  SfTensor *t = sf_safetensors_get (tc->io, key);
  guint8 *rgb;

  g_assert_nonnull (t);
  *height = (int)t->shape[0];
  *width = (int)t->shape[1];
  rgb = g_memdup2 (t->data, (gsize)*width * *height * 3);
  sf_tensor_unref (t);
  g_free (key);
  return rgb;
}

/* (transfer full) the GRAY8 frame of @sample as tight rows. */
static guint8 *
sample_gray (GstSample *sample, const GstVideoInfo *info)
{
  int w = GST_VIDEO_INFO_WIDTH (info), h = GST_VIDEO_INFO_HEIGHT (info);
  guint8 *out = g_new (guint8, (gsize)w * h);
  GstVideoFrame frame;

  g_assert_cmpint (GST_VIDEO_INFO_FORMAT (info), ==, GST_VIDEO_FORMAT_GRAY8);
  g_assert_true (gst_video_frame_map (&frame, (GstVideoInfo *)info,
      gst_sample_get_buffer (sample), GST_MAP_READ));
  for (int y = 0; y < h; y++)
    memcpy (out + (gsize)y * w,
        (guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
            + (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
        w);
  gst_video_frame_unmap (&frame);
  return out;
}

/* mode=mask reproduces the reference label maps on ≥ 99.9% of pixels, at
 * each image's own size. */
static void
test_mask_reference (void)
{
  static const gchar *names[] = { "astronaut", "chelsea", "coffee" };
  SfTestCase *tc = sftest_case_open ("segformer-tiny-seg");
  Pipe p;

  pipe_start (&p, tc->dir, "mode=mask");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    int w, h;
    guint8 *rgb = case_image (tc, names[i], &w, &h), *mask;
    gchar *key = g_strdup_printf ("segmentation.%s", names[i]);
    SfTensor *want = sf_safetensors_get (tc->io, key);
    GstVideoInfo info;
    GstSample *sample;
    gsize same = 0, n = (gsize)w * h;

    push_rgb (&p, rgb, w, h, i * GST_SECOND);
    sample = pull (&p, &info);
    g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&info), ==, w);
    g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&info), ==, h);
    mask = sample_gray (sample, &info);
    for (gsize k = 0; k < n; k++)
      same += mask[k] == sf_tensor_i64 (want)[k];
    g_test_message ("%s: %.5f of pixels agree", names[i], (double)same / n);
    g_assert_cmpfloat ((double)same / n, >=, 0.999);

    g_free (mask);
    gst_sample_unref (sample);
    sf_tensor_unref (want);
    g_free (key);
    g_free (rgb);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (p.src));
  pipe_stop (&p);
  sftest_case_free (tc);
}

/* One frame through mask, overlay (alpha 1 and alpha 0) and labels: the
 * overlay shows the palette colour of each masked label, or the frame;
 * labels passes the frame through with the fractions of the mask. */
static void
test_modes (void)
{
  static const guint8 palette[4][3] = { { 0x10, 0x20, 0x30 }, { 0xff, 0, 0 },
    { 0, 0xff, 0 }, { 0, 0, 0xff } };
  SfTestCase *tc = sftest_case_open ("segformer-tiny-seg");
  int w, h;
  guint8 *rgb = case_image (tc, "chelsea", &w, &h), *mask;
  const gchar *modes[] = { "mode=mask",
    "mode=overlay alpha=1 palette=102030,#ff0000,00ff00,0000FF",
    "mode=overlay alpha=0", "mode=labels" };
  guint64 counts[4] = { 0 };
  GstVideoInfo info;
  GstSample *sample;
  gsize n = (gsize)w * h;
  Pipe p;

  pipe_start (&p, tc->dir, modes[0]);
  push_rgb (&p, rgb, w, h, 0);
  sample = pull (&p, &info);
  mask = sample_gray (sample, &info);
  gst_sample_unref (sample);
  gst_app_src_end_of_stream (GST_APP_SRC (p.src));
  pipe_stop (&p);
  for (gsize k = 0; k < n; k++) {
    g_assert_cmpuint (mask[k], <, 4);
    counts[mask[k]]++;
  }

  for (guint m = 1; m < G_N_ELEMENTS (modes); m++) {
    GstVideoFrame frame;
    GstSfResultMeta *result;
    const GValue *labels, *fractions;
    double sum = 0.0;

    pipe_start (&p, tc->dir, modes[m]);
    push_rgb (&p, rgb, w, h, 0);
    sample = pull (&p, &info);
    g_assert_cmpint (GST_VIDEO_INFO_FORMAT (&info), ==, GST_VIDEO_FORMAT_RGB);
    g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&info), ==, w);
    g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&info), ==, h);
    g_assert_true (gst_video_frame_map (
        &frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ));
    for (int y = 0; y < h; y++) {
      const guint8 *row = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
          + (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

      for (int x = 0; x < w; x++) {
        const guint8 *want = m == 1 ? palette[mask[(gsize)y * w + x]]
                                    : rgb + ((gsize)y * w + x) * 3;
        g_assert_cmpmem (row + 3 * x, 3, want, 3);
      }
    }
    gst_video_frame_unmap (&frame);

    /* Every mode reports the fractions of the classes present. */
    result = gst_buffer_get_sf_result_meta (gst_sample_get_buffer (sample));
    g_assert_nonnull (result);
    labels = gst_structure_get_value (result->result, "labels");
    fractions = gst_structure_get_value (result->result, "fractions");
    g_assert_nonnull (labels);
    g_assert_nonnull (fractions);
    for (guint i = 0, c = 0; c < 4; c++) {
      gchar *name;

      if (counts[c] == 0)
        continue;
      name = sftest_case_label (tc, c);
      g_assert_cmpstr (
          g_value_get_string (gst_value_array_get_value (labels, i)), ==, name);
      g_assert_cmpfloat_with_epsilon (
          g_value_get_double (gst_value_array_get_value (fractions, i)),
          (double)counts[c] / n, 1e-12);
      sum += g_value_get_double (gst_value_array_get_value (fractions, i));
      g_free (name);
      i++;
    }
    g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-9);

    gst_sample_unref (sample);
    gst_app_src_end_of_stream (GST_APP_SRC (p.src));
    pipe_stop (&p);
  }
  g_free (mask);
  g_free (rgb);
  sftest_case_free (tc);
}

/* (transfer full) the GRAY8 output of one chelsea frame in @mode. */
static guint8 *
run_mask (SfTestCase *tc, const gchar *mode, gsize *n)
{
  int w, h;
  guint8 *rgb = case_image (tc, "chelsea", &w, &h), *mask;
  GstVideoInfo info;
  GstSample *sample;
  Pipe p;

  pipe_start (&p, tc->dir, mode);
  push_rgb (&p, rgb, w, h, 0);
  sample = pull (&p, &info);
  mask = sample_gray (sample, &info);
  gst_sample_unref (sample);
  gst_app_src_end_of_stream (GST_APP_SRC (p.src));
  pipe_stop (&p);
  *n = (gsize)w * h;
  g_free (rgb);
  return mask;
}

/* mode=mask-scaled spreads the 4 label indices of mode=mask over 0-255:
 * 0, 85, 170, 255. */
static void
test_mask_scaled (void)
{
  static const guint8 level[4] = { 0, 85, 170, 255 };
  SfTestCase *tc = sftest_case_open ("segformer-tiny-seg");
  gsize n, m;
  guint8 *mask = run_mask (tc, "mode=mask", &n);
  guint8 *scaled = run_mask (tc, "mode=mask-scaled", &m);
  gboolean seen[4] = { FALSE };

  g_assert_cmpuint (m, ==, n);
  for (gsize k = 0; k < n; k++) {
    g_assert_cmpuint (mask[k], <, 4);
    g_assert_cmpuint (scaled[k], ==, level[mask[k]]);
    seen[mask[k]] = TRUE;
  }
  /* the check means something: more than one label on the frame */
  g_assert_cmpuint (seen[0] + seen[1] + seen[2] + seen[3], >, 1);
  g_free (scaled);
  g_free (mask);
  sftest_case_free (tc);
}

/* The element message carries the result, its JSON ("json", fractions
 * with 6 significant digits) and the stream's identity: the stream id
 * and the name of the source element. */
static void
test_message_json (void)
{
  SfTestCase *tc = sftest_case_open ("segformer-tiny-seg");
  int w, h;
  guint8 *rgb = case_image (tc, "chelsea", &w, &h);
  const GstStructure *s;
  GstVideoInfo info;
  GstSample *sample;
  GstMessage *msg;
  cJSON *obj, *fractions;
  const gchar *json;
  Pipe p;

  pipe_start (&p, tc->dir, "mode=labels");
  push_rgb (&p, rgb, w, h, GST_SECOND);
  sample = pull (&p, &info);
  gst_sample_unref (sample);
  msg = gst_bus_pop_filtered (p.bus, GST_MESSAGE_ELEMENT);
  while (msg != NULL
      && !gst_structure_has_name (
          gst_message_get_structure (msg), "sfsegmenter")) {
    gst_message_unref (msg);
    msg = gst_bus_pop_filtered (p.bus, GST_MESSAGE_ELEMENT);
  }
  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);
  g_assert_cmpstr (gst_structure_get_string (s, "source"), ==, "src");
  g_assert_nonnull (gst_structure_get_string (s, "stream-id"));
  json = gst_structure_get_string (s, "json");
  g_assert_nonnull (json);
  obj = cJSON_Parse (json);
  g_assert_nonnull (obj);
  g_assert_cmpfloat (
      cJSON_GetNumberValue (cJSON_GetObjectItem (obj, "pts")), ==, 1.0);
  g_assert_cmpstr (
      cJSON_GetStringValue (cJSON_GetObjectItem (obj, "source")), ==, "src");
  g_assert_cmpstr (
      cJSON_GetStringValue (cJSON_GetObjectItem (obj, "stream-id")), ==,
      gst_structure_get_string (s, "stream-id"));
  fractions = cJSON_GetObjectItem (obj, "fractions");
  g_assert_cmpint (cJSON_GetArraySize (fractions), >, 0);
  for (int i = 0; i < cJSON_GetArraySize (fractions); i++) {
    gchar text[G_ASCII_DTOSTR_BUF_SIZE];
    double v = cJSON_GetNumberValue (cJSON_GetArrayItem (fractions, i));

    /* printed with at most 6 significant digits: reads back the same */
    g_ascii_formatd (text, sizeof text, "%.6g", v);
    g_assert_cmpfloat (g_ascii_strtod (text, NULL), ==, v);
  }
  cJSON_Delete (obj);
  gst_message_unref (msg);
  gst_app_src_end_of_stream (GST_APP_SRC (p.src));
  pipe_stop (&p);
  g_free (rgb);
  sftest_case_free (tc);
}

/* The frame size changes mid-stream: the output follows it. */
static void
test_resolution_change (void)
{
  gchar *model = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples/models/shapes-segformer", NULL);
  const int sizes[][2] = { { 160, 120 }, { 64, 96 }, { 160, 120 } };
  Pipe p;

  pipe_start (&p, model, "mode=mask");
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    int w = sizes[i][0], h = sizes[i][1];
    guint8 *rgb = g_new (guint8, (gsize)w * h * 3);
    GstVideoInfo info;
    GstSample *sample;

    for (gsize k = 0; k < (gsize)w * h * 3; k++)
      rgb[k] = (guint8)(k * 37 % 251);
    push_rgb (&p, rgb, w, h, i * GST_SECOND);
    sample = pull (&p, &info);
    g_assert_cmpint (GST_VIDEO_INFO_WIDTH (&info), ==, w);
    g_assert_cmpint (GST_VIDEO_INFO_HEIGHT (&info), ==, h);
    g_assert_cmpuint (
        gst_buffer_get_size (gst_sample_get_buffer (sample)), >=, (gsize)w * h);
    gst_sample_unref (sample);
    g_free (rgb);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (p.src));
  pipe_stop (&p);
  g_free (model);
}

static void
test_bad_palette (void)
{
  GstElement *element = gst_element_factory_make ("sfsegmenter", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  g_object_set (element, "palette", "ff0000,bogus", NULL);
  gst_element_set_bus (element, bus);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "bogus"));
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (element, GST_STATE_NULL);
  gst_element_set_bus (element, NULL);
  gst_object_unref (bus);
  gst_object_unref (element);
}

/* An image classifier's logits: one error that points to sfclassifier,
 * although every frame sends the refused caps again. */
static void
test_classifier_input (void)
{
  g_autofree gchar *model = sftest_fixture ("vit-tiny-cls");
  g_autofree gchar *desc =
      g_strdup_printf ("videotestsrc num-buffers=5 ! sfimageencoder model=%s "
                       "! sfsegmenter name=seg ! fakesink",
          model);
  g_autofree gchar *text = NULL;

  g_assert_cmpuint (sftest_count_errors (desc, "seg", &text), ==, 1);
  if (!strstr (text, "got float32 5:1 (one row of class scores")
      || !strstr (text, "use sfclassifier"))
    g_error ("unexpected: %s", text);
}

/* sfjsonsink writes one line per frame: pts, labels and fractions. */
static void
test_json (void)
{
  gchar *model = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples/models/shapes-segformer", NULL);
  gchar *dir = g_dir_make_tmp ("sfseg.XXXXXX", NULL);
  gchar *out = g_build_filename (dir, "seg.jsonl", NULL);
  gchar *desc = g_strdup_printf (
      "videotestsrc num-buffers=3 pattern=smpte "
      "! video/x-raw,width=96,height=72,framerate=5/1 ! videoconvert "
      "! sfimageencoder model=\"%s\" ! sfsegmenter mode=labels "
      "! sfjsonsink location=\"%s\"",
      model, out);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  gchar *contents, **lines;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (
      bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  lines = g_strsplit (g_strstrip (contents), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 3);
  for (guint i = 0; i < 3; i++) {
    cJSON *obj = cJSON_Parse (lines[i]);
    cJSON *fractions = cJSON_GetObjectItem (obj, "fractions");
    double sum = 0.0;

    g_assert_nonnull (obj);
    g_assert_cmpfloat_with_epsilon (
        cJSON_GetNumberValue (cJSON_GetObjectItem (obj, "pts")), 0.2 * i, 1e-9);
    g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (obj, "labels")),
        ==, cJSON_GetArraySize (fractions));
    for (int k = 0; k < cJSON_GetArraySize (fractions); k++)
      sum += cJSON_GetNumberValue (cJSON_GetArrayItem (fractions, k));
    /* each fraction is written with 6 significant digits */
    g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
    cJSON_Delete (obj);
  }
  g_strfreev (lines);
  g_free (contents);
  g_unlink (out);
  g_rmdir (dir);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (out);
  g_free (dir);
  g_free (model);
}

/* A live source for 10 s into a synchronised sink: no error, and frames
 * are processed. QoS lets sfimageencoder drop frames that are already
 * late; the counts are reported, not asserted (they depend on the
 * machine). */
static void
test_live (void)
{
  gchar *model = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples/models/shapes-segformer", NULL);
  gchar *desc = g_strdup_printf (
      "videotestsrc is-live=true pattern=ball "
      "! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert "
      "! sfimageencoder name=enc model=\"%s\" ! sfsegmenter "
      "! fakesink name=sink sync=true qos=true",
      model);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GstStructure *stats;
  guint64 rendered = 0, dropped = 0, qos_processed = 0, qos_dropped = 0;
  guint n_qos = 0;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (
      bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg != NULL) {
    GError *error = NULL;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &error, NULL);
      g_error ("live pipeline error: %s", error->message);
    }
    g_error ("live pipeline ended early");
  }
  g_object_get (sink, "stats", &stats, NULL);
  gst_structure_get_uint64 (stats, "rendered", &rendered);
  gst_structure_get_uint64 (stats, "dropped", &dropped);
  gst_structure_free (stats);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_QOS)) != NULL) {
    if (g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "enc")) {
      GstFormat format;

      gst_message_parse_qos_stats (msg, &format, &qos_processed, &qos_dropped);
      n_qos++;
    }
    gst_message_unref (msg);
  }
  g_test_message ("sink rendered %" G_GUINT64_FORMAT
                  " dropped %" G_GUINT64_FORMAT
                  "; encoder QoS messages %u, processed %" G_GUINT64_FORMAT
                  " dropped %" G_GUINT64_FORMAT,
      rendered, dropped, n_qos, qos_processed, qos_dropped);
  g_assert_cmpuint (rendered, >, 0);

  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (model);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sfsegmenter/mask/reference", test_mask_reference);
  g_test_add_func ("/plugins/sfsegmenter/mask/scaled", test_mask_scaled);
  g_test_add_func ("/plugins/sfsegmenter/message/json", test_message_json);
  g_test_add_func ("/plugins/sfsegmenter/modes", test_modes);
  g_test_add_func (
      "/plugins/sfsegmenter/resolution-change", test_resolution_change);
  g_test_add_func ("/plugins/sfsegmenter/errors/palette", test_bad_palette);
  g_test_add_func (
      "/plugins/sfsegmenter/errors/classifier", test_classifier_input);
  g_test_add_func ("/plugins/sfsegmenter/json", test_json);
  g_test_add_func ("/plugins/sfsegmenter/live", test_live);

  return g_test_run ();
}
