/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: Whisper decoding of several windows at once
 * (sf_whisper_generate_batch in whisper.h).
 *
 * Every window is set up as sf_whisper_generate() sets it up alone (its
 * prompt, language detection, limits, its own decoder over its own
 * encoder states), then the greedy ones run through sf_generate_batch(),
 * whose steps feed Whisper's step_together: one batch of every unfinished
 * window. So each window gets the tokens it gets alone.
 */
#include "graphs/families/whisper.h"
#include "graphs/families/whisper-private.h"
#include "core/error.h"

gboolean
sf_whisper_generate_batch (SfModel *model, const SfTensor *const *encs,
    const SfWhisperOptions *const *options, guint n, GArray **ids,
    GError **error)
{
  g_autofree WhisperRun *runs = g_new0 (WhisperRun, n);
  g_autofree SfDecoder **decs = g_new (SfDecoder *, n);
  g_autofree const SfGenerationConfig **cfgs =
      g_new (const SfGenerationConfig *, n);
  g_autofree const gint64 **prompts = g_new (const gint64 *, n);
  g_autofree guint *n_prompts = g_new (guint, n);
  g_autofree guint *which = g_new (guint, n);
  g_autoptr (GPtrArray) news =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
  guint m = 0, set_up = 0;
  gboolean ok = FALSE;

  g_return_val_if_fail (n == 0 || (encs != NULL && ids != NULL), FALSE);
  for (; set_up < n; set_up++)
    if (!sf_whisper_run_init (model, encs[set_up],
            options ? options[set_up] : NULL, &runs[set_up], error))
      goto out;

  /* beams and sampling: one window at a time */
  for (guint i = 0; i < n; i++) {
    WhisperRun *r = &runs[i];
    GPtrArray *out;

    if (r->cfg.num_beams == 1 && !r->cfg.do_sample) {
      decs[m] = r->dec;
      cfgs[m] = &r->cfg;
      prompts[m] = (const gint64 *)r->prompt->data;
      n_prompts[m] = r->prompt->len;
      which[m++] = i;
      g_ptr_array_add (news, g_array_new (FALSE, FALSE, sizeof (gint64)));
      continue;
    }
    out = sf_generate (r->dec, &r->cfg, (const gint64 *)r->prompt->data,
        r->prompt->len, NULL, NULL, error);
    if (out == NULL)
      goto out;
    g_array_append_vals (ids[i], r->prompt->data, r->prompt->len);
    g_array_append_vals (ids[i], ((SfGenerated *)out->pdata[0])->ids->data,
        ((SfGenerated *)out->pdata[0])->ids->len);
    sf_generated_array_free (out);
  }
  if (m > 0
      && !sf_generate_batch (
          decs, cfgs, prompts, n_prompts, m, (GArray **)news->pdata, error))
    goto out;
  for (guint j = 0; j < m; j++) {
    GArray *gen = news->pdata[j];
    WhisperRun *r = &runs[which[j]];

    g_array_append_vals (ids[which[j]], r->prompt->data, r->prompt->len);
    g_array_append_vals (ids[which[j]], gen->data, gen->len);
  }
  ok = TRUE;

out:
  for (guint i = 0; i < set_up && i < n; i++)
    sf_whisper_run_clear (&runs[i]);
  return ok;
}
