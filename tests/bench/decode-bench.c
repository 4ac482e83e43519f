/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decode-bench: generation speed of any generating checkpoint through
 * sf_model_decoder_new() + sf_generate() (graphs/generate.h), the peer of
 * torch_gpt2.py.
 *
 *   decode-bench MODEL [--threads T] [--prompt P] [--new N] [--source S]
 *                [--beams B] [--precision f32|bf16|int8] [--json]
 *
 * Decoder-only models (S = 0): a synthetic P-token prompt, then N greedy
 * tokens; the prompt time is the time to the first chosen token, and each
 * later token is timed between two chosen tokens (one decoder step plus
 * the choice). Encoder-decoders (S > 0): a synthetic S-token encoder input
 * and the decoder start token, then exactly N new tokens (min_new_tokens =
 * max_new_tokens, no early stop) with B beams; the whole generation is
 * timed, encoder included (S input ids below 32000, the decoder start
 * token of the checkpoint's generation config). Prints the timings and the ids of the best
 * sequence, so both sides can be checked to agree.
 */
#include "core/blas.h"
#include "core/threads.h"
#include "graphs/generate.h"
#include "graphs/model.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  gint64 last_us;
  guint n;
  double *times; /* ms; [0] is the prompt */
} Clock;

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static gboolean
on_token (gint64 token, gpointer user_data)
{
  Clock *clock = user_data;
  gint64 now = g_get_monotonic_time ();

  (void)token;
  clock->times[clock->n++] = (now - clock->last_us) / 1000.0;
  clock->last_us = now;
  return TRUE;
}

/* Encoder inputs are drawn below this, inside every family's vocabulary
 * (T5's 32128, BART's 50265). */
#define SOURCE_VOCAB 32000

static gint64
synthetic_token (gint64 i, gint64 vocab)
{
  return (i * 7919 + 13) % vocab;
}

static gboolean
warm_up (SfModel *model, const SfTensor *src, const SfGenerationConfig *cfg,
    gint prompt, GError **error)
{
  SfGenerationConfig short_cfg = *cfg;
  g_autofree gint64 *tokens = NULL;
  GPtrArray *out;
  SfDecoder *dec;
  guint n;

  if (!(dec = sf_model_decoder_new (model, src, cfg->num_beams, error)))
    return FALSE;
  n = src != NULL ? 1 : (guint)prompt;
  tokens = g_new (gint64, n);
  for (guint i = 0; i < n; i++)
    tokens[i] = src != NULL ? MAX (cfg->decoder_start_token_id, 0)
                            : synthetic_token (i, dec->vocab);
  short_cfg.max_new_tokens = short_cfg.min_new_tokens = 2;
  out = sf_generate (dec, &short_cfg, tokens, n, NULL, NULL, error);
  sf_decoder_free (dec);
  if (out == NULL)
    return FALSE;
  sf_generated_array_free (out);
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint threads = 0, prompt = 32, n_new = 64, source = 0, beams = 1;
  gboolean json = FALSE;
  g_autofree char *precision_name = NULL;
  SfPrecision precision = SF_PRECISION_F32;
  GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "worker threads", "T" },
    { "prompt", 0, 0, G_OPTION_ARG_INT, &prompt, "prompt tokens", "P" },
    { "new", 0, 0, G_OPTION_ARG_INT, &n_new, "generated tokens", "N" },
    { "source", 0, 0, G_OPTION_ARG_INT, &source,
        "encoder input tokens (encoder-decoders)", "S" },
    { "beams", 0, 0, G_OPTION_ARG_INT, &beams, "beams", "B" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_name,
        "linear layers' precision (default f32)", "f32|bf16|int8" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON line", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTensor) src = NULL;
  g_autoptr (GPtrArray) out = NULL;
  g_autofree gint64 *tokens = NULL;
  g_autofree double *times = NULL;
  SfGenerationConfig cfg;
  SfGenerated *best;
  SfDecoder *dec = NULL;
  Clock clock = { 0 };
  gint64 t0, total_us;
  guint n_prompt;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || prompt < 1 || n_new < 2 || source < 0 || beams < 1
      || (source == 0 && beams != 1)
      || (precision_name
          && !sf_precision_from_name (precision_name, &precision, &error))) {
    fprintf (stderr, "%s\n",
        error ? error->message : "usage: decode-bench MODEL [options]");
    return 2;
  }
  if (!sf_blas_init (&error)
      || !(model = sf_model_load_with_precision (argv[1], precision, &error)))
    goto fail;
  if (threads > 0)
    sf_threads_set (threads);
  if (source > 0) {
    gint64 shape[2] = { 1, source };

    src = sf_tensor_new (SF_DTYPE_I64, 2, shape);
    for (gint i = 0; i < source; i++)
      sf_tensor_i64 (src)[i] = synthetic_token (i, SOURCE_VOCAB);
  }

  sf_generation_config_init (&cfg);
  if (source > 0
      && !sf_generation_config_load (&cfg, sf_model_checkpoint (model), &error))
    goto fail_cfg;
  /* The same work on both sides: exactly N tokens, no logits processors
   * beyond the forced ones a checkpoint has. */
  cfg.max_new_tokens = n_new;
  cfg.min_new_tokens = n_new;
  cfg.num_beams = (guint)beams;
  cfg.num_return_sequences = 1;
  cfg.early_stopping = 0;
  cfg.length_penalty = 1.0f;
  cfg.no_repeat_ngram_size = 0;
  cfg.repetition_penalty = 1.0f;
  cfg.do_sample = FALSE;
  cfg.forced_bos_token_id = -1;
  cfg.forced_eos_token_id = -1;

  /* One short untimed run first, so that neither side pays for paging in
   * the mapped weights in its timings. */
  if (!warm_up (model, src, &cfg, prompt, &error))
    goto fail_cfg;

  t0 = g_get_monotonic_time ();
  if (!(dec = sf_model_decoder_new (model, src, (guint)beams, &error)))
    goto fail_cfg;
  if (source > 0) {
    tokens = g_new (gint64, 1);
    tokens[0] = MAX (cfg.decoder_start_token_id, 0);
    n_prompt = 1;
  } else {
    tokens = g_new (gint64, prompt);
    for (gint i = 0; i < prompt; i++)
      tokens[i] = synthetic_token (i, dec->vocab);
    n_prompt = (guint)prompt;
  }

  clock.times = times = g_new0 (double, n_new + 1);
  clock.last_us = g_get_monotonic_time ();
  if (source == 0)
    t0 = clock.last_us;
  out = sf_generate (dec, &cfg, tokens, n_prompt, on_token, &clock, &error);
  total_us = g_get_monotonic_time () - t0;
  if (out == NULL)
    goto fail_cfg;
  best = g_ptr_array_index (out, 0);

  if (source == 0 && clock.n >= 2)
    qsort (times + 1, clock.n - 1, sizeof (double), compare_double);
  printf (json ? "{\"side\": \"streamformer\", \"threads\": %d, "
                 "\"prompt_tokens\": %d, \"source_tokens\": %d, "
                 "\"beams\": %d, \"new_tokens\": %u, \"total_ms\": %.3f, "
                 "\"prompt_ms\": %.3f, \"ms_per_token_median\": %.3f, "
                 "\"ms_per_token_min\": %.3f, \"ids\": ["
               : "side                 streamformer\nthreads              %d\n"
                 "prompt_tokens        %d\nsource_tokens        %d\n"
                 "beams                %d\nnew_tokens           %u\n"
                 "total_ms             %.2f\nprompt_ms            %.2f\n"
                 "ms_per_token_median  %.2f\nms_per_token_min     %.2f\n"
                 "ids                  [",
      sf_threads_get (), source > 0 ? 1 : prompt, source, beams, best->ids->len,
      total_us / 1000.0, source == 0 ? times[0] : 0.0,
      source == 0 && clock.n >= 2 ? times[1 + (clock.n - 1) / 2] : 0.0,
      source == 0 && clock.n >= 2 ? times[1] : 0.0);
  for (guint i = 0; i < best->ids->len; i++)
    printf ("%s%" G_GINT64_FORMAT, i ? ", " : "",
        g_array_index (best->ids, gint64, i));
  printf (json ? "]}\n" : "]\n");
  sf_generated_array_free (g_steal_pointer (&out));
  sf_generation_config_clear (&cfg);
  sf_decoder_free (dec);
  return 0;

fail_cfg:
  sf_generation_config_clear (&cfg);
  sf_decoder_free (dec);
fail:
  fprintf (stderr, "decode-bench: %s\n", error->message);
  return 1;
}
