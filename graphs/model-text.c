/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: text batches in, pooled embeddings out. */
#include "graphs/model-private.h"
#include "core/error.h"
#include "core/ops/ops.h"

#include <string.h>

/* (transfer full) the encodings of @n texts (and @pairs, nullable), cut
 * to @max_length (0: the model's limit), or NULL. */
static GPtrArray *
encode_all (SfModel *model, const char *const *texts, const char *const *pairs,
    guint n, guint max_length, gboolean *truncated, GError **error)
{
  g_autoptr (GPtrArray) encodings =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_encoding_free);
  SfEncodeOptions opts = SF_ENCODE_OPTIONS_DEFAULT;
  guint limit = model->max_positions > 0 ? (guint)model->max_positions : 0;
  guint tok_limit;

  if (truncated)
    *truncated = FALSE;
  if (model->tokenizer == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no tokenizer (tokenizer.json, vocab.txt, or vocab.json with "
        "merges.txt); cannot encode text",
        sf_model_dir (model));
    return NULL;
  }
  tok_limit = sf_tokenizer_model_max_length (model->tokenizer);
  if (tok_limit > 0 && (limit == 0 || tok_limit < limit))
    limit = tok_limit;
  opts.max_length =
      max_length > 0 && (limit == 0 || max_length < limit) ? max_length : limit;

  for (guint i = 0; i < n; i++) {
    SfEncoding *enc = sf_tokenizer_encode (
        model->tokenizer, texts[i], pairs ? pairs[i] : NULL, &opts, error);
    if (enc == NULL)
      return NULL;
    if (truncated && enc->truncated)
      *truncated = TRUE;
    g_ptr_array_add (encodings, enc);
  }
  return g_steal_pointer (&encodings);
}

gboolean
sf_model_encode_texts (SfModel *model, const char *const *texts,
    const char *const *pairs, guint n, guint max_length, SfTextInput *input,
    gboolean *truncated, GError **error)
{
  g_autoptr (GPtrArray) encodings = NULL;
  gint64 longest = 0;
  gint32 pad;

  memset (input, 0, sizeof (*input));
  encodings = encode_all (model, texts, pairs, n, max_length, truncated, error);
  if (encodings == NULL)
    return FALSE;
  for (guint i = 0; i < n; i++)
    longest = MAX (longest, (gint64)((SfEncoding *)encodings->pdata[i])->n);

  pad = sf_tokenizer_pad_id (model->tokenizer);
  input->input_ids = sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ n, longest });
  input->attention_mask =
      sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ n, longest });
  input->token_type_ids =
      sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ n, longest });
  for (guint i = 0; i < n; i++) {
    const SfEncoding *enc = encodings->pdata[i];
    gint64 *ids = sf_tensor_i64 (input->input_ids) + i * longest;
    gint64 *mask = sf_tensor_i64 (input->attention_mask) + i * longest;
    gint64 *types = sf_tensor_i64 (input->token_type_ids) + i * longest;
    for (gint64 t = 0; t < longest; t++) {
      gboolean real = t < (gint64)enc->n;
      ids[t] = real ? enc->ids[t] : pad;
      mask[t] = real;
      types[t] = real ? enc->type_ids[t] : 0;
    }
  }
  return TRUE;
}

gboolean
sf_model_encode_texts_packed (SfModel *model, const char *const *texts, guint n,
    guint max_length, SfPackedText *input, gboolean *truncated, GError **error)
{
  g_autoptr (GPtrArray) encodings = NULL;
  gint64 *offsets, total = 0;

  memset (input, 0, sizeof (*input));
  encodings = encode_all (model, texts, NULL, n, max_length, truncated, error);
  if (encodings == NULL)
    return FALSE;
  input->offsets = sf_tensor_new (SF_DTYPE_I64, 1, (gint64[]){ n + 1 });
  offsets = sf_tensor_i64 (input->offsets);
  offsets[0] = 0;
  for (guint i = 0; i < n; i++) {
    total += ((SfEncoding *)encodings->pdata[i])->n;
    offsets[i + 1] = total;
  }
  input->input_ids = sf_tensor_new (SF_DTYPE_I64, 1, (gint64[]){ total });
  input->token_type_ids = sf_tensor_new (SF_DTYPE_I64, 1, (gint64[]){ total });
  for (guint i = 0; i < n; i++) {
    const SfEncoding *enc = encodings->pdata[i];
    gint64 *ids = sf_tensor_i64 (input->input_ids) + offsets[i];
    gint64 *types = sf_tensor_i64 (input->token_type_ids) + offsets[i];

    for (gint64 t = 0; t < (gint64)enc->n; t++) {
      ids[t] = enc->ids[t];
      types[t] = enc->type_ids[t];
    }
  }
  return TRUE;
}

void
sf_packed_text_clear (SfPackedText *input)
{
  g_clear_pointer (&input->input_ids, sf_tensor_unref);
  g_clear_pointer (&input->token_type_ids, sf_tensor_unref);
  g_clear_pointer (&input->offsets, sf_tensor_unref);
}

void
sf_text_input_clear (SfTextInput *input)
{
  g_clear_pointer (&input->input_ids, sf_tensor_unref);
  g_clear_pointer (&input->attention_mask, sf_tensor_unref);
  g_clear_pointer (&input->token_type_ids, sf_tensor_unref);
}

static gboolean
check_ids (
    const char *what, const SfTensor *t, const SfTensor *ids, GError **error)
{
  if (t == NULL)
    return TRUE;
  if (t->dtype != SF_DTYPE_I64 || !sf_tensor_same_shape (t, ids)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "%s must be I64 with the shape of input_ids", what);
    return FALSE;
  }
  return TRUE;
}

gboolean
sf_model_forward_text (SfModel *model, const SfTextInput *input,
    gboolean want_hidden_states, SfTextOutput *output, GError **error)
{
  memset (output, 0, sizeof (*output));
  if (model->family->forward_text == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model does not take text input", sf_model_dir (model),
        sf_model_kind (model));
    return FALSE;
  }
  if (input->input_ids == NULL || input->input_ids->dtype != SF_DTYPE_I64
      || input->input_ids->ndim != 2 || sf_tensor_dim (input->input_ids, 0) < 1
      || sf_tensor_dim (input->input_ids, 1) < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "input_ids must be a non-empty I64 tensor [batch, tokens]");
    return FALSE;
  }
  if (!check_ids (
          "attention_mask", input->attention_mask, input->input_ids, error)
      || !check_ids (
          "token_type_ids", input->token_type_ids, input->input_ids, error))
    return FALSE;
  if (!model->family->forward_text (
          model->graph, input, want_hidden_states, output, error)) {
    sf_text_output_clear (output);
    return FALSE;
  }
  return TRUE;
}

gboolean
sf_model_takes_packed_text (const SfModel *model)
{
  return model->family->forward_text_packed != NULL;
}

gboolean
sf_model_forward_text_packed (SfModel *model, const SfPackedText *input,
    SfTextOutput *output, GError **error)
{
  const gint64 *offsets;
  gint64 n_seqs;

  memset (output, 0, sizeof (*output));
  if (model->family->forward_text_packed == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model does not take packed texts", sf_model_dir (model),
        sf_model_kind (model));
    return FALSE;
  }
  if (input->input_ids == NULL || input->input_ids->dtype != SF_DTYPE_I64
      || input->input_ids->ndim != 1 || input->offsets == NULL
      || input->offsets->dtype != SF_DTYPE_I64 || input->offsets->ndim != 1
      || input->offsets->shape[0] < 2) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "packed texts need I64 input_ids [tokens] and offsets [texts + 1]");
    return FALSE;
  }
  if (input->token_type_ids != NULL
      && (input->token_type_ids->dtype != SF_DTYPE_I64
          || !sf_tensor_same_shape (input->token_type_ids, input->input_ids))) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "token_type_ids must be I64 with the shape of input_ids");
    return FALSE;
  }
  offsets = sf_tensor_i64 (input->offsets);
  n_seqs = input->offsets->shape[0] - 1;
  for (gint64 b = 0; b < n_seqs; b++) {
    if (offsets[b + 1] <= offsets[b]) {
      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "packed text %" G_GINT64_FORMAT " has no tokens", b);
      return FALSE;
    }
  }
  if (offsets[0] != 0 || offsets[n_seqs] != input->input_ids->shape[0]) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "packed offsets must run from 0 to the token count");
    return FALSE;
  }
  if (!model->family->forward_text_packed (
          model->graph, input, output, error)) {
    sf_text_output_clear (output);
    return FALSE;
  }
  return TRUE;
}

void
sf_text_output_clear (SfTextOutput *output)
{
  g_clear_pointer (&output->last_hidden_state, sf_tensor_unref);
  g_clear_pointer (&output->pooler_output, sf_tensor_unref);
  g_clear_pointer (&output->logits, sf_tensor_unref);
  g_clear_pointer (&output->hidden_states, g_ptr_array_unref);
  g_clear_pointer (&output->text_embeds, sf_tensor_unref);
}

SfTensor *
sf_text_output_pool (const SfTextOutput *output, const SfTextInput *input,
    SfPooling pooling, gboolean normalize)
{
  const SfTensor *x = output->last_hidden_state;
  SfTensor *pooled;

  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (
      pooling == SF_POOLING_CLS || pooling == SF_POOLING_MEAN, NULL);
  pooled = sf_tensor_new_f32 (2, sf_tensor_dim (x, 0), sf_tensor_dim (x, 2));
  if (pooling == SF_POOLING_CLS || input->attention_mask == NULL) {
    if (pooling == SF_POOLING_CLS)
      sf_op_first_token (pooled, x);
    else {
      g_autoptr (SfTensor) ones = sf_tensor_new (SF_DTYPE_I64, 2,
          (gint64[]){ sf_tensor_dim (x, 0), sf_tensor_dim (x, 1) });
      for (gint64 i = 0; i < sf_tensor_numel (ones); i++)
        sf_tensor_i64 (ones)[i] = 1;
      sf_op_mean_pool (pooled, x, ones);
    }
  } else {
    sf_op_mean_pool (pooled, x, input->attention_mask);
  }
  if (normalize)
    sf_op_l2_normalize (pooled, pooled);
  return pooled;
}

SfTensor *
sf_text_output_pool_packed (const SfTextOutput *output,
    const SfPackedText *input, SfPooling pooling, gboolean normalize)
{
  const SfTensor *x = output->last_hidden_state;
  gint64 n_seqs;
  SfTensor *pooled;

  g_return_val_if_fail (x != NULL && x->ndim == 2, NULL);
  g_return_val_if_fail (
      pooling == SF_POOLING_CLS || pooling == SF_POOLING_MEAN, NULL);
  n_seqs = input->offsets->shape[0] - 1;
  pooled = sf_tensor_new_f32 (2, n_seqs, sf_tensor_dim (x, 1));
  if (pooling == SF_POOLING_CLS)
    sf_op_segment_first (pooled, x, sf_tensor_i64 (input->offsets), n_seqs);
  else
    sf_op_segment_mean (pooled, x, sf_tensor_i64 (input->offsets), n_seqs);
  if (normalize)
    sf_op_l2_normalize (pooled, pooled);
  return pooled;
}
