/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the task layer.
 *
 * One place decides what a checkpoint does with an input, so that the
 * elements and the CLI cannot disagree. Given a loaded model and the
 * user's options, sf_task_new() resolves once:
 *
 *  - the task: classify, embed, per-token states, segment, CTC,
 *    transcribe (Whisper) or zero-shot (CLIP);
 *  - the output tensor: its Hugging Face name and its shape for an input
 *    of a given size, known without running the model;
 *  - what post-processing the output needs (the task kind says it).
 *
 * The run functions then preprocess a batch of inputs, run the model and
 * return one F32 tensor per item, shaped [1, ...] as sf_task_*_shape()
 * said.
 */
#pragma once

#include "core/image/image.h"
#include "graphs/model.h"

G_BEGIN_DECLS

typedef enum
{
  SF_TASK_CLASSIFY,   /* logits [1, labels]: labels and scores */
  SF_TASK_EMBED,      /* one vector per input [1, D] */
  SF_TASK_TOKENS,     /* per-token (patch, frame) hidden states [1, T, H] */
  SF_TASK_SEGMENT,    /* logits [1, labels, h, w]: a label map */
  SF_TASK_CTC,        /* logits [1, T, vocab]: CTC text */
  SF_TASK_TRANSCRIBE, /* encoder states [1, T, H]: Whisper generation */
  SF_TASK_ZERO_SHOT,  /* projected, L2-normalised embeddings [1, P], scored
                       * against the other modality (CLIP) */
} SfTaskKind;

typedef struct
{
  SfModality input;  /* which input the task takes (CLIP takes both) */
  SfPooling pooling; /* text only; AUTO: the checkpoint's own output */
  int normalize;     /* text embeddings: -1 the checkpoint's choice, 0, 1 */
  guint max_length;  /* text: tokens per text; 0 = the model's limit */
} SfTaskOptions;

#define SF_TASK_OPTIONS_INIT(modality)                                         \
  {                                                                            \
    (modality), SF_POOLING_AUTO, -1, 0                                         \
  }

typedef struct SfTask SfTask;

/* (transfer full) the task of @model for @options; an error when the model
 * takes no such input or an option does not apply to it. A task is
 * immutable and refcounted: threads may share one. */
SfTask *sf_task_new (
    SfModel *model, const SfTaskOptions *options, GError **error);
SfTask *sf_task_ref (SfTask *task);
void sf_task_unref (SfTask *task); /* accepts NULL */

SfModel *sf_task_model (const SfTask *task); /* (transfer none) */
SfModality sf_task_input (const SfTask *task);
SfTaskKind sf_task_kind (const SfTask *task);
const char *sf_task_kind_name (SfTaskKind kind); /* "classify", … */
/* The output's name in transformers: "logits", "text_embeds",
 * "image_embeds", "pooler_output", "last_hidden_state", or
 * "sentence_embedding" for a pooled text embedding. */
const char *sf_task_output_name (const SfTask *task);
/* A one-line summary for logs: "classify (logits)". */
char *sf_task_describe (const SfTask *task);

/* ---- output shapes, without running the model ---- */

/* TRUE when the output shape depends on the input's size (per-token
 * states, segmentation maps, CTC frames). */
gboolean sf_task_shape_varies (const SfTask *task);
/* For a text of @tokens tokens (ignored unless the shape varies). */
gboolean sf_task_text_shape (
    const SfTask *task, gint64 tokens, SfShape *shape, GError **error);
/* For a frame of @width x @height pixels before preprocessing. */
gboolean sf_task_image_shape (
    const SfTask *task, int width, int height, SfShape *shape, GError **error);
/* For @samples audio samples at the front-end's rate. */
gboolean sf_task_audio_shape (
    const SfTask *task, gsize samples, SfShape *shape, GError **error);

/* ---- audio framing: the front-end's config is the one source ---- */

/* Samples per second the model takes. */
int sf_task_audio_rate (const SfTask *task);
/* The window the model was made for, in samples: Whisper's chunk_length,
 * what fills AST's max_length frames; 5 s for front-ends that take any
 * length (wav2vec2). */
gsize sf_task_audio_window (const SfTask *task);
/* TRUE when a shorter window is padded to the whole window (Whisper, AST)
 * rather than run at its own length (wav2vec2). */
gboolean sf_task_audio_pads (const SfTask *task);
/* The shortest input the task runs: shorter ones are padded with silence
 * to this many samples (100 ms). */
gsize sf_task_audio_min_samples (const SfTask *task);

/* ---- running ---- */

/* Tokenises @n texts and runs them in padded batches (with attention
 * masks) of similar token counts, so that padding stays small; per-token
 * outputs run one text at a time so that T is each text's own length. Returns
 * (transfer full) an array of @n F32 tensors [1, ...]. Sets *truncated
 * (nullable) when a text was cut to max_length. */
GPtrArray *sf_task_run_texts (SfTask *task, const char *const *texts, guint n,
    gboolean *truncated, GError **error);

/* Preprocesses @n images as the checkpoint's image processor does and runs
 * them, batching those of one size. (transfer full) @n F32 tensors. */
GPtrArray *sf_task_run_images (
    SfTask *task, SfImage *const *images, guint n, GError **error);

/* Runs the front-end and the model on @n windows of mono samples at the
 * model's rate (@lengths[i] samples each; shorter than
 * sf_task_audio_min_samples() is padded). Non-finite samples are an
 * error. (transfer full) @n F32 tensors. */
GPtrArray *sf_task_run_audio (SfTask *task, const float *const *windows,
    const gsize *lengths, guint n, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfTask, sf_task_unref)

G_END_DECLS
