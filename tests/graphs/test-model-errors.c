/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Loading a broken checkpoint must give one clear error that names the
 * file and what is wrong, never a crash. */
#include "graphs/model.h"
#include "core/error.h"
#include "graphs/task.h"
#include "tests/common/test-util.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static void
assert_load_fails (const char *dir, int code, const char *const *fragments)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);

  g_assert_null (model);
  g_assert_nonnull (error);
  if (error->domain != SF_ERROR || error->code != code)
    g_error ("unexpected error %d: %s", error->code, error->message);
  for (guint i = 0; fragments[i]; i++)
    if (strstr (error->message, fragments[i]) == NULL)
      g_error ("'%s' not in: %s", fragments[i], error->message);
}

static SfTensor *
drop_and_reshape (const char *name, SfTensor *t, gpointer user_data)
{
  if (g_str_equal (name, "bert.encoder.layer.1.attention.self.key.bias"))
    return NULL;
  if (g_str_equal (name, "bert.pooler.dense.weight"))
    return sf_tensor_new_f32 (2, (gint64)64, (gint64)32);
  return sf_tensor_copy (t);
}

static void
test_missing_and_misshaped (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  const char *want[] = { "2 weights",
    "missing tensor 'bert.encoder.layer.1.attention.self.key.bias'",
    "tensor 'bert.pooler.dense.weight' has shape [64, 32], the config implies "
    "[64, 64]",
    NULL };

  sf_test_rewrite_safetensors (
      dir, "model.safetensors", drop_and_reshape, NULL);
  assert_load_fails (dir, SF_ERROR_SHAPE, want);
  sf_test_remove_dir (dir);
}

/* A text task on a folder without tokenizer files names the files. */
static void
test_no_tokenizer (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  g_autofree char *json = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *vocab = g_build_filename (dir, "vocab.txt", NULL);
  SfTaskOptions options = SF_TASK_OPTIONS_INIT (SF_MODALITY_TEXT);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTask) task = NULL;

  g_unlink (json);
  g_unlink (vocab);
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  task = sf_task_new (model, &options, &error);
  g_assert_null (task);
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  if (strstr (error->message, "is not a text model with a tokenizer") == NULL
      || strstr (error->message,
             "missing: tokenizer.json, vocab.txt, vocab.json, merges.txt")
          == NULL)
    g_error ("unexpected: %s", error->message);
  sf_test_remove_dir (dir);
}

static void
test_invalid_config (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  const char *want[] = { "config.json", "invalid JSON", NULL };

  sf_test_write_file (dir, "config.json", "{\"model_type\": \"bert\",");
  assert_load_fails (dir, SF_ERROR_PARSE, want);
  sf_test_remove_dir (dir);
}

static void
test_wrong_field_type (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  const char *want[] = { "config.json", "hidden_size", NULL };

  sf_test_write_file (dir, "config.json",
      "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], "
      "\"hidden_size\": \"64\"}");
  assert_load_fails (dir, SF_ERROR_INVALID, want);
  sf_test_remove_dir (dir);
}

static void
test_unknown_architecture (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  g_autofree char *cfg_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *cfg = NULL;
  g_autofree char *edited = NULL;
  g_auto (GStrv) parts = NULL;
  const char *want[] = { "config.json", "BertForQuestionAnswering",
    "BertForSequenceClassification", NULL };
  const char *want_type[] = { "config.json", "'llama'", "bert", NULL };

  g_assert_true (g_file_get_contents (cfg_path, &cfg, NULL, NULL));
  parts = g_strsplit (cfg, "BertForSequenceClassification", -1);
  edited = g_strjoinv ("BertForQuestionAnswering", parts);
  sf_test_write_file (dir, "config.json", edited);
  assert_load_fails (dir, SF_ERROR_UNSUPPORTED, want);

  sf_test_write_file (dir, "config.json",
      "{\"model_type\": \"llama\", \"architectures\": [\"LlamaForCausalLM\"]}");
  assert_load_fails (dir, SF_ERROR_UNSUPPORTED, want_type);
  sf_test_remove_dir (dir);
}

static void
test_truncated_weights (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("distilbert-tiny-cls");
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree char *data = NULL;
  gsize len;
  const char *want[] = { "model.safetensors", "past the end", NULL };

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_true (g_file_set_contents (path, data, len - 100, NULL));
  assert_load_fails (dir, SF_ERROR_INVALID, want);
  sf_test_remove_dir (dir);
}

static void
test_missing_weights_file (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("distilbert-tiny-cls");
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  const char *want[] = { "model.safetensors", NULL };

  g_assert_cmpint (g_remove (path), ==, 0);
  assert_load_fails (dir, SF_ERROR_MISSING, want);
  sf_test_remove_dir (dir);
}

static void
test_inconsistent_sizes (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  const char *want[] = { "config.json", "num_attention_heads", NULL };

  sf_test_write_file (dir, "config.json",
      "{\"model_type\": \"bert\", \"architectures\": [\"BertModel\"], "
      "\"hidden_size\": 64, \"intermediate_size\": 128, \"vocab_size\": 1200,"
      "\"num_hidden_layers\": 2, \"num_attention_heads\": 5, "
      "\"max_position_embeddings\": 128}");
  assert_load_fails (dir, SF_ERROR_INVALID, want);
  sf_test_remove_dir (dir);
}

/* Sets the number at @key (top level, or "object/key") of @dir/@file. */
static void
edit_json_number (
    const char *dir, const char *file, const char *key, double value)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  g_auto (GStrv) parts = g_strsplit (key, "/", 2);
  cJSON *root, *node;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  root = cJSON_Parse (text);
  g_assert_nonnull (root);
  node = root;
  if (parts[1]) {
    node = cJSON_GetObjectItemCaseSensitive (root, parts[0]);
    g_assert_nonnull (node);
  }
  cJSON_DeleteItemFromObjectCaseSensitive (node, parts[1] ? parts[1] : key);
  cJSON_AddNumberToObject (node, parts[1] ? parts[1] : key, value);
  out = cJSON_Print (root);
  cJSON_Delete (root);
  g_assert_true (g_file_set_contents (path, out, -1, NULL));
}

/* A negative epsilon used to reach the LayerNorm op, which refused it with
 * a critical and left the activations un-normalised: scores came out with
 * success. It must be refused at load, naming the file and the field. */
static void
test_negative_eps (void)
{
  const struct
  {
    const char *fixture, *key;
  } cases[] = {
    { "bert-tiny-cls", "layer_norm_eps" },
    { "vit-tiny-cls", "layer_norm_eps" },
    { "ast-tiny-cls", "layer_norm_eps" },
    { "wav2vec2-tiny-ctc", "layer_norm_eps" },
    { "clip-tiny", "text_config/layer_norm_eps" },
    { "clip-tiny", "vision_config/layer_norm_eps" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *dir = sf_test_copy_fixture (cases[i].fixture);
    const char *field = strrchr (cases[i].key, '/');
    const char *want[] = { "config.json", field ? field + 1 : cases[i].key,
      NULL };

    edit_json_number (dir, "config.json", cases[i].key, -1e-5);
    assert_load_fails (dir, SF_ERROR_INVALID, want);
    sf_test_remove_dir (dir);
  }
}

/* chunk_length · sampling_rate was computed before the front-end's range
 * check: a signed overflow (UBSan) for a huge chunk_length. */
static void
test_whisper_huge_chunk (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("whisper-tiny-asr");
  const char *want[] = { "preprocessor_config.json", "chunk_length", NULL };

  edit_json_number (dir, "preprocessor_config.json", "chunk_length", 9e15);
  assert_load_fails (dir, SF_ERROR_INVALID, want);
  sf_test_remove_dir (dir);
}

/* AST multiplied its patch grid sides, each derived from a config field
 * of up to 9e15, before any range check. */
static void
test_ast_huge_grid (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("ast-tiny-cls");
  const char *want[] = { "config.json", "max_length", NULL };

  edit_json_number (dir, "config.json", "num_mel_bins", 4e12);
  edit_json_number (dir, "config.json", "max_length", 4e12);
  assert_load_fails (dir, SF_ERROR_INVALID, want);
  sf_test_remove_dir (dir);
}

static SfTensor *
poison_one (const char *name, SfTensor *t, gpointer user_data)
{
  SfTensor *copy = sf_tensor_copy (t);

  if (g_str_equal (name, user_data))
    sf_tensor_f32 (copy)[3] = NAN;
  return copy;
}

/* A NaN weight used to load: the masked softmax took the all-NaN rows for
 * "no visible key" and the scores looked normal. Loading must refuse it,
 * naming the file and the tensor. */
static void
test_nonfinite_weight (void)
{
  const char *tensor = "bert.encoder.layer.1.attention.self.query.weight";
  g_autofree char *dir = sf_test_copy_fixture ("bert-tiny-cls");
  const char *want[] = { "model.safetensors", tensor, "NaN or infinite", NULL };

  sf_test_rewrite_safetensors (
      dir, "model.safetensors", poison_one, (gpointer)tensor);
  assert_load_fails (dir, SF_ERROR_INVALID, want);
  sf_test_remove_dir (dir);
}

static void
test_not_a_folder (void)
{
  const char *want[] = { "/nonexistent/model", NULL };
  assert_load_fails ("/nonexistent/model", SF_ERROR_MISSING, want);
}

/* Without BLAS no model can run: the load fails and names the library it
 * tried, instead of every product failing later. */
static void
test_no_blas (void)
{
  if (g_test_subprocess ()) {
    g_autofree char *dir = sf_test_fixture ("bert-tiny-cls");
    const char *want[] = { "BLAS", "libsf-no-such-blas.so.0", NULL };

    /* Set before the first BLAS call of this process. */
    g_setenv ("SF_BLAS_LIBRARY", "libsf-no-such-blas.so.0", TRUE);
    assert_load_fails (dir, SF_ERROR_IO, want);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/graphs/errors/missing-and-misshaped", test_missing_and_misshaped);
  g_test_add_func ("/graphs/errors/invalid-config", test_invalid_config);
  g_test_add_func ("/graphs/errors/no-tokenizer", test_no_tokenizer);
  g_test_add_func ("/graphs/errors/wrong-field-type", test_wrong_field_type);
  g_test_add_func (
      "/graphs/errors/unknown-architecture", test_unknown_architecture);
  g_test_add_func ("/graphs/errors/truncated-weights", test_truncated_weights);
  g_test_add_func (
      "/graphs/errors/missing-weights-file", test_missing_weights_file);
  g_test_add_func (
      "/graphs/errors/inconsistent-sizes", test_inconsistent_sizes);
  g_test_add_func ("/graphs/errors/not-a-folder", test_not_a_folder);
  g_test_add_func ("/graphs/errors/no-blas", test_no_blas);
  g_test_add_func ("/graphs/errors/negative-eps", test_negative_eps);
  g_test_add_func (
      "/graphs/errors/whisper-huge-chunk", test_whisper_huge_chunk);
  g_test_add_func ("/graphs/errors/ast-huge-grid", test_ast_huge_grid);
  g_test_add_func ("/graphs/errors/nonfinite-weight", test_nonfinite_weight);
  return g_test_run ();
}
