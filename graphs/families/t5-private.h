/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: T5 state shared by t5.c (config, weights, encoder)
 * and t5-decode.c (relative position buckets, the decoder with its caches,
 * the SfDecoder). Not installed. */
#pragma once

#include "graphs/model-private.h"
#include "graphs/weights.h"
#include "core/ops/ops.h"

G_BEGIN_DECLS

enum
{
  T5_SZ_D,       /* d_model */
  T5_SZ_INNER,   /* num_heads · d_kv */
  T5_SZ_FF,      /* d_ff */
  T5_SZ_VOCAB,   /* vocab_size */
  T5_SZ_BUCKETS, /* relative_attention_num_buckets */
  T5_SZ_HEADS,   /* num_heads */
  T5_SZ_COUNT
};

/* One T5Attention: no biases; q, k, v [inner, D], o [D, inner]. */
typedef struct
{
  SfTensor *q_w, *k_w, *v_w, *o_w;
} T5Attention;

/* T5Block: layer.0 self-attention, (decoder) layer.1 cross-attention, then
 * the feed-forward (T5LayerFF); each sub-layer has its own pre-norm. The
 * encoder leaves cross and ln_cross empty. */
typedef struct
{
  SfTensor *ln_self; /* (D) */
  T5Attention self;
  SfTensor *ln_cross; /* (D) */
  T5Attention cross;
  SfTensor *ln_ff;       /* (D) */
  SfTensor *wi;          /* [F, D] plain feed-forward */
  SfTensor *wi_0, *wi_1; /* [F, D] gated: act (wi_0 x) · wi_1 x */
  SfTensor *wo;          /* [D, F] */
} T5Layer;

typedef struct
{
  SfTensor *shared;   /* [V, D] token embeddings of both stacks */
  SfTensor *enc_bias; /* [buckets, heads] encoder layer 0's table */
  SfTensor *enc_ln;   /* encoder.final_layer_norm (D) */
  SfTensor *dec_bias; /* [buckets, heads] decoder layer 0's table */
  SfTensor *dec_ln;   /* decoder.final_layer_norm (D) */
  SfTensor *lm_head;  /* [V, D]; NULL when tied to shared */
} T5Globals;

typedef struct
{
  T5Globals g;
  T5Layer *enc_layers;
  T5Layer *dec_layers;
  int n_enc, n_dec; /* n_dec 0: T5EncoderModel */
  int heads;
  gint64 max_distance; /* relative_attention_max_distance */
  float eps;           /* layer_norm_epsilon */
  gboolean gated;      /* feed_forward_proj "gated-<act>" */
  SfActivation act;
  gboolean scale_output; /* decoder output · d_model^-0.5 before the head */
  gint64 decoder_start;  /* decoder_start_token_id */
  GArray *eos;           /* gint64 eos_token_id(s) */
  GHashTable *prefixes;  /* task_specific_params: task → prefix */
  gint64 sizes[T5_SZ_COUNT];
  SfWeightTarget enc_target, dec_target; /* "encoder." and "decoder." */
  /* the LM head (lm_head, or the shared table when tied) packed for the
   * kernels, or NULL where it runs as stored */
  SfTensor *head_packed;
  SfModel *model; /* not owned: the model owning this graph */
} T5Graph;

/* The longest decoder sequence a T5 decoder state grows to. */
#define T5_MAX_DECODE_POSITIONS 65536

/* t5.c: the encoder over @ids [B, n] with @mask [B, n] (NULL: all ones);
 * returns (transfer full) [B, n, D]. @hidden (nullable) receives the
 * embeddings and every layer's output, the last after the final norm. */
SfTensor *sf_t5_encode (const T5Graph *g, const SfTensor *ids,
    const SfTensor *mask, GPtrArray *hidden, GError **error);
/* One T5LayerFF on @x [.., D], in place (pre-norm, residual). */
void sf_t5_feed_forward (const T5Graph *g, const T5Layer *l, SfTensor *x);

/* t5-decode.c */

/* (transfer full) the relative position bias [heads, T, S] of queries at
 * positions [q0, q0 + T) over keys [0, S) from @table [buckets, heads]:
 * bidirectional buckets for the encoder, causal ones for the decoder. */
SfTensor *sf_t5_position_bias (const T5Graph *g, const SfTensor *table,
    gint64 q0, gint64 t, gint64 s, gboolean bidirectional);

typedef struct T5State T5State;

/* A decoder for up to @max_rows sequences over the encoder output @enc
 * [Bs, n, D] with its padding @mask [Bs, n] (nullable). Bs is 1 (every
 * row reads the same source) or the row count of every step. */
T5State *sf_t5_state_new (T5Graph *g, const SfTensor *enc, const SfTensor *mask,
    guint max_rows, GError **error);
void sf_t5_state_free (T5State *s);
/* Feeds @t tokens @ids [rows, t] to rows 0..rows-1 and returns (transfer
 * full) logits [rows, t, V], or [rows, 1, V] for the last position only
 * unless @all_logits. */
SfTensor *sf_t5_state_step (T5State *s, const gint64 *ids, guint rows, guint t,
    gboolean all_logits, GError **error);

/* The family's decoder_new hook. */
SfDecoder *sf_t5_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error);

G_END_DECLS
