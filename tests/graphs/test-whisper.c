/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whisper: the decoder's KV cache against transformers' teacher-forced
 * logits, generation limits, and broken checkpoints. */
#include "graphs/families/whisper.h"
#include "core/error.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"

#include <math.h>
#include <string.h>

static SfSafetensors *
open_io (void)
{
  g_autofree char *dir = sf_test_fixture ("whisper-tiny-asr");
  g_autofree char *path = g_build_filename (dir, "io.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  SfSafetensors *io = sf_safetensors_open (path, &error);

  g_assert_no_error (error);
  return io;
}

static SfModel *
load_model (void)
{
  SfModel *model = sf_test_load_case ("whisper-tiny-asr");

  g_assert_true (sf_whisper_check (model));
  return model;
}

/* Feeding decoder_input_ids one token at a time through the cache gives
 * the logits transformers computed on the whole sequence at once. */
static void
test_cache_matches_reference (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfSafetensors) io = open_io ();
  g_autoptr (SfTensor) enc_all =
      sf_safetensors_get (io, "encoder_last_hidden_state");
  g_autoptr (SfTensor) ids = sf_safetensors_get (io, "decoder_input_ids");
  g_autoptr (SfTensor) ref = sf_safetensors_get (io, "logits");
  g_autoptr (SfTensor) enc = sf_tensor_slice0 (enc_all, 0, 1);
  g_autoptr (SfWhisperState) st = NULL;
  g_autoptr (GError) error = NULL;
  gint64 t = ids->shape[1], vocab = ref->shape[2];

  st = sf_whisper_state_new (model, enc, t, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < t; i++) {
    g_autoptr (SfTensor) logits = sf_whisper_state_step (
        st, sf_tensor_i64 (ids) + i, 1, FALSE, NULL, &error);
    const float *r = sf_tensor_f32 (ref) + i * vocab;
    g_assert_no_error (error);
    g_assert_cmpint (sf_tensor_dim (logits, -1), ==, vocab);
    for (gint64 k = 0; k < vocab; k++)
      g_assert_cmpfloat_with_epsilon (
          sf_tensor_f32 (logits)[k], r[k], 2e-4 + 1e-3 * fabsf (r[k]));
  }
  g_assert_cmpint (sf_whisper_state_length (st), ==, t);

  /* the cache is full: one more token is an error, not a crash */
  {
    gint64 one = 7;
    g_autoptr (SfTensor) none =
        sf_whisper_state_step (st, &one, 1, FALSE, NULL, &error);
    g_assert_null (none);
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  }
}

/* Generation starts with the config's prompt, respects max_new_tokens and
 * refuses timestamps the vocabulary does not have. */
static void
test_generate_limits (void)
{
  g_autoptr (SfModel) model = load_model ();
  g_autoptr (SfSafetensors) io = open_io ();
  g_autoptr (SfTensor) enc_all =
      sf_safetensors_get (io, "encoder_last_hidden_state");
  g_autoptr (SfTensor) enc = sf_tensor_slice0 (enc_all, 1, 1);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GError) error = NULL;
  SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
  const gint64 prompt[] = { 1, 2, 3, 6 }; /* case.json decoder_prefix */

  opts.max_new_tokens = 3;
  g_assert_true (sf_whisper_generate (model, enc, &opts, ids, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ids->len, <=, 4 + 3);
  g_assert_cmpmem (ids->data, 4 * sizeof (gint64), prompt, sizeof (prompt));

  g_assert_false (sf_whisper_has_timestamps (model));
  opts.timestamps = TRUE;
  g_assert_false (sf_whisper_generate (model, enc, &opts, ids, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  opts.timestamps = FALSE;
  opts.language = "xx";
  g_assert_false (sf_whisper_generate (model, enc, &opts, ids, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

static void
test_mel_bins_mismatch (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("whisper-tiny-asr");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  sf_test_write_file (dir, "preprocessor_config.json",
      "{\"feature_extractor_type\": \"WhisperFeatureExtractor\", "
      "\"feature_size\": 128, \"sampling_rate\": 16000, \"hop_length\": 160, "
      "\"n_fft\": 400, \"chunk_length\": 30}");
  model = sf_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
  g_assert_nonnull (strstr (error->message, "num_mel_bins"));
  sf_test_remove_dir (dir);
}

static void
test_bad_generation_config (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("whisper-tiny-asr");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;

  sf_test_write_file (dir, "generation_config.json",
      "{\"decoder_start_token_id\": 1, \"eos_token_id\": 0, "
      "\"forced_decoder_ids\": [[1, \"en\"]]}");
  model = sf_model_load (dir, &error);
  g_assert_null (model);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "forced_decoder_ids"));
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/graphs/whisper/decoder/cache", test_cache_matches_reference);
  g_test_add_func ("/graphs/whisper/generate/limits", test_generate_limits);
  g_test_add_func ("/graphs/whisper/errors/mel-bins", test_mel_bins_mismatch);
  g_test_add_func (
      "/graphs/whisper/errors/generation-config", test_bad_generation_config);
  return g_test_run ();
}
