/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: Whisper state shared by whisper.c (loading, encoder),
 * whisper-decode.c (decoder with KV caches) and whisper-generate.c (greedy
 * decoding per generation_config.json). Not installed. */
#pragma once

#include "graphs/model-private.h"
#include "graphs/families/whisper.h"
#include "graphs/weights.h"
#include "core/ops/ops.h"

G_BEGIN_DECLS

enum
{
  WHISPER_SZ_D,    /* d_model */
  WHISPER_SZ_MELS, /* num_mel_bins */
  WHISPER_SZ_ENC_FFN,
  WHISPER_SZ_DEC_FFN,
  WHISPER_SZ_VOCAB,
  WHISPER_SZ_SRC_POS, /* max_source_positions */
  WHISPER_SZ_TGT_POS, /* max_target_positions */
  WHISPER_SZ_KERNEL,  /* 3: the conv stem's kernel */
  WHISPER_SZ_COUNT
};

/* One WhisperAttention: k_proj has no bias. */
typedef struct
{
  SfTensor *q_w, *q_b; /* [D, D], [D] */
  SfTensor *k_w;       /* [D, D] */
  SfTensor *v_w, *v_b;
  SfTensor *o_w, *o_b; /* out_proj */
} WhisperAttention;

/* WhisperEncoderLayer / WhisperDecoderLayer; the encoder leaves cross and
 * ln_cross empty. */
typedef struct
{
  SfTensor *ln_self_g, *ln_self_b; /* self_attn_layer_norm (D) */
  WhisperAttention self;
  SfTensor *ln_cross_g, *ln_cross_b; /* encoder_attn_layer_norm (D) */
  WhisperAttention cross;
  SfTensor *ln_ffn_g, *ln_ffn_b; /* final_layer_norm (D) */
  SfTensor *fc1_w, *fc1_b;       /* [F, D], [F] */
  SfTensor *fc2_w, *fc2_b;       /* [D, F], [D] */
} WhisperLayer;

typedef struct
{
  SfTensor *conv1_w, *conv1_b;   /* [D, mels, 3], [D] */
  SfTensor *conv2_w, *conv2_b;   /* [D, D, 3], [D] */
  SfTensor *enc_pos;             /* (src_pos, D) */
  SfTensor *enc_ln_g, *enc_ln_b; /* encoder.layer_norm (D) */
  SfTensor *tok_emb;             /* [V, D] decoder.embed_tokens */
  SfTensor *dec_pos;             /* (tgt_pos, D) */
  SfTensor *dec_ln_g, *dec_ln_b; /* decoder.layer_norm (D) */
  SfTensor *proj_out;            /* [V, D]; NULL when tied to tok_emb */
} WhisperGlobals;

/* generation_config.json (or config.json's generation fields). */
typedef struct
{
  gint64 decoder_start;         /* <|startoftranscript|> */
  gint64 eos;                   /* <|endoftext|> */
  gint64 no_timestamps;         /* <|notimestamps|>, -1 when unknown */
  gint64 max_length;            /* prefix + generated tokens */
  gint64 max_initial_timestamp; /* index, for the first timestamp */
  GArray *
      forced; /* gint64 per prefix position after the start; -1 = detect language */
  GArray *suppress;       /* gint64 ids never generated */
  GArray *begin_suppress; /* gint64 ids not generated first */
  GArray *lang_ids;       /* gint64 ids of the language tokens (lang_to_id) */
  GPtrArray *task_names;  /* task_to_id's keys ("transcribe", …) */
  GArray *task_ids;       /* gint64, parallel to task_names */
  gboolean
      has_timestamps; /* the vocabulary has <|0.00|> … after no_timestamps */
  SfGenerationConfig common; /* num_beams, length_penalty, … */
} WhisperGeneration;

typedef struct
{
  WhisperGlobals g;
  WhisperLayer *enc_layers;
  WhisperLayer *dec_layers;
  int n_enc, n_dec;
  int enc_heads, dec_heads;
  SfActivation act;
  gint64 sizes[WHISPER_SZ_COUNT];
  SfWeightTarget enc_target, dec_target;
  SfTensor *head; /* proj_out packed for bf16/int8, else NULL */
  /* the conv stem's weights as sf_op_conv1d_frames takes them */
  SfTensor *conv1_frames, *conv2_frames;
  char *enc_prefix, *dec_prefix;
  WhisperGeneration gen;
  SfModel *model; /* not owned: the model owning this graph */
} WhisperGraph;

/* Whisper's LayerNorm epsilon (nn.LayerNorm's default; not in config.json). */
#define WHISPER_LN_EPS 1e-5f

/* whisper.c */
gboolean sf_whisper_graph_check (
    SfModel *model, WhisperGraph **graph, GError **error);

/* whisper-decode.c: row i of @state continues what row @src[i] was (beam
 * search); the batch becomes @n. */
gboolean sf_whisper_state_reorder (
    SfWhisperState *state, const guint *src, guint n, GError **error);

/* whisper-decode.c: the live rows of @state. */
gint64 sf_whisper_state_batch (const SfWhisperState *state);
/* whisper-decode.c: one new token for every row of each of @states [n]
 * (decoders of one model, each with its own caches and encoder output,
 * positions and lengths), run as the rows of one batch: @ids holds one
 * token per row, the rows of @states[0] first. Returns (transfer full)
 * logits [rows, 1, V] in the same order. */
SfTensor *sf_whisper_states_step (
    SfWhisperState *const *states, guint n, const gint64 *ids, GError **error);

/* whisper-decoder.c: the SfDecoder of the family hook (source: encoder
 * states F32 [1, frames, D] or [frames, D]), with Whisper's suppression
 * and, when @timestamps, timestamp rules in process_logits. */
SfDecoder *sf_whisper_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error);
void sf_whisper_decoder_set_timestamps (SfDecoder *decoder, gboolean on);

/* whisper-generate.c: one window's decoding, set up: its prompt (the
 * language detected when asked), config and decoder. */
typedef struct
{
  GArray *prompt; /* gint64 */
  SfGenerationConfig cfg;
  gboolean has_cfg;
  SfDecoder *dec;
} WhisperRun;

gboolean sf_whisper_run_init (SfModel *model, const SfTensor *enc,
    const SfWhisperOptions *options, WhisperRun *run, GError **error);
void sf_whisper_run_clear (WhisperRun *run);

/* whisper-generate.c: reads generation_config.json into g->gen. */
gboolean sf_whisper_generation_load (
    WhisperGraph *g, SfCheckpoint *ckpt, GError **error);
void sf_whisper_generation_clear (WhisperGeneration *gen);

G_END_DECLS
