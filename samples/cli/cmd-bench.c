/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench`: times forward passes of a checkpoint.
 *
 * The batch is synthetic: B×L token ids from a fixed-seed generator (so two
 * runs time the same work), an all-ones attention mask and zero token types.
 * No tokenizer is needed, so a folder with config.json and the weights alone
 * can be timed.
 *
 * The GFLOP/s figure counts the encoder's matrix products only: every
 * linear layer of every block (2 flops per multiply-add and token), the two
 * attention products QKᵀ and P·V, and the pooler when the model has one.
 * Embeddings, norms, activations, softmax and task heads are left out; they
 * are well under 1% of the work for BERT-sized encoders.
 *
 * Exit codes: 0 success, 1 a load or run error, 2 a usage error.
 */

#include "samples/cli/commands.h"
#include "samples/cli/precision-arg.h"
#include "samples/cli/bench-audio.h"
#include "samples/cli/bench-file.h"
#include "samples/cli/bench-profile.h"

#include "core/blas.h"
#include "core/image/image.h"
#include "core/threads.h"
#include "graphs/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_EXIT_OK 0
#define BENCH_EXIT_ERROR 1
#define BENCH_EXIT_USAGE 2

#define DEFAULT_THREADS 0 /* one per online core */
#define DEFAULT_ITERS 10
#define DEFAULT_WARMUP 2
#define DEFAULT_SEQ 128
#define DEFAULT_BATCH 1
#define DEFAULT_TOKENS 32 /* Whisper: tokens decoded per pass */
#define BENCH_SEED 20240611

typedef struct
{
  int threads;
  int iters;
  int warmup;
  int seq;
  int batch;
  char *size;    /* "HxW", image models */
  char *seconds; /* audio models */
  int tokens;    /* Whisper: tokens decoded per pass, 0 = encoder only */
  gboolean json;
  gboolean profile; /* per-op-group times of the timed passes */
  char *input;      /* inputs from a safetensors file */
  char *output;     /* with input: where the last output goes */
} BenchOptions;

typedef struct
{
  double load_ms;
  double median_ms;
  double min_ms;
  double mean_ms;
  double gflop; /* per forward pass; < 0 when unknown */
  double peak_rss_mib;
  double *times_ms; /* each timed pass, in run order */
  int n_times;
} BenchResult;

static gboolean
bench_parse_size (const char *text, int *height, int *width)
{
  char *end;
  gint64 h, w;

  h = g_ascii_strtoll (text, &end, 10);
  if (end == text || (*end != 'x' && *end != 'X'))
    return FALSE;
  text = end + 1;
  w = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || h < 1 || w < 1 || h > 65536 || w > 65536)
    return FALSE;
  *height = (int)h;
  *width = (int)w;
  return TRUE;
}

static gboolean
bench_parse_seconds (const char *text, double *seconds)
{
  char *end;
  double s = g_ascii_strtod (text, &end);

  if (end == text || *end != '\0' || !isfinite (s) || s <= 0)
    return FALSE;
  *seconds = s;
  return TRUE;
}

/* Looks a positive integer field up under its BERT name or, failing that,
 * under its DistilBERT name. */
static gboolean
bench_config_size (
    const SfConfig *config, const char *key, const char *alias, gint64 *out)
{
  const cJSON *item = sf_config_get (config, key);

  if (item == NULL && alias != NULL)
    item = sf_config_get (config, alias);
  if (!cJSON_IsNumber (item) || item->valuedouble < 1)
    return FALSE;
  *out = (gint64)item->valuedouble;
  return TRUE;
}

/* Flops of one forward pass over @batch sequences of @seq tokens; -1 when
 * the config lacks the encoder's sizes (not a BERT-style encoder). */
static double
bench_encoder_gflop (
    const SfModel *model, gint64 batch, gint64 seq, gboolean has_pooler)
{
  const SfConfig *config = sf_checkpoint_config (sf_model_checkpoint (model));
  gint64 hidden, inter, layers;
  double tokens = (double)batch * (double)seq;
  double per_layer, flops;

  if (!bench_config_size (config, "hidden_size", "dim", &hidden)
      || !bench_config_size (config, "intermediate_size", "hidden_dim", &inter)
      || !bench_config_size (config, "num_hidden_layers", "n_layers", &layers))
    return -1;

  /* query, key, value and attention output: 4 · H·H; feed-forward: 2 · H·I */
  per_layer = 2.0 * tokens * (4.0 * hidden * hidden + 2.0 * hidden * inter);
  /* scores [T, T] = Q·Kᵀ and context = P·V, summed over heads: 2 · T²·H each */
  per_layer += 4.0 * (double)batch * (double)seq * (double)seq * hidden;
  flops = per_layer * (double)layers;
  /* pooler: one H×H linear on the first token of each sequence */
  if (has_pooler)
    flops += 2.0 * (double)batch * hidden * hidden;
  return flops / 1e9;
}

static int
bench_compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

/* Fills @input with a [batch, seq] batch of ids below @vocab. */
static void
bench_make_text_input (
    SfTextInput *input, gint64 batch, gint64 seq, gint64 vocab)
{
  gint64 shape[2] = { batch, seq };
  GRand *rand = g_rand_new_with_seed (BENCH_SEED);
  gint64 *ids, *mask;
  gint64 i, n = batch * seq;

  input->input_ids = sf_tensor_new (SF_DTYPE_I64, 2, shape);
  input->attention_mask = sf_tensor_new (SF_DTYPE_I64, 2, shape);
  input->token_type_ids = NULL;
  ids = sf_tensor_i64 (input->input_ids);
  mask = sf_tensor_i64 (input->attention_mask);
  for (i = 0; i < n; i++) {
    ids[i] = (gint64)(g_rand_double (rand) * (double)vocab);
    if (ids[i] >= vocab)
      ids[i] = vocab - 1;
    mask[i] = 1;
  }
  g_rand_free (rand);
}

static gboolean
bench_run_text (SfModel *model, const BenchOptions *opts, BenchResult *result,
    GError **error)
{
  const SfConfig *config = sf_checkpoint_config (sf_model_checkpoint (model));
  SfTextInput input = { 0 };
  SfTextOutput output = { 0 };
  gboolean has_pooler = FALSE;
  double *times;
  gint64 vocab;
  int i;

  if (!sf_config_int_min (config, "vocab_size", 1, &vocab, error))
    return FALSE;

  bench_make_text_input (&input, opts->batch, opts->seq, vocab);
  times = g_new (double, opts->iters);

  for (i = 0; i < opts->warmup + opts->iters; i++) {
    gint64 start;

    if (opts->profile && i == opts->warmup)
      sf_bench_profile_enable (TRUE);
    start = g_get_monotonic_time ();
    if (!sf_model_forward_text (model, &input, FALSE, &output, error)) {
      sf_bench_profile_enable (FALSE);
      sf_text_input_clear (&input);
      g_free (times);
      return FALSE;
    }
    if (i >= opts->warmup)
      times[i - opts->warmup] = (g_get_monotonic_time () - start) / 1000.0;
    has_pooler = output.pooler_output != NULL;
    sf_text_output_clear (&output);
  }
  sf_bench_profile_enable (FALSE);
  sf_text_input_clear (&input);

  result->times_ms = g_memdup2 (times, sizeof (double) * opts->iters);
  result->n_times = opts->iters;
  qsort (times, opts->iters, sizeof (double), bench_compare_double);
  result->min_ms = times[0];
  if (opts->iters % 2 == 1)
    result->median_ms = times[opts->iters / 2];
  else
    result->median_ms =
        0.5 * (times[opts->iters / 2 - 1] + times[opts->iters / 2]);
  result->mean_ms = 0;
  for (i = 0; i < opts->iters; i++)
    result->mean_ms += times[i] / opts->iters;
  g_free (times);

  result->gflop =
      bench_encoder_gflop (model, opts->batch, opts->seq, has_pooler);
  return TRUE;
}

static void
bench_print_text (
    SfModel *model, const BenchOptions *opts, const BenchResult *r)
{
  g_print ("model         %s\n", sf_model_name (model));
  g_print ("architecture  %s (%s)\n", sf_model_architecture (model),
      sf_model_family (model));
  sf_bench_print_kernels ();
  g_print ("threads       %d\n", sf_threads_get ());
  g_print (
      "precision     %s\n", sf_precision_name (sf_model_precision (model)));
  g_print ("seq           %d\n", opts->seq);
  g_print ("batch         %d\n", opts->batch);
  g_print ("iterations    %d (after %d warm-up)\n", opts->iters, opts->warmup);
  g_print ("load ms       %.1f\n", r->load_ms);
  g_print ("median ms     %.2f\n", r->median_ms);
  g_print ("min ms        %.2f\n", r->min_ms);
  if (r->gflop > 0)
    g_print ("GFLOP/s       %.1f (%.2f GFLOP per pass)\n",
        r->gflop / (r->median_ms / 1000.0), r->gflop);
  else
    g_print ("GFLOP/s       n/a (not a BERT-style encoder config)\n");
  g_print ("peak RSS MiB  %.1f\n", r->peak_rss_mib);
  if (opts->profile)
    sf_bench_profile_print (opts->iters, r->mean_ms);
}

static void
bench_print_json (
    SfModel *model, const BenchOptions *opts, const BenchResult *r)
{
  cJSON *root = cJSON_CreateObject ();
  char *text;

  cJSON_AddStringToObject (root, "model", sf_model_name (model));
  cJSON_AddStringToObject (root, "architecture", sf_model_architecture (model));
  cJSON_AddStringToObject (root, "family", sf_model_family (model));
  cJSON_AddStringToObject (
      root, "precision", sf_precision_name (sf_model_precision (model)));
  sf_bench_json_kernels (root);
  cJSON_AddNumberToObject (root, "threads", sf_threads_get ());
  cJSON_AddNumberToObject (root, "seq", opts->seq);
  cJSON_AddNumberToObject (root, "batch", opts->batch);
  cJSON_AddNumberToObject (root, "iters", opts->iters);
  cJSON_AddNumberToObject (root, "warmup", opts->warmup);
  cJSON_AddNumberToObject (root, "load_ms", r->load_ms);
  cJSON_AddNumberToObject (root, "median_ms", r->median_ms);
  cJSON_AddNumberToObject (root, "min_ms", r->min_ms);
  cJSON_AddNumberToObject (root, "mean_ms", r->mean_ms);
  if (r->gflop > 0) {
    cJSON_AddNumberToObject (root, "gflop_per_pass", r->gflop);
    cJSON_AddNumberToObject (
        root, "gflops", r->gflop / (r->median_ms / 1000.0));
  } else {
    cJSON_AddNullToObject (root, "gflop_per_pass");
    cJSON_AddNullToObject (root, "gflops");
  }
  cJSON_AddNumberToObject (root, "peak_rss_mib", r->peak_rss_mib);
  cJSON_AddItemToObject (
      root, "times_ms", cJSON_CreateDoubleArray (r->times_ms, r->n_times));
  if (opts->profile)
    cJSON_AddItemToObject (
        root, "profile", sf_bench_profile_json (opts->iters, r->mean_ms));

  text = cJSON_PrintUnformatted (root);
  g_print ("%s\n", text);
  cJSON_free (text);
  cJSON_Delete (root);
}

/* ---- image models (ViT, SegFormer, CLIP vision) ---- */

/* Times sf_model_forward_image on a [batch, 3, H, W] batch of pixel values
 * drawn uniformly from [-1, 1), about the range of a normalised image.
 * Without --size, H x W is what the checkpoint's image processor makes of a
 * 640x480 frame. Prints the report and returns the exit code. */
static int
bench_image (SfModel *model, const BenchOptions *opts, int height, int width,
    double load_ms)
{
  const SfImageProcessor *proc = sf_model_image_processor (model);
  SfImageInput input = { 0 };
  GError *error = NULL;
  GRand *rand;
  double *times, *sorted, median, mean = 0;
  float *px;
  gint64 n;
  int i, iters = opts->iters;

  if (height <= 0 && proc != NULL)
    sf_image_processor_output_size (proc, 640, 480, &width, &height);
  if (height <= 0 || width <= 0) {
    height = 224;
    width = 224;
  }
  input.pixel_values = sf_tensor_new_f32 (
      4, (gint64)opts->batch, (gint64)3, (gint64)height, (gint64)width);
  px = sf_tensor_f32 (input.pixel_values);
  n = sf_tensor_numel (input.pixel_values);
  rand = g_rand_new_with_seed (BENCH_SEED);
  for (gint64 j = 0; j < n; j++)
    px[j] = (float)g_rand_double_range (rand, -1.0, 1.0);
  g_rand_free (rand);

  times = g_new (double, iters); /* in run order */
  for (i = 0; i < opts->warmup + iters; i++) {
    SfImageOutput output = { 0 };
    gint64 start;

    if (opts->profile && i == opts->warmup)
      sf_bench_profile_enable (TRUE);
    start = g_get_monotonic_time ();
    if (!sf_model_forward_image (model, &input, FALSE, &output, &error)) {
      sf_bench_profile_enable (FALSE);
      g_printerr ("streamformer bench: %s\n", error->message);
      g_clear_error (&error);
      sf_tensor_unref (input.pixel_values);
      g_free (times);
      return BENCH_EXIT_ERROR;
    }
    if (i >= opts->warmup)
      times[i - opts->warmup] = (g_get_monotonic_time () - start) / 1000.0;
    sf_image_output_clear (&output);
  }
  sf_bench_profile_enable (FALSE);
  sf_tensor_unref (input.pixel_values);

  sorted = g_memdup2 (times, sizeof (double) * iters);
  qsort (sorted, iters, sizeof (double), bench_compare_double);
  median = iters % 2 ? sorted[iters / 2]
                     : 0.5 * (sorted[iters / 2 - 1] + sorted[iters / 2]);
  for (i = 0; i < iters; i++)
    mean += times[i] / iters;

  if (opts->json) {
    cJSON *root = cJSON_CreateObject ();
    char *text;
    cJSON_AddStringToObject (root, "model", sf_model_name (model));
    cJSON_AddStringToObject (
        root, "architecture", sf_model_architecture (model));
    cJSON_AddStringToObject (root, "family", sf_model_family (model));
    cJSON_AddStringToObject (
        root, "precision", sf_precision_name (sf_model_precision (model)));
    sf_bench_json_kernels (root);
    cJSON_AddNumberToObject (root, "threads", sf_threads_get ());
    cJSON_AddNumberToObject (root, "height", height);
    cJSON_AddNumberToObject (root, "width", width);
    cJSON_AddNumberToObject (root, "batch", opts->batch);
    cJSON_AddNumberToObject (root, "iters", iters);
    cJSON_AddNumberToObject (root, "warmup", opts->warmup);
    cJSON_AddNumberToObject (root, "load_ms", load_ms);
    cJSON_AddNumberToObject (root, "median_ms", median);
    cJSON_AddNumberToObject (root, "min_ms", sorted[0]);
    cJSON_AddNumberToObject (root, "mean_ms", mean);
    cJSON_AddNumberToObject (root, "fps", 1000.0 * opts->batch / median);
    cJSON_AddNumberToObject (root, "peak_rss_mib", sf_bench_peak_rss_mib ());
    cJSON_AddItemToObject (
        root, "times_ms", cJSON_CreateDoubleArray (times, iters));
    if (opts->profile)
      cJSON_AddItemToObject (
          root, "profile", sf_bench_profile_json (iters, mean));
    text = cJSON_PrintUnformatted (root);
    g_print ("%s\n", text);
    cJSON_free (text);
    cJSON_Delete (root);
  } else {
    g_print ("model         %s\n", sf_model_name (model));
    g_print ("architecture  %s (%s)\n", sf_model_architecture (model),
        sf_model_family (model));
    sf_bench_print_kernels ();
    g_print ("threads       %d\n", sf_threads_get ());
    g_print (
        "precision     %s\n", sf_precision_name (sf_model_precision (model)));
    g_print ("input         %d x 3 x %d x %d\n", opts->batch, height, width);
    g_print ("iterations    %d (after %d warm-up)\n", iters, opts->warmup);
    g_print ("load ms       %.1f\n", load_ms);
    g_print ("median ms     %.2f\n", median);
    g_print ("min ms        %.2f\n", sorted[0]);
    g_print ("images/s      %.2f\n", 1000.0 * opts->batch / median);
    g_print ("peak RSS MiB  %.1f\n", sf_bench_peak_rss_mib ());
    if (opts->profile)
      sf_bench_profile_print (iters, mean);
  }
  g_free (sorted);
  g_free (times);
  return BENCH_EXIT_OK;
}

static int
bench_usage_error (const char *message)
{
  g_printerr ("streamformer bench: %s\n", message);
  g_printerr ("Try 'streamformer bench --help'.\n");
  return BENCH_EXIT_USAGE;
}

int
sf_cmd_bench (int argc, char **argv)
{
  g_autofree char *precision_arg = NULL;
  BenchOptions opts = {
    .threads = DEFAULT_THREADS,
    .iters = DEFAULT_ITERS,
    .warmup = DEFAULT_WARMUP,
    .seq = DEFAULT_SEQ,
    .batch = DEFAULT_BATCH,
    .tokens = DEFAULT_TOKENS,
  };
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &opts.threads,
        "Threads for ops and BLAS (0 = one per core)", "T" },
    { "iters", 'n', 0, G_OPTION_ARG_INT, &opts.iters,
        "Timed forward passes (default 10)", "N" },
    { "warmup", 'w', 0, G_OPTION_ARG_INT, &opts.warmup,
        "Untimed passes first (default 2)", "W" },
    { "seq", 'l', 0, G_OPTION_ARG_INT, &opts.seq,
        "Tokens per sequence, text models (default 128)", "L" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &opts.batch,
        "Sequences per pass (default 1)", "B" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &opts.size, "Input size, image models",
        "HxW" },
    { "seconds", 0, 0, G_OPTION_ARG_STRING, &opts.seconds,
        "Input length, audio models", "S" },
    { "tokens", 0, 0, G_OPTION_ARG_INT, &opts.tokens,
        "Tokens Whisper decodes per pass (default 32)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opts.json, "Print one JSON object",
        NULL },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &opts.input,
        "Time on the inputs in this safetensors file instead (raw audio "
        "as input_values goes through the front-end)",
        "FILE" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &opts.output,
        "With --input: write the last pass's output here", "FILE" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_arg,
        SF_CLI_PRECISION_HELP, "P" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &opts.profile,
        "Also report time per op group (products, attention, norms, …)", NULL },
    { NULL }
  };
  SfPrecision precision;
  GOptionContext *ctx;
  GError *error = NULL;
  SfModel *model;
  BenchResult result = { 0 };
  const char *dir;
  gint64 start, max_pos;
  int size_h = 0, size_w = 0; /* 0: the model's own size */
  double seconds = 0;
  int status = BENCH_EXIT_OK;

  ctx = g_option_context_new ("MODEL - time forward passes of a checkpoint");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "MODEL is a Hugging Face checkpoint folder (config.json and "
      "model.safetensors) or a Hub id in the Hugging Face cache.\nThe input is "
      "a synthetic batch; no tokenizer "
      "or media is needed.\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    status = bench_usage_error (error->message);
    g_clear_error (&error);
    goto out_opts;
  }
  if (argc != 2) {
    status = bench_usage_error (
        argc < 2 ? "missing MODEL" : "expected exactly one MODEL");
    goto out_opts;
  }
  if (opts.threads < 0 || opts.iters < 1 || opts.warmup < 0 || opts.seq < 1
      || opts.batch < 1) {
    status = bench_usage_error ("--threads and --warmup must be >= 0; "
                                "--iters, --seq and --batch must be >= 1");
    goto out_opts;
  }
  if (opts.output && !opts.input) {
    status = bench_usage_error ("--output needs --input");
    goto out_opts;
  }
  if (opts.size && !bench_parse_size (opts.size, &size_h, &size_w)) {
    status = bench_usage_error ("--size takes HxW, e.g. 224x224");
    goto out_opts;
  }
  if (opts.seconds && !bench_parse_seconds (opts.seconds, &seconds)) {
    status = bench_usage_error ("--seconds takes a positive number");
    goto out_opts;
  }
  if (!sf_cli_precision ("bench", precision_arg, &precision)) {
    status = BENCH_EXIT_USAGE;
    goto out_opts;
  }
  g_option_context_free (ctx);
  ctx = NULL;
  dir = argv[1];

  if (!sf_blas_init (&error)) {
    g_printerr ("streamformer bench: %s\n", error->message);
    g_clear_error (&error);
    status = BENCH_EXIT_ERROR;
    goto out_opts;
  }
  sf_threads_set (opts.threads);

  start = g_get_monotonic_time ();
  model = sf_model_load_with_precision (dir, precision, &error);
  if (model == NULL) {
    g_printerr ("streamformer bench: %s\n", error->message);
    g_clear_error (&error);
    status = BENCH_EXIT_ERROR;
    goto out_opts;
  }
  result.load_ms = (g_get_monotonic_time () - start) / 1000.0;

  if (opts.input) {
    SfBenchFileOptions file = { opts.input, opts.output, opts.iters,
      opts.warmup, opts.json, opts.profile, result.load_ms };
    status = sf_bench_file (model, &file);
    goto out_model;
  }
  if (sf_model_modality (model) == SF_MODALITY_AUDIO) {
    SfBenchAudioOptions audio = { opts.iters, opts.warmup,
      opts.seconds ? seconds : 0, MAX (opts.tokens, 0), opts.json,
      result.load_ms, opts.profile };
    status = sf_bench_audio (model, &audio);
    goto out_model;
  }
  if (sf_model_modality (model) == SF_MODALITY_IMAGE) {
    status = bench_image (model, &opts, size_h, size_w, result.load_ms);
    goto out_model;
  }
  if (sf_model_modality (model) != SF_MODALITY_TEXT) {
    g_printerr ("streamformer bench: %s is an %s model; bench supports "
                "text models only for now\n",
        dir,
        sf_model_modality (model) == SF_MODALITY_IMAGE ? "image" : "audio");
    status = BENCH_EXIT_ERROR;
    goto out_model;
  }
  if (opts.size || opts.seconds) {
    g_printerr ("streamformer bench: %s is a text model: use --seq and "
                "--batch, not %s\n",
        dir, opts.size ? "--size" : "--seconds");
    status = BENCH_EXIT_USAGE;
    goto out_model;
  }

  max_pos = sf_model_max_positions (model);
  if (max_pos > 0 && opts.seq > max_pos) {
    g_printerr ("streamformer bench: --seq %d exceeds the %" G_GINT64_FORMAT
                " positions of %s\n",
        opts.seq, max_pos, dir);
    status = BENCH_EXIT_USAGE;
    goto out_model;
  }

  if (!bench_run_text (model, &opts, &result, &error)) {
    g_printerr ("streamformer bench: %s\n", error->message);
    g_clear_error (&error);
    status = BENCH_EXIT_ERROR;
    goto out_model;
  }
  result.peak_rss_mib = sf_bench_peak_rss_mib ();

  if (opts.json)
    bench_print_json (model, &opts, &result);
  else
    bench_print_text (model, &opts, &result);

out_model:
  sf_model_unref (model);
  g_free (result.times_ms);
out_opts:
  if (ctx)
    g_option_context_free (ctx);
  g_free (opts.size);
  g_free (opts.seconds);
  g_free (opts.input);
  g_free (opts.output);
  return status;
}
