/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: audio front-end dispatch.
 *
 * Reads preprocessor_config.json once and hands it to the front-end of the
 * requested kind (core/audio-private.h); apply() checks the input every
 * kind shares (non-empty, finite) before dispatching.
 */
#include "core/audio/audio-private.h"
#include "core/profile.h"
#include "core/error.h"

#include <math.h>

struct SfAudioFrontend
{
  SfAudioFrontendKind kind;
  char *origin; /* the preprocessor_config.json path */
  union
  {
    SfAudioLogmel *logmel;
    SfAudioFbank *fbank;
    SfAudioWaveform *waveform;
  } impl;
};

SfAudioFrontend *
sf_audio_frontend_load (
    const char *path, SfAudioFrontendKind kind, GError **error)
{
  g_autoptr (SfConfig) cfg = NULL;
  g_autoptr (SfAudioFrontend) fe = NULL;
  gpointer impl = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  cfg = sf_config_load (path, error);
  if (cfg == NULL)
    return NULL;
  fe = g_new0 (SfAudioFrontend, 1);
  fe->kind = kind;
  fe->origin = g_strdup (path);
  switch (kind) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      impl = fe->impl.logmel = sf_audio_logmel_load (cfg, error);
      break;
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      impl = fe->impl.fbank = sf_audio_fbank_load (cfg, error);
      break;
    case SF_AUDIO_FRONTEND_WAVEFORM:
      impl = fe->impl.waveform = sf_audio_waveform_load (cfg, error);
      break;
    default: g_return_val_if_reached (NULL);
  }
  if (impl == NULL)
    return NULL;
  return g_steal_pointer (&fe);
}

void
sf_audio_frontend_free (SfAudioFrontend *fe)
{
  if (fe == NULL)
    return;
  switch (fe->kind) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      sf_audio_logmel_free (fe->impl.logmel);
      break;
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      sf_audio_fbank_free (fe->impl.fbank);
      break;
    case SF_AUDIO_FRONTEND_WAVEFORM:
      sf_audio_waveform_free (fe->impl.waveform);
      break;
  }
  g_free (fe->origin);
  g_free (fe);
}

SfAudioFrontendKind
sf_audio_frontend_kind (const SfAudioFrontend *fe)
{
  return fe->kind;
}

int
sf_audio_frontend_sample_rate (const SfAudioFrontend *fe)
{
  g_return_val_if_fail (fe != NULL, 0);
  switch (fe->kind) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      return sf_audio_logmel_sample_rate (fe->impl.logmel);
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      return sf_audio_fbank_sample_rate (fe->impl.fbank);
    case SF_AUDIO_FRONTEND_WAVEFORM:
      return sf_audio_waveform_sample_rate (fe->impl.waveform);
  }
  return 0;
}

gsize
sf_audio_frontend_window_samples (const SfAudioFrontend *fe)
{
  g_return_val_if_fail (fe != NULL, 0);
  switch (fe->kind) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      return sf_audio_logmel_window_samples (fe->impl.logmel);
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      return sf_audio_fbank_window_samples (fe->impl.fbank);
    case SF_AUDIO_FRONTEND_WAVEFORM: return 0;
  }
  return 0;
}

int
sf_audio_frontend_feature_shape (
    const SfAudioFrontend *fe, gsize n, gint64 shape[2])
{
  g_return_val_if_fail (fe != NULL, 0);
  switch (fe->kind) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      sf_audio_logmel_feature_shape (fe->impl.logmel, shape);
      return 2;
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      sf_audio_fbank_feature_shape (fe->impl.fbank, shape);
      return 2;
    case SF_AUDIO_FRONTEND_WAVEFORM: shape[0] = (gint64)n; return 1;
  }
  return 0;
}

static SfTensor *
audio_frontend_apply (
    const SfAudioFrontend *fe, const float *samples, gsize n, GError **error)
{
  g_return_val_if_fail (fe != NULL, NULL);
  if (n == 0 || samples == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: no audio samples to compute features from", fe->origin);
    return NULL;
  }
  for (gsize i = 0; i < n; i++) {
    if (!isfinite (samples[i])) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "audio sample %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
          " is not a finite number",
          i, n);
      return NULL;
    }
  }
  switch (fe->kind) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      return sf_audio_logmel_apply (fe->impl.logmel, samples, n, error);
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      return sf_audio_fbank_apply (fe->impl.fbank, samples, n, error);
    case SF_AUDIO_FRONTEND_WAVEFORM:
      return sf_audio_waveform_apply (fe->impl.waveform, samples, n, error);
  }
  return NULL;
}

SfTensor *
sf_audio_frontend_apply (
    const SfAudioFrontend *fe, const float *samples, gsize n, GError **error)
{
  gint64 prof = sf_profile_begin ();
  SfTensor *ret = audio_frontend_apply (fe, samples, n, error);

  sf_profile_end (SF_PROFILE_FRONT_END, prof, 0);
  return ret;
}
