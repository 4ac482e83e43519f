/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for models loaded below f32 (graphs/model.h, graphs/weights.h):
 * the cache keeps one model per folder and precision, a bf16 or int8
 * BERT, BART or T5 stays close to the f32 one, and a precision the CPU
 * cannot run loads (and shares) the f32 model. */
#include "graphs/model.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"

#include <math.h>

/* (transfer full) a text model's logits for two texts, or its last hidden
 * state where it has no classifier (T5's encoder). */
static SfTensor *
text_output (SfModel *model)
{
  const char *texts[] = { "the cat sat on the mat", "a dull, slow film" };
  SfTextInput in = { 0 };
  SfTextOutput out = { 0 };
  g_autoptr (GError) error = NULL;
  SfTensor *logits;

  g_assert_true (
      sf_model_encode_texts (model, texts, NULL, 2, 0, &in, NULL, &error));
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  logits = sf_tensor_ref (out.logits ? out.logits : out.last_hidden_state);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  return logits;
}

static void
test_cache_keys (void)
{
  g_autofree char *dir = sf_test_fixture ("bert-tiny-cls");
  g_autoptr (GError) error = NULL;
  SfModel *f32a = sf_model_cache_get (dir, &error);
  SfModel *f32b =
      sf_model_cache_get_with_precision (dir, SF_PRECISION_F32, &error);
  SfModel *bf16 =
      sf_model_cache_get_with_precision (dir, SF_PRECISION_BF16, &error);
  SfModel *int8 =
      sf_model_cache_get_with_precision (dir, SF_PRECISION_INT8, &error);

  g_assert_no_error (error);
  g_assert_true (f32a == f32b);
  g_assert_cmpint (sf_model_precision (f32a), ==, SF_PRECISION_F32);
  if (sf_precision_missing (SF_PRECISION_BF16) == NULL) {
    g_assert_true (bf16 != f32a);
    g_assert_cmpint (sf_model_precision (bf16), ==, SF_PRECISION_BF16);
  }
  if (sf_precision_missing (SF_PRECISION_INT8) == NULL) {
    g_assert_true (int8 != f32a && int8 != bf16);
    g_assert_cmpint (sf_model_precision (int8), ==, SF_PRECISION_INT8);
  }
  sf_model_unref (int8);
  sf_model_unref (bf16);
  sf_model_unref (f32b);
  sf_model_unref (f32a);
}

/* Outputs within the README's verify tolerance of the f32 model's (0.03
 * or 0.06 of the largest magnitude), and not equal to f32's bit for bit,
 * which would mean the precision was not applied. */
static void
test_close_to_reference (gconstpointer fixture)
{
  g_autofree char *dir = sf_test_fixture (fixture);
  g_autoptr (SfModel) f32 = sf_test_load_model (dir);
  g_autoptr (SfTensor) want = text_output (f32);
  const SfPrecision precisions[] = { SF_PRECISION_BF16, SF_PRECISION_INT8 };
  const double scale_tol[] = { 0.03, 0.06 };

  for (guint i = 0; i < G_N_ELEMENTS (precisions); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (SfModel) model = NULL;
    g_autoptr (SfTensor) got = NULL;
    double max_ref = 0, max_err = 0;

    if (sf_precision_missing (precisions[i]) != NULL)
      continue;
    model = sf_model_load_with_precision (dir, precisions[i], &error);
    g_assert_no_error (error);
    got = text_output (model);
    g_assert_true (sf_tensor_same_shape (got, want));
    for (gint64 j = 0; j < sf_tensor_numel (want); j++) {
      max_ref = MAX (max_ref, fabs (sf_tensor_f32 (want)[j]));
      max_err = MAX (
          max_err, fabs (sf_tensor_f32 (got)[j] - sf_tensor_f32 (want)[j]));
    }
    g_assert_cmpfloat (max_err, <=, scale_tol[i] * max_ref);
    g_assert_cmpfloat (max_err, >, 0.0);
  }
}

static void
test_fallback_shares_f32 (void)
{
  g_autofree char *dir = sf_test_fixture ("bert-tiny-cls");
  g_autoptr (GError) error = NULL;
  SfModel *f32, *bf16;

  g_setenv ("SF_CPU_DISABLE", "avx512_bf16", TRUE);
  f32 = sf_model_cache_get (dir, &error);
  bf16 = sf_model_cache_get_with_precision (dir, SF_PRECISION_BF16, &error);
  g_unsetenv ("SF_CPU_DISABLE");
  g_assert_no_error (error);
  g_assert_true (bf16 == f32);
  g_assert_cmpint (sf_model_precision (bf16), ==, SF_PRECISION_F32);
  sf_model_unref (bf16);
  sf_model_unref (f32);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/precision/cache-keys", test_cache_keys);
  g_test_add_data_func ("/graphs/precision/close-to-reference/bert",
      "bert-tiny-cls", test_close_to_reference);
  g_test_add_data_func ("/graphs/precision/close-to-reference/bart",
      "bart-tiny-cls", test_close_to_reference);
  g_test_add_data_func ("/graphs/precision/close-to-reference/t5",
      "t5-tiny-gen", test_close_to_reference);
  g_test_add_func (
      "/graphs/precision/fallback-shares-f32", test_fallback_shares_f32);
  return g_test_run ();
}
