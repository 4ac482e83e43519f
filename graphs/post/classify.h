/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: turning logits into labels and scores.
 * Shared by `streamformer run` and the sfclassifier element. */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

typedef enum
{
  SF_SCORE_AUTO, /* from the model's problem_type */
  SF_SCORE_SOFTMAX,
  SF_SCORE_SIGMOID,
  SF_SCORE_NONE, /* raw logits */
} SfScoreFunction;

typedef struct
{
  guint index;
  const char *label; /* owned by the model; NULL without labels */
  float score;
} SfLabelScore;

/* What AUTO resolves to for @model (nullable: softmax). */
SfScoreFunction sf_score_function_resolve (
    const SfModel *model, SfScoreFunction fn);

/* Scores @logits [n] with @fn, keeps those ≥ @threshold, sorts by score
 * and returns at most @top_k (0 = all) in @out [n]. Labels come from
 * @model when it has n labels, else are NULL. Returns the count. */
guint sf_classify (const SfModel *model, const float *logits, guint n,
    SfScoreFunction fn, guint top_k, float threshold, SfLabelScore *out);

G_END_DECLS
