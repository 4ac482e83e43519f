/* `streamformer run MODEL --audio F` for Whisper checkpoints. */
#pragma once

#include "graphs/model.h"

/* Transcribes @n mono samples at the model's sample rate, one
 * chunk_length window after another, and prints each segment with its
 * start and end in seconds (one JSON object per segment with @json).
 * Returns the exit code (0 on success). */
int sf_run_whisper (
    SfModel *model, const float *samples, gsize n, gboolean json);
