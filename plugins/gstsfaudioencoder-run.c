/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfaudioencoder's windows through the task layer:
 * the framing the task gives, batches of windows run by
 * sf_task_run_audio(), and their buffers (see gstsfaudioencoder.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsfaudioencoder-private.h"
#include "gstsfmodel.h"

#define GST_CAT_DEFAULT gst_sf_audio_encoder_debug

/* Windows ready at once run as one batch of at most this many. */
#define MAX_BATCH 4

/* (transfer full) the caps of a window of @samples, or NULL with an error
 * posted. Framerate: one window per hop. */
static GstCaps *
gst_sf_audio_encoder_window_caps (
    GstSfAudioEncoder *self, SfTask *task, gsize samples)
{
  g_autoptr (GError) error = NULL;
  GstSfTensorsInfo info;
  SfShape shape;
  gint rate = self->windows.rate, hop = (gint)self->windows.hop;
  gint gcd = gst_util_greatest_common_divisor (rate, hop);

  if (!sf_task_audio_shape (task, samples, &shape, &error)
      || !gst_sf_tensors_info_set_f32 (&info, &shape)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Model \"%s\" gives no output this element can describe: %s",
            sf_model_name (sf_task_model (task)),
            error ? error->message : "too many dimensions"),
        (NULL));
    return NULL;
  }
  info.rate_n = rate / gcd;
  info.rate_d = hop / gcd;
  return gst_sf_tensors_info_to_caps (&info);
}

gboolean
gst_sf_audio_encoder_configure (
    GstSfAudioEncoder *self, SfTask *task, guint window_ms, guint hop_ms)
{
  gsize natural, window, hop;
  gint rate;

  rate = sf_task_audio_rate (task);
  natural = sf_task_audio_window (task);
  window = window_ms ? MAX (1, (gsize)window_ms * rate / 1000) : natural;
  if (window > natural && sf_task_audio_pads (task)) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("window-ms=%u is longer than the %u ms model \"%s\" takes; using "
         "%u ms.",
            window_ms, (guint)(natural * 1000 / rate),
            sf_model_name (sf_task_model (task)),
            (guint)(natural * 1000 / rate)),
        (NULL));
    window = natural;
  }
  hop = hop_ms ? MAX (1, (gsize)hop_ms * rate / 1000) : window;
  if (window < sf_task_audio_min_samples (task)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("window-ms=%u is shorter than the %u ms model \"%s\" needs at "
         "least.",
            window_ms, (guint)(sf_task_audio_min_samples (task) * 1000 / rate),
            sf_model_name (sf_task_model (task))),
        (NULL));
    sf_task_unref (task);
    return FALSE;
  }
  if (hop > window)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("hop-ms=%u is longer than the %u ms window: %u ms of audio "
         "between windows is never seen.",
            hop_ms, (guint)(window * 1000 / rate),
            (guint)((hop - window) * 1000 / rate)),
        ("use hop-ms <= window-ms to see all of the audio"));
  gst_sf_audio_windows_clear (&self->windows);
  gst_sf_audio_windows_init (&self->windows, rate, window, hop);
  GST_INFO_OBJECT (self,
      "%d Hz, windows of %" G_GSIZE_FORMAT " samples every %" G_GSIZE_FORMAT,
      rate, window, hop);

  GST_OBJECT_LOCK (self);
  self->held = gst_sf_audio_windows_duration (&self->windows, window);
  self->hop_time = gst_sf_audio_windows_duration (&self->windows, hop);
  GST_OBJECT_UNLOCK (self);
  gst_sf_element_set_task (GST_ELEMENT (self), &self->task, task);
  {
    GstCaps *caps = gst_sf_audio_encoder_window_caps (self, task, window);

    GST_OBJECT_LOCK (self);
    gst_caps_replace (&self->caps, caps);
    GST_OBJECT_UNLOCK (self);
    if (caps == NULL)
      return FALSE;
    gst_caps_unref (caps);
  }
  return TRUE;
}

/* TRUE when @out has the shape the task gave the caps for @win: the
 * buffer must be what the caps say. */
static gboolean
gst_sf_audio_encoder_check_shape (
    GstSfAudioEncoder *self, const GstSfAudioWindow *win, const SfTensor *out)
{
  SfShape want;

  if (!sf_task_audio_shape (self->task, win->n, &want, NULL)
      || want.ndim != out->ndim
      || memcmp (want.dims, out->shape, want.ndim * sizeof (gint64)) != 0) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Model \"%s\" gave an output of another shape than its task "
         "describes.",
            sf_model_name (sf_task_model (self->task))),
        ("window %" G_GUINT64_FORMAT " of %" G_GSIZE_FORMAT " samples",
            win->number, win->n));
    return FALSE;
  }
  return TRUE;
}

/* Pushes the output of @win: caps first when its shape differs from the
 * last (the tail of a model that takes any length). */
static GstFlowReturn
gst_sf_audio_encoder_push (
    GstSfAudioEncoder *self, const GstSfAudioWindow *win, SfTensor *out)
{
  GstSfAudioWindows *w = &self->windows;
  /* a whole window has the caps sent at the start */
  g_autoptr (GstCaps) caps = win->n == w->window
      ? gst_caps_ref (self->caps)
      : gst_sf_audio_encoder_window_caps (self, self->task, win->n);
  /* the audio the result covers: a padded tail covers only its samples */
  gsize span = win->n == w->window || sf_task_audio_pads (self->task)
      ? win->n
      : MAX (win->n, MIN (w->window, sf_task_audio_min_samples (self->task)));
  GstBuffer *buffer;

  if (caps == NULL || !gst_sf_audio_encoder_check_shape (self, win, out))
    return GST_FLOW_ERROR;
  if (!gst_sf_src_push_caps (&self->src, caps)) {
    if (gst_sf_src_caps_failure (&self->src) == GST_FLOW_FLUSHING)
      return GST_FLOW_FLUSHING;
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("downstream did not accept the tensor caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  buffer = gst_buffer_new ();
  gst_buffer_append_memory (buffer, gst_sf_memory_new_from_tensor (out));
  GST_BUFFER_PTS (buffer) = gst_sf_audio_windows_time (w, win->start);
  GST_BUFFER_DURATION (buffer) = gst_sf_audio_windows_duration (w, span);
  GST_BUFFER_OFFSET (buffer) = win->number;
  if (self->discont)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  self->discont = FALSE;
  gst_sf_buffer_add_model_meta (buffer, sf_task_model (self->task), NULL, NULL);
  GST_LOG_OBJECT (self,
      "window %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT ", %" G_GSIZE_FORMAT
      " samples",
      win->number, GST_TIME_ARGS (GST_BUFFER_PTS (buffer)), win->n);
  return gst_pad_push (self->src.pad, buffer);
}

/* Skips a window that holds NaN or infinity: silence in its place would
 * give results that look ordinary but mean nothing. */
static void
gst_sf_audio_encoder_skip (GstSfAudioEncoder *self, const GstSfAudioWindow *win)
{
  GstClockTime pts = gst_sf_audio_windows_time (&self->windows, win->start);

  GST_DEBUG_OBJECT (self,
      "window %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT
      " holds non-finite samples: skipped",
      win->number, GST_TIME_ARGS (pts));
  self->discont = TRUE;
  if (self->warned_nan)
    return;
  self->warned_nan = TRUE;
  GST_ELEMENT_WARNING (self, STREAM, DECODE,
      ("The audio holds samples that are not finite numbers (NaN or "
       "infinity); the windows that hold them are skipped."),
      ("first skipped window at %" GST_TIME_FORMAT, GST_TIME_ARGS (pts)));
}

/* Runs the model on @n windows as one batch and pushes the results. */
static GstFlowReturn
gst_sf_audio_encoder_encode (
    GstSfAudioEncoder *self, const GstSfAudioWindow *wins, guint n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) outs = NULL;
  const float *samples[MAX_BATCH];
  gsize lengths[MAX_BATCH];
  guint count = 0, i, j;
  GstFlowReturn ret = GST_FLOW_OK;

  for (i = 0; i < n; i++) {
    if (!wins[i].finite)
      continue;
    samples[count] = wins[i].samples;
    lengths[count++] = wins[i].n;
  }
  if (count > 0) {
    GstClockTime began = gst_util_get_timestamp ();

    if (self->batcher != NULL) {
      GstSfBatchInput inputs[MAX_BATCH] = { 0 };
      gboolean flushing;

      for (i = 0; i < count; i++) {
        inputs[i].samples = samples[i];
        inputs[i].n_samples = lengths[i];
      }
      outs = gst_sf_batcher_run (
          self->batcher, inputs, count, NULL, &flushing, &error);
      if (flushing)
        return GST_FLOW_FLUSHING;
    } else {
      outs = sf_task_run_audio (self->task, samples, lengths, count, &error);
    }
    gst_sf_latency_record (&self->processing, GST_ELEMENT (self),
        gst_util_get_timestamp () - began);
    if (outs == NULL) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED,
          ("Could not run model \"%s\" on the audio: %s",
              sf_model_name (sf_task_model (self->task)), error->message),
          (NULL));
      return GST_FLOW_ERROR;
    }
  }
  for (i = 0, j = 0; i < n && ret == GST_FLOW_OK; i++) {
    if (wins[i].finite)
      ret = gst_sf_audio_encoder_push (self, &wins[i], outs->pdata[j++]);
    else
      gst_sf_audio_encoder_skip (self, &wins[i]);
  }
  return ret;
}

/* Encodes every complete window; with @eos, then the tail. */
GstFlowReturn
gst_sf_audio_encoder_process (GstSfAudioEncoder *self, gboolean eos)
{
  GstSfAudioWindow wins[MAX_BATCH];
  GstFlowReturn ret = GST_FLOW_OK;
  guint n;

  while (ret == GST_FLOW_OK
      && (n = gst_sf_audio_windows_take (&self->windows, wins, MAX_BATCH, eos))
          > 0) {
    ret = gst_sf_audio_encoder_encode (self, wins, n);
    gst_sf_audio_windows_release (&self->windows, n);
  }
  return ret;
}
