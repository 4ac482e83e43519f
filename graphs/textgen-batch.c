/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: sf_text_generator_run_batch(), several prompts
 * generated together (see graphs/textgen.h).
 *
 * Every prompt is made ready as sf_text_generator_run() makes it (its
 * tokens, the decoder's source and start tokens), each greedy one on a
 * decoder of its own for one sequence; sf_generate_batch() then runs them
 * together, one row per unfinished prompt a step. Beam search and
 * sampling run each prompt alone, exactly as sf_text_generator_run()
 * does. So every prompt gets what it gets alone.
 */
#include "graphs/textgen-private.h"
#include "core/error.h"

static gboolean
is_greedy (const SfGenerationConfig *cfg)
{
  return cfg->num_beams == 1 && !cfg->do_sample;
}

/* The greedy jobs of @jobs [n], all at once. */
static gboolean
run_greedy (
    const SfTextGenerator *gen, SfTextJob *jobs, guint n, GError **error)
{
  g_autofree SfDecoder **decs = g_new0 (SfDecoder *, MAX (n, 1));
  g_autofree const SfGenerationConfig **cfgs =
      g_new (const SfGenerationConfig *, MAX (n, 1));
  g_autofree const gint64 **starts = g_new (const gint64 *, MAX (n, 1));
  g_autofree guint *n_starts = g_new (guint, MAX (n, 1));
  g_autofree guint *which = g_new (guint, MAX (n, 1));
  g_autoptr (GPtrArray) ids =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
  guint m = 0;
  gboolean ok = FALSE;

  for (guint i = 0; i < n; i++) {
    if (!is_greedy (jobs[i].cfg))
      continue;
    decs[m] = sf_text_job_decoder (gen, &jobs[i], error);
    if (decs[m] == NULL) {
      g_prefix_error (error, "prompt %u of the batch: ", i);
      goto out;
    }
    cfgs[m] = jobs[i].cfg;
    starts[m] = (const gint64 *)jobs[i].start->data;
    n_starts[m] = jobs[i].start->len;
    g_ptr_array_add (ids, g_array_new (FALSE, FALSE, sizeof (gint64)));
    which[m++] = i;
  }
  if (m > 0
      && !sf_generate_batch (
          decs, cfgs, starts, n_starts, m, (GArray **)ids->pdata, error))
    goto out;
  for (guint j = 0; j < m; j++)
    sf_text_job_finish (gen, &jobs[which[j]], ids->pdata[j]);
  ok = TRUE;

out:
  for (guint j = 0; j < m; j++)
    sf_decoder_free (decs[j]);
  return ok;
}

gboolean
sf_text_generator_run_batch (SfTextGenerator *gen, const SfTextPrompt *prompts,
    guint n, SfTextGeneration **results, GError **error)
{
  g_autofree SfTextJob *jobs = g_new0 (SfTextJob, MAX (n, 1));
  guint ready = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (gen != NULL, FALSE);
  g_return_val_if_fail (n == 0 || (prompts != NULL && results != NULL), FALSE);
  for (guint i = 0; i < n; i++)
    results[i] = NULL;
  for (; ready < n; ready++) {
    const SfTextPrompt *p = &prompts[ready];
    if (!sf_text_job_init (
            gen, &jobs[ready], p->prompt, p->prefix, p->cfg, error)) {
      g_prefix_error (error, "prompt %u of the batch: ", ready);
      goto out;
    }
  }

  /* beam search and sampling: one prompt at a time */
  for (guint i = 0; i < n; i++) {
    if (is_greedy (jobs[i].cfg))
      continue;
    if (!sf_text_job_run (gen, &jobs[i], NULL, NULL, error)) {
      g_prefix_error (error, "prompt %u of the batch: ", i);
      goto out;
    }
  }
  if (!run_greedy (gen, jobs, n, error))
    goto out;
  for (guint i = 0; i < n; i++)
    results[i] = g_steal_pointer (&jobs[i].result);
  ok = TRUE;

out:
  for (guint i = 0; i < ready; i++)
    sf_text_job_clear (&jobs[i]);
  return ok;
}
