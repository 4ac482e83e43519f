/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfaudioencoder's input caps. The sink pad offers
 * the model's rate, so that audioresample converts to it, takes F32 or
 * S16 mono at that rate, and says in an element error why any other
 * audio cannot be taken, rather than a bare "not-negotiated". */
#include "gstsfaudioencoder-private.h"

#define GST_CAT_DEFAULT gst_sf_audio_encoder_debug

/* Posts, once per refused format, why audio @caps that the model cannot
 * take fail to negotiate: without it the source would only say
 * "not-negotiated". Fields that are not fixed are left out. */
static void
explain_caps (GstSfAudioEncoder *self, GstCaps *caps)
{
  g_autoptr (GString) got = g_string_new (NULL);
  GstStructure *s;
  const gchar *format;
  gint rate = 0, channels = 0;
  gboolean posted;

  if (self->task == NULL || caps == NULL || gst_caps_is_empty (caps)
      || gst_caps_is_any (caps))
    return;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, "audio/x-raw"))
    return;
  format = gst_structure_get_string (s, "format");
  gst_structure_get_int (s, "rate", &rate);
  gst_structure_get_int (s, "channels", &channels);
  GST_OBJECT_LOCK (self);
  posted = self->refused_rate == rate && self->refused_channels == channels;
  self->refused_rate = rate;
  self->refused_channels = channels;
  GST_OBJECT_UNLOCK (self);
  if (posted)
    return;
  if (format != NULL)
    g_string_append_printf (got, " %s", format);
  if (channels == 1)
    g_string_append (got, " mono");
  else if (channels > 1)
    g_string_append_printf (got, " with %d channels", channels);
  if (rate > 0)
    g_string_append_printf (got, " at %d Hz", rate);
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("sfaudioencoder needs %d Hz mono F32 or S16 audio for model \"%s\", "
       "got audio%s; add audioconvert ! audioresample before it.",
          self->windows.rate, sf_model_name (sf_task_model (self->task)),
          got->str),
      ("the rate comes from the model's preprocessor_config.json; caps "
       "%" GST_PTR_FORMAT,
          caps));
}

/* Accepts F32LE or S16LE mono at the model's rate and sends the output
 * caps, which follow from the model. A format change keeps the queued
 * audio (it is held as F32); another rate is refused. */
gboolean
gst_sf_audio_encoder_set_caps (GstSfAudioEncoder *self, GstCaps *caps)
{
  GstAudioInfo info;

  if (self->task == NULL)
    return FALSE;
  if (!gst_audio_info_from_caps (&info, caps))
    goto bad_caps;
  if (GST_AUDIO_INFO_RATE (&info) != self->windows.rate
      || GST_AUDIO_INFO_CHANNELS (&info) != 1)
    goto wrong_rate;
  if (!gst_sf_audio_windows_set_format (&self->windows, &info))
    goto bad_caps;
  self->have_format = TRUE;
  self->info = info;
  GST_DEBUG_OBJECT (self, "input %s at %d Hz", GST_AUDIO_INFO_NAME (&info),
      GST_AUDIO_INFO_RATE (&info));
  if (!gst_sf_src_push_caps (&self->src, self->caps)) {
    if (gst_sf_src_caps_failure (&self->src) == GST_FLOW_NOT_NEGOTIATED)
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
          ("downstream did not accept the tensor caps"));
    return FALSE;
  }
  return TRUE;

bad_caps:
  self->have_format = FALSE;
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("unsupported input caps %" GST_PTR_FORMAT, caps));
  return FALSE;
wrong_rate:
  self->have_format = FALSE;
  explain_caps (self, caps);
  return FALSE;
}

gboolean
gst_sf_audio_encoder_sink_query (
    GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);
  g_autoptr (SfTask) task = NULL;
  GstCaps *caps, *filter;
  gboolean ok;

  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    /* the caps a source is about to send: refused, they get the error */
    ok = gst_pad_query_default (pad, parent, query);
    gst_query_parse_accept_caps (query, &caps);
    gst_query_parse_accept_caps_result (query, &ok);
    if (!ok)
      explain_caps (self, caps);
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) != GST_QUERY_CAPS)
    return gst_pad_query_default (pad, parent, query);
  /* the model's rate, so that audioresample converts to it */
  caps = gst_pad_get_pad_template_caps (pad);
  task = gst_sf_element_get_task (GST_ELEMENT (self), &self->task);
  if (task != NULL) {
    caps = gst_caps_make_writable (caps);
    gst_caps_set_simple (
        caps, "rate", G_TYPE_INT, sf_task_audio_rate (task), NULL);
  }
  /* upstream can give only @filter (a capsfilter, a decoder, a converter
   * that cannot change the rate): the model cannot take it, so
   * negotiation ends here */
  gst_query_parse_caps (query, &filter);
  if (filter != NULL && !gst_caps_can_intersect (filter, caps))
    explain_caps (self, filter);
  return gst_sf_element_answer_caps (query, caps);
}
