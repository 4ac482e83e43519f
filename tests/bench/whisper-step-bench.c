/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* whisper-step-bench: the time of one Whisper decoder step with the KV
 * caches, the same work whisper.cpp's whisper-bench times as "decode".
 *
 *   whisper-step-bench MODEL [--threads T] [--precision P] [--steps N]
 *                      [--iters I] [--profile] [--json]
 *
 * Design decisions:
 * - One pass feeds N single tokens (id 0, as whisper-bench feeds) at
 *   positions 0 … N-1 of a fresh SfWhisperState: each step is the token
 *   embedding, every decoder layer (self-attention over the positions so
 *   far, cross-attention over the 1500 encoder frames, the FFN), the final
 *   LayerNorm and the logits of the whole vocabulary. The mean over the
 *   pass is whisper-bench's "ms per run" for N = 256. No token is chosen:
 *   the greedy choice (argmax of the logits) is timed on its own.
 * - The encoder output is synthetic (deterministic values in [-1, 1]):
 *   the cross-attention keys and values are computed from it when the
 *   state is made, untimed, as whisper.cpp computes them in its encoder.
 * - One untimed pass first (paging in the weights, warming the pool), then
 *   --iters timed passes; the median pass counts.
 * - The LM head alone is timed as its own product, [1, D] · [V, D]ᵀ in
 *   f32 (the tied token embedding, which no precision packs): on the
 *   checkpoint's own mapped tensor and on a private copy, the mean of 64.
 * - --profile adds core/profile.h's per-group time per step.
 */
#include "core/blas.h"
#include "core/io/checkpoint.h"
#include "core/ops/linear.h"
#include "core/profile.h"
#include "core/threads.h"
#include "graphs/families/whisper.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENCODER_FRAMES 1500
#define LM_HEAD_REPS 64
#define LM_HEAD_NAME "model.decoder.embed_tokens.weight"

/* Keeps the greedy choice from being optimised out. */
static volatile gint64 choice_sink;

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static SfTensor *
synthetic_encoder (gint64 d)
{
  SfTensor *t = sf_tensor_new_f32 (3, (gint64)1, (gint64)ENCODER_FRAMES, d);
  float *x = sf_tensor_f32 (t);
  guint32 s = 20240611u;

  for (gint64 i = 0; i < ENCODER_FRAMES * d; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f;
  }
  return t;
}

/* One pass of @steps steps; @step_ms gets each step, @argmax_ms the mean
 * greedy choice. */
static gboolean
run_pass (SfModel *model, const SfTensor *enc, int steps, double *step_ms,
    double *argmax_ms, gint64 *vocab, GError **error)
{
  g_autoptr (SfWhisperState) st = NULL;
  gint64 id = 0, choice_us = 0;

  st = sf_whisper_state_new (model, enc, steps, error);
  if (st == NULL)
    return FALSE;
  for (int k = 0; k < steps; k++) {
    gint64 t0 = g_get_monotonic_time (), t1, next = 0;
    SfTensor *logits = sf_whisper_state_step (st, &id, 1, FALSE, NULL, error);
    const float *x;

    t1 = g_get_monotonic_time ();
    if (logits == NULL)
      return FALSE;
    step_ms[k] = (t1 - t0) / 1000.0;
    *vocab = logits->shape[2];
    x = sf_tensor_f32 (logits);
    for (gint64 i = 1; i < *vocab; i++)
      if (x[i] > x[next])
        next = i;
    choice_sink = next;
    choice_us += g_get_monotonic_time () - t1;
    sf_tensor_unref (logits);
  }
  *argmax_ms = choice_us / 1000.0 / steps;
  return TRUE;
}

static double
mean_of (const double *x, int from, int to)
{
  double s = 0;

  for (int i = from; i < to; i++)
    s += x[i];
  return s / MAX (to - from, 1);
}

/* Mean ms of one [1, D] · @w [V, D]ᵀ product after one untimed. */
static double
lm_head_ms (const SfTensor *w)
{
  gint64 vocab = w->shape[0], d = w->shape[1];
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (2, (gint64)1, d);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)1, vocab);
  float *px = sf_tensor_f32 (x);
  gint64 t0 = 0;

  for (gint64 i = 0; i < d; i++)
    px[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
  for (int r = 0; r <= LM_HEAD_REPS; r++) {
    if (r == 1)
      t0 = g_get_monotonic_time ();
    sf_op_linear (out, x, w, NULL);
  }
  return (g_get_monotonic_time () - t0) / 1000.0 / LM_HEAD_REPS;
}

/* The LM head alone: on a private f32 copy of the token embedding, and on
 * the checkpoint's own (mapped) tensor when it is stored in f32; -1 when
 * not. */
static void
lm_head_times (SfModel *model, double *copy_ms, double *mapped_ms)
{
  SfCheckpoint *ckpt = sf_model_checkpoint (model);
  g_autoptr (SfTensor) w = sf_checkpoint_tensor (ckpt, LM_HEAD_NAME);
  g_autoptr (SfTensor) copy = NULL;

  *copy_ms = *mapped_ms = -1;
  if (w == NULL)
    w = sf_checkpoint_tensor (ckpt, LM_HEAD_NAME + strlen ("model."));
  if (w == NULL || w->ndim != 2)
    return;
  copy = sf_tensor_to_f32 (w);
  if (copy == w) {
    sf_tensor_unref (copy);
    copy = sf_tensor_copy (w);
  }
  *copy_ms = lm_head_ms (copy);
  if (w->dtype == SF_DTYPE_F32)
    *mapped_ms = lm_head_ms (w);
}

static void
print_profile (gboolean json, int steps)
{
  for (int g = 0; g < SF_PROFILE_N_GROUPS; g++) {
    SfProfileStats s;

    sf_profile_get (g, &s);
    printf (json ? "%s\"%s_ms\": %.4f" : "%s%-12s %.4f ms/step\n",
        json ? ", " : "  ", sf_profile_group_name (g),
        s.seconds * 1000.0 / steps);
  }
}

int
main (int argc, char **argv)
{
  int threads = 0, steps = 256, iters = 3;
  gboolean json = FALSE, profile = FALSE;
  g_autofree char *precision_arg = NULL;
  GOptionEntry entries[] = {
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "threads", "T" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_arg,
        "f32, bf16 or int8", "P" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "steps per pass", "N" },
    { "iters", 0, 0, G_OPTION_ARG_INT, &iters, "timed passes", "I" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile, "per-group times", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON line", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTensor) enc = NULL;
  g_autofree double *step_ms = NULL, *pass_ms = NULL;
  g_autofree char *warning = NULL;
  SfPrecision precision = SF_PRECISION_F32;
  double argmax_ms = 0, first = 0, last = 0, head, head_mapped;
  gint64 vocab = 0, d;
  int median;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || steps < 32 || iters < 1) {
    fprintf (stderr, "%s\n",
        error ? error->message
              : "usage: whisper-step-bench MODEL [options] (steps >= 32)");
    return 2;
  }
  if (precision_arg != NULL
      && !sf_precision_from_name (precision_arg, &precision, &error))
    goto fail;
  precision = sf_precision_resolve (precision, &warning);
  if (warning != NULL)
    fprintf (stderr, "whisper-step-bench: warning: %s\n", warning);
  if (!sf_blas_init (&error)
      || !(model = sf_model_load_with_precision (argv[1], precision, &error)))
    goto fail;
  if (!sf_whisper_check (model)) {
    fprintf (stderr, "whisper-step-bench: %s is not a Whisper checkpoint\n",
        argv[1]);
    return 1;
  }
  if (threads > 0)
    sf_threads_set (threads);
  if (!sf_config_int_min (sf_checkpoint_config (sf_model_checkpoint (model)),
          "d_model", 1, &d, &error))
    goto fail;
  enc = synthetic_encoder (d);
  step_ms = g_new (double, steps);
  pass_ms = g_new (double, iters);

  if (!run_pass (model, enc, steps, step_ms, &argmax_ms, &vocab, &error))
    goto fail;
  argmax_ms = 0;
  if (profile) /* clears the counters */
    sf_profile_set_enabled (TRUE);
  for (int i = 0; i < iters; i++) {
    double choose;

    if (!run_pass (model, enc, steps, step_ms, &choose, &vocab, &error))
      goto fail;
    pass_ms[i] = mean_of (step_ms, 0, steps);
    argmax_ms += choose;
    first += mean_of (step_ms, 0, 32);
    last += mean_of (step_ms, steps - 32, steps);
  }
  sf_profile_set_enabled (FALSE);
  qsort (pass_ms, iters, sizeof (double), compare_double);
  median = iters / 2;
  lm_head_times (model, &head, &head_mapped);
  printf (json ? "{\"side\": \"streamformer\", \"threads\": %d, "
                 "\"precision\": \"%s\", \"blas_core\": \"%s\", "
                 "\"steps\": %d, \"iters\": %d, \"ms_per_step\": %.4f, "
                 "\"ms_per_step_min\": %.4f, \"first32_ms\": %.4f, "
                 "\"last32_ms\": %.4f, \"argmax_ms\": %.4f, "
                 "\"lm_head_f32_ms\": %.4f, \"lm_head_mapped_ms\": %.4f"
               : "threads            %d\nprecision          %s\n"
                 "blas core          %s\n"
                 "steps              %d at positions 0..steps-1, %d passes\n"
                 "ms/step            %.4f (median pass), %.4f (best)\n"
                 "first 32 steps     %.4f ms/step\n"
                 "last 32 steps      %.4f ms/step\n"
                 "greedy choice      %.4f ms/step (not in ms/step)\n"
                 "LM head f32 alone  %.4f ms (a private copy), %.4f ms "
                 "(the checkpoint's mapped tensor)\n",
      sf_threads_get (), sf_precision_name (precision), sf_blas_corename (),
      steps, iters, pass_ms[median], pass_ms[0], first / iters, last / iters,
      argmax_ms / iters, head, head_mapped);
  if (profile)
    print_profile (json, steps * iters);
  printf (json ? "}\n" : "");
  return 0;

fail:
  fprintf (stderr, "whisper-step-bench: %s\n", error->message);
  return 1;
}
