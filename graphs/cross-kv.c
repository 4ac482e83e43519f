/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: cross-attention keys and values
 * (graphs/cross-kv.h). */
#include "graphs/cross-kv.h"
#include "core/ops/linear.h"

#include <string.h>

SfCrossKv *
sf_cross_kv_new (int n_layers)
{
  SfCrossKv *c = g_new0 (SfCrossKv, 1);

  c->n_layers = n_layers;
  c->k = g_new0 (SfTensor *, n_layers);
  c->v = g_new0 (SfTensor *, n_layers);
  return c;
}

void
sf_cross_kv_free (SfCrossKv *c)
{
  if (c == NULL)
    return;
  for (int l = 0; l < c->n_layers; l++) {
    sf_tensor_unref (c->k[l]);
    sf_tensor_unref (c->v[l]);
  }
  g_free (c->k);
  g_free (c->v);
  g_free (c);
}

void
sf_cross_kv_project (SfCrossKv *c, int layer, const SfTensor *enc,
    const SfTensor *k_w, const SfTensor *k_b, const SfTensor *v_w,
    const SfTensor *v_b)
{
  gint64 bs = enc->shape[0], s = enc->shape[1];

  g_clear_pointer (&c->k[layer], sf_tensor_unref);
  g_clear_pointer (&c->v[layer], sf_tensor_unref);
  c->k[layer] = sf_tensor_new_f32 (3, bs, s, sf_tensor_dim (k_w, 0));
  c->v[layer] = sf_tensor_new_f32 (3, bs, s, sf_tensor_dim (v_w, 0));
  sf_op_linear (c->k[layer], enc, k_w, k_b);
  sf_op_linear (c->v[layer], enc, v_w, v_b);
}

/* (transfer full) rows @src of @t [B, S, W] as a new [n, S, W]. */
static SfTensor *
gather (const SfTensor *t, const guint *src, guint n)
{
  gint64 row = t->shape[1] * t->shape[2];
  SfTensor *out = sf_tensor_new_f32 (3, (gint64)n, t->shape[1], t->shape[2]);

  for (guint i = 0; i < n; i++)
    memcpy (sf_tensor_f32 (out) + i * row, sf_tensor_f32 (t) + src[i] * row,
        row * sizeof (float));
  return out;
}

void
sf_cross_kv_gather (SfCrossKv *c, const guint *src, guint n)
{
  for (int l = 0; l < c->n_layers; l++) {
    SfTensor *k = gather (c->k[l], src, n);
    SfTensor *v = gather (c->v[l], src, n);
    sf_tensor_unref (c->k[l]);
    sf_tensor_unref (c->v[l]);
    c->k[l] = k;
    c->v[l] = v;
  }
}
