/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: int8 linear layers with dynamic quantisation
 * (AVX512_VNNI). Reached through sf_linear_pack () and sf_op_linear ();
 * see core/ops/linear-packed.h.
 *
 * Weights: per output channel n, scale[n] = max |w[n, :]| / 127 (1 for an
 * all-zero channel) and q = clamp (rint (w / scale[n]), -127, 127).
 * Activations, per row at run time: lo = min (0, min x), hi = max (0,
 * max x), scale = (hi - lo) / 255 (1 when both are 0), zero point
 * zp = clamp (rint (-lo / scale), 0, 255) and q = clamp (rint (x / scale)
 * + zp, 0, 255). Then out = scale_x · scale[n] · Σ (qx - zp) · qw + bias. */
#pragma once

#include "core/ops/linear-packed.h"

G_BEGIN_DECLS

/* The largest K the int8 kernels take: 255 · 127 · K must fit in s32. */
#define SF_INT8_MAX_K 65536

/* (transfer full) @w (F32 [N, K], or [K, N] unless @trans_w) quantised and
 * packed. Only on a CPU with AVX512_VNNI; a new ref on @w when K exceeds
 * SF_INT8_MAX_K. */
SfTensor *sf_linear_int8_pack (SfTensor *w, gboolean trans_w);
/* out[M, N] = dequantised (quant (x[M, K]) · wᵀ) + bias[N] (nullable),
 * over the pool. Shapes checked by the caller. */
void sf_linear_int8_run (float *out, const float *x, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act);

G_END_DECLS
