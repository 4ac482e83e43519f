/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-channel normalisation of [B, C, ...] maps and
 * weight norm (conventions in core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* BatchNorm2d in eval mode over x [B, C, ...]:
 * (x - mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c]. In place allowed. */
void sf_op_batch_norm (SfTensor *out, const SfTensor *x, const SfTensor *mean,
    const SfTensor *var, const SfTensor *gamma, const SfTensor *beta,
    float eps);

/* nn.GroupNorm over x [B, C, ...]: the channels fall into @groups equal
 * groups, each normalised over its channels and positions (biased
 * variance), then scaled per channel: gamma [C], beta [C] (both or
 * neither). In place allowed. */
void sf_op_group_norm (SfTensor *out, const SfTensor *x, int groups,
    const SfTensor *gamma, const SfTensor *beta, float eps);

/* torch weight_norm: out = g · v / ‖v‖, the norm taken over every
 * dimension but @dim, separately for each index along @dim. v and out
 * share a shape; g has v's size along @dim and 1 elsewhere. */
/* GroupNorm with one group per channel (wav2vec2's first conv layer) on
 * channels-last frames: x [B, T, C], each channel normalised over T,
 * then gamma, beta [C] (nullable). out may be x. */
void sf_op_channel_norm_frames (SfTensor *out, const SfTensor *x,
    const SfTensor *gamma, const SfTensor *beta, float eps);
void sf_op_weight_norm (
    SfTensor *out, const SfTensor *g, const SfTensor *v, int dim);

G_END_DECLS
