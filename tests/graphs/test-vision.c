/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ViT and SegFormer graphs: reference logits, config variants and bad
 * input. (The full comparison with transformers is `streamformer verify`
 * on the vit-tiny-cls and segformer-tiny-seg cases.) */
#include "graphs/model.h"
#include "graphs/post/segment.h"
#include "core/error.h"
#include "core/image/image.h"
#include "tests/common/test-util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static double
max_abs_diff (const SfTensor *a, const SfTensor *b)
{
  double m = 0.0;
  g_assert_true (sf_tensor_same_shape (a, b));
  for (gint64 i = 0; i < sf_tensor_numel (a); i++)
    m = MAX (m, fabs (sf_tensor_f32 (a)[i] - sf_tensor_f32 (b)[i]));
  return m;
}

static SfTensor *
run_logits (const char *dir, const SfTensor *px)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  SfImageInput in = { .pixel_values = (SfTensor *)px };
  SfImageOutput out;
  SfTensor *logits;

  g_assert_no_error (error);
  g_assert_true (sf_model_forward_image (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  logits = sf_tensor_ref (out.logits);
  sf_image_output_clear (&out);
  return logits;
}

static void
test_vit_logits (void)
{
  g_autofree char *dir = sf_test_fixture ("vit-tiny-cls");
  g_autoptr (SfTensor) px =
      sf_test_fixture_tensor ("vit-tiny-cls", "pixel_values");
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor ("vit-tiny-cls", "logits");
  g_autoptr (SfTensor) logits = run_logits (dir, px);

  g_assert_cmpfloat (max_abs_diff (logits, ref), <, 1e-4);
}

/* A checkpoint saved with qkv_bias=false has no q/k/v biases; it must
 * compute what the same weights with zero biases compute. */
static SfTensor *
zero_qkv_bias (const char *name, SfTensor *t, gpointer drop)
{
  if (g_str_has_suffix (name, "query.bias")
      || g_str_has_suffix (name, "key.bias")
      || g_str_has_suffix (name, "value.bias"))
    return drop ? NULL : sf_tensor_new (SF_DTYPE_F32, t->ndim, t->shape);
  return sf_tensor_copy (t);
}

static void
set_config_bool (const char *dir, const char *key, gboolean value)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr (cJSON) root = NULL;
  char *out;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  root = cJSON_Parse (text);
  cJSON_DeleteItemFromObject (root, key);
  cJSON_AddBoolToObject (root, key, value);
  out = cJSON_Print (root);
  sf_test_write_file (dir, "config.json", out);
  cJSON_free (out);
}

static void
test_vit_no_qkv_bias (void)
{
  g_autofree char *zeroed = sf_test_copy_fixture ("vit-tiny-cls");
  g_autofree char *dropped = sf_test_copy_fixture ("vit-tiny-cls");
  g_autoptr (SfTensor) px =
      sf_test_fixture_tensor ("vit-tiny-cls", "pixel_values");
  g_autoptr (SfTensor) a = NULL, b = NULL, ref = NULL;

  sf_test_rewrite_safetensors (
      zeroed, "model.safetensors", zero_qkv_bias, NULL);
  sf_test_rewrite_safetensors (
      dropped, "model.safetensors", zero_qkv_bias, GINT_TO_POINTER (1));
  set_config_bool (dropped, "qkv_bias", FALSE);
  a = run_logits (zeroed, px);
  b = run_logits (dropped, px);
  ref = sf_test_fixture_tensor ("vit-tiny-cls", "logits");
  g_assert_cmpfloat (max_abs_diff (a, b), ==, 0.0);
  g_assert_cmpfloat (max_abs_diff (a, ref), >, 1e-4); /* the biases matter */
  sf_test_remove_dir (zeroed);
  sf_test_remove_dir (dropped);
}

static void
test_vit_wrong_size (void)
{
  g_autofree char *dir = sf_test_fixture ("vit-tiny-cls");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) px =
      sf_tensor_new_f32 (4, (gint64)1, (gint64)3, (gint64)32, (gint64)64);
  SfImageInput in = { .pixel_values = px };
  SfImageOutput out;

  g_assert_no_error (error);
  g_assert_false (sf_model_forward_image (model, &in, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_SHAPE);
  g_assert_null (out.logits);
}

static void
test_segformer_labels (void)
{
  g_autofree char *dir = sf_test_fixture ("segformer-tiny-seg");
  g_autoptr (SfTensor) px =
      sf_test_fixture_tensor ("segformer-tiny-seg", "pixel_values");
  g_autoptr (SfTensor) ref =
      sf_test_fixture_tensor ("segformer-tiny-seg", "segmentation.chelsea");
  g_autoptr (SfTensor) logits = run_logits (dir, px);
  g_autoptr (SfTensor) one = sf_tensor_slice0 (logits, 1, 1);
  g_autoptr (SfTensor) labels = sf_segment_labels (one, 451, 300);
  gint64 differ = 0;
  double fractions[4], total = 0.0;

  g_assert_cmpint (labels->shape[1], ==, 300);
  g_assert_cmpint (labels->shape[2], ==, 451);
  for (gint64 i = 0; i < 300 * 451; i++)
    differ += ((gint32 *)labels->data)[i] != sf_tensor_i64 (ref)[i];
  g_assert_cmpfloat ((double)differ / (300 * 451), <=, 1e-3);
  sf_segment_class_fractions (labels, 4, fractions);
  for (int c = 0; c < 4; c++)
    total += fractions[c];
  g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-9);
}

/* SegFormer has no position embeddings: any size runs. */
static void
test_segformer_any_size (void)
{
  g_autofree char *dir = sf_test_fixture ("segformer-tiny-seg");
  g_autoptr (SfTensor) px =
      sf_tensor_new_f32 (4, (gint64)1, (gint64)3, (gint64)50, (gint64)70);
  g_autoptr (SfTensor) logits = run_logits (dir, px);

  g_assert_cmpint (logits->shape[1], ==, 4);
  g_assert_cmpint (logits->shape[2], ==, 13); /* (50 + 6 - 7) / 4 + 1 */
  g_assert_cmpint (logits->shape[3], ==, 18);
}

static void
test_segformer_too_small (void)
{
  g_autofree char *dir = sf_test_fixture ("segformer-tiny-seg");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) px =
      sf_tensor_new_f32 (4, (gint64)1, (gint64)3, (gint64)8, (gint64)8);
  SfImageInput in = { .pixel_values = px };
  SfImageOutput out;

  g_assert_false (sf_model_forward_image (model, &in, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_SHAPE);
}

static void
test_unsupported_resample (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("segformer-tiny-seg");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  sf_test_write_file (dir, "preprocessor_config.json",
      "{\"do_resize\": "
      "true, \"size\": {\"height\": 64, \"width\": 64}, \"resample\": 4}");
  model = sf_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
  g_assert_nonnull (strstr (error->message, "resample"));
  sf_test_remove_dir (dir);
}

static void
test_text_model_rejects_images (void)
{
  g_autofree char *dir = sf_test_fixture ("bert-tiny-cls");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) px =
      sf_tensor_new_f32 (4, (gint64)1, (gint64)3, (gint64)8, (gint64)8);
  SfImageInput in = { .pixel_values = px };
  SfImageOutput out;

  g_assert_no_error (error);
  g_assert_null (sf_model_image_processor (model));
  g_assert_false (sf_model_forward_image (model, &in, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/vit/logits", test_vit_logits);
  g_test_add_func ("/graphs/vit/no-qkv-bias", test_vit_no_qkv_bias);
  g_test_add_func ("/graphs/vit/wrong-size", test_vit_wrong_size);
  g_test_add_func ("/graphs/segformer/labels", test_segformer_labels);
  g_test_add_func ("/graphs/segformer/any-size", test_segformer_any_size);
  g_test_add_func ("/graphs/segformer/too-small", test_segformer_too_small);
  g_test_add_func (
      "/graphs/image/unsupported-resample", test_unsupported_resample);
  g_test_add_func ("/graphs/image/text-model", test_text_model_rejects_images);
  return g_test_run ();
}
