/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The task layer: what each checkpoint class resolves to, shapes predicted
 * without a forward pass that equal the shapes a forward pass gives, and
 * outputs that match the transformers reference. */
#include "graphs/task.h"
#include "core/error.h"
#include "core/io/safetensors.h"
#include "tests/common/test-util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static SfModel *
load_dir (const char *dir)
{
  g_autoptr (GError) error = NULL;
  SfModel *model = sf_model_load (dir, &error);

  g_assert_no_error (error);
  return model;
}

static SfModel *
load_case (const char *case_name)
{
  g_autofree char *dir = sf_test_fixture (case_name);

  return load_dir (dir);
}

static SfModel *
load_bundled (const char *name)
{
  g_autofree char *dir = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples", "models", name, NULL);

  return load_dir (dir);
}

static SfTask *
new_task (SfModel *model, SfModality input, SfPooling pooling, int normalize)
{
  g_autoptr (GError) error = NULL;
  SfTaskOptions opts = SF_TASK_OPTIONS_INIT (input);
  SfTask *task;

  opts.pooling = pooling;
  opts.normalize = normalize;
  task = sf_task_new (model, &opts, &error);
  g_assert_no_error (error);
  return task;
}

static void
check_resolves (SfModel *model, SfModality input, SfPooling pooling,
    SfTaskKind kind, const char *output)
{
  g_autoptr (SfTask) task = new_task (model, input, pooling, -1);

  g_assert_cmpstr (
      sf_task_kind_name (sf_task_kind (task)), ==, sf_task_kind_name (kind));
  g_assert_cmpstr (sf_task_output_name (task), ==, output);
}

static void
test_resolution (void)
{
  g_autoptr (SfModel) bert_cls = load_case ("bert-tiny-cls");
  g_autoptr (SfModel) bert = load_case ("bert-tiny-embed");
  g_autoptr (SfModel) distil = load_case ("distilbert-tiny-cls");
  g_autoptr (SfModel) roberta = load_case ("roberta-tiny-cls");
  g_autoptr (SfModel) vit = load_case ("vit-tiny-cls");
  g_autoptr (SfModel) seg = load_case ("segformer-tiny-seg");
  g_autoptr (SfModel) clip = load_case ("clip-tiny");
  g_autoptr (SfModel) whisper = load_case ("whisper-tiny-asr");
  g_autoptr (SfModel) w2v = load_case ("wav2vec2-tiny-ctc");
  g_autoptr (SfModel) ast = load_case ("ast-tiny-cls");
  g_autoptr (SfModel) gpt2 = load_case ("gpt2-tiny-lm");

  check_resolves (
      bert_cls, SF_MODALITY_TEXT, SF_POOLING_AUTO, SF_TASK_CLASSIFY, "logits");
  check_resolves (bert, SF_MODALITY_TEXT, SF_POOLING_AUTO, SF_TASK_TOKENS,
      "last_hidden_state");
  check_resolves (bert, SF_MODALITY_TEXT, SF_POOLING_MEAN, SF_TASK_EMBED,
      "sentence_embedding");
  check_resolves (bert_cls, SF_MODALITY_TEXT, SF_POOLING_NONE, SF_TASK_TOKENS,
      "last_hidden_state");
  check_resolves (
      distil, SF_MODALITY_TEXT, SF_POOLING_AUTO, SF_TASK_CLASSIFY, "logits");
  check_resolves (
      roberta, SF_MODALITY_TEXT, SF_POOLING_AUTO, SF_TASK_CLASSIFY, "logits");
  check_resolves (roberta, SF_MODALITY_TEXT, SF_POOLING_NONE, SF_TASK_TOKENS,
      "last_hidden_state");
  check_resolves (
      vit, SF_MODALITY_IMAGE, SF_POOLING_AUTO, SF_TASK_CLASSIFY, "logits");
  check_resolves (
      seg, SF_MODALITY_IMAGE, SF_POOLING_AUTO, SF_TASK_SEGMENT, "logits");
  check_resolves (clip, SF_MODALITY_TEXT, SF_POOLING_AUTO, SF_TASK_ZERO_SHOT,
      "text_embeds");
  check_resolves (clip, SF_MODALITY_IMAGE, SF_POOLING_AUTO, SF_TASK_ZERO_SHOT,
      "image_embeds");
  check_resolves (clip, SF_MODALITY_TEXT, SF_POOLING_CLS, SF_TASK_EMBED,
      "sentence_embedding");
  check_resolves (whisper, SF_MODALITY_AUDIO, SF_POOLING_AUTO,
      SF_TASK_TRANSCRIBE, "last_hidden_state");
  check_resolves (
      w2v, SF_MODALITY_AUDIO, SF_POOLING_AUTO, SF_TASK_CTC, "logits");
  check_resolves (
      ast, SF_MODALITY_AUDIO, SF_POOLING_AUTO, SF_TASK_CLASSIFY, "logits");
  /* per-token LM logits are no classification */
  check_resolves (gpt2, SF_MODALITY_TEXT, SF_POOLING_AUTO, SF_TASK_TOKENS,
      "last_hidden_state");
}

static void
test_refusals (void)
{
  g_autoptr (SfModel) bert = load_case ("bert-tiny-cls");
  g_autoptr (SfModel) vit = load_case ("vit-tiny-cls");
  g_autoptr (GError) error = NULL;
  SfTaskOptions opts = SF_TASK_OPTIONS_INIT (SF_MODALITY_IMAGE);
  SfTask *task;

  task = sf_task_new (bert, &opts, &error);
  g_assert_null (task);
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "does not take image input"));
  g_clear_error (&error);

  opts.pooling = SF_POOLING_MEAN;
  task = sf_task_new (vit, &opts, &error);
  g_assert_null (task);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "pooling"));
}

static void
assert_shape (const SfShape *expected, const SfTensor *t)
{
  g_assert_cmpint (t->ndim, ==, expected->ndim);
  for (int d = 0; d < t->ndim; d++)
    g_assert_cmpint (t->shape[d], ==, expected->dims[d]);
  g_assert_cmpint (t->dtype, ==, SF_DTYPE_F32);
}

/* Every text: the predicted shape is the shape a forward pass gives. */
static void
check_text_shapes (SfTask *task)
{
  const char *texts[] = { "short", "a much longer line of text to encode",
    "naïve café" };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) out = NULL;
  SfShape shape;

  out = sf_task_run_texts (task, texts, G_N_ELEMENTS (texts), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, G_N_ELEMENTS (texts));
  for (guint i = 0; i < out->len; i++) {
    SfTensor *t = out->pdata[i];
    gint64 tokens = t->ndim == 3 ? t->shape[1] : 1;

    g_assert_true (sf_task_text_shape (task, tokens, &shape, &error));
    assert_shape (&shape, t);
  }
  g_assert_true (
      sf_task_shape_varies (task) == (sf_task_kind (task) == SF_TASK_TOKENS));
}

static void
test_text_shapes (void)
{
  const char *cases[] = { "bert-tiny-cls", "bert-tiny-embed",
    "distilbert-tiny-cls", "clip-tiny", "gpt2-tiny-lm", "roberta-tiny-cls" };
  const SfPooling poolings[] = { SF_POOLING_AUTO, SF_POOLING_NONE,
    SF_POOLING_CLS, SF_POOLING_MEAN };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    g_autoptr (SfModel) model = load_case (cases[c]);

    for (guint p = 0; p < G_N_ELEMENTS (poolings); p++) {
      g_autoptr (SfTask) task =
          new_task (model, SF_MODALITY_TEXT, poolings[p], -1);
      check_text_shapes (task);
    }
  }
}

static SfImage *
gradient_image (int width, int height)
{
  SfImage *image = sf_image_new (width, height);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width * 3; x++)
      image->data[y * image->stride + x] = (guint8)((x * 7 + y * 3) & 0xff);
  return image;
}

static void
check_image_shapes (SfModel *model)
{
  const int sizes[][2] = { { 64, 48 }, { 37, 100 }, { 224, 224 } };
  g_autoptr (SfTask) task = new_task (model, SF_MODALITY_IMAGE, 0, -1);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    g_autoptr (SfImage) image = gradient_image (sizes[i][0], sizes[i][1]);
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) out = NULL;
    SfImage *batch[] = { image, image };
    SfShape shape;

    g_assert_true (
        sf_task_image_shape (task, sizes[i][0], sizes[i][1], &shape, &error));
    g_assert_no_error (error);
    out = sf_task_run_images (task, batch, 2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (out->len, ==, 2);
    assert_shape (&shape, out->pdata[0]);
    assert_shape (&shape, out->pdata[1]);
  }
}

static void
test_image_shapes (void)
{
  const char *cases[] = { "vit-tiny-cls", "segformer-tiny-seg", "clip-tiny" };
  g_autoptr (SfModel) shapes = load_bundled ("shapes-segformer");
  g_autoptr (SfTask) seg = NULL;

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    g_autoptr (SfModel) model = load_case (cases[c]);
    check_image_shapes (model);
  }
  check_image_shapes (shapes);
  seg = new_task (shapes, SF_MODALITY_IMAGE, 0, -1);
  g_assert_cmpint (sf_task_kind (seg), ==, SF_TASK_SEGMENT);
}

static void
check_audio_shapes (SfModel *model)
{
  g_autoptr (SfTask) task = new_task (model, SF_MODALITY_AUDIO, 0, -1);
  int rate = sf_task_audio_rate (task);
  const gsize lengths[] = { (gsize)rate / 50, (gsize)rate / 2,
    (gsize)rate * 13 / 10, sf_task_audio_window (task) };
  g_autofree float *samples = g_new (float, lengths[3] + rate * 2);

  for (gsize i = 0; i < lengths[3] + rate * 2; i++)
    samples[i] = 0.3f * sinf ((float)i * 0.05f) + 0.01f * (float)(i % 7);
  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) out = NULL;
    const float *windows[] = { samples };
    SfShape shape;

    g_assert_true (sf_task_audio_shape (task, lengths[i], &shape, &error));
    g_assert_no_error (error);
    out = sf_task_run_audio (task, windows, &lengths[i], 1, &error);
    g_assert_no_error (error);
    assert_shape (&shape, out->pdata[0]);
  }
  g_assert_true (sf_task_shape_varies (task) == !sf_task_audio_pads (task));
}

static void
test_audio_shapes (void)
{
  const char *cases[] = { "whisper-tiny-asr", "wav2vec2-tiny-ctc",
    "ast-tiny-cls" };
  g_autoptr (SfModel) kws = load_bundled ("kws-ast");

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    g_autoptr (SfModel) model = load_case (cases[c]);
    check_audio_shapes (model);
  }
  check_audio_shapes (kws);
}

/* ---- numbers: the task's outputs against the transformers reference ---- */

/* The case's texts and its tolerance. */
static GPtrArray *
case_texts (const char *case_name, double *atol, double *rtol)
{
  g_autofree char *dir = sf_test_fixture (case_name);
  g_autofree char *path = g_build_filename (dir, "case.json", NULL);
  g_autofree char *json = NULL;
  g_autoptr (GError) error = NULL;
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  cJSON *root, *item;

  g_assert_true (g_file_get_contents (path, &json, NULL, &error));
  root = cJSON_Parse (json);
  g_assert_nonnull (root);
  cJSON_ArrayForEach (item, cJSON_GetObjectItem (root, "texts"))
    g_ptr_array_add (texts, g_strdup (item->valuestring));
  item = cJSON_GetObjectItem (root, "tolerance");
  *atol = cJSON_GetObjectItem (item, "atol")->valuedouble;
  *rtol = cJSON_GetObjectItem (item, "rtol")->valuedouble;
  cJSON_Delete (root);
  return texts;
}

/* Each item [1, D] against row i of @expected [n, D], within
 * atol + rtol · |expected|. */
static void
assert_rows_close (
    GPtrArray *items, const SfTensor *expected, double atol, double rtol)
{
  gint64 d = expected->shape[1];

  g_assert_cmpint (items->len, ==, expected->shape[0]);
  for (guint i = 0; i < items->len; i++) {
    const SfTensor *t = items->pdata[i];
    const float *want = sf_tensor_f32 (expected) + i * d;

    g_assert_cmpint (sf_tensor_numel (t), ==, d);
    for (gint64 j = 0; j < d; j++)
      g_assert_cmpfloat (fabs (sf_tensor_f32 (t)[j] - want[j]), <=,
          atol + rtol * fabs (want[j]));
  }
}

static void
check_text_outputs (const char *case_name, SfPooling pooling, int normalize,
    const char *golden_name)
{
  g_autoptr (SfModel) model = load_case (case_name);
  g_autoptr (SfTask) task =
      new_task (model, SF_MODALITY_TEXT, pooling, normalize);
  g_autoptr (SfTensor) want = sf_test_fixture_tensor (case_name, golden_name);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) texts = NULL;
  g_autoptr (GPtrArray) out = NULL;
  double atol, rtol;

  texts = case_texts (case_name, &atol, &rtol);
  out = sf_task_run_texts (
      task, (const char *const *)texts->pdata, texts->len, NULL, &error);
  g_assert_no_error (error);
  assert_rows_close (out, want, atol, rtol);
}

static void
test_text_outputs (void)
{
  check_text_outputs ("bert-tiny-cls", SF_POOLING_AUTO, -1, "logits");
  check_text_outputs ("distilbert-tiny-cls", SF_POOLING_AUTO, -1, "logits");
  check_text_outputs ("roberta-tiny-cls", SF_POOLING_AUTO, -1, "logits");
  check_text_outputs ("bert-tiny-embed", SF_POOLING_MEAN, 1, "mean_pooled_l2");
  check_text_outputs ("clip-tiny", SF_POOLING_AUTO, -1, "text_embeds");
}

/* More tokens than one packed pass takes (8192): 100 texts, three in
 * four cut at the model's 128 positions, come back in order, each as it
 * comes alone, pooled or per token. */
static void
check_packed_passes (SfPooling pooling)
{
  g_autoptr (SfModel) model = load_case ("bert-tiny-embed");
  g_autoptr (SfTask) task = new_task (model, SF_MODALITY_TEXT, pooling, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) texts = NULL;
  g_autoptr (GPtrArray) all = NULL;
  g_autoptr (GString) longer = g_string_new (NULL);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  gboolean truncated = FALSE;
  double atol, rtol;

  texts = case_texts ("bert-tiny-embed", &atol, &rtol);
  for (guint i = 0; i < 60; i++)
    g_string_append_printf (
        longer, "%s ", (char *)texts->pdata[i % texts->len]);
  for (guint i = 0; i < 100; i++)
    g_ptr_array_add (lines,
        i % 4 == 3 ? g_strdup (texts->pdata[i % texts->len])
                   : g_strdup_printf ("%u %s", i, longer->str));
  all = sf_task_run_texts (
      task, (const char *const *)lines->pdata, lines->len, &truncated, &error);
  g_assert_no_error (error);
  g_assert_true (truncated);
  g_assert_cmpuint (all->len, ==, lines->len);
  for (guint i = 0; i < lines->len; i++) {
    g_autoptr (GPtrArray) alone = sf_task_run_texts (
        task, (const char *const *)lines->pdata + i, 1, NULL, &error);
    const SfTensor *got = all->pdata[i], *want;

    g_assert_no_error (error);
    want = alone->pdata[0];
    g_assert_true (sf_tensor_same_shape (got, want));
    if (pooling == SF_POOLING_NONE && i % 4 != 3) /* a long one */
      g_assert_cmpint (got->shape[1], ==, 128);
    for (gint64 j = 0; j < sf_tensor_numel (want); j++)
      g_assert_cmpfloat (
          fabs (sf_tensor_f32 (got)[j] - sf_tensor_f32 (want)[j]), <=,
          atol + rtol * fabs (sf_tensor_f32 (want)[j]));
  }
}

static void
test_text_packed_passes (void)
{
  check_packed_passes (SF_POOLING_MEAN);
  check_packed_passes (SF_POOLING_NONE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/task/resolution", test_resolution);
  g_test_add_func ("/task/refusals", test_refusals);
  g_test_add_func ("/task/text-shapes", test_text_shapes);
  g_test_add_func ("/task/image-shapes", test_image_shapes);
  g_test_add_func ("/task/audio-shapes", test_audio_shapes);
  g_test_add_func ("/task/text-outputs", test_text_outputs);
  g_test_add_func ("/task/text-packed-passes", test_text_packed_passes);
  return g_test_run ();
}
