/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfclassifier: logits in, labels out. Expected scores are computed here in
 * double precision, independently of the element; with a real model the
 * reference probabilities of bert-tiny-cls are used. */
#include <math.h>
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "gstsftensors.h"
#include "sftest.h"

#define LOGITS_CAPS                                                            \
  "other/tensors, format=(string)static, num_tensors=(int)1, "                 \
  "types=(string)float32, dimensions=(string)4:1, framerate=(fraction)0/1"

static const float logits[4] = { 0.5f, 2.0f, -1.0f, 1.0f };

static GstHarness *
classifier_harness (const gchar *first_property, ...)
{
  GstElement *element = gst_element_factory_make ("sfclassifier", NULL);
  const gchar *prop = first_property;
  GstHarness *h;
  va_list args;

  g_assert_nonnull (element);
  va_start (args, first_property);
  while (prop != NULL) {
    gst_util_set_object_arg (
        G_OBJECT (element), prop, va_arg (args, const gchar *));
    prop = va_arg (args, const gchar *);
  }
  va_end (args);

  h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gst_harness_set_src_caps_str (h, LOGITS_CAPS);
  return h;
}

static gchar *
classify (GstHarness *h, GstClockTime pts)
{
  GstBuffer *in = gst_buffer_new_memdup (logits, sizeof (logits));
  GstBuffer *out;
  GstMapInfo map;
  gchar *text;

  GST_BUFFER_PTS (in) = pts;
  g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
  out = gst_harness_pull (h);
  g_assert_cmpuint (GST_BUFFER_PTS (out), ==, pts);
  g_assert_true (gst_buffer_map (out, &map, GST_MAP_READ));
  text = g_strndup ((const gchar *)map.data, map.size);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  return text;
}

static void
softmax_ref (double *p)
{
  double sum = 0.0;
  guint i;

  for (i = 0; i < 4; i++)
    sum += exp (logits[i]);
  for (i = 0; i < 4; i++)
    p[i] = exp (logits[i]) / sum;
}

/* Logits order: 2.0 (1), 1.0 (3), 0.5 (0), -1.0 (2). */
static void
test_softmax_top_k (void)
{
  GstHarness *h = classifier_harness ("top-k", "2", NULL);
  double p[4];
  gchar *text, *want;

  softmax_ref (p);
  text = classify (h, 0);
  want = g_strdup_printf ("LABEL_1 %.4f, LABEL_3 %.4f\n", p[1], p[3]);
  g_assert_cmpstr (text, ==, want);
  g_free (text);
  g_free (want);

  gst_harness_teardown (h);
}

static void
test_default_top_k_bounded (void)
{
  GstHarness *h = classifier_harness (NULL);
  double p[4];
  gchar *text, *want;

  softmax_ref (p);
  text = classify (h, 0);
  want = g_strdup_printf ("LABEL_1 %.4f, LABEL_3 %.4f, LABEL_0 %.4f, "
                          "LABEL_2 %.4f\n",
      p[1], p[3], p[0], p[2]);
  g_assert_cmpstr (text, ==, want);
  g_free (text);
  g_free (want);

  gst_harness_teardown (h);
}

static void
test_threshold (void)
{
  GstHarness *h = classifier_harness ("top-k", "0", "threshold", "0.15", NULL);
  double p[4];
  gchar *text, *want;

  softmax_ref (p);
  g_assert_cmpfloat (p[3], >, 0.15);
  g_assert_cmpfloat (p[0], <, 0.15);
  text = classify (h, 0);
  want = g_strdup_printf ("LABEL_1 %.4f, LABEL_3 %.4f\n", p[1], p[3]);
  g_assert_cmpstr (text, ==, want);
  g_free (text);
  g_free (want);

  gst_harness_teardown (h);
}

static void
test_sigmoid (void)
{
  GstHarness *h =
      classifier_harness ("top-k", "3", "activation", "sigmoid", NULL);
  gchar *text, *want;

  text = classify (h, 0);
  want = g_strdup_printf ("LABEL_1 %.4f, LABEL_3 %.4f, LABEL_0 %.4f\n",
      1.0 / (1.0 + exp (-2.0)), 1.0 / (1.0 + exp (-1.0)),
      1.0 / (1.0 + exp (-0.5)));
  g_assert_cmpstr (text, ==, want);
  g_free (text);
  g_free (want);

  gst_harness_teardown (h);
}

static void
test_no_activation (void)
{
  GstHarness *h = classifier_harness (
      "top-k", "0", "activation", "none", "threshold", "-100", NULL);
  gchar *text;

  text = classify (h, 0);
  g_assert_cmpstr (text, ==,
      "LABEL_1 2.0000, LABEL_3 1.0000, LABEL_0 0.5000, LABEL_2 -1.0000\n");
  g_free (text);

  gst_harness_teardown (h);
}

/* activation=none without a threshold keeps negative logits; an explicit
 * threshold still applies. */
static void
test_no_activation_default_threshold (void)
{
  GstHarness *h = classifier_harness ("top-k", "0", "activation", "none", NULL);
  gchar *text;

  text = classify (h, 0);
  g_assert_cmpstr (text, ==,
      "LABEL_1 2.0000, LABEL_3 1.0000, LABEL_0 0.5000, LABEL_2 -1.0000\n");
  g_free (text);
  gst_harness_teardown (h);

  h = classifier_harness (
      "top-k", "0", "activation", "none", "threshold", "0", NULL);
  text = classify (h, 0);
  g_assert_cmpstr (
      text, ==, "LABEL_1 2.0000, LABEL_3 1.0000, LABEL_0 0.5000\n");
  g_free (text);
  gst_harness_teardown (h);
}

/* Per-token states of a model without a head: one error, with the fix. */
static void
test_embedding_input (void)
{
  g_autofree gchar *model = sftest_fixture ("bert-tiny-embed");
  g_autofree gchar *texts = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "tests", "plugins", "texts.txt", NULL);
  g_autofree gchar *desc = g_strdup_printf (
      "filesrc location=%s ! sftextencoder model=%s pooling=none "
      "! sfclassifier name=cls ! fakesink",
      texts, model);
  g_autofree gchar *text = NULL;

  g_assert_cmpuint (sftest_count_errors (desc, "cls", &text), ==, 1);
  if (!strstr (text, "needs one row of logits per buffer, got dimensions 64:")
      || !strstr (text, "one vector per token")
      || !strstr (text, "set pooling=mean (or cls) on sftextencoder")
      || !strstr (text, "use a classification checkpoint"))
    g_error ("unexpected: %s", text);
}

static void
assert_string_array (const GValue *array, guint i, const gchar *want)
{
  const GValue *v = gst_value_array_get_value (array, i);

  g_assert_true (G_VALUE_HOLDS_STRING (v));
  g_assert_cmpstr (g_value_get_string (v), ==, want);
}

static void
test_message_and_meta (void)
{
  GstHarness *h = classifier_harness ("top-k", "2", NULL);
  GstBus *bus = gst_bus_new ();
  GstBuffer *in = gst_buffer_new_memdup (logits, sizeof (logits));
  const GstStructure *s;
  const GValue *labels, *scores;
  GstSfResultMeta *meta;
  GstMessage *msg;
  GstBuffer *out;
  guint64 pts;
  double p[4];

  softmax_ref (p);
  gst_element_set_bus (h->element, bus);
  GST_BUFFER_PTS (in) = 7 * GST_SECOND;
  g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  g_assert_nonnull (msg);
  g_assert_true (GST_MESSAGE_SRC (msg) == GST_OBJECT (h->element));
  s = gst_message_get_structure (msg);
  g_assert_true (gst_structure_has_name (s, "sfclassifier"));
  g_assert_true (gst_structure_get_uint64 (s, "pts", &pts));
  g_assert_cmpuint (pts, ==, 7 * GST_SECOND);
  labels = gst_structure_get_value (s, "labels");
  scores = gst_structure_get_value (s, "scores");
  g_assert_nonnull (labels);
  g_assert_nonnull (scores);
  g_assert_cmpuint (gst_value_array_get_size (labels), ==, 2);
  g_assert_cmpuint (gst_value_array_get_size (scores), ==, 2);
  assert_string_array (labels, 0, "LABEL_1");
  assert_string_array (labels, 1, "LABEL_3");
  g_assert_cmpfloat_with_epsilon (
      g_value_get_double (gst_value_array_get_value (scores, 0)), p[1], 1e-6);
  g_assert_cmpfloat_with_epsilon (
      g_value_get_double (gst_value_array_get_value (scores, 1)), p[3], 1e-6);
  gst_message_unref (msg);

  out = gst_harness_pull (h);
  meta = gst_buffer_get_sf_result_meta (out);
  g_assert_nonnull (meta);
  g_assert_true (gst_structure_has_name (meta->result, "sfclassifier"));
  assert_string_array (
      gst_structure_get_value (meta->result, "labels"), 0, "LABEL_1");
  gst_buffer_unref (out);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

static void
test_rejects_several_rows (void)
{
  GstHarness *h = classifier_harness (NULL);

  gst_harness_set_src_caps_str (h,
      "other/tensors, format=(string)static, "
      "num_tensors=(int)1, types=(string)float32, dimensions=(string)2:2, "
      "framerate=(fraction)0/1");
  g_assert_cmpint (
      gst_harness_push (h, gst_buffer_new_memdup (logits, sizeof (logits))), ==,
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

/* Behind a real encoder, labels come from the checkpoint's id2label and the
 * scores match the reference softmax of the case (bert-tiny-cls,
 * roberta-tiny-cls). */
static void
test_model_labels (gconstpointer data)
{
  SfTestCase *tc = sftest_case_open (data);
  SfTensor *probs = sftest_case_tensor (tc, "probs");
  gint64 n_labels = sf_tensor_dim (probs, 1);
  gchar *desc = g_strdup_printf ("sftextencoder model=\"%s\" ! sfclassifier "
                                 "top-k=%" G_GINT64_FORMAT,
      tc->dir, n_labels);
  GstHarness *h = gst_harness_new_parse (desc);
  guint i, n = sftest_case_n_texts (tc);

  gst_harness_set_src_caps_str (h, "text/x-raw, format=(string)utf8");
  for (i = 0; i < n; i++) {
    const float *row = sf_tensor_f32 (probs) + i * n_labels;
    gchar *line = g_strdup_printf ("%s\n", sftest_case_text (tc, i));
    GstBuffer *out;
    GstMapInfo map;
    gchar **parts;
    gint64 k;

    g_assert_cmpint (
        gst_harness_push (h, gst_buffer_new_memdup (line, strlen (line))), ==,
        GST_FLOW_OK);
    out = gst_harness_pull (h);
    g_assert_true (gst_buffer_map (out, &map, GST_MAP_READ));
    g_assert_true (map.size > 0 && map.data[map.size - 1] == '\n');
    {
      gchar *text = g_strndup ((const gchar *)map.data, map.size - 1);

      parts = g_strsplit (text, ", ", -1);
      g_free (text);
    }
    gst_buffer_unmap (out, &map);
    g_assert_cmpuint (g_strv_length (parts), ==, n_labels);

    /* Each "label score" pair: the label's reference probability. */
    for (k = 0; k < n_labels; k++) {
      gchar **pair = g_strsplit (parts[k], " ", 2);
      gint64 j, found = -1;
      double score;

      g_assert_cmpuint (g_strv_length (pair), ==, 2);
      for (j = 0; j < n_labels; j++) {
        gchar *label = sftest_case_label (tc, j);

        if (g_str_equal (label, pair[0]))
          found = j;
        g_free (label);
      }
      g_assert_cmpint (found, >=, 0);
      score = g_ascii_strtod (pair[1], NULL);
      g_assert_cmpfloat_with_epsilon (score, row[found], 5e-5 + tc->atol);
      if (k == 0) {
        cJSON *want =
            cJSON_GetArrayItem (cJSON_GetObjectItem (tc->json, "labels"), i);
        g_assert_cmpstr (pair[0], ==, cJSON_GetStringValue (want));
      }
      g_strfreev (pair);
    }
    g_strfreev (parts);
    gst_buffer_unref (out);
    g_free (line);
  }

  gst_harness_teardown (h);
  g_free (desc);
  sf_tensor_unref (probs);
  sftest_case_free (tc);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sfclassifier/softmax/top-k", test_softmax_top_k);
  g_test_add_func ("/plugins/sfclassifier/softmax/default-top-k",
      test_default_top_k_bounded);
  g_test_add_func ("/plugins/sfclassifier/softmax/threshold", test_threshold);
  g_test_add_func ("/plugins/sfclassifier/sigmoid", test_sigmoid);
  g_test_add_func ("/plugins/sfclassifier/none", test_no_activation);
  g_test_add_func ("/plugins/sfclassifier/none/default-threshold",
      test_no_activation_default_threshold);
  g_test_add_func (
      "/plugins/sfclassifier/errors/embedding", test_embedding_input);
  g_test_add_func (
      "/plugins/sfclassifier/message-and-meta", test_message_and_meta);
  g_test_add_func (
      "/plugins/sfclassifier/caps/several-rows", test_rejects_several_rows);
  g_test_add_data_func ("/plugins/sfclassifier/model/labels/bert",
      "bert-tiny-cls", test_model_labels);
  g_test_add_data_func ("/plugins/sfclassifier/model/labels/roberta",
      "roberta-tiny-cls", test_model_labels);

  return g_test_run ();
}
