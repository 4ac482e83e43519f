/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: linear layers and plain matrix products (conventions
 * in core/ops/ops.h). */
#pragma once

#include "core/ops/activation.h"
#include "core/tensor.h"

G_BEGIN_DECLS

/* out[..., N] = x[..., K] · w[N, K]ᵀ + b[N]   (b may be NULL). out must not alias x. */
void sf_op_linear (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b);
/* out = act (x · wᵀ + b): sf_op_linear then sf_op_activation, the same
 * bits, but a packed weight's kernel applies a fusable activation
 * (sf_activation_fusable ()) to each block of output it has just written,
 * and the time counts as the product's. */
void sf_op_linear_act (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, SfActivation act);
/* out = act (x · w1ᵀ + b1) · w2ᵀ + b2 (biases nullable): a feed-forward
 * block's two products. Where both weights are packed for bf16, the
 * activation is fusable and the hidden width even, the first product
 * writes its rows as bf16 and the second reads them as they are: the
 * bits of the two products apart, without the f32 rows in between. out
 * may be x. */
/* TRUE when sf_op_feed_forward () passes the hidden rows as bf16. */
gboolean sf_linear_hands_off_bf16 (
    const SfTensor *w1, SfActivation act, const SfTensor *w2);
void sf_op_feed_forward (SfTensor *out, const SfTensor *x, const SfTensor *w1,
    const SfTensor *b1, SfActivation act, const SfTensor *w2,
    const SfTensor *b2);
/* out[..., N] = x[..., K] · w[K, N] + b[N]   (b may be NULL): the weight
 * stored [in, out], as HF's Conv1D (GPT-2) keeps it. out must not alias x. */
void sf_op_linear_in_out (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b);
/* out[M, N] = a[M, K] · b[K, N] (trans_b: b is [N, K]). Plain 2-D matmul. */
void sf_op_matmul (
    SfTensor *out, const SfTensor *a, const SfTensor *b, gboolean trans_b);

/* out[M, N] = rows of x · wᵀ + b (nullable), row i of x starting at
 * x + i · @lda and holding K floats (rows may overlap, as the frames of a
 * strided 1-D convolution over [T, C] data do). w is [N, K] as
 * sf_op_linear takes it, f32 or packed for f32. out must not overlap x. */
void sf_op_linear_rows (float *out, const float *x, gint64 m, gint64 lda,
    const SfTensor *w, const SfTensor *b);

G_END_DECLS
