/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: BART's sequence-to-sequence entry points.
 *
 * The encoder alone runs through sf_model_forward_text(); generation goes
 * through sf_model_decoder_new() (graphs/generate.h) with the input ids as
 * source. This header adds the teacher-forced forward of a whole padded
 * batch, as transformers' BartForConditionalGeneration.forward computes
 * it, and the token ids the config names.
 */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

/* TRUE when @model is a BART (or mBART) checkpoint. */
gboolean sf_bart_check (SfModel *model);

/* Token ids of config.json; -1 for the ones it leaves unset. */
typedef struct
{
  gint64 pad_token_id;
  gint64 bos_token_id;
  gint64 eos_token_id;
  gint64 decoder_start_token_id;
  gint64 forced_bos_token_id;
  gint64 forced_eos_token_id;
} SfBartTokens;

gboolean sf_bart_tokens (SfModel *model, SfBartTokens *tokens, GError **error);

/* Teacher forcing: the encoder over @input_ids [B, S] with
 * @attention_mask [B, S] (nullable: all ones), then the decoder over
 * @decoder_input_ids [B, T] attending to it (padding excluded). Sets
 * *@encoder_out [B, S, D] (nullable) and *@logits [B, T, V] (transfer
 * full), final_logits_bias included. */
gboolean sf_bart_forward (SfModel *model, const SfTensor *input_ids,
    const SfTensor *attention_mask, const SfTensor *decoder_input_ids,
    SfTensor **encoder_out, SfTensor **logits, GError **error);

G_END_DECLS
