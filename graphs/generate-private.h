/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: what the generation files (generate.c,
 * generate-beam.c, generate-process.c) share. Not installed. */
#pragma once

#include "graphs/generate.h"

G_BEGIN_DECLS

/* One run's settled parameters: the config with its limits resolved
 * against the prompt and the decoder's vocabulary. */
typedef struct
{
  const SfDecoder *dec;
  const SfGenerationConfig *cfg;
  gint64 vocab;
  guint n_prompt;
  gint64 max_length; /* prompt + new tokens, max_new_tokens applied */
  gint64 pad;        /* what finished rows are fed */
  const gint64 *eos; /* cfg->eos_token_ids' data */
  guint n_eos;
} SfGenerateRun;

/* Settles @run for @dec, @cfg and an @n_prompt-token prompt; an error
 * when the config does not fit the decoder. */
gboolean sf_generate_run_init (SfGenerateRun *run, const SfDecoder *dec,
    const SfGenerationConfig *cfg, guint n_prompt, GError **error);

gboolean sf_generate_is_eos (const SfGenerateRun *run, gint64 token);

/* transformers' logits processors, in its order (repetition penalty,
 * no-repeat n-grams, min length, min new tokens, forced BOS, forced
 * EOS), on @scores [n_seqs, vocab] given @ids [n_seqs][n_ids]. */
void sf_generate_process (const SfGenerateRun *run, const gint64 *ids,
    guint n_seqs, guint n_ids, float *scores);

/* The sampling warpers (temperature, top-k, top-p) on one row; at least
 * @min_keep tokens survive top-k and top-p. */
void sf_generate_warp (const SfGenerateRun *run, float *scores, guint min_keep);

/* Keeps the @k highest of @x [n] (ties to the lower index); writes their
 * indices to @top, best first. Returns how many (min (k, n)). */
guint sf_generate_top_k (const float *x, gint64 n, guint k, gint64 *top);

/* A GRand seeded with all 64 bits of @seed. (transfer full) */
GRand *sf_generate_rand_new (guint64 seed);

/* In place: x ← log_softmax (x). */
void sf_generate_log_softmax (float *x, gint64 n);

/* generate-beam.c: beam search; appends SfGenerated to @out, best first. */
gboolean sf_generate_beam (const SfGenerateRun *run, const gint64 *prompt,
    GPtrArray *out, GError **error);

G_END_DECLS
