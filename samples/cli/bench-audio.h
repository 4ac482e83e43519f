/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench` on audio checkpoints (Whisper, wav2vec2, AST). */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

typedef struct
{
  int iters;        /* timed passes */
  int warmup;       /* untimed passes first */
  double seconds;   /* audio per pass; <= 0: the model's natural window */
  int tokens;       /* Whisper: tokens decoded per pass; 0: encoder only */
  gboolean json;    /* one JSON object instead of the text report */
  double load_ms;   /* model load time, reported as is */
  gboolean profile; /* also report time per op group */
} SfBenchAudioOptions;

/* Times front-end + encoder (+ Whisper greedy decoding) on a synthetic
 * chirp of opts->seconds and prints the report. Returns the process exit
 * code: 0 success, 1 a run error, 2 a usage error. */
int sf_bench_audio (SfModel *model, const SfBenchAudioOptions *opts);

/* The synthetic input: a linear chirp from 100 Hz to 4 kHz over @n samples
 * at @rate plus low-level noise from a 32-bit LCG, so that other programs
 * can rebuild the same samples. (transfer full) */
float *sf_bench_audio_signal (gsize n, int rate);

G_END_DECLS
