/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: what model families share with the model loader.
 * Not installed; plugins and the CLI use graphs/model.h only. */
#pragma once

#include "graphs/generate.h"
#include "graphs/model.h"
#include "core/ops/activation.h"

G_BEGIN_DECLS

/* The shapes of a family's outputs for one input item, without the batch
 * dimension; ndim 0 for an output the family does not give. */
typedef struct
{
  SfShape last_hidden_state;
  SfShape pooler_output;
  SfShape logits;
  SfShape embeds; /* text_embeds or image_embeds (joint models) */
} SfOutputShapes;

/* A model family: one graph file (bert.c, distilbert.c, …). */
typedef struct
{
  const char *name;
  SfModality modality;
  const char *const
      *model_types; /* config.json model_type values, NULL-terminated */
  /* Builds the graph state from a checkpoint: reads the config, validates
   * and loads every weight, and fills the model's shared fields
   * (hidden_size, max_positions, classifier). */
  gpointer (*load) (SfModel *model, SfCheckpoint *ckpt, GError **error);
  void (*free) (gpointer graph);
  /* One forward per modality; NULL where the family takes no such input. */
  gboolean (*forward_text) (gpointer graph, const SfTextInput *input,
      gboolean want_hidden_states, SfTextOutput *output, GError **error);
  /* Packed texts (graphs/model.h, SfPackedText); NULL where the family
   * runs padded batches only. */
  gboolean (*forward_text_packed) (gpointer graph, const SfPackedText *input,
      SfTextOutput *output, GError **error);
  gboolean (*forward_image) (gpointer graph, const SfImageInput *input,
      gboolean want_hidden_states, SfImageOutput *output, GError **error);
  gboolean (*forward_audio) (gpointer graph, const SfAudioInput *input,
      gboolean want_hidden_states, SfAudioOutput *output, GError **error);
  /* What the forward of @input gives for one item whose input is @in
   * (without the batch dimension: token ids [T], pixel_values [C, H, W], or
   * the front-end's features), known without running it. FALSE with an
   * error when the graph cannot take such an input. With @in NULL: which
   * outputs there are, with -1 for the sizes that follow the input. */
  gboolean (*output_shapes) (gpointer graph, SfModality input,
      const SfShape *in, SfOutputShapes *out, GError **error);
  /* Generating families: an incremental decoder (graphs/generate.h); NULL
   * for the others. */
  SfDecoder *(*decoder_new) (
      gpointer graph, const SfTensor *source, guint max_seqs, GError **error);
} SfFamily;

/* Sets @shape to the @ndim dimensions that follow. */
void sf_shape_set (SfShape *shape, int ndim, ...);

struct SfModel
{
  gint refcount;
  SfCheckpoint *ckpt;
  char *name;
  char *architecture;
  const SfFamily *family;
  gpointer graph;
  SfTokenizer *tokenizer;
  struct SfImageProcessor *image_processor; /* image families: set by load */
  struct SfAudioFrontend *audio_frontend;   /* audio families: set by load */

  /* the linear layers' precision: families set it on their weight
   * targets (graphs/weights.h) */
  SfPrecision precision;

  gint64 hidden_size;
  gint64 max_positions;
  gint64 n_params;

  gboolean has_classifier;
  GPtrArray *labels; /* char*, num_labels entries */
  SfProblemType problem_type;
  SfPooling default_pooling;
  gboolean default_normalize;

  gint64 image_size[2];  /* [height, width] a fixed-size image model takes;
                         * 0 when it takes any size */
  gint64 projection_dim; /* joint embedding size (CLIP), 0 when none */
  float logit_scale;     /* exp (logit_scale) (CLIP); 1.0 otherwise */
};

/* An architecture a family runs, and whether it has a sequence-
 * classification head. */
typedef struct
{
  const char *name;
  gboolean classifier;
} SfArchitecture;

/* Finds model->architecture in @table (TRUE with *classifier FALSE when
 * the config names no architecture); else an error listing the table. */
gboolean sf_model_match_architecture (SfModel *model,
    const SfArchitecture *table, guint n, gboolean *classifier, GError **error);

/* Loads the folder's tokenizer when it has one (tokenizer.json, vocab.txt,
 * or vocab.json with merges.txt); TRUE without one. */
gboolean sf_model_load_tokenizer (SfModel *model, GError **error);

/* graphs/model-cache.c: drops one reference under the cache lock,
 * removing the model from the cache on the last one; TRUE when the caller
 * must free it. */
gboolean sf_model_cache_release (SfModel *model);

/* graphs/registry.c: the family for a config, or an error listing what is
 * supported. *architecture is set to the config's first architecture (or
 * NULL when the config lists none). */
const SfFamily *sf_registry_lookup (
    const SfConfig *config, const char **architecture, GError **error);
/* The supported families, NULL-terminated (for messages and `inspect`). */
const SfFamily *const *sf_registry_families (void);

/* graphs/model.c: reads id2label / num_labels / problem_type for a head
 * with @rows outputs; TRUE when consistent. */
gboolean sf_model_read_labels (
    SfModel *model, const SfConfig *config, GError **error);

/* graphs/model.c: the activation named by config field @key (@fallback
 * when unset); an error naming the field when it is not one we run. */
gboolean sf_model_read_activation (const SfConfig *config, const char *key,
    const char *fallback, SfActivation *act, GError **error);

/* graphs/model.c: the attention head count @key (at least 1), which must
 * divide the width @dim that config field @dim_key gave. */
gboolean sf_model_read_heads (const SfConfig *config, const char *key,
    const char *dim_key, gint64 dim, int *heads, GError **error);

G_END_DECLS
