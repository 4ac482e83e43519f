/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: T5 beyond the common model API.
 *
 * The encoder runs through sf_model_forward_text() and generation through
 * sf_model_decoder_new() (graphs/generate.h) with the input token ids as
 * the source. What is T5's own is here: the prompt prefixes of
 * task_specific_params, the decoder's start and end tokens, and a
 * teacher-forced forward of a whole padded batch.
 */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

/* TRUE when @model is a T5 (or mT5) checkpoint. */
gboolean sf_t5_check (SfModel *model);

/* config.json's task_specific_params.<task>.prefix ("summarize: " for
 * "summarization"), to prepend to the input text; NULL when the checkpoint
 * names none. (transfer none) */
const char *sf_t5_task_prefix (SfModel *model, const char *task);
const char *sf_t5_summarization_prefix (SfModel *model);

/* decoder_start_token_id (the pad token unless set); -1 for a non-T5
 * model. */
gint64 sf_t5_decoder_start (SfModel *model);
/* Whether @token is one of eos_token_id's ids. */
gboolean sf_t5_is_eos (SfModel *model, gint64 token);
/* eos_token_id's ids (gint64); NULL for a non-T5 model. (transfer none) */
const GArray *sf_t5_eos_ids (SfModel *model);

/* Teacher forcing: runs the encoder on @input_ids [B, n] with
 * @attention_mask (nullable) and the decoder on @decoder_input_ids [B, m];
 * returns (transfer full) logits [B, m, V] and, when @encoder_out is
 * non-NULL, the encoder's last hidden state [B, n, D] there. */
SfTensor *sf_t5_forward (SfModel *model, const SfTensor *input_ids,
    const SfTensor *attention_mask, const SfTensor *decoder_input_ids,
    SfTensor **encoder_out, GError **error);

G_END_DECLS
