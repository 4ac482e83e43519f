/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the AST and wav2vec2 graphs and CTC decoding beyond what
 * `streamformer verify` covers: the newer spelling of the weight-normed
 * positional kernel, checkpoints whose front-end disagrees with the model,
 * audio too short for the feature encoder, and CTC words with frames.
 * Expected numbers come from the reference cases' io.safetensors. */
#include "graphs/post/ctc.h"
#include "graphs/model.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "tests/common/test-util.h"

#include <math.h>
#include <string.h>

/* Logits [1, T, V] of @model for io.safetensors' audio.@clip. */
static SfTensor *
run_clip (SfModel *model, SfSafetensors *io, const char *clip)
{
  g_autofree char *name = g_strconcat ("audio.", clip, NULL);
  g_autoptr (SfTensor) audio = sf_safetensors_get (io, name);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTensor) f = NULL, batch = NULL;
  SfAudioInput in;
  SfAudioOutput out;
  SfTensor *logits;

  f = sf_audio_frontend_apply (sf_model_audio_frontend (model),
      sf_tensor_f32 (audio), sf_tensor_numel (audio), &error);
  g_assert_no_error (error);
  batch = sf_tensor_reshape (f, 2, (gint64[]){ 1, sf_tensor_numel (f) });
  in.features = batch;
  g_assert_true (sf_model_forward_audio (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  logits = sf_tensor_ref (out.logits);
  sf_audio_output_clear (&out);
  return logits;
}

/* torch.nn.utils.parametrizations.weight_norm saves g and v as
 * original0 / original1: the same model must come out. */
static void
test_wav2vec2_parametrized_names (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("wav2vec2-tiny-ctc");
  g_autofree char *io_path = NULL;
  g_autoptr (SfSafetensors) io = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTensor) logits = NULL, ref = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *src = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (SfSafetensors) st = sf_safetensors_open (src, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  double max_err = 0.0;

  g_assert_no_error (error);
  for (guint i = 0; i < sf_safetensors_n_tensors (st); i++) {
    const char *name = sf_safetensors_name (st, i);
    g_autofree char *renamed = g_strdup (name);
    if (g_str_has_suffix (name, "pos_conv_embed.conv.weight_g")) {
      g_free (renamed);
      renamed = g_strdup ("wav2vec2.encoder.pos_conv_embed.conv."
                          "parametrizations.weight.original0");
    } else if (g_str_has_suffix (name, "pos_conv_embed.conv.weight_v")) {
      g_free (renamed);
      renamed = g_strdup ("wav2vec2.encoder.pos_conv_embed.conv."
                          "parametrizations.weight.original1");
    }
    g_autoptr (SfTensor) t = sf_safetensors_get (st, name);
    g_ptr_array_add (names, g_steal_pointer (&renamed));
    /* copies: the file is rewritten while it is still mapped */
    g_ptr_array_add (tensors, sf_tensor_copy (t));
  }
  g_clear_pointer (&st, sf_safetensors_unref);
  g_assert_true (
      sf_safetensors_write (src, names->len, (const char *const *)names->pdata,
          (SfTensor *const *)tensors->pdata, &error));
  g_assert_no_error (error);

  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  io_path = g_build_filename (dir, "io.safetensors", NULL);
  io = sf_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  logits = run_clip (model, io, "speech1");
  ref = sf_safetensors_get (io, "logits.speech1");
  g_assert_cmpint (sf_tensor_numel (logits), ==, sf_tensor_numel (ref));
  for (gint64 i = 0; i < sf_tensor_numel (ref); i++)
    max_err = MAX (
        max_err, fabs (sf_tensor_f32 (logits)[i] - sf_tensor_f32 (ref)[i]));
  g_assert_cmpfloat (max_err, <, 2e-4);
  sf_test_remove_dir (dir);
}

static void
test_wav2vec2_too_short (void)
{
  g_autofree char *dir = sf_test_fixture ("wav2vec2-tiny-ctc");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) wave = sf_tensor_new_f32 (2, (gint64)1, (gint64)200);
  SfAudioInput in = { .features = wave };
  SfAudioOutput out;

  g_assert_no_error (error);
  g_assert_false (sf_model_forward_audio (model, &in, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "too few"));
  g_assert_null (out.logits);
}

/* A preprocessor_config.json whose num_mel_bins is not the model's. */
static void
test_ast_mel_mismatch (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("ast-tiny-cls");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  sf_test_write_file (dir, "preprocessor_config.json",
      "{\"feature_extractor_type\": \"ASTFeatureExtractor\", "
      "\"num_mel_bins\": 128, \"max_length\": 100}");
  model = sf_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "num_mel_bins"));
  g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
  sf_test_remove_dir (dir);
}

/* AST features of the wrong shape are an error, not a crash. */
static void
test_ast_wrong_features (void)
{
  g_autofree char *dir = sf_test_fixture ("ast-tiny-cls");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfTensor) f =
      sf_tensor_new_f32 (3, (gint64)1, (gint64)50, (gint64)64);
  SfAudioInput in = { .features = f };
  SfAudioOutput out;

  g_assert_no_error (error);
  g_assert_true (sf_model_has_classifier (model));
  g_assert_cmpint (sf_model_problem_type (model), ==, SF_PROBLEM_MULTI_LABEL);
  g_assert_false (sf_model_forward_audio (model, &in, FALSE, &out, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_SHAPE);
}

/* Words keep their frames; collapse happens before specials are dropped. */
static void
test_ctc_words (void)
{
  g_autofree char *dir = sf_test_fixture ("wav2vec2-tiny-ctc");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfCtcDecoder) ctc = sf_ctc_decoder_new (model, &error);
  /* vocab.json: <pad> 0, </s> 2, <unk> 3, | 4, E 5, T 6, A 7 */
  const gint64 ids[] = { 0, 6, 6, 3, 6, 0, 4, 4, 0, 7, 0, 7, 5, 2, 4, 0 };
  g_autoptr (GArray) words = NULL;
  g_autofree char *text = NULL;
  SfCtcWord *w;

  g_assert_no_error (error);
  text = sf_ctc_decoder_decode (ctc, ids, G_N_ELEMENTS (ids), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, "TT AAE");
  words = sf_ctc_decoder_words (ctc, ids, G_N_ELEMENTS (ids), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (words->len, ==, 2);
  w = &g_array_index (words, SfCtcWord, 0);
  g_assert_cmpstr (w->text, ==, "TT");
  g_assert_cmpint (w->start_frame, ==, 1);
  g_assert_cmpint (w->end_frame, ==, 5);
  w = &g_array_index (words, SfCtcWord, 1);
  g_assert_cmpstr (w->text, ==, "AAE");
  g_assert_cmpint (w->start_frame, ==, 9);
  g_assert_cmpint (w->end_frame, ==, 13);

  g_assert_null (sf_ctc_decoder_decode (ctc, (gint64[]){ 99 }, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/graphs/wav2vec2/parametrized-names", test_wav2vec2_parametrized_names);
  g_test_add_func ("/graphs/wav2vec2/too-short", test_wav2vec2_too_short);
  g_test_add_func ("/graphs/ast/mel-mismatch", test_ast_mel_mismatch);
  g_test_add_func ("/graphs/ast/wrong-features", test_ast_wrong_features);
  g_test_add_func ("/graphs/ctc/words", test_ctc_words);
  return g_test_run ();
}
