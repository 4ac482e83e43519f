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
/* A bf16 product's operands: the input as f32 rows (rounded to bf16 here)
 * or as bf16 rows already rounded, K padded to even (@x_bf16, from an
 * earlier product's @out_bf16); the output as f32 rows or as bf16 rows
 * (N even). One of each pair is set. */
typedef struct
{
  const float *x;        /* [M, K] */
  const guint16 *x_bf16; /* [M, kp] */
  float *out;            /* [M, N] */
  guint16 *out_bf16;     /* [M, N] */
} SfBf16Operands;

void sf_linear_bf16_run (const SfBf16Operands *io, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act);

/* bf16 operands packed on the fly, for other ops (attention), on the
 * calling thread. Only on a CPU with AVX512_BF16; kp is K rounded up to
 * even, and a panel holds kp · SF_PACKED_NR values.
 *
 * sf_bf16_round_rows (): a[M, kp] (row stride @lda) = bf16 (scale · x),
 * row i of x at x + i · @ldx, zero past K.
 * sf_bf16_panels_pack_rows (): panels of an operand whose N columns are
 * the rows of src [N, K] (@ld apart), as keys are in q · kᵀ. K at most
 * SF_BF16_PACK_MAX_K.
 * sf_bf16_panels_pack_cols (): panels of src [K, N] (rows @ld apart), as
 * values are in p · v.
 * Both zero the columns past N and the step past an odd K; dst is 64-byte
 * aligned.
 * sf_bf16_panels_gemm (): c[M, N] (row stride @ldc) = a[M, kp] · panels,
 * f32 sums. */
#define SF_BF16_PACK_MAX_K 512
void sf_bf16_round_rows (guint16 *a, gint64 lda, const float *x, gint64 ldx,
    gint64 m, gint64 k, float scale);
void sf_bf16_panels_pack_rows (
    guint16 *dst, const float *src, gint64 ld, gint64 n, gint64 k);
void sf_bf16_panels_pack_cols (
    guint16 *dst, const float *src, gint64 ld, gint64 n, gint64 k);
void sf_bf16_panels_gemm (float *c, gint64 ldc, const guint16 *a, gint64 lda,
    gint64 m, const guint16 *panels, gint64 kp, gint64 n);

G_END_DECLS
