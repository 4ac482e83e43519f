/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: resolving a checkpoint's task and its output shape
 * (see graphs/task.h). Running it is in task-run.c. */
#include "graphs/task-private.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "graphs/families/whisper.h"

#include <string.h>

/* A window for front-ends that take any length (wav2vec2). */
#define ANY_LENGTH_WINDOW_MS 5000
/* The front-ends need at least one 25 ms frame; shorter inputs are padded
 * with silence to this. */
#define MIN_AUDIO_MS 100

static const SfShape *
family_output (const SfOutputShapes *shapes, SfTaskOutput output)
{
  switch (output) {
    case SF_TASK_OUT_LOGITS: return &shapes->logits;
    case SF_TASK_OUT_EMBEDS: return &shapes->embeds;
    case SF_TASK_OUT_POOLER: return &shapes->pooler_output;
    case SF_TASK_OUT_HIDDEN:
    case SF_TASK_OUT_POOLED: return &shapes->last_hidden_state;
  }
  return NULL;
}

gboolean
sf_task_item_shape (
    const SfTask *task, const SfShape *in, SfShape *shape, GError **error)
{
  const SfFamily *family = task->model->family;
  SfOutputShapes shapes;
  const SfShape *out;

  memset (&shapes, 0, sizeof (shapes));
  if (!family->output_shapes (
          task->model->graph, task->input, in, &shapes, error))
    return FALSE;
  out = family_output (&shapes, task->output);
  if (out->ndim == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: the %s model gives no %s", sf_model_dir (task->model),
        family->name, sf_task_output_name (task));
    return FALSE;
  }
  memset (shape, 0, sizeof (*shape));
  shape->dims[0] = 1;
  if (task->output == SF_TASK_OUT_POOLED) {
    shape->ndim = 2;
    shape->dims[1] = out->dims[out->ndim - 1];
    return TRUE;
  }
  shape->ndim = out->ndim + 1;
  memcpy (shape->dims + 1, out->dims, out->ndim * sizeof (gint64));
  return TRUE;
}

static gboolean
resolve_text (SfTask *task, const SfOutputShapes *shapes,
    const SfTaskOptions *options, GError **error)
{
  SfPooling pooling = options->pooling;
  gboolean normalize = FALSE;

  if (sf_model_tokenizer (task->model) == NULL) {
    static const char *const files[] = { "tokenizer.json", "vocab.txt",
      "vocab.json", "merges.txt" };
    g_autoptr (GString) missing = g_string_new (NULL);
    SfCheckpoint *ckpt = sf_model_checkpoint (task->model);

    for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
      g_autofree char *path = sf_checkpoint_file (ckpt, files[i]);
      if (path == NULL)
        g_string_append_printf (
            missing, "%s%s", missing->len ? ", " : "", files[i]);
    }
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s is not a text model with a tokenizer: it needs tokenizer.json, "
        "vocab.txt, or vocab.json with merges.txt; missing: %s",
        sf_model_dir (task->model), missing->str);
    return FALSE;
  }
  if (pooling == SF_POOLING_AUTO) {
    normalize = sf_model_default_normalize (task->model);
    /* per-token logits [T, V] (a causal LM) are not a classification */
    if (shapes->logits.ndim == 1) {
      task->kind = SF_TASK_CLASSIFY;
      task->output = SF_TASK_OUT_LOGITS;
      return TRUE;
    }
    if (shapes->embeds.ndim > 0) {
      task->kind = SF_TASK_ZERO_SHOT; /* already L2-normalised */
      task->output = SF_TASK_OUT_EMBEDS;
      return TRUE;
    }
    pooling = sf_model_default_pooling (task->model);
  }
  if (options->normalize >= 0)
    normalize = options->normalize;
  if (pooling == SF_POOLING_AUTO || pooling == SF_POOLING_NONE) {
    task->kind = SF_TASK_TOKENS;
    task->output = SF_TASK_OUT_HIDDEN;
    task->varies = TRUE;
    return TRUE;
  }
  task->kind = SF_TASK_EMBED;
  task->output = SF_TASK_OUT_POOLED;
  task->pooling = pooling;
  task->normalize = normalize;
  return TRUE;
}

static void
resolve_image (SfTask *task, const SfOutputShapes *shapes)
{
  if (shapes->logits.ndim == 3) {
    task->kind = SF_TASK_SEGMENT;
    task->output = SF_TASK_OUT_LOGITS;
  } else if (shapes->logits.ndim > 0) {
    task->kind = SF_TASK_CLASSIFY;
    task->output = SF_TASK_OUT_LOGITS;
  } else if (shapes->embeds.ndim > 0) {
    task->kind = SF_TASK_ZERO_SHOT;
    task->output = SF_TASK_OUT_EMBEDS;
  } else if (shapes->pooler_output.ndim > 0) {
    task->kind = SF_TASK_EMBED;
    task->output = SF_TASK_OUT_POOLER;
  } else {
    task->kind = SF_TASK_TOKENS;
    task->output = SF_TASK_OUT_HIDDEN;
  }
}

static void
resolve_audio (SfTask *task, const SfOutputShapes *shapes)
{
  if (shapes->logits.ndim == 1) {
    task->kind = SF_TASK_CLASSIFY;
    task->output = SF_TASK_OUT_LOGITS;
  } else if (shapes->logits.ndim == 2) {
    task->kind = SF_TASK_CTC;
    task->output = SF_TASK_OUT_LOGITS;
  } else if (sf_whisper_check (task->model)) {
    task->kind = SF_TASK_TRANSCRIBE;
    task->output = SF_TASK_OUT_HIDDEN;
  } else {
    task->kind = SF_TASK_TOKENS;
    task->output = SF_TASK_OUT_HIDDEN;
  }
}

/* Whether the output shape can change with the input once preprocessing
 * has run: only when the preprocessed size can change too. */
static gboolean
shape_varies (const SfTask *task)
{
  SfShape nominal;
  const SfImageProcessor *proc = task->processor;

  if (task->input == SF_MODALITY_TEXT)
    return task->varies;
  if (task->input == SF_MODALITY_IMAGE && proc->do_center_crop)
    return FALSE;
  if (task->input == SF_MODALITY_IMAGE && proc->do_resize
      && proc->size_mode == SF_IMAGE_SIZE_EXACT)
    return FALSE;
  if (task->input == SF_MODALITY_AUDIO
      && sf_audio_frontend_window_samples (task->frontend) > 0)
    return FALSE;
  if (!sf_task_item_shape (task, NULL, &nominal, NULL))
    return TRUE;
  for (int d = 0; d < nominal.ndim; d++) {
    if (nominal.dims[d] < 0)
      return TRUE;
  }
  return FALSE;
}

static const char *
modality_name (SfModality modality)
{
  switch (modality) {
    case SF_MODALITY_TEXT: return "text";
    case SF_MODALITY_IMAGE: return "image";
    case SF_MODALITY_AUDIO: return "audio";
  }
  return "unknown";
}

SfTask *
sf_task_new (SfModel *model, const SfTaskOptions *options, GError **error)
{
  g_autoptr (SfTask) task = NULL;
  SfOutputShapes shapes;

  g_return_val_if_fail (model != NULL && options != NULL, NULL);

  if (!sf_model_takes_input (model, options->input)
      || model->family->output_shapes == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model (%s) does not take %s input", sf_model_dir (model),
        sf_model_kind (model), sf_model_architecture (model),
        modality_name (options->input));
    return NULL;
  }
  if (options->input != SF_MODALITY_TEXT
      && (options->pooling != SF_POOLING_AUTO || options->normalize >= 0)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: pooling and normalize apply to text encoders only; %s model "
        "gives its own output for %s input",
        sf_model_dir (model), sf_model_kind (model),
        modality_name (options->input));
    return NULL;
  }

  task = g_new0 (SfTask, 1);
  task->refcount = 1;
  task->model = sf_model_ref (model);
  task->input = options->input;
  task->max_length = options->max_length;
  task->processor = model->image_processor;
  task->frontend = model->audio_frontend;
  if ((task->input == SF_MODALITY_IMAGE && task->processor == NULL)
      || (task->input == SF_MODALITY_AUDIO && task->frontend == NULL)) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no preprocessor_config.json for %s input", sf_model_dir (model),
        modality_name (task->input));
    return NULL;
  }

  memset (&shapes, 0, sizeof (shapes));
  if (!model->family->output_shapes (
          model->graph, task->input, NULL, &shapes, error))
    return NULL;
  switch (task->input) {
    case SF_MODALITY_TEXT:
      if (!resolve_text (task, &shapes, options, error))
        return NULL;
      break;
    case SF_MODALITY_IMAGE: resolve_image (task, &shapes); break;
    case SF_MODALITY_AUDIO: resolve_audio (task, &shapes); break;
  }
  task->varies = shape_varies (task);
  return g_steal_pointer (&task);
}

SfTask *
sf_task_ref (SfTask *task)
{
  g_return_val_if_fail (task != NULL, NULL);
  g_atomic_int_inc (&task->refcount);
  return task;
}

void
sf_task_unref (SfTask *task)
{
  if (task == NULL || !g_atomic_int_dec_and_test (&task->refcount))
    return;
  sf_model_unref (task->model);
  g_free (task);
}

SfModel *
sf_task_model (const SfTask *task)
{
  return task->model;
}

SfModality
sf_task_input (const SfTask *task)
{
  return task->input;
}

SfTaskKind
sf_task_kind (const SfTask *task)
{
  return task->kind;
}

const char *
sf_task_kind_name (SfTaskKind kind)
{
  switch (kind) {
    case SF_TASK_CLASSIFY: return "classify";
    case SF_TASK_EMBED: return "embed";
    case SF_TASK_TOKENS: return "tokens";
    case SF_TASK_SEGMENT: return "segment";
    case SF_TASK_CTC: return "ctc";
    case SF_TASK_TRANSCRIBE: return "transcribe";
    case SF_TASK_ZERO_SHOT: return "zero-shot";
  }
  return "unknown";
}

const char *
sf_task_output_name (const SfTask *task)
{
  switch (task->output) {
    case SF_TASK_OUT_LOGITS: return "logits";
    case SF_TASK_OUT_EMBEDS:
      return task->input == SF_MODALITY_TEXT ? "text_embeds" : "image_embeds";
    case SF_TASK_OUT_POOLER: return "pooler_output";
    case SF_TASK_OUT_HIDDEN: return "last_hidden_state";
    case SF_TASK_OUT_POOLED: return "sentence_embedding";
  }
  return "unknown";
}

char *
sf_task_describe (const SfTask *task)
{
  if (task->output == SF_TASK_OUT_POOLED)
    return g_strdup_printf ("%s (%s pooling%s)", sf_task_kind_name (task->kind),
        task->pooling == SF_POOLING_CLS ? "cls" : "mean",
        task->normalize ? ", L2-normalised" : "");
  return g_strdup_printf (
      "%s (%s)", sf_task_kind_name (task->kind), sf_task_output_name (task));
}

gboolean
sf_task_shape_varies (const SfTask *task)
{
  return task->varies;
}

gboolean
sf_task_text_shape (
    const SfTask *task, gint64 tokens, SfShape *shape, GError **error)
{
  SfShape in = { 1, { MAX (tokens, 1) } };

  g_return_val_if_fail (task->input == SF_MODALITY_TEXT, FALSE);
  return sf_task_item_shape (task, &in, shape, error);
}

gboolean
sf_task_image_shape (
    const SfTask *task, int width, int height, SfShape *shape, GError **error)
{
  SfShape in = { 3, { 3, 0, 0 } };
  int pw, ph;

  g_return_val_if_fail (task->input == SF_MODALITY_IMAGE, FALSE);
  if (width < 1 || height < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "an image of %dx%d pixels is empty", width, height);
    return FALSE;
  }
  sf_image_processor_output_size (task->processor, width, height, &pw, &ph);
  in.dims[1] = ph;
  in.dims[2] = pw;
  return sf_task_item_shape (task, &in, shape, error);
}

gboolean
sf_task_audio_shape (
    const SfTask *task, gsize samples, SfShape *shape, GError **error)
{
  SfShape in = { 0 };

  g_return_val_if_fail (task->input == SF_MODALITY_AUDIO, FALSE);
  in.ndim = sf_audio_frontend_feature_shape (
      task->frontend, MAX (samples, sf_task_audio_min_samples (task)), in.dims);
  return sf_task_item_shape (task, &in, shape, error);
}

int
sf_task_audio_rate (const SfTask *task)
{
  g_return_val_if_fail (task->input == SF_MODALITY_AUDIO, 0);
  return sf_audio_frontend_sample_rate (task->frontend);
}

gsize
sf_task_audio_window (const SfTask *task)
{
  gsize natural;

  g_return_val_if_fail (task->input == SF_MODALITY_AUDIO, 0);
  natural = sf_audio_frontend_window_samples (task->frontend);
  if (natural > 0)
    return natural;
  return (gsize)sf_task_audio_rate (task) * ANY_LENGTH_WINDOW_MS / 1000;
}

gboolean
sf_task_audio_pads (const SfTask *task)
{
  g_return_val_if_fail (task->input == SF_MODALITY_AUDIO, FALSE);
  return sf_audio_frontend_window_samples (task->frontend) > 0;
}

gsize
sf_task_audio_min_samples (const SfTask *task)
{
  g_return_val_if_fail (task->input == SF_MODALITY_AUDIO, 0);
  return (gsize)sf_task_audio_rate (task) * MIN_AUDIO_MS / 1000;
}
