/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: what wav2vec2 exposes beyond the SfModel API. */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

/* (transfer full) the output of the convolutional feature encoder
 * (modeling_wav2vec2.Wav2Vec2FeatureEncoder) for @waveform [B, samples]:
 * [B, C, frames], C the last conv_dim. NULL with an error when @model is
 * not a wav2vec2 model or the audio is shorter than its receptive field. */
SfTensor *sf_wav2vec2_conv_features (
    SfModel *model, const SfTensor *waveform, GError **error);

/* TRUE when the checkpoint carries a CTC head (Wav2Vec2ForCTC). */
gboolean sf_wav2vec2_is_ctc (const SfModel *model);

G_END_DECLS
