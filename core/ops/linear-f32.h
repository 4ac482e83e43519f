/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: f32 linear layers on weights packed at load (AVX-512).
 * Reached through sf_linear_pack () and sf_op_linear (); see
 * core/ops/linear-packed.h. */
#pragma once

#include "core/ops/linear-packed.h"

G_BEGIN_DECLS

/* (transfer full) @w (F32 [N, K], or [K, N] unless @trans_w) packed into
 * f32 panels. Only on a CPU with AVX-512. */
SfTensor *sf_linear_f32_pack (const SfTensor *w, gboolean trans_w);
/* out[M, N] = x[M, K] · wᵀ + bias[N] (nullable), over the pool. Each
 * output is one f32 sum over K in order, so a row's results depend on
 * nothing but that row. Shapes checked by the caller. */
void sf_linear_f32_run (float *out, const float *x, gint64 m,
    const SfPackedWeight *w, const float *bias);

G_END_DECLS
