/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer CLI: text generation (GPT-2, BART, T5). */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

/* What --max-new-tokens, --beams, --sample and --seed ask for; 0 (FALSE)
 * keeps the checkpoint's setting. */
typedef struct
{
  int max_new_tokens;
  int beams;
  gboolean sample;
  gint64 seed;
  gboolean json;
} SfRunGenerate;

/* `streamformer run MODEL --text T` on a generating model: the
 * continuation (GPT-2) or the summary or translation (BART, T5) of each
 * text, as sftextgenerator gives it. Returns the exit code. */
int sf_run_generate (
    SfModel *model, GPtrArray *texts, const SfRunGenerate *options);

G_END_DECLS
