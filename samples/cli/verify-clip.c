/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on CLIP cases (CLIPModel).
 *
 * - The case's texts are tokenised: attention_mask must match exactly, and
 *   input_ids on every real token. Padding ids are not compared: the HF
 *   CLIP tokenizer pads with its end-of-text token by class default, which
 *   tokenizer.json does not record, and padded ids are masked anyway.
 * - The image processor runs on every image.K; the batch must match the
 *   case's pixel_values within 2e-2 (the HF processor may not resize
 *   through PIL).
 * - Both towers then run on the case's own input_ids, attention_mask and
 *   pixel_values, so hidden states, embeddings and logits are compared on
 *   identical inputs within the case tolerance.
 * - zero_shot: the same logits computed from our own tokens and pixels
 *   must pick the reference's best text for every image.
 */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "core/image/image.h"
#include "core/ops/ops.h"
#include "core/ops/layout.h"
#include "graphs/model.h"

#include <stdio.h>

#define PIXEL_VALUES_TOL 2e-2

/* (transfer full) io tensor @name, or NULL with an error. */
static SfTensor *
io_get (SfVerify *v, const char *name, GError **error)
{
  SfTensor *t = v->io ? sf_safetensors_get (v->io, name) : NULL;

  if (t == NULL)
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s/io.safetensors: '%s' is missing", v->dir, name);
  return t;
}

/* Reads case.json's list of strings @key into @out. */
static gboolean
read_strings (SfVerify *v, const char *key, GPtrArray *out, GError **error)
{
  const cJSON *list = sf_config_get (v->case_json, key), *item;

  cJSON_ArrayForEach (item, list) {
    if (!cJSON_IsString (item)) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: field '%s' must be a list of strings",
          sf_config_origin (v->case_json), key);
      return FALSE;
    }
    g_ptr_array_add (out, item->valuestring);
  }
  if (out->len == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: field '%s' is missing or empty", sf_config_origin (v->case_json),
        key);
    return FALSE;
  }
  return TRUE;
}

/* Our tokens against the reference on real tokens; the mask exactly. */
static void
compare_tokens (SfVerify *v, const SfTextInput *ours)
{
  g_autoptr (SfTensor) ids = sf_safetensors_get (v->io, "input_ids");
  g_autoptr (SfTensor) mask = sf_safetensors_get (v->io, "attention_mask");
  g_autofree char *detail = NULL;
  guint mismatches = 0;

  sf_verify_tensor (v, "attention_mask", ours->attention_mask);
  sf_verify_keep (v, "input_ids", ours->input_ids);
  g_hash_table_add (v->compared, g_strdup ("input_ids"));
  if (ids == NULL || mask == NULL || ids->dtype != SF_DTYPE_I64
      || mask->dtype != SF_DTYPE_I64
      || !sf_tensor_same_shape (ids, ours->input_ids)
      || !sf_tensor_same_shape (mask, ids)) {
    sf_verify_exact (v, "input_ids", 1, "missing, or not of our shape");
    return;
  }
  for (gint64 i = 0; i < sf_tensor_numel (ids); i++) {
    if (sf_tensor_i64 (mask)[i] == 0
        || sf_tensor_i64 (ids)[i] == sf_tensor_i64 (ours->input_ids)[i])
      continue;
    if (mismatches++ == 0)
      detail = g_strdup_printf ("flat index %" G_GINT64_FORMAT
                                ": id %" G_GINT64_FORMAT
                                ", reference %" G_GINT64_FORMAT,
          i, sf_tensor_i64 (ours->input_ids)[i], sf_tensor_i64 (ids)[i]);
  }
  sf_verify_exact (v, "input_ids", mismatches, detail);
}

/* (transfer full) pixel_values [N, 3, H, W] for every image.K. */
static SfTensor *
preprocess (SfVerify *v, SfModel *model, GPtrArray *keys, GError **error)
{
  const SfImageProcessor *proc = sf_model_image_processor (model);
  g_autoptr (GPtrArray) pixels =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);

  for (guint i = 0; i < keys->len; i++) {
    g_autofree char *name = g_strconcat ("image.", keys->pdata[i], NULL);
    g_autoptr (SfImage) image = sf_verify_input_image (v, name, error);

    SfTensor *px;

    if (image == NULL
        || (px = sf_image_processor_process (proc, image, error)) == NULL)
      return NULL;
    g_ptr_array_add (pixels, px);
  }
  return sf_verify_stack_pixels (model, pixels, error);
}

/* Runs both towers; (transfer full) logits_per_image [images, texts]. */
static SfTensor *
run_clip (SfModel *model, const SfTextInput *text, SfTensor *pixels,
    SfTextOutput *tout, SfImageOutput *iout, GError **error)
{
  SfImageInput in = { .pixel_values = pixels };

  if (!sf_model_forward_text (model, text, FALSE, tout, error))
    return NULL;
  if (!sf_model_forward_image (model, &in, FALSE, iout, error)) {
    sf_text_output_clear (tout);
    return NULL;
  }
  if (tout->text_embeds == NULL || iout->image_embeds == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: the model gives no projected embeddings", sf_model_dir (model));
    sf_text_output_clear (tout);
    sf_image_output_clear (iout);
    return NULL;
  }
  return sf_model_similarity (model, iout->image_embeds, tout->text_embeds);
}

static gint64
row_argmax (const SfTensor *m, gint64 row)
{
  gint64 n = sf_tensor_dim (m, 1), best = 0;
  const float *x = sf_tensor_f32 (m) + row * n;

  for (gint64 j = 1; j < n; j++)
    if (x[j] > x[best])
      best = j;
  return best;
}

/* Our end-to-end choice of text per image against the reference's. */
static void
compare_zero_shot (SfVerify *v, const SfTensor *ours, const SfTensor *reference)
{
  g_autofree char *detail = NULL;
  guint mismatches = 0;

  if (!sf_tensor_same_shape (ours, reference)) {
    sf_verify_exact (v, "zero_shot", 1, "logits of another shape");
    return;
  }
  for (gint64 i = 0; i < sf_tensor_dim (ours, 0); i++) {
    gint64 a = row_argmax (ours, i), b = row_argmax (reference, i);
    if (a != b && mismatches++ == 0)
      detail =
          g_strdup_printf ("image %" G_GINT64_FORMAT ": text %" G_GINT64_FORMAT
                           ", reference %" G_GINT64_FORMAT,
              i, a, b);
  }
  sf_verify_exact (v, "zero_shot", mismatches, detail);
}

gboolean
sf_verify_clip_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model =
      sf_model_load_with_precision (v->dir, v->precision, error);
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (SfTensor) pixels = NULL, ref_pixels = NULL, ref_ids = NULL;
  g_autoptr (SfTensor) ref_mask = NULL, per_image = NULL, per_text = NULL;
  g_autoptr (SfTensor) own_logits = NULL;
  g_auto (SfTextInput) ours = { 0 };
  SfTextInput ref_in = { 0 }; /* borrows ref_ids and ref_mask */
  SfTextOutput tout;
  SfImageOutput iout;

  if (model == NULL || !read_strings (v, "texts", texts, error)
      || !read_strings (v, "images", keys, error))
    return FALSE;
  if (!sf_model_takes_input (model, SF_MODALITY_TEXT)
      || !sf_model_takes_input (model, SF_MODALITY_IMAGE) || v->io == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: not a CLIP case (a text-image model and io.safetensors are "
        "needed)",
        v->dir);
    return FALSE;
  }
  if ((ref_ids = io_get (v, "input_ids", error)) == NULL
      || (ref_mask = io_get (v, "attention_mask", error)) == NULL
      || (ref_pixels = io_get (v, "pixel_values", error)) == NULL)
    return FALSE;

  /* our own preprocessing */
  if (!sf_model_encode_texts (model, (const char *const *)texts->pdata, NULL,
          texts->len, 0, &ours, NULL, error))
    return FALSE;
  compare_tokens (v, &ours);
  if ((pixels = preprocess (v, model, keys, error)) == NULL)
    return FALSE;
  sf_verify_tensor_tol (v, "pixel_values", pixels, PIXEL_VALUES_TOL, 0.0);

  /* the model on the reference inputs */
  ref_in.input_ids = ref_ids;
  ref_in.attention_mask = ref_mask;
  if ((per_image = run_clip (model, &ref_in, ref_pixels, &tout, &iout, error))
      == NULL)
    return FALSE;
  per_text = sf_tensor_new_f32 (
      2, sf_tensor_dim (per_image, 1), sf_tensor_dim (per_image, 0));
  {
    g_autoptr (SfTensor) src = sf_tensor_reshape (per_image, 3,
        (gint64[]){ 1, per_image->shape[0], per_image->shape[1] });
    g_autoptr (SfTensor) dst = sf_tensor_reshape (
        per_text, 3, (gint64[]){ 1, per_text->shape[0], per_text->shape[1] });
    sf_op_transpose_last2 (dst, src);
  }
  sf_verify_tensor (v, "text_last_hidden_state", tout.last_hidden_state);
  sf_verify_tensor (v, "vision_last_hidden_state", iout.last_hidden_state);
  sf_verify_tensor (v, "text_embeds", tout.text_embeds);
  sf_verify_tensor (v, "image_embeds", iout.image_embeds);
  sf_verify_tensor (v, "logits_per_image", per_image);
  sf_verify_tensor (v, "logits_per_text", per_text);
  sf_text_output_clear (&tout);
  sf_image_output_clear (&iout);

  /* and end to end on ours */
  if ((own_logits = run_clip (model, &ours, pixels, &tout, &iout, error))
      == NULL)
    return FALSE;
  {
    g_autoptr (SfTensor) reference =
        sf_safetensors_get (v->io, "logits_per_image");
    compare_zero_shot (v, own_logits, reference ? reference : per_image);
  }
  sf_text_output_clear (&tout);
  sf_image_output_clear (&iout);
  return TRUE;
}
