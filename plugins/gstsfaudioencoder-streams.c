/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfaudioencoder keeping the streams a funnel
 * interleaves apart. Each stream-start makes that stream's windows the
 * current ones; the others wait, parked by stream id, so that no window
 * holds the audio of two streams. */
#include "gstsfaudioencoder-private.h"

#define GST_CAT_DEFAULT gst_sf_audio_encoder_debug

/* A stream's windows while another stream is current. */
typedef struct
{
  GstSfAudioWindows windows;
  GstEvent *start; /* pushed again before its last windows */
} ParkedWindows;

static void
parked_windows_free (gpointer data)
{
  ParkedWindows *parked = data;

  gst_sf_audio_windows_clear (&parked->windows);
  gst_clear_event (&parked->start);
  g_free (parked);
}

void
gst_sf_audio_encoder_streams_init (GstSfAudioEncoder *self)
{
  self->parked = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, parked_windows_free);
}

void
gst_sf_audio_encoder_streams_reset (GstSfAudioEncoder *self)
{
  g_hash_table_remove_all (self->parked);
  g_clear_pointer (&self->stream_id, g_free);
  gst_clear_event (&self->stream_start);
}

void
gst_sf_audio_encoder_streams_clear (GstSfAudioEncoder *self)
{
  gst_sf_audio_encoder_streams_reset (self);
  g_clear_pointer (&self->parked, g_hash_table_unref);
}

void
gst_sf_audio_encoder_switch_stream (GstSfAudioEncoder *self, GstEvent *event)
{
  GstSfAudioWindows *w = &self->windows;
  const gchar *id = NULL;
  gpointer key, value;

  gst_event_parse_stream_start (event, &id);
  if (id == NULL)
    id = "";
  if (self->task == NULL || g_strcmp0 (id, self->stream_id) == 0)
    goto done;

  if (self->stream_id != NULL && w->received > 0) {
    ParkedWindows *parked = g_new0 (ParkedWindows, 1);

    parked->windows = *w; /* takes its adapter and converter */
    parked->start = g_steal_pointer (&self->stream_start);
    g_hash_table_replace (self->parked, g_strdup (self->stream_id), parked);
    GST_DEBUG_OBJECT (self, "parked stream %s", self->stream_id);
    gst_sf_audio_windows_init (
        w, parked->windows.rate, parked->windows.window, parked->windows.hop);
    if (self->have_format)
      gst_sf_audio_windows_set_format (w, &self->info);
  } else {
    gst_sf_audio_windows_reset (w);
  }
  if (g_hash_table_steal_extended (self->parked, id, &key, &value)) {
    ParkedWindows *parked = value;

    GST_DEBUG_OBJECT (self, "stream %s continues", id);
    gst_sf_audio_windows_clear (w);
    *w = parked->windows;
    gst_clear_event (&parked->start);
    g_free (parked);
    g_free (key);
  }
  g_free (self->stream_id);
  self->stream_id = g_strdup (id);

done:
  gst_event_replace (&self->stream_start, event);
}

GstFlowReturn
gst_sf_audio_encoder_finish_parked (GstSfAudioEncoder *self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstSfAudioWindows current;
  GHashTableIter iter;
  gpointer value;

  if (g_hash_table_size (self->parked) == 0)
    return GST_FLOW_OK;
  current = self->windows;
  g_hash_table_iter_init (&iter, self->parked);
  while (ret == GST_FLOW_OK && g_hash_table_iter_next (&iter, NULL, &value)) {
    ParkedWindows *parked = value;

    if (parked->start != NULL)
      gst_pad_push_event (self->src.pad, gst_event_ref (parked->start));
    /* runs on the parked windows in place of the current ones */
    self->windows = parked->windows;
    self->discont = TRUE;
    ret = gst_sf_audio_encoder_process (self, TRUE);
    parked->windows = self->windows;
  }
  self->windows = current;
  self->discont = TRUE;
  g_hash_table_remove_all (self->parked);
  if (self->stream_start != NULL)
    gst_pad_push_event (self->src.pad, gst_event_ref (self->stream_start));
  return ret;
}
