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
 *   `{"pts": …, "duration": …, "tensors": [{"type": "float32", "dims": […],
 *   "data": […]}], "text": "…"}`: one object per tensor, with dims
 *   innermost first as in the caps and the values in memory order. The
 *   `streamformer run --json` CLI uses the same "tensors" key.
 * - Scores, fractions and tensor values carry 6 significant digits.
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

#include <stdio.h>

#include "gstsfelement.h"
#include "gstsfjson.h"
#include "gstsfjsonsink.h"

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

struct _GstSfJsonSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *location;

  /* between start() and stop() */
  FILE *file;
  gboolean own_file;
  gchar *cur_location;
  GstSfJsonFormat format;
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

  gst_sf_json_format_init (&self->format);

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

  gst_sf_json_format_set_caps (&self->format, caps);
  GST_DEBUG_OBJECT (
      self, "mode %d for caps %" GST_PTR_FORMAT, self->format.mode, caps);
  return TRUE;
}

static GstFlowReturn
gst_sf_json_sink_render (GstBaseSink *sink, GstBuffer *buffer)
{
  GstSfJsonSink *self = GST_SF_JSON_SINK (sink);
  GError *error = NULL;
  gchar *line;
  int rc;

  line = gst_sf_json_format_buffer (&self->format, buffer, &error);
  if (line == NULL)
    goto bad_buffer;
  rc = fprintf (self->file, "%s\n", line);
  g_free (line);
  if (rc < 0 || fflush (self->file) != 0)
    goto write_failed;
  return GST_FLOW_OK;

bad_buffer : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL), ("%s", error->message));
  g_error_free (error);
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
