/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer verify CASE_DIR [--dump OUT]: runs a reference case and
 * compares every output it defines; exit 0 iff all pass. */
#include "samples/cli/commands.h"
#include "samples/cli/verify.h"
#include "samples/cli/precision-arg.h"
#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* Below f32, the tolerance on model outputs, as a fraction of the largest
 * reference magnitude of each output (README, "Precision"). */
#define SF_VERIFY_BF16_SCALE_TOL 0.03
#define SF_VERIFY_INT8_SCALE_TOL 0.06
/* and on fractions of differing labels (segmentation maps) */
#define SF_VERIFY_BF16_FRACTION_TOL 0.01
#define SF_VERIFY_INT8_FRACTION_TOL 0.02

/* io.safetensors tensors that are inputs, compared only when computed. */
static const char *const case_inputs[] = { "dummy", NULL };

static gboolean
run_case (SfVerify *v, const char *dump, GError **error)
{
  const char *kind = NULL, *model_class = NULL;

  if (!sf_config_string (v->case_json, "kind", &kind, error))
    return FALSE;
  if (strcmp (kind, "tokenizer") == 0) {
    if (dump && !g_str_has_suffix (dump, ".json")) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "--dump for a tokenizer case writes JSON: name it OUT.json");
      return FALSE;
    }
    return sf_verify_tokenizer_case (v, dump, error);
  }
  if (!sf_config_string (v->case_json, "model_class", &model_class, error))
    return FALSE;
  if (g_str_has_prefix (model_class, "Bert")
      || g_str_has_prefix (model_class, "DistilBert")
      || g_str_has_suffix (model_class, "BartForSequenceClassification")
      || g_str_has_prefix (model_class, "Roberta")
      || g_str_has_prefix (model_class, "XLMRoberta"))
    return sf_verify_text_model_case (v, error);
  if (g_str_has_prefix (model_class, "ViT")
      || g_str_has_prefix (model_class, "Segformer"))
    return sf_verify_image_model_case (v, error);
  if (g_str_has_prefix (model_class, "AST")
      || g_str_has_prefix (model_class, "Wav2Vec2"))
    return sf_verify_audio_model_case (v, error);
  if (g_str_has_prefix (model_class, "CLIP"))
    return sf_verify_clip_case (v, error);
  if (g_str_has_prefix (model_class, "Whisper"))
    return sf_verify_whisper_case (v, error);
  if (g_str_has_prefix (model_class, "GPT2"))
    return sf_verify_causal_lm_case (v, error);
  if (g_str_has_prefix (model_class, "Bart")
      || g_str_has_prefix (model_class, "MBart"))
    return sf_verify_bart_case (v, error);
  if (g_str_has_prefix (model_class, "T5")
      || g_str_has_prefix (model_class, "MT5"))
    return sf_verify_t5_case (v, error);
  g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
      "%s: model_class '%s' has no verifier yet",
      sf_config_origin (v->case_json), model_class);
  return FALSE;
}

static gboolean
write_dump (SfVerify *v, const char *dump, GError **error)
{
  return sf_safetensors_write (dump, v->dump_names->len,
      (const char *const *)v->dump_names->pdata,
      (SfTensor *const *)v->dump_tensors->pdata, error);
}

static gboolean
read_tolerance (SfVerify *v, GError **error)
{
  const cJSON *tol = sf_config_get (v->case_json, "tolerance");
  const cJSON *atol = cJSON_GetObjectItem (tol, "atol");
  const cJSON *rtol = cJSON_GetObjectItem (tol, "rtol");

  v->atol = 1e-4;
  v->rtol = 1e-3;
  if (tol == NULL)
    return TRUE;
  if (!cJSON_IsNumber (atol) || !cJSON_IsNumber (rtol)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'tolerance' must hold numbers atol and rtol",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  v->atol = atol->valuedouble;
  v->rtol = rtol->valuedouble;
  return TRUE;
}

int
sf_cmd_verify (int argc, char **argv)
{
  char *dump = NULL;
  g_autofree char *precision_arg = NULL;
  GOptionEntry entries[] = {
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_arg,
        SF_CLI_PRECISION_HELP
        "; below f32 a model output may also differ by "
        "0.03 (bf16) or 0.06 (int8) times its largest reference magnitude, "
        "and label maps in 1% or 2% of their pixels",
        "P" },
    { "dump", 0, 0, G_OPTION_ARG_FILENAME, &dump,
        "Write every computed output (OUT.safetensors; OUT.json for "
        "tokenizer cases)",
        "OUT" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("CASE_DIR");
  GError *error = NULL;
  char *case_path = NULL, *io_path = NULL;
  SfVerify v = { 0 };
  int rc = 2;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
      "Runs a reference case and prints "
      "`NAME max_abs_err=E tol=T PASS|FAIL` per output, then `N passed, M "
      "failed`.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2) {
    fprintf (stderr, "%s\n",
        error ? error->message
              : "usage: streamformer verify CASE_DIR [--dump OUT]");
    g_clear_error (&error);
    g_option_context_free (ctx);
    g_free (dump);
    return 2;
  }
  if (!sf_cli_precision ("verify", precision_arg, &v.precision)) {
    g_option_context_free (ctx);
    g_free (dump);
    return 2;
  }
  v.scale_tol = v.precision == SF_PRECISION_BF16 ? SF_VERIFY_BF16_SCALE_TOL
      : v.precision == SF_PRECISION_INT8         ? SF_VERIFY_INT8_SCALE_TOL
                                                 : 0.0;
  v.fraction_tol = v.precision == SF_PRECISION_BF16
      ? SF_VERIFY_BF16_FRACTION_TOL
      : v.precision == SF_PRECISION_INT8 ? SF_VERIFY_INT8_FRACTION_TOL
                                         : 0.0;
  v.dir = argv[1];
  v.compared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  v.dump_names = g_ptr_array_new_with_free_func (g_free);
  v.dump_tensors =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  case_path = g_build_filename (v.dir, "case.json", NULL);
  io_path = g_build_filename (v.dir, "io.safetensors", NULL);

  rc = 1;
  v.case_json = sf_config_load (case_path, &error);
  if (v.case_json == NULL || !read_tolerance (&v, &error))
    goto out;
  if (g_file_test (io_path, G_FILE_TEST_EXISTS)
      && (v.io = sf_safetensors_open (io_path, &error)) == NULL)
    goto out;
  printf ("# %s: |err| <= atol + rtol*|ref| per element, atol=%g rtol=%g\n",
      v.dir, v.atol, v.rtol);
  if (v.precision != SF_PRECISION_F32)
    printf ("# precision %s: model outputs may also differ by %g * max|ref|, "
            "label maps in a fraction %g of their pixels\n",
        sf_precision_name (v.precision), v.scale_tol, v.fraction_tol);
  if (!run_case (&v, dump, &error))
    goto out;
  sf_verify_check_all_compared (&v, case_inputs);
  if (dump && !g_str_has_suffix (dump, ".json")
      && !write_dump (&v, dump, &error))
    goto out;
  printf ("%u passed, %u failed\n", v.passed, v.failed);
  rc = v.failed == 0 && v.passed > 0 ? 0 : 1;

out:
  if (error)
    fprintf (stderr, "streamformer verify: %s\n", error->message);
  sf_config_free (v.case_json);
  sf_safetensors_unref (v.io);
  g_hash_table_unref (v.compared);
  g_ptr_array_unref (v.dump_names);
  g_ptr_array_unref (v.dump_tensors);
  g_free (dump);
  g_free (io_path);
  g_free (case_path);
  g_clear_error (&error);
  g_option_context_free (ctx);
  return rc;
}
