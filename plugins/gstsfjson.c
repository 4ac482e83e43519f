/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The JSON object of one buffer, shared by sfjsonsink and sfmqttsink.
 *
 * - A buffer with a task element's result (GstSfResultMeta) gives
 *   pts and duration in seconds (null when unknown), then every field of
 *   the result.
 * - Tensors without a result give "tensors", a list with one object per
 *   tensor (the CLI's key too): type, dims innermost first as in the caps,
 *   and the values in memory order; plus the tensor meta's "text".
 * - Non-integer numbers carry 6 significant digits (sf_json_number);
 *   pts and duration keep their nanoseconds.
 * - Text gives "text", without its trailing newline.
 * - Anything else gives its "size" in bytes. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/io/json-number.h"
#include "core/tensor.h"
#include "gstsfjson.h"

static void
add_time (cJSON *object, const gchar *name, GstClockTime time)
{
  if (GST_CLOCK_TIME_IS_VALID (time))
    cJSON_AddNumberToObject (object, name, (double)time / GST_SECOND);
  else
    cJSON_AddNullToObject (object, name);
}

static cJSON *value_to_json (const GValue *value);

static void
add_fields (cJSON *object, const GstStructure *s, gboolean skip_times)
{
  gint i, n = gst_structure_n_fields (s);

  for (i = 0; i < n; i++) {
    const gchar *name = gst_structure_nth_field_name (s, i);

    /* The buffer's own times are written first, in seconds. */
    if (skip_times
        && (g_str_equal (name, "pts") || g_str_equal (name, "duration")))
      continue;
    cJSON_AddItemToObject (
        object, name, value_to_json (gst_structure_get_value (s, name)));
  }
}

static cJSON *
value_to_json (const GValue *value)
{
  GType type = G_VALUE_TYPE (value);
  cJSON *array;
  guint i, n;

  if (type == G_TYPE_STRING) {
    const gchar *str = g_value_get_string (value);
    return str ? cJSON_CreateString (str) : cJSON_CreateNull ();
  }
  if (type == G_TYPE_BOOLEAN)
    return cJSON_CreateBool (g_value_get_boolean (value));
  if (type == G_TYPE_INT)
    return cJSON_CreateNumber (g_value_get_int (value));
  if (type == G_TYPE_UINT)
    return cJSON_CreateNumber (g_value_get_uint (value));
  if (type == G_TYPE_INT64)
    return cJSON_CreateNumber ((double)g_value_get_int64 (value));
  if (type == G_TYPE_UINT64)
    return cJSON_CreateNumber ((double)g_value_get_uint64 (value));
  if (type == G_TYPE_FLOAT)
    return sf_json_number (g_value_get_float (value));
  if (type == G_TYPE_DOUBLE)
    return sf_json_number (g_value_get_double (value));
  if (type == GST_TYPE_ARRAY || type == GST_TYPE_LIST) {
    gboolean is_array = type == GST_TYPE_ARRAY;

    array = cJSON_CreateArray ();
    n = is_array ? gst_value_array_get_size (value)
                 : gst_value_list_get_size (value);
    for (i = 0; i < n; i++) {
      const GValue *item = is_array ? gst_value_array_get_value (value, i)
                                    : gst_value_list_get_value (value, i);
      cJSON_AddItemToArray (array, value_to_json (item));
    }
    return array;
  }
  if (type == G_TYPE_STRV) {
    const gchar *const *strv = g_value_get_boxed (value);

    array = cJSON_CreateArray ();
    for (i = 0; strv != NULL && strv[i] != NULL; i++)
      cJSON_AddItemToArray (array, cJSON_CreateString (strv[i]));
    return array;
  }
  if (type == GST_TYPE_STRUCTURE) {
    cJSON *object = cJSON_CreateObject ();

    add_fields (object, gst_value_get_structure (value), FALSE);
    return object;
  }

  {
    gchar *str = gst_value_serialize (value);
    cJSON *item = str ? cJSON_CreateString (str) : cJSON_CreateNull ();

    g_free (str);
    return item;
  }
}

static double
element_to_double (const guint8 *p, GstSfTensorType type)
{
  switch (type) {
    case GST_SF_TENSOR_TYPE_INT32: return *(const gint32 *)p;
    case GST_SF_TENSOR_TYPE_UINT32: return *(const guint32 *)p;
    case GST_SF_TENSOR_TYPE_INT16: return *(const gint16 *)p;
    case GST_SF_TENSOR_TYPE_UINT16: return *(const guint16 *)p;
    case GST_SF_TENSOR_TYPE_INT8: return *(const gint8 *)p;
    case GST_SF_TENSOR_TYPE_UINT8: return *p;
    case GST_SF_TENSOR_TYPE_FLOAT64: return *(const gdouble *)p;
    case GST_SF_TENSOR_TYPE_FLOAT32: return *(const gfloat *)p;
    case GST_SF_TENSOR_TYPE_INT64: return (double)*(const gint64 *)p;
    case GST_SF_TENSOR_TYPE_UINT64: return (double)*(const guint64 *)p;
    case GST_SF_TENSOR_TYPE_FLOAT16: return sf_f16_to_f32 (*(const guint16 *)p);
    default: return NAN;
  }
}

static cJSON *
tensor_to_json (const GstSfTensorInfo *info, const guint8 *data)
{
  cJSON *object = cJSON_CreateObject ();
  cJSON *dims = cJSON_CreateArray (), *values = cJSON_CreateArray ();
  gsize esize = gst_sf_tensor_type_size (info->type);
  guint64 i, n = gst_sf_tensor_info_numel (info);

  for (i = 0; i < info->ndim; i++)
    cJSON_AddItemToArray (dims, cJSON_CreateNumber ((double)info->dims[i]));
  for (i = 0; i < n; i++) {
    guint8 tmp[8];

    /* Memory from elsewhere may not be aligned for the element type. */
    memcpy (tmp, data + i * esize, esize);
    cJSON_AddItemToArray (
        values, sf_json_number (element_to_double (tmp, info->type)));
  }
  cJSON_AddStringToObject (
      object, "type", gst_sf_tensor_type_name (info->type));
  cJSON_AddItemToObject (object, "dims", dims);
  cJSON_AddItemToObject (object, "data", values);
  return object;
}

/* FALSE when the buffer does not hold the tensors its caps describe. */
static gboolean
add_tensors (const GstSfTensorsInfo *info, cJSON *object, GstBuffer *buffer)
{
  cJSON *list;
  GstMapInfo map;
  gsize offset = 0, total = 0;
  guint i;

  for (i = 0; i < info->num_tensors; i++)
    total += gst_sf_tensor_info_nbytes (&info->tensors[i]);
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return FALSE;
  if (map.size < total) {
    gst_buffer_unmap (buffer, &map);
    return FALSE;
  }

  list = cJSON_AddArrayToObject (object, "tensors");
  for (i = 0; i < info->num_tensors; i++) {
    cJSON_AddItemToArray (
        list, tensor_to_json (&info->tensors[i], map.data + offset));
    offset += gst_sf_tensor_info_nbytes (&info->tensors[i]);
  }
  gst_buffer_unmap (buffer, &map);
  return TRUE;
}

static void
add_text (cJSON *object, GstBuffer *buffer)
{
  GstMapInfo map;
  gsize len;
  gchar *text;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return;
  len = map.size;
  while (len > 0 && (map.data[len - 1] == '\n' || map.data[len - 1] == '\r'))
    len--;
  text = g_utf8_make_valid ((const gchar *)map.data, len);
  gst_buffer_unmap (buffer, &map);
  cJSON_AddStringToObject (object, "text", text);
  g_free (text);
}

void
gst_sf_json_format_init (GstSfJsonFormat *format)
{
  format->mode = GST_SF_JSON_MODE_OTHER;
  gst_sf_tensors_info_init (&format->info);
}

void
gst_sf_json_format_set_caps (GstSfJsonFormat *format, GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);

  if (gst_structure_has_name (s, GST_SF_TENSORS_MIME)
      && gst_sf_tensors_info_from_caps (&format->info, caps))
    format->mode = GST_SF_JSON_MODE_TENSORS;
  else if (g_str_has_prefix (gst_structure_get_name (s), "text/"))
    format->mode = GST_SF_JSON_MODE_TEXT;
  else
    format->mode = GST_SF_JSON_MODE_OTHER;
}

/* (transfer full) @object printed on one line, then deleted. */
static gchar *
print_object (cJSON *object, GError **error)
{
  gchar *printed, *line;

  printed = cJSON_PrintUnformatted (object);
  cJSON_Delete (object);
  if (printed == NULL) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
        "could not format the JSON object");
    return NULL;
  }
  line = g_strdup (printed);
  cJSON_free (printed);
  return line;
}

gchar *
gst_sf_json_format_result (const GstStructure *result, GstClockTime pts,
    GstClockTime duration, GError **error)
{
  cJSON *object = cJSON_CreateObject ();

  add_time (object, "pts", pts);
  add_time (object, "duration", duration);
  add_fields (object, result, TRUE);
  return print_object (object, error);
}

gchar *
gst_sf_json_format_buffer (
    const GstSfJsonFormat *format, GstBuffer *buffer, GError **error)
{
  GstSfResultMeta *result = gst_buffer_get_sf_result_meta (buffer);
  GstSfTensorMeta *tmeta = gst_buffer_get_sf_tensor_meta (buffer);
  cJSON *object;

  if (result != NULL && result->result != NULL)
    return gst_sf_json_format_result (result->result, GST_BUFFER_PTS (buffer),
        GST_BUFFER_DURATION (buffer), error);

  object = cJSON_CreateObject ();
  add_time (object, "pts", GST_BUFFER_PTS (buffer));
  add_time (object, "duration", GST_BUFFER_DURATION (buffer));
  if (format->mode == GST_SF_JSON_MODE_TENSORS) {
    if (!add_tensors (&format->info, object, buffer)) {
      cJSON_Delete (object);
      g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT,
          "buffer of %" G_GSIZE_FORMAT " bytes does not match its tensor caps",
          gst_buffer_get_size (buffer));
      return NULL;
    }
    if (tmeta != NULL && tmeta->text != NULL)
      cJSON_AddStringToObject (object, "text", tmeta->text);
  } else if (format->mode == GST_SF_JSON_MODE_TEXT) {
    add_text (object, buffer);
  } else {
    cJSON_AddNumberToObject (
        object, "size", (double)gst_buffer_get_size (buffer));
  }
  return print_object (object, error);
}
