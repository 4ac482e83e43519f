/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: running a resolved task on a batch of inputs (see
 * graphs/task.h): preprocessing, the forward pass, the output it names,
 * split into one tensor per item.
 *
 * Texts go packed, without padding, to the families that take it
 * (sf_model_takes_packed_text): every token-wise op runs on the real
 * tokens only and attention on each text's own length, so a pass costs
 * what its tokens cost, and texts of any lengths share one pass. The
 * other families (BART, T5, GPT-2) get padded batches, sorted into
 * buckets of similar lengths. */
#include "graphs/task-private.h"
#include "core/audio/audio.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* (transfer full) @n items [1, ...] of @batch [n, ...], appended to
 * @items: views of the same storage, no copy. */
static void
split_items (SfTensor *batch, GPtrArray *items)
{
  for (gint64 i = 0; i < batch->shape[0]; i++)
    g_ptr_array_add (items, sf_tensor_slice0 (batch, i, 1));
}

/* (transfer full) as F32 the one of a forward pass's outputs that the task
 * names (any may be NULL where the modality has none), or NULL. */
static SfTensor *
take_output (const SfTask *task, SfTensor *logits, SfTensor *embeds,
    SfTensor *pooler, SfTensor *hidden, GError **error)
{
  SfTensor *tensor = task->output == SF_TASK_OUT_LOGITS ? logits
      : task->output == SF_TASK_OUT_EMBEDS              ? embeds
      : task->output == SF_TASK_OUT_POOLER              ? pooler
                                                        : hidden;

  if (tensor == NULL) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_INVALID, "the model gave no output tensor");
    return NULL;
  }
  return sf_tensor_to_f32 (tensor);
}

static gboolean
run_text_batch (SfTask *task, const char *const *texts, guint n,
    GPtrArray *items, gboolean *truncated, GError **error)
{
  SfTextInput input = { 0 };
  SfTextOutput output = { 0 };
  SfTensor *out = NULL;
  gboolean cut = FALSE;

  if (!sf_model_encode_texts (
          task->model, texts, NULL, n, task->max_length, &input, &cut, error))
    goto fail;
  if (cut && truncated != NULL)
    *truncated = TRUE;
  if (!sf_model_forward_text (task->model, &input, FALSE, &output, error))
    goto fail;
  if (task->output == SF_TASK_OUT_POOLED)
    out = sf_text_output_pool (&output, &input, task->pooling, task->normalize);
  else
    out = take_output (task, output.logits, output.text_embeds,
        output.pooler_output, output.last_hidden_state, error);
  if (out == NULL)
    goto fail;
  split_items (out, items);
  sf_tensor_unref (out);
  sf_text_output_clear (&output);
  sf_text_input_clear (&input);
  return TRUE;

fail:
  sf_text_output_clear (&output);
  sf_text_input_clear (&input);
  return FALSE;
}

/* Token count of each text alone, special tokens included. */
static gboolean
count_tokens (SfTask *task, const char *const *texts, guint n, guint *counts,
    GError **error)
{
  for (guint i = 0; i < n; i++) {
    SfTextInput input = { 0 };

    if (!sf_model_encode_texts (task->model, texts + i, NULL, 1,
            task->max_length, &input, NULL, error))
      return FALSE;
    counts[i] = (guint)input.input_ids->shape[1];
    sf_text_input_clear (&input);
  }
  return TRUE;
}

typedef struct
{
  guint tokens, index;
} TextLength;

static gint
compare_lengths (gconstpointer a, gconstpointer b)
{
  const TextLength *x = a, *y = b;

  if (x->tokens != y->tokens)
    return x->tokens < y->tokens ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

/* Length buckets. A pass costs a fixed part (reading every weight once)
 * plus a part per token, padding included; for short texts the fixed part
 * dominates, so splitting a batch costs more than padding it. A text
 * joins the bucket of @count shorter texts, the shortest of @shortest
 * tokens, while the padding it adds to them stays under 256 tokens. */
#define BUCKET_MAX_PADDING 256

static gboolean
same_bucket (guint shortest, guint count, guint tokens)
{
  return (guint64)(tokens - shortest) * count <= BUCKET_MAX_PADDING;
}

/* Fixed-shape outputs of @n > 1 texts: sorted by length and run in
 * buckets, so that short texts are not padded to the longest; the outputs
 * go back in input order. */
static gboolean
run_text_buckets (SfTask *task, const char *const *texts, guint n,
    GPtrArray *items, gboolean *truncated, GError **error)
{
  g_autofree TextLength *order = g_new (TextLength, n);
  g_autofree guint *counts = g_new (guint, n);
  g_autofree const char **sorted = g_new (const char *, n);
  g_autoptr (GPtrArray) outs =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  guint base = items->len;

  if (!count_tokens (task, texts, n, counts, error))
    return FALSE;
  for (guint i = 0; i < n; i++)
    order[i] = (TextLength){ counts[i], i };
  qsort (order, n, sizeof (TextLength), compare_lengths);
  for (guint i = 0; i < n; i++)
    sorted[i] = texts[order[i].index];
  for (guint i = 0; i < n;) {
    guint count = 1;

    while (i + count < n
        && same_bucket (order[i].tokens, count, order[i + count].tokens))
      count++;
    if (!run_text_batch (task, sorted + i, count, outs, truncated, error))
      return FALSE;
    i += count;
  }
  g_ptr_array_set_size (items, base + n);
  for (guint i = 0; i < n; i++) /* outs[i] is the output of sorted[i] */
    items->pdata[base + order[i].index] = g_steal_pointer (&outs->pdata[i]);
  return TRUE;
}

/* Most tokens of one packed pass: it bounds the activations (the
 * feed-forward's [tokens, intermediate] floats), not the speed, which
 * gains little past a few hundred tokens. */
#define PACK_MAX_TOKENS 8192

/* (transfer full) views of the outputs of @n packed texts, appended to
 * @items: per-token outputs [1, T, H] of each text's rows, the others
 * [1, ...] rows of the task's tensor. */
static gboolean
take_packed (SfTask *task, const SfPackedText *input, SfTextOutput *output,
    GPtrArray *items, GError **error)
{
  const gint64 *offsets = sf_tensor_i64 (input->offsets);
  gint64 n = input->offsets->shape[0] - 1;
  SfTensor *out;

  if (task->output == SF_TASK_OUT_HIDDEN) {
    SfTensor *x = output->last_hidden_state; /* [N, H] */

    for (gint64 i = 0; i < n; i++) {
      g_autoptr (SfTensor) rows =
          sf_tensor_slice0 (x, offsets[i], offsets[i + 1] - offsets[i]);

      g_ptr_array_add (items,
          sf_tensor_reshape (
              rows, 3, (gint64[]){ 1, rows->shape[0], rows->shape[1] }));
    }
    return TRUE;
  }
  if (task->output == SF_TASK_OUT_POOLED)
    out = sf_text_output_pool_packed (
        output, input, task->pooling, task->normalize);
  else
    out = take_output (task, output->logits, output->text_embeds,
        output->pooler_output, NULL, error);
  if (out == NULL)
    return FALSE;
  split_items (out, items);
  sf_tensor_unref (out);
  return TRUE;
}

/* Texts [first, first + count) of @all as a packed input of their own:
 * views of the token rows, offsets from 0. */
static void
packed_slice (
    const SfPackedText *all, gint64 first, gint64 count, SfPackedText *part)
{
  const gint64 *offsets = sf_tensor_i64 (all->offsets) + first;
  gint64 tokens = offsets[count] - offsets[0];

  part->input_ids = sf_tensor_slice0 (all->input_ids, offsets[0], tokens);
  part->token_type_ids =
      sf_tensor_slice0 (all->token_type_ids, offsets[0], tokens);
  part->offsets = sf_tensor_new (SF_DTYPE_I64, 1, (gint64[]){ count + 1 });
  for (gint64 i = 0; i <= count; i++)
    sf_tensor_i64 (part->offsets)[i] = offsets[i] - offsets[0];
}

/* All @n texts packed, in passes of up to PACK_MAX_TOKENS tokens (a
 * longer text runs alone). */
static gboolean
run_text_packed (SfTask *task, const char *const *texts, guint n,
    GPtrArray *items, gboolean *truncated, GError **error)
{
  g_auto (SfPackedText) all = { 0 };
  const gint64 *offsets;
  gboolean cut = FALSE;

  if (!sf_model_encode_texts_packed (
          task->model, texts, n, task->max_length, &all, &cut, error))
    return FALSE;
  if (cut && truncated != NULL)
    *truncated = TRUE;
  offsets = sf_tensor_i64 (all.offsets);
  for (guint i = 0; i < n;) {
    g_auto (SfPackedText) part = { 0 };
    SfTextOutput output = { 0 };
    guint count = 1;
    gboolean ok;

    while (
        i + count < n && offsets[i + count + 1] - offsets[i] <= PACK_MAX_TOKENS)
      count++;
    packed_slice (&all, i, count, &part);
    ok = sf_model_forward_text_packed (task->model, &part, &output, error)
        && take_packed (task, &part, &output, items, error);
    sf_text_output_clear (&output);
    if (!ok)
      return FALSE;
    i += count;
  }
  return TRUE;
}

GPtrArray *
sf_task_run_texts (SfTask *task, const char *const *texts, guint n,
    gboolean *truncated, GError **error)
{
  g_autoptr (GPtrArray) items =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);

  g_return_val_if_fail (task->input == SF_MODALITY_TEXT, NULL);
  if (truncated != NULL)
    *truncated = FALSE;
  if (sf_model_takes_packed_text (task->model)) {
    if (!run_text_packed (task, texts, n, items, truncated, error))
      return NULL;
  } else if (task->kind == SF_TASK_TOKENS || n < 2) {
    /* Per-token outputs keep each text's own length: no padding. */
    for (guint i = 0; i < n; i++) {
      if (!run_text_batch (task, texts + i, 1, items, truncated, error))
        return NULL;
    }
  } else if (!run_text_buckets (task, texts, n, items, truncated, error)) {
    return NULL;
  }
  return g_steal_pointer (&items);
}

/* (transfer full) [count, ...] from @count tensors of one shape. */
static SfTensor *
stack (SfTensor *const *parts, guint count)
{
  SfTensor *first = parts[0];
  gint64 shape[SF_TENSOR_MAX_DIMS];
  gsize bytes = sf_tensor_nbytes (first);
  SfTensor *out;

  shape[0] = count;
  memcpy (shape + 1, first->shape, first->ndim * sizeof (gint64));
  out = sf_tensor_new (first->dtype, first->ndim + 1, shape);
  for (guint i = 0; i < count; i++)
    memcpy ((guint8 *)out->data + i * bytes, parts[i]->data, bytes);
  return out;
}

/* Runs the model on @inputs (each one item without a batch dimension),
 * batching runs of equal shape, and appends one output per item. */
static gboolean
run_stacked (SfTask *task, GPtrArray *inputs, GPtrArray *items, GError **error)
{
  for (guint i = 0; i < inputs->len;) {
    SfTensor **parts = (SfTensor **)inputs->pdata + i;
    g_autoptr (SfTensor) batch = NULL;
    SfTensor *out = NULL;
    guint count = 1;

    while (i + count < inputs->len
        && sf_tensor_same_shape (parts[0], parts[count]))
      count++;
    batch = stack (parts, count);
    i += count;

    if (task->input == SF_MODALITY_IMAGE) {
      SfImageInput input = { batch };
      SfImageOutput output;

      if (!sf_model_forward_image (task->model, &input, FALSE, &output, error))
        return FALSE;
      out = take_output (task, output.logits, output.image_embeds,
          output.pooler_output, output.last_hidden_state, error);
      sf_image_output_clear (&output);
    } else {
      SfAudioInput input = { batch };
      SfAudioOutput output;

      if (!sf_model_forward_audio (task->model, &input, FALSE, &output, error))
        return FALSE;
      out = take_output (
          task, output.logits, NULL, NULL, output.last_hidden_state, error);
      sf_audio_output_clear (&output);
    }
    if (out == NULL)
      return FALSE;
    split_items (out, items);
    sf_tensor_unref (out);
  }
  return TRUE;
}

GPtrArray *
sf_task_run_images (
    SfTask *task, SfImage *const *images, guint n, GError **error)
{
  g_autoptr (GPtrArray) pixels =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  g_autoptr (GPtrArray) items =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);

  g_return_val_if_fail (task->input == SF_MODALITY_IMAGE, NULL);
  for (guint i = 0; i < n; i++) { /* [3, H, W] each */
    SfTensor *px =
        sf_image_processor_process (task->processor, images[i], error);

    if (px == NULL)
      return NULL;
    g_ptr_array_add (pixels, px);
  }
  if (!run_stacked (task, pixels, items, error))
    return NULL;
  return g_steal_pointer (&items);
}

GPtrArray *
sf_task_run_audio (SfTask *task, const float *const *windows,
    const gsize *lengths, guint n, GError **error)
{
  g_autoptr (GPtrArray) features =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  g_autoptr (GPtrArray) items =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  gsize min = sf_task_audio_min_samples (task);

  g_return_val_if_fail (task->input == SF_MODALITY_AUDIO, NULL);
  for (guint i = 0; i < n; i++) {
    g_autofree float *padded = NULL;
    const float *samples = windows[i];
    gsize len = lengths[i];
    SfTensor *f;

    if (len > 0 && len < min) { /* silence up to the shortest input */
      padded = g_new0 (float, min);
      memcpy (padded, samples, len * sizeof (float));
      samples = padded;
      len = min;
    }
    /* [mels, frames], [frames, mels] or [samples] */
    f = sf_audio_frontend_apply (task->frontend, samples, len, error);
    if (f == NULL)
      return NULL;
    g_ptr_array_add (features, f);
  }
  if (!run_stacked (task, features, items, error))
    return NULL;
  return g_steal_pointer (&items);
}
