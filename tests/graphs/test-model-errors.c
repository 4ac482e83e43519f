/* Loading a broken checkpoint must give one clear error that names the
 * file and what is wrong, never a crash. */
#include "graphs/model.h"
#include "core/error.h"
#include "tests/common/test-util.h"

#include <glib/gstdio.h>
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
  return g_test_run ();
}
