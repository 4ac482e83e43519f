/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json through each family's loader, with the weights (and the
 * tokenizer and processor files) of a real fixture beside it, so what is
 * fuzzed is the config paths: family choice, sizes checked against the
 * weights, labels, sub-configs. A model that loads runs one forward pass
 * on a small valid input.
 * Input: one byte choosing the fixture, then config.json. */
#include "core/audio/audio.h"
#include "core/image/image.h"
#include "graphs/generate.h"
#include "graphs/model.h"
#include "tests/fuzz/fuzz-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static const char *const fixtures[] = { "bert-tiny-cls", "distilbert-tiny-cls",
  "vit-tiny-cls", "segformer-tiny-seg", "clip-tiny", "whisper-tiny-asr",
  "wav2vec2-tiny-ctc", "ast-tiny-cls", "gpt2-tiny-lm", "roberta-tiny-cls" };

/* The fixture's files except config.json (and the reference outputs),
 * linked into a folder of our own once per process. */
static char *
model_dir (guint index)
{
  static char *dirs[G_N_ELEMENTS (fixtures)];
  g_autofree char *src = NULL;
  GDir *dir;
  const char *name;

  if (dirs[index])
    return dirs[index];
  src = sf_fuzz_fixture (fixtures[index], NULL);
  dirs[index] = g_build_filename (sf_fuzz_tmpdir (), fixtures[index], NULL);
  g_mkdir_with_parents (dirs[index], 0700);
  dir = g_dir_open (src, 0, NULL);
  if (dir == NULL)
    g_error ("no fixture folder %s", src);
  while ((name = g_dir_read_name (dir))) {
    g_autofree char *from = NULL, *to = NULL;

    if (!strcmp (name, "config.json") || !strcmp (name, "case.json")
        || !strcmp (name, "io.safetensors"))
      continue;
    from = g_build_filename (src, name, NULL);
    to = g_build_filename (dirs[index], name, NULL);
    if (symlink (from, to) != 0)
      g_error ("cannot link %s", to);
  }
  g_dir_close (dir);
  return dirs[index];
}

static void
run_text (SfModel *model)
{
  const char *texts[] = { "a fuzzed config, 東京" };
  SfTextInput in = { 0 };
  SfTextOutput out = { 0 };
  g_autoptr (GError) error = NULL;

  if (sf_model_encode_texts (model, texts, NULL, 1, 8, &in, NULL, &error))
    sf_model_forward_text (model, &in, FALSE, &out, &error);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
}

/* A generating model: a two-token prompt and one more token through its
 * incremental decoder. */
static void
run_decoder (SfModel *model)
{
  g_autoptr (GError) error = NULL;
  SfDecoder *dec = sf_model_decoder_new (model, NULL, 2, &error);
  g_autofree float *logits = NULL;
  gint64 ids[4];

  if (dec == NULL) {
    if (error == NULL)
      abort ();
    return;
  }
  for (int i = 0; i < 4; i++)
    ids[i] = i % dec->vocab;
  logits = g_new (float, 2 * dec->vocab);
  if (dec->step (dec->self, ids, 2, 2, logits, &error)
      && dec->reorder (dec->self, (guint[]){ 1, 1 }, 2, &error))
    dec->step (dec->self, ids, 2, 1, logits, &error);
  sf_decoder_free (dec);
}

static void
run_image (SfModel *model)
{
  const SfImageProcessor *proc = sf_model_image_processor (model);
  g_autoptr (SfImage) image = NULL;
  g_autoptr (SfTensor) pixels = NULL;
  g_autoptr (GError) error = NULL;
  SfImageInput in = { 0 };
  SfImageOutput out = { 0 };
  gint64 shape[4] = { 1, 3, 0, 0 };

  if (proc == NULL)
    abort (); /* an image model loads its processor or fails */
  image = sf_image_new (20, 16);
  pixels = sf_image_processor_process (proc, image, &error);
  if (pixels == NULL)
    return; /* a size the processor refuses, with an error */
  shape[2] = pixels->shape[1];
  shape[3] = pixels->shape[2];
  in.pixel_values = sf_tensor_reshape (pixels, 4, shape);
  sf_model_forward_image (model, &in, FALSE, &out, &error);
  sf_image_output_clear (&out);
  sf_tensor_unref (in.pixel_values);
}

static void
run_audio (SfModel *model)
{
  const SfAudioFrontend *fe = sf_model_audio_frontend (model);
  g_autoptr (GError) error = NULL;
  SfAudioInput in = { 0 };
  SfAudioOutput out = { 0 };
  gint64 shape[3] = { 1, 0, 0 };
  int nd;

  if (fe == NULL)
    abort ();
  nd = sf_audio_frontend_feature_shape (fe, 1600, shape + 1);
  /* Whisper's encoder takes any frame count up to its window: keep the
   * pass short */
  if (sf_audio_frontend_kind (fe) == SF_AUDIO_FRONTEND_WHISPER_LOGMEL)
    shape[2] = MIN (shape[2], 16);
  in.features = sf_tensor_new (SF_DTYPE_F32, nd + 1, shape);
  sf_model_forward_audio (model, &in, FALSE, &out, &error);
  sf_audio_output_clear (&out);
  sf_tensor_unref (in.features);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (SfModel) model = NULL;
  g_autoptr (GError) error = NULL;
  const char *dir;

  if (size < 1)
    return 0;
  dir = model_dir (data[0] % G_N_ELEMENTS (fixtures));
  g_free (sf_fuzz_write (dir, "config.json", data + 1, size - 1));
  model = sf_model_load (dir, &error);
  if (model == NULL) {
    if (error == NULL)
      abort ();
    return 0;
  }
  sf_model_n_params (model);
  for (guint i = 0; i < sf_model_num_labels (model); i++)
    if (sf_model_label (model, i) == NULL)
      abort ();
  if (sf_model_takes_input (model, SF_MODALITY_TEXT))
    run_text (model);
  if (g_str_equal (sf_model_family (model), "gpt2"))
    run_decoder (model);
  if (sf_model_takes_input (model, SF_MODALITY_IMAGE))
    run_image (model);
  if (sf_model_takes_input (model, SF_MODALITY_AUDIO))
    run_audio (model);
  return 0;
}
