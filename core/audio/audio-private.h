/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the per-kind audio front-ends behind core/audio.h.
 *
 * core/audio.c reads preprocessor_config.json once and dispatches to one of
 * these by kind. Each front-end owns its parsed parameters and any tables
 * it precomputes (windows, mel filters). Not installed.
 */
#pragma once

#include "core/audio/audio.h"
#include "core/io/config.h"

G_BEGIN_DECLS

/* Whisper log-mel (WhisperFeatureExtractor), core/audio-logmel.c:
 * [feature_size, frames] for chunk_length seconds. */
typedef struct SfAudioLogmel SfAudioLogmel;

SfAudioLogmel *sf_audio_logmel_load (const SfConfig *cfg, GError **error);
void sf_audio_logmel_free (SfAudioLogmel *lm); /* accepts NULL */
int sf_audio_logmel_sample_rate (const SfAudioLogmel *lm);
gsize sf_audio_logmel_window_samples (const SfAudioLogmel *lm);
void sf_audio_logmel_feature_shape (const SfAudioLogmel *lm, gint64 shape[2]);
SfTensor *sf_audio_logmel_apply (
    const SfAudioLogmel *lm, const float *samples, gsize n, GError **error);

/* Kaldi-style fbank (ASTFeatureExtractor), core/audio-fbank.c:
 * [max_length, num_mel_bins], normalised by the config's mean and std. */
typedef struct SfAudioFbank SfAudioFbank;

SfAudioFbank *sf_audio_fbank_load (const SfConfig *cfg, GError **error);
void sf_audio_fbank_free (SfAudioFbank *fb); /* accepts NULL */
int sf_audio_fbank_sample_rate (const SfAudioFbank *fb);
gsize sf_audio_fbank_window_samples (const SfAudioFbank *fb);
void sf_audio_fbank_feature_shape (const SfAudioFbank *fb, gint64 shape[2]);
SfTensor *sf_audio_fbank_apply (
    const SfAudioFbank *fb, const float *samples, gsize n, GError **error);

/* Normalised waveform (Wav2Vec2FeatureExtractor), core/audio-waveform.c:
 * [n] samples, zero mean and unit variance when do_normalize is set. */
typedef struct SfAudioWaveform SfAudioWaveform;

SfAudioWaveform *sf_audio_waveform_load (const SfConfig *cfg, GError **error);
void sf_audio_waveform_free (SfAudioWaveform *wf); /* accepts NULL */
int sf_audio_waveform_sample_rate (const SfAudioWaveform *wf);
SfTensor *sf_audio_waveform_apply (
    const SfAudioWaveform *wf, const float *samples, gsize n, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfAudioLogmel, sf_audio_logmel_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfAudioFbank, sf_audio_fbank_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfAudioWaveform, sf_audio_waveform_free)

G_END_DECLS
