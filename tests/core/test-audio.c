/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/fft and core/audio.
 *
 * The FFT is checked against a naive double-precision DFT, over power-of-
 * two and odd lengths. The front-ends are checked against the features
 * transformers computed for the reference cases (input_values.K from
 * audio.K in io.safetensors), and against bad configs and input.
 */
#include "core/audio/audio.h"
#include "core/error.h"
#include "core/audio/fft.h"
#include "core/io/safetensors.h"
#include "tests/common/test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* FFT */

static void
check_fft_length (int n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfFft) fft = sf_fft_new (n, &error);
  g_autoptr (GRand) rand = g_rand_new_with_seed (n);
  g_autofree float *x = g_new (float, n);
  g_autofree float *power = g_new (float, n / 2 + 1);
  g_autofree float *mag = g_new (float, n / 2 + 1);
  double max_rel = 0.0;

  g_assert_no_error (error);
  g_assert_cmpint (sf_fft_size (fft), ==, n);
  for (int i = 0; i < n; i++)
    x[i] = (float)g_rand_double_range (rand, -1.0, 1.0);
  sf_fft_power (fft, x, power);
  sf_fft_magnitude (fft, x, mag);
  for (int k = 0; k <= n / 2; k++) {
    double re = 0.0, im = 0.0, p, scale = sqrt ((double)n);
    for (int i = 0; i < n; i++) {
      double a = -2.0 * G_PI * (double)k * i / n;
      re += x[i] * cos (a);
      im += x[i] * sin (a);
    }
    p = re * re + im * im;
    /* errors relative to the typical bin magnitude, √n for this input */
    max_rel = MAX (max_rel, fabs (power[k] - p) / (scale * scale));
    max_rel = MAX (max_rel, fabs (mag[k] - sqrt (p)) / scale);
  }
  if (max_rel > 1e-5)
    g_error ("FFT of length %d: relative error %g", n, max_rel);
}

static void
test_fft_power_of_two (void)
{
  for (int n = 1; n <= 1024; n *= 2)
    check_fft_length (n);
}

static void
test_fft_any_length (void)
{
  static const int lengths[] = { 3, 5, 12, 100, 400, 480 };
  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    check_fft_length (lengths[i]);
}

static void
test_fft_bad_length (void)
{
  g_autoptr (GError) error = NULL;
  SfFft *fft = sf_fft_new (0, &error);

  g_assert_null (fft);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

/* ------------------------------------------------------------------ */
/* Front-ends against the reference features */

/* Applies the case's front-end to audio.@clip and compares with
 * input_values.@clip within @tol (max abs). */
static void
check_reference (const char *case_name, SfAudioFrontendKind kind,
    const char *clip, double tol)
{
  g_autofree char *dir = sf_test_fixture (case_name);
  g_autofree char *pp =
      g_build_filename (dir, "preprocessor_config.json", NULL);
  g_autofree char *io_path = g_build_filename (dir, "io.safetensors", NULL);
  g_autofree char *audio_name = g_strconcat ("audio.", clip, NULL);
  g_autofree char *ref_name = g_strconcat ("input_values.", clip, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfAudioFrontend) fe = sf_audio_frontend_load (pp, kind, &error);
  g_autoptr (SfSafetensors) io = sf_safetensors_open (io_path, &error);
  g_autoptr (SfTensor) audio = NULL, ref = NULL, got = NULL;
  double max_err = 0.0;

  g_assert_no_error (error);
  g_assert_cmpint (sf_audio_frontend_kind (fe), ==, kind);
  g_assert_cmpint (sf_audio_frontend_sample_rate (fe), ==, 16000);
  audio = sf_safetensors_get (io, audio_name);
  ref = sf_safetensors_get (io, ref_name);
  g_assert_nonnull (audio);
  g_assert_nonnull (ref);
  got = sf_audio_frontend_apply (
      fe, sf_tensor_f32 (audio), sf_tensor_numel (audio), &error);
  g_assert_no_error (error);
  g_assert_true (sf_tensor_same_shape (got, ref));
  for (gint64 i = 0; i < sf_tensor_numel (ref); i++)
    max_err =
        MAX (max_err, fabs (sf_tensor_f32 (got)[i] - sf_tensor_f32 (ref)[i]));
  g_test_message ("%s %s: max abs error %g", case_name, clip, max_err);
  if (!(max_err <= tol))
    g_error ("%s %s: max abs error %g > %g", case_name, clip, max_err, tol);
}

static void
test_fbank_reference (void)
{
  check_reference (
      "ast-tiny-cls", SF_AUDIO_FRONTEND_KALDI_FBANK, "speech1", 1e-3);
  check_reference (
      "ast-tiny-cls", SF_AUDIO_FRONTEND_KALDI_FBANK, "speech3", 1e-3);
}

static void
test_waveform_reference (void)
{
  check_reference (
      "wav2vec2-tiny-ctc", SF_AUDIO_FRONTEND_WAVEFORM, "speech1", 1e-4);
  check_reference (
      "wav2vec2-tiny-ctc", SF_AUDIO_FRONTEND_WAVEFORM, "speech4", 1e-4);
}

/* ------------------------------------------------------------------ */
/* Bad input */

static SfAudioFrontend *
load_from_string (const char *json, SfAudioFrontendKind kind, GError **error)
{
  g_autofree char *dir = g_dir_make_tmp ("sf-audio-XXXXXX", NULL);
  g_autofree char *path =
      g_build_filename (dir, "preprocessor_config.json", NULL);
  SfAudioFrontend *fe;

  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  fe = sf_audio_frontend_load (path, kind, error);
  g_unlink (path);
  g_rmdir (dir);
  return fe;
}

static void
test_bad_config (void)
{
  g_autoptr (GError) error = NULL;
  SfAudioFrontend *fe;

  fe = load_from_string (
      "{\"num_mel_bins\": 0}", SF_AUDIO_FRONTEND_KALDI_FBANK, &error);
  g_assert_null (fe);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "num_mel_bins"));
  g_clear_error (&error);

  fe = load_from_string (
      "{\"num_mel_bins\": \"64\"}", SF_AUDIO_FRONTEND_KALDI_FBANK, &error);
  g_assert_null (fe);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "num_mel_bins"));
  g_clear_error (&error);

  fe = load_from_string ("{\"std\": 0}", SF_AUDIO_FRONTEND_KALDI_FBANK, &error);
  g_assert_null (fe);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);

  fe = load_from_string (
      "{\"sampling_rate\": -5}", SF_AUDIO_FRONTEND_WAVEFORM, &error);
  g_assert_null (fe);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "sampling_rate"));
  g_clear_error (&error);

  fe = load_from_string ("not json", SF_AUDIO_FRONTEND_WAVEFORM, &error);
  g_assert_null (fe);
  g_assert_error (error, SF_ERROR, SF_ERROR_PARSE);
}

/* Each field was within its range, but their products were not bounded:
 * a window's buffers asked g_malloc for gigabytes and it aborted. */
static void
test_size_limits (void)
{
  const struct
  {
    const char *json;
    SfAudioFrontendKind kind;
    const char *field;
  } cases[] = {
    { "{\"chunk_length\": 3600, \"sampling_rate\": 384000}",
        SF_AUDIO_FRONTEND_WHISPER_LOGMEL, "chunk_length" },
    { "{\"chunk_length\": 600, \"hop_length\": 1, \"n_fft\": 4096}",
        SF_AUDIO_FRONTEND_WHISPER_LOGMEL, "hop_length" },
    { "{\"max_length\": 1000000, \"num_mel_bins\": 1024}",
        SF_AUDIO_FRONTEND_KALDI_FBANK, "max_length" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    SfAudioFrontend *fe =
        load_from_string (cases[i].json, cases[i].kind, &error);

    g_assert_null (fe);
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
    g_assert_nonnull (strstr (error->message, cases[i].field));
    g_assert_nonnull (strstr (error->message, "limit"));
  }
}

static void
test_bad_samples (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfAudioFrontend) fe =
      load_from_string ("{}", SF_AUDIO_FRONTEND_KALDI_FBANK, &error);
  float samples[1000] = { 0 };
  SfTensor *t;

  g_assert_no_error (error);
  t = sf_audio_frontend_apply (fe, samples, 0, &error);
  g_assert_null (t);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);

  samples[10] = NAN;
  t = sf_audio_frontend_apply (fe, samples, G_N_ELEMENTS (samples), &error);
  g_assert_null (t);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);

  /* shorter than one frame: all padding, still the full shape */
  samples[10] = 0.5f;
  t = sf_audio_frontend_apply (fe, samples, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sf_tensor_dim (t, 0), ==, 1024);
  g_assert_cmpint (sf_tensor_dim (t, 1), ==, 128);
  sf_tensor_unref (t);
}

/* Digital silence stays finite: the variance floor of 1e-7. */
static void
test_waveform_silence (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfAudioFrontend) fe =
      load_from_string ("{}", SF_AUDIO_FRONTEND_WAVEFORM, &error);
  float samples[64];
  g_autoptr (SfTensor) t = NULL;

  for (int i = 0; i < 64; i++)
    samples[i] = 0.25f;
  t = sf_audio_frontend_apply (fe, samples, 64, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 64; i++)
    g_assert_cmpfloat (sf_tensor_f32 (t)[i], ==, 0.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/fft/power-of-two", test_fft_power_of_two);
  g_test_add_func ("/core/fft/any-length", test_fft_any_length);
  g_test_add_func ("/core/fft/bad-length", test_fft_bad_length);
  g_test_add_func ("/core/audio/fbank/reference", test_fbank_reference);
  g_test_add_func ("/core/audio/waveform/reference", test_waveform_reference);
  g_test_add_func ("/core/audio/waveform/silence", test_waveform_silence);
  g_test_add_func ("/core/audio/bad-config", test_bad_config);
  g_test_add_func ("/core/audio/bad-samples", test_bad_samples);
  g_test_add_func ("/core/audio/size-limits", test_size_limits);
  return g_test_run ();
}
