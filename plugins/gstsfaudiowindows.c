/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: cutting a mono audio stream into windows
 * (gstsfaudiowindows.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "gstsfaudiowindows.h"

GST_DEBUG_CATEGORY_EXTERN (gst_sf_audio_encoder_debug);
#define GST_CAT_DEFAULT gst_sf_audio_encoder_debug

/* Input timestamps that disagree with the sample count by more than this
 * mean a gap or a resync upstream. */
#define RESYNC_THRESHOLD (40 * GST_MSECOND)

void
gst_sf_audio_windows_init (
    GstSfAudioWindows *w, gint rate, gsize window, gsize hop)
{
  memset (w, 0, sizeof (*w));
  w->adapter = gst_adapter_new ();
  w->rate = rate;
  w->window = window;
  w->hop = hop;
}

void
gst_sf_audio_windows_clear (GstSfAudioWindows *w)
{
  if (w->mapped > 0)
    gst_adapter_unmap (w->adapter);
  g_clear_object (&w->adapter);
  g_clear_pointer (&w->convert, gst_audio_converter_free);
  w->mapped = 0;
}

void
gst_sf_audio_windows_reset (GstSfAudioWindows *w)
{
  if (w->mapped > 0)
    gst_adapter_unmap (w->adapter);
  w->mapped = 0;
  gst_adapter_clear (w->adapter);
  w->base = w->received = w->next = w->covered = w->number = 0;
  w->tail = FALSE;
  w->pts0 = 0;
  w->have_pts0 = FALSE;
}

gboolean
gst_sf_audio_windows_set_format (GstSfAudioWindows *w, const GstAudioInfo *info)
{
  GstAudioInfo f32;

  g_clear_pointer (&w->convert, gst_audio_converter_free);
  w->bpf = GST_AUDIO_INFO_BPF (info);
  if (GST_AUDIO_INFO_FORMAT (info) == GST_AUDIO_FORMAT_F32)
    return TRUE; /* native F32: queued as it comes */
  gst_audio_info_set_format (&f32, GST_AUDIO_FORMAT_F32,
      GST_AUDIO_INFO_RATE (info), GST_AUDIO_INFO_CHANNELS (info), NULL);
  w->convert = gst_audio_converter_new (0, (GstAudioInfo *)info, &f32, NULL);
  return w->convert != NULL;
}

/* The first timestamp fixes the time of sample 0; later ones move it when
 * they disagree with the sample count. */
static void
track_pts (GstSfAudioWindows *w, GstClockTime pts)
{
  GstClockTimeDiff at, expected;

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return;
  at = (GstClockTimeDiff)gst_util_uint64_scale_int (
      w->received, GST_SECOND, w->rate);
  expected = w->pts0 + at;
  if (w->have_pts0
      && ABS ((GstClockTimeDiff)pts - expected) <= RESYNC_THRESHOLD)
    return;
  if (w->have_pts0)
    GST_DEBUG ("timestamp %" GST_TIME_FORMAT " is %" GST_STIME_FORMAT
               " off the sample count; resyncing",
        GST_TIME_ARGS (pts), GST_STIME_ARGS ((GstClockTimeDiff)pts - expected));
  w->pts0 = (GstClockTimeDiff)pts - at;
  w->have_pts0 = TRUE;
}

gboolean
gst_sf_audio_windows_push (GstSfAudioWindows *w, GstBuffer *buffer)
{
  gsize frames = gst_buffer_get_size (buffer) / MAX (w->bpf, 1);
  GstMapInfo in, out;
  GstBuffer *f32;
  gboolean ok;

  if (frames == 0 || w->bpf == 0) {
    gst_buffer_unref (buffer);
    return w->bpf != 0;
  }
  if (!gst_buffer_map (buffer, &in, GST_MAP_READ)) {
    gst_buffer_unref (buffer);
    return FALSE;
  }
  track_pts (w, GST_BUFFER_PTS (buffer));
  w->received += frames;
  /* Windows are read from the adapter in place: whole, aligned floats. */
  if (w->convert == NULL && in.size == frames * sizeof (float)
      && ((guintptr)in.data % G_ALIGNOF (float)) == 0) {
    gst_buffer_unmap (buffer, &in);
    gst_adapter_push (w->adapter, buffer);
    return TRUE;
  }
  f32 = gst_buffer_new_allocate (NULL, frames * sizeof (float), NULL);
  gst_buffer_map (f32, &out, GST_MAP_WRITE);
  if (w->convert != NULL) {
    gpointer src[1] = { in.data }, dst[1] = { out.data };

    ok = gst_audio_converter_samples (w->convert, 0, src, frames, dst, frames);
  } else {
    memcpy (out.data, in.data, frames * sizeof (float));
    ok = TRUE;
  }
  gst_buffer_unmap (f32, &out);
  gst_buffer_unmap (buffer, &in);
  gst_buffer_unref (buffer);
  if (!ok) {
    gst_buffer_unref (f32);
    return FALSE;
  }
  gst_adapter_push (w->adapter, f32);
  return TRUE;
}

/* Drops queued samples before the next window (hops above the window). */
static void
discard (GstSfAudioWindows *w)
{
  gsize avail = gst_adapter_available (w->adapter) / sizeof (float);
  gsize drop;

  if (w->next <= w->base)
    return;
  drop = (gsize)MIN (w->next - w->base, (guint64)avail);
  gst_adapter_flush (w->adapter, drop * sizeof (float));
  w->base += drop;
}

static gboolean
all_finite (const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    if (!isfinite (x[i]))
      return FALSE;
  }
  return TRUE;
}

guint
gst_sf_audio_windows_take (
    GstSfAudioWindows *w, GstSfAudioWindow *out, guint max, gboolean eos)
{
  gsize avail, span;
  const float *data;
  guint k = 0;

  g_return_val_if_fail (w->mapped == 0, 0);
  discard (w);
  if (w->next != w->base)
    return 0; /* still in the gap before the next window */
  avail = gst_adapter_available (w->adapter) / sizeof (float);
  while (k < max && k * w->hop + w->window <= avail)
    k++;
  w->tail = FALSE;
  if (k > 0) {
    span = (k - 1) * w->hop + w->window;
  } else if (eos && avail > 0 && w->base + avail > w->covered) {
    span = avail;
    k = 1;
    w->tail = TRUE;
  } else {
    return 0;
  }
  data = (const float *)gst_adapter_map (w->adapter, span * sizeof (float));
  if (data == NULL)
    return 0;
  w->mapped = span * sizeof (float);
  for (guint i = 0; i < k; i++) {
    out[i].number = w->number + i;
    out[i].start = w->next + i * w->hop;
    out[i].samples = data + i * w->hop;
    out[i].n = w->tail ? span : w->window;
    out[i].finite = all_finite (out[i].samples, out[i].n);
  }
  return k;
}

void
gst_sf_audio_windows_release (GstSfAudioWindows *w, guint n)
{
  if (w->mapped == 0 || n == 0)
    return;
  gst_adapter_unmap (w->adapter);
  w->mapped = 0;
  w->number += n;
  if (w->tail) {
    w->covered = w->next =
        w->base + gst_adapter_available (w->adapter) / sizeof (float);
  } else {
    w->covered = w->next + (n - 1) * w->hop + w->window;
    w->next += n * w->hop;
  }
  discard (w);
}

GstClockTime
gst_sf_audio_windows_time (const GstSfAudioWindows *w, guint64 sample)
{
  GstClockTimeDiff t = w->pts0
      + (GstClockTimeDiff)gst_util_uint64_scale_int (
          sample, GST_SECOND, w->rate);

  return t < 0 ? 0 : (GstClockTime)t;
}

GstClockTime
gst_sf_audio_windows_duration (const GstSfAudioWindows *w, gsize samples)
{
  return gst_util_uint64_scale_int (samples, GST_SECOND, w->rate);
}
