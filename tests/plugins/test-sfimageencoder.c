/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfimageencoder: video frames in, logits out. The reference images and
 * logits of vit-tiny-cls come from transformers; the same picture in
 * different pixel layouts and strides must give the same tensors. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstsftensors.h"
#include "sftest.h"

/* Logits computed from our own preprocessing of image.K differ from the
 * reference (computed from the processor's pixel_values) by the small
 * resize differences the verify cases allow (2e-2 on pixel values). */
#define IMAGE_ATOL 2e-2

typedef struct
{
  int width, height;
  guint8 *rgb; /* [height, width, 3] */
} TestImage;

static TestImage
load_image (SfTestCase *tc, const gchar *name)
{
  gchar *key = g_strdup_printf ("image.%s", name);
  SfTensor *t = sf_safetensors_get (tc->io, key);
  TestImage img;

  g_assert_nonnull (t);
  img.height = (int)t->shape[0];
  img.width = (int)t->shape[1];
  img.rgb = g_memdup2 (t->data, (gsize)img.width * img.height * 3);
  sf_tensor_unref (t);
  g_free (key);
  return img;
}

/* A buffer holding @img in a packed RGB-family @format, each row padded by
 * @pad extra bytes, with a GstVideoMeta giving the stride. */
static GstBuffer *
packed_buffer (const TestImage *img, GstVideoFormat format, int pad)
{
  int bpp = format == GST_VIDEO_FORMAT_RGB ? 3 : 4;
  gsize stride = (gsize)img->width * bpp + pad;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, stride * img->height, NULL);
  gsize offset[4] = { 0 };
  gint strides[4] = { (gint)stride };
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memset (map.data, 0x5a, map.size);
  for (int y = 0; y < img->height; y++) {
    for (int x = 0; x < img->width; x++) {
      const guint8 *s = img->rgb + ((gsize)y * img->width + x) * 3;
      guint8 *d = map.data + y * stride + (gsize)x * bpp;

      if (format == GST_VIDEO_FORMAT_BGRx) {
        d[0] = s[2];
        d[1] = s[1];
        d[2] = s[0];
      } else {
        memcpy (d, s, 3);
      }
    }
  }
  gst_buffer_unmap (buf, &map);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE, format,
      img->width, img->height, 1, offset, strides);
  return buf;
}

static gchar *
video_caps (GstVideoFormat format, int width, int height)
{
  return g_strdup_printf (
      "video/x-raw,format=%s,width=%d,height=%d,framerate=30/1",
      gst_video_format_to_string (format), width, height);
}

static GstHarness *
encoder_harness (const gchar *model, guint interval)
{
  GstElement *element = gst_element_factory_make ("sfimageencoder", NULL);
  GstHarness *h;

  g_assert_nonnull (element);
  g_object_set (element, "model", model, "inference-interval", interval, NULL);
  h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  return h;
}

/* (transfer full) the float32 values of @buf; *n their count. */
static float *
pull_floats (GstHarness *h, gsize *n, GstBuffer **out_buf)
{
  GstBuffer *buf = gst_harness_pull (h);
  GstMapInfo map;
  float *values;

  g_assert_nonnull (buf);
  g_assert_true (gst_buffer_map (buf, &map, GST_MAP_READ));
  values = g_memdup2 (map.data, map.size);
  *n = map.size / sizeof (float);
  gst_buffer_unmap (buf, &map);
  if (out_buf != NULL)
    *out_buf = buf;
  else
    gst_buffer_unref (buf);
  return values;
}

/* Each reference image, as RGB with GStreamer's padded rows, gives the
 * reference logits; the output caps and meta describe them. */
static void
test_vit_logits (void)
{
  static const gchar *names[] = { "astronaut", "chelsea", "coffee" };
  SfTestCase *tc = sftest_case_open ("vit-tiny-cls");
  SfTensor *want = sftest_case_tensor (tc, "logits"); /* [3, 5] */

  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    TestImage img = load_image (tc, names[i]);
    GstHarness *h = encoder_harness (tc->dir, 1);
    gchar *caps = video_caps (GST_VIDEO_FORMAT_RGB, img.width, img.height);
    GstBuffer *out;
    GstCaps *out_caps;
    GstSfTensorsInfo info;
    GstSfTensorMeta *meta;
    gsize n;
    float *got;

    gst_harness_set_src_caps_str (h, caps);
    g_assert_cmpint (gst_harness_push (h,
                         packed_buffer (&img, GST_VIDEO_FORMAT_RGB,
                             (4 - img.width * 3 % 4) % 4)),
        ==, GST_FLOW_OK);
    got = pull_floats (h, &n, &out);
    g_assert_cmpuint (n, ==, 5);
    sftest_assert_close (
        got, sf_tensor_f32 (want) + 5 * i, 5, IMAGE_ATOL, 0.0, names[i]);

    out_caps = gst_pad_get_current_caps (h->sinkpad);
    g_assert_true (gst_sf_tensors_info_from_caps (&info, out_caps));
    g_assert_cmpuint (info.num_tensors, ==, 1);
    g_assert_cmpuint (info.tensors[0].dims[0], ==, 5);
    g_assert_cmpint (info.rate_n, ==, 30);
    gst_caps_unref (out_caps);

    meta = gst_buffer_get_sf_tensor_meta (out);
    g_assert_nonnull (meta);
    g_assert_cmpstr (meta->model_name, ==, "vit-tiny-cls");
    g_assert_nonnull (meta->media);
    g_assert_nonnull (gst_buffer_get_video_meta (meta->media));
    g_assert_cmpint (
        gst_buffer_get_video_meta (meta->media)->width, ==, img.width);

    gst_buffer_unref (out);
    g_free (got);
    g_free (caps);
    g_free (img.rgb);
    gst_harness_teardown (h);
  }
  sf_tensor_unref (want);
  sftest_case_free (tc);
}

static float *
encode_one (const gchar *model, GstBuffer *buf, GstVideoFormat format,
    int width, int height, gsize *n)
{
  GstHarness *h = encoder_harness (model, 1);
  gchar *caps = video_caps (format, width, height);
  float *got;

  gst_harness_set_src_caps_str (h, caps);
  g_assert_cmpint (gst_harness_push (h, buf), ==, GST_FLOW_OK);
  got = pull_floats (h, n, NULL);
  g_free (caps);
  gst_harness_teardown (h);
  return got;
}

/* RGB, RGBx and BGRx with odd row paddings all read the same picture. */
static void
test_packed_formats (void)
{
  SfTestCase *tc = sftest_case_open ("vit-tiny-cls");
  TestImage img = load_image (tc, "chelsea");
  gsize n_ref, n;
  float *ref =
      encode_one (tc->dir, packed_buffer (&img, GST_VIDEO_FORMAT_RGB, 0),
          GST_VIDEO_FORMAT_RGB, img.width, img.height, &n_ref);
  const struct
  {
    GstVideoFormat format;
    int pad;
  } cases[] = {
    { GST_VIDEO_FORMAT_RGB, 13 },
    { GST_VIDEO_FORMAT_RGBx, 0 },
    { GST_VIDEO_FORMAT_RGBx, 64 },
    { GST_VIDEO_FORMAT_BGRx, 4 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    float *got = encode_one (tc->dir,
        packed_buffer (&img, cases[i].format, cases[i].pad), cases[i].format,
        img.width, img.height, &n);

    g_assert_cmpuint (n, ==, n_ref);
    g_assert_cmpmem (got, n * sizeof (float), ref, n_ref * sizeof (float));
    g_free (got);
  }
  g_free (ref);
  g_free (img.rgb);
  sftest_case_free (tc);
}

/* The same Y, U and V samples as I420 (padded strides) and as NV12 give
 * the same tensors. */
static void
test_yuv_formats (void)
{
  SfTestCase *tc = sftest_case_open ("vit-tiny-cls");
  const int w = 90, h = 61, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const int ys = w + 6, cs = cw + 10, uvs = 2 * cw + 2;
  gsize off_i420[4] = { 0, (gsize)ys * h, (gsize)ys * h + (gsize)cs * ch };
  gint st_i420[4] = { ys, cs, cs };
  gsize off_nv12[4] = { 0, (gsize)ys * h };
  gint st_nv12[4] = { ys, uvs };
  GstBuffer *i420 =
      gst_buffer_new_allocate (NULL, (gsize)ys * h + 2 * (gsize)cs * ch, NULL);
  GstBuffer *nv12 =
      gst_buffer_new_allocate (NULL, (gsize)ys * h + (gsize)uvs * ch, NULL);
  GstMapInfo a, b;
  float *got_a, *got_b;
  gsize na, nb;

  gst_buffer_map (i420, &a, GST_MAP_WRITE);
  gst_buffer_map (nv12, &b, GST_MAP_WRITE);
  memset (a.data, 0, a.size);
  memset (b.data, 0, b.size);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      a.data[y * ys + x] = b.data[y * ys + x] =
          (guint8)(16 + (x * 7 + y * 3) % 220);
  for (int y = 0; y < ch; y++)
    for (int x = 0; x < cw; x++) {
      guint8 u = (guint8)(40 + (x * 5) % 180), v = (guint8)(60 + (y * 9) % 160);

      a.data[off_i420[1] + y * cs + x] = u;
      a.data[off_i420[2] + y * cs + x] = v;
      b.data[off_nv12[1] + y * uvs + 2 * x] = u;
      b.data[off_nv12[1] + y * uvs + 2 * x + 1] = v;
    }
  gst_buffer_unmap (i420, &a);
  gst_buffer_unmap (nv12, &b);
  gst_buffer_add_video_meta_full (i420, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_FORMAT_I420, w, h, 3, off_i420, st_i420);
  gst_buffer_add_video_meta_full (nv12, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_FORMAT_NV12, w, h, 2, off_nv12, st_nv12);

  got_a = encode_one (tc->dir, i420, GST_VIDEO_FORMAT_I420, w, h, &na);
  got_b = encode_one (tc->dir, nv12, GST_VIDEO_FORMAT_NV12, w, h, &nb);
  g_assert_cmpuint (na, ==, 5);
  g_assert_cmpmem (got_a, na * sizeof (float), got_b, nb * sizeof (float));
  g_free (got_a);
  g_free (got_b);
  sftest_case_free (tc);
}

/* inference-interval=3: frames 0 and 3 are encoded, 1 and 2 repeat frame
 * 0's logits although their pictures differ, and each output still
 * references its own frame. */
static void
test_inference_interval (void)
{
  static const gchar *names[] = { "astronaut", "chelsea", "coffee" };
  SfTestCase *tc = sftest_case_open ("vit-tiny-cls");
  SfTensor *want = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness (tc->dir, 3);
  gchar *caps = video_caps (GST_VIDEO_FORMAT_RGB, 64, 64);
  float *got[4];
  gsize n;

  gst_harness_set_src_caps_str (h, caps);
  for (guint f = 0; f < 4; f++) {
    /* Frames 0, 1, 2, 3 show images 0, 1, 2, 1, scaled to 64x64 by a
     * crop of the top-left corner. */
    TestImage full = load_image (tc, names[f == 3 ? 1 : f]);
    TestImage img = { 64, 64, g_new (guint8, 64 * 64 * 3) };
    GstBuffer *out;
    GstSfTensorMeta *meta;

    for (int y = 0; y < 64; y++)
      memcpy (
          img.rgb + y * 64 * 3, full.rgb + (gsize)y * full.width * 3, 64 * 3);
    g_assert_cmpint (
        gst_harness_push (h, packed_buffer (&img, GST_VIDEO_FORMAT_RGB, 0)), ==,
        GST_FLOW_OK);
    got[f] = pull_floats (h, &n, &out);
    meta = gst_buffer_get_sf_tensor_meta (out);
    g_assert_nonnull (meta);
    g_assert_nonnull (meta->media);
    gst_buffer_unref (out);
    g_free (full.rgb);
    g_free (img.rgb);
  }
  g_assert_cmpmem (got[1], 5 * sizeof (float), got[0], 5 * sizeof (float));
  g_assert_cmpmem (got[2], 5 * sizeof (float), got[0], 5 * sizeof (float));
  g_assert_true (memcmp (got[3], got[0], 5 * sizeof (float)) != 0);
  for (guint f = 0; f < 4; f++)
    g_free (got[f]);
  g_free (caps);
  sf_tensor_unref (want);
  gst_harness_teardown (h);
  sftest_case_free (tc);
}

/* Starts an encoder on @model and returns the error message it posts. */
static gchar *
start_error (const gchar *model)
{
  GstElement *element = gst_element_factory_make ("sfimageencoder", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *text;

  g_object_set (element, "model", model, NULL);
  gst_element_set_bus (element, bus);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  text = g_strdup (error->message);
  g_test_message ("error: %s", text);
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (element, GST_STATE_NULL);
  gst_element_set_bus (element, NULL);
  gst_object_unref (bus);
  gst_object_unref (element);
  return text;
}

static void
test_not_vision (void)
{
  gchar *model = sftest_fixture ("bert-tiny-cls");
  gchar *text = start_error (model);

  g_assert_nonnull (strstr (text, model));
  g_assert_nonnull (strstr (text, "not a vision model"));
  g_free (text);
  g_free (model);
}

/* resample 1 (PIL's LANCZOS) is not supported: the error names the file
 * and the field. */
static void
test_unsupported_resample (void)
{
  gchar *src = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples/models/shapes-segformer", NULL);
  gchar *dir = g_dir_make_tmp ("sfresample.XXXXXX", NULL);
  const gchar *files[] = { "config.json", "model.safetensors" };
  gchar *contents, *path, *text, *bad;
  GRegex *re;

  g_assert_nonnull (dir);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *from = g_build_filename (src, files[i], NULL);
    gchar *to = g_build_filename (dir, files[i], NULL);

    g_assert_cmpint (symlink (from, to), ==, 0);
    g_free (from);
    g_free (to);
  }
  path = g_build_filename (src, "preprocessor_config.json", NULL);
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_free (path);
  re = g_regex_new ("\"resample\"\\s*:\\s*\\d+", 0, 0, NULL);
  bad =
      g_regex_replace_literal (re, contents, -1, 0, "\"resample\": 1", 0, NULL);
  g_assert_cmpstr (bad, !=, contents);
  path = g_build_filename (dir, "preprocessor_config.json", NULL);
  g_assert_true (g_file_set_contents (path, bad, -1, NULL));

  text = start_error (dir);
  g_assert_nonnull (strstr (text, "preprocessor_config.json"));
  g_assert_nonnull (strstr (text, "resample"));

  g_unlink (path);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *to = g_build_filename (dir, files[i], NULL);

    g_unlink (to);
    g_free (to);
  }
  g_rmdir (dir);
  g_free (text);
  g_free (path);
  g_free (bad);
  g_free (contents);
  g_regex_unref (re);
  g_free (dir);
  g_free (src);
}

/* NULL -> PLAYING -> NULL, again and again, on a live source: caps are
 * negotiated (transform_caps, in the source's thread) while the state
 * change stops the element and drops its model. The caps query once ran
 * a forward pass on a model stop() had freed; under AddressSanitizer this
 * catches any such use after free. No cycle may post an error. */
static void
test_state_cycles (void)
{
  gchar *model = sftest_fixture ("vit-tiny-cls");
  gchar *desc =
      g_strdup_printf ("videotestsrc is-live=true pattern=ball "
                       "! video/x-raw,width=64,height=48,framerate=100/1 "
                       "! sfimageencoder model=\"%s\" ! fakesink sync=false",
          model);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);

  g_assert_nonnull (pipeline);
  for (guint i = 0; i < 200; i++) {
    GstMessage *msg;

    g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
        GST_STATE_CHANGE_FAILURE);
    /* Every fourth cycle lets frames through before stopping. */
    if (i % 4 == 0)
      gst_element_get_state (pipeline, NULL, NULL, 5 * GST_SECOND);
    g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
        GST_STATE_CHANGE_SUCCESS);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg != NULL) {
      GError *error = NULL;

      gst_message_parse_error (msg, &error, NULL);
      g_error ("cycle %u: %s", i, error->message);
    }
  }

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (model);
}

/* sfclassifier on ViT logits: the top label per frame is the reference
 * argmax, with the model's id2label names, and sfjsonsink writes it. */
static void
test_classify_pipeline (void)
{
  static const gchar *names[] = { "astronaut", "chelsea", "coffee" };
  SfTestCase *tc = sftest_case_open ("vit-tiny-cls");
  SfTensor *want = sftest_case_tensor (tc, "logits");
  gchar *out_dir = g_dir_make_tmp ("sfvit.XXXXXX", NULL);
  gchar *out = g_build_filename (out_dir, "labels.jsonl", NULL);
  gchar *desc = g_strdup_printf (
      "appsrc name=src format=time ! sfimageencoder model=\"%s\" "
      "! sfclassifier top-k=3 ! sfjsonsink location=\"%s\"",
      tc->dir, out);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  gchar *contents, **lines;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    TestImage img = load_image (tc, names[i]);
    gchar *caps_str = video_caps (GST_VIDEO_FORMAT_RGB, img.width, img.height);
    GstCaps *caps = gst_caps_from_string (caps_str);
    GstBuffer *buf = packed_buffer (&img, GST_VIDEO_FORMAT_RGB, 0);
    GstSample *sample;

    GST_BUFFER_PTS (buf) = i * GST_SECOND;
    sample = gst_sample_new (buf, caps, NULL, NULL);
    g_assert_cmpint (
        gst_app_src_push_sample (GST_APP_SRC (src), sample), ==, GST_FLOW_OK);
    gst_sample_unref (sample);
    gst_buffer_unref (buf);
    gst_caps_unref (caps);
    g_free (caps_str);
    g_free (img.rgb);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  msg = gst_bus_timed_pop_filtered (
      bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  lines = g_strsplit (g_strstrip (contents), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    const float *row = sf_tensor_f32 (want) + 5 * i;
    cJSON *obj = cJSON_Parse (lines[i]);
    cJSON *labels = cJSON_GetObjectItem (obj, "labels");
    guint best = 0;
    gchar *label;

    for (guint k = 1; k < 5; k++)
      if (row[k] > row[best])
        best = k;
    label = sftest_case_label (tc, best);
    g_assert_cmpfloat (
        cJSON_GetNumberValue (cJSON_GetObjectItem (obj, "pts")), ==, i);
    g_assert_cmpint (cJSON_GetArraySize (labels), ==, 3);
    g_assert_cmpint (
        cJSON_GetArraySize (cJSON_GetObjectItem (obj, "scores")), ==, 3);
    g_assert_cmpstr (
        cJSON_GetStringValue (cJSON_GetArrayItem (labels, 0)), ==, label);
    g_free (label);
    cJSON_Delete (obj);
  }

  g_strfreev (lines);
  g_free (contents);
  g_unlink (out);
  g_rmdir (out_dir);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_free (desc);
  g_free (out);
  g_free (out_dir);
  sf_tensor_unref (want);
  sftest_case_free (tc);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sfimageencoder/vit/logits", test_vit_logits);
  g_test_add_func (
      "/plugins/sfimageencoder/formats/packed", test_packed_formats);
  g_test_add_func ("/plugins/sfimageencoder/formats/yuv", test_yuv_formats);
  g_test_add_func (
      "/plugins/sfimageencoder/inference-interval", test_inference_interval);
  g_test_add_func (
      "/plugins/sfimageencoder/errors/not-vision", test_not_vision);
  g_test_add_func (
      "/plugins/sfimageencoder/errors/resample", test_unsupported_resample);
  g_test_add_func (
      "/plugins/sfclassifier/vit/pipeline", test_classify_pipeline);
  g_test_add_func ("/plugins/sfimageencoder/state-cycles", test_state_cycles);

  return g_test_run ();
}
