/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run MODEL --audio F` for Whisper checkpoints. */
#pragma once

#include "graphs/task.h"

/* Transcribes @n mono samples at the task's sample rate, one
 * chunk_length window after another (the task's window), and prints each
 * segment with its start and end in seconds (one JSON object per segment
 * with @json). @task: a transcribe task. Returns the exit code (0 on
 * success). */
int sf_run_whisper (SfTask *task, const float *samples, gsize n, gboolean json);
