/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the post-LN transformer encoder layer shared by the
 * BERT family. Mirrors modeling_bert.BertLayer (self-attention, output
 * dense + residual + LayerNorm, intermediate dense + activation, output
 * dense + residual + LayerNorm); DistilBERT's TransformerBlock is the same
 * computation under other weight names. */
#pragma once

#include "core/ops/ops.h"
#include "graphs/weights.h"

G_BEGIN_DECLS

/* After sf_encoder_layers_fuse_qkv (), q_w [3H, H] and q_b [3H] (nullable)
 * hold the query, key and value weights and biases one after another, and
 * the k_* and v_* slots are NULL. */
typedef struct
{
  SfTensor *q_w, *q_b; /* [H, H], [H] */
  SfTensor *k_w, *k_b;
  SfTensor *v_w, *v_b;
  SfTensor *o_w, *o_b;             /* attention output projection */
  SfTensor *ln1_g, *ln1_b;         /* [H] after attention */
  SfTensor *ffn_in_w, *ffn_in_b;   /* [I, H], [I] */
  SfTensor *ffn_out_w, *ffn_out_b; /* [H, I], [H] */
  SfTensor *ln2_g, *ln2_b;         /* [H] after the feed-forward */
} SfEncoderLayer;

typedef struct
{
  int n_heads;
  SfActivation act;
  float eps;
  gboolean causal; /* token t attends to tokens ≤ t (CLIP text) */
} SfEncoderParams;

/* (transfer full) x [B, T, H] → [B, T, H]; mask [B, T] or NULL. */
SfTensor *sf_encoder_layer_post_ln (const SfEncoderLayer *layer,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask);

/* (transfer full) runs @n_layers layers over @x (transfer full). When
 * @hidden_states is non-NULL, appends the input of every layer and the
 * final output (HF's output_hidden_states order). */
SfTensor *sf_encoder_stack_post_ln (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask,
    GPtrArray *hidden_states);

/* sf_encoder_stack_post_ln on packed sequences: x [N, H] (transfer full)
 * holds @n_seqs sequences one after another, sequence b at rows
 * [offsets[b], offsets[b + 1]); each attends to its own rows only, so
 * every row comes out as it would from that sequence run alone. */
SfTensor *sf_encoder_stack_post_ln_packed (const SfEncoderLayer *layers,
    int n_layers, const SfEncoderParams *params, SfTensor *x,
    const gint64 *offsets, gint64 n_seqs, GPtrArray *hidden_states);

/* Pre-LN layer, mirroring modeling_vit.ViTLayer: h = x + attn (LN1 (x)),
 * out = h + ffn (LN2 (h)); ln1 is layernorm_before, ln2 layernorm_after.
 * (transfer full) x [B, T, H] → [B, T, H]; mask [B, T] or NULL. */
SfTensor *sf_encoder_layer_pre_ln (const SfEncoderLayer *layer,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask);

/* sf_encoder_stack_post_ln with pre-LN layers (no final LayerNorm). */
SfTensor *sf_encoder_stack_pre_ln (const SfEncoderLayer *layers, int n_layers,
    const SfEncoderParams *params, SfTensor *x, const SfTensor *mask,
    GPtrArray *hidden_states);

/* sf_encoder_stack_pre_ln on packed sequences, as
 * sf_encoder_stack_post_ln_packed. */
SfTensor *sf_encoder_stack_pre_ln_packed (const SfEncoderLayer *layers,
    int n_layers, const SfEncoderParams *params, SfTensor *x,
    const gint64 *offsets, gint64 n_seqs, GPtrArray *hidden_states);

/* Fuses each layer's query, key and value weights into one product where
 * they were packed alike at load (core/ops/linear-packed.h): one pass of
 * the input's rounding and one hand-off to the pool instead of three, and
 * attention reads the heads from the fused rows. Layers whose weights
 * stay unpacked (OpenBLAS) are left as they are; their results are the
 * same either way. */
void sf_encoder_layers_fuse_qkv (SfEncoderLayer *layers, int n_layers);

/* Slots of a family's size table that the shared layer tables below
 * read: families keep the hidden size at index 0 and the intermediate
 * (feed-forward) size at index 1. */
enum
{
  SF_ENCODER_SIZE_HIDDEN = 0,
  SF_ENCODER_SIZE_INTER = 1,
};

/* Per-layer weights of ViT-style encoders (modeling_vit.ViTLayer: the
 * layernorm_before/after pre-LN layer), shared by ViT and AST; the
 * query/key/value biases are separate because qkv_bias may drop them. */
extern const SfWeightSpec sf_encoder_vit_layer_weights[];
extern const guint sf_encoder_vit_layer_weights_len;
extern const SfWeightSpec sf_encoder_vit_qkv_bias_weights[];
extern const guint sf_encoder_vit_qkv_bias_weights_len;

G_END_DECLS
