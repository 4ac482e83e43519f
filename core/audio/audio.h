/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: audio front-ends, driven by preprocessor_config.json.
 *
 * A front-end turns mono float samples at its sample rate into the
 * features a model takes:
 *   - Whisper log-mel (WhisperFeatureExtractor): [mels, frames]
 *   - Kaldi-style fbank (ASTFeatureExtractor): [frames, mels], normalised
 *   - the normalised waveform (Wav2Vec2FeatureExtractor): [samples]
 * FFTs come from libavutil's av_tx (core/fft.h).
 */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

typedef enum
{
  SF_AUDIO_FRONTEND_WHISPER_LOGMEL,
  SF_AUDIO_FRONTEND_KALDI_FBANK,
  SF_AUDIO_FRONTEND_WAVEFORM,
} SfAudioFrontendKind;

/* The most values one window's buffers may hold (64 Mi floats, 256 MiB):
 * the samples of a Whisper window, its power spectrum (frames x bins) and
 * its features (frames x mel bins). A preprocessor_config.json whose
 * sizes ask for more is refused at load, naming the fields. */
#define SF_AUDIO_MAX_VALUES ((gint64)1 << 26)

typedef struct SfAudioFrontend SfAudioFrontend;

/* (transfer full) reads @path (a preprocessor_config.json) for @kind;
 * errors name the file and the field. */
SfAudioFrontend *sf_audio_frontend_load (
    const char *path, SfAudioFrontendKind kind, GError **error);
void sf_audio_frontend_free (SfAudioFrontend *fe); /* accepts NULL */

SfAudioFrontendKind sf_audio_frontend_kind (const SfAudioFrontend *fe);
int sf_audio_frontend_sample_rate (const SfAudioFrontend *fe);

/* The audio length the model was made for, in samples: Whisper's
 * chunk_length, or what fills AST's max_length fbank frames. 0 for a
 * front-end that takes any length (wav2vec2). */
gsize sf_audio_frontend_window_samples (const SfAudioFrontend *fe);

/* The shape sf_audio_frontend_apply() gives for @n samples, known without
 * computing it: [mels, frames], [frames, mels] or [n]. Returns the number
 * of dimensions written to @shape. */
int sf_audio_frontend_feature_shape (
    const SfAudioFrontend *fe, gsize n, gint64 shape[2]);

/* (transfer full) features for @n samples, without a batch dimension
 * (shapes above). Whisper pads or truncates to chunk_length, AST to
 * max_length frames. FALSE/NULL with an error on empty input. */
SfTensor *sf_audio_frontend_apply (
    const SfAudioFrontend *fe, const float *samples, gsize n, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfAudioFrontend, sf_audio_frontend_free)

G_END_DECLS
