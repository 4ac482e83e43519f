/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the wav2vec2 front-end (Wav2Vec2FeatureExtractor).
 *
 * The model takes the raw waveform; with do_normalize set, the extractor
 * shifts it to zero mean and scales it to unit variance, adding 1e-7 to the
 * variance so that silence stays finite. Sums run in double: one clip can
 * be minutes long.
 */
#include "core/audio/audio-private.h"
#include "core/error.h"

#include <math.h>

struct SfAudioWaveform
{
  int sample_rate;
  gboolean normalize;
};

SfAudioWaveform *
sf_audio_waveform_load (const SfConfig *cfg, GError **error)
{
  g_autofree SfAudioWaveform *wf = g_new0 (SfAudioWaveform, 1);
  gint64 rate, size;

  if (!sf_config_int_or (cfg, "sampling_rate", 16000, &rate, error)
      || !sf_config_int_or (cfg, "feature_size", 1, &size, error)
      || !sf_config_bool_or (cfg, "do_normalize", TRUE, &wf->normalize, error))
    return NULL;
  if (rate < 1000 || rate > 384000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'sampling_rate' is %" G_GINT64_FORMAT
        ", outside [1000, 384000]",
        sf_config_origin (cfg), rate);
    return NULL;
  }
  if (size != 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: field 'feature_size' is %" G_GINT64_FORMAT
        "; a waveform front-end takes mono samples (1)",
        sf_config_origin (cfg), size);
    return NULL;
  }
  wf->sample_rate = (int)rate;
  return g_steal_pointer (&wf);
}

void
sf_audio_waveform_free (SfAudioWaveform *wf)
{
  g_free (wf);
}

int
sf_audio_waveform_sample_rate (const SfAudioWaveform *wf)
{
  return wf->sample_rate;
}

SfTensor *
sf_audio_waveform_apply (
    const SfAudioWaveform *wf, const float *samples, gsize n, GError **error)
{
  SfTensor *out = sf_tensor_new_f32 (1, (gint64)n); /* (n) */
  float *y = sf_tensor_f32 (out);
  double mean = 0.0, var = 0.0, scale;

  if (!wf->normalize) {
    for (gsize i = 0; i < n; i++)
      y[i] = samples[i];
    return out;
  }
  for (gsize i = 0; i < n; i++)
    mean += samples[i];
  mean /= (double)n;
  for (gsize i = 0; i < n; i++) {
    double d = samples[i] - mean;
    var += d * d;
  }
  var /= (double)n;
  scale = 1.0 / sqrt (var + 1e-7);
  for (gsize i = 0; i < n; i++)
    y[i] = (float)((samples[i] - mean) * scale);
  return out;
}
