/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: multi-head scaled dot-product attention (conventions
 * in core/ops/ops.h). */
#pragma once

#include "core/precision.h"
#include "core/tensor.h"

G_BEGIN_DECLS

/* Multi-head scaled dot-product attention.
 *   q [B, T, H], k [B, S, H], v [B, S, H], out [B, T, H], H = n_heads · D.
 *   mask: NULL or [B, S] (any integer or float dtype); positions where
 *   mask == 0 are excluded (padding). causal: query t sees keys
 *   ≤ t + S − T (keys ≤ t when S = T; with a KV cache the queries are the
 *   last T positions).
 *   Scores are scaled by 1/√D. out must not alias q, k or v. */
void sf_op_attention (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const SfTensor *mask, gboolean causal);

/* sf_op_attention with the scores multiplied by @scale (not 1/√D) and
 * @bias (NULL or F32 [n_heads, T, S], shared by the batch) added to them
 * before masking and softmax: T5's relative position bias. */
void sf_op_attention_biased (SfTensor *out, const SfTensor *q,
    const SfTensor *k, const SfTensor *v, int n_heads, const SfTensor *mask,
    gboolean causal, const SfTensor *bias, float scale);

/* Attention over packed sequences: q, k, v and out [N, H] hold @n_seqs
 * sequences one after another, sequence b at rows
 * [offsets[b], offsets[b + 1]) (offsets[0] = 0, offsets[n_seqs] = N).
 * Each sequence attends to its own rows only, as sf_op_attention would
 * with that sequence alone (causal: keys ≤ the query's own position).
 * out must not alias q, k or v. */
void sf_op_attention_packed (SfTensor *out, const SfTensor *q,
    const SfTensor *k, const SfTensor *v, int n_heads, const gint64 *offsets,
    gint64 n_seqs, gboolean causal);

/* sf_op_attention on the output of one fused product (a layer's q, k and
 * v weights concatenated, core/ops/linear-packed.h): qkv [B, T, 3H] holds
 * each token's q, k and v one after another; the keys are the queries'
 * own tokens (S = T). out [B, T, H] must not alias qkv. At
 * SF_PRECISION_BF16, on a CPU with AVX512_BF16 and without a causal
 * mask, the two products (q · kᵀ and the softmax weights times v) take
 * bf16 operands with f32 sums, as the layer's linear products do; the
 * softmax stays f32. Otherwise, and at int8, everything is f32. */
void sf_op_attention_qkv (SfTensor *out, const SfTensor *qkv, int n_heads,
    const SfTensor *mask, gboolean causal, SfPrecision precision);

/* sf_op_attention_packed on a fused product's output: qkv [N, 3H], out
 * [N, H]; @precision as above. */
void sf_op_attention_qkv_packed (SfTensor *out, const SfTensor *qkv,
    int n_heads, const gint64 *offsets, gint64 n_seqs, gboolean causal,
    SfPrecision precision);

G_END_DECLS
