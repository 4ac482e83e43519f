/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: bilinear resizing and channel argmax of [B, C, H, W]
 * feature maps (conventions in core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* F.interpolate (mode="bilinear", align_corners=False) of x [B, C, H, W]
 * to out [B, C, Ho, Wo]. */
void sf_op_resize_bilinear (SfTensor *out, const SfTensor *x);
/* out [B, H, W] I32 = argmax over C of x [B, C, H, W] (first maximum wins). */
void sf_op_argmax_channels (SfTensor *out, const SfTensor *x);
/* argmax over C of x [B, C, H, W] bilinearly resized to out [B, Ho, Wo]
 * (I32), without materialising the resized [B, C, Ho, Wo] map. Gives the
 * same labels as sf_op_resize_bilinear then sf_op_argmax_channels. */
void sf_op_resize_bilinear_argmax (SfTensor *out, const SfTensor *x);

G_END_DECLS
