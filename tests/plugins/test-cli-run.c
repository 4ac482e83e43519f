/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run` and the elements decide through the same task layer:
 * the CLI's CLIP text output is the reference text_embeds and equals what
 * sftextencoder emits for the same text; a plain encoder's mean + L2
 * sentence embedding equals the element's with the same options; with an
 * image and prompts the CLI gives the reference zero-shot argmax. */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "gstsftensors.h"
#include "sftest.h"

static const gchar *cli; /* the streamformer binary, from argv */

/* (transfer full) the JSON objects `streamformer run MODEL ARGS… --json`
 * prints, one per line; the command must succeed. */
static GPtrArray *
run_cli (const gchar *model, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  GPtrArray *objects =
      g_ptr_array_new_with_free_func ((GDestroyNotify)cJSON_Delete);
  gchar *out = NULL, *err = NULL, **lines;
  GError *error = NULL;
  const gchar *arg;
  gint status;
  va_list args;

  g_ptr_array_add (argv, (gpointer)cli);
  g_ptr_array_add (argv, "run");
  g_ptr_array_add (argv, (gpointer)model);
  va_start (args, model);
  while ((arg = va_arg (args, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer)arg);
  va_end (args);
  g_ptr_array_add (argv, "--json");
  g_ptr_array_add (argv, NULL);

  g_assert_true (g_spawn_sync (NULL, (gchar **)argv->pdata, NULL,
      G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("streamformer run failed: %s", err);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++) {
    cJSON *obj = cJSON_Parse (lines[i]);

    g_assert_nonnull (obj);
    g_ptr_array_add (objects, obj);
  }
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  g_ptr_array_unref (argv);
  return objects;
}

/* (transfer full) the floats of the JSON array @key of @obj; *n their
 * count. */
static float *
json_floats (const cJSON *obj, const gchar *key, gsize *n)
{
  const cJSON *array = cJSON_GetObjectItem (obj, key);
  float *v;

  /* "tensors": [{"type", "dims", "data"}], as sfjsonsink writes them */
  if (g_str_equal (key, "tensors")) {
    g_assert_cmpint (cJSON_GetArraySize (array), ==, 1);
    array = cJSON_GetObjectItem (cJSON_GetArrayItem (array, 0), "data");
  }

  g_assert_true (cJSON_IsArray (array));
  *n = (gsize)cJSON_GetArraySize (array);
  v = g_new (float, *n);
  for (gsize i = 0; i < *n; i++) {
    double value = cJSON_GetNumberValue (cJSON_GetArrayItem (array, (int)i));
    gchar text[G_ASCII_DTOSTR_BUF_SIZE];

    /* written with 6 significant digits, as sfjsonsink writes them */
    g_ascii_formatd (text, sizeof text, "%.6g", value);
    g_assert_cmpfloat (g_ascii_strtod (text, NULL), ==, value);
    v[i] = (float)value;
  }
  return v;
}

/* (transfer full) sftextencoder's output for @text on @model, with extra
 * properties as name, value pairs. */
static float *
element_output (const gchar *model, const gchar *text, gsize *n, ...)
{
  GstElement *element = gst_element_factory_make ("sftextencoder", NULL);
  gchar *line = g_strdup_printf ("%s\n", text);
  const gchar *prop;
  GstHarness *h;
  GstBuffer *out;
  GstMapInfo map;
  float *v;
  va_list args;

  g_object_set (element, "model", model, NULL);
  va_start (args, n);
  while ((prop = va_arg (args, const gchar *)) != NULL)
    gst_util_set_object_arg (
        G_OBJECT (element), prop, va_arg (args, const gchar *));
  va_end (args);
  h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gst_harness_set_src_caps_str (h, "text/x-raw, format=(string)utf8");
  g_assert_cmpint (
      gst_harness_push (h, gst_buffer_new_memdup (line, strlen (line))), ==,
      GST_FLOW_OK);
  out = gst_harness_pull (h);
  g_assert_true (gst_buffer_map (out, &map, GST_MAP_READ));
  *n = map.size / sizeof (float);
  v = g_memdup2 (map.data, map.size);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (line);
  return v;
}

static void
test_clip_text (void)
{
  SfTestCase *tc = sftest_case_open ("clip-tiny");
  SfTensor *want = sftest_case_tensor (tc, "text_embeds"); /* [N, P] */
  gint64 p = sf_tensor_dim (want, 1);

  for (guint i = 0; i < sftest_case_n_texts (tc); i++) {
    const gchar *text = sftest_case_text (tc, i);
    GPtrArray *objects = run_cli (tc->dir, "--text", text, NULL);
    gsize n, m;
    float *got, *element;

    g_assert_cmpuint (objects->len, ==, 1);
    got = json_floats (objects->pdata[0], "tensors", &n);
    g_assert_cmpuint (n, ==, p);
    sftest_assert_close (got, sf_tensor_f32 (want) + i * p, n, tc->atol,
        tc->rtol, "text_embeds");
    element = element_output (tc->dir, text, &m, NULL);
    g_assert_cmpuint (m, ==, n);
    sftest_assert_close (got, element, n, 1e-6, 1e-5, "element output");
    g_free (element);
    g_free (got);
    g_ptr_array_unref (objects);
  }
  sf_tensor_unref (want);
  sftest_case_free (tc);
}

/* A plain encoder under --pooling mean --normalize: the element's output
 * with the same properties, and of unit length. */
static void
test_mean_normalized (void)
{
  gchar *model = sftest_fixture ("bert-tiny-embed");
  const gchar *text = "the quick brown fox";
  GPtrArray *objects =
      run_cli (model, "--text", text, "--pooling", "mean", "--normalize", NULL);
  gsize n, m;
  float *got = json_floats (objects->pdata[0], "tensors", &n);
  float *element = element_output (
      model, text, &m, "pooling", "mean", "normalize", "true", NULL);
  double norm = 0;

  g_assert_cmpuint (m, ==, n);
  sftest_assert_close (got, element, n, 1e-6, 1e-5, "element output");
  for (gsize i = 0; i < n; i++)
    norm += (double)got[i] * got[i];
  g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-4);
  g_free (element);
  g_free (got);
  g_ptr_array_unref (objects);
  g_free (model);
}

/* Writes image.@name of @tc as a binary PPM in @dir. */
static gchar *
write_ppm (SfTestCase *tc, const gchar *name, const gchar *dir)
{
  gchar *key = g_strdup_printf ("image.%s", name);
  SfTensor *t = sf_safetensors_get (tc->io, key); /* [H, W, 3] U8 */
  gchar *path = g_strdup_printf ("%s/%s.ppm", dir, name);
  gchar *header;
  GString *data;

  g_assert_nonnull (t);
  header =
      g_strdup_printf ("P6\n%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n255\n",
          t->shape[1], t->shape[0]);
  data = g_string_new (header);
  g_string_append_len (data, t->data, sf_tensor_nbytes (t));
  g_assert_true (g_file_set_contents (path, data->str, data->len, NULL));
  g_string_free (data, TRUE);
  g_free (header);
  sf_tensor_unref (t);
  g_free (key);
  return path;
}

static void
test_zero_shot (void)
{
  SfTestCase *tc = sftest_case_open ("clip-tiny");
  SfTensor *want = sftest_case_tensor (tc, "logits_per_image"); /* [I, N] */
  cJSON *images = cJSON_GetObjectItem (tc->json, "images");
  guint n_texts = sftest_case_n_texts (tc);
  gchar *dir = g_dir_make_tmp ("sfzeroshot.XXXXXX", NULL);
  gchar *prompts = g_build_filename (dir, "prompts.txt", NULL);
  GString *lines = g_string_new (NULL);

  for (guint i = 0; i < n_texts; i++)
    g_string_append_printf (lines, "%s\n", sftest_case_text (tc, i));
  g_assert_true (g_file_set_contents (prompts, lines->str, -1, NULL));

  for (int i = 0; i < cJSON_GetArraySize (images); i++) {
    const gchar *name = cJSON_GetStringValue (cJSON_GetArrayItem (images, i));
    const float *row = sf_tensor_f32 (want) + (gsize)i * n_texts;
    gchar *image = write_ppm (tc, name, dir);
    GPtrArray *objects =
        run_cli (tc->dir, "--image", image, "--text-file", prompts, NULL);
    const cJSON *labels = cJSON_GetObjectItem (objects->pdata[0], "labels");
    gsize n;
    float *scores = json_floats (objects->pdata[0], "scores", &n);
    guint best = 0;
    double sum = 0;

    for (guint k = 1; k < n_texts; k++)
      if (row[k] > row[best])
        best = k;
    g_assert_cmpuint (objects->len, ==, 1);
    g_assert_cmpint (cJSON_GetArraySize (labels), ==, (int)MIN (5, n_texts));
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetArrayItem (labels, 0)), ==,
        sftest_case_text (tc, best));
    /* A softmax over the prompts: all of them shown, summing to one. */
    for (gsize k = 0; k < n; k++)
      sum += scores[k];
    g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
    g_free (scores);
    g_ptr_array_unref (objects);
    g_unlink (image);
    g_free (image);
  }

  g_unlink (prompts);
  g_rmdir (dir);
  g_string_free (lines, TRUE);
  g_free (prompts);
  g_free (dir);
  sf_tensor_unref (want);
  sftest_case_free (tc);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (argc, ==, 2);
  cli = argv[1];

  g_test_add_func ("/cli/run/clip-text", test_clip_text);
  g_test_add_func ("/cli/run/mean-normalized", test_mean_normalized);
  g_test_add_func ("/cli/run/zero-shot", test_zero_shot);

  return g_test_run ();
}
