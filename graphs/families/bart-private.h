/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: BART state shared by bart.c (config, weights,
 * encoder) and bart-decode.c (decoder with KV caches). Not installed. */
#pragma once

#include "graphs/encoder.h"
#include "graphs/model-private.h"
#include "graphs/weights.h"
#include "core/ops/ops.h"

G_BEGIN_DECLS

enum
{
  BART_SZ_D,       /* d_model; index 0 as graphs/encoder.h expects */
  BART_SZ_ENC_FFN, /* encoder_ffn_dim; index 1 likewise */
  BART_SZ_DEC_FFN,
  BART_SZ_VOCAB,
  BART_SZ_POS, /* max_position_embeddings + 2: the learned table's rows */
  BART_SZ_ONE, /* 1: final_logits_bias is [1, V] */
  BART_SZ_LABELS,
  BART_SZ_COUNT
};

/* BartLearnedPositionalEmbedding looks up position p at row p + 2. */
#define BART_POS_OFFSET 2
/* nn.LayerNorm's default epsilon; BART configs have no field for it. */
#define BART_LN_EPS 1e-5f

/* One BartAttention: every projection has a bias. */
typedef struct
{
  SfTensor *q_w, *q_b; /* [D, D], [D] */
  SfTensor *k_w, *k_b;
  SfTensor *v_w, *v_b;
  SfTensor *o_w, *o_b; /* out_proj */
} BartAttention;

/* BartDecoderLayer. */
typedef struct
{
  BartAttention self;
  SfTensor *ln_self_g, *ln_self_b;   /* self_attn_layer_norm [D] */
  BartAttention cross;               /* encoder_attn */
  SfTensor *ln_cross_g, *ln_cross_b; /* encoder_attn_layer_norm [D] */
  SfTensor *fc1_w, *fc1_b;           /* [F, D], [F] */
  SfTensor *fc2_w, *fc2_b;           /* [D, F], [D] */
  SfTensor *ln_ffn_g, *ln_ffn_b;     /* final_layer_norm [D] */
} BartDecoderLayer;

typedef struct
{
  SfTensor *shared;                      /* [V, D] model.shared */
  SfTensor *enc_embed, *dec_embed;       /* [V, D]; tied to shared */
  SfTensor *enc_pos, *dec_pos;           /* [P + 2, D] */
  SfTensor *enc_ln_emb_g, *enc_ln_emb_b; /* layernorm_embedding [D] */
  SfTensor *dec_ln_emb_g, *dec_ln_emb_b;
  SfTensor *enc_ln_g, *enc_ln_b;       /* encoder.layer_norm [D] (mBART) */
  SfTensor *dec_ln_g, *dec_ln_b;       /* decoder.layer_norm [D] (mBART) */
  SfTensor *lm_head;                   /* [V, D]; NULL when tied to shared */
  SfTensor *logits_bias;               /* final_logits_bias [1, V], optional */
  SfTensor *cls_dense_w, *cls_dense_b; /* classification_head.dense [D, D] */
  SfTensor *cls_out_w,
      *cls_out_b; /* classification_head.out_proj [labels, D] */
} BartGlobals;

/* Token ids the config names; -1 when unset. */
typedef struct
{
  gint64 pad, bos, eos;
  gint64 decoder_start;
  gint64 forced_bos, forced_eos; /* generation's; read and exposed only */
} BartTokens;

typedef struct
{
  BartGlobals g;
  SfEncoderLayer *enc_layers;   /* n_enc */
  BartDecoderLayer *dec_layers; /* n_dec */
  int n_enc, n_dec;
  SfEncoderParams enc_params; /* heads, activation, eps */
  int dec_heads;
  SfActivation act;
  float embed_scale;     /* √d_model when scale_embedding, else 1 */
  gboolean pre_ln;       /* normalize_before (mBART) */
  gboolean final_ln;     /* add_final_layer_norm (mBART) */
  gboolean ln_embedding; /* layernorm_embedding (normalize_embedding) */
  gboolean classifier;   /* BartForSequenceClassification */
  const SfTensor
      *tok_embed;        /* [V, D]: shared, or whichever tied copy is stored */
  const SfTensor *head;  /* [V, D]: lm_head or tok_embed, or head_packed */
  SfTensor *head_packed; /* that head packed for the kernels, or NULL */
  SfTensor *bias;        /* [V] view of final_logits_bias, or NULL */
  BartTokens tokens;
  gint64 sizes[BART_SZ_COUNT];
  SfWeightTarget target;
  SfModel *model; /* not owned */
} BartGraph;

/* bart.c: @model's graph, or NULL with an error when it is not BART.
 * (transfer none) */
BartGraph *sf_bart_graph (SfModel *model, GError **error);
/* bart.c: the encoder over ids [B, S] with mask [B, S] (nullable).
 * (transfer full) [B, S, D]. */
SfTensor *sf_bart_encode (BartGraph *g, const SfTensor *ids,
    const SfTensor *mask, GPtrArray *hidden_states, GError **error);
/* Embeddings of @n ids at positions [past, past + n / rows) for each of
 * the @rows rows: token embedding · embed_scale + learned position, then
 * layernorm_embedding. @pos and @ln_g / @ln_b are the stack's own. x is
 * [rows, T, D]. */
gboolean sf_bart_embed (BartGraph *g, SfTensor *x, const gint64 *ids,
    gint64 past, const SfTensor *pos, const SfTensor *ln_g,
    const SfTensor *ln_b, GError **error);

/* bart-decode.c: the family's decoder_new hook. */
SfDecoder *sf_bart_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error);
/* bart-decode.c: BartForSequenceClassification's logits into @out, whose
 * last_hidden_state holds the encoder output for @in. */
gboolean sf_bart_classify (
    BartGraph *g, const SfTextInput *in, SfTextOutput *out, GError **error);

G_END_DECLS
