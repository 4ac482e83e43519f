/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run`: printing one input's result per task kind, as text
 * or as one JSON object per input (the input under @key: "text",
 * "image"). The elements emit the same tensors; this only formats them. */
#pragma once

#include "graphs/post/classify.h"
#include "graphs/task.h"

G_BEGIN_DECLS

typedef struct
{
  const char *key;   /* "text" or "image" */
  const char *input; /* the text, or the file */
  int top_k;
  gboolean json;
} SfRunPrint;

/* Top-k labels and scores of @logits [n] (scored by @fn). Names come from
 * @names (nullable, n entries), else from @model (nullable). */
void sf_print_labels (const SfRunPrint *p, const SfModel *model,
    const char *const *names, const float *logits, guint n, SfScoreFunction fn);

/* Prints @out [1, ...], the output of @task, as its kind asks: labels
 * (classify), the vector (embed, zero-shot: JSON key "tensors", as
 * sfjsonsink writes it) or the shape and first values (tokens). FALSE, printing nothing, for kinds
 * the caller formats itself (segment, ctc, transcribe). */
gboolean sf_print_task_output (
    const SfRunPrint *p, const SfTask *task, const SfTensor *out);

G_END_DECLS
