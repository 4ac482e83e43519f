/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on BART cases (BartForConditionalGeneration).
 *
 * - The case's texts, tokenised as one padded batch, must give input_ids
 *   and attention_mask exactly.
 * - The reference batch runs through the encoder with its padding mask:
 *   encoder_last_hidden_state within the case tolerance. Each text then
 *   runs alone, unpadded: its rows must match the reference's unpadded
 *   rows (encoder_unpadded.N counts the elements out of tolerance, the
 *   reduced-precision allowance included), so padding cannot leak into
 *   real positions.
 * - The decoder is teacher-forced on decoder_input_ids over that encoder
 *   output: logits.
 * - Greedy decoding of each text through the model's SfDecoder, from
 *   decoder_start_token_id, argmax per step, until eos_token_id or as
 *   many new tokens as the reference has: greedy_ids exactly (dumped as
 *   greedy_ids.N), and greedy_text.
 */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "graphs/model.h"
#include "graphs/families/bart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static SfTensor *
io_ids (SfVerify *v, const char *name, GError **error)
{
  g_autoptr (SfTensor) t = sf_safetensors_get (v->io, name);
  SfTensor *ids = t && t->ndim == 2 ? sf_tensor_to_i64 (t) : NULL;

  if (ids == NULL)
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s/io.safetensors: '%s' is missing or not integer [B, T]", v->dir,
        name);
  return ids;
}

/* Our tokenisation of the case's texts against the reference inputs. */
static gboolean
check_tokens (SfVerify *v, SfModel *model, GError **error)
{
  const cJSON *texts = sf_config_get (v->case_json, "texts"), *item;
  g_autoptr (GPtrArray) list = g_ptr_array_new ();
  g_auto (SfTextInput) in = { 0 };

  cJSON_ArrayForEach (item, texts) {
    if (!cJSON_IsString (item)) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: field 'texts' must list strings",
          sf_config_origin (v->case_json));
      return FALSE;
    }
    g_ptr_array_add (list, item->valuestring);
  }
  if (list->len == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'texts' must be a non-empty list",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  if (!sf_model_encode_texts (model, (const char *const *)list->pdata, NULL,
          list->len, 0, &in, NULL, error))
    return FALSE;
  sf_verify_tensor (v, "input_ids", in.input_ids);
  sf_verify_tensor (v, "attention_mask", in.attention_mask);
  return TRUE;
}

/* Row @b of @ids without its padding, as [1, n]. */
static SfTensor *
unpadded_row (const SfTensor *ids, const SfTensor *mask, gint64 b)
{
  gint64 s = ids->shape[1], n = 0;

  for (gint64 i = 0; i < s; i++)
    n += sf_tensor_i64 (mask)[b * s + i] != 0;
  return sf_tensor_new_from_data (
      SF_DTYPE_I64, 2, (gint64[]){ 1, n }, sf_tensor_i64 (ids) + b * s);
}

/* Each text encoded alone against the reference batch's unpadded rows. */
static gboolean
check_unpadded (SfVerify *v, SfModel *model, const SfTensor *ids,
    const SfTensor *mask, const SfTensor *ref, GError **error)
{
  gint64 s = ids->shape[1], d = ref->shape[2];
  double extra = sf_verify_reduced_allowance (v, ref);

  for (gint64 b = 0; b < ids->shape[0]; b++) {
    SfTextInput in = { .input_ids = unpadded_row (ids, mask, b) };
    SfTextOutput out;
    g_autofree char *name = g_strdup_printf ("encoder_unpadded.%d", (int)b);
    g_autofree char *detail = NULL;
    guint bad = 0;
    double worst = 0;

    if (!sf_model_forward_text (model, &in, FALSE, &out, error)) {
      sf_text_input_clear (&in);
      return FALSE;
    }
    for (gint64 i = 0; i < sf_tensor_numel (out.last_hidden_state); i++) {
      float r = sf_tensor_f32 (ref)[b * s * d + i];
      double err = fabs (sf_tensor_f32 (out.last_hidden_state)[i] - r);
      worst = MAX (worst, err);
      bad += err > v->atol + v->rtol * fabs (r) + extra;
    }
    detail = g_strdup_printf ("max_abs_err=%g over %" G_GINT64_FORMAT
                              " real positions",
        worst, in.input_ids->shape[1]);
    sf_verify_exact (v, name, bad, detail);
    sf_text_output_clear (&out);
    sf_text_input_clear (&in);
  }
  return TRUE;
}

static gboolean
run_greedy (SfVerify *v, SfModel *model, const SfTensor *input_ids,
    const SfTensor *mask, GError **error)
{
  const cJSON *ref_ids = sf_config_get (v->case_json, "greedy_ids");
  const cJSON *ref_text = sf_config_get (v->case_json, "greedy_text");
  SfBartTokens tok;

  if (!cJSON_IsArray (ref_ids)
      || cJSON_GetArraySize (ref_ids) > input_ids->shape[0]) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'greedy_ids' must be a list of id lists, one per text",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  if (!sf_bart_tokens (model, &tok, error))
    return FALSE;
  if (tok.decoder_start_token_id < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: config.json has no decoder_start_token_id", v->dir);
    return FALSE;
  }
  for (int b = 0; b < cJSON_GetArraySize (ref_ids); b++) {
    const cJSON *ref = cJSON_GetArrayItem (ref_ids, b);
    const cJSON *text = cJSON_GetArrayItem (ref_text, b);
    g_autoptr (SfTensor) source = unpadded_row (input_ids, mask, b);
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autofree char *name = g_strdup_printf ("greedy_ids.%d", b);
    g_autofree char *tname = g_strdup_printf ("greedy_text.%d", b);

    /* as many new tokens as the reference has, fewer when eos comes; the
     * start token is </s> in BART: only generated eos ends it */
    if (!sf_verify_greedy (model, source, &tok.decoder_start_token_id, 1,
            (guint)MAX (cJSON_GetArraySize (ref), 2) - 1, &tok.eos_token_id, 1,
            ids, error))
      return FALSE;
    sf_verify_ids (v, name, ids, ref);
    if (cJSON_IsString (text) && sf_model_tokenizer (model)) {
      g_autofree char *decoded =
          sf_verify_decode (sf_model_tokenizer (model), ids);
      sf_verify_text (v, tname, decoded, text->valuestring);
    }
  }
  return TRUE;
}

gboolean
sf_verify_bart_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTensor) ids = NULL;
  g_autoptr (SfTensor) mask = NULL;
  g_autoptr (SfTensor) dec_ids = NULL;
  g_autoptr (SfTensor) enc = NULL;
  g_autoptr (SfTensor) logits = NULL;
  g_autoptr (SfTensor) ref_enc = NULL;

  if ((model = sf_model_load_with_precision (v->dir, v->precision, error))
      == NULL)
    return FALSE;
  if (!sf_bart_check (model) || v->io == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: not a BART case with io.safetensors", v->dir);
    return FALSE;
  }
  if (!check_tokens (v, model, error)
      || (ids = io_ids (v, "input_ids", error)) == NULL
      || (mask = io_ids (v, "attention_mask", error)) == NULL
      || (dec_ids = io_ids (v, "decoder_input_ids", error)) == NULL)
    return FALSE;
  g_hash_table_add (v->compared, g_strdup ("decoder_input_ids")); /* input */
  if (!sf_bart_forward (model, ids, mask, dec_ids, &enc, &logits, error))
    return FALSE;
  sf_verify_tensor (v, "encoder_last_hidden_state", enc);
  sf_verify_tensor (v, "logits", logits);
  ref_enc = sf_safetensors_get (v->io, "encoder_last_hidden_state");
  if (ref_enc && sf_tensor_same_shape (ref_enc, enc)
      && !check_unpadded (v, model, ids, mask, ref_enc, error))
    return FALSE;
  return run_greedy (v, model, ids, mask, error);
}
