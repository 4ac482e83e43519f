/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "sftest.h"

gchar *
sftest_fixture (const gchar *name)
{
  const gchar *root = g_getenv ("SF_FIXTURES_DIR");

  g_assert_nonnull (root);
  return g_build_filename (root, name, NULL);
}

cJSON *
sftest_load_json (const gchar *path)
{
  gchar *contents = NULL;
  GError *error = NULL;
  cJSON *json;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  json = cJSON_Parse (contents);
  g_free (contents);
  g_assert_nonnull (json);
  return json;
}

SfTestCase *
sftest_case_open (const gchar *name)
{
  SfTestCase *tc = g_new0 (SfTestCase, 1);
  GError *error = NULL;
  gchar *path;
  cJSON *tol;

  tc->dir = sftest_fixture (name);
  path = g_build_filename (tc->dir, "case.json", NULL);
  tc->json = sftest_load_json (path);
  g_free (path);

  path = g_build_filename (tc->dir, "io.safetensors", NULL);
  tc->io = sf_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_free (path);

  tol = cJSON_GetObjectItem (tc->json, "tolerance");
  g_assert_nonnull (tol);
  tc->atol = cJSON_GetNumberValue (cJSON_GetObjectItem (tol, "atol"));
  tc->rtol = cJSON_GetNumberValue (cJSON_GetObjectItem (tol, "rtol"));
  g_assert_false (isnan (tc->atol) || isnan (tc->rtol));
  return tc;
}

void
sftest_case_free (SfTestCase *tc)
{
  if (tc == NULL)
    return;
  g_free (tc->dir);
  cJSON_Delete (tc->json);
  sf_safetensors_unref (tc->io);
  g_free (tc);
}

guint
sftest_case_n_texts (SfTestCase *tc)
{
  return cJSON_GetArraySize (cJSON_GetObjectItem (tc->json, "texts"));
}

const gchar *
sftest_case_text (SfTestCase *tc, guint i)
{
  cJSON *item = cJSON_GetArrayItem (cJSON_GetObjectItem (tc->json, "texts"), i);

  g_assert_true (cJSON_IsString (item));
  return cJSON_GetStringValue (item);
}

SfTensor *
sftest_case_tensor (SfTestCase *tc, const gchar *name)
{
  SfTensor *raw = sf_safetensors_get (tc->io, name), *f32;

  g_assert_nonnull (raw);
  f32 = sf_tensor_to_f32 (raw);
  sf_tensor_unref (raw);
  return f32;
}

gchar *
sftest_case_label (SfTestCase *tc, guint index)
{
  gchar *path = g_build_filename (tc->dir, "config.json", NULL);
  cJSON *config = sftest_load_json (path);
  gchar *key = g_strdup_printf ("%u", index);
  cJSON *label =
      cJSON_GetObjectItem (cJSON_GetObjectItem (config, "id2label"), key);
  gchar *result;

  g_assert_true (cJSON_IsString (label));
  result = g_strdup (cJSON_GetStringValue (label));
  cJSON_Delete (config);
  g_free (key);
  g_free (path);
  return result;
}

void
sftest_assert_close (const float *got, const float *want, gsize n, double atol,
    double rtol, const gchar *what)
{
  gsize i;

  for (i = 0; i < n; i++) {
    double tol = atol + rtol * fabs ((double)want[i]);

    if (!(fabs ((double)got[i] - (double)want[i]) <= tol))
      g_test_message ("%s[%" G_GSIZE_FORMAT "] is off", what, i);
    g_assert_cmpfloat_with_epsilon (got[i], want[i], tol);
  }
}

guint
sftest_count_errors (const gchar *desc, const gchar *name, gchar **first)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstBus *bus;
  GstMessage *msg;
  guint n = 0;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((msg = gst_bus_timed_pop_filtered (
              bus, GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS))
      != NULL) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR
        && g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), name)) {
      gst_message_parse_error (msg, &error, NULL);
      if (n++ == 0)
        *first = g_strdup (error->message);
      g_clear_error (&error);
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return n;
}

gchar *
sftest_pull_stamped (GstHarness *h, guint *n_buffers)
{
  GString *out = g_string_new (NULL);
  GstBuffer *b;

  while ((b = gst_harness_try_pull (h)) != NULL) {
    GstMapInfo map;

    g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
    g_string_append_printf (out,
        "%" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT ":%.*s", GST_BUFFER_PTS (b),
        GST_BUFFER_DURATION (b), (int)map.size, (const char *)map.data);
    gst_buffer_unmap (b, &map);
    gst_buffer_unref (b);
    if (n_buffers != NULL)
      (*n_buffers)++;
  }
  return g_string_free (out, FALSE);
}

void
sftest_check_batch_properties (const gchar *factory)
{
  GstElement *e = gst_element_factory_make (factory, NULL);
  guint size, timeout;

  g_assert_nonnull (e);
  g_object_get (e, "batch-size", &size, "batch-timeout-ms", &timeout, NULL);
  g_assert_cmpuint (size, ==, 1);
  g_assert_cmpuint (timeout, ==, 0);
  g_object_set (e, "batch-size", 8, "batch-timeout-ms", 25, NULL);
  g_object_get (e, "batch-size", &size, "batch-timeout-ms", &timeout, NULL);
  g_assert_cmpuint (size, ==, 8);
  g_assert_cmpuint (timeout, ==, 25);
  gst_object_unref (e);
}
