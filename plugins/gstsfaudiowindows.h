/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: cutting a mono audio stream into windows.
 *
 * Private to the plugin (sfaudioencoder's bookkeeping). Input buffers are
 * converted once to native F32 and queued in a GstAdapter; a window of
 * `window` samples starts every `hop` samples and is read from the
 * adapter in place. Samples are numbered from the start of the stream;
 * their times follow the input timestamps.
 */
#pragma once

#include <gst/audio/audio.h>
#include <gst/base/gstadapter.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 number;       /* 0, 1, … in the stream, skipped ones included */
  guint64 start;        /* stream sample of its first sample */
  const float *samples; /* valid until gst_sf_audio_windows_release() */
  gsize n;              /* samples; below `window` for the tail at EOS */
  gboolean finite;      /* FALSE when a sample is NaN or infinite */
} GstSfAudioWindow;

typedef struct
{
  GstAdapter *adapter;        /* native F32 samples from stream sample `base` */
  GstAudioConverter *convert; /* input to native F32; NULL: it already is */
  gint bpf;                   /* bytes per input frame */
  gint rate;
  gsize window, hop; /* samples */

  guint64 base;     /* stream sample at the adapter's head */
  guint64 received; /* samples queued since the stream began */
  guint64 next;     /* stream sample where the next window starts */
  guint64 covered;  /* one past the last sample a window has seen */
  guint64 number;   /* the next window's number */
  gsize mapped;     /* bytes mapped by _take(), 0 when none */
  gboolean tail;    /* _take() gave the tail */

  GstClockTimeDiff pts0; /* time of stream sample 0 */
  gboolean have_pts0;
} GstSfAudioWindows;

void gst_sf_audio_windows_init (
    GstSfAudioWindows *w, gint rate, gsize window, gsize hop);
void gst_sf_audio_windows_clear (GstSfAudioWindows *w);
/* Forgets the queued samples and the timing: a new stream or a flush. */
void gst_sf_audio_windows_reset (GstSfAudioWindows *w);

/* The input's format (mono, at the windows' rate): FALSE when it cannot
 * be converted to F32. Queued samples are kept. */
gboolean gst_sf_audio_windows_set_format (
    GstSfAudioWindows *w, const GstAudioInfo *info);
/* Queues @buffer (transfer full) and follows its timestamp. FALSE when it
 * could not be read. */
gboolean gst_sf_audio_windows_push (GstSfAudioWindows *w, GstBuffer *buffer);

/* Fills @out with up to @max complete windows, or with @eos and none
 * complete, the tail: the samples no window has covered yet, from where
 * the next window starts. Returns how many; each call with a result must
 * be followed by gst_sf_audio_windows_release(). */
guint gst_sf_audio_windows_take (
    GstSfAudioWindows *w, GstSfAudioWindow *out, guint max, gboolean eos);
/* Moves past the @n windows _take() gave (a tail: past all samples). */
void gst_sf_audio_windows_release (GstSfAudioWindows *w, guint n);

/* The time of stream sample @sample. */
GstClockTime gst_sf_audio_windows_time (
    const GstSfAudioWindows *w, guint64 sample);
/* Samples -> nanoseconds at the windows' rate. */
GstClockTime gst_sf_audio_windows_duration (
    const GstSfAudioWindows *w, gsize samples);

G_END_DECLS
