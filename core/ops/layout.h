/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: layout ops: transposes, concatenation and copies
 * (conventions in core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* out [B, N, M] = x [B, M, N] transposed per batch item: tokens [B, HW, C]
 * ↔ feature maps [B, C, HW]. out must not alias x. */
void sf_op_transpose_last2 (SfTensor *out, const SfTensor *x);
/* Concatenates @n tensors of out's dtype along @dim (all other dimensions
 * equal). */
void sf_op_concat (SfTensor *out, SfTensor *const *inputs, guint n, int dim);
/* The inverse of sf_op_concat: splits @x along @dim into @n tensors of
 * its dtype (all other dimensions equal), e.g. a fused [N, 3H] projection
 * into q, k and v [N, H]. */
void sf_op_split (
    SfTensor *const *outputs, guint n, const SfTensor *x, int dim);
/* Copies x into out (same dtype and element count; shapes may differ;
 * overlapping buffers allowed). */
void sf_op_copy (SfTensor *out, const SfTensor *x);

G_END_DECLS
