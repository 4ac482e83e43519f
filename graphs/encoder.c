/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: post-LN transformer encoder layer.
 *
 * Every op of a layer but attention works row by row, so a layer runs
 * alike on a padded batch x [B, T, H] (attention masked per item) and on
 * packed sequences x [N, H], the real tokens of several texts one after
 * another (attention per sequence over its own rows): the packed form
 * spends nothing on padding. */
#include "graphs/encoder.h"

#include <stddef.h>
#include <string.h>

/* A layer's activations: each is the output of a linear layer or of
 * attention, which write every element, so none is zero-filled first. */
static SfTensor *
new_like (const SfTensor *x, gint64 last)
{
  gint64 shape[SF_TENSOR_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++)
    shape[i] = x->shape[i];
  shape[x->ndim - 1] = last;
  return sf_tensor_new_uninit (SF_DTYPE_F32, x->ndim, shape);
}

/* Which tokens attend to which: a padded batch's mask, or packed
 * sequences' row offsets. */
typedef struct
{
  const SfTensor *mask;  /* padded: [B, T] or NULL */
  const gint64 *offsets; /* packed: [n_seqs + 1], or NULL */
  gint64 n_seqs;
} Seqs;

static void
attend (SfTensor *ctx, const SfTensor *q, const SfTensor *k, const SfTensor *v,
    const SfEncoderParams *params, const Seqs *seqs)
{
  if (seqs->offsets != NULL)
    sf_op_attention_packed (ctx, q, k, v, params->n_heads, seqs->offsets,
        seqs->n_seqs, params->causal);
  else
    sf_op_attention (ctx, q, k, v, params->n_heads, seqs->mask, params->causal);
}

/* ctx [.., H] = self-attention over x's tokens, before the output
 * projection: one fused product for q, k and v where the layer has one. */
static void
self_attend (SfTensor *ctx, const SfEncoderLayer *layer,
    const SfEncoderParams *params, const SfTensor *x, const Seqs *seqs)
{
  gint64 hidden = sf_tensor_dim (x, -1);

  if (layer->k_w == NULL) {
    g_autoptr (SfTensor) qkv = new_like (x, 3 * hidden); /* [.., 3H] */

    /* attention's products at the precision of the layer's */
    SfPrecision precision = sf_linear_weight_precision (layer->q_w);

    sf_op_linear (qkv, x, layer->q_w, layer->q_b);
    if (seqs->offsets != NULL)
      sf_op_attention_qkv_packed (ctx, qkv, params->n_heads, seqs->offsets,
          seqs->n_seqs, params->causal, precision);
    else
      sf_op_attention_qkv (
          ctx, qkv, params->n_heads, seqs->mask, params->causal, precision);
  } else {
    g_autoptr (SfTensor) q = new_like (x, hidden); /* [.., H] */
    g_autoptr (SfTensor) k = new_like (x, hidden);
    g_autoptr (SfTensor) v = new_like (x, hidden);

    sf_op_linear (q, x, layer->q_w, layer->q_b);
    sf_op_linear (k, x, layer->k_w, layer->k_b);
    sf_op_linear (v, x, layer->v_w, layer->v_b);
    attend (ctx, q, k, v, params, seqs);
  }
}

static SfTensor *
layer_post_ln (const SfEncoderLayer *layer, const SfEncoderParams *params,
    SfTensor *x, const Seqs *seqs)
{
  gint64 hidden = sf_tensor_dim (x, -1);
  g_autoptr (SfTensor) ctx = new_like (x, hidden); /* [B, T, H] */
  g_autoptr (SfTensor) attn = new_like (x, hidden);
  SfTensor *out = new_like (x, hidden);

  /* self-attention block */
  self_attend (ctx, layer, params, x, seqs);
  sf_op_linear (attn, ctx, layer->o_w, layer->o_b);
  sf_op_add (attn, attn, x);
  sf_op_layer_norm (attn, attn, layer->ln1_g, layer->ln1_b, params->eps);

  /* feed-forward block */
  sf_op_feed_forward (out, attn, layer->ffn_in_w, layer->ffn_in_b, params->act,
      layer->ffn_out_w, layer->ffn_out_b);
  sf_op_add (out, out, attn);
  sf_op_layer_norm (out, out, layer->ln2_g, layer->ln2_b, params->eps);
  return out;
}

SfTensor *
sf_encoder_layer_post_ln (const SfEncoderLayer *layer,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask)
{
  Seqs seqs = { mask, NULL, 0 };

  return layer_post_ln (layer, params, x, &seqs);
}

static SfTensor *
stack_post_ln (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const Seqs *seqs,
    GPtrArray *hidden_states)
{
  for (int l = 0; l < n_layers; l++) {
    SfTensor *next;
    if (hidden_states)
      g_ptr_array_add (hidden_states, sf_tensor_ref (x));
    next = layer_post_ln (&layers[l], params, x, seqs);
    sf_tensor_unref (x);
    x = next;
  }
  if (hidden_states)
    g_ptr_array_add (hidden_states, sf_tensor_ref (x));
  return x;
}

SfTensor *
sf_encoder_stack_post_ln (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask,
    GPtrArray *hidden_states)
{
  Seqs seqs = { mask, NULL, 0 };

  return stack_post_ln (layers, n_layers, params, x, &seqs, hidden_states);
}

SfTensor *
sf_encoder_stack_post_ln_packed (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const gint64 *offsets,
    gint64 n_seqs, GPtrArray *hidden_states)
{
  Seqs seqs = { NULL, offsets, n_seqs };

  g_return_val_if_fail (x != NULL && x->ndim == 2 && offsets != NULL, x);
  return stack_post_ln (layers, n_layers, params, x, &seqs, hidden_states);
}

static SfTensor *
layer_pre_ln (const SfEncoderLayer *layer, const SfEncoderParams *params,
    SfTensor *x, const Seqs *seqs)
{
  gint64 hidden = sf_tensor_dim (x, -1);
  g_autoptr (SfTensor) normed = new_like (x, hidden); /* [B, T, H] */
  g_autoptr (SfTensor) ctx = new_like (x, hidden);
  SfTensor *attn = new_like (x, hidden);
  SfTensor *out = new_like (x, hidden);

  /* self-attention block on the normalised input, plus the residual */
  sf_op_layer_norm (normed, x, layer->ln1_g, layer->ln1_b, params->eps);
  self_attend (ctx, layer, params, normed, seqs);
  sf_op_linear (attn, ctx, layer->o_w, layer->o_b);
  sf_op_add (attn, attn, x);

  /* feed-forward block, likewise */
  sf_op_layer_norm (normed, attn, layer->ln2_g, layer->ln2_b, params->eps);
  sf_op_feed_forward (out, normed, layer->ffn_in_w, layer->ffn_in_b,
      params->act, layer->ffn_out_w, layer->ffn_out_b);
  sf_op_add (out, out, attn);
  sf_tensor_unref (attn);
  return out;
}

SfTensor *
sf_encoder_layer_pre_ln (const SfEncoderLayer *layer,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask)
{
  Seqs seqs = { mask, NULL, 0 };

  return layer_pre_ln (layer, params, x, &seqs);
}

static SfTensor *
stack_pre_ln (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const Seqs *seqs,
    GPtrArray *hidden_states)
{
  for (int l = 0; l < n_layers; l++) {
    SfTensor *next;
    if (hidden_states)
      g_ptr_array_add (hidden_states, sf_tensor_ref (x));
    next = layer_pre_ln (&layers[l], params, x, seqs);
    sf_tensor_unref (x);
    x = next;
  }
  if (hidden_states)
    g_ptr_array_add (hidden_states, sf_tensor_ref (x));
  return x;
}

SfTensor *
sf_encoder_stack_pre_ln (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask,
    GPtrArray *hidden_states)
{
  Seqs seqs = { mask, NULL, 0 };

  return stack_pre_ln (layers, n_layers, params, x, &seqs, hidden_states);
}

SfTensor *
sf_encoder_stack_pre_ln_packed (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const gint64 *offsets,
    gint64 n_seqs, GPtrArray *hidden_states)
{
  Seqs seqs = { NULL, offsets, n_seqs };

  g_return_val_if_fail (x != NULL && x->ndim == 2 && offsets != NULL, x);
  return stack_pre_ln (layers, n_layers, params, x, &seqs, hidden_states);
}

/* clang-format off */
#define H SF_ENCODER_SIZE_HIDDEN
#define I SF_ENCODER_SIZE_INTER
#define L(field) offsetof (SfEncoderLayer, field)
#define PL SF_WEIGHT_PER_LAYER

const SfWeightSpec sf_encoder_vit_layer_weights[] = {
  { "encoder.layer.{L}.layernorm_before.weight", { H, -1 }, PL, L (ln1_g) },
  { "encoder.layer.{L}.layernorm_before.bias", { H, -1 }, PL, L (ln1_b) },
  { "encoder.layer.{L}.attention.attention.query.weight", { H, H, -1 }, PL | SF_WEIGHT_LINEAR, L (q_w) },
  { "encoder.layer.{L}.attention.attention.key.weight", { H, H, -1 }, PL | SF_WEIGHT_LINEAR, L (k_w) },
  { "encoder.layer.{L}.attention.attention.value.weight", { H, H, -1 }, PL | SF_WEIGHT_LINEAR, L (v_w) },
  { "encoder.layer.{L}.attention.output.dense.weight", { H, H, -1 }, PL | SF_WEIGHT_LINEAR, L (o_w) },
  { "encoder.layer.{L}.attention.output.dense.bias", { H, -1 }, PL, L (o_b) },
  { "encoder.layer.{L}.layernorm_after.weight", { H, -1 }, PL, L (ln2_g) },
  { "encoder.layer.{L}.layernorm_after.bias", { H, -1 }, PL, L (ln2_b) },
  { "encoder.layer.{L}.intermediate.dense.weight", { I, H, -1 }, PL | SF_WEIGHT_LINEAR, L (ffn_in_w) },
  { "encoder.layer.{L}.intermediate.dense.bias", { I, -1 }, PL, L (ffn_in_b) },
  { "encoder.layer.{L}.output.dense.weight", { H, I, -1 }, PL | SF_WEIGHT_LINEAR, L (ffn_out_w) },
  { "encoder.layer.{L}.output.dense.bias", { H, -1 }, PL, L (ffn_out_b) },
};
const guint sf_encoder_vit_layer_weights_len =
    G_N_ELEMENTS (sf_encoder_vit_layer_weights);

/* (transfer full) (nullable) the biases @b[0..n) of products @n_out[i]
 * wide, one after another; zeros for a missing one, NULL when all are. */
static SfTensor *
concat_biases (SfTensor *const *b, const gint64 *n_out, int n)
{
  gint64 total = 0, col = 0;
  gboolean any = FALSE;
  SfTensor *out;

  for (int i = 0; i < n; i++) {
    total += n_out[i];
    any = any || b[i] != NULL;
  }
  if (!any)
    return NULL;
  out = sf_tensor_new (SF_DTYPE_F32, 1, &total);
  for (int i = 0; i < n; i++) {
    if (b[i] != NULL)
      memcpy (sf_tensor_f32 (out) + col, sf_tensor_f32 (b[i]),
          n_out[i] * sizeof (float));
    col += n_out[i];
  }
  return out;
}

void
sf_encoder_layers_fuse_qkv (SfEncoderLayer *layers, int n_layers)
{
  for (int l = 0; l < n_layers; l++) {
    SfEncoderLayer *layer = &layers[l];
    SfTensor *w[3] = { layer->q_w, layer->k_w, layer->v_w };
    SfTensor *b[3] = { layer->q_b, layer->k_b, layer->v_b };
    gint64 n_out[3];
    SfTensor *fused;

    if (layer->k_w == NULL) /* fused already */
      continue;
    fused = sf_linear_packed_concat (w, 3);
    if (fused == NULL)
      return;
    for (int i = 0; i < 3; i++)
      n_out[i] = w[i]->shape[0];
    sf_tensor_unref (layer->q_w);
    layer->q_w = fused;
    layer->q_b = concat_biases (b, n_out, 3);
    for (int i = 0; i < 3; i++)
      sf_tensor_unref (b[i]);
    g_clear_pointer (&layer->k_w, sf_tensor_unref);
    g_clear_pointer (&layer->v_w, sf_tensor_unref);
    layer->k_b = layer->v_b = NULL;
  }
}

const SfWeightSpec sf_encoder_vit_qkv_bias_weights[] = {
  { "encoder.layer.{L}.attention.attention.query.bias", { H, -1 }, PL, L (q_b) },
  { "encoder.layer.{L}.attention.attention.key.bias", { H, -1 }, PL, L (k_b) },
  { "encoder.layer.{L}.attention.attention.value.bias", { H, -1 }, PL, L (v_b) },
};
const guint sf_encoder_vit_qkv_bias_weights_len =
    G_N_ELEMENTS (sf_encoder_vit_qkv_bias_weights);
/* clang-format on */
