/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: sf_generate_batch(), greedy search of independent
 * sequences decoded together.
 *
 * Each item is what sf_generate() runs for one greedy sequence: its own
 * decoder, limits and processors (the family's process_logits, then the
 * common ones), its prompt fed as one step. What changes is only how the
 * later steps run: the next tokens of all unfinished items go through the
 * decoders' step_together as the rows of one batch, so each weight matrix
 * is read once per step for all of them. An item that ends (its end
 * token, or its max_length) leaves the batch; the others go on.
 */
#include "graphs/generate-private.h"
#include "core/error.h"

#include <string.h>

typedef struct
{
  SfGenerateRun run;
  GArray *seq; /* gint64: the prompt, then each chosen token */
  float *logits;
  gboolean open;
} BatchItem;

static gboolean
check_greedy (const SfGenerationConfig *cfg, guint i, GError **error)
{
  if (cfg->num_beams == 1 && !cfg->do_sample)
    return TRUE;
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "generation: item %u of a batch asks for %s; batched decoding is "
      "greedy only",
      i, cfg->do_sample ? "sampling" : "beam search");
  return FALSE;
}

/* Picks the next token of @it from its logits; FALSE when it ended. */
static gboolean
choose (BatchItem *it, GArray *ids, gint64 *next)
{
  const SfDecoder *dec = it->run.dec;
  guint cur = it->seq->len;

  if (dec->process_logits)
    dec->process_logits (
        dec->self, (const gint64 *)it->seq->data, 1, cur, it->logits);
  sf_generate_process (
      &it->run, (const gint64 *)it->seq->data, 1, cur, it->logits);
  *next = sf_argmax (it->logits, it->run.vocab);
  g_array_append_val (ids, *next);
  g_array_append_val (it->seq, *next);
  return !sf_generate_is_eos (&it->run, *next)
      && (gint64)it->seq->len < it->run.max_length;
}

/* One step of the items @live [m] with their tokens @next. */
static gboolean
step_live (BatchItem *items, const guint *live, guint m, const gint64 *next,
    float *packed, GError **error)
{
  const SfDecoder *first = items[live[0]].run.dec;
  g_autofree gpointer *selves = NULL;
  gint64 vocab = first->vocab;
  gboolean together = m > 1 && first->step_together != NULL;

  for (guint j = 1; j < m && together; j++)
    together = items[live[j]].run.dec->step_together == first->step_together;
  if (!together) {
    for (guint j = 0; j < m; j++) {
      const SfDecoder *dec = items[live[j]].run.dec;
      if (!dec->step (dec->self, &next[j], 1, 1, items[live[j]].logits, error))
        return FALSE;
    }
    return TRUE;
  }
  selves = g_new (gpointer, m);
  for (guint j = 0; j < m; j++)
    selves[j] = items[live[j]].run.dec->self;
  if (!first->step_together (selves, m, next, packed, error))
    return FALSE;
  for (guint j = 0; j < m; j++)
    memcpy (items[live[j]].logits, packed + (gsize)j * vocab,
        vocab * sizeof (float));
  return TRUE;
}

gboolean
sf_generate_batch (SfDecoder *const *decs,
    const SfGenerationConfig *const *cfgs, const gint64 *const *prompts,
    const guint *n_prompts, guint n, GArray **ids, GError **error)
{
  g_autofree BatchItem *items = g_new0 (BatchItem, n);
  g_autofree guint *live = g_new (guint, n);
  g_autofree gint64 *next = g_new (gint64, n);
  g_autofree float *packed = NULL;
  gint64 vocab = n > 0 ? decs[0]->vocab : 0;
  guint m = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (
      n == 0 || (decs && cfgs && prompts && n_prompts), FALSE);
  for (guint i = 0; i < n; i++) {
    BatchItem *it = &items[i];

    if (prompts[i] == NULL || n_prompts[i] == 0) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "generation: the prompt of item %u is empty", i);
      goto out;
    }
    if (decs[i]->vocab != vocab) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "generation: the decoders of a batch have different vocabularies");
      goto out;
    }
    if (!check_greedy (cfgs[i], i, error)
        || !sf_generate_run_init (
            &it->run, decs[i], cfgs[i], n_prompts[i], error))
      goto out;
    it->seq = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_array_append_vals (it->seq, prompts[i], n_prompts[i]);
    it->logits = g_new (float, vocab);
  }

  /* the prompts, each on its own decoder: their lengths may differ */
  for (guint i = 0; i < n; i++) {
    const SfDecoder *dec = decs[i];
    if (!dec->step (
            dec->self, prompts[i], 1, n_prompts[i], items[i].logits, error))
      goto out;
    items[i].open = TRUE;
  }
  packed = g_new (float, (gsize)MAX (n, 1) * vocab);
  for (;;) {
    m = 0;
    for (guint i = 0; i < n; i++) {
      gint64 token;
      if (!items[i].open)
        continue;
      items[i].open = choose (&items[i], ids[i], &token);
      if (items[i].open) {
        next[m] = token;
        live[m++] = i;
      }
    }
    if (m == 0)
      break;
    if (!step_live (items, live, m, next, packed, error))
      goto out;
  }
  ok = TRUE;

out:
  for (guint i = 0; i < n; i++) {
    if (items[i].seq)
      g_array_unref (items[i].seq);
    g_free (items[i].logits);
  }
  return ok;
}
