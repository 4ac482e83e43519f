/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: convolutions over [B, C, H, W] feature maps and
 * [B, C, T] sequences (conventions in core/ops/ops.h). out must not alias
 * an input. */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

typedef struct
{
  int stride[2];  /* [h, w] */
  int padding[2]; /* zeros on each side: [h, w] */
  int groups;     /* 1 = dense; C_in = depthwise */
} SfConv2dParams;

/* The output size along one axis, or 0 when the kernel does not fit. */
gint64 sf_conv2d_out_size (gint64 in, int kernel, int stride, int padding);
/* PyTorch nn.Conv2d: x [B, Cin, H, W], w [Cout, Cin/groups, kh, kw],
 * b [Cout] or NULL → out [B, Cout, Ho, Wo] with
 * Ho = (H + 2·pad_h - kh) / stride_h + 1 (and the same for W). */
void sf_op_conv2d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, const SfConv2dParams *params);

/* Output frames of a 1-D convolution, or 0 when the kernel does not fit. */
gint64 sf_conv1d_out_size (gint64 in, int kernel, int stride, int padding);
/* PyTorch nn.Conv1d: x [B, Cin, T], w [Cout, Cin/groups, K], b [Cout] or
 * NULL → out [B, Cout, To], To = sf_conv1d_out_size (T, K, stride,
 * padding). */
void sf_op_conv1d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, int stride, int padding, int groups);

/* A 1-D convolution over channels-last frames, without groups: frame t
 * of x [B, T, Cin] starts K frames that lie next to each other in memory,
 * so the output [B, To, Cout] is one product of overlapping rows
 * (sf_op_linear_rows) with the weight reordered once by
 * sf_conv1d_frames_weight (). With @padding, each batch item's frames are
 * first copied between that many zero frames on each side. @kernel,
 * @stride and @padding as nn.Conv1d's. */
void sf_op_conv1d_frames (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, int kernel, int stride, int padding);
/* (transfer full) nn.Conv1d's w [Cout, Cin, K] as [Cout, K · Cin], packed
 * for f32 (core/ops/linear-packed.h). */
SfTensor *sf_conv1d_frames_weight (const SfTensor *w);
/* The same with @groups groups, stride 1 and @padding zero frames on each
 * side (wav2vec2's positional conv): x [B, T, Cin] → out [B, To, Cout].
 * Each group's channels are copied to a padded [T + 2p, Cin/G] block, so
 * its frames lie next to each other again. w[g] is
 * sf_conv1d_frames_weight () of group g's [Cout/G, Cin/G, K] slice. */
void sf_op_conv1d_frames_grouped (SfTensor *out, const SfTensor *x,
    SfTensor *const *w, const SfTensor *b, int groups, int kernel, int padding);

G_END_DECLS
