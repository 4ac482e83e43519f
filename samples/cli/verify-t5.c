/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on T5 cases (T5ForConditionalGeneration).
 *
 * - The case's texts are tokenised; input_ids and attention_mask (a padded
 *   batch) must match exactly.
 * - encoder_last_hidden_state, every position: padded queries still see
 *   the real keys only, as in transformers, so their rows are defined too.
 * - The decoder is teacher-forced on decoder_input_ids: logits.
 * - Greedy decoding of each text alone (no padding) through the model's
 *   SfDecoder, from decoder_start_token_id, argmax per step, up to eos;
 *   a reference that does not end in eos stopped at a token budget, the
 *   same number of new tokens is allowed here. greedy_ids must match
 *   exactly (dumped as greedy_ids.N), and greedy_text when the case has it.
 */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "graphs/families/t5.h"
#include "graphs/model.h"

#include <string.h>

/* Ids [1, n] of item @b without its padding. */
static SfTensor *
unpadded_ids (const SfTensor *ids, const SfTensor *mask, gint64 b)
{
  gint64 n = ids->shape[1], len = 0;
  const gint64 *row = sf_tensor_i64 (ids) + b * n;

  for (gint64 i = 0; i < n; i++)
    len += sf_tensor_i64 (mask)[b * n + i] != 0;
  return sf_tensor_new_from_data (SF_DTYPE_I64, 2, (gint64[]){ 1, len }, row);
}

static gboolean
run_greedy (SfVerify *v, SfModel *model, const SfTensor *ids,
    const SfTensor *mask, GError **error)
{
  const cJSON *ref_ids = sf_config_get (v->case_json, "greedy_ids");
  const cJSON *ref_text = sf_config_get (v->case_json, "greedy_text");
  SfTokenizer *tok = sf_model_tokenizer (model);
  const GArray *eos = sf_t5_eos_ids (model);
  gint64 start = sf_t5_decoder_start (model);

  if (!cJSON_IsArray (ref_ids)
      || cJSON_GetArraySize (ref_ids) > ids->shape[0]) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'greedy_ids' must be a list of id lists, one per text",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  for (int b = 0; b < cJSON_GetArraySize (ref_ids); b++) {
    const cJSON *ref = cJSON_GetArrayItem (ref_ids, b);
    const cJSON *text = cJSON_GetArrayItem (ref_text, b);
    g_autoptr (SfTensor) source = unpadded_ids (ids, mask, b);
    g_autoptr (GArray) got = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autofree char *name = g_strdup_printf ("greedy_ids.%d", b);
    g_autofree char *tname = g_strdup_printf ("greedy_text.%d", b);
    const cJSON *last = cJSON_GetArrayItem (ref, cJSON_GetArraySize (ref) - 1);
    guint max_new = 512;

    /* as many new tokens as the reference has unless it ends with eos */
    if (cJSON_GetArraySize (ref) > 1 && cJSON_IsNumber (last)
        && !sf_t5_is_eos (model, (gint64)last->valuedouble))
      max_new = cJSON_GetArraySize (ref) - 1;
    if (!sf_verify_greedy (model, source, &start, 1, max_new,
            (const gint64 *)eos->data, eos->len, got, error))
      return FALSE;
    sf_verify_ids (v, name, got, ref);
    if (cJSON_IsString (text) && tok != NULL) {
      g_autofree char *decoded = sf_verify_decode (tok, got);
      sf_verify_text (v, tname, decoded, text->valuestring);
    }
  }
  return TRUE;
}

/* The case's texts as a padded batch, compared with the reference's. */
static gboolean
encode_texts (SfVerify *v, SfModel *model, SfTextInput *in, GError **error)
{
  const cJSON *texts = sf_config_get (v->case_json, "texts"), *item;
  g_autoptr (GPtrArray) list = g_ptr_array_new ();

  cJSON_ArrayForEach (item, texts) {
    if (!cJSON_IsString (item))
      break;
    g_ptr_array_add (list, item->valuestring);
  }
  if (!cJSON_IsArray (texts) || list->len < 1
      || list->len != (guint)cJSON_GetArraySize (texts)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'texts' must be a non-empty list of strings",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  if (!sf_model_encode_texts (model, (const char *const *)list->pdata, NULL,
          list->len, 0, in, NULL, error))
    return FALSE;
  sf_verify_tensor (v, "input_ids", in->input_ids);
  sf_verify_tensor (v, "attention_mask", in->attention_mask);
  return TRUE;
}

gboolean
sf_verify_t5_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model = NULL;
  g_auto (SfTextInput) in = { 0 };
  g_autoptr (SfTensor) dec_ids = NULL;
  g_autoptr (SfTensor) logits = NULL;
  g_autoptr (SfTensor) enc = NULL;

  if ((model = sf_model_load_with_precision (v->dir, v->precision, error))
      == NULL)
    return FALSE;
  if (!sf_t5_check (model) || v->io == NULL
      || (dec_ids = sf_safetensors_get (v->io, "decoder_input_ids")) == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: not a T5 case with io.safetensors and decoder_input_ids", v->dir);
    return FALSE;
  }
  if (!encode_texts (v, model, &in, error))
    return FALSE;
  g_hash_table_add (v->compared, g_strdup ("decoder_input_ids")); /* input */
  logits = sf_t5_forward (
      model, in.input_ids, in.attention_mask, dec_ids, &enc, error);
  if (logits == NULL)
    return FALSE;
  sf_verify_tensor (v, "encoder_last_hidden_state", enc);
  sf_verify_tensor (v, "logits", logits);
  return run_greedy (v, model, in.input_ids, in.attention_mask, error);
}
