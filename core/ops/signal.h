/* Streamformer core: ops on [B, C, T] sequences of channels (speech
 * feature encoders).
 *
 * Same conventions as core/ops.h: the output comes first, shapes are
 * checked with g_return_val_if_fail (programming errors), and graph code
 * composes these ops without looping over elements.
 */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* Output frames of a 1-D convolution, or 0 when the kernel does not fit. */
gint64 sf_conv1d_out_size (gint64 in, int kernel, int stride, int padding);

/* PyTorch nn.Conv1d: x [B, Cin, T], w [Cout, Cin/groups, K], b [Cout] or
 * NULL → out [B, Cout, To], To = sf_conv1d_out_size (T, K, stride,
 * padding). out must not alias x. */
gboolean sf_op_conv1d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, int stride, int padding, int groups);

/* nn.GroupNorm over x [B, C, ...]: the channels fall into @groups equal
 * groups, each normalised over its channels and positions (biased
 * variance), then scaled per channel: gamma [C], beta [C] (both or
 * neither). In place allowed. */
gboolean sf_op_group_norm (SfTensor *out, const SfTensor *x, int groups,
    const SfTensor *gamma, const SfTensor *beta, float eps);

/* torch weight_norm: out = g · v / ‖v‖, the norm taken over every
 * dimension but @dim, separately for each index along @dim. v and out
 * share a shape; g has v's size along @dim and 1 elsewhere. */
gboolean sf_op_weight_norm (
    SfTensor *out, const SfTensor *g, const SfTensor *v, int dim);

G_END_DECLS
