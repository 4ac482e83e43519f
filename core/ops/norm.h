/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-row ops over the last dimension (layer norm,
 * RMS norm, softmax, L2 normalisation; conventions in core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* Over the last dimension: (x - mean) / sqrt(var + eps) · gamma + beta. */
void sf_op_layer_norm (SfTensor *out, const SfTensor *x, const SfTensor *gamma,
    const SfTensor *beta, float eps);
/* Over the last dimension: x / sqrt(mean(x²) + eps) · gamma (T5LayerNorm:
 * no mean subtraction, no bias). */
void sf_op_rms_norm (
    SfTensor *out, const SfTensor *x, const SfTensor *gamma, float eps);

/* Numerically stable softmax over the last dimension. */
void sf_op_softmax (SfTensor *out, const SfTensor *x);
/* x / max(‖x‖₂, eps) over the last dimension (eps = 1e-12, as torch.nn.functional.normalize). */
void sf_op_l2_normalize (SfTensor *out, const SfTensor *x);

G_END_DECLS
