/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: SegFormer's folded decode head (see the header). */
#include "graphs/families/segformer-head.h"
#include "core/ops/ops.h"

#include <string.h>

void
sf_seg_head_fold (SfSegHead *head, int n_stages, SfTensor *const *mlp_w,
    SfTensor *const *mlp_b, const SfTensor *fuse_w)
{
  gint64 d = fuse_w->shape[0], cat = fuse_w->shape[1];
  const float *f = sf_tensor_f32 (fuse_w);

  g_return_if_fail (n_stages > 0 && n_stages <= SF_SEG_HEAD_MAX_STAGES);
  g_return_if_fail (cat == n_stages * mlp_w[0]->shape[0]);
  head->n_stages = n_stages;
  for (int s = 0; s < n_stages; s++) {
    gint64 dm = mlp_w[s]->shape[0], c = mlp_w[s]->shape[1];
    /* the stage's columns of the concatenation, last stage first */
    gint64 off = (gint64)(n_stages - 1 - s) * dm;
    const float *w = sf_tensor_f32 (mlp_w[s]), *b = sf_tensor_f32 (mlp_b[s]);
    g_autoptr (SfTensor) folded = sf_tensor_new_f32 (2, d, c);
    SfTensor *bias = sf_tensor_new_f32 (1, d);
    g_autofree double *acc = g_new (double, c);

    for (gint64 o = 0; o < d; o++) {
      const float *fo = f + o * cat + off;
      double bsum = 0.0;

      for (gint64 j = 0; j < c; j++)
        acc[j] = 0.0;
      for (gint64 i = 0; i < dm; i++) {
        for (gint64 j = 0; j < c; j++)
          acc[j] += (double)fo[i] * w[i * c + j];
        bsum += (double)fo[i] * b[i];
      }
      for (gint64 j = 0; j < c; j++)
        sf_tensor_f32 (folded)[o * c + j] = (float)acc[j];
      sf_tensor_f32 (bias)[o] = (float)bsum;
    }
    head->proj_w[s] = sf_linear_pack (folded, TRUE, SF_PRECISION_F32);
    head->proj_b[s] = bias;
  }
}

void
sf_seg_head_clear (SfSegHead *head)
{
  for (int s = 0; s < SF_SEG_HEAD_MAX_STAGES; s++) {
    g_clear_pointer (&head->proj_w[s], sf_tensor_unref);
    g_clear_pointer (&head->proj_b[s], sf_tensor_unref);
  }
  head->n_stages = 0;
}

SfTensor *
sf_seg_tokens_to_map (const SfTensor *tokens, gint64 h, gint64 w)
{
  gint64 b = tokens->shape[0], c = tokens->shape[2];
  SfTensor *map = sf_tensor_new_f32 (4, b, c, h, w);
  g_autoptr (SfTensor) map3 =
      sf_tensor_reshape (map, 3, (gint64[]){ b, c, h * w });
  sf_op_transpose_last2 (map3, tokens);
  return map;
}

void
sf_seg_head_fuse (const SfSegHead *head, SfTensor *fused,
    SfTensor *const *tokens, const gint64 *hs, const gint64 *ws)
{
  gint64 b = fused->shape[0], d = fused->shape[1];

  for (int s = 0; s < head->n_stages; s++) {
    gint64 n = tokens[s]->shape[1];
    g_autoptr (SfTensor) proj = sf_tensor_new_f32 (3, b, n, d);
    g_autoptr (SfTensor) map = NULL;

    sf_op_linear (proj, tokens[s], head->proj_w[s], head->proj_b[s]);
    map = sf_seg_tokens_to_map (proj, hs[s], ws[s]);
    if (s == 0) {
      /* the first stage is at the fused size already */
      memcpy (
          sf_tensor_f32 (fused), sf_tensor_f32 (map), sf_tensor_nbytes (fused));
    } else {
      g_autoptr (SfTensor) up =
          sf_tensor_new_f32 (4, b, d, fused->shape[2], fused->shape[3]);
      sf_op_resize_bilinear (up, map);
      sf_op_add (fused, fused, up);
    }
  }
}
