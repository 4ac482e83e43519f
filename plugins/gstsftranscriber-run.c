/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftranscriber's windows (see
 * gstsftranscriber-private.h): each buffer's window is decoded with the
 * options the properties set, and the text that became final is pushed,
 * one buffer, result meta and element message per piece. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftranscriber-private.h"

#define GST_CAT_DEFAULT gst_sf_transcriber_debug

/* Sends the text caps, then a segment that waited for them. */
gboolean
gst_sf_transcriber_push_caps (GstSfTranscriber *self)
{
  GstCaps *caps = gst_pad_get_pad_template_caps (self->src.pad);
  gboolean ok = gst_sf_src_push_caps (&self->src, caps);

  gst_caps_unref (caps);
  return ok;
}

/* Pushes one piece of text as a buffer, a result meta and a message. */
static GstFlowReturn
gst_sf_transcriber_emit (
    GstSfTranscriber *self, double start, double end, const char *text)
{
  GstClockTime pts = (GstClockTime)(MAX (start, 0.0) * GST_SECOND + 0.5);
  GstClockTime duration =
      (GstClockTime)(MAX (end - MAX (start, 0.0), 0.0) * GST_SECOND + 0.5);
  GstStructure *result;
  GstBuffer *buffer;
  gchar *line;
  gsize len;

  if (!gst_sf_transcriber_push_caps (self))
    return gst_sf_src_caps_failure (&self->src);
  /* pts never go back, even for a segment that starts early */
  if (GST_CLOCK_TIME_IS_VALID (self->last_pts) && pts < self->last_pts)
    pts = self->last_pts;
  self->last_pts = pts;

  result = gst_structure_new ("sftranscriber", "pts", G_TYPE_UINT64, pts,
      "duration", G_TYPE_UINT64, duration, "start", G_TYPE_DOUBLE, start, "end",
      G_TYPE_DOUBLE, end, "text", G_TYPE_STRING, text, NULL);
  line = g_strdup_printf ("%s\n", text);
  len = strlen (line);
  buffer = gst_buffer_new_wrapped (line, len);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = duration;
  gst_sf_element_post_result (GST_ELEMENT_CAST (self), buffer, result);
  GST_DEBUG_OBJECT (self, "%.2f–%.2f s: %s", start, end, text);
  return gst_pad_push (self->src.pad, buffer);
}

/* Pushes the buffers of the decoder's output, in order. */
GstFlowReturn
gst_sf_transcriber_emit_pieces (GstSfTranscriber *self, GArray *pieces)
{
  GstFlowReturn ret = GST_FLOW_OK;

  for (guint i = 0; i < pieces->len && ret == GST_FLOW_OK; i++) {
    const SfTranscriptPiece *p = &g_array_index (pieces, SfTranscriptPiece, i);

    ret = gst_sf_transcriber_emit (self, p->start, p->end, p->text);
  }
  return ret;
}

/* Whisper's options from the properties; @language is freed by the
 * caller. */
static void
gst_sf_transcriber_whisper_options (
    GstSfTranscriber *self, SfWhisperOptions *opts, gchar **language)
{
  SfModel *model = sf_task_model (self->dec.task);

  GST_OBJECT_LOCK (self);
  opts->max_new_tokens = self->max_new_tokens;
  opts->timestamps = self->timestamps && sf_whisper_has_timestamps (model);
  *language = g_strdup (self->language);
  GST_OBJECT_UNLOCK (self);
  opts->language = *language;
}

GstFlowReturn
gst_sf_transcriber_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (parent);
  const GstSfTensorInfo *t = &self->in_info.tensors[0];
  SfModel *model = gst_sf_buffer_get_model (buffer);
  GError *error = NULL;
  GArray *out;
  SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
  gchar *language = NULL;
  GstMapInfo map;
  gint64 inner, rows;
  double start, duration;
  GstClockTime began;
  gboolean ok;
  GstFlowReturn ret;

  if (model == NULL)
    goto no_model;
  if (!gst_sf_transcriber_use_model (self, model)) {
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  if (self->in_info.num_tensors != 1 || t->ndim < 2)
    goto bad_shape;
  /* [1, T, inner] */
  inner = (gint64)t->dims[0];
  rows = (gint64)t->dims[1];
  if (inner < 1 || rows < 1 || gst_sf_tensor_info_numel (t) != inner * rows)
    goto bad_shape;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    goto map_failed;
  if (map.size < (gsize)(inner * rows) * sizeof (float)) {
    gst_buffer_unmap (buffer, &map);
    goto bad_shape;
  }

  /* window times in seconds; without timestamps, windows are counted */
  duration = GST_BUFFER_DURATION_IS_VALID (buffer)
      ? (double)GST_BUFFER_DURATION (buffer) / GST_SECOND
      : (self->hop > 0 ? self->hop : 1.0);
  start = GST_BUFFER_PTS_IS_VALID (buffer)
      ? (double)GST_BUFFER_PTS (buffer) / GST_SECOND
      : self->n_windows * (self->hop > 0 ? self->hop : duration);
  self->n_windows++;

  gst_sf_transcriber_whisper_options (self, &opts, &language);
  out = sf_transcript_piece_array_new ();
  began = gst_util_get_timestamp ();
  ok = gst_sf_transcriber_decoder_window (&self->dec, &opts,
      (const float *)map.data, rows, inner, start, duration, self->hop, out,
      &error);
  gst_sf_latency_record (
      &self->latency, GST_ELEMENT (self), gst_util_get_timestamp () - began);
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);
  g_free (language);
  if (!ok && error == NULL && self->dec.flushed) {
    g_array_unref (out);
    return GST_FLOW_FLUSHING;
  }
  if (!ok)
    goto failed;
  ret = gst_sf_transcriber_emit_pieces (self, out);
  g_array_unref (out);
  return ret;

no_model:
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sftranscriber needs tensors from sfaudioencoder."),
      ("the buffer carries no model meta"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
bad_shape : {
  gchar *dims = gst_sf_tensor_info_dims_string (t);

  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sftranscriber needs one window of frames per buffer (dimensions "
       "\"inner:T:1\"), got \"%s\".",
          dims),
      (NULL));
  g_free (dims);
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
map_failed:
  GST_ELEMENT_ERROR (
      self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
failed:
  GST_ELEMENT_ERROR (self, STREAM, DECODE,
      ("Could not transcribe with model \"%s\": %s",
          sf_model_name (sf_task_model (self->dec.task)), error->message),
      (NULL));
  g_error_free (error);
  g_array_unref (out);
  return GST_FLOW_ERROR;
}
