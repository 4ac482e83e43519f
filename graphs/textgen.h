/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: text in, text out, for models that generate
 * (GPT-2's continuation, BART's and T5's summaries and translations).
 *
 * sf_text_generator_new() reads what the checkpoint says about generating:
 * generation_config.json (or config.json), and for encoder-decoders the
 * summarization entry of task_specific_params, as transformers' pipeline
 * applies it (its prefix, e.g. T5's "summarize: ", and its settings).
 * sf_text_generator_run() tokenises a prompt, runs the model's decoder
 * through sf_generate() and decodes the new tokens. With a piece callback
 * it reports the text as it grows, one complete piece at a time (a byte-
 * level token that ends inside a character waits for the next one).
 * sf_text_generator_run_batch() runs several prompts, the greedy ones
 * decoded together (graphs/textgen-batch.c). The generator is read-only
 * once made: several threads may run prompts on it at once.
 */
#pragma once

#include "graphs/generate.h"
#include "graphs/model.h"

G_BEGIN_DECLS

typedef struct SfTextGenerator SfTextGenerator;

/* Called with each new piece of generated text (UTF-8, never a partial
 * character); return FALSE to stop generating. */
typedef gboolean (*SfTextPieceFunc) (const char *piece, gpointer user_data);

/* TRUE when @model generates text from text (GPT-2, BART, T5). */
gboolean sf_text_generator_supports (const SfModel *model);

/* (transfer full) a generator for @model; an error naming the model when
 * it does not generate text from text (no tokenizer, an encoder only, or
 * speech in). */
SfTextGenerator *sf_text_generator_new (SfModel *model, GError **error);
void sf_text_generator_free (SfTextGenerator *gen); /* accepts NULL */

/* The checkpoint's settings (the caller copies and changes them). */
const SfGenerationConfig *sf_text_generator_defaults (
    const SfTextGenerator *gen);
/* The checkpoint's task prefix ("" when none). */
const char *sf_text_generator_prefix (const SfTextGenerator *gen);
gboolean sf_text_generator_is_encoder_decoder (const SfTextGenerator *gen);

/* One prompt's result. */
typedef struct
{
  char *text;         /* the generated text (best sequence) */
  GArray *prompt_ids; /* gint32: the tokenised prompt, prefix included */
  GArray *ids;        /* gint64: the generated tokens */
} SfTextGeneration;

/* Generates from @prompt (UTF-8; @prefix, nullable, goes in front: NULL
 * means the checkpoint's) with @cfg (NULL: the checkpoint's). (transfer
 * full) */
SfTextGeneration *sf_text_generator_run (SfTextGenerator *gen,
    const char *prompt, const char *prefix, const SfGenerationConfig *cfg,
    SfTextPieceFunc on_piece, gpointer user_data, GError **error);
void sf_text_generation_free (SfTextGeneration *result); /* accepts NULL */

/* One prompt of a batch. */
typedef struct
{
  const char *prompt;            /* UTF-8 */
  const char *prefix;            /* nullable: the checkpoint's */
  const SfGenerationConfig *cfg; /* nullable: the checkpoint's */
} SfTextPrompt;

/* Generates from @n prompts together: the greedy ones (num_beams 1, no
 * sampling) decode as one batch through sf_generate_batch(), each step one
 * row per unfinished prompt; the others run one by one as
 * sf_text_generator_run() runs them. @results[i] (transfer full) gets what
 * sf_text_generator_run() gives prompt i alone (no streaming callback). On
 * error returns FALSE and sets every @results[i] to NULL. */
gboolean sf_text_generator_run_batch (SfTextGenerator *gen,
    const SfTextPrompt *prompts, guint n, SfTextGeneration **results,
    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfTextGenerator, sf_text_generator_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfTextGeneration, sf_text_generation_free)

G_END_DECLS
