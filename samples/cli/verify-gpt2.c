/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on causal LM cases (GPT2LMHeadModel).
 *
 * - Each of case.json's prompts is tokenised and run alone (no padding):
 *   input_ids.i exactly, logits.i [T, V] and hidden_states.i.j [T, D]
 *   within the case tolerance.
 * - Greedy continuation through the model's incremental decoder: the
 *   prompt in one step, then the argmax of the last position, one token at
 *   a time, until 16 new tokens or eos_token_id. greedy_ids[i] (prompt and
 *   new tokens) must match exactly (dumped as int64 tensors greedy_ids.i),
 *   and its decoded text greedy_text[i].
 */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "graphs/model.h"

#include <stdio.h>
#include <string.h>

#define GREEDY_NEW_TOKENS 16

/* A [1, ...] batch output as the reference's unbatched [...]. */
static void
compare_item (SfVerify *v, const char *name, SfTensor *t)
{
  g_autoptr (SfTensor) item =
      sf_tensor_reshape (t, t->ndim - 1, (gint64 *)t->shape + 1);

  sf_verify_tensor (v, name, item);
}

static void
compare_greedy (SfVerify *v, SfModel *model, guint i, GArray *ids)
{
  const cJSON *ref =
      cJSON_GetArrayItem (sf_config_get (v->case_json, "greedy_ids"), (int)i);
  const cJSON *text =
      cJSON_GetArrayItem (sf_config_get (v->case_json, "greedy_text"), (int)i);
  g_autofree char *name = g_strdup_printf ("greedy_ids.%u", i);
  g_autofree char *tname = g_strdup_printf ("greedy_text.%u", i);

  sf_verify_ids (v, name, ids, ref);
  if (ref != NULL && cJSON_IsString (text) && sf_model_tokenizer (model)) {
    g_autofree char *decoded =
        sf_verify_decode (sf_model_tokenizer (model), ids);
    sf_verify_text (v, tname, decoded, text->valuestring);
  }
}

/* One prompt: the full forward, then greedy decoding. */
static gboolean
run_prompt (SfVerify *v, SfModel *model, guint i, const char *prompt,
    gint64 eos, GError **error)
{
  SfTextInput in;
  SfTextOutput out = { 0 };
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *name = NULL;
  gboolean ok;

  if (!sf_model_encode_texts (model, &prompt, NULL, 1, 0, &in, NULL, error))
    return FALSE;
  ok = sf_model_forward_text (model, &in, TRUE, &out, error);
  if (ok) {
    name = g_strdup_printf ("input_ids.%u", i);
    compare_item (v, name, in.input_ids);
    g_free (name);
    name = g_strdup_printf ("logits.%u", i);
    compare_item (v, name, out.logits);
    for (guint j = 0; j < out.hidden_states->len; j++) {
      g_free (name);
      name = g_strdup_printf ("hidden_states.%u.%u", i, j);
      compare_item (v, name, out.hidden_states->pdata[j]);
    }
    ok = sf_verify_greedy (model, NULL, sf_tensor_i64 (in.input_ids),
        (guint)sf_tensor_dim (in.input_ids, 1), GREEDY_NEW_TOKENS, &eos, 1, ids,
        error);
  }
  if (ok)
    compare_greedy (v, model, i, ids);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  return ok;
}

gboolean
sf_verify_causal_lm_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model =
      sf_model_load_with_precision (v->dir, v->precision, error);
  const cJSON *prompts = sf_config_get (v->case_json, "prompts"), *item;
  const SfConfig *cfg;
  gint64 eos = -1;
  guint i = 0;

  if (model == NULL)
    return FALSE;
  cfg = sf_checkpoint_config (sf_model_checkpoint (model));
  if (!sf_config_int_or (cfg, "eos_token_id", -1, &eos, error))
    return FALSE;
  if (!cJSON_IsArray (prompts) || cJSON_GetArraySize (prompts) < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'prompts' must be a non-empty list of strings",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  cJSON_ArrayForEach (item, prompts) {
    if (!cJSON_IsString (item)) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: field 'prompts' must list strings",
          sf_config_origin (v->case_json));
      return FALSE;
    }
    if (!run_prompt (v, model, i++, item->valuestring, eos, error))
      return FALSE;
  }
  return TRUE;
}
