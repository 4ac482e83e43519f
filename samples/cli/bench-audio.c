/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench` on audio checkpoints.
 *
 * One pass is what a transcriber or classifier does with a window of
 * audio: the checkpoint's front-end (log-mel, fbank or the normalised
 * waveform), the encoder (and the CTC or classification head), and for
 * Whisper greedy decoding of a fixed number of tokens with the KV caches.
 *
 * Design decisions:
 * - The input is synthetic and deterministic (sf_bench_audio_signal), so
 *   two runs, or a peer in another language, time the same work.
 * - Whisper decoding masks <|endoftext|> so that every pass decodes exactly
 *   --tokens tokens: random or real weights may otherwise stop at any
 *   length, and the timing would measure the stopping point. The prompt is
 *   decoder_start_token_id, then the checkpoint's forced_decoder_ids, then
 *   <|notimestamps|>, as generation without timestamps starts; other logit
 *   processors (suppress_tokens) are left out, they cost next to nothing.
 * - The real-time factor is audio seconds per compute second: above 1 is
 *   faster than real time.
 */
#include "samples/cli/bench-audio.h"
#include "samples/cli/bench-profile.h"

#include "core/audio/audio.h"
#include "core/blas.h"
#include "core/io/config.h"
#include "core/error.h"
#include "core/threads.h"
#include "graphs/families/whisper.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define BENCH_AUDIO_EXIT_OK 0
#define BENCH_AUDIO_EXIT_ERROR 1
#define BENCH_AUDIO_EXIT_USAGE 2

#define BENCH_AUDIO_SEED 20240611u
#define BENCH_AUDIO_DEFAULT_SECONDS 10.0
#define BENCH_AUDIO_CHIRP_FROM_HZ 100.0
#define BENCH_AUDIO_CHIRP_TO_HZ 4000.0
#define BENCH_AUDIO_CHIRP_AMPLITUDE 0.4
#define BENCH_AUDIO_NOISE_AMPLITUDE 0.05

/* Per pass, in ms. */
typedef struct
{
  double frontend, encoder, decode, total;
} PassTimes;

typedef struct
{
  double median, min, mean;
} Summary;

float *
sf_bench_audio_signal (gsize n, int rate)
{
  float *x = g_new (float, MAX (n, 1));
  double duration = (double)n / rate;
  double sweep = BENCH_AUDIO_CHIRP_TO_HZ - BENCH_AUDIO_CHIRP_FROM_HZ;
  guint32 state = BENCH_AUDIO_SEED;

  for (gsize i = 0; i < n; i++) {
    double t = (double)i / rate;
    /* instantaneous frequency from + sweep · t / duration */
    double phase = 2.0 * G_PI
        * (BENCH_AUDIO_CHIRP_FROM_HZ * t + 0.5 * sweep * t * t / duration);
    double noise;

    state = state * 1664525u + 1013904223u;
    noise = (double)state / 4294967296.0 - 0.5; /* uniform in [-0.5, 0.5) */
    x[i] = (float)(BENCH_AUDIO_CHIRP_AMPLITUDE * sin (phase)
        + 2.0 * BENCH_AUDIO_NOISE_AMPLITUDE * noise);
  }
  return x;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

/* Median, min and mean of the field at @offset over @n passes. */
static Summary
summarise (const PassTimes *passes, int n, gsize offset)
{
  g_autofree double *v = g_new (double, n);
  Summary s = { 0 };

  for (int i = 0; i < n; i++) {
    v[i] = *(const double *)((const char *)&passes[i] + offset);
    s.mean += v[i] / n;
  }
  qsort (v, n, sizeof (double), compare_double);
  s.min = v[0];
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return s;
}

/* A token id field, or the first of a list (eos_token_id may be either);
 * @out keeps its value when the field is absent. */
static void
read_token (const SfConfig *cfg, const char *key, gint64 *out)
{
  const cJSON *item = cfg ? sf_config_get (cfg, key) : NULL;

  if (cJSON_IsArray (item))
    item = cJSON_GetArrayItem (item, 0);
  if (cJSON_IsNumber (item) && item->valuedouble >= 0)
    *out = (gint64)item->valuedouble;
}

/* The leading run of forced_decoder_ids ([[1, id], [2, id], …]); null ids
 * (a language left to detection) are skipped. */
static void
read_forced (const SfConfig *cfg, GArray *prompt)
{
  const cJSON *list = cfg ? sf_config_get (cfg, "forced_decoder_ids") : NULL;
  const cJSON *pair;
  gint64 pos = 1;

  cJSON_ArrayForEach (pair, list) {
    const cJSON *p = cJSON_GetArrayItem (pair, 0);
    const cJSON *id = cJSON_GetArrayItem (pair, 1);
    gint64 v;

    if (!cJSON_IsNumber (p) || (gint64)p->valuedouble != pos++)
      break;
    if (!cJSON_IsNumber (id) || id->valuedouble < 0)
      continue;
    v = (gint64)id->valuedouble;
    g_array_append_val (prompt, v);
  }
}

/* The decoder prompt and the end-of-text id, from config.json and then
 * generation_config.json over it. */
static gboolean
whisper_prompt (SfModel *model, GArray *prompt, gint64 *eos, GError **error)
{
  SfCheckpoint *ckpt = sf_model_checkpoint (model);
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  g_autofree char *path = sf_checkpoint_file (ckpt, "generation_config.json");
  g_autoptr (SfConfig) gen = NULL;
  gint64 start = -1, no_ts = -1;

  if (path != NULL && (gen = sf_config_load (path, error)) == NULL)
    return FALSE;
  *eos = -1;
  read_token (cfg, "decoder_start_token_id", &start);
  read_token (gen, "decoder_start_token_id", &start);
  read_token (cfg, "eos_token_id", eos);
  read_token (gen, "eos_token_id", eos);
  read_token (cfg, "no_timestamps_token_id", &no_ts);
  read_token (gen, "no_timestamps_token_id", &no_ts);
  if (start < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no decoder_start_token_id in config.json or "
        "generation_config.json",
        sf_model_dir (model));
    return FALSE;
  }
  g_array_append_val (prompt, start);
  read_forced (gen ? gen : cfg, prompt);
  if (no_ts >= 0 && g_array_index (prompt, gint64, prompt->len - 1) != no_ts)
    g_array_append_val (prompt, no_ts);
  return TRUE;
}

/* Greedy decoding of @tokens tokens after @prompt, <|endoftext|> masked. */
static gboolean
whisper_decode (SfModel *model, const SfTensor *enc, const GArray *prompt,
    gint64 eos, int tokens, GError **error)
{
  g_autoptr (SfWhisperState) st = NULL;
  g_autoptr (SfTensor) logits = NULL; /* [1, 1, V] */

  st = sf_whisper_state_new (model, enc, prompt->len + tokens, error);
  if (st == NULL)
    return FALSE;
  logits = sf_whisper_state_step (
      st, (const gint64 *)prompt->data, prompt->len, FALSE, NULL, error);
  for (int k = 0; logits != NULL; k++) {
    float *x = sf_tensor_f32 (logits);
    gint64 vocab = logits->shape[2], next = 0;

    if (eos >= 0 && eos < vocab)
      x[eos] = -INFINITY;
    for (gint64 i = 1; i < vocab; i++)
      if (x[i] > x[next])
        next = i;
    if (k + 1 >= tokens)
      return TRUE;
    sf_tensor_unref (logits);
    logits = sf_whisper_state_step (st, &next, 1, FALSE, NULL, error);
  }
  return FALSE;
}

/* One pass; fills @t. */
static gboolean
run_pass (SfModel *model, const float *samples, gsize n, const GArray *prompt,
    gint64 eos, int tokens, PassTimes *t, SfTensor **features, GError **error)
{
  const SfAudioFrontend *fe = sf_model_audio_frontend (model);
  g_autoptr (SfTensor) feat = NULL;
  SfAudioInput in = { 0 };
  SfAudioOutput out = { 0 };
  gint64 t0, t1, t2, t3;
  gboolean ok;

  t0 = g_get_monotonic_time ();
  feat = sf_audio_frontend_apply (fe, samples, n, error);
  if (feat == NULL)
    return FALSE;
  /* a batch of one: [1, …] */
  {
    gint64 shape[4] = { 1, 1, 1, 1 };
    memcpy (shape + 1, feat->shape, feat->ndim * sizeof (gint64));
    in.features = sf_tensor_reshape (feat, feat->ndim + 1, shape);
  }
  t1 = g_get_monotonic_time ();
  ok = sf_model_forward_audio (model, &in, FALSE, &out, error);
  t2 = g_get_monotonic_time ();
  if (ok && tokens > 0)
    ok = whisper_decode (
        model, out.last_hidden_state, prompt, eos, tokens, error);
  t3 = g_get_monotonic_time ();
  sf_tensor_unref (in.features);
  sf_audio_output_clear (&out);
  t->frontend = (t1 - t0) / 1000.0;
  t->encoder = (t2 - t1) / 1000.0;
  t->decode = (t3 - t2) / 1000.0;
  t->total = (t3 - t0) / 1000.0;
  if (features != NULL && *features == NULL)
    *features = sf_tensor_ref (feat);
  return ok;
}

static double
peak_rss_mib (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return -1;
  return usage.ru_maxrss / 1024.0; /* Linux reports KiB */
}

static void
print_text (SfModel *model, const SfBenchAudioOptions *opts, double seconds,
    int tokens, const SfTensor *feat, const Summary *total, const Summary *fe,
    const Summary *enc, const Summary *dec)
{
  g_autofree char *shape = sf_tensor_shape_string (feat);

  g_print ("model         %s\n", sf_model_name (model));
  g_print ("architecture  %s (%s)\n", sf_model_architecture (model),
      sf_model_family (model));
  sf_bench_print_kernels ();
  g_print ("threads       %d\n", sf_threads_get ());
  g_print ("audio         %.2f s synthetic chirp + noise, features %s\n",
      seconds, shape);
  if (tokens > 0)
    g_print ("decoding      %d tokens, greedy, <|endoftext|> masked so "
             "every pass decodes all of them\n",
        tokens);
  g_print ("iterations    %d (after %d warm-up)\n", opts->iters, opts->warmup);
  g_print ("load ms       %.1f\n", opts->load_ms);
  g_print ("median ms     %.2f (front-end %.2f, encoder %.2f", total->median,
      fe->median, enc->median);
  if (tokens > 0)
    g_print (
        ", decoding %.2f = %.2f ms/token", dec->median, dec->median / tokens);
  g_print (")\n");
  g_print ("min ms        %.2f\n", total->min);
  g_print ("real-time     %.1fx (audio s / compute s; compute is %.3f of "
           "the audio's duration)\n",
      seconds / (total->median / 1000.0), total->median / 1000.0 / seconds);
  g_print ("peak RSS MiB  %.1f\n", peak_rss_mib ());
  if (opts->profile)
    sf_bench_profile_print (opts->iters, total->mean);
}

static void
print_json (SfModel *model, const SfBenchAudioOptions *opts, double seconds,
    int tokens, const SfTensor *feat, const PassTimes *passes,
    const Summary *total, const Summary *fe, const Summary *enc,
    const Summary *dec)
{
  g_autoptr (cJSON) root = cJSON_CreateObject ();
  g_autofree double *times = g_new (double, opts->iters);
  g_autofree char *shape = sf_tensor_shape_string (feat);
  char *text;

  for (int i = 0; i < opts->iters; i++)
    times[i] = passes[i].total;
  cJSON_AddStringToObject (root, "model", sf_model_name (model));
  cJSON_AddStringToObject (root, "architecture", sf_model_architecture (model));
  cJSON_AddStringToObject (root, "family", sf_model_family (model));
  cJSON_AddStringToObject (
      root, "precision", sf_precision_name (sf_model_precision (model)));
  sf_bench_json_kernels (root);
  cJSON_AddNumberToObject (root, "threads", sf_threads_get ());
  cJSON_AddNumberToObject (root, "seconds", seconds);
  cJSON_AddStringToObject (root, "features", shape);
  cJSON_AddNumberToObject (root, "tokens", tokens);
  cJSON_AddBoolToObject (root, "eos_masked", tokens > 0);
  cJSON_AddNumberToObject (root, "iters", opts->iters);
  cJSON_AddNumberToObject (root, "warmup", opts->warmup);
  cJSON_AddNumberToObject (root, "load_ms", opts->load_ms);
  cJSON_AddNumberToObject (root, "median_ms", total->median);
  cJSON_AddNumberToObject (root, "min_ms", total->min);
  cJSON_AddNumberToObject (root, "mean_ms", total->mean);
  cJSON_AddNumberToObject (root, "frontend_ms", fe->median);
  cJSON_AddNumberToObject (root, "encoder_ms", enc->median);
  cJSON_AddNumberToObject (root, "decode_ms", dec->median);
  cJSON_AddNumberToObject (
      root, "realtime_factor", seconds / (total->median / 1000.0));
  cJSON_AddNumberToObject (root, "peak_rss_mib", peak_rss_mib ());
  cJSON_AddItemToObject (
      root, "times_ms", cJSON_CreateDoubleArray (times, opts->iters));
  if (opts->profile)
    cJSON_AddItemToObject (
        root, "profile", sf_bench_profile_json (opts->iters, total->mean));
  text = cJSON_PrintUnformatted (root);
  g_print ("%s\n", text);
  cJSON_free (text);
}

int
sf_bench_audio (SfModel *model, const SfBenchAudioOptions *opts)
{
  const SfAudioFrontend *fe = sf_model_audio_frontend (model);
  gboolean whisper = sf_whisper_check (model);
  g_autoptr (GArray) prompt = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTensor) feat = NULL;
  g_autofree float *samples = NULL;
  g_autofree PassTimes *passes = NULL;
  Summary total, fes, enc, dec;
  double seconds = opts->seconds;
  gint64 eos = -1;
  int rate, tokens = whisper ? opts->tokens : 0;
  double window;
  gsize n;

  if (fe == NULL) {
    g_printerr ("streamformer bench: %s has no preprocessor_config.json, so "
                "no audio front-end to time\n",
        sf_model_dir (model));
    return BENCH_AUDIO_EXIT_ERROR;
  }
  rate = sf_audio_frontend_sample_rate (fe);
  window = (double)sf_audio_frontend_window_samples (fe);
  if (seconds <= 0)
    seconds = whisper ? window / rate : BENCH_AUDIO_DEFAULT_SECONDS;
  if (whisper && seconds * rate > window + 0.5) {
    g_printerr ("streamformer bench: --seconds %.2f is longer than Whisper's "
                "%.0f s window\n",
        seconds, window / rate);
    return BENCH_AUDIO_EXIT_USAGE;
  }
  if (tokens > 0 && !whisper_prompt (model, prompt, &eos, &error)) {
    g_printerr ("streamformer bench: %s\n", error->message);
    return BENCH_AUDIO_EXIT_ERROR;
  }

  n = (gsize)llround (seconds * rate);
  if (n < 1) {
    g_printerr (
        "streamformer bench: --seconds %g is under one sample\n", seconds);
    return BENCH_AUDIO_EXIT_USAGE;
  }
  samples = sf_bench_audio_signal (n, rate);
  passes = g_new0 (PassTimes, opts->iters);
  for (int i = 0; i < opts->warmup + opts->iters; i++) {
    PassTimes t;

    if (opts->profile && i == opts->warmup)
      sf_bench_profile_enable (TRUE);
    if (!run_pass (model, samples, n, prompt, eos, tokens, &t, &feat, &error)) {
      sf_bench_profile_enable (FALSE);
      g_printerr ("streamformer bench: %s\n", error->message);
      return BENCH_AUDIO_EXIT_ERROR;
    }
    if (i >= opts->warmup)
      passes[i - opts->warmup] = t;
  }
  sf_bench_profile_enable (FALSE);

  total = summarise (passes, opts->iters, G_STRUCT_OFFSET (PassTimes, total));
  fes = summarise (passes, opts->iters, G_STRUCT_OFFSET (PassTimes, frontend));
  enc = summarise (passes, opts->iters, G_STRUCT_OFFSET (PassTimes, encoder));
  dec = summarise (passes, opts->iters, G_STRUCT_OFFSET (PassTimes, decode));
  if (opts->json)
    print_json (
        model, opts, seconds, tokens, feat, passes, &total, &fes, &enc, &dec);
  else
    print_text (model, opts, seconds, tokens, feat, &total, &fes, &enc, &dec);
  return BENCH_AUDIO_EXIT_OK;
}
