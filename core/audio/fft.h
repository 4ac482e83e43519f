/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: FFT through libavutil's av_tx.
 *
 * A plan for one length, reused across frames; not thread-safe (one plan
 * per thread). Any length works (av_tx factorises it). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct SfFft SfFft;

/* (transfer full) a forward complex FFT plan of length @n. */
SfFft *sf_fft_new (int n, GError **error);
void sf_fft_free (SfFft *fft); /* accepts NULL */
int sf_fft_size (const SfFft *fft);

/* |X_k|² for k in [0, n/2] of one real frame of n samples (unnormalised
 * DFT, as torch.stft and numpy's rfft compute it). */
void sf_fft_power (SfFft *fft, const float *frame, float *power);
/* |X_k| for k in [0, n/2]. */
void sf_fft_magnitude (SfFft *fft, const float *frame, float *magnitude);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfFft, sf_fft_free)

G_END_DECLS
