/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* decode-batch-bench: greedy decoding of N independent prompts of one
 * generating checkpoint, one after another through sf_generate() against
 * all together through sf_generate_batch() (graphs/generate.h), in one
 * run.
 *
 *   decode-batch-bench MODEL [--streams 1,2,4,8] [--prompt P] [--source S]
 *                      [--new M] [--rounds R]
 *
 * Decoder-only models (S = 0): item i's prompt is P + i % 3 synthetic
 * tokens. Encoder-decoders (S > 0): item i's encoder input is S + i % 3
 * synthetic ids, its decoder prompt the token 0. No end token: every
 * item decodes exactly M new tokens. Each side builds its own decoders
 * (encoders included) inside the timed region, so the only difference is
 * how the steps run. R rounds each run every configuration once; each
 * configuration's fastest round counts. The batched ids are checked
 * against the lone ones.
 *
 * Prints one JSON object per N: streams, new, alone_s, batch_s, ratio
 * (alone_s / batch_s: above 1, the batch is faster) and identical.
 */
#include "graphs/generate.h"
#include "graphs/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  SfModel *model;
  gint64 prompt, source, new_tokens;
  gboolean enc_dec;
} Bench;

/* Item @i's decoder prompt (@ids) and decoder (over its source). */
static SfDecoder *
item_decoder (const Bench *b, guint i, GArray *ids)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (100 + i);
  g_autoptr (SfTensor) source = NULL;
  SfDecoder *dec;
  gint64 n;

  g_array_set_size (ids, 0);
  if (b->enc_dec) {
    gint64 zero = 0;
    n = b->source + i % 3;
    source = sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 1, n });
    for (gint64 k = 0; k < n; k++)
      sf_tensor_i64 (source)[k] = g_rand_int_range (rand, 4, 30000);
    g_array_append_val (ids, zero);
  } else {
    n = b->prompt + i % 3;
    for (gint64 k = 0; k < n; k++) {
      gint64 id = g_rand_int_range (rand, 4, 30000);
      g_array_append_val (ids, id);
    }
  }
  dec = sf_model_decoder_new (b->model, source, 1, &error);
  if (dec == NULL) {
    fprintf (stderr, "decode-batch-bench: %s\n", error->message);
    exit (1);
  }
  return dec;
}

static void
config_init (const Bench *b, SfGenerationConfig *cfg)
{
  sf_generation_config_init (cfg);
  cfg->max_new_tokens = b->new_tokens;
  cfg->pad_token_id = 0;
}

/* Seconds to decode @n items one by one; their ids go to @out. */
static double
run_alone (const Bench *b, guint n, GPtrArray *out)
{
  SfGenerationConfig cfg;
  g_autoptr (GArray) prompt = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 t0 = g_get_monotonic_time ();

  config_init (b, &cfg);
  for (guint i = 0; i < n; i++) {
    g_autoptr (GError) error = NULL;
    SfDecoder *dec = item_decoder (b, i, prompt);
    GPtrArray *seqs = sf_generate (dec, &cfg, (const gint64 *)prompt->data,
        prompt->len, NULL, NULL, &error);

    if (seqs == NULL) {
      fprintf (stderr, "decode-batch-bench: %s\n", error->message);
      exit (1);
    }
    g_ptr_array_add (out, g_array_ref (((SfGenerated *)seqs->pdata[0])->ids));
    sf_generated_array_free (seqs);
    sf_decoder_free (dec);
  }
  sf_generation_config_clear (&cfg);
  return (g_get_monotonic_time () - t0) / 1e6;
}

/* Seconds to decode @n items together; their ids go to @out. */
static double
run_batch (const Bench *b, guint n, GPtrArray *out)
{
  SfGenerationConfig cfg;
  g_autofree SfDecoder **decs = g_new (SfDecoder *, n);
  g_autofree const SfGenerationConfig **cfgs =
      g_new (const SfGenerationConfig *, n);
  g_autofree const gint64 **prompts = g_new (const gint64 *, n);
  g_autofree guint *n_prompts = g_new (guint, n);
  g_autoptr (GPtrArray) held =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
  g_autoptr (GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();

  config_init (b, &cfg);
  for (guint i = 0; i < n; i++) {
    GArray *prompt = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_ptr_array_add (held, prompt);
    decs[i] = item_decoder (b, i, prompt);
    cfgs[i] = &cfg;
    prompts[i] = (const gint64 *)prompt->data;
    n_prompts[i] = prompt->len;
    g_ptr_array_add (out, g_array_new (FALSE, FALSE, sizeof (gint64)));
  }
  if (!sf_generate_batch (decs, cfgs, prompts, n_prompts, n,
          (GArray **)out->pdata + out->len - n, &error)) {
    fprintf (stderr, "decode-batch-bench: %s\n", error->message);
    exit (1);
  }
  for (guint i = 0; i < n; i++)
    sf_decoder_free (decs[i]);
  sf_generation_config_clear (&cfg);
  return (g_get_monotonic_time () - t0) / 1e6;
}

static gboolean
same_ids (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++) {
    GArray *x = a->pdata[i], *y = b->pdata[i];
    if (x->len != y->len
        || memcmp (x->data, y->data, x->len * sizeof (gint64)) != 0) {
      return FALSE;
    }
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *streams_arg = NULL;
  g_auto (GStrv) streams = NULL;
  gint prompt = 16, source = 0, new_tokens = 32, rounds = 3;
  GOptionEntry entries[] = {
    { "streams", 0, 0, G_OPTION_ARG_STRING, &streams_arg,
        "item counts (default 1,2,4,8)", "N,.." },
    { "prompt", 0, 0, G_OPTION_ARG_INT, &prompt, "prompt tokens", "P" },
    { "source", 0, 0, G_OPTION_ARG_INT, &source,
        "encoder input tokens (encoder-decoders)", "S" },
    { "new", 0, 0, G_OPTION_ARG_INT, &new_tokens, "new tokens", "M" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "rounds", "R" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL");
  Bench b;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || rounds < 1 || new_tokens < 1 || prompt < 1) {
    fprintf (stderr, "usage: decode-batch-bench MODEL [options]%s%s\n",
        error ? ": " : "", error ? error->message : "");
    return 2;
  }
  streams = g_strsplit (streams_arg ? streams_arg : "1,2,4,8", ",", -1);
  b = (Bench){ NULL, prompt, source, new_tokens, source > 0 };
  b.model = sf_model_load (argv[1], &error);
  if (b.model == NULL) {
    fprintf (stderr, "decode-batch-bench: %s\n", error->message);
    return 1;
  }
  for (guint s = 0; streams[s]; s++) {
    guint n = (guint)atoi (streams[s]);
    double best_alone = G_MAXDOUBLE, best_batch = G_MAXDOUBLE;
    gboolean identical = TRUE;

    if (n == 0)
      continue;
    for (gint r = 0; r < rounds; r++) {
      g_autoptr (GPtrArray) a =
          g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
      g_autoptr (GPtrArray) t =
          g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);

      double alone = run_alone (&b, n, a);
      double batch = run_batch (&b, n, t);

      best_alone = MIN (best_alone, alone);
      best_batch = MIN (best_batch, batch);
      identical &= same_ids (a, t);
    }
    printf ("{\"streams\": %u, \"new\": %d, \"alone_s\": %.3f, "
            "\"batch_s\": %.3f, \"ratio\": %.2f, \"identical\": %s}\n",
        n, new_tokens, best_alone, best_batch, best_alone / best_batch,
        identical ? "true" : "false");
    fflush (stdout);
  }
  sf_model_unref (b.model);
  return 0;
}
