/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: SegFormer's decode head with linear_fuse folded in.
 *
 * The head projects each stage's tokens to D channels (linear_c),
 * upsamples them to the first stage's size, concatenates them and mixes
 * the concatenation with a 1x1 conv (linear_fuse, no bias) before
 * BatchNorm. Projection, bilinear upsampling and the 1x1 conv are all
 * linear, and upsampling keeps constants, so the conv's slice for a stage
 * can be multiplied into that stage's projection once, at load:
 *   fuse (cat_s (up (W_s x_s + b_s))) = Σ_s up (F_s W_s x_s + F_s b_s).
 * A pass then projects each stage straight to the fused channels at its
 * own resolution and adds the upsampled maps: the full-resolution
 * S·D → D product, about half of segformer-b0's work at 512², is gone.
 */
#pragma once

#include "core/precision.h"
#include "core/tensor.h"

G_BEGIN_DECLS

#define SF_SEG_HEAD_MAX_STAGES 8

typedef struct
{
  int n_stages;
  SfTensor *proj_w[SF_SEG_HEAD_MAX_STAGES]; /* [D, C_s], F_s · W_s */
  SfTensor *proj_b[SF_SEG_HEAD_MAX_STAGES]; /* [D], F_s · b_s */
} SfSegHead;

/* Folds @fuse_w [D, S · D, 1, 1] (stages concatenated last first) into
 * each stage's linear_c @mlp_w [D, C_s] and @mlp_b [D], in double
 * precision; the products are packed for f32 (core/ops/linear-packed.h). */
void sf_seg_head_fold (SfSegHead *head, int n_stages, SfTensor *const *mlp_w,
    SfTensor *const *mlp_b, const SfTensor *fuse_w);
void sf_seg_head_clear (SfSegHead *head);
/* fused [B, D, hs[0], ws[0]] = Σ_s up (proj_s (tokens[s] [B, hs·ws, C_s])):
 * the input of the head's BatchNorm. */
void sf_seg_head_fuse (const SfSegHead *head, SfTensor *fused,
    SfTensor *const *tokens, const gint64 *hs, const gint64 *ws);

/* tokens [B, h·w, C] as a map [B, C, h, w] (transfer full) */
SfTensor *sf_seg_tokens_to_map (const SfTensor *tokens, gint64 h, gint64 w);

G_END_DECLS
