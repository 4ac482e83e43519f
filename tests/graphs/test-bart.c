/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* BART: the cached decoder (several rows, beam reorders) against the
 * teacher-forced forward and transformers' logits, padding that must not
 * leak into real positions, and broken checkpoints. */
#include "graphs/families/bart.h"
#include "graphs/generate.h"
#include "core/error.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define CASE "bart-tiny-sum"
#define ATOL 2e-4
#define RTOL 1e-3

static SfModel *
load_model (void)
{
  SfModel *model = sf_test_load_case (CASE);

  g_assert_true (sf_bart_check (model));
  return model;
}

static void
assert_close (const float *got, const float *want, gint64 n)
{
  sf_test_assert_close (CASE, got, want, n, ATOL, RTOL);
}

/* Row @b of io's input_ids without its padding, as [rows, n] repeated. */
static SfTensor *
source_rows (gint64 b, gint64 rows)
{
  g_autoptr (SfTensor) ids = sf_test_fixture_tensor (CASE, "input_ids");
  g_autoptr (SfTensor) mask = sf_test_fixture_tensor (CASE, "attention_mask");
  gint64 s = ids->shape[1], n = 0;
  SfTensor *out;

  for (gint64 i = 0; i < s; i++)
    n += sf_tensor_i64 (mask)[b * s + i];
  out = sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ rows, n });
  for (gint64 r = 0; r < rows; r++)
    memcpy (sf_tensor_i64 (out) + r * n, sf_tensor_i64 (ids) + b * s,
        n * sizeof (gint64));
  return out;
}

/* Step by step through @model's cache, two rows with different
 * histories and beam-search reorders, equals its teacher-forced forward
 * (returned, [2, T, V], both rows over text 0). */
static SfTensor *
check_incremental (SfModel *model)
{
  g_autoptr (SfTensor) dec_ids =
      sf_test_fixture_tensor (CASE, "decoder_input_ids");
  g_autoptr (SfTensor) src2 = source_rows (0, 2);
  g_autoptr (SfTensor) src1 = source_rows (0, 1);
  g_autoptr (GError) error = NULL;
  SfTensor *full = NULL;
  gint64 v;
  SfDecoder *dec;

  g_assert_true (
      sf_bart_forward (model, src2, NULL, dec_ids, NULL, &full, &error));
  g_assert_no_error (error);
  g_assert_cmpint (dec_ids->shape[1], ==, 5);
  v = full->shape[2];

  dec = sf_model_decoder_new (model, src1, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dec->vocab, ==, v);
  /* rows A = 0 and B = 1: a 2-token prompt, then one token */
  sf_test_decoder_step (
      dec, dec_ids, full, (guint[]){ 0, 1 }, 2, 0, 2, ATOL, RTOL);
  sf_test_decoder_step (
      dec, dec_ids, full, (guint[]){ 0, 1 }, 2, 2, 1, ATOL, RTOL);
  /* beams B, A, B */
  g_assert_true (dec->reorder (dec->self, (guint[]){ 1, 0, 1 }, 3, &error));
  g_assert_no_error (error);
  sf_test_decoder_step (
      dec, dec_ids, full, (guint[]){ 1, 0, 1 }, 3, 3, 1, ATOL, RTOL);
  /* back to A alone */
  g_assert_true (dec->reorder (dec->self, (guint[]){ 1 }, 1, &error));
  sf_test_decoder_step (
      dec, dec_ids, full, (guint[]){ 0 }, 1, 4, 1, ATOL, RTOL);

  /* bad reorders and row counts are errors */
  g_assert_false (dec->reorder (dec->self, (guint[]){ 1 }, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (dec->reorder (dec->self, (guint[]){ 0, 0, 0, 0 }, 4, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  {
    gint64 two[2] = { 5, 6 };
    g_autofree float *logits = g_new (float, 2 * v);
    g_assert_false (dec->step (dec->self, two, 2, 1, logits, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  }
  sf_decoder_free (dec);
  return full;
}

/* ... and the teacher-forced forward gives transformers' logits. */
static void
test_incremental_matches_full (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor (CASE, "logits");
  g_autoptr (SfTensor) full = check_incremental (model);

  assert_close (
      sf_tensor_f32 (full), sf_tensor_f32 (ref), ref->shape[1] * ref->shape[2]);
}

/* Decoding runs out of learned positions with an error. */
static void
test_position_limit (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) src = source_rows (1, 1);
  g_autoptr (GError) error = NULL;
  SfDecoder *dec = sf_model_decoder_new (model, src, 1, &error);
  g_autofree float *logits = NULL;
  gint64 max = sf_model_max_positions (model);
  g_autofree gint64 *tokens = g_new0 (gint64, max + 1);

  g_assert_no_error (error);
  logits = g_new (float, dec->vocab);
  g_assert_true (dec->step (dec->self, tokens, 1, max - 1, logits, &error));
  g_assert_true (dec->step (dec->self, tokens, 1, 1, logits, &error));
  g_assert_no_error (error);
  g_assert_false (dec->step (dec->self, tokens, 1, 1, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  sf_decoder_free (dec);
}

/* Whatever sits under the padding, the real positions of the encoder
 * output stay transformers'. */
static void
test_padding_does_not_leak (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) stored = sf_test_fixture_tensor (CASE, "input_ids");
  g_autoptr (SfTensor) ids = sf_tensor_copy (stored); /* written below */
  g_autoptr (SfTensor) mask = sf_test_fixture_tensor (CASE, "attention_mask");
  g_autoptr (SfTensor) ref =
      sf_test_fixture_tensor (CASE, "encoder_last_hidden_state");
  g_autoptr (GError) error = NULL;
  gint64 s = ids->shape[1], d = ref->shape[2];
  SfTextInput in = { ids, mask, NULL };
  SfTextOutput out;

  for (gint64 i = 0; i < sf_tensor_numel (ids); i++)
    if (sf_tensor_i64 (mask)[i] == 0)
      sf_tensor_i64 (ids)[i] = 100 + i % 50;
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  for (gint64 b = 0; b < ids->shape[0]; b++)
    for (gint64 i = 0; i < s; i++)
      if (sf_tensor_i64 (mask)[b * s + i])
        assert_close (sf_tensor_f32 (out.last_hidden_state) + (b * s + i) * d,
            sf_tensor_f32 (ref) + (b * s + i) * d, d);
  sf_text_output_clear (&out);
}

static void
test_source_errors (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) two = source_rows (0, 2);
  g_autoptr (SfTensor) f32 = sf_tensor_new_f32 (2, (gint64)1, (gint64)4);
  g_autoptr (SfTensor) long_src = sf_tensor_new (
      SF_DTYPE_I64, 2, (gint64[]){ 1, sf_model_max_positions (model) + 1 });
  g_autoptr (SfTensor) bad_id =
      sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 1, 3 });
  const SfTensor *shapes[] = { NULL, two, f32, long_src };
  SfBartTokens tok;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    g_assert_null (sf_model_decoder_new (model, shapes[i], 1, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_SHAPE);
    g_clear_error (&error);
  }
  g_assert_null (sf_model_decoder_new (model, two, 100000, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  sf_tensor_i64 (bad_id)[1] = 650; /* vocab_size */
  g_assert_null (sf_model_decoder_new (model, bad_id, 1, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_assert_true (sf_bart_tokens (model, &tok, &error));
  g_assert_cmpint (tok.decoder_start_token_id, ==, 2);
  g_assert_cmpint (tok.eos_token_id, ==, 2);
  g_assert_cmpint (tok.pad_token_id, ==, 1);
  g_assert_cmpint (tok.forced_eos_token_id, ==, 2);
  g_assert_cmpint (tok.forced_bos_token_id, ==, -1);
}

/* ---- broken checkpoints ---- */

static void
check_config_error (const char *key, const char *value, const char *want)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  const char *fragments[] = { "config.json", want, NULL };

  sf_test_set_config (dir, key, value);
  sf_test_assert_load_fails (dir, fragments);
  sf_test_remove_dir (dir);
}

static void
test_bad_config (void)
{
  check_config_error ("d_model", "33", "encoder_attention_heads");
  check_config_error (
      "decoder_attention_heads", "5", "decoder_attention_heads");
  check_config_error ("activation_function", "\"swishy\"", "swishy");
  check_config_error (
      "decoder_start_token_id", "650", "decoder_start_token_id");
  check_config_error (
      "max_position_embeddings", "0", "max_position_embeddings");
  check_config_error (
      "static_position_embeddings", "true", "static_position_embeddings");
}

/* Drops the tensor named @user_data, or gives it a wrong shape when it is
 * the encoder's position table. */
static SfTensor *
break_weight (const char *name, SfTensor *t, gpointer user_data)
{
  if (!g_str_equal (name, user_data))
    return sf_tensor_copy (t);
  if (g_str_equal (name, "model.encoder.embed_positions.weight"))
    return sf_tensor_new_f32 (2, (gint64)64, (gint64)32);
  return NULL;
}

static void
check_weight_error (const char *name, const char *const *fragments)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);

  sf_test_rewrite_safetensors (
      dir, "model.safetensors", break_weight, (gpointer)name);
  sf_test_assert_load_fails (dir, fragments);
  sf_test_remove_dir (dir);
}

static void
test_bad_weights (void)
{
  const char *want_fc1[] = { "missing tensor 'model.decoder.layers.1.fc1.bias'",
    NULL };
  const char *want_pos[] = { "model.encoder.embed_positions.weight", "[64, 32]",
    "[66, 32]", NULL };
  const char *want_shared[] = { "model.shared.weight", NULL };
  const char *want_mbart[] = { "model.encoder.layer_norm.weight", NULL };
  const char *want_head[] = { "lm_head.weight", NULL };
  g_autofree char *dir = NULL;

  check_weight_error ("model.decoder.layers.1.fc1.bias", want_fc1);
  check_weight_error ("model.encoder.embed_positions.weight", want_pos);
  check_weight_error ("model.shared.weight", want_shared);

  /* mBART needs its final LayerNorms; an untied head needs lm_head */
  dir = sf_test_copy_fixture (CASE);
  sf_test_set_config (dir, "model_type", "\"mbart\"");
  sf_test_assert_load_fails (dir, want_mbart);
  sf_test_set_config (dir, "model_type", "\"bart\"");
  sf_test_set_config (dir, "add_final_layer_norm", "true");
  sf_test_assert_load_fails (dir, want_mbart);
  sf_test_set_config (dir, "add_final_layer_norm", "false");
  sf_test_set_config (dir, "tie_word_embeddings", "false");
  sf_test_assert_load_fails (dir, want_head);
  sf_test_remove_dir (dir);
}

/* ---- variants built from the fixture ---- */

/* A deterministic [rows, cols] (or [rows] when cols is 0) tensor around
 * @base. */
static SfTensor *
pattern (gint64 rows, gint64 cols, float base, float amp)
{
  gint64 shape[2] = { rows, cols };
  SfTensor *t = sf_tensor_new (SF_DTYPE_F32, cols ? 2 : 1, shape);

  for (gint64 i = 0; i < sf_tensor_numel (t); i++)
    sf_tensor_f32 (t)[i] = base + amp * sinf (0.37f * (float)i + 1.0f);
  return t;
}

/* Adds @n tensors to the copy's model.safetensors. */
static void
add_tensors (
    const char *dir, const char *const *names, SfTensor **extra, guint n)
{
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *tmp = g_strconcat (path, ".new", NULL);
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, NULL);
  g_autoptr (GPtrArray) all_names = g_ptr_array_new ();
  g_autoptr (GPtrArray) tensors =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);

  g_assert_nonnull (st);
  for (guint i = 0; i < sf_safetensors_n_tensors (st); i++) {
    const char *name = sf_safetensors_name (st, i);
    g_autoptr (SfTensor) t = sf_safetensors_get (st, name);
    g_ptr_array_add (all_names, (gpointer)name);
    g_ptr_array_add (tensors, sf_tensor_copy (t));
  }
  for (guint i = 0; i < n; i++) {
    g_ptr_array_add (all_names, (gpointer)names[i]);
    g_ptr_array_add (tensors, extra[i]);
  }
  g_assert_true (sf_safetensors_write (tmp, all_names->len,
      (const char *const *)all_names->pdata, (SfTensor *const *)tensors->pdata,
      NULL));
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

/* The fixture as an mBART: pre-LN layers and final LayerNorms. */
static char *
make_mbart (void)
{
  char *dir = sf_test_copy_fixture (CASE);
  const char *names[] = { "model.encoder.layer_norm.weight",
    "model.encoder.layer_norm.bias", "model.decoder.layer_norm.weight",
    "model.decoder.layer_norm.bias" };
  SfTensor *extra[] = { pattern (32, 0, 1.0f, 0.2f),
    pattern (32, 0, 0.0f, 0.1f), pattern (32, 0, 1.0f, 0.3f),
    pattern (32, 0, 0.0f, 0.05f) };

  add_tensors (dir, names, extra, G_N_ELEMENTS (names));
  sf_test_set_config (dir, "model_type", "\"mbart\"");
  sf_test_set_config (
      dir, "architectures", "[\"MBartForConditionalGeneration\"]");
  sf_test_set_config (dir, "scale_embedding", "true");
  return dir;
}

/* The cache stays consistent with the whole-sequence forward in the
 * pre-LN layout, which computes something else than BART's. */
static void
test_mbart_incremental (void)
{
  g_autofree char *dir = make_mbart ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor (CASE, "logits");
  g_autoptr (SfTensor) full = NULL;
  double diff = 0;

  g_assert_no_error (error);
  full = check_incremental (model);
  for (gint64 i = 0; i < sf_tensor_numel (full); i++) {
    g_assert_true (isfinite (sf_tensor_f32 (full)[i]));
    diff = MAX (diff, fabs (sf_tensor_f32 (full)[i] - sf_tensor_f32 (ref)[i]));
  }
  g_assert_cmpfloat (diff, >, 0.1);
  sf_test_remove_dir (dir);
}

/* A checkpoint that kept only a tied copy of model.shared (here the
 * decoder's embed_tokens) and an lm_head gives transformers' logits. */
static void
test_tied_copy (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, NULL);
  g_autoptr (SfTensor) shared = sf_safetensors_get (st, "model.shared.weight");
  g_autoptr (SfTensor) ids = sf_test_fixture_tensor (CASE, "input_ids");
  g_autoptr (SfTensor) mask = sf_test_fixture_tensor (CASE, "attention_mask");
  g_autoptr (SfTensor) dec_ids =
      sf_test_fixture_tensor (CASE, "decoder_input_ids");
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor (CASE, "logits");
  g_autoptr (SfTensor) logits = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  const char *names[] = { "model.decoder.embed_tokens.weight",
    "lm_head.weight" };
  SfTensor *extra[] = { sf_tensor_copy (shared), sf_tensor_copy (shared) };

  g_clear_pointer (&st, sf_safetensors_unref);
  sf_test_rewrite_safetensors (
      dir, "model.safetensors", break_weight, "model.shared.weight");
  add_tensors (dir, names, extra, G_N_ELEMENTS (names));
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (
      sf_bart_forward (model, ids, mask, dec_ids, NULL, &logits, &error));
  g_assert_no_error (error);
  assert_close (
      sf_tensor_f32 (logits), sf_tensor_f32 (ref), sf_tensor_numel (ref));
  sf_test_remove_dir (dir);
}

/* BartForSequenceClassification gives one row of logits per input and
 * refuses inputs without eos (its numbers: verify on bart-tiny-cls). */
static void
test_classification (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  const char *names[] = { "classification_head.dense.weight",
    "classification_head.dense.bias", "classification_head.out_proj.weight",
    "classification_head.out_proj.bias" };
  SfTensor *extra[] = { pattern (32, 32, 0.0f, 0.2f),
    pattern (32, 0, 0.0f, 0.1f), pattern (3, 32, 0.0f, 0.3f),
    pattern (3, 0, 0.0f, 0.1f) };
  g_autoptr (SfTensor) ids = sf_test_fixture_tensor (CASE, "input_ids");
  g_autoptr (SfTensor) mask = sf_test_fixture_tensor (CASE, "attention_mask");
  g_autoptr (SfTensor) no_eos =
      sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 1, 3 });
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  SfTextInput in = { ids, mask, NULL };
  SfTextInput bad = { no_eos, NULL, NULL };
  SfTextOutput out;

  add_tensors (dir, names, extra, G_N_ELEMENTS (names));
  sf_test_set_config (
      dir, "architectures", "[\"BartForSequenceClassification\"]");
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_true (sf_model_has_classifier (model));
  g_assert_cmpuint (sf_model_num_labels (model), ==, 3);

  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sf_tensor_dim (out.logits, 0), ==, 2);
  g_assert_cmpint (sf_tensor_dim (out.logits, 1), ==, 3);
  for (gint64 i = 0; i < 6; i++)
    g_assert_true (isfinite (sf_tensor_f32 (out.logits)[i]));
  sf_text_output_clear (&out);

  g_assert_false (sf_model_forward_text (model, &bad, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (sf_model_decoder_new (model, ids, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/bart/incremental", test_incremental_matches_full);
  g_test_add_func ("/graphs/bart/position-limit", test_position_limit);
  g_test_add_func ("/graphs/bart/padding", test_padding_does_not_leak);
  g_test_add_func ("/graphs/bart/source-errors", test_source_errors);
  g_test_add_func ("/graphs/bart/bad-config", test_bad_config);
  g_test_add_func ("/graphs/bart/bad-weights", test_bad_weights);
  g_test_add_func ("/graphs/bart/mbart-incremental", test_mbart_incremental);
  g_test_add_func ("/graphs/bart/tied-copy", test_tied_copy);
  g_test_add_func ("/graphs/bart/classification", test_classification);
  return g_test_run ();
}
