/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: bf16 linear layers (AVX512_BF16). Reached through
 * sf_linear_pack () and sf_op_linear (); see core/ops/linear-packed.h. */
#pragma once

#include "core/ops/linear-packed.h"

G_BEGIN_DECLS

/* (transfer full) @w (F32 [N, K], or [K, N] unless @trans_w) rounded to
 * bf16 (to nearest even) and packed. Only on a CPU with AVX512_BF16. */
SfTensor *sf_linear_bf16_pack (const SfTensor *w, gboolean trans_w);
/* out[M, N] = bf16 (x[M, K]) · wᵀ + bias[N] (nullable), f32 sums, over the
 * pool. Shapes checked by the caller. */
void sf_linear_bf16_run (float *out, const float *x, gint64 m,
    const SfPackedWeight *w, const float *bias);

G_END_DECLS
