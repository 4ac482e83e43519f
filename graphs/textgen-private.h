/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: what textgen.c (one prompt) and textgen-batch.c
 * (several prompts together) share. Not installed. */
#pragma once

#include "graphs/textgen.h"

G_BEGIN_DECLS

struct SfTextGenerator
{
  SfModel *model;
  SfGenerationConfig defaults;
  char *prefix;
  gboolean enc_dec;
};

/* One prompt made ready for decoding, as sf_text_generator_run() makes
 * it: its tokens, the decoder's source and start tokens. */
typedef struct
{
  const SfGenerationConfig *cfg; /* the prompt's, or the checkpoint's */
  SfTextGeneration *result;      /* prompt_ids set; ids and text to come */
  SfTensor *source;              /* the encoder's input; NULL for GPT-2 */
  GArray *start;                 /* gint64: the decoder's prompt */
} SfTextJob;

/* Tokenises @prefix (NULL: the checkpoint's) and @prompt into @job; an
 * error when the prompt has no tokens or the model cannot start from it.
 * On error @job holds nothing to clear. */
gboolean sf_text_job_init (const SfTextGenerator *gen, SfTextJob *job,
    const char *prompt, const char *prefix, const SfGenerationConfig *cfg,
    GError **error);
void sf_text_job_clear (SfTextJob *job);

/* (transfer full) a decoder over @job's source for the live sequences
 * its config asks for. */
SfDecoder *sf_text_job_decoder (
    const SfTextGenerator *gen, const SfTextJob *job, GError **error);

/* Sets @job's result from the generated tokens @ids (gint64): the ids and
 * their text. */
void sf_text_job_finish (
    const SfTextGenerator *gen, SfTextJob *job, GArray *ids);

/* Runs sf_generate() for @job and finishes it; @on_piece (nullable)
 * streams the text. */
gboolean sf_text_job_run (const SfTextGenerator *gen, SfTextJob *job,
    SfTextPieceFunc on_piece, gpointer user_data, GError **error);

G_END_DECLS
