/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* T5: the incremental decoder (SfDecoder) against transformers' logits and
 * the teacher-forced forward, several rows, reorder and cache growth; the
 * encoder-only class; the task prefixes; broken configs and checkpoints. */
#include "graphs/families/t5.h"
#include "graphs/generate.h"
#include "core/error.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define CASE "t5-tiny-gen"
#define ATOL 2e-4
#define RTOL 1e-3

static SfModel *
load_model (void)
{
  SfModel *model = sf_test_load_case (CASE);

  g_assert_true (sf_t5_check (model));
  return model;
}

/* Item @b of the case's padded input_ids without its padding, [1, n]. */
static SfTensor *
source_ids (gint64 b)
{
  g_autoptr (SfTensor) ids = sf_test_fixture_tensor (CASE, "input_ids");
  g_autoptr (SfTensor) mask = sf_test_fixture_tensor (CASE, "attention_mask");
  gint64 n = ids->shape[1], len = 0;

  for (gint64 i = 0; i < n; i++)
    len += sf_tensor_i64 (mask)[b * n + i] != 0;
  return sf_tensor_new_from_data (
      SF_DTYPE_I64, 2, (gint64[]){ 1, len }, sf_tensor_i64 (ids) + b * n);
}

static void
assert_close (const float *got, const float *want, gint64 n)
{
  sf_test_assert_close (CASE, got, want, n, ATOL, RTOL);
}

/* Teacher-forced logits [R, m, V] of @dec_ids [R, m] over R copies of
 * @source. */
static SfTensor *
full_forward (SfModel *model, const SfTensor *source, const SfTensor *dec_ids)
{
  gint64 rows = dec_ids->shape[0], n = source->shape[1];
  g_autoptr (SfTensor) src =
      sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ rows, n });
  g_autoptr (GError) error = NULL;
  SfTensor *logits;

  for (gint64 r = 0; r < rows; r++)
    memcpy (sf_tensor_i64 (src) + r * n, sf_tensor_i64 (source),
        n * sizeof (gint64));
  logits = sf_t5_forward (model, src, NULL, dec_ids, NULL, &error);
  g_assert_no_error (error);
  return logits;
}

/* Two rows fed one token at a time give the teacher-forced forward's
 * logits (which are transformers' for row 0); reorder then changes which
 * row continues which sequence, and how many there are. */
static void
test_incremental_rows_reorder (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) source = source_ids (0);
  g_autoptr (SfTensor) dec_ids =
      sf_test_fixture_tensor (CASE, "decoder_input_ids");
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor (CASE, "logits");
  g_autoptr (SfTensor) full = full_forward (model, source, dec_ids);
  g_autoptr (GError) error = NULL;
  gint64 m = dec_ids->shape[1], vocab = ref->shape[2];
  const gint64 *ids = sf_tensor_i64 (dec_ids);
  SfDecoder *dec = sf_model_decoder_new (model, source, 3, &error);
  g_autofree float *logits = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (dec->vocab, ==, vocab);
  g_assert_cmpint (m, ==, 4);
  logits = g_new (float, 3 * vocab);
  assert_close (sf_tensor_f32 (full), sf_tensor_f32 (ref), m * vocab);

  for (gint64 i = 0; i < 2; i++)
    sf_test_decoder_step (
        dec, dec_ids, full, (guint[]){ 0, 1 }, 2, i, 1, ATOL, RTOL);
  /* three rows: sequence 1, sequence 0, sequence 1 again */
  g_assert_true (dec->reorder (dec->self, (guint[]){ 1, 0, 1 }, 3, &error));
  sf_test_decoder_step (
      dec, dec_ids, full, (guint[]){ 1, 0, 1 }, 3, 2, 1, ATOL, RTOL);
  /* one row: sequence 0 */
  g_assert_true (dec->reorder (dec->self, (guint[]){ 1 }, 1, &error));
  g_assert_no_error (error);
  sf_test_decoder_step (
      dec, dec_ids, full, (guint[]){ 0 }, 1, 3, 1, ATOL, RTOL);

  /* bad calls are errors */
  {
    guint bad[1] = { 5 };
    g_assert_false (dec->reorder (dec->self, bad, 1, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (dec->step (dec->self, ids, 2, 1, logits, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  }
  sf_decoder_free (dec);
}

/* A step of several tokens at once gives the last position's logits, and
 * the cache continues from there. Item 1 is padded in the reference batch:
 * alone, without padding, it must give the same logits. */
static void
test_multi_token_step (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) source = source_ids (1);
  g_autoptr (SfTensor) dec_ids =
      sf_test_fixture_tensor (CASE, "decoder_input_ids");
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor (CASE, "logits");
  g_autoptr (GError) error = NULL;
  gint64 m = dec_ids->shape[1], vocab = ref->shape[2];
  const gint64 *ids = sf_tensor_i64 (dec_ids) + m; /* item 1 */
  const float *want = sf_tensor_f32 (ref) + m * vocab;
  SfDecoder *dec = sf_model_decoder_new (model, source, 1, &error);
  g_autofree float *logits = g_new (float, vocab);

  g_assert_no_error (error);
  g_assert_true (dec->step (dec->self, ids, 1, 3, logits, &error));
  g_assert_no_error (error);
  assert_close (logits, want + 2 * vocab, vocab);
  g_assert_true (dec->step (dec->self, ids + 3, 1, 1, logits, &error));
  assert_close (logits, want + 3 * vocab, vocab);
  sf_decoder_free (dec);
}

/* Greedy decoding past the cache's first capacity matches the
 * teacher-forced forward of the sequence it produced. */
static void
test_cache_growth (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfTensor) source = source_ids (1);
  g_autoptr (GError) error = NULL;
  SfDecoder *dec = sf_model_decoder_new (model, source, 1, &error);
  const gint64 n = 40;
  gint64 seq[40], vocab;
  g_autofree float *steps = NULL;
  g_autoptr (SfTensor) dec_ids = NULL;
  g_autoptr (SfTensor) full = NULL;

  g_assert_no_error (error);
  vocab = dec->vocab;
  steps = g_new (float, n *vocab);
  seq[0] = sf_t5_decoder_start (model);
  for (gint64 i = 0; i < n; i++) {
    float *row = steps + i * vocab;
    gint64 best = 0;
    g_assert_true (dec->step (dec->self, &seq[i], 1, 1, row, &error));
    g_assert_no_error (error);
    /* a varied continuation: the best token that is not the last one */
    for (gint64 k = 1; k < vocab; k++)
      if (k != seq[i] && (best == seq[i] || row[k] > row[best]))
        best = k;
    if (i + 1 < n)
      seq[i + 1] = best;
  }
  dec_ids = sf_tensor_new_from_data (SF_DTYPE_I64, 2, (gint64[]){ 1, n }, seq);
  full = full_forward (model, source, dec_ids);
  assert_close (steps, sf_tensor_f32 (full), n * vocab);
  sf_decoder_free (dec);
}

/* Replaces @from by @to in @dir's config.json (exactly once). */
static void
edit_config (const char *dir, const char *from, const char *to)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *cfg = NULL;
  g_autofree char *edited = NULL;
  g_auto (GStrv) parts = NULL;

  g_assert_true (g_file_get_contents (path, &cfg, NULL, NULL));
  parts = g_strsplit (cfg, from, -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  edited = g_strjoinv (to, parts);
  sf_test_write_file (dir, "config.json", edited);
}

/* Teacher-forced logits of the case's batch by the checkpoint in @dir. */
static SfTensor *
case_logits (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) ids = sf_test_fixture_tensor (CASE, "input_ids");
  g_autoptr (SfTensor) mask = sf_test_fixture_tensor (CASE, "attention_mask");
  g_autoptr (SfTensor) dec = sf_test_fixture_tensor (CASE, "decoder_input_ids");
  SfTensor *logits;

  g_assert_no_error (error);
  logits = sf_t5_forward (model, ids, mask, dec, NULL, &error);
  g_assert_no_error (error);
  return logits;
}

/* Adds lm_head.weight, a copy of shared.weight, to @dir's checkpoint. */
static void
add_lm_head (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *tmp = g_build_filename (dir, "head.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  SfSafetensors *st = sf_safetensors_open (path, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < sf_safetensors_n_tensors (st); i++) {
    const char *name = sf_safetensors_name (st, i);
    g_autoptr (SfTensor) t = sf_safetensors_get (st, name);
    g_ptr_array_add (names, g_strdup (name));
    g_ptr_array_add (tensors, sf_tensor_copy (t));
    if (strcmp (name, "shared.weight") == 0) {
      g_ptr_array_add (names, g_strdup ("lm_head.weight"));
      g_ptr_array_add (tensors, sf_tensor_copy (t));
    }
  }
  sf_safetensors_unref (st);
  g_assert_true (
      sf_safetensors_write (tmp, names->len, (const char *const *)names->pdata,
          (SfTensor *const *)tensors->pdata, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

/* The head: a separate lm_head (FLAN-T5) holding the shared table gives
 * transformers' logits; a tied head without scale_decoder_outputs (older
 * configs, t5-small) scales the decoder output by d_model^-0.5 first. */
static void
test_head_variants (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autoptr (SfTensor) ref = sf_test_fixture_tensor (CASE, "logits");
  g_autoptr (SfTensor) untied = NULL;
  g_autoptr (SfTensor) scaled = NULL;
  g_autofree double *want = NULL;
  gint64 n = sf_tensor_numel (ref);

  add_lm_head (dir);
  edit_config (
      dir, "\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false");
  untied = case_logits (dir);
  assert_close (sf_tensor_f32 (untied), sf_tensor_f32 (ref), n);

  edit_config (
      dir, "\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true");
  edit_config (dir, "\"scale_decoder_outputs\": false,", "");
  scaled = case_logits (dir);
  want = g_new (double, n);
  for (gint64 i = 0; i < n; i++)
    want[i] = sf_tensor_f32 (ref)[i] / sqrt (32.0);
  for (gint64 i = 0; i < n; i++)
    g_assert_cmpfloat_with_epsilon (
        sf_tensor_f32 (scaled)[i], want[i], ATOL + RTOL * fabs (want[i]));
  sf_test_remove_dir (dir);
}

/* T5EncoderModel: the same encoder output, and no decoder. */
static void
test_encoder_model (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *cfg = NULL;
  g_autofree char *edited = NULL;
  g_auto (GStrv) parts = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTensor) ref =
      sf_test_fixture_tensor (CASE, "encoder_last_hidden_state");
  g_autoptr (GError) error = NULL;
  SfTextInput in = { 0 };
  SfTextOutput out = { 0 };

  g_assert_true (g_file_get_contents (path, &cfg, NULL, NULL));
  parts = g_strsplit (cfg, "T5ForConditionalGeneration", -1);
  edited = g_strjoinv ("T5EncoderModel", parts);
  sf_test_write_file (dir, "config.json", edited);
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);

  in.input_ids = sf_test_fixture_tensor (CASE, "input_ids");
  in.attention_mask = sf_test_fixture_tensor (CASE, "attention_mask");
  g_assert_true (sf_model_forward_text (model, &in, TRUE, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (out.hidden_states->len, ==, 3);
  assert_close (sf_tensor_f32 (out.last_hidden_state), sf_tensor_f32 (ref),
      sf_tensor_numel (ref));
  g_assert_null (sf_model_decoder_new (model, in.input_ids, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  sf_test_remove_dir (dir);
}

static void
test_task_prefix (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *cfg = NULL;
  g_autofree char *edited = NULL;
  g_autoptr (SfModel) plain = load_model ();
  g_autoptr (SfModel) model = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_null (sf_t5_summarization_prefix (plain));
  g_assert_true (g_file_get_contents (path, &cfg, NULL, NULL));
  edited = g_strdup_printf ("{\"task_specific_params\": {\"summarization\": "
                            "{\"prefix\": \"summarize: \", \"num_beams\": 4}, "
                            "\"translation_en_to_de\": {\"prefix\": "
                            "\"translate English to German: \"}},%s",
      strchr (cfg, '{') + 1);
  sf_test_write_file (dir, "config.json", edited);
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sf_t5_summarization_prefix (model), ==, "summarize: ");
  g_assert_cmpstr (sf_t5_task_prefix (model, "translation_en_to_de"), ==,
      "translate English to German: ");
  g_assert_null (sf_t5_task_prefix (model, "translation_en_to_fr"));
  sf_test_remove_dir (dir);
}

/* config.json with @from replaced by @to must fail to load with @code and
 * an error naming every string of @want. */
static void
assert_edit_fails (
    const char *from, const char *to, gint code, const char *const *want)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *cfg = NULL;
  g_autofree char *edited = NULL;
  g_auto (GStrv) parts = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  g_assert_true (g_file_get_contents (path, &cfg, NULL, NULL));
  parts = g_strsplit (cfg, from, -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  edited = g_strjoinv (to, parts);
  sf_test_write_file (dir, "config.json", edited);
  model = sf_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, code);
  for (guint i = 0; want[i]; i++)
    if (strstr (error->message, want[i]) == NULL)
      g_error ("'%s' not in: %s", want[i], error->message);
  sf_test_remove_dir (dir);
}

static void
test_bad_configs (void)
{
  const char *heads[] = { "encoder.block.0.layer.0.SelfAttention.q.weight",
    "the config implies [48, 32]", NULL };
  const char *d_kv[] = { "config.json", "d_kv", NULL };
  const char *proj[] = { "config.json", "feed_forward_proj", NULL };
  const char *act[] = { "config.json", "feed_forward_proj", "'mish'", NULL };
  const char *relu[] = {
    "missing tensor 'encoder.block.0.layer.1.DenseReluDense.wi.weight'", NULL
  };
  const char *buckets[] = { "config.json", "relative_attention_num_buckets",
    NULL };
  const char *head[] = { "missing tensor 'lm_head.weight'", NULL };
  const char *start[] = { "config.json", "decoder_start_token_id", NULL };
  const char *layers[] = { "config.json", "num_decoder_layers", NULL };

  assert_edit_fails (
      "\"num_heads\": 2", "\"num_heads\": 3", SF_ERROR_SHAPE, heads);
  assert_edit_fails ("\"d_kv\": 16", "\"d_kv\": 0", SF_ERROR_INVALID, d_kv);
  assert_edit_fails (
      "\"gated-gelu\"", "\"gated-gelu-x\"", SF_ERROR_INVALID, proj);
  assert_edit_fails ("\"dense_act_fn\": \"gelu_new\"",
      "\"dense_act_fn\": \"mish\"", SF_ERROR_UNSUPPORTED, act);
  assert_edit_fails ("\"is_gated_act\": true", "\"is_gated_act\": false",
      SF_ERROR_SHAPE, relu);
  assert_edit_fails ("\"relative_attention_num_buckets\": 8",
      "\"relative_attention_num_buckets\": 2", SF_ERROR_INVALID, buckets);
  assert_edit_fails ("\"tie_word_embeddings\": true",
      "\"tie_word_embeddings\": false", SF_ERROR_SHAPE, head);
  assert_edit_fails ("\"decoder_start_token_id\": 0",
      "\"decoder_start_token_id\": 800", SF_ERROR_INVALID, start);
  assert_edit_fails ("\"num_decoder_layers\": 2", "\"num_decoder_layers\": 0",
      SF_ERROR_INVALID, layers);
}

static SfTensor *
drop_bias (const char *name, SfTensor *t, gpointer user_data)
{
  if (strcmp (name,
          "encoder.block.0.layer.0.SelfAttention."
          "relative_attention_bias.weight")
      == 0)
    return NULL;
  if (strcmp (name, "shared.weight") == 0)
    return sf_tensor_new_f32 (2, (gint64)800, (gint64)16);
  return sf_tensor_ref (t);
}

static void
test_bad_weights (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  sf_test_rewrite_safetensors (dir, "model.safetensors", drop_bias, NULL);
  model = sf_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message,
      "missing tensor "
      "'encoder.block.0.layer.0.SelfAttention.relative_attention_bias."
      "weight'"));
  g_assert_nonnull (strstr (error->message,
      "tensor 'shared.weight' has shape [800, 16], the config implies "
      "[800, 32]"));
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/graphs/t5/decoder/rows-reorder", test_incremental_rows_reorder);
  g_test_add_func ("/graphs/t5/decoder/multi-token", test_multi_token_step);
  g_test_add_func ("/graphs/t5/decoder/cache-growth", test_cache_growth);
  g_test_add_func ("/graphs/t5/head", test_head_variants);
  g_test_add_func ("/graphs/t5/encoder-model", test_encoder_model);
  g_test_add_func ("/graphs/t5/task-prefix", test_task_prefix);
  g_test_add_func ("/graphs/t5/errors/config", test_bad_configs);
  g_test_add_func ("/graphs/t5/errors/weights", test_bad_weights);
  return g_test_run ();
}
