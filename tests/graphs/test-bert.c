/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* BERT-family graphs beyond the reference cases (which `streamformer
 * verify` checks): half-precision checkpoints, config variants (RoBERTa's
 * included), the sentence-transformers pooling config, and the shared
 * model cache. */
#include "graphs/model.h"
#include "core/error.h"
#include "tests/common/test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static const char *texts[] = {
  "I loved this movie, it was wonderful!",
  "The service was terrible and slow.",
};

/* (transfer full) logits [2, labels] or pooled embeddings for texts[]. */
static SfTensor *
run_texts (SfModel *model, SfPooling pooling, gboolean normalize)
{
  g_autoptr (GError) error = NULL;
  SfTextInput in;
  SfTextOutput out;
  SfTensor *result;

  g_assert_true (
      sf_model_encode_texts (model, texts, NULL, 2, 0, &in, NULL, &error));
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  result = pooling == SF_POOLING_NONE
      ? sf_tensor_ref (out.logits)
      : sf_text_output_pool (&out, &in, pooling, normalize);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  return result;
}

static double
max_abs_diff (const SfTensor *a, const SfTensor *b)
{
  double m = 0;
  g_assert_true (sf_tensor_same_shape (a, b));
  for (gint64 i = 0; i < sf_tensor_numel (a); i++)
    m = MAX (m, fabs (sf_tensor_f32 (a)[i] - sf_tensor_f32 (b)[i]));
  return m;
}

static SfTensor *
to_half (const char *name, SfTensor *t, gpointer user_data)
{
  SfDtype dtype = GPOINTER_TO_INT (user_data);
  SfTensor *out = sf_tensor_new (dtype, t->ndim, t->shape);
  guint16 *dst = out->data;
  for (gint64 i = 0; i < sf_tensor_numel (t); i++)
    dst[i] = dtype == SF_DTYPE_F16 ? sf_f32_to_f16 (sf_tensor_f32 (t)[i])
                                   : sf_f32_to_bf16 (sf_tensor_f32 (t)[i]);
  return out;
}

static void
check_half (SfDtype dtype, double tol)
{
  g_autofree char *ref_dir = sf_test_fixture ("bert-tiny-cls");
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) ref = sf_model_load (ref_dir, &error);
  g_autoptr (SfModel) half = NULL;
  g_autoptr (SfTensor) a = NULL, b = NULL;

  g_assert_no_error (error);
  sf_test_rewrite_safetensors (
      dir, "model.safetensors", to_half, GINT_TO_POINTER (dtype));
  half = sf_model_load (dir, &error);
  g_assert_no_error (error);
  a = run_texts (ref, SF_POOLING_NONE, FALSE);
  b = run_texts (half, SF_POOLING_NONE, FALSE);
  g_test_message (
      "%s logits max abs diff %g", sf_dtype_name (dtype), max_abs_diff (a, b));
  g_assert_cmpfloat (max_abs_diff (a, b), <, tol);
  g_assert_cmpfloat (max_abs_diff (a, b), >, 0.0); /* really converted */
  sf_test_remove_dir (dir);
}

static void
test_f16 (void)
{
  check_half (SF_DTYPE_F16, 5e-3);
}

static void
test_bf16 (void)
{
  check_half (SF_DTYPE_BF16, 5e-2);
}

/* Replaces "key": value in config.json text. */
static void
edit_config (const char *dir, const char *from, const char *to)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = NULL, *edited = NULL;
  g_auto (GStrv) parts = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, from));
  parts = g_strsplit (text, from, -1);
  edited = g_strjoinv (to, parts);
  g_assert_true (g_file_set_contents (path, edited, -1, NULL));
}

static void
test_hidden_act (void)
{
  g_autofree char *ref_dir = sf_test_fixture ("bert-tiny-cls");
  g_autoptr (SfModel) ref = sf_model_load (ref_dir, NULL);
  g_autoptr (SfTensor) base = run_texts (ref, SF_POOLING_NONE, FALSE);
  const char *acts[] = { "\"relu\"", "\"gelu_new\"", "\"quick_gelu\"" };

  for (guint i = 0; i < G_N_ELEMENTS (acts); i++) {
    g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
    g_autoptr (GError) error = NULL;
    g_autoptr (SfModel) m = NULL;
    g_autoptr (SfTensor) other = NULL;
    g_autofree char *act = g_strdup_printf ("\"hidden_act\": %s", acts[i]);

    edit_config (dir, "\"hidden_act\": \"gelu\"", act);
    m = sf_model_load (dir, &error);
    g_assert_no_error (error);
    other = run_texts (m, SF_POOLING_NONE, FALSE);
    /* the activation is honoured: outputs move */
    g_assert_cmpfloat (max_abs_diff (base, other), >, 1e-6);
    sf_test_remove_dir (dir);
  }
  {
    g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
    g_autoptr (GError) error = NULL;
    edit_config (dir, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"swishy\"");
    g_assert_null (sf_model_load (dir, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, "hidden_act 'swishy'"));
    sf_test_remove_dir (dir);
  }
}

static void
test_layer_norm_eps (void)
{
  g_autofree char *ref_dir = sf_test_fixture ("bert-tiny-cls");
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  g_autoptr (SfModel) ref = sf_model_load (ref_dir, NULL);
  g_autoptr (SfModel) m = NULL;
  g_autoptr (SfTensor) a = NULL, b = NULL;

  edit_config (dir, "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": 0.5");
  m = sf_model_load (dir, NULL);
  g_assert_nonnull (m);
  a = run_texts (ref, SF_POOLING_NONE, FALSE);
  b = run_texts (m, SF_POOLING_NONE, FALSE);
  g_assert_cmpfloat (max_abs_diff (a, b), >, 1e-4);
  sf_test_remove_dir (dir);
}

static void
test_sentence_transformers_pooling (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-embed");
  g_autofree char *pool_dir = g_build_filename (dir, "1_Pooling", NULL);
  g_autofree char *io_path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) m = NULL;
  g_autoptr (SfTensor) pooled = NULL;
  g_autoptr (SfSafetensors) io = NULL;
  g_autoptr (SfTensor) ref = NULL;

  g_assert_cmpint (g_mkdir (pool_dir, 0755), ==, 0);
  sf_test_write_file (dir, "modules.json",
      "[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":"
      "\"sentence_transformers.models.Transformer\"},"
      "{\"idx\":1,\"name\":\"1\",\"path\":\"1_Pooling\",\"type\":"
      "\"sentence_transformers.models.Pooling\"},"
      "{\"idx\":2,\"name\":\"2\",\"path\":\"2_Normalize\",\"type\":"
      "\"sentence_transformers.models.Normalize\"}]");
  sf_test_write_file (pool_dir, "config.json",
      "{\"word_embedding_dimension\": 64, \"pooling_mode_cls_token\": false,"
      " \"pooling_mode_mean_tokens\": true}");
  m = sf_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sf_model_default_pooling (m), ==, SF_POOLING_MEAN);
  g_assert_true (sf_model_default_normalize (m));

  /* the first two rows of the reference's mean_pooled_l2 */
  io_path = g_build_filename (dir, "io.safetensors", NULL);
  io = sf_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  pooled = run_texts (
      m, sf_model_default_pooling (m), sf_model_default_normalize (m));
  {
    g_autoptr (SfTensor) all = sf_safetensors_get (io, "mean_pooled_l2");
    ref = sf_tensor_slice0 (all, 0, 2);
  }
  g_assert_cmpfloat (max_abs_diff (pooled, ref), <, 1e-4);
  sf_test_remove_dir (pool_dir);
  sf_test_remove_dir (dir);
}

/* (transfer full) the logits of roberta-tiny-cls on texts[], loaded from
 * @dir. */
static SfTensor *
roberta_logits (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) m = sf_model_load (dir, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (sf_model_family (m), ==, "roberta");
  return run_texts (m, SF_POOLING_NONE, FALSE);
}

/* Positions start after pad_token_id: a different pad moves every output,
 * and one that leaves no position is refused. */
static void
test_roberta_pad_token_id (void)
{
  g_autofree char *ref_dir = sf_test_fixture ("roberta-tiny-cls");
  g_autoptr (SfTensor) base = roberta_logits (ref_dir);
  g_autofree char *dir = sf_test_copy_fixture ("roberta-tiny-cls");
  g_autoptr (SfTensor) moved = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) m = NULL;

  edit_config (dir, "\"pad_token_id\": 1,", "\"pad_token_id\": 3,");
  moved = roberta_logits (dir);
  g_assert_cmpfloat (max_abs_diff (base, moved), >, 1e-4);
  m = sf_model_load (dir, &error);
  g_assert_cmpint (sf_model_max_positions (m), ==, 66 - 3 - 1);
  g_clear_pointer (&m, sf_model_unref);

  edit_config (dir, "\"pad_token_id\": 3,", "\"pad_token_id\": 65,");
  g_assert_null (sf_model_load (dir, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "pad_token_id 65"));
  sf_test_remove_dir (dir);
}

/* max_position_embeddings - pad_token_id - 1 tokens at most: longer text
 * is truncated there, and longer ids are refused. */
static void
test_roberta_max_length (void)
{
  g_autofree char *dir = sf_test_fixture ("roberta-tiny-cls");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) m = sf_model_load (dir, &error);
  g_autoptr (GString) text = g_string_new (NULL);
  const char *one[1];
  SfTextInput in;
  SfTextOutput out;
  gboolean truncated;

  g_assert_no_error (error);
  g_assert_cmpint (sf_model_max_positions (m), ==, 64);
  for (int i = 0; i < 100; i++)
    g_string_append (text, "this is ");
  one[0] = text->str;
  g_assert_true (
      sf_model_encode_texts (m, one, NULL, 1, 0, &in, &truncated, &error));
  g_assert_true (truncated);
  g_assert_cmpint (sf_tensor_dim (in.input_ids, 1), ==, 64);
  g_assert_true (sf_model_forward_text (m, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);

  in.input_ids = sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 1, 65 });
  in.attention_mask = NULL;
  in.token_type_ids = NULL;
  for (int i = 0; i < 65; i++)
    sf_tensor_i64 (in.input_ids)[i] = 5;
  g_assert_false (sf_model_forward_text (m, &in, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  sf_text_input_clear (&in);
}

/* Only absolute position embeddings are implemented. */
static void
test_roberta_position_type (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("roberta-tiny-cls");
  g_autoptr (GError) error = NULL;

  edit_config (dir, "\"pad_token_id\": 1,",
      "\"pad_token_id\": 1, \"position_embedding_type\": \"relative_key\",");
  g_assert_null (sf_model_load (dir, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "relative_key"));
  sf_test_remove_dir (dir);
}

/* XLM-RoBERTa runs the same graph. */
static void
test_xlm_roberta (void)
{
  g_autofree char *ref_dir = sf_test_fixture ("roberta-tiny-cls");
  g_autoptr (SfTensor) base = roberta_logits (ref_dir);
  g_autofree char *dir = sf_test_copy_fixture ("roberta-tiny-cls");
  g_autoptr (SfTensor) xlm = NULL;

  edit_config (
      dir, "\"model_type\": \"roberta\"", "\"model_type\": \"xlm-roberta\"");
  edit_config (dir, "\"RobertaForSequenceClassification\"",
      "\"XLMRobertaForSequenceClassification\"");
  xlm = roberta_logits (dir);
  g_assert_cmpfloat (max_abs_diff (base, xlm), ==, 0.0);
  sf_test_remove_dir (dir);
}

static void
test_cache_shares (void)
{
  g_autofree char *dir = sf_test_fixture ("distilbert-tiny-cls");
  g_autofree char *other_spelling = g_strconcat (dir, "/./", NULL);
  g_autoptr (GError) error = NULL;
  SfModel *a = sf_model_cache_get (dir, &error);
  SfModel *b = sf_model_cache_get (other_spelling, &error);
  SfModel *c;

  g_assert_no_error (error);
  g_assert_true (a == b);
  sf_model_unref (a);
  sf_model_unref (b);
  /* after the last user, a new get loads afresh (no dangling entry) */
  c = sf_model_cache_get (dir, &error);
  g_assert_nonnull (c);
  g_assert_cmpstr (sf_model_family (c), ==, "distilbert");
  sf_model_unref (c);
  g_assert_null (sf_model_cache_get ("/nonexistent/model", &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/bert/f16", test_f16);
  g_test_add_func ("/graphs/bert/bf16", test_bf16);
  g_test_add_func ("/graphs/bert/hidden-act", test_hidden_act);
  g_test_add_func ("/graphs/bert/layer-norm-eps", test_layer_norm_eps);
  g_test_add_func ("/graphs/bert/sentence-transformers-pooling",
      test_sentence_transformers_pooling);
  g_test_add_func ("/graphs/roberta/pad-token-id", test_roberta_pad_token_id);
  g_test_add_func ("/graphs/roberta/max-length", test_roberta_max_length);
  g_test_add_func (
      "/graphs/roberta/position-embedding-type", test_roberta_position_type);
  g_test_add_func ("/graphs/roberta/xlm-roberta", test_xlm_roberta);
  g_test_add_func ("/graphs/model-cache/shares", test_cache_shares);
  return g_test_run ();
}
