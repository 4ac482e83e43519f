/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: text generation for every decoder.
 *
 * A decoder family (Whisper, GPT-2, BART, T5) exposes its incremental
 * forward as an SfDecoder: it owns its per-sequence caches (self-attention
 * KV cache; for encoder-decoders the cross-attention K/V computed once per
 * input) and runs new tokens for a set of live sequences. sf_generate()
 * drives it with transformers' strategies: greedy, beam search and
 * sampling, with the logits processors generation_config.json names.
 *
 * Contract of an SfDecoder:
 *  - sequences are rows 0..n_seqs-1; each has its own cache;
 *  - step() appends @n_new tokens to each of the @n_seqs sequences (the
 *    same count for all; the prompt is one step with n_new = its length,
 *    then one token at a time) and writes the next-token logits of each
 *    sequence's last position to @logits [n_seqs, vocab];
 *  - reorder() makes row i continue what row @src[i] was (beam search):
 *    rows may repeat or vanish, and n_seqs may change.
 */
#pragma once

#include <glib.h>

#include "core/io/checkpoint.h"
#include "core/tensor.h"
#include "graphs/model.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 vocab;
  gboolean (*step) (gpointer self, const gint64 *tokens, guint n_seqs,
      guint n_new, float *logits, GError **error);
  gboolean (*reorder) (
      gpointer self, const guint *src, guint n_seqs, GError **error);
  /* Optional: a family's own rules (Whisper's timestamps and
   * suppression), applied to the scores of every sequence before the
   * common processors: the raw logits for greedy search and sampling, the
   * log-probabilities in beam search (as transformers orders them).
   * @ids [n_seqs][n_ids] are the tokens so far, prompt included. */
  void (*process_logits) (gpointer self, const gint64 *ids, guint n_seqs,
      guint n_ids, float *logits);
  /* Optional: one step of several decoders of the same family at once,
   * each holding one live sequence: decoder @selves[i] appends
   * @tokens[i] and writes its logits to row i of @logits [n, vocab], as
   * n step() calls would, run as the rows of one batch. */
  gboolean (*step_together) (gpointer const *selves, guint n,
      const gint64 *tokens, float *logits, GError **error);
  void (*free) (gpointer self); /* frees self; the SfDecoder is g_new'd */
  gpointer self;
} SfDecoder;

/* A decoder of a generating @model (graphs/model-decoder.c) for up to
 * @max_seqs live sequences. @source is the encoder's input as the family
 * takes it: NULL for decoder-only models (GPT-2), the input token ids
 * (I64 [1, n]) for BART and T5, the encoder's hidden states (F32
 * [1, frames, D]) for Whisper; the decoder computes what it needs from it
 * once. An error when the model does not generate. (transfer full) */
SfDecoder *sf_model_decoder_new (
    SfModel *model, const SfTensor *source, guint max_seqs, GError **error);
void sf_decoder_free (SfDecoder *decoder); /* accepts NULL */

/* transformers' GenerationConfig fields that decide decoding; -1 (or 0
 * where noted) when unset. */
typedef struct
{
  gint64 max_length;     /* prompt + new tokens, counting decoder start */
  gint64 max_new_tokens; /* wins over max_length when set */
  gint64 min_length;
  gint64 min_new_tokens;
  guint num_beams; /* 1: greedy or sampling */
  guint num_return_sequences;
  float length_penalty; /* default 1.0 */
  int early_stopping;   /* 1 true, 0 false, -1 "never" */
  guint no_repeat_ngram_size;
  float repetition_penalty; /* default 1.0 */
  gboolean do_sample;
  float temperature; /* default 1.0 */
  gint top_k;        /* default 50; 0 = off */
  float top_p;       /* default 1.0 */
  guint64 seed;
  gint64 bos_token_id;
  GArray *eos_token_ids; /* gint64; any ends a sequence */
  gint64 pad_token_id;
  gint64 decoder_start_token_id; /* encoder-decoders */
  gint64 forced_bos_token_id;
  gint64 forced_eos_token_id;
} SfGenerationConfig;

/* Defaults as transformers has them. */
void sf_generation_config_init (SfGenerationConfig *cfg);
void sf_generation_config_clear (SfGenerationConfig *cfg);
/* Fills @cfg from the checkpoint's generation_config.json, falling back to
 * config.json's fields, as transformers does. Errors name file and field. */
gboolean sf_generation_config_load (
    SfGenerationConfig *cfg, SfCheckpoint *ckpt, GError **error);

/* One generated sequence: the new tokens (without the prompt) and, for
 * beam search, its length-penalised score. */
typedef struct
{
  GArray *ids; /* gint64 */
  double score;
} SfGenerated;

/* Called with each newly chosen token of sequence 0 when decoding greedily
 * or sampling (for streaming output); return FALSE to stop. */
typedef gboolean (*SfGenerateTokenFunc) (gint64 token, gpointer user_data);

/* Runs @decoder from @prompt (decoder-side tokens, e.g. the decoder start
 * token for encoder-decoders) per @cfg. Returns num_return_sequences
 * SfGenerated, best first (transfer full; free with
 * sf_generated_array_free). */
GPtrArray *sf_generate (const SfDecoder *decoder, const SfGenerationConfig *cfg,
    const gint64 *prompt, guint n_prompt, SfGenerateTokenFunc on_token,
    gpointer user_data, GError **error);
void sf_generated_array_free (GPtrArray *seqs);

/* Greedy search for @n independent sequences decoded together: item i
 * has its own decoder @decs[i] (its own caches and source), config
 * @cfgs[i] (greedy: num_beams 1, no sampling) and prompt (@prompts[i],
 * @n_prompts[i] tokens). Each prompt runs on its own decoder; then every
 * step feeds the next token of every unfinished item through
 * step_together (one step() each when the decoders have none), and an
 * item leaves the batch at its end token or its max_length. @ids[i]
 * (gint64) gets item i's new tokens: what sf_generate() gives it alone. */
gboolean sf_generate_batch (SfDecoder *const *decs,
    const SfGenerationConfig *const *cfgs, const gint64 *const *prompts,
    const guint *n_prompts, guint n, GArray **ids, GError **error);

/* The index of the largest of @x [n] (the first on ties, as torch). */
gint64 sf_argmax (const float *x, gint64 n);

/* Plain greedy decoding of one sequence, without logits processors (for
 * comparing a decoder with reference outputs): feeds @prompt, then
 * appends the prompt and up to @max_new tokens, each the argmax of the
 * last logits, to @ids (gint64), stopping after any of @eos [n_eos]. */
gboolean sf_generate_greedy (const SfDecoder *decoder, const gint64 *prompt,
    guint n_prompt, guint max_new, const gint64 *eos, guint n_eos, GArray *ids,
    GError **error);

G_END_DECLS
