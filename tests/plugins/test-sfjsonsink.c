/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sfjsonsink: every buffer becomes one valid JSON object on its own line. */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <glib/gstdio.h>

#include "gstsftensors.h"
#include "sftest.h"

static GstHarness *
sink_harness (const gchar *location)
{
  GstElement *element = gst_element_factory_make ("sfjsonsink", NULL);
  GstHarness *h;

  g_assert_nonnull (element);
  g_object_set (element, "location", location, NULL);
  h = gst_harness_new_with_element (element, "sink", NULL);
  gst_object_unref (element);
  return h;
}

/* The lines of @path, each parsed. (transfer full) */
static GPtrArray *
read_lines (const gchar *path)
{
  GPtrArray *objects =
      g_ptr_array_new_with_free_func ((GDestroyNotify)cJSON_Delete);
  gchar *contents = NULL, **lines;
  GError *error = NULL;
  guint i;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  for (i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
    cJSON *obj = cJSON_Parse (lines[i]);

    g_assert_nonnull (obj);
    g_assert_true (cJSON_IsObject (obj));
    g_ptr_array_add (objects, obj);
  }
  /* Only the empty string after the last newline is left. */
  g_assert_null (lines[i + (lines[i] != NULL)]);
  g_strfreev (lines);
  g_free (contents);
  return objects;
}

static double
number (cJSON *obj, const gchar *name)
{
  cJSON *item = cJSON_GetObjectItem (obj, name);

  g_assert_true (cJSON_IsNumber (item));
  return cJSON_GetNumberValue (item);
}

static const gchar *
string (cJSON *obj, const gchar *name)
{
  cJSON *item = cJSON_GetObjectItem (obj, name);

  g_assert_true (cJSON_IsString (item));
  return cJSON_GetStringValue (item);
}

static void
test_write_lines (void)
{
  static const float embedding[3] = { 0.1f, -1.5f, 3.0f };
  static const gchar text[] = "say \"hi\"\\\ttab\n";
  gchar *dir = g_dir_make_tmp ("sfjsonsink-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "out.jsonl", NULL);
  GstHarness *h = sink_harness (path);
  GstBuffer *buffer;
  GstStructure *result;
  GValue labels = G_VALUE_INIT, scores = G_VALUE_INIT, v = G_VALUE_INIT;
  GPtrArray *objects;
  cJSON *obj, *tensor, *array;
  gchar *contents;

  /* 1. plain text, with characters JSON must escape */
  gst_harness_set_src_caps_str (h, "text/x-raw, format=(string)utf8");
  buffer = gst_buffer_new_memdup (text, strlen (text));
  GST_BUFFER_PTS (buffer) = 1500 * GST_MSECOND;
  g_assert_cmpint (gst_harness_push (h, buffer), ==, GST_FLOW_OK);

  /* 2. a structured result */
  buffer = gst_buffer_new_memdup ("x\n", 2);
  GST_BUFFER_PTS (buffer) = 2 * GST_SECOND;
  GST_BUFFER_DURATION (buffer) = GST_SECOND;
  g_value_init (&labels, GST_TYPE_ARRAY);
  g_value_init (&scores, GST_TYPE_ARRAY);
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, "positive");
  gst_value_array_append_value (&labels, &v);
  g_value_unset (&v);
  g_value_init (&v, G_TYPE_DOUBLE);
  g_value_set_double (&v, 0.75);
  gst_value_array_append_value (&scores, &v);
  g_value_unset (&v);
  result = gst_structure_new (
      "sfclassifier", "pts", G_TYPE_UINT64, (guint64)2 * GST_SECOND, NULL);
  gst_structure_take_value (result, "labels", &labels);
  gst_structure_take_value (result, "scores", &scores);
  gst_structure_set (result, "text", G_TYPE_STRING, "caf\xc3\xa9", NULL);
  gst_structure_set (result, "third", G_TYPE_DOUBLE, 1.0 / 3.0, NULL);
  gst_buffer_add_sf_result_meta (buffer, result);
  g_assert_cmpint (gst_harness_push (h, buffer), ==, GST_FLOW_OK);

  /* 3. an embedding tensor, with its text in the tensor meta */
  gst_harness_set_src_caps_str (h,
      "other/tensors, format=(string)static, "
      "num_tensors=(int)1, types=(string)float32, dimensions=(string)3:1, "
      "framerate=(fraction)0/1");
  buffer = gst_buffer_new_memdup (embedding, sizeof (embedding));
  gst_buffer_add_sf_tensor_meta (buffer, NULL, NULL, NULL, NULL, "hello", NULL);
  g_assert_cmpint (gst_harness_push (h, buffer), ==, GST_FLOW_OK);

  gst_harness_teardown (h);

  objects = read_lines (path);
  g_assert_cmpuint (objects->len, ==, 3);
  /* 6 significant digits: the float 0.1f is not 0.10000000149011612 */
  g_file_get_contents (path, &contents, NULL, NULL);
  g_assert_nonnull (strstr (contents, "\"third\":0.333333}"));
  g_assert_nonnull (strstr (contents, "\"data\":[0.1,-1.5,3]"));
  g_free (contents);

  obj = g_ptr_array_index (objects, 0);
  g_assert_cmpfloat_with_epsilon (number (obj, "pts"), 1.5, 1e-9);
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItem (obj, "duration")));
  g_assert_cmpstr (string (obj, "text"), ==, "say \"hi\"\\\ttab");

  obj = g_ptr_array_index (objects, 1);
  g_assert_cmpfloat_with_epsilon (number (obj, "pts"), 2.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (number (obj, "duration"), 1.0, 1e-9);
  array = cJSON_GetObjectItem (obj, "labels");
  g_assert_cmpint (cJSON_GetArraySize (array), ==, 1);
  g_assert_cmpstr (
      cJSON_GetStringValue (cJSON_GetArrayItem (array, 0)), ==, "positive");
  array = cJSON_GetObjectItem (obj, "scores");
  g_assert_cmpint (cJSON_GetArraySize (array), ==, 1);
  g_assert_cmpfloat (
      cJSON_GetNumberValue (cJSON_GetArrayItem (array, 0)), ==, 0.75);
  g_assert_cmpstr (string (obj, "text"), ==, "caf\xc3\xa9");

  obj = g_ptr_array_index (objects, 2);
  g_assert_true (cJSON_IsNull (cJSON_GetObjectItem (obj, "pts")));
  g_assert_cmpstr (string (obj, "text"), ==, "hello");
  array = cJSON_GetObjectItem (obj, "tensors");
  g_assert_cmpint (cJSON_GetArraySize (array), ==, 1);
  g_assert_null (cJSON_GetObjectItem (obj, "tensor"));
  tensor = cJSON_GetArrayItem (array, 0);
  g_assert_nonnull (tensor);
  g_assert_cmpstr (string (tensor, "type"), ==, "float32");
  array = cJSON_GetObjectItem (tensor, "dims");
  g_assert_cmpint (cJSON_GetArraySize (array), ==, 2);
  g_assert_cmpfloat (
      cJSON_GetNumberValue (cJSON_GetArrayItem (array, 0)), ==, 3);
  array = cJSON_GetObjectItem (tensor, "data");
  g_assert_cmpint (cJSON_GetArraySize (array), ==, 3);
  g_assert_cmpfloat (
      cJSON_GetNumberValue (cJSON_GetArrayItem (array, 1)), ==, -1.5);

  g_ptr_array_unref (objects);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

static void
test_bad_location (void)
{
  GstElement *element = gst_element_factory_make ("sfjsonsink", NULL);
  GstBus *bus = gst_bus_new ();
  const gchar *path = "/nonexistent-streamformer-dir/out.jsonl";
  GError *error = NULL;
  GstMessage *msg;

  gst_element_set_bus (element, bus);
  g_object_set (element, "location", path, NULL);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_true (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE));
  g_assert_nonnull (strstr (error->message, path));

  g_clear_error (&error);
  gst_message_unref (msg);
  gst_element_set_state (element, GST_STATE_NULL);
  /* Queued messages hold the element, which holds the bus. */
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (element, NULL);
  gst_object_unref (element);
  gst_object_unref (bus);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sfjsonsink/write-lines", test_write_lines);
  g_test_add_func (
      "/plugins/sfjsonsink/errors/bad-location", test_bad_location);

  return g_test_run ();
}
