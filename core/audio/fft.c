/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: FFT through libavutil's av_tx.
 *
 * Design decisions:
 * - FFmpeg 5.1 has no real-input transform in av_tx, so a real frame is
 *   loaded into the real parts of a complex buffer and run through the
 *   complex forward FFT of the same length. Only bins 0..n/2 are read
 *   back: the rest mirror them for real input.
 * - av_tx wants distinct input and output buffers unless asked for an
 *   in-place plan, so a plan owns both (from av_malloc: its SIMD code
 *   needs that alignment), which also makes a plan single-thread.
 * - FFmpeg 5.1 plans lengths it cannot factorise (Whisper's n_fft = 400 =
 *   2⁴·5²) as a naive DFT that calls sincos for every term: seconds per
 *   30 s of audio. Every length that is not a power of two therefore goes
 *   through Bluestein's chirp-z identity instead, as a circular convolution
 *   done with power-of-two FFTs: the same DFT, in O(n log n).
 */
#include "core/audio/fft.h"
#include "core/error.h"

#include <math.h>
#include <string.h>
#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <libavutil/tx.h>

struct SfFft
{
  int n;
  AVTXContext *ctx;
  av_tx_fn fn;
  AVComplexFloat *in;  /* (n), or (m) for Bluestein */
  AVComplexFloat *out; /* (n), or (m) for Bluestein */
  /* Bluestein only (m = 0 otherwise): forward and inverse plans of the
   * power-of-two length m ≥ 2n − 1, the chirp w_k = e^{−iπk²/n} and the
   * spectrum of the conjugate chirp wrapped around length m. */
  int m;
  AVTXContext *ictx;
  av_tx_fn ifn;
  AVComplexFloat *chirp;     /* (n) */
  AVComplexFloat *chirp_fft; /* (m) */
  AVComplexFloat *tmp;       /* (m) */
};

static gboolean
plan (AVTXContext **ctx, av_tx_fn *fn, int inverse, int n, GError **error)
{
  float scale = 1.0f;
  int ret = av_tx_init (ctx, fn, AV_TX_FLOAT_FFT, inverse, n, &scale, 0);

  if (ret < 0) {
    char msg[AV_ERROR_MAX_STRING_SIZE] = { 0 };
    av_strerror (ret, msg, sizeof (msg));
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "av_tx cannot plan an FFT of length %d: %s", n, msg);
    return FALSE;
  }
  return TRUE;
}

/* Precomputes the chirp and the spectrum of its wrapped conjugate. */
static gboolean
bluestein_init (SfFft *fft, GError **error)
{
  int n = fft->n, m = 1;

  while (m < 2 * n - 1)
    m *= 2;
  fft->m = m;
  if (!plan (&fft->ctx, &fft->fn, 0, m, error)
      || !plan (&fft->ictx, &fft->ifn, 1, m, error))
    return FALSE;
  fft->chirp = av_calloc (n, sizeof (AVComplexFloat));
  fft->chirp_fft = av_calloc (m, sizeof (AVComplexFloat));
  fft->tmp = av_calloc (m, sizeof (AVComplexFloat));
  fft->in = av_calloc (m, sizeof (AVComplexFloat));
  fft->out = av_calloc (m, sizeof (AVComplexFloat));
  if (!fft->chirp || !fft->chirp_fft || !fft->tmp || !fft->in || !fft->out)
    return FALSE;
  for (int k = 0; k < n; k++) {
    /* k² mod 2n keeps the angle exact for large k */
    double angle = M_PI * (double)(((gint64)k * k) % (2 * (gint64)n)) / n;
    fft->chirp[k].re = (float)cos (angle);
    fft->chirp[k].im = (float)-sin (angle);
  }
  for (int k = 0; k < n; k++) {
    AVComplexFloat c = { fft->chirp[k].re, -fft->chirp[k].im };
    fft->in[k] = c;
    if (k > 0)
      fft->in[m - k] = c;
  }
  fft->fn (fft->ctx, fft->chirp_fft, fft->in, sizeof (AVComplexFloat));
  return TRUE;
}

SfFft *
sf_fft_new (int n, GError **error)
{
  SfFft *fft;

  if (n < 1 || n > (1 << 24)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "FFT length %d is out of range [1, %d]", n, 1 << 24);
    return NULL;
  }
  fft = g_new0 (SfFft, 1);
  fft->n = n;
  if ((n & (n - 1)) != 0) {
    if (!bluestein_init (fft, error))
      goto fail;
    return fft;
  }
  if (!plan (&fft->ctx, &fft->fn, 0, n, error))
    goto fail;
  fft->in = av_calloc (n, sizeof (AVComplexFloat));
  fft->out = av_calloc (n, sizeof (AVComplexFloat));
  if (fft->in == NULL || fft->out == NULL)
    goto fail;
  return fft;

fail:
  if (error && *error == NULL)
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "cannot allocate FFT buffers of length %d", n);
  sf_fft_free (fft);
  return NULL;
}

void
sf_fft_free (SfFft *fft)
{
  if (fft == NULL)
    return;
  av_tx_uninit (&fft->ctx);
  av_tx_uninit (&fft->ictx);
  av_free (fft->chirp);
  av_free (fft->chirp_fft);
  av_free (fft->tmp);
  av_free (fft->in);
  av_free (fft->out);
  g_free (fft);
}

int
sf_fft_size (const SfFft *fft)
{
  return fft->n;
}

/* fft->out[0..n) = DFT of the real @frame through Bluestein:
 * X_k = w_k · Σ_j (x_j w_j) · conj (w_{k−j}), a circular convolution. */
static void
bluestein_run (SfFft *fft, const float *frame)
{
  int n = fft->n, m = fft->m;
  float inv_m = 1.0f / m;

  for (int j = 0; j < n; j++) {
    fft->in[j].re = frame[j] * fft->chirp[j].re;
    fft->in[j].im = frame[j] * fft->chirp[j].im;
  }
  memset (fft->in + n, 0, (m - n) * sizeof (AVComplexFloat));
  fft->fn (fft->ctx, fft->tmp, fft->in, sizeof (AVComplexFloat));
  for (int k = 0; k < m; k++) {
    AVComplexFloat a = fft->tmp[k], b = fft->chirp_fft[k];
    fft->in[k].re = a.re * b.re - a.im * b.im;
    fft->in[k].im = a.re * b.im + a.im * b.re;
  }
  fft->ifn (fft->ictx, fft->tmp, fft->in, sizeof (AVComplexFloat));
  for (int k = 0; k < n; k++) {
    AVComplexFloat c = fft->tmp[k], w = fft->chirp[k];
    fft->out[k].re = (c.re * w.re - c.im * w.im) * inv_m;
    fft->out[k].im = (c.re * w.im + c.im * w.re) * inv_m;
  }
}

/* fft->out = DFT of the real @frame (n samples). */
static void
fft_run (SfFft *fft, const float *frame)
{
  if (fft->m > 0) {
    bluestein_run (fft, frame);
    return;
  }
  for (int i = 0; i < fft->n; i++) {
    fft->in[i].re = frame[i];
    fft->in[i].im = 0.0f;
  }
  fft->fn (fft->ctx, fft->out, fft->in, sizeof (AVComplexFloat));
}

void
sf_fft_power (SfFft *fft, const float *frame, float *power)
{
  g_return_if_fail (fft != NULL && frame != NULL && power != NULL);
  fft_run (fft, frame);
  for (int k = 0; k <= fft->n / 2; k++)
    power[k] =
        fft->out[k].re * fft->out[k].re + fft->out[k].im * fft->out[k].im;
}

void
sf_fft_magnitude (SfFft *fft, const float *frame, float *magnitude)
{
  g_return_if_fail (fft != NULL && frame != NULL && magnitude != NULL);
  fft_run (fft, frame);
  for (int k = 0; k <= fft->n / 2; k++)
    magnitude[k] = hypotf (fft->out[k].re, fft->out[k].im);
}
