/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the AST front-end (ASTFeatureExtractor), a Kaldi-style
 * log mel filterbank as torchaudio.compliance.kaldi.fbank computes it with
 * the arguments the extractor passes.
 *
 * Design decisions:
 * - Fixed as the extractor fixes them: 25 ms frames every 10 ms with only
 *   whole frames kept (snip_edges), each frame's mean removed, pre-emphasis
 *   0.97 (the first sample repeats itself as its predecessor), a symmetric
 *   Hann window ("hanning", not Kaldi's default Povey), zero-padded to the
 *   next power of two, no dither, power spectrum, Kaldi mel banks from
 *   20 Hz to Nyquist, natural log floored at FLT_EPSILON.
 * - Samples are taken as they come: the extractor does not rescale to the
 *   16-bit range that Kaldi itself assumes.
 * - Then, as the extractor does: pad with zero rows or truncate to
 *   max_length frames, and with do_normalize map x to (x - mean) / (2·std),
 *   padding rows included.
 * - The mel banks are triangles in the mel domain; each is stored as its
 *   non-zero run of FFT bins.
 */
#include "core/audio/audio-private.h"
#include "core/error.h"
#include "core/audio/fft.h"

#include <float.h>
#include <math.h>

#define FBANK_FRAME_MS 25.0
#define FBANK_SHIFT_MS 10.0
#define FBANK_PREEMPHASIS 0.97
#define FBANK_LOW_HZ 20.0

typedef struct
{
  int first; /* first FFT bin with a non-zero weight */
  int count;
  float *weights; /* (count) */
} MelBand;

struct SfAudioFbank
{
  int sample_rate;
  int n_mels;
  int max_length; /* frames */
  gboolean normalize;
  double mean, std;
  int window_size; /* samples per frame */
  int window_shift;
  int fft_size;   /* power of two ≥ window_size */
  float *window;  /* (window_size) */
  MelBand *bands; /* (n_mels) */
};

static double
mel_of (double hz)
{
  return 1127.0 * log (1.0 + hz / 700.0);
}

/* Triangles with edges equally spaced in mel between FBANK_LOW_HZ and
 * Nyquist, evaluated at the centre frequency of each FFT bin below
 * Nyquist (the Nyquist bin itself gets no weight). */
static void
fbank_build_bands (SfAudioFbank *fb)
{
  int n_bins = fb->fft_size / 2;
  double bin_hz = (double)fb->sample_rate / fb->fft_size;
  double mel_low = mel_of (FBANK_LOW_HZ);
  double mel_high = mel_of (0.5 * fb->sample_rate);
  double delta = (mel_high - mel_low) / (fb->n_mels + 1);
  g_autofree float *tmp = g_new (float, n_bins);

  fb->bands = g_new0 (MelBand, fb->n_mels);
  for (int m = 0; m < fb->n_mels; m++) {
    double left = mel_low + m * delta;
    double centre = left + delta, right = centre + delta;
    int first = -1, last = -1;

    for (int k = 0; k < n_bins; k++) {
      double mel = mel_of (bin_hz * k);
      double up = (mel - left) / (centre - left);
      double down = (right - mel) / (right - centre);
      double w = MAX (0.0, MIN (up, down));
      tmp[k] = (float)w;
      if (w > 0.0) {
        if (first < 0)
          first = k;
        last = k;
      }
    }
    if (first < 0)
      continue; /* an empty band: its energy stays 0 */
    fb->bands[m].first = first;
    fb->bands[m].count = last - first + 1;
    fb->bands[m].weights =
        g_memdup2 (tmp + first, fb->bands[m].count * sizeof (float));
  }
}

SfAudioFbank *
sf_audio_fbank_load (const SfConfig *cfg, GError **error)
{
  g_autoptr (SfAudioFbank) fb = g_new0 (SfAudioFbank, 1);
  const char *origin = sf_config_origin (cfg);
  gint64 rate, mels, max_length;

  if (!sf_config_int_or (cfg, "sampling_rate", 16000, &rate, error)
      || !sf_config_int_or (cfg, "num_mel_bins", 128, &mels, error)
      || !sf_config_int_or (cfg, "max_length", 1024, &max_length, error)
      || !sf_config_bool_or (cfg, "do_normalize", TRUE, &fb->normalize, error)
      || !sf_config_double_or (cfg, "mean", -4.2677393, &fb->mean, error)
      || !sf_config_double_or (cfg, "std", 4.5689974, &fb->std, error))
    return NULL;
  if (rate < 1000 || rate > 384000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'sampling_rate' is %" G_GINT64_FORMAT
        ", outside [1000, 384000]",
        origin, rate);
    return NULL;
  }
  if (mels < 1 || mels > 1024) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'num_mel_bins' is %" G_GINT64_FORMAT ", outside [1, 1024]",
        origin, mels);
    return NULL;
  }
  if (max_length < 1 || max_length > 1000000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'max_length' is %" G_GINT64_FORMAT ", outside [1, 1000000]",
        origin, max_length);
    return NULL;
  }
  /* each factor is bounded above, so the product cannot overflow */
  if (max_length * mels > SF_AUDIO_MAX_VALUES) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: fields 'max_length' x 'num_mel_bins' ask for %" G_GINT64_FORMAT
        " values, more than the limit of %" G_GINT64_FORMAT,
        origin, max_length * mels, SF_AUDIO_MAX_VALUES);
    return NULL;
  }
  if (fb->normalize && !(fb->std > 0.0)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'std' must be positive", origin);
    return NULL;
  }
  fb->sample_rate = (int)rate;
  fb->n_mels = (int)mels;
  fb->max_length = (int)max_length;
  /* truncated to whole samples, as Kaldi does */
  fb->window_size = (int)(rate * FBANK_FRAME_MS * 0.001);
  fb->window_shift = (int)(rate * FBANK_SHIFT_MS * 0.001);
  fb->fft_size = 1;
  while (fb->fft_size < fb->window_size)
    fb->fft_size *= 2;

  fb->window = g_new (float, fb->window_size);
  for (int i = 0; i < fb->window_size; i++)
    fb->window[i] =
        (float)(0.5 - 0.5 * cos (2.0 * G_PI * i / (fb->window_size - 1)));
  fbank_build_bands (fb);
  return g_steal_pointer (&fb);
}

void
sf_audio_fbank_free (SfAudioFbank *fb)
{
  if (fb == NULL)
    return;
  if (fb->bands)
    for (int m = 0; m < fb->n_mels; m++)
      g_free (fb->bands[m].weights);
  g_free (fb->bands);
  g_free (fb->window);
  g_free (fb);
}

int
sf_audio_fbank_sample_rate (const SfAudioFbank *fb)
{
  return fb->sample_rate;
}

/* The last of max_length frames starts (max_length - 1) shifts in. */
gsize
sf_audio_fbank_window_samples (const SfAudioFbank *fb)
{
  return (gsize)(fb->max_length - 1) * (gsize)fb->window_shift
      + (gsize)fb->window_size;
}

/* Every input is padded or cut to max_length frames. */
void
sf_audio_fbank_feature_shape (const SfAudioFbank *fb, gint64 shape[2])
{
  shape[0] = fb->max_length;
  shape[1] = fb->n_mels;
}

/* One frame of @fb->window_size samples into @frame (fft_size, the tail
 * zero): DC removal, pre-emphasis, window. */
static void
fbank_prepare_frame (const SfAudioFbank *fb, const float *x, float *frame)
{
  int n = fb->window_size;
  double mean = 0.0, prev;

  for (int i = 0; i < n; i++)
    mean += x[i];
  mean /= n;
  prev = x[0] - mean;
  for (int i = 0; i < n; i++) {
    double cur = x[i] - mean;
    frame[i] = (float)((cur - FBANK_PREEMPHASIS * prev) * fb->window[i]);
    prev = cur;
  }
  for (int i = n; i < fb->fft_size; i++)
    frame[i] = 0.0f;
}

SfTensor *
sf_audio_fbank_apply (
    const SfAudioFbank *fb, const float *samples, gsize n, GError **error)
{
  g_autoptr (SfFft) fft = sf_fft_new (fb->fft_size, error);
  g_autoptr (SfTensor) out = NULL;
  g_autofree float *frame = NULL, *power = NULL;
  gint64 n_frames = 0, kept;
  float *y;

  if (fft == NULL)
    return NULL;
  if (n >= (gsize)fb->window_size)
    n_frames = 1 + (gint64)(n - fb->window_size) / fb->window_shift;
  kept = MIN (n_frames, fb->max_length);

  out = sf_tensor_new_f32 (2, (gint64)fb->max_length, (gint64)fb->n_mels);
  y = sf_tensor_f32 (out); /* (max_length, n_mels), zero padded */
  frame = g_new (float, fb->fft_size);
  power = g_new (float, fb->fft_size / 2 + 1);
  for (gint64 t = 0; t < kept; t++) {
    float *row = y + t * fb->n_mels;
    fbank_prepare_frame (fb, samples + t * fb->window_shift, frame);
    sf_fft_power (fft, frame, power);
    for (int m = 0; m < fb->n_mels; m++) {
      const MelBand *band = &fb->bands[m];
      double e = 0.0;
      for (int k = 0; k < band->count; k++)
        e += (double)band->weights[k] * power[band->first + k];
      row[m] = logf (MAX ((float)e, FLT_EPSILON));
    }
  }
  if (fb->normalize) {
    gint64 total = (gint64)fb->max_length * fb->n_mels;
    float scale = (float)(1.0 / (2.0 * fb->std)), shift = (float)fb->mean;
    for (gint64 i = 0; i < total; i++)
      y[i] = (y[i] - shift) * scale;
  }
  return g_steal_pointer (&out);
}
