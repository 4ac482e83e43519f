/* Streamformer core: ops on NCHW feature maps (vision models).
 *
 * Same conventions as core/ops.h: the output comes first, shapes are
 * checked with g_return_val_if_fail (programming errors), and graph code
 * composes these ops without looping over elements. Unless stated, the
 * output must not alias an input.
 */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

typedef struct
{
  int stride[2];  /* (h, w) */
  int padding[2]; /* zeros on each side: (h, w) */
  int groups;     /* 1 = dense; C_in = depthwise */
} SfConv2dParams;

/* PyTorch nn.Conv2d: x [B, Cin, H, W], w [Cout, Cin/groups, kh, kw],
 * b [Cout] or NULL → out [B, Cout, Ho, Wo] with
 * Ho = (H + 2·pad_h - kh) / stride_h + 1 (and the same for W). */
gboolean sf_op_conv2d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, const SfConv2dParams *params);
/* The output size along one axis, or 0 when the kernel does not fit. */
gint64 sf_conv2d_out_size (gint64 in, int kernel, int stride, int padding);

/* BatchNorm2d in eval mode over x [B, C, ...]:
 * (x - mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c]. In place allowed. */
gboolean sf_op_batch_norm (SfTensor *out, const SfTensor *x,
    const SfTensor *mean, const SfTensor *var, const SfTensor *gamma,
    const SfTensor *beta, float eps);

/* F.interpolate (mode="bilinear", align_corners=False) of x [B, C, H, W]
 * to out [B, C, Ho, Wo]. */
gboolean sf_op_resize_bilinear (SfTensor *out, const SfTensor *x);
/* out [B, H, W] I32 = argmax over C of x [B, C, H, W] (first maximum wins). */
gboolean sf_op_argmax_channels (SfTensor *out, const SfTensor *x);
/* argmax over C of x [B, C, H, W] bilinearly resized to out [B, Ho, Wo]
 * (I32), without materialising the resized [B, C, Ho, Wo] map. Gives the
 * same labels as sf_op_resize_bilinear then sf_op_argmax_channels. */
gboolean sf_op_resize_bilinear_argmax (SfTensor *out, const SfTensor *x);

/* out [B, N, M] = x [B, M, N] transposed per batch item: tokens [B, HW, C]
 * ↔ feature maps [B, C, HW]. */
gboolean sf_op_transpose_last2 (SfTensor *out, const SfTensor *x);
/* Concatenates @n tensors along @dim (all other dimensions equal). */
gboolean sf_op_concat (
    SfTensor *out, SfTensor *const *inputs, guint n, int dim);
/* Copies x into out (same element count; shapes may differ). */
gboolean sf_op_copy (SfTensor *out, const SfTensor *x);

G_END_DECLS
