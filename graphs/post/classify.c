/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: logits to labels. */
#include "graphs/post/classify.h"

#include <math.h>
#include <stdlib.h>

SfScoreFunction
sf_score_function_resolve (const SfModel *model, SfScoreFunction fn)
{
  if (fn != SF_SCORE_AUTO)
    return fn;
  if (model == NULL || !sf_model_has_classifier (model))
    return SF_SCORE_SOFTMAX;
  switch (sf_model_problem_type (model)) {
    case SF_PROBLEM_MULTI_LABEL: return SF_SCORE_SIGMOID;
    case SF_PROBLEM_REGRESSION: return SF_SCORE_NONE;
    default: return SF_SCORE_SOFTMAX;
  }
}

static int
compare_score_desc (const void *a, const void *b)
{
  const SfLabelScore *x = a, *y = b;
  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return x->index < y->index ? -1 : x->index > y->index;
}

guint
sf_classify (const SfModel *model, const float *logits, guint n,
    SfScoreFunction fn, guint top_k, float threshold, SfLabelScore *out)
{
  gboolean named = model && sf_model_num_labels (model) == n;
  float max = -INFINITY;
  double sum = 0;
  guint kept = 0;

  fn = sf_score_function_resolve (model, fn);
  for (guint i = 0; i < n; i++)
    max = MAX (max, logits[i]);
  if (fn == SF_SCORE_SOFTMAX)
    for (guint i = 0; i < n; i++)
      sum += exp ((double)logits[i] - max);

  for (guint i = 0; i < n; i++) {
    float s;
    switch (fn) {
      case SF_SCORE_SOFTMAX:
        s = (float)(exp ((double)logits[i] - max) / sum);
        break;
      case SF_SCORE_SIGMOID:
        s = (float)(1.0 / (1.0 + exp (-(double)logits[i])));
        break;
      default: s = logits[i]; break;
    }
    if (s < threshold)
      continue;
    out[kept].index = i;
    out[kept].label = named ? sf_model_label (model, i) : NULL;
    out[kept].score = s;
    kept++;
  }
  qsort (out, kept, sizeof (SfLabelScore), compare_score_desc);
  return top_k > 0 && top_k < kept ? top_k : kept;
}
