/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The audio front-ends on fuzzed PCM of fuzzed length: Whisper log-mel,
 * AST's Kaldi fbank and wav2vec2's normalised waveform, configured by the
 * fixtures' preprocessor_config.json.
 * Input: a 6-byte header (front-end, sample encoding, 32-bit length),
 * then sample bytes, repeated to the length. The elements reject
 * non-finite samples before the front-end, so float input here is finite. */
#include "core/audio/audio.h"
#include "core/io/config.h"
#include "tests/fuzz/fuzz-util.h"

#include <math.h>
#include <string.h>

static const struct
{
  const char *fixture;
  SfAudioFrontendKind kind;
} configs[] = {
  { "whisper-tiny-asr", SF_AUDIO_FRONTEND_WHISPER_LOGMEL },
  { "ast-tiny-cls", SF_AUDIO_FRONTEND_KALDI_FBANK },
  { "wav2vec2-tiny-ctc", SF_AUDIO_FRONTEND_WAVEFORM },
};
static SfAudioFrontend *frontends[G_N_ELEMENTS (configs)];

/* (transfer full) the fixture's config path; Whisper's with a 1 s chunk
 * instead of 30 s: the same code runs on 100 frames, 30 times faster. */
static char *
config_path (guint i)
{
  g_autofree char *path =
      sf_fuzz_fixture (configs[i].fixture, "preprocessor_config.json");
  g_autoptr (SfConfig) cfg = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  cJSON *root;

  if (configs[i].kind != SF_AUDIO_FRONTEND_WHISPER_LOGMEL)
    return g_steal_pointer (&path);
  cfg = sf_config_load (path, &error);
  if (cfg == NULL)
    g_error ("%s", error->message);
  root = cJSON_Duplicate (sf_config_root (cfg), TRUE);
  cJSON_ReplaceItemInObject (root, "chunk_length", cJSON_CreateNumber (1));
  json = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  return sf_fuzz_write (sf_fuzz_tmpdir (), "whisper.json", json, strlen (json));
}

static void
load_frontends (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (configs); i++) {
    g_autofree char *path = NULL;
    g_autoptr (GError) error = NULL;

    if (frontends[i])
      continue;
    path = config_path (i);
    frontends[i] = sf_audio_frontend_load (path, configs[i].kind, &error);
    if (frontends[i] == NULL)
      g_error ("%s", error->message); /* a broken fixture, not a finding */
  }
}

static float
sample (const uint8_t *data, size_t size, int encoding, gsize i)
{
  switch (encoding) {
    case 0: /* S16LE */
    {
      gsize k = (2 * i) % (size & ~(size_t)1);
      return (gint16)(data[k] | data[k + 1] << 8) / 32768.0f;
    }
    case 1: /* F32LE: full scale is [-1, 1]; louder floats, which clip
             * in any sink, would overflow the power spectrum */
    {
      gsize k = (4 * i) % (size & ~(size_t)3);
      float f;
      memcpy (&f, data + k, 4);
      return isfinite (f) ? CLAMP (f, -1.0f, 1.0f) : 0.0f;
    }
    default: /* U8 */ return (data[i % size] - 128) / 128.0f;
  }
}

static gboolean
all_finite (const float *x, gint64 n)
{
  for (gint64 i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const SfAudioFrontend *fe;
  g_autofree float *pcm = NULL;
  g_autoptr (SfTensor) out = NULL;
  g_autoptr (GError) error = NULL;
  gint64 shape[2] = { 0, 0 };
  int encoding, nd;
  gsize n, max;

  if (size < 6)
    return 0;
  load_frontends ();
  fe = frontends[data[0] % G_N_ELEMENTS (frontends)];
  encoding = data[1] % 3;
  /* up to twice the model's window (wav2vec2: 4 s), past it for the
   * front-ends that truncate */
  max = sf_audio_frontend_window_samples (fe);
  max = 2 * (max ? max : 32000);
  n = (data[2] | data[3] << 8 | data[4] << 16 | (gsize)data[5] << 24)
      % (max + 1);
  data += 6;
  size -= 6;
  if ((encoding == 0 && size < 2) || (encoding == 1 && size < 4) || size < 1)
    encoding = -1;

  pcm = g_new0 (float, n + 1);
  if (encoding >= 0)
    for (gsize i = 0; i < n; i++)
      pcm[i] = sample (data, size, encoding, i);
  nd = sf_audio_frontend_feature_shape (fe, n, shape);
  out = sf_audio_frontend_apply (fe, pcm, n, &error);
  if (out == NULL) {
    if (error == NULL || n > 0)
      abort ();
    return 0;
  }
  if (out->ndim != nd || out->shape[0] != shape[0]
      || (nd == 2 && out->shape[1] != shape[1]))
    abort ();
  if (!all_finite (sf_tensor_f32 (out), sf_tensor_numel (out)))
    abort (); /* a NaN feature would poison every logit */
  return 0;
}
