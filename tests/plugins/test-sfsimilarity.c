/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfsimilarity: CLIP zero-shot scoring against the clip-tiny reference,
 * from embeddings and from PNG files, and errors on malformed input. */
#include <string.h>

#include <glib/gstdio.h>
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
      "sfsimilarity name=f "
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
  dir = g_dir_make_tmp ("sfsimilarity-XXXXXX", NULL);
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
      "sfsimilarity name=f "
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

/* Two always sink pads, text and image, and no request pads. */
static void
test_pads (void)
{
  GstElement *sim = gst_element_factory_make ("sfsimilarity", NULL);
  const gchar *const names[] = { "text", "image" };

  g_assert_nonnull (sim);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    GstPad *pad = gst_element_get_static_pad (sim, names[i]);
    GstPadTemplate *templ = gst_element_class_get_pad_template (
        GST_ELEMENT_GET_CLASS (sim), names[i]);

    g_assert_nonnull (pad);
    g_assert_cmpint (GST_PAD_DIRECTION (pad), ==, GST_PAD_SINK);
    g_assert_cmpint (GST_PAD_TEMPLATE_PRESENCE (templ), ==, GST_PAD_ALWAYS);
    gst_object_unref (pad);
  }
  g_assert_cmpuint (sim->numsinkpads, ==, 2);
  g_assert_null (gst_element_request_pad_simple (sim, "sink_%u"));
  g_assert_null (
      g_object_class_find_property (G_OBJECT_GET_CLASS (sim), "mode"));
  gst_object_unref (sim);
}

/* A malformed input and the element error it must give. */
typedef struct
{
  const gchar *text_caps,
      *image_caps;                 /* after "other/tensors,format=static," */
  guint text_values, image_values; /* float32 values per buffer */
  const gchar *debug;              /* part of the error's debug text */
} BadInput;

static const BadInput bad_inputs[] = {
  /* image rows of 5 values against prompts of 4 */
  { "num_tensors=1,types=float32,dimensions=(string)4:1",
      "num_tensors=1,types=float32,dimensions=(string)5:1", 4, 5,
      "text embeddings' size (4 values)" },
  /* image embeddings that are not float32 */
  { "num_tensors=1,types=float32,dimensions=(string)4:1",
      "num_tensors=1,types=uint8,dimensions=(string)16:1", 4, 4,
      "image buffers must hold one float32 tensor" },
  /* two tensors per image buffer */
  { "num_tensors=1,types=float32,dimensions=(string)4:1",
      "num_tensors=2,types=(string)\\\"float32,float32\\\","
      "dimensions=(string)\\\"4:1,4:1\\\"",
      4, 8, "image buffers must hold one float32 tensor" },
  /* a text buffer smaller than its caps say */
  { "num_tensors=1,types=float32,dimensions=(string)4:2",
      "num_tensors=1,types=float32,dimensions=(string)4:1", 4, 4,
      "text buffers must hold one float32 tensor" },
};

/* Pushes one buffer of @n float32 values at pts 0 on appsrc @name, then
 * EOS. */
static void
push_values (GstElement *pipeline, const gchar *name, guint n)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GstBuffer *buf =
      gst_buffer_new_wrapped (g_new0 (float, n), n * sizeof (float));

  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND;
  g_assert_cmpint (
      gst_app_src_push_buffer (GST_APP_SRC (src), buf), ==, GST_FLOW_OK);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
}

/* Wrongly shaped input stops the pipeline with a STREAM/FORMAT error from
 * sfsimilarity that says what was wrong, and shuts down cleanly. */
static void
test_bad_input (gconstpointer data)
{
  const BadInput *bad = data;
  gchar *desc = g_strdup_printf (
      "appsrc name=texts format=time caps=\"other/tensors,format=static,%s\" "
      "! s.text "
      "appsrc name=images format=time caps=\"other/tensors,format=static,%s\" "
      "! s.image "
      "sfsimilarity name=s ! fakesink",
      bad->text_caps, bad->image_caps);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstBus *bus;
  GstMessage *msg;
  gchar *debug = NULL;

  g_assert_no_error (error);
  push_values (pipeline, "texts", bad->text_values);
  push_values (pipeline, "images", bad->image_values);
  bus = gst_element_get_bus (pipeline);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (
      bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_ERROR);
  g_assert_cmpstr (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), ==, "s");
  gst_message_parse_error (msg, &error, &debug);
  g_assert_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT);
  g_assert_nonnull (strstr (debug, bad->debug));

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (desc);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sfsimilarity/pads", test_pads);
  g_test_add_func (
      "/plugins/sfsimilarity/embeddings", test_similarity_embeddings);
  g_test_add_func ("/plugins/sfsimilarity/images", test_similarity_images);
  for (guint i = 0; i < G_N_ELEMENTS (bad_inputs); i++) {
    gchar *path = g_strdup_printf ("/plugins/sfsimilarity/bad-input/%u", i);
    g_test_add_data_func (path, &bad_inputs[i], test_bad_input);
    g_free (path);
  }
  return g_test_run ();
}
