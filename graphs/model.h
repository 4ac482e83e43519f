/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: a loaded model.
 *
 * sf_model_load() checks that BLAS loads (core/blas.h), reads config.json,
 * picks the model family from `architectures` / `model_type`
 * (graphs/registry.c), validates every weight the family declares against
 * the config, and loads the tokenizer when the folder has one. A model is immutable after loading and refcounted, so
 * several elements and threads may share one (see sf_model_cache_get()).
 */
#pragma once

#include "core/io/checkpoint.h"
#include "core/precision.h"
#include "core/tensor.h"
#include "core/tokenizer/tokenizer.h"

G_BEGIN_DECLS

typedef enum
{
  SF_MODALITY_TEXT,
  SF_MODALITY_IMAGE,
  SF_MODALITY_AUDIO,
} SfModality;

typedef enum
{
  SF_PROBLEM_SINGLE_LABEL, /* softmax over labels */
  SF_PROBLEM_MULTI_LABEL,  /* sigmoid per label */
  SF_PROBLEM_REGRESSION,   /* raw values */
} SfProblemType;

typedef enum
{
  SF_POOLING_AUTO, /* the checkpoint's own output (see sf_model_default_pooling) */
  SF_POOLING_NONE, /* per-token last hidden state */
  SF_POOLING_CLS,  /* first token of the last hidden state */
  SF_POOLING_MEAN, /* attention-masked mean of the last hidden state */
} SfPooling;

typedef struct SfModel SfModel;

/* A tensor shape, outermost first. */
typedef struct
{
  int ndim; /* 0: no such tensor */
  gint64 dims[SF_TENSOR_MAX_DIMS];
} SfShape;

/* (transfer full) @model: a folder or a Hub id (core/io/resolve.h). */
SfModel *sf_model_load (const char *model, GError **error);
/* sf_model_load () with the linear layers at @precision (core/precision.h).
 * A precision this CPU cannot run loads as f32: callers resolve it first
 * with sf_precision_resolve () to warn. */
SfModel *sf_model_load_with_precision (
    const char *model, SfPrecision precision, GError **error);
SfModel *sf_model_ref (SfModel *model);
void sf_model_unref (SfModel *model); /* accepts NULL */

/* Process-wide cache keyed by the resolved folder's canonical path: two
 * callers that name the same checkpoint share one load. (transfer full) */
SfModel *sf_model_cache_get (const char *model, GError **error);
/* The cache at @precision: keyed by folder and precision, so two callers
 * asking for different precisions never share weights. (transfer full) */
SfModel *sf_model_cache_get_with_precision (
    const char *model, SfPrecision precision, GError **error);
/* The precision the model's linear layers run at. */
SfPrecision sf_model_precision (const SfModel *model);

const char *sf_model_dir (const SfModel *model);
/* the Hub id of a cache snapshot, else the folder's basename */
const char *sf_model_name (const SfModel *model);
const char *sf_model_family (
    const SfModel *model); /* "bert", "distilbert", … */
/* The family as a message names it, with its article: "an AST", "a BERT". */
const char *sf_model_kind (const SfModel *model);
const char *sf_model_architecture (const SfModel *model);
SfModality sf_model_modality (const SfModel *model);
SfCheckpoint *sf_model_checkpoint (const SfModel *model);
SfTokenizer *sf_model_tokenizer (const SfModel *model); /* nullable */

gint64 sf_model_hidden_size (const SfModel *model);
gint64 sf_model_max_positions (const SfModel *model);
gint64 sf_model_n_params (const SfModel *model);

/* Classification head: 0 labels when the checkpoint has none. */
gboolean sf_model_has_classifier (const SfModel *model);
guint sf_model_num_labels (const SfModel *model);
/* id2label, or "LABEL_<i>" when the config has none. */
const char *sf_model_label (const SfModel *model, guint index);
SfProblemType sf_model_problem_type (const SfModel *model);

/* What SF_POOLING_AUTO means for this checkpoint: the sentence-transformers
 * pooling config (1_Pooling/config.json, normalize module) when present,
 * else NONE. A checkpoint with a classifier yields logits under AUTO. */
SfPooling sf_model_default_pooling (const SfModel *model);
gboolean sf_model_default_normalize (const SfModel *model);

/* Joint text-image models (CLIP). Whether the model runs on @modality
 * input: its own modality, and text as well for CLIP. */
gboolean sf_model_takes_input (const SfModel *model, SfModality modality);
/* P of text_embeds / image_embeds; 0 for models without a projection. */
gint64 sf_model_projection_dim (const SfModel *model);
/* exp of the checkpoint's logit_scale, the factor on cosine similarities
 * of text and image embeddings; 1.0 for models without one. */
float sf_model_logit_scale (const SfModel *model);
/* (transfer full) logits [M, N] = logit_scale · cos (a[m], b[n]) for
 * embeddings a [M, P] and b [N, P]: CLIP's logits_per_image with a the
 * image and b the text embeddings. @model is nullable (a scale of 1). */
SfTensor *sf_model_similarity (
    const SfModel *model, const SfTensor *a, const SfTensor *b);

typedef struct
{
  SfTensor *input_ids;      /* [B, T] I64 */
  SfTensor *attention_mask; /* [B, T] I64; NULL = all ones */
  SfTensor *token_type_ids; /* [B, T] I64; NULL = zeros */
} SfTextInput;

typedef struct
{
  SfTensor *last_hidden_state; /* [B, T, H] */
  SfTensor *pooler_output; /* [B, H], or NULL when the model has no pooler */
  SfTensor *logits;        /* [B, num_labels], or NULL without a classifier */
  GPtrArray *
      hidden_states; /* of SfTensor [B, T, H]: embeddings, then each layer; only when asked */
  SfTensor *text_embeds; /* [B, P] projected (CLIP) */
} SfTextOutput;

/* Tokenises @n texts (and @pairs, nullable) into one padded batch.
 * max_length 0 = the model's position limit. Sets *truncated (nullable)
 * when any text was cut. */
gboolean sf_model_encode_texts (SfModel *model, const char *const *texts,
    const char *const *pairs, guint n, guint max_length, SfTextInput *input,
    gboolean *truncated, GError **error);
void sf_text_input_clear (SfTextInput *input);

gboolean sf_model_forward_text (SfModel *model, const SfTextInput *input,
    gboolean want_hidden_states, SfTextOutput *output, GError **error);
void sf_text_output_clear (SfTextOutput *output);

/* Pools a text output into [B, H] embeddings (NONE is invalid here), with
 * optional L2 normalisation. (transfer full) */
SfTensor *sf_text_output_pool (const SfTextOutput *output,
    const SfTextInput *input, SfPooling pooling, gboolean normalize);

/* Texts packed without padding: the tokens of B texts one after another,
 * text b at [offsets[b], offsets[b + 1]). Families that take this form
 * run every token-wise op on the N real tokens only and attention per
 * text over its own length, so a batch of short texts costs no more than
 * their tokens. */
typedef struct
{
  SfTensor *input_ids;      /* [N] I64 */
  SfTensor *token_type_ids; /* [N] I64; NULL = zeros */
  SfTensor *offsets;        /* [B + 1] I64, from 0 to N */
} SfPackedText;

/* Whether the model's family runs packed texts (BERT, RoBERTa,
 * XLM-RoBERTa, DistilBERT, CLIP's text encoder). */
gboolean sf_model_takes_packed_text (const SfModel *model);

/* sf_model_encode_texts without padding. */
gboolean sf_model_encode_texts_packed (SfModel *model, const char *const *texts,
    guint n, guint max_length, SfPackedText *input, gboolean *truncated,
    GError **error);
void sf_packed_text_clear (SfPackedText *input);

/* The forward pass of packed texts: last_hidden_state is packed too,
 * [N, H]; pooler_output, logits and text_embeds are [B, ...] as from
 * sf_model_forward_text. Each text's outputs equal those of the text run
 * alone, within float rounding. */
gboolean sf_model_forward_text_packed (SfModel *model,
    const SfPackedText *input, SfTextOutput *output, GError **error);

/* sf_text_output_pool of a packed output: [B, H]. (transfer full) */
SfTensor *sf_text_output_pool_packed (const SfTextOutput *output,
    const SfPackedText *input, SfPooling pooling, gboolean normalize);

/* ---- images (ViT, SegFormer, CLIP vision) ---- */

typedef struct
{
  SfTensor
      *pixel_values; /* [B, C, H, W] F32, as the HF image processor makes it */
} SfImageInput;

typedef struct
{
  SfTensor
      *last_hidden_state;  /* [B, N, H] token models (ViT); NULL otherwise */
  SfTensor *pooler_output; /* [B, H] when the model has one */
  SfTensor
      *logits; /* [B, labels] classification; [B, labels, h, w] segmentation */
  SfTensor *image_embeds; /* [B, P] projected embedding (CLIP) */
  GPtrArray *
      hidden_states; /* of SfTensor: embeddings, then each layer; only when asked */
} SfImageOutput;

/* The checkpoint's preprocessor_config.json as an image processor
 * (core/image.h); NULL for non-image models. (transfer none) */
const struct SfImageProcessor *sf_model_image_processor (const SfModel *model);

/* The pixel size a model with a fixed input takes (ViT and CLIP: their
 * image_size); FALSE for models that take any size (SegFormer) and for
 * non-image models. */
gboolean sf_model_image_size (
    const SfModel *model, gint64 *height, gint64 *width);

gboolean sf_model_forward_image (SfModel *model, const SfImageInput *input,
    gboolean want_hidden_states, SfImageOutput *output, GError **error);
void sf_image_output_clear (SfImageOutput *output);

/* ---- audio (Whisper, wav2vec2, AST) ---- */

typedef struct
{
  SfTensor *features; /* [B, ...] F32 front-end output: Whisper log-mel
                                 * [B, mels, frames], AST fbank [B, frames, mels],
                                 * wav2vec2 normalised waveform [B, samples] */
} SfAudioInput;

typedef struct
{
  SfTensor *last_hidden_state; /* [B, T, H] encoder output */
  SfTensor *logits;            /* [B, labels] (AST) or [B, T, vocab] (CTC) */
  GPtrArray *hidden_states;    /* of SfTensor; only when asked */
} SfAudioOutput;

/* The checkpoint's audio front-end (core/audio.h); NULL for non-audio
 * models. (transfer none) */
const struct SfAudioFrontend *sf_model_audio_frontend (const SfModel *model);

gboolean sf_model_forward_audio (SfModel *model, const SfAudioInput *input,
    gboolean want_hidden_states, SfAudioOutput *output, GError **error);
void sf_audio_output_clear (SfAudioOutput *output);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfModel, sf_model_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SfTextInput, sf_text_input_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SfPackedText, sf_packed_text_clear)

G_END_DECLS
