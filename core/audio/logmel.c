/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the Whisper log-mel front-end.
 *
 * Mirrors transformers' WhisperFeatureExtractor:
 *   1. the waveform is zero-padded or cut to chunk_length · sampling_rate
 *      samples;
 *   2. an STFT with a periodic Hann window of n_fft samples, hop_length
 *      apart, centred (the signal is reflect-padded by n_fft/2 on both
 *      sides), keeping the power |X|² of bins [0, n_fft/2]; the last frame
 *      is dropped, so there are n_samples / hop_length frames;
 *   3. Slaney-normalised triangular mel filters on the Slaney mel scale
 *      between 0 and 8 kHz (audio_utils.mel_filter_bank with
 *      norm="slaney", mel_scale="slaney"; the extractor fixes 8 kHz);
 *   4. log10 (max (mel, 1e-10)), clamped from below at the chunk's
 *      maximum − 8, then (x + 4) / 4.
 * The filters are built once, in double precision, when the config loads.
 * A non-zero `dither` (random noise HF adds) is not applied: the output
 * stays deterministic.
 */
#include "core/audio/audio-private.h"
#include "core/error.h"
#include "core/audio/fft.h"
#include "core/ops/ops.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

struct SfAudioLogmel
{
  int n_mels; /* feature_size */
  int sample_rate;
  int hop; /* hop_length */
  int n_fft;
  gint64 n_samples;  /* chunk_length · sampling_rate */
  gint64 n_frames;   /* n_samples / hop */
  float *window;     /* [n_fft] periodic Hann */
  SfTensor *filters; /* [n_mels, n_fft/2 + 1] */
};

/* Slaney's mel scale: linear below 1 kHz, logarithmic above. */
static double
hz_to_mel (double hz)
{
  const double logstep = 27.0 / log (6.4);
  if (hz < 1000.0)
    return 3.0 * hz / 200.0;
  return 15.0 + log (hz / 1000.0) * logstep;
}

static double
mel_to_hz (double mel)
{
  const double logstep = log (6.4) / 27.0;
  if (mel < 15.0)
    return 200.0 * mel / 3.0;
  return 1000.0 * exp (logstep * (mel - 15.0));
}

/* Triangular filters centred on n_mels + 2 points evenly spaced in mel,
 * each scaled by 2 / (its width in Hz). The FFT bins sit on a linear grid
 * from 0 to sample_rate / 2 (integer division, as mel_filter_bank does). */
static SfTensor *
build_filters (int n_mels, int n_bins, int sample_rate, double f_max)
{
  SfTensor *filters = sf_tensor_new_f32 (2, (gint64)n_mels, (gint64)n_bins);
  float *w = sf_tensor_f32 (filters);
  double mel_lo = hz_to_mel (0.0), mel_hi = hz_to_mel (f_max);
  g_autofree double *pts = g_new (double, n_mels + 2);
  g_autofree double *bins = g_new (double, n_bins);
  double nyquist = (double)(sample_rate / 2);

  for (int i = 0; i < n_mels + 2; i++)
    pts[i] = mel_to_hz (mel_lo + (mel_hi - mel_lo) * i / (n_mels + 1));
  for (int k = 0; k < n_bins; k++)
    bins[k] = n_bins > 1 ? nyquist * k / (n_bins - 1) : 0.0;

  for (int m = 0; m < n_mels; m++) {
    double lo = pts[m], mid = pts[m + 1], hi = pts[m + 2];
    double enorm = 2.0 / (hi - lo);
    for (int k = 0; k < n_bins; k++) {
      double down = (bins[k] - lo) / (mid - lo);
      double up = (hi - bins[k]) / (hi - mid);
      double v = MAX (0.0, MIN (down, up));
      w[(gsize)m * n_bins + k] = (float)(v * enorm);
    }
  }
  return filters;
}

static gboolean
read_param (const SfConfig *cfg, const char *key, gint64 def, gint64 min,
    gint64 max, int *out, GError **error)
{
  gint64 v;

  if (!sf_config_int_or (cfg, key, def, &v, error))
    return FALSE;
  if (v < min || v > max) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' is %" G_GINT64_FORMAT ", outside [%" G_GINT64_FORMAT
        ", %" G_GINT64_FORMAT "]",
        sf_config_origin (cfg), key, v, min, max);
    return FALSE;
  }
  *out = (int)v;
  return TRUE;
}

SfAudioLogmel *
sf_audio_logmel_load (const SfConfig *cfg, GError **error)
{
  g_autoptr (SfAudioLogmel) lm = g_new0 (SfAudioLogmel, 1);
  int chunk;

  g_return_val_if_fail (cfg != NULL, NULL);
  if (!read_param (cfg, "feature_size", 80, 1, 1024, &lm->n_mels, error)
      || !read_param (
          cfg, "sampling_rate", 16000, 1000, 384000, &lm->sample_rate, error)
      || !read_param (cfg, "hop_length", 160, 1, 65536, &lm->hop, error)
      || !read_param (cfg, "n_fft", 400, 2, 65536, &lm->n_fft, error)
      || !read_param (cfg, "chunk_length", 30, 1, 3600, &chunk, error))
    return NULL;

  lm->n_samples = (gint64)chunk * lm->sample_rate;
  lm->n_frames = lm->n_samples / lm->hop;
  if (lm->n_frames < 1 || lm->n_fft / 2 >= lm->n_samples) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: fields 'chunk_length', 'hop_length' and 'n_fft' give no "
        "complete frame",
        sf_config_origin (cfg));
    return NULL;
  }
  /* chunk_length x sampling_rate is at most 1.4e9 and the rest follow
   * from it: bound what one window allocates before anything does */
  if (lm->n_samples + lm->n_fft > SF_AUDIO_MAX_VALUES
      || lm->n_frames * (lm->n_fft / 2 + 1) > SF_AUDIO_MAX_VALUES
      || lm->n_frames * lm->n_mels > SF_AUDIO_MAX_VALUES) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: fields 'chunk_length', 'sampling_rate', 'hop_length', 'n_fft' "
        "and 'feature_size' give a window of %" G_GINT64_FORMAT
        " samples and %" G_GINT64_FORMAT " frames, more than the limit of "
        "%" G_GINT64_FORMAT " values per buffer",
        sf_config_origin (cfg), lm->n_samples, lm->n_frames,
        SF_AUDIO_MAX_VALUES);
    return NULL;
  }
  if (lm->sample_rate / 2 < 8000) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: field 'sampling_rate' %d is below 16000, but Whisper's mel "
        "filters reach 8 kHz",
        sf_config_origin (cfg), lm->sample_rate);
    return NULL;
  }

  lm->window = g_new (float, lm->n_fft);
  for (int i = 0; i < lm->n_fft; i++)
    lm->window[i] = (float)(0.5 - 0.5 * cos (2.0 * G_PI * i / lm->n_fft));
  lm->filters =
      build_filters (lm->n_mels, lm->n_fft / 2 + 1, lm->sample_rate, 8000.0);
  return g_steal_pointer (&lm);
}

void
sf_audio_logmel_free (SfAudioLogmel *lm)
{
  if (lm == NULL)
    return;
  g_free (lm->window);
  sf_tensor_unref (lm->filters);
  g_free (lm);
}

int
sf_audio_logmel_sample_rate (const SfAudioLogmel *lm)
{
  g_return_val_if_fail (lm != NULL, 0);
  return lm->sample_rate;
}

gsize
sf_audio_logmel_window_samples (const SfAudioLogmel *lm)
{
  return (gsize)lm->n_samples;
}

/* Every input is padded or cut to chunk_length. */
void
sf_audio_logmel_feature_shape (const SfAudioLogmel *lm, gint64 shape[2])
{
  shape[0] = lm->n_mels;
  shape[1] = lm->n_frames;
}

typedef struct
{
  const SfAudioLogmel *lm;
  const float *padded; /* [n_samples + n_fft] reflect-padded */
  float *power;        /* [n_frames, n_bins] */
  gboolean failed;
} StftJob;

static void
stft_range (gint64 start, gint64 end, gpointer user_data)
{
  StftJob *job = user_data;
  const SfAudioLogmel *lm = job->lm;
  int n_bins = lm->n_fft / 2 + 1;
  g_autoptr (SfFft) fft = sf_fft_new (lm->n_fft, NULL);
  g_autofree float *frame = g_new (float, lm->n_fft);

  if (fft == NULL) {
    job->failed = TRUE;
    return;
  }
  for (gint64 t = start; t < end; t++) {
    const float *src = job->padded + t * lm->hop;
    for (int i = 0; i < lm->n_fft; i++)
      frame[i] = src[i] * lm->window[i];
    sf_fft_power (fft, frame, job->power + t * n_bins);
  }
}

/* x[-i] = x[i] and x[n-1+i] = x[n-1-i]: numpy's / torch's "reflect". */
static float *
reflect_pad (const SfAudioLogmel *lm, const float *samples, gsize n)
{
  gint64 len = lm->n_samples, pad = lm->n_fft / 2;
  float *out = g_new0 (float, len + 2 * pad);
  float *mid = out + pad;

  memcpy (mid, samples, MIN ((gint64)n, len) * sizeof (float));
  for (gint64 i = 1; i <= pad; i++) {
    mid[-i] = mid[i];
    mid[len - 1 + i] = mid[len - 1 - i];
  }
  return out;
}

SfTensor *
sf_audio_logmel_apply (
    const SfAudioLogmel *lm, const float *samples, gsize n, GError **error)
{
  int n_bins;
  gint64 frames;
  g_autofree float *padded = NULL;
  g_autoptr (SfTensor) power = NULL; /* [frames, bins] */
  g_autoptr (SfTensor) mel = NULL;   /* [frames, mels] */
  SfTensor *out;                     /* [mels, frames] */
  float *m, *o, top = -INFINITY, floor_v;
  StftJob job;

  g_return_val_if_fail (lm != NULL, NULL);
  if (n == 0 || samples == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "log-mel front-end: no audio samples");
    return NULL;
  }
  n_bins = lm->n_fft / 2 + 1;
  frames = lm->n_frames;
  padded = reflect_pad (lm, samples, n);
  power = sf_tensor_new_f32 (2, frames, (gint64)n_bins);
  job = (StftJob){ lm, padded, sf_tensor_f32 (power), FALSE };
  sf_parallel_for (frames, 64, stft_range, &job);
  if (job.failed) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "log-mel front-end: no FFT of length %d", lm->n_fft);
    return NULL;
  }

  mel = sf_tensor_new_f32 (2, frames, (gint64)lm->n_mels);
  sf_op_linear (mel, power, lm->filters, NULL);

  m = sf_tensor_f32 (mel);
  for (gint64 i = 0; i < frames * lm->n_mels; i++) {
    m[i] = log10f (MAX (m[i], 1e-10f));
    top = MAX (top, m[i]);
  }
  floor_v = top - 8.0f;

  out = sf_tensor_new_f32 (2, (gint64)lm->n_mels, frames);
  o = sf_tensor_f32 (out);
  for (gint64 t = 0; t < frames; t++)
    for (int k = 0; k < lm->n_mels; k++)
      o[k * frames + t] = (MAX (m[t * lm->n_mels + k], floor_v) + 4.0f) / 4.0f;
  return out;
}
