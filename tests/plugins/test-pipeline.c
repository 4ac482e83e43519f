/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole pipelines from gst_parse_launch(): text file → sftextencoder →
 * sfclassifier → sfjsonsink, checked against the bert-tiny-cls reference,
 * and a broken checkpoint that must end in a clean error. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "sftest.h"

/* Runs @pipeline to EOS or ERROR. Returns the error message (or NULL) and
 * counts the element messages from sfclassifier. */
static GstMessage *
run_pipeline (GstElement *pipeline, guint *n_results)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *error = NULL;
  gboolean done = FALSE;

  *n_results = 0;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while (!done) {
    /* A guard against a hang, not a timing check. */
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);

    g_assert_nonnull (msg);
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name (msg, "sfclassifier"))
          (*n_results)++;
        gst_message_unref (msg);
        break;
      case GST_MESSAGE_ERROR:
        error = msg;
        done = TRUE;
        break;
      default:
        gst_message_unref (msg);
        done = TRUE;
        break;
    }
  }
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  return error;
}

static gint64
label_index (SfTestCase *tc, gint64 n_labels, const gchar *label)
{
  gint64 j, found = -1;

  for (j = 0; j < n_labels; j++) {
    gchar *name = sftest_case_label (tc, j);

    if (g_str_equal (name, label))
      found = j;
    g_free (name);
  }
  g_assert_cmpint (found, >=, 0);
  return found;
}

static void
test_classify_text_file (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *probs = sftest_case_tensor (tc, "probs");
  gint64 n_labels = sf_tensor_dim (probs, 1);
  gchar *dir = g_dir_make_tmp ("sfpipeline-XXXXXX", NULL);
  gchar *in_path = g_build_filename (dir, "texts.txt", NULL);
  gchar *out_path = g_build_filename (dir, "out.jsonl", NULL);
  guint i, n = sftest_case_n_texts (tc), n_results;
  GString *texts = g_string_new (NULL);
  GError *error = NULL;
  GstElement *pipeline;
  gchar *desc, *contents = NULL, **lines;

  for (i = 0; i < n; i++)
    g_string_append_printf (texts, "%s\n", sftest_case_text (tc, i));
  g_file_set_contents (in_path, texts->str, texts->len, &error);
  g_assert_no_error (error);

  desc = g_strdup_printf ("filesrc location=\"%s\" ! sftextencoder "
                          "model=\"%s\" split=lines ! sfclassifier top-k=2 ! "
                          "sfjsonsink location=\"%s\"",
      in_path, tc->dir, out_path);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  g_assert_null (run_pipeline (pipeline, &n_results));
  g_assert_cmpuint (n_results, ==, n);
  gst_object_unref (pipeline);

  g_file_get_contents (out_path, &contents, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, n + 1);
  g_assert_cmpstr (lines[n], ==, "");

  for (i = 0; i < n; i++) {
    const float *row = sf_tensor_f32 (probs) + i * n_labels;
    cJSON *obj = cJSON_Parse (lines[i]);
    cJSON *labels = cJSON_GetObjectItem (obj, "labels");
    cJSON *scores = cJSON_GetObjectItem (obj, "scores");
    cJSON *want =
        cJSON_GetArrayItem (cJSON_GetObjectItem (tc->json, "labels"), i);
    gint k;

    g_assert_nonnull (obj);
    g_assert_cmpint (cJSON_GetArraySize (labels), ==, 2);
    g_assert_cmpint (cJSON_GetArraySize (scores), ==, 2);
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetArrayItem (labels, 0)), ==,
        cJSON_GetStringValue (want));
    for (k = 0; k < 2; k++) {
      const gchar *label =
          cJSON_GetStringValue (cJSON_GetArrayItem (labels, k));
      float score = cJSON_GetNumberValue (cJSON_GetArrayItem (scores, k));
      gint64 j = label_index (tc, n_labels, label);

      sftest_assert_close (&score, &row[j], 1, tc->atol, tc->rtol, "probs");
    }
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (obj, "text")),
        ==, sftest_case_text (tc, i));
    g_assert_true (cJSON_IsNumber (cJSON_GetObjectItem (obj, "pts")));
    cJSON_Delete (obj);
  }

  g_strfreev (lines);
  g_free (contents);
  g_free (desc);
  g_unlink (in_path);
  g_unlink (out_path);
  g_rmdir (dir);
  g_free (in_path);
  g_free (out_path);
  g_free (dir);
  g_string_free (texts, TRUE);
  sf_tensor_unref (probs);
  sftest_case_free (tc);
}

/* A copy of bert-tiny-cls whose config.json is cut short. */
static void
test_corrupt_config (void)
{
  static const gchar *files[] = { "model.safetensors", "tokenizer.json",
    "tokenizer_config.json", "vocab.txt", NULL };
  gchar *src = sftest_fixture ("bert-tiny-cls");
  gchar *dir = g_dir_make_tmp ("sfcorrupt-XXXXXX", NULL);
  gchar *config = g_build_filename (dir, "config.json", NULL);
  gchar *in_path = g_build_filename (dir, "texts.txt", NULL);
  GError *error = NULL;
  GstElement *pipeline;
  GstMessage *msg;
  gchar *desc, *debug = NULL, *all;
  guint i, n_results;

  for (i = 0; files[i] != NULL; i++) {
    gchar *from = g_build_filename (src, files[i], NULL);
    gchar *to = g_build_filename (dir, files[i], NULL);

    g_assert_cmpint (symlink (from, to), ==, 0);
    g_free (from);
    g_free (to);
  }
  g_file_set_contents (
      config, "{\"model_type\": \"bert\", \"hidden_", -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (in_path, "some text\n", -1, &error);
  g_assert_no_error (error);

  desc = g_strdup_printf (
      "filesrc location=\"%s\" ! sftextencoder "
      "model=\"%s\" ! sfclassifier ! sfjsonsink location=/dev/null",
      in_path, dir);
  pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  msg = run_pipeline (pipeline, &n_results);
  g_assert_nonnull (msg);
  g_assert_cmpuint (n_results, ==, 0);
  gst_message_parse_error (msg, &error, &debug);
  all = g_strdup_printf ("%s %s", error->message, debug ? debug : "");
  g_test_message ("error: %s", all);
  g_assert_nonnull (strstr (all, "config.json"));
  gst_message_unref (msg);
  gst_object_unref (pipeline);

  g_free (all);
  g_free (debug);
  g_clear_error (&error);
  for (i = 0; files[i] != NULL; i++) {
    gchar *to = g_build_filename (dir, files[i], NULL);

    g_unlink (to);
    g_free (to);
  }
  g_unlink (config);
  g_unlink (in_path);
  g_rmdir (dir);
  g_free (desc);
  g_free (in_path);
  g_free (config);
  g_free (dir);
  g_free (src);
}

/* gst-inspect-1.0 shows every element's example launch line, and the line
 * uses that element. */
static void
test_element_examples (void)
{
  GList *features = gst_registry_get_feature_list_by_plugin (
      gst_registry_get (), "streamformer");
  guint n = 0;

  for (GList *l = features; l != NULL; l = l->next) {
    GstElementFactory *f;
    const gchar *example;

    if (!GST_IS_ELEMENT_FACTORY (l->data))
      continue;
    f = GST_ELEMENT_FACTORY (l->data);
    example = gst_element_factory_get_metadata (f, "example");
    g_test_message ("%s: %s", GST_OBJECT_NAME (f), example);
    g_assert_nonnull (example);
    g_assert_nonnull (strstr (example, "gst-launch-1.0 "));
    g_assert_nonnull (strstr (example, GST_OBJECT_NAME (f)));
    n++;
  }
  gst_plugin_feature_list_free (features);
  g_assert_cmpuint (n, >=, 10);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/pipeline/element-examples", test_element_examples);
  g_test_add_func (
      "/plugins/pipeline/classify-text-file", test_classify_text_file);
  g_test_add_func (
      "/plugins/pipeline/errors/corrupt-config", test_corrupt_config);

  return g_test_run ();
}
