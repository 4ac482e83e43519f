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
/* out[M, N] = x[M, K] · wᵀ + bias[N] (nullable), over the pool, row i of
 * x at x + i · @lda (rows may overlap). Each output is one f32 sum over K
 * in order, so a row's results depend on nothing but that row. Shapes
 * checked by the caller. */
void sf_linear_f32_run (float *out, const float *x, gint64 lda, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act);

/* The f32 panels themselves, for other ops (attention) that multiply by
 * operands they pack on the fly.
 *
 * sf_f32_panels_pack (): panels [p0, p1) of an operand with N columns and
 * K steps, element (j, kk) at src[j · ld + kk] when @trans (rows of
 * nn.Linear's [N, K]) else src[kk · ld + j]; panel p starts at
 * dst + p · K · SF_PACKED_NR, and columns past N are zeroed. dst must be
 * 64-byte aligned. */
void sf_f32_panels_pack (float *dst, const float *src, gint64 ld,
    gboolean trans, gint64 n, gint64 k, gint64 p0, gint64 p1);
/* c[M, N] (row stride @ldc) = a[M, K] (row stride @lda) · panels + bias
 * (nullable), on the calling thread, over the first @k ≤ @panel_k steps
 * of panels packed with @panel_k steps. Only on a CPU with AVX-512. */
void sf_f32_panels_gemm (float *c, gint64 ldc, const float *a, gint64 lda,
    gint64 m, const float *panels, gint64 panel_k, gint64 n, gint64 k,
    const float *bias);

G_END_DECLS
