/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: GPT-2 state shared by gpt2.c (loading, the full
 * forward) and gpt2-decode.c (the incremental decoder with KV caches).
 * Not installed. */
#pragma once

#include "graphs/model-private.h"
#include "graphs/weights.h"
#include "core/ops/ops.h"

G_BEGIN_DECLS

enum
{
  GPT2_SZ_EMBD,  /* n_embd, D */
  GPT2_SZ_QKV,   /* 3 · n_embd, the fused c_attn output */
  GPT2_SZ_INNER, /* n_inner, F (4 · n_embd when null) */
  GPT2_SZ_VOCAB,
  GPT2_SZ_POS, /* n_positions */
  GPT2_SZ_COUNT
};

/* One GPT2Block. Weights are HF Conv1D: stored [in, out]. */
typedef struct
{
  SfTensor *ln1_g, *ln1_b;   /* ln_1 (D) */
  SfTensor *attn_w, *attn_b; /* attn.c_attn [D, 3D], (3D) */
  SfTensor *proj_w, *proj_b; /* attn.c_proj [D, D], (D) */
  SfTensor *ln2_g, *ln2_b;   /* ln_2 (D) */
  SfTensor *fc_w, *fc_b;     /* mlp.c_fc [D, F], (F) */
  SfTensor *out_w, *out_b;   /* mlp.c_proj [F, D], (D) */
} Gpt2Layer;

typedef struct
{
  SfTensor *wte;           /* [V, D], also the tied LM head */
  SfTensor *wpe;           /* [P, D] */
  SfTensor *lnf_g, *lnf_b; /* ln_f (D) */
  SfTensor *lm_head;       /* [V, D]; NULL when tied to wte */
} Gpt2Globals;

typedef struct
{
  Gpt2Globals g;
  Gpt2Layer *layers; /* n_layers */
  int n_layers, n_heads;
  float eps;
  SfActivation act;
  /* per layer, the factor on q that turns the attention op's 1/√d into
   * GPT-2's score scale (scale_attn_weights, scale_attn_by_inverse_
   * layer_idx); 1 when they agree */
  float *q_factor;
  gint64 sizes[GPT2_SZ_COUNT];
  gint64 bos_token_id, eos_token_id; /* -1 when unset */
  SfWeightTarget target;
  SfTensor *head; /* the LM head packed for bf16/int8, else NULL */
  SfModel *model; /* not owned: the model owning this graph */
} Gpt2Graph;

/* gpt2.c: the pieces of a GPT2Block both forwards share, over rows
 * x [N, D].
 * q, k, v [N, D] = c_attn (ln_1 (x)) split, q already scaled. */
void sf_gpt2_block_qkv (const Gpt2Graph *g, int layer, const SfTensor *x,
    SfTensor *q, SfTensor *k, SfTensor *v);
/* x += c_proj (ctx); x += mlp (ln_2 (x)), in place; ctx [N, D]. */
void sf_gpt2_block_finish (
    const Gpt2Graph *g, int layer, SfTensor *x, const SfTensor *ctx);
/* x [N, D] = wte[ids] + wpe[positions]. */
gboolean sf_gpt2_embed (const Gpt2Graph *g, SfTensor *x, const gint64 *ids,
    const gint64 *positions, gint64 n, GError **error);
/* The LM head's weight [V, D]: lm_head, or wte when tied. */
const SfTensor *sf_gpt2_lm_head (const Gpt2Graph *g);

/* gpt2-decode.c: the family's decoder_new hook. */
SfDecoder *sf_gpt2_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error);

G_END_DECLS
