/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: pooling over the sequence (conventions in
 * core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* out[B, H] = Σ_t x[b,t,:]·mask[b,t] / max(Σ_t mask[b,t], 1e-9)  (mask [B, T]
 * of any dtype, or NULL for all ones). */
void sf_op_mean_pool (SfTensor *out, const SfTensor *x, const SfTensor *mask);
/* out[b, :] = x[b, 0, :]  (x [B, T, H], out [B, H]; out may be a view of x). */
void sf_op_first_token (SfTensor *out, const SfTensor *x);

/* Packed sequences (rows [offsets[b], offsets[b + 1]) of x [N, H], see
 * sf_op_attention_packed): out [B, H] holds each sequence's mean row, or
 * its first row. An empty sequence gives zeros. */
void sf_op_segment_mean (
    SfTensor *out, const SfTensor *x, const gint64 *offsets, gint64 n_seqs);
void sf_op_segment_first (
    SfTensor *out, const SfTensor *x, const gint64 *offsets, gint64 n_seqs);

G_END_DECLS
