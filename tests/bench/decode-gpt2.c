/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decode-gpt2: milliseconds per generated token of a causal LM through its
 * incremental decoder (graphs/generate.h), the peer of torch_gpt2.py.
 *
 *   decode-gpt2 MODEL [--threads T] [--prompt P] [--new N] [--rows R] [--json]
 *
 * Feeds the same synthetic P-token prompt as torch_gpt2.py in one step,
 * then N greedy single-token steps, and prints the prompt time, the median
 * and fastest step, and the ids of row 0 (so both sides can be checked to
 * agree). With R > 1, R copies of the prompt decode as one batch of rows.
 */
#include "core/blas.h"
#include "core/threads.h"
#include "graphs/generate.h"
#include "graphs/model.h"

#include <stdio.h>
#include <stdlib.h>

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  gint threads = 0, prompt = 32, n_new = 64, rows = 1;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "worker threads", "T" },
    { "prompt", 0, 0, G_OPTION_ARG_INT, &prompt, "prompt tokens", "P" },
    { "new", 0, 0, G_OPTION_ARG_INT, &n_new, "generated tokens", "N" },
    { "rows", 0, 0, G_OPTION_ARG_INT, &rows, "sequences per step", "R" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON line", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autofree gint64 *ids = NULL, *tokens = NULL;
  g_autofree float *logits = NULL;
  g_autofree double *times = NULL;
  SfDecoder *dec;
  gint64 t0, prompt_us;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || prompt < 1 || n_new < 1 || rows < 1) {
    fprintf (stderr, "%s\n",
        error ? error->message : "usage: decode-gpt2 MODEL [options]");
    return 2;
  }
  if (!sf_blas_init (&error) || !(model = sf_model_load (argv[1], &error))
      || !(dec = sf_model_decoder_new (model, NULL, (guint)rows, &error))) {
    fprintf (stderr, "decode-gpt2: %s\n", error->message);
    return 1;
  }
  if (threads > 0)
    sf_threads_set (threads);

  tokens = g_new (gint64, (gsize)rows * prompt);
  for (gint r = 0; r < rows; r++)
    for (gint i = 0; i < prompt; i++)
      tokens[r * prompt + i] = ((gint64)i * 7919 + 13) % dec->vocab;
  logits = g_new (float, (gsize)rows * dec->vocab);
  ids = g_new (gint64, n_new);
  times = g_new (double, n_new);

  t0 = g_get_monotonic_time ();
  if (!dec->step (
          dec->self, tokens, (guint)rows, (guint)prompt, logits, &error))
    goto fail;
  prompt_us = g_get_monotonic_time () - t0;
  for (gint i = 0; i < n_new; i++) {
    for (gint r = 0; r < rows; r++)
      tokens[r] = sf_argmax (logits + r * dec->vocab, dec->vocab);
    ids[i] = tokens[0];
    t0 = g_get_monotonic_time ();
    if (!dec->step (dec->self, tokens, (guint)rows, 1, logits, &error))
      goto fail;
    times[i] = (g_get_monotonic_time () - t0) / 1000.0;
  }
  qsort (times, n_new, sizeof (double), compare_double);

  printf (json ? "{\"side\": \"streamformer\", \"threads\": %d, "
                 "\"rows\": %d, \"prompt_tokens\": %d, \"prompt_ms\": %.3f, "
                 "\"new_tokens\": %d, \"ms_per_token_median\": %.3f, "
                 "\"ms_per_token_min\": %.3f, \"ids\": ["
               : "side                 streamformer\nthreads              %d\n"
                 "rows                 %d\nprompt_tokens        %d\n"
                 "prompt_ms            %.2f\nnew_tokens           %d\n"
                 "ms_per_token_median  %.2f\nms_per_token_min     %.2f\n"
                 "ids                  [",
      sf_threads_get (), rows, prompt, prompt_us / 1000.0, n_new,
      times[n_new / 2], times[0]);
  for (gint i = 0; i < n_new; i++)
    printf ("%s%" G_GINT64_FORMAT, i ? ", " : "", ids[i]);
  printf (json ? "]}\n" : "]\n");
  sf_decoder_free (dec);
  return 0;

fail:
  fprintf (stderr, "decode-gpt2: %s\n", error->message);
  sf_decoder_free (dec);
  return 1;
}
