/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: beam search.
 *
 * Mirrors transformers' GenerationMixin._beam_search for one prompt:
 *  - each step scores every continuation of every running beam by the
 *    beam's sum of log-probabilities plus the token's (log_softmax, then
 *    the family's and the common processors), and keeps the best
 *    max (2, 1 + #eos) × num_beams;
 *  - a candidate that ends (an EOS, or max_length reached) becomes a
 *    finished hypothesis only when it ranks among the first num_beams,
 *    scored sum_logprobs / generated_length ** length_penalty (the length
 *    counts the new tokens, EOS included); the best num_beams finished
 *    hypotheses are kept;
 *  - the best num_beams candidates that did not end run on;
 *  - the search stops when no running beam can still beat the worst
 *    finished one (early_stopping false: judged at the current length;
 *    "never" with a positive length_penalty: at max_length), when
 *    num_beams hypotheses are finished under early_stopping true, or at
 *    max_length.
 * With do_sample (beam sampling), the warpers run after the processors
 * (top-k and top-p keep at least 2) and the candidates are drawn without
 * replacement from the softmax of their scores instead of taken best
 * first; only the first num_beams drawn may finish.
 * The first step runs the prompt once; the other beams start as copies of
 * it with score -1e9, which is what transformers' expanded batch amounts
 * to.
 */
#include "graphs/generate-private.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

#define BEAM_MASK -1.0e9f

typedef struct
{
  gint64 *ids; /* prompt + generated, in a row of the finished store */
  gint64 len;
  float score;
  gboolean done;
  gint64 last; /* a new candidate's token after ids[0, len); -1 if none */
} Hypothesis;

static float
penalised (const SfGenerateRun *run, float sum, gint64 cur)
{
  return (float)(sum
      / pow ((double)(cur + 1 - run->n_prompt), run->cfg->length_penalty));
}

/* Beam sampling: @k indices drawn from softmax (@acc [n]) without
 * replacement, in the order drawn (torch.multinomial); when fewer than @k
 * have any probability, the rest by score. */
static guint
draw (const float *acc, gint64 n, guint k, GRand *rand, double *w, gint64 *top)
{
  double hi = -INFINITY, sum = 0.0;
  guint m = 0;

  for (gint64 i = 0; i < n; i++)
    hi = MAX (hi, acc[i]);
  for (gint64 i = 0; i < n; i++)
    sum += w[i] = isfinite (hi) ? exp (acc[i] - hi) : 0.0;
  k = (guint)MIN ((gint64)k, n);
  for (; m < k && sum > 0; m++) {
    double u = g_rand_double (rand) * sum, cum = 0.0;
    gint64 pick = -1;
    for (gint64 i = 0; i < n; i++) {
      if (w[i] <= 0)
        continue;
      cum += w[i];
      pick = i;
      if (u < cum)
        break;
    }
    if (pick < 0)
      break;
    top[m] = pick;
    sum -= w[pick];
    w[pick] = 0.0;
  }
  /* the rest, by score, among those not drawn */
  for (; m < k; m++) {
    gint64 best = -1;
    for (gint64 i = 0; i < n; i++) {
      gboolean taken = FALSE;
      for (guint j = 0; j < m && !taken; j++)
        taken = top[j] == i;
      if (!taken && (best < 0 || acc[i] > acc[best]))
        best = i;
    }
    top[m] = best;
  }
  return m;
}

/* (transfer full) @buf's @n rows re-laid from stride @from to @to (>
 * @from); frees @buf. */
static gint64 *
restride (gint64 *buf, guint n, gint64 from, gint64 to)
{
  gint64 *out = g_new0 (gint64, (gsize)n * to);

  for (guint r = 0; r < n; r++)
    memcpy (out + r * to, buf + r * from, from * sizeof (gint64));
  g_free (buf);
  return out;
}

gboolean
sf_generate_beam (const SfGenerateRun *run, const gint64 *prompt,
    GPtrArray *out, GError **error)
{
  const SfDecoder *dec = run->dec;
  const SfGenerationConfig *cfg = run->cfg;
  guint nb = cfg->num_beams, n_eos = MAX (run->n_eos, 1u);
  guint keep = MAX (2u, 1 + n_eos) * nb, rows = 1;
  gint64 vocab = run->vocab, cur = run->n_prompt, max_len = run->max_length;
  g_autofree float *logits = g_new (float, (gsize)nb *vocab);
  g_autofree float *acc = g_new (float, (gsize)nb *vocab);
  g_autofree gint64 *top = g_new (gint64, keep);
  g_autofree gboolean *hits = g_new (gboolean, keep);
  /* token rows of @stride entries, grown as the sequences grow */
  gint64 stride = MIN (max_len, cur + 64);
  g_autofree gint64 *packed = g_new0 (gint64, (gsize)nb * stride);
  g_autofree gint64 *running = g_new0 (gint64, (gsize)nb * stride);
  g_autofree gint64 *next_running = g_new0 (gint64, (gsize)nb * stride);
  g_autofree float *scores = g_new (float, nb);
  g_autofree float *next_scores = g_new (float, nb);
  g_autofree guint *src = g_new (guint, nb);
  g_autofree gint64 *tokens = g_new (gint64, nb);
  g_autofree Hypothesis *fin = g_new0 (Hypothesis, nb);
  g_autofree Hypothesis *merged = g_new0 (Hypothesis, nb + keep);
  g_autofree gint64 *fin_store = g_new0 (gint64, (gsize)2 * nb * stride);
  g_autofree guint *order = g_new (guint, keep);
  g_autofree double *weights =
      cfg->do_sample ? g_new (double, (gsize)nb *vocab) : NULL;
  g_autoptr (GRand) rand =
      cfg->do_sample ? sf_generate_rand_new (cfg->seed) : NULL;
  gboolean improvable = TRUE;
  guint which = 0;

  for (guint b = 0; b < nb; b++) {
    memcpy (running + b * stride, prompt, run->n_prompt * sizeof (gint64));
    scores[b] = b == 0 ? 0.0f : BEAM_MASK;
    fin[b] = (Hypothesis){ fin_store + b * stride, 0, BEAM_MASK, FALSE, -1 };
  }
  if (!dec->step (dec->self, prompt, 1, run->n_prompt, logits, error))
    return FALSE;

  while (cur < max_len) {
    guint n_top, n_run = 0, n_merged = 0, n_fin_done = 0;
    gboolean all_hit = TRUE;
    gint64 *store;

    if (cur + 1 > stride) {
      gint64 wider = MIN (max_len, 2 * stride);
      packed = restride (packed, nb, stride, wider);
      running = restride (running, nb, stride, wider);
      next_running = restride (next_running, nb, stride, wider);
      fin_store = restride (fin_store, 2 * nb, stride, wider);
      stride = wider;
      for (guint b = 0; b < nb; b++)
        fin[b].ids = fin_store + ((gsize)which * nb + b) * stride;
    }
    /* log-probabilities, then the processors, per row */
    for (guint r = 0; r < rows; r++) {
      sf_generate_log_softmax (logits + r * vocab, vocab);
      memcpy (packed + r * cur, running + r * stride, cur * sizeof (gint64));
    }
    if (dec->process_logits)
      dec->process_logits (dec->self, packed, rows, (guint)cur, logits);
    sf_generate_process (run, packed, rows, (guint)cur, logits);
    if (cfg->do_sample)
      for (guint r = 0; r < rows; r++)
        sf_generate_warp (run, logits + r * vocab, 2);
    for (guint b = 0; b < nb; b++) {
      const float *x = logits + (rows == 1 ? 0 : b) * vocab;
      for (gint64 t = 0; t < vocab; t++)
        acc[b * vocab + t] = x[t] + scores[b];
    }
    n_top = cfg->do_sample
        ? draw (acc, (gint64)nb * vocab, keep, rand, weights, top)
        : sf_generate_top_k (acc, (gint64)nb * vocab, keep, top);
    /* the candidates by score (a draw comes in the order drawn) */
    for (guint k = 0; k < n_top; k++) {
      guint j = k;
      while (j > 0 && acc[top[order[j - 1]]] < acc[top[k]]) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = k;
    }
    for (guint k = 0; k < n_top; k++) {
      hits[k] = sf_generate_is_eos (run, top[k] % vocab) || cur + 1 >= max_len;
      all_hit &= hits[k];
    }

    /* the best candidates that go on (ended ones only to fill up) */
    for (int pass = 0; pass < 2 && n_run < nb; pass++) {
      for (guint j = 0; j < n_top && n_run < nb; j++) {
        guint k = order[j], beam = (guint)(top[k] / vocab);
        if (hits[k] != (pass == 1))
          continue;
        memcpy (next_running + n_run * stride, running + beam * stride,
            cur * sizeof (gint64));
        next_running[n_run * stride + cur] = top[k] % vocab;
        next_scores[n_run] = acc[top[k]] + (hits[k] ? BEAM_MASK : 0.0f);
        src[n_run] = rows == 1 ? 0 : beam;
        n_run++;
      }
    }

    /* finished hypotheses: the old ones, then the candidates that ended
     * among the first num_beams; keep the best num_beams */
    for (guint b = 0; b < nb; b++) {
      n_fin_done += fin[b].done;
      merged[n_merged++] = fin[b];
    }
    store = fin_store + (gsize)(which ^ 1) * nb * stride;
    for (guint k = 0; k < MIN (n_top, nb); k++) {
      guint beam = (guint)(top[k] / vocab);
      if (!hits[k] || !improvable
          || (cfg->early_stopping == 1 && n_fin_done == nb))
        continue;
      merged[n_merged++] = (Hypothesis){ running + beam * stride, cur,
        penalised (run, acc[top[k]], cur), TRUE, top[k] % vocab };
    }
    for (guint b = 0; b < nb; b++) {
      guint best = 0;
      Hypothesis h;
      for (guint m = 1; m < n_merged; m++)
        if (merged[m].score > merged[best].score)
          best = m;
      h = merged[best];
      merged[best].score = -INFINITY;
      fin[b] = h;
      fin[b].ids = store + b * stride;
      memcpy (fin[b].ids, h.ids, h.len * sizeof (gint64));
      if (h.last >= 0)
        fin[b].ids[fin[b].len++] = h.last;
      fin[b].last = -1;
    }
    which ^= 1;

    /* the running beams continue in the decoder's rows */
    memcpy (running, next_running, (gsize)nb * stride * sizeof (gint64));
    memcpy (scores, next_scores, nb * sizeof (float));
    cur++;

    /* can a running beam still beat the worst finished one? */
    {
      gint64 len = cfg->early_stopping == -1 && cfg->length_penalty > 0
          ? max_len - run->n_prompt
          : cur - run->n_prompt;
      float best = (float)(scores[0] / pow ((double)len, cfg->length_penalty));
      float worst = fin[0].score;
      gboolean all_done = TRUE;
      for (guint b = 0; b < nb; b++) {
        worst = MIN (worst, fin[b].score);
        all_done &= fin[b].done;
      }
      improvable &= !all_done || best > worst;
      if (!improvable || (all_done && cfg->early_stopping == 1) || all_hit
          || cur >= max_len)
        break;
    }

    if (!dec->reorder (dec->self, src, nb, error))
      return FALSE;
    rows = nb;
    for (guint b = 0; b < nb; b++)
      tokens[b] = running[b * stride + cur - 1];
    if (!dec->step (dec->self, tokens, nb, 1, logits, error))
      return FALSE;
  }

  for (guint i = 0; i < cfg->num_return_sequences; i++) {
    SfGenerated *g = g_new0 (SfGenerated, 1);
    gint64 n = MAX (fin[i].len - run->n_prompt, 0);
    g->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), (guint)n);
    if (n > 0)
      g_array_append_vals (g->ids, fin[i].ids + run->n_prompt, (guint)n);
    g->score = fin[i].score;
    g_ptr_array_add (out, g);
  }
  return TRUE;
}
