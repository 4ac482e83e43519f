/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfjsonsink
 * @title: sfjsonsink
 *
 * Writes one JSON object per buffer, one per line (JSON Lines), to a file
 * or to standard output. Times are in seconds, or null when unknown.
 *
 * - A buffer with a task element's result (GstSfResultMeta) gives
 *   `{"pts": …, "duration": …, "labels": […], "scores": […], "text": "…"}`:
 *   pts and duration, then every field of the result.
 * - Tensors without a result (embeddings) give
 *   `{"pts": …, "duration": …, "tensor": {"type": "float32", "dims": […],
 *   "data": […]}, "text": "…"}`, with dims innermost first as in the caps
 *   and the values in memory order; several tensors go into "tensors".
 * - Text gives `{"pts": …, "duration": …, "text": "…"}`.
 * - Anything else gives its size in bytes.
 *
 * Each line is flushed as soon as it is written.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=sentences.txt ! sftextencoder model=./all-MiniLM-L6-v2 ! sfjsonsink location=embeddings.jsonl
 * ]| Writes the sentence embedding of each line of sentences.txt.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/tensor.h"
#include "gstsfelement.h"
#include "gstsfjsonsink.h"
#include "gstsftensors.h"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

GST_DEBUG_CATEGORY_STATIC (gst_sf_json_sink_debug);
#define GST_CAT_DEFAULT gst_sf_json_sink_debug

#define DEFAULT_LOCATION NULL

enum
{
  PROP_0,
  PROP_LOCATION,
};

typedef enum
{
  MODE_OTHER,
  MODE_TEXT,
  MODE_TENSORS,
} SinkMode;

struct _GstSfJsonSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *location;

  /* between start() and stop() */
  FILE *file;
  gboolean own_file;
  gchar *cur_location;
  SinkMode mode;
  GstSfTensorsInfo info;
};

#define gst_sf_json_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfJsonSink, gst_sf_json_sink, GST_TYPE_BASE_SINK,
    GST_DEBUG_CATEGORY_INIT (gst_sf_json_sink_debug, "sfjsonsink", 0,
        "Streamformer JSON lines sink"));
GST_ELEMENT_REGISTER_DEFINE (
    sfjsonsink, "sfjsonsink", GST_RANK_NONE, GST_TYPE_SF_JSON_SINK);

static void gst_sf_json_sink_finalize (GObject *object);
static void gst_sf_json_sink_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sf_json_sink_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static gboolean gst_sf_json_sink_start (GstBaseSink *sink);
static gboolean gst_sf_json_sink_stop (GstBaseSink *sink);
static gboolean gst_sf_json_sink_set_caps (GstBaseSink *sink, GstCaps *caps);
static GstFlowReturn gst_sf_json_sink_render (
    GstBaseSink *sink, GstBuffer *buffer);

static void
gst_sf_json_sink_class_init (GstSfJsonSinkClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *sink_class = GST_BASE_SINK_CLASS (klass);

  gobject_class->finalize = gst_sf_json_sink_finalize;
  gobject_class->set_property = gst_sf_json_sink_set_property;
  gobject_class->get_property = gst_sf_json_sink_get_property;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "File to write the JSON lines to (NULL = standard output); an "
          "existing file is overwritten",
          DEFAULT_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (element_class,
      "Streamformer JSON sink", "Sink/File",
      "Writes each result (labels and scores), tensor or text as one JSON "
      "object per line, with its timestamps in seconds",
      "Streamformer contributors");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 filesrc location=sentences.txt ! sftextencoder "
      "model=sentence-transformers/all-MiniLM-L6-v2 ! sfjsonsink "
      "location=embeddings.jsonl");
  gst_element_class_add_static_pad_template (element_class, &sink_template);

  sink_class->start = GST_DEBUG_FUNCPTR (gst_sf_json_sink_start);
  sink_class->stop = GST_DEBUG_FUNCPTR (gst_sf_json_sink_stop);
  sink_class->set_caps = GST_DEBUG_FUNCPTR (gst_sf_json_sink_set_caps);
  sink_class->render = GST_DEBUG_FUNCPTR (gst_sf_json_sink_render);
}

static void
gst_sf_json_sink_init (GstSfJsonSink *self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  /* A file writer: results are written as fast as they come. */
  gst_base_sink_set_sync (GST_BASE_SINK (self), FALSE);
}

static void
gst_sf_json_sink_finalize (GObject *object)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (object);

  g_free (self->location);
  g_free (self->cur_location);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_json_sink_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_json_sink_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION: g_value_set_string (value, self->location); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_sf_json_sink_start (GstBaseSink *sink)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (sink);

  GST_OBJECT_LOCK (self);
  g_free (self->cur_location);
  self->cur_location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);

  self->mode = MODE_OTHER;
  gst_sf_tensors_info_init (&self->info);

  if (self->cur_location == NULL || *self->cur_location == '\0') {
    self->file = stdout;
    self->own_file = FALSE;
    return TRUE;
  }

  self->file = fopen (self->cur_location, "w");
  if (self->file == NULL)
    goto open_failed;
  self->own_file = TRUE;
  return TRUE;

open_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
      ("Could not open file \"%s\" for writing.", self->cur_location),
      GST_ERROR_SYSTEM);
  return FALSE;
}
}

static gboolean
gst_sf_json_sink_stop (GstBaseSink *sink)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (sink);
  gboolean ok = TRUE;

  if (self->file != NULL && self->own_file) {
    if (fclose (self->file) != 0) {
      GST_ELEMENT_ERROR (self, RESOURCE, CLOSE,
          ("Error closing file \"%s\".", self->cur_location), GST_ERROR_SYSTEM);
      ok = FALSE;
    }
  } else if (self->file != NULL) {
    fflush (self->file);
  }
  self->file = NULL;
  self->own_file = FALSE;
  return ok;
}

static gboolean
gst_sf_json_sink_set_caps (GstBaseSink *sink, GstCaps *caps)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (sink);
  const GstStructure *s = gst_caps_get_structure (caps, 0);

  if (gst_structure_has_name (s, GST_SF_TENSORS_MIME)
      && gst_sf_tensors_info_from_caps (&self->info, caps))
    self->mode = MODE_TENSORS;
  else if (g_str_has_prefix (gst_structure_get_name (s), "text/"))
    self->mode = MODE_TEXT;
  else
    self->mode = MODE_OTHER;

  GST_DEBUG_OBJECT (
      self, "mode %d for caps %" GST_PTR_FORMAT, self->mode, caps);
  return TRUE;
}

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
    return cJSON_CreateNumber (g_value_get_float (value));
  if (type == G_TYPE_DOUBLE)
    return cJSON_CreateNumber (g_value_get_double (value));
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
        values, cJSON_CreateNumber (element_to_double (tmp, info->type)));
  }
  cJSON_AddStringToObject (
      object, "type", gst_sf_tensor_type_name (info->type));
  cJSON_AddItemToObject (object, "dims", dims);
  cJSON_AddItemToObject (object, "data", values);
  return object;
}

/* FALSE when the buffer does not hold the tensors its caps describe. */
static gboolean
add_tensors (GstSfJsonSink *self, cJSON *object, GstBuffer *buffer)
{
  const GstSfTensorsInfo *info = &self->info;
  cJSON *list = NULL;
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

  if (info->num_tensors > 1)
    list = cJSON_CreateArray ();
  for (i = 0; i < info->num_tensors; i++) {
    cJSON *tensor = tensor_to_json (&info->tensors[i], map.data + offset);

    offset += gst_sf_tensor_info_nbytes (&info->tensors[i]);
    if (list != NULL)
      cJSON_AddItemToArray (list, tensor);
    else
      cJSON_AddItemToObject (object, "tensor", tensor);
  }
  if (list != NULL)
    cJSON_AddItemToObject (object, "tensors", list);
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

static GstFlowReturn
gst_sf_json_sink_render (GstBaseSink *sink, GstBuffer *buffer)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (sink);
  GstSfResultMeta *result = gst_buffer_get_sf_result_meta (buffer);
  GstSfTensorMeta *tmeta = gst_buffer_get_sf_tensor_meta (buffer);
  cJSON *object;
  gchar *line;
  int rc;

  object = cJSON_CreateObject ();
  add_time (object, "pts", GST_BUFFER_PTS (buffer));
  add_time (object, "duration", GST_BUFFER_DURATION (buffer));

  if (result != NULL && result->result != NULL) {
    add_fields (object, result->result, TRUE);
  } else if (self->mode == MODE_TENSORS) {
    if (!add_tensors (self, object, buffer))
      goto bad_tensors;
    if (tmeta != NULL && tmeta->text != NULL)
      cJSON_AddStringToObject (object, "text", tmeta->text);
  } else if (self->mode == MODE_TEXT) {
    add_text (object, buffer);
  } else {
    cJSON_AddNumberToObject (
        object, "size", (double)gst_buffer_get_size (buffer));
  }

  line = cJSON_PrintUnformatted (object);
  cJSON_Delete (object);
  if (line == NULL)
    goto no_memory;
  rc = fprintf (self->file, "%s\n", line);
  cJSON_free (line);
  if (rc < 0 || fflush (self->file) != 0)
    goto write_failed;
  return GST_FLOW_OK;

bad_tensors : {
  cJSON_Delete (object);
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("buffer of %" G_GSIZE_FORMAT " bytes does not match its tensor caps",
          gst_buffer_get_size (buffer)));
  return GST_FLOW_ERROR;
}
no_memory : {
  GST_ELEMENT_ERROR (
      self, RESOURCE, WRITE, (NULL), ("could not format the JSON line"));
  return GST_FLOW_ERROR;
}
write_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
      ("Could not write to file \"%s\".",
          self->cur_location ? self->cur_location : "stdout"),
      GST_ERROR_SYSTEM);
  return GST_FLOW_ERROR;
}
}
