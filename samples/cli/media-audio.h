/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer CLI: audio files in, audio-model results out. */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

/* (transfer full) the first audio stream of @path (WAV, FLAC, Ogg, MP3, a
 * video's soundtrack, …) decoded with FFmpeg and resampled to mono float
 * at @sample_rate; *n_samples gets the count. NULL with an error naming
 * the file otherwise. */
float *sf_media_load_audio (
    const char *path, int sample_rate, gsize *n_samples, GError **error);

/* `streamformer run MODEL --audio F` (run-audio.c): the model's window
 * slides over the whole file, as sfaudioencoder does: top-k labels (AST)
 * or the transcript (wav2vec2 CTC) per window, then a summary when there
 * are several; Whisper's segments. Text, or one JSON object per line.
 * Returns the exit code. */
int sf_run_audio (SfModel *model, const char *path, int top_k, gboolean json);

G_END_DECLS
