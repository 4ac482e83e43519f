/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench --input FILE`: times a model on inputs from a file. */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

typedef struct
{
  const char *input;  /* safetensors with the model's inputs */
  const char *output; /* where to write the last pass's output, or NULL */
  int iters;          /* timed passes */
  int warmup;         /* untimed passes first */
  gboolean json;      /* one JSON object instead of the text report */
  gboolean profile;   /* also report time per op group */
  double load_ms;     /* model load time, reported as is */
} SfBenchFileOptions;

/* Reads the inputs the model takes from opts->input (text: input_ids
 * [B, L] I64 and optionally attention_mask, token_type_ids; image:
 * pixel_values [B, C, H, W] F32; audio: input_features, the front-end's
 * output [B, …] F32, or input_values, raw samples [B, N] F32 at the
 * front-end's rate, which each pass then runs through the front-end),
 * times the forward pass on them and, with opts->output, writes the main
 * output of the last pass under "output" (CLIP's image_embeds, logits when
 * the model has a head, else last_hidden_state). Returns the exit code:
 * 0 success, 1 a load or run error. */
int sf_bench_file (SfModel *model, const SfBenchFileOptions *opts);

/* The process's peak resident set in MiB since it started this program
 * (VmHWM; getrusage's ru_maxrss survives exec, so it would report a large
 * parent's instead), or -1 when unknown. */
double sf_bench_peak_rss_mib (void);

G_END_DECLS
