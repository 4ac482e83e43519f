/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: an encoder-decoder's cross-attention keys and
 * values, projected once per layer from the encoder output and read by
 * every decoding step. */
#pragma once

#include <glib.h>

#include "core/tensor.h"

G_BEGIN_DECLS

typedef struct
{
  int n_layers;
  SfTensor **k, **v; /* n_layers × [Bs, S, width] */
} SfCrossKv;

/* An empty set for @n_layers layers; each is filled by
 * sf_cross_kv_project(). (transfer full) */
SfCrossKv *sf_cross_kv_new (int n_layers);
void sf_cross_kv_free (SfCrossKv *cross); /* accepts NULL */

/* Projects @enc [Bs, S, D] through @layer's key and value weights (the
 * biases nullable). */
void sf_cross_kv_project (SfCrossKv *cross, int layer, const SfTensor *enc,
    const SfTensor *k_w, const SfTensor *k_b, const SfTensor *v_w,
    const SfTensor *v_b);

/* Keeps rows @src[i] as rows i of every layer, for @n rows (beam search
 * over per-row sources). */
void sf_cross_kv_gather (SfCrossKv *cross, const guint *src, guint n);

G_END_DECLS
