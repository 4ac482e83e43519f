/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the logits processors and warpers of generation.
 *
 * Mirrors transformers' logits_process.py for the fields SfGenerationConfig
 * has: RepetitionPenalty, NoRepeatNGram, MinLength, MinNewTokensLength,
 * ForcedBOSToken, ForcedEOSToken (in that order), then for sampling
 * Temperature, TopK and TopP. Greedy and sampling apply them to the raw
 * logits, beam search to the log-probabilities, as transformers does.
 */
#include "graphs/generate-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gboolean
sf_generate_is_eos (const SfGenerateRun *run, gint64 token)
{
  for (guint i = 0; i < run->n_eos; i++)
    if (run->eos[i] == token)
      return TRUE;
  return FALSE;
}

static void
mask_eos (const SfGenerateRun *run, float *x)
{
  for (guint i = 0; i < run->n_eos; i++)
    if (run->eos[i] >= 0 && run->eos[i] < run->vocab)
      x[run->eos[i]] = -INFINITY;
}

/* Only @token stays possible (log-prob 0). */
static void
force_token (const SfGenerateRun *run, float *x, gint64 token)
{
  for (gint64 i = 0; i < run->vocab; i++)
    x[i] = -INFINITY;
  x[token] = 0.0f;
}

/* Every token of the sequence so far, once: a positive logit is divided by
 * the penalty, a negative one multiplied. */
static void
repetition_penalty (const SfGenerateRun *run, const gint64 *seq, guint n,
    float *x, guint8 *seen)
{
  float p = run->cfg->repetition_penalty;

  memset (seen, 0, run->vocab);
  for (guint i = 0; i < n; i++) {
    gint64 t = seq[i];
    if (t < 0 || t >= run->vocab || seen[t])
      continue;
    seen[t] = 1;
    x[t] = x[t] < 0 ? x[t] * p : x[t] / p;
  }
}

/* Bans each token that would complete an n-gram already in the sequence:
 * those that followed an earlier occurrence of the last n-1 tokens. */
static void
no_repeat_ngram (const SfGenerateRun *run, const gint64 *seq, guint n, float *x)
{
  guint size = run->cfg->no_repeat_ngram_size;
  const gint64 *tail;

  if (n + 1 < size)
    return;
  tail = seq + n - (size - 1);
  for (guint start = 0; start + size <= n; start++) {
    gint64 next = seq[start + size - 1];
    if (memcmp (seq + start, tail, (size - 1) * sizeof (gint64)) == 0
        && next >= 0 && next < run->vocab)
      x[next] = -INFINITY;
  }
}

void
sf_generate_process (const SfGenerateRun *run, const gint64 *ids, guint n_seqs,
    guint n_ids, float *scores)
{
  const SfGenerationConfig *cfg = run->cfg;
  g_autofree guint8 *seen = NULL;

  if (cfg->repetition_penalty != 1.0f)
    seen = g_malloc (run->vocab);
  for (guint r = 0; r < n_seqs; r++) {
    const gint64 *seq = ids + (gsize)r * n_ids;
    float *x = scores + (gsize)r * run->vocab;

    if (seen != NULL)
      repetition_penalty (run, seq, n_ids, x, seen);
    if (cfg->no_repeat_ngram_size > 0)
      no_repeat_ngram (run, seq, n_ids, x);
    if (cfg->min_length > 0 && (gint64)n_ids < cfg->min_length)
      mask_eos (run, x);
    if (cfg->min_new_tokens > 0
        && (gint64)(n_ids - run->n_prompt) < cfg->min_new_tokens)
      mask_eos (run, x);
    if (cfg->forced_bos_token_id >= 0 && n_ids == 1)
      force_token (run, x, cfg->forced_bos_token_id);
    if (cfg->forced_eos_token_id >= 0 && (gint64)n_ids == run->max_length - 1)
      force_token (run, x, cfg->forced_eos_token_id);
  }
}

typedef struct
{
  float v;
  gint64 i;
} Scored;

/* Descending by value, ties to the lower index. */
static int
scored_desc (const void *a, const void *b)
{
  const Scored *x = a, *y = b;
  if (x->v != y->v)
    return x->v > y->v ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

guint
sf_generate_top_k (const float *x, gint64 n, guint k, gint64 *top)
{
  guint m = 0;

  k = (guint)MIN ((gint64)k, n);
  /* insertion into a sorted list of the best k so far */
  for (gint64 i = 0; i < n && k > 0; i++) {
    guint j;
    if (m == k && !(x[i] > x[top[m - 1]]))
      continue;
    j = m < k ? m++ : m - 1;
    while (j > 0 && x[i] > x[top[j - 1]]) {
      top[j] = top[j - 1];
      j--;
    }
    top[j] = i;
  }
  return m;
}

void
sf_generate_log_softmax (float *x, gint64 n)
{
  double top = -INFINITY, sum = 0.0;
  float lse;

  for (gint64 i = 0; i < n; i++)
    top = MAX (top, x[i]);
  if (!isfinite (top))
    return;
  for (gint64 i = 0; i < n; i++)
    sum += exp (x[i] - top);
  lse = (float)(top + log (sum));
  for (gint64 i = 0; i < n; i++)
    x[i] -= lse;
}

/* TopKLogitsWarper: below the k-th highest value goes; ties with it stay. */
static void
top_k_filter (float *x, gint64 n, gint64 k)
{
  float kth;
  g_autofree gint64 *top = NULL;

  if (k >= n)
    return;
  top = g_new (gint64, k);
  sf_generate_top_k (x, n, (guint)k, top);
  kth = x[top[k - 1]];
  for (gint64 i = 0; i < n; i++)
    if (x[i] < kth)
      x[i] = -INFINITY;
}

/* TopPLogitsWarper: sorted ascending, the tokens whose cumulative
 * probability stays at or below 1 - top_p go, except the @min_keep
 * likeliest. */
static void
top_p_filter (float *x, gint64 n, float top_p, guint min_keep)
{
  g_autofree Scored *s = g_new (Scored, n);
  double top = -INFINITY, sum = 0.0, cum = 0.0;

  for (gint64 i = 0; i < n; i++) {
    s[i] = (Scored){ x[i], i };
    top = MAX (top, x[i]);
  }
  if (!isfinite (top))
    return;
  for (gint64 i = 0; i < n; i++)
    sum += exp (x[i] - top);
  qsort (s, n, sizeof (Scored), scored_desc);
  /* walk from the least likely up */
  for (gint64 r = n - 1; r >= (gint64)min_keep; r--) {
    cum += exp (s[r].v - top) / sum;
    if (cum > 1.0 - top_p)
      break;
    x[s[r].i] = -INFINITY;
  }
}

void
sf_generate_warp (const SfGenerateRun *run, float *x, guint min_keep)
{
  const SfGenerationConfig *cfg = run->cfg;

  if (cfg->temperature != 1.0f)
    for (gint64 i = 0; i < run->vocab; i++)
      x[i] /= cfg->temperature;
  if (cfg->top_k > 0)
    top_k_filter (x, run->vocab, MAX ((gint64)cfg->top_k, (gint64)min_keep));
  if (cfg->top_p < 1.0f)
    top_p_filter (x, run->vocab, cfg->top_p, min_keep);
}
