/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on image-model cases (ViT, SegFormer).
 *
 * - The checkpoint's image processor runs on every raw image.K (HWC RGB
 *   uint8). pil_reference.K (PIL resize, rescale, normalise) must match
 *   closely; pixel_values.K, made by the HF processor (which may not resize
 *   through PIL), within 2e-2.
 * - The model runs on the case's pixel_values batch, so logits and hidden
 *   states are compared on identical inputs, within the case tolerance.
 * - segmentation.K: our logits upsampled to the image size and argmaxed;
 *   E is the fraction of pixels whose label differs (must be ≤ 0.001).
 * - labels: the argmax of each image's logits against case.json.
 */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "core/image/image.h"
#include "core/ops/ops.h"
#include "core/ops/layout.h"
#include "graphs/model.h"
#include "graphs/post/segment.h"

#include <stdio.h>

#define PIXEL_VALUES_TOL 2e-2
#define PIL_REFERENCE_TOL 1e-4
#define SEGMENTATION_TOL 1e-3

/* The io tensor @name as an image, or NULL with an error. */
SfImage *
sf_verify_input_image (SfVerify *v, const char *name, GError **error)
{
  g_autoptr (SfTensor) t = v->io ? sf_safetensors_get (v->io, name) : NULL;

  if (t == NULL || t->dtype != SF_DTYPE_U8 || t->ndim != 3 || t->shape[2] != 3
      || t->shape[0] < 1 || t->shape[1] < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s/io.safetensors: '%s' is missing or not HWC RGB uint8", v->dir,
        name);
    return NULL;
  }
  g_hash_table_add (v->compared, g_strdup (name)); /* an input */
  return sf_image_new_from_packed (t->data, (int)t->shape[1], (int)t->shape[0],
      3 * t->shape[1], SF_PIXEL_FORMAT_RGB);
}

SfTensor *
sf_verify_stack_pixels (SfModel *model, GPtrArray *pixels, GError **error)
{
  const SfTensor *first = pixels->pdata[0];
  g_autoptr (SfTensor) rows = NULL;
  SfTensor *batch;
  gint64 h, w;

  /* with do_resize or do_center_crop off, frames keep their own size:
   * refuse before stacking, as a model with a fixed input would */
  for (guint i = 0; i < pixels->len; i++) {
    const SfTensor *px = pixels->pdata[i];

    if (sf_model_image_size (model, &h, &w)
        && (px->shape[1] != h || px->shape[2] != w)) {
      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "image %u is %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
          " (HxW) after preprocessing, but the model takes %" G_GINT64_FORMAT
          "x%" G_GINT64_FORMAT " (does preprocessor_config.json turn "
          "do_resize or do_center_crop off?)",
          i, px->shape[1], px->shape[2], h, w);
      return NULL;
    }
    if (!sf_tensor_same_shape (px, first)) {
      g_autofree char *a = sf_tensor_shape_string (first);
      g_autofree char *b = sf_tensor_shape_string (px);

      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "image %u is %s after preprocessing but image 0 is %s: one batch "
          "needs one size (does preprocessor_config.json turn do_resize "
          "off?)",
          i, b, a);
      return NULL;
    }
  }
  batch = sf_tensor_new_f32 (4, (gint64)pixels->len, first->shape[0],
      first->shape[1], first->shape[2]);
  rows = sf_tensor_reshape (batch, 3,
      (gint64[]){
          pixels->len * first->shape[0], first->shape[1], first->shape[2] });
  sf_op_concat (rows, (SfTensor *const *)pixels->pdata, pixels->len, 0);
  return batch;
}

static void
compare_if_defined (SfVerify *v, const char *name, const SfTensor *t)
{
  if (sf_safetensors_contains (v->io, name))
    sf_verify_tensor (v, name, t);
  else
    sf_verify_keep (v, name, t);
}

static void
compare_segmentation (
    SfVerify *v, const char *key, const SfTensor *logits, const SfImage *image)
{
  g_autofree char *name = g_strconcat ("segmentation.", key, NULL);
  g_autoptr (SfTensor) ref = sf_safetensors_get (v->io, name);
  g_autoptr (SfTensor) labels =
      sf_segment_labels (logits, image->width, image->height);
  g_autoptr (SfTensor) ref64 = NULL, ours64 = NULL;
  g_autoptr (SfTensor) ours =
      sf_tensor_reshape (labels, 2, (gint64[]){ image->height, image->width });
  g_autofree char *detail = NULL;
  gint64 differ = 0, n = sf_tensor_numel (ours);

  ours64 = sf_tensor_to_i64 (ours);
  sf_verify_keep (v, name, ours64);
  if (ref == NULL || !sf_tensor_same_shape (ref, ours)
      || (ref64 = sf_tensor_to_i64 (ref)) == NULL) {
    sf_verify_fraction (v, name, 1.0, SEGMENTATION_TOL,
        "missing, or not an integer map at the image size");
    return;
  }
  for (gint64 i = 0; i < n; i++)
    differ += sf_tensor_i64 (ours64)[i] != sf_tensor_i64 (ref64)[i];
  detail = g_strdup_printf (
      "%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " pixels differ", differ, n);
  sf_verify_fraction (v, name, (double)differ / n, SEGMENTATION_TOL, detail);
}

static void
compare_labels (SfVerify *v, SfModel *model, const SfTensor *logits)
{
  const cJSON *labels = sf_config_get (v->case_json, "labels"), *item;
  guint i = 0, mismatches = 0;
  g_autofree char *detail = NULL;

  if (labels == NULL)
    return;
  if (logits == NULL || logits->ndim != 2
      || sf_tensor_dim (logits, 0) != cJSON_GetArraySize (labels)) {
    sf_verify_exact (v, "labels", MAX (1, cJSON_GetArraySize (labels)),
        "no class logits for every labelled image");
    return;
  }
  cJSON_ArrayForEach (item, labels) {
    gint64 n = sf_tensor_dim (logits, 1), best = 0;
    const float *row = sf_tensor_f32 (logits) + i * n;
    for (gint64 j = 1; j < n; j++)
      if (row[j] > row[best])
        best = j;
    if (g_strcmp0 (cJSON_GetStringValue (item), sf_model_label (model, best))
        && mismatches++ == 0)
      detail = g_strdup_printf ("image %u: got '%s', reference '%s'", i,
          sf_model_label (model, best), cJSON_GetStringValue (item));
    i++;
  }
  sf_verify_exact (v, "labels", mismatches, detail);
}

/* Preprocesses every image; returns our pixel_values batch. */
static SfTensor *
preprocess (SfVerify *v, SfModel *model, const cJSON *keys, GPtrArray *images,
    GError **error)
{
  const SfImageProcessor *proc = sf_model_image_processor (model);
  g_autoptr (GPtrArray) pixels =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  const cJSON *key;

  cJSON_ArrayForEach (key, keys) {
    g_autofree char *image_name = NULL, *pv_name = NULL, *pil_name = NULL;
    SfImage *image;
    SfTensor *px;
    if (!cJSON_IsString (key)) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: field 'images' must be a list of names",
          sf_config_origin (v->case_json));
      return NULL;
    }
    image_name = g_strconcat ("image.", key->valuestring, NULL);
    pv_name = g_strconcat ("pixel_values.", key->valuestring, NULL);
    pil_name = g_strconcat ("pil_reference.", key->valuestring, NULL);
    if ((image = sf_verify_input_image (v, image_name, error)) == NULL)
      return NULL;
    g_ptr_array_add (images, image);
    if ((px = sf_image_processor_process (proc, image, error)) == NULL)
      return NULL;
    g_ptr_array_add (pixels, px);
    sf_verify_tensor_tol (v, pv_name, px, PIXEL_VALUES_TOL, 0.0);
    if (sf_safetensors_contains (v->io, pil_name))
      sf_verify_tensor_tol (v, pil_name, px, PIL_REFERENCE_TOL, 0.0);
  }
  if (pixels->len == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: field 'images' is empty", sf_config_origin (v->case_json));
    return NULL;
  }
  return sf_verify_stack_pixels (model, pixels, error);
}

gboolean
sf_verify_image_model_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model =
      sf_model_load_with_precision (v->dir, v->precision, error);
  const cJSON *keys =
      v->case_json ? sf_config_get (v->case_json, "images") : NULL;
  g_autoptr (GPtrArray) images =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_image_free);
  g_autoptr (SfTensor) ours = NULL, reference = NULL, probs = NULL;
  const char *hidden_prefix;
  SfImageInput in = { 0 };
  SfImageOutput out;
  guint i = 0;
  const cJSON *key;

  if (model == NULL)
    return FALSE;
  if (sf_model_modality (model) != SF_MODALITY_IMAGE || keys == NULL
      || v->io == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: not an image-model case (an image model, 'images' and "
        "io.safetensors are needed)",
        v->dir);
    return FALSE;
  }
  if ((ours = preprocess (v, model, keys, images, error)) == NULL)
    return FALSE;
  if ((reference = sf_safetensors_get (v->io, "pixel_values")) == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s/io.safetensors: 'pixel_values' is missing", v->dir);
    return FALSE;
  }
  sf_verify_tensor_tol (v, "pixel_values", ours, PIXEL_VALUES_TOL, 0.0);

  in.pixel_values = reference;
  if (!sf_model_forward_image (model, &in, TRUE, &out, error))
    return FALSE;
  hidden_prefix = sf_safetensors_contains (v->io, "encoder_hidden_states.0")
      ? "encoder_hidden_states."
      : "hidden_states.";
  for (guint h = 0; h < out.hidden_states->len; h++) {
    g_autofree char *name = g_strdup_printf ("%s%u", hidden_prefix, h);
    compare_if_defined (v, name, out.hidden_states->pdata[h]);
  }
  if (out.last_hidden_state)
    compare_if_defined (v, "last_hidden_state", out.last_hidden_state);
  if (out.pooler_output)
    compare_if_defined (v, "pooler_output", out.pooler_output);
  if (out.logits) {
    compare_if_defined (v, "logits", out.logits);
    if (out.logits->ndim == 2) {
      probs = sf_tensor_copy (out.logits);
      sf_op_softmax (probs, probs);
      compare_if_defined (v, "probs", probs);
    } else {
      cJSON_ArrayForEach (key, keys) {
        if (i >= sf_tensor_dim (out.logits, 0))
          break;
        g_autoptr (SfTensor) one = sf_tensor_slice0 (out.logits, i, 1);
        compare_segmentation (v, key->valuestring, one, images->pdata[i]);
        i++;
      }
    }
  }
  compare_labels (v, model, out.logits);
  sf_image_output_clear (&out);
  return TRUE;
}
