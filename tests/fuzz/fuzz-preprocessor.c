/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preprocessor_config.json through the image processor and the three
 * audio front-ends; whatever loads is applied to a small input.
 * Input: one byte choosing the reader (image, Whisper log-mel, AST
 * fbank, wav2vec2 waveform), then the JSON file. */
#include "core/audio/audio.h"
#include "core/image/image.h"
#include "core/io/config.h"
#include "tests/fuzz/fuzz-util.h"

#include <math.h>

/* Outputs past this many values are left unrun: a config may ask for a
 * huge but legal size (an hour of 384 kHz audio), and the harness checks
 * parsing, not RAM or patience: the audio harness runs the same code
 * on a 1 s Whisper window. */
#define MAX_VALUES (1 << 16)

static void
run_image (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfImageProcessor) proc = sf_image_processor_load (path, &error);
  g_autoptr (SfImage) image = NULL;
  g_autoptr (SfTensor) out = NULL;
  int w, h;

  if (proc == NULL) {
    if (error == NULL)
      abort ();
    return;
  }
  sf_image_processor_output_size (proc, 13, 9, &w, &h);
  if (w < 1 || h < 1)
    abort ();
  if ((gint64)w * h > MAX_VALUES / 3)
    return;
  /* the resize before a crop may be larger than the output */
  if (proc->do_resize
      && (proc->size_mode == SF_IMAGE_SIZE_EXACT
                 ? (gint64)proc->width * proc->height
                 : (gint64)proc->shortest_edge * proc->shortest_edge * 2)
          > MAX_VALUES / 3)
    return;
  image = sf_image_new (13, 9);
  for (int i = 0; i < 13 * 9 * 3; i++)
    image->data[i] = (guint8)(i * 37);
  out = sf_image_processor_process (proc, image, NULL);
  if (out == NULL || out->ndim != 3 || out->shape[0] != 3 || out->shape[1] != h
      || out->shape[2] != w)
    abort ();
}

static void
run_audio (const char *path, SfAudioFrontendKind kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfAudioFrontend) fe = sf_audio_frontend_load (path, kind, &error);
  g_autoptr (SfTensor) out = NULL;
  float samples[1000];
  gint64 shape[2] = { 1, 1 };
  int nd;

  if (fe == NULL) {
    if (error == NULL)
      abort ();
    return;
  }
  sf_audio_frontend_sample_rate (fe);
  sf_audio_frontend_window_samples (fe);
  nd = sf_audio_frontend_feature_shape (fe, G_N_ELEMENTS (samples), shape);
  if (nd < 1 || nd > 2 || shape[0] < 0 || shape[1] < 0)
    abort ();
  if (shape[0] > MAX_VALUES || shape[0] * shape[1] > MAX_VALUES)
    return;
  if (kind == SF_AUDIO_FRONTEND_WHISPER_LOGMEL) {
    /* each log-mel frame is an n_fft-point FFT, up to 65536 points */
    g_autoptr (SfConfig) cfg = sf_config_load (path, NULL);
    gint64 n_fft = 400;

    if (cfg)
      sf_config_int_or (cfg, "n_fft", 400, &n_fft, NULL);
    if (shape[1] * n_fft > 1000 * 400) /* 10 s of Whisper's frames */
      return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    samples[i] = 0.5f * sinf (0.05f * i);
  out = sf_audio_frontend_apply (fe, samples, G_N_ELEMENTS (samples), &error);
  if (out == NULL) {
    if (error == NULL)
      abort ();
    return;
  }
  /* the shape promised without computing must be the one computed */
  if (out->ndim != nd || out->shape[0] != shape[0]
      || (nd == 2 && out->shape[1] != shape[1]))
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;

  if (size < 1)
    return 0;
  path = sf_fuzz_write (
      sf_fuzz_tmpdir (), "preprocessor_config.json", data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: run_image (path); break;
    case 1: run_audio (path, SF_AUDIO_FRONTEND_WHISPER_LOGMEL); break;
    case 2: run_audio (path, SF_AUDIO_FRONTEND_KALDI_FBANK); break;
    default: run_audio (path, SF_AUDIO_FRONTEND_WAVEFORM); break;
  }
  return 0;
}
