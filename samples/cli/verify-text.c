/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on text-model cases (BERT, RoBERTa): tokenisation,
 * hidden states, logits, probabilities, pooled embeddings and labels, for
 * the single texts and the sentence pairs of the case. */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "core/ops/ops.h"
#include "graphs/model.h"

#include <stdio.h>

/* Reads a list of strings, or a list of [a, b] pairs when @pairs is set. */
static gboolean
read_texts (
    SfVerify *v, const char *key, GPtrArray *a, GPtrArray *b, GError **error)
{
  const cJSON *list = sf_config_get (v->case_json, key), *item;

  if (list == NULL)
    return TRUE;
  cJSON_ArrayForEach (item, list) {
    if (b == NULL && cJSON_IsString (item)) {
      g_ptr_array_add (a, item->valuestring);
    } else if (b != NULL && cJSON_GetArraySize (item) == 2
        && cJSON_IsString (cJSON_GetArrayItem (item, 0))
        && cJSON_IsString (cJSON_GetArrayItem (item, 1))) {
      g_ptr_array_add (a, cJSON_GetArrayItem (item, 0)->valuestring);
      g_ptr_array_add (b, cJSON_GetArrayItem (item, 1)->valuestring);
    } else {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: field '%s' holds an entry of the wrong kind",
          sf_config_origin (v->case_json), key);
      return FALSE;
    }
  }
  return TRUE;
}

static void
put (GHashTable *outputs, const char *prefix, const char *name, SfTensor *t)
{
  g_hash_table_insert (outputs, g_strconcat (prefix, name, NULL), t);
}

/* Runs one batch and stores every output under its reference name. */
static gboolean
run_batch (SfModel *model, GPtrArray *a, GPtrArray *b, const char *prefix,
    GHashTable *outputs, GError **error)
{
  SfTextInput in;
  SfTextOutput out;
  SfTensor *pooled;

  if (!sf_model_encode_texts (model, (const char *const *)a->pdata,
          b ? (const char *const *)b->pdata : NULL, a->len, 0, &in, NULL,
          error))
    return FALSE;
  if (!sf_model_forward_text (model, &in, TRUE, &out, error)) {
    sf_text_input_clear (&in);
    return FALSE;
  }
  put (outputs, prefix, "input_ids", sf_tensor_ref (in.input_ids));
  put (outputs, prefix, "attention_mask", sf_tensor_ref (in.attention_mask));
  put (outputs, prefix, "token_type_ids", sf_tensor_ref (in.token_type_ids));
  for (guint i = 0; i < out.hidden_states->len; i++) {
    g_autofree char *name = g_strdup_printf ("hidden_states.%u", i);
    put (outputs, prefix, name, sf_tensor_ref (out.hidden_states->pdata[i]));
  }
  put (outputs, prefix, "last_hidden_state",
      sf_tensor_ref (out.last_hidden_state));
  if (out.pooler_output)
    put (outputs, prefix, "pooler_output", sf_tensor_ref (out.pooler_output));
  if (out.logits) {
    SfTensor *probs = sf_tensor_copy (out.logits);
    sf_op_softmax (probs, probs);
    put (outputs, prefix, "logits", sf_tensor_ref (out.logits));
    put (outputs, prefix, "probs", probs);
  }
  pooled = sf_text_output_pool (&out, &in, SF_POOLING_MEAN, FALSE);
  put (outputs, prefix, "mean_pooled", pooled);
  put (outputs, prefix, "mean_pooled_l2",
      sf_text_output_pool (&out, &in, SF_POOLING_MEAN, TRUE));
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  return TRUE;
}

/* The case's `labels` against the argmax of our logits. */
static void
compare_labels (SfVerify *v, SfModel *model, GHashTable *outputs)
{
  const cJSON *labels = sf_config_get (v->case_json, "labels"), *item;
  SfTensor *logits = g_hash_table_lookup (outputs, "logits");
  guint i = 0, mismatches = 0;
  g_autofree char *detail = NULL;

  if (labels == NULL)
    return;
  if (logits == NULL
      || sf_tensor_dim (logits, 0) != cJSON_GetArraySize (labels)) {
    sf_verify_exact (v, "labels", MAX (1, cJSON_GetArraySize (labels)),
        "no logits for every labelled text");
    return;
  }
  cJSON_ArrayForEach (item, labels) {
    gint64 n = sf_tensor_dim (logits, 1), best = 0;
    const float *row = sf_tensor_f32 (logits) + i * n;
    for (gint64 j = 1; j < n; j++)
      if (row[j] > row[best])
        best = j;
    if (g_strcmp0 (cJSON_GetStringValue (item), sf_model_label (model, best))) {
      if (mismatches++ == 0)
        detail = g_strdup_printf ("text %u: got '%s', reference '%s'", i,
            sf_model_label (model, best), cJSON_GetStringValue (item));
    }
    i++;
  }
  sf_verify_exact (v, "labels", mismatches, detail);
}

gboolean
sf_verify_text_model_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model =
      sf_model_load_with_precision (v->dir, v->precision, error);
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  g_autoptr (GPtrArray) pair_a = g_ptr_array_new ();
  g_autoptr (GPtrArray) pair_b = g_ptr_array_new ();
  g_autoptr (GHashTable) outputs = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, (GDestroyNotify)sf_tensor_unref);
  g_autoptr (GList) names = NULL;

  if (model == NULL || !read_texts (v, "texts", texts, NULL, error)
      || !read_texts (v, "pair_texts", pair_a, pair_b, error))
    return FALSE;
  if (texts->len > 0 && !run_batch (model, texts, NULL, "", outputs, error))
    return FALSE;
  if (pair_a->len > 0
      && !run_batch (model, pair_a, pair_b, "pair.", outputs, error))
    return FALSE;

  /* compare what the case defines, in a stable order */
  names =
      g_list_sort (g_hash_table_get_keys (outputs), (GCompareFunc)g_strcmp0);
  for (GList *l = names; l; l = l->next) {
    SfTensor *t = g_hash_table_lookup (outputs, l->data);
    if (sf_safetensors_contains (v->io, l->data))
      sf_verify_tensor (v, l->data, t);
    else
      sf_verify_keep (v, l->data, t);
  }
  compare_labels (v, model, outputs);
  return TRUE;
}
