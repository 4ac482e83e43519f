/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the Audio Spectrogram Transformer
 * (ASTModel, ASTForAudioClassification).
 *
 * Mirrors modeling_audio_spectrogram_transformer:
 * - ASTEmbeddings: the fbank [B, frames, mels] is seen as a one-channel
 *   image [B, 1, mels, frames] and cut into patch_size² patches by a
 *   convolution with strides (frequency_stride, time_stride); the patches,
 *   flattened frequency-major, follow a cls and a distillation token, and
 *   learned position embeddings are added.
 * - ASTLayer: pre-LN (ViT-style) layers (graphs/encoder.c), then a final
 *   LayerNorm.
 * - The pooled output is the mean of the two leading tokens; the
 *   classifier (ASTMLPHead) is LayerNorm then a linear map.
 * AST checkpoints on the Hub are AudioSet taggers, a multi-label task, so
 * scores default to a sigmoid per label when config.json names no
 * problem_type.
 */
#include "graphs/model-private.h"
#include "graphs/encoder.h"
#include "graphs/weights.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "core/ops/conv.h"
#include "core/ops/layout.h"

#include <stddef.h>

/* num_mel_bins and max_length above this are corrupt (the fbank front-end
 * caps max_length at 1,000,000 frames too) */
#define AST_MAX_SIDE 1000000

enum
{
  SZ_HIDDEN = SF_ENCODER_SIZE_HIDDEN,
  SZ_INTER = SF_ENCODER_SIZE_INTER,
  SZ_PATCH,
  SZ_POS,
  SZ_LABELS,
  SZ_ONE,
  SZ_COUNT
};

typedef struct
{
  SfTensor *cls_token;             /* [1, 1, H] */
  SfTensor *dist_token;            /* [1, 1, H] */
  SfTensor *pos_emb;               /* [1, N + 2, H] */
  SfTensor *patch_w;               /* [H, 1, P, P] */
  SfTensor *patch_b;               /* [H] */
  SfTensor *ln_g, *ln_b;           /* [H] final LayerNorm */
  SfTensor *head_ln_g, *head_ln_b; /* [H] */
  SfTensor *head_w, *head_b;       /* [labels, H], (labels) */
} AstGlobals;

typedef struct
{
  AstGlobals g;
  SfEncoderLayer *layers;
  int n_layers;
  SfEncoderParams params;
  gint64 sizes[SZ_COUNT];
  gint64 n_mels, max_length; /* the input the patches were laid out for */
  gint64 freq_out, time_out; /* patches along each axis */
  int freq_stride, time_stride;
  gboolean classifier;
  SfWeightTarget target; /* with this variant's weight table */
} AstGraph;

#define G(field) offsetof (AstGlobals, field)

static const SfWeightSpec ast_weights[] = {
  { "embeddings.cls_token", { SZ_ONE, SZ_ONE, SZ_HIDDEN, -1 }, 0,
      G (cls_token) },
  { "embeddings.distillation_token", { SZ_ONE, SZ_ONE, SZ_HIDDEN, -1 }, 0,
      G (dist_token) },
  { "embeddings.position_embeddings", { SZ_ONE, SZ_POS, SZ_HIDDEN, -1 }, 0,
      G (pos_emb) },
  { "embeddings.patch_embeddings.projection.weight",
      { SZ_HIDDEN, SZ_ONE, SZ_PATCH, SZ_PATCH }, 0, G (patch_w) },
  { "embeddings.patch_embeddings.projection.bias", { SZ_HIDDEN, -1 }, 0,
      G (patch_b) },
  { "layernorm.weight", { SZ_HIDDEN, -1 }, 0, G (ln_g) },
  { "layernorm.bias", { SZ_HIDDEN, -1 }, 0, G (ln_b) },
};

static const SfWeightSpec ast_classifier_weights[] = {
  { "classifier.layernorm.weight", { SZ_HIDDEN, -1 }, SF_WEIGHT_HEAD,
      G (head_ln_g) },
  { "classifier.layernorm.bias", { SZ_HIDDEN, -1 }, SF_WEIGHT_HEAD,
      G (head_ln_b) },
  { "classifier.dense.weight", { SZ_LABELS, SZ_HIDDEN, -1 }, SF_WEIGHT_HEAD,
      G (head_w) },
  { "classifier.dense.bias", { SZ_LABELS, -1 }, SF_WEIGHT_HEAD, G (head_b) },
};

static const SfArchitecture ast_architectures[] = {
  { "ASTModel", FALSE },
  { "ASTForAudioClassification", TRUE },
};

static void
ast_free (gpointer data)
{
  AstGraph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->target);
  g_free (g->layers);
  g_free (g);
}

static gboolean
ast_read_config (AstGraph *g, SfModel *model, const SfConfig *cfg,
    gboolean *qkv_bias, GError **error)
{
  const char *origin = sf_config_origin (cfg);
  gint64 heads, layers, fstride, tstride;
  double eps;

  if (!sf_config_int_min (cfg, "hidden_size", 1, &g->sizes[SZ_HIDDEN], error)
      || !sf_config_int_min (
          cfg, "intermediate_size", 1, &g->sizes[SZ_INTER], error)
      || !sf_config_int_min (cfg, "num_hidden_layers", 1, &layers, error)
      || !sf_config_int_min (cfg, "num_attention_heads", 1, &heads, error)
      || !sf_config_int_min (cfg, "patch_size", 1, &g->sizes[SZ_PATCH], error)
      || !sf_config_int_min (cfg, "frequency_stride", 1, &fstride, error)
      || !sf_config_int_min (cfg, "time_stride", 1, &tstride, error)
      || !sf_config_int_min (cfg, "num_mel_bins", 1, &g->n_mels, error)
      || !sf_config_int_min (cfg, "max_length", 1, &g->max_length, error)
      || !sf_config_eps_or (cfg, "layer_norm_eps", 1e-12, &eps, error)
      || !sf_config_bool_or (cfg, "qkv_bias", TRUE, qkv_bias, error)
      || !sf_model_read_activation (
          cfg, "hidden_act", "gelu", &g->params.act, error))
    return FALSE;
  if (g->sizes[SZ_HIDDEN] % heads != 0 || layers > 1000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: hidden_size %" G_GINT64_FORMAT " is not a multiple of "
        "num_attention_heads, or num_hidden_layers is out of range",
        origin, g->sizes[SZ_HIDDEN]);
    return FALSE;
  }
  /* bound every factor before the casts to int and the product below */
  if (g->sizes[SZ_PATCH] > G_MAXINT || fstride > G_MAXINT || tstride > G_MAXINT
      || g->n_mels > AST_MAX_SIDE || g->max_length > AST_MAX_SIDE) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: patch_size, frequency_stride, time_stride, num_mel_bins or "
        "max_length is out of range (num_mel_bins and max_length at most %d)",
        origin, AST_MAX_SIDE);
    return FALSE;
  }
  g->freq_out =
      sf_conv2d_out_size (g->n_mels, (int)g->sizes[SZ_PATCH], (int)fstride, 0);
  g->time_out = sf_conv2d_out_size (
      g->max_length, (int)g->sizes[SZ_PATCH], (int)tstride, 0);
  if (g->freq_out < 1 || g->time_out < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: patch_size %" G_GINT64_FORMAT
        " does not fit num_mel_bins %" G_GINT64_FORMAT
        " x max_length %" G_GINT64_FORMAT,
        origin, g->sizes[SZ_PATCH], g->n_mels, g->max_length);
    return FALSE;
  }
  g->freq_stride = (int)fstride;
  g->time_stride = (int)tstride;
  g->sizes[SZ_POS] = g->freq_out * g->time_out + 2;
  g->sizes[SZ_ONE] = 1;
  g->n_layers = (int)layers;
  g->params.n_heads = (int)heads;
  g->params.eps = (float)eps;
  model->hidden_size = g->sizes[SZ_HIDDEN];
  model->max_positions = g->sizes[SZ_POS];
  return TRUE;
}

/* The fbank front-end; its mel bins and frames must be the ones the
 * patch grid was laid out for. */
static gboolean
ast_load_frontend (
    AstGraph *g, SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  g_autofree char *path = sf_checkpoint_file (ckpt, "preprocessor_config.json");
  g_autoptr (SfConfig) pp = NULL;
  gint64 mels, frames;

  if (path == NULL)
    return TRUE; /* features must then come from the caller */
  pp = sf_config_load (path, error);
  if (pp == NULL || !sf_config_int_or (pp, "num_mel_bins", 128, &mels, error)
      || !sf_config_int_or (pp, "max_length", 1024, &frames, error))
    return FALSE;
  if (mels != g->n_mels || frames != g->max_length) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_mel_bins %" G_GINT64_FORMAT " and max_length %" G_GINT64_FORMAT
        " do not match config.json's %" G_GINT64_FORMAT
        " and %" G_GINT64_FORMAT,
        path, mels, frames, g->n_mels, g->max_length);
    return FALSE;
  }
  model->audio_frontend =
      sf_audio_frontend_load (path, SF_AUDIO_FRONTEND_KALDI_FBANK, error);
  return model->audio_frontend != NULL;
}

static gpointer
ast_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "audio_spectrogram_transformer.", "",
    NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  AstGraph *g = g_new0 (AstGraph, 1);
  const char *prefix;
  gboolean qkv_bias;

  if (!sf_model_match_architecture (model, ast_architectures,
          G_N_ELEMENTS (ast_architectures), &g->classifier, error)
      || !ast_read_config (g, model, cfg, &qkv_bias, error))
    goto fail;
  if (g->classifier) {
    if (!sf_model_read_labels (model, cfg, error))
      goto fail;
    if (!sf_config_has (cfg, "problem_type"))
      model->problem_type = SF_PROBLEM_MULTI_LABEL;
    g->sizes[SZ_LABELS] = model->labels->len;
  }

  prefix = sf_weights_find_prefix (ckpt, prefixes, "embeddings.cls_token");
  g->layers = g_new0 (SfEncoderLayer, g->n_layers);
  g->target = (SfWeightTarget){
    .precision = model->precision,
    .prefix = prefix ? prefix : "",
    .sizes = g->sizes,
    .n_layers = g->n_layers,
    .globals = &g->g,
    .layers = g->layers,
    .layer_stride = sizeof (SfEncoderLayer),
  };
  sf_weight_target_add (&g->target, ast_weights, G_N_ELEMENTS (ast_weights));
  sf_weight_target_add (&g->target, sf_encoder_vit_layer_weights,
      sf_encoder_vit_layer_weights_len);
  if (qkv_bias)
    sf_weight_target_add (&g->target, sf_encoder_vit_qkv_bias_weights,
        sf_encoder_vit_qkv_bias_weights_len);
  if (g->classifier)
    sf_weight_target_add (&g->target, ast_classifier_weights,
        G_N_ELEMENTS (ast_classifier_weights));
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error)
      || !ast_load_frontend (g, model, ckpt, error))
    goto fail;
  sf_encoder_layers_fuse_qkv (g->layers, g->n_layers);
  model->has_classifier = g->classifier;
  return g;

fail:
  ast_free (g);
  return NULL;
}

/* ASTEmbeddings: fbank [B, frames, mels] → (transfer full) [B, N + 2, H]. */
static SfTensor *
ast_embed (AstGraph *g, const SfTensor *fbank)
{
  gint64 b = sf_tensor_dim (fbank, 0), h = g->sizes[SZ_HIDDEN];
  gint64 n = g->freq_out * g->time_out, pos = g->sizes[SZ_POS];
  SfConv2dParams conv = { .stride = { g->freq_stride, g->time_stride },
    .padding = { 0, 0 },
    .groups = 1 };
  g_autoptr (SfTensor) spec = sf_tensor_new_f32 (
      3, b, g->n_mels, g->max_length); /* [B, mels, frames] */
  g_autoptr (SfTensor) image = NULL;
  g_autoptr (SfTensor) grid =
      sf_tensor_new_f32 (4, b, h, g->freq_out, g->time_out); /* [B, H, f, t] */
  g_autoptr (SfTensor) grid3 = NULL;
  g_autoptr (SfTensor) patches = sf_tensor_new_f32 (3, b, n, h); /* [B, N, H] */
  g_autoptr (SfTensor) pos2 =
      sf_tensor_reshape (g->g.pos_emb, 2, (gint64[]){ pos, h });
  SfTensor *x = sf_tensor_new_f32 (3, b, pos, h); /* [B, N + 2, H] */

  sf_op_transpose_last2 (spec, fbank);
  image =
      sf_tensor_reshape (spec, 4, (gint64[]){ b, 1, g->n_mels, g->max_length });
  sf_op_conv2d (grid, image, g->g.patch_w, g->g.patch_b, &conv);
  grid3 = sf_tensor_reshape (grid, 3, (gint64[]){ b, h, n });
  sf_op_transpose_last2 (patches, grid3);

  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) xi = sf_tensor_slice0 (x, i, 1);
    g_autoptr (SfTensor) pi = sf_tensor_slice0 (patches, i, 1);
    g_autoptr (SfTensor) xi2 = sf_tensor_reshape (xi, 2, (gint64[]){ pos, h });
    SfTensor *parts[] = { g->g.cls_token, g->g.dist_token, pi };
    sf_op_concat (xi, parts, 3, 1);
    sf_op_add (xi2, xi2, pos2);
  }
  return x;
}

static gboolean
ast_forward_audio (gpointer data, const SfAudioInput *in, gboolean want_hidden,
    SfAudioOutput *out, GError **error)
{
  AstGraph *g = data;
  const SfTensor *f = in->features;
  gint64 b, h = g->sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) pooled = NULL;
  SfTensor *x;

  if (f->ndim != 3 || f->shape[1] != g->max_length
      || f->shape[2] != g->n_mels) {
    g_autofree char *shape = sf_tensor_shape_string (f);
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "AST takes fbank features [B, %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
        "] (max_length, num_mel_bins), not %s",
        g->max_length, g->n_mels, shape);
    return FALSE;
  }
  b = f->shape[0];
  x = ast_embed (g, f);
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  x = sf_encoder_stack_pre_ln (
      g->layers, g->n_layers, &g->params, x, NULL, out->hidden_states);
  /* a new tensor: the hidden states keep the last layer's output */
  out->last_hidden_state = sf_tensor_new (SF_DTYPE_F32, 3, x->shape);
  sf_op_layer_norm (
      out->last_hidden_state, x, g->g.ln_g, g->g.ln_b, g->params.eps);
  sf_tensor_unref (x);
  if (!g->classifier)
    return TRUE;

  /* (cls + distillation) / 2, then ASTMLPHead */
  pooled = sf_tensor_new_f32 (2, b, h);
  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) xi = sf_tensor_slice0 (out->last_hidden_state, i, 1);
    g_autoptr (SfTensor) rows =
        sf_tensor_reshape (xi, 2, (gint64[]){ g->sizes[SZ_POS], h });
    g_autoptr (SfTensor) cls = sf_tensor_slice0 (rows, 0, 1);
    g_autoptr (SfTensor) dist = sf_tensor_slice0 (rows, 1, 1);
    g_autoptr (SfTensor) pi = sf_tensor_slice0 (pooled, i, 1);
    sf_op_add (pi, cls, dist);
  }
  sf_op_scale (pooled, pooled, 0.5f);
  sf_op_layer_norm (
      pooled, pooled, g->g.head_ln_g, g->g.head_ln_b, g->params.eps);
  out->logits = sf_tensor_new_f32 (2, b, g->sizes[SZ_LABELS]);
  sf_op_linear (out->logits, pooled, g->g.head_w, g->g.head_b);
  return TRUE;
}

static const char *const ast_model_types[] = { "audio-spectrogram-transformer",
  NULL };

static gboolean
ast_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  AstGraph *g = data;

  if (in != NULL
      && (in->ndim != 2 || in->dims[0] != g->max_length
          || in->dims[1] != g->n_mels)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "AST takes fbank features [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
        "] (max_length, num_mel_bins)",
        g->max_length, g->n_mels);
    return FALSE;
  }
  sf_shape_set (&out->last_hidden_state, 2, g->freq_out * g->time_out + 2,
      g->sizes[SZ_HIDDEN]);
  sf_shape_set (&out->logits, 1, g->sizes[SZ_LABELS]);
  return TRUE;
}

const SfFamily sf_family_ast = {
  .name = "ast",
  .modality = SF_MODALITY_AUDIO,
  .model_types = ast_model_types,
  .load = ast_load,
  .free = ast_free,
  .forward_audio = ast_forward_audio,
  .output_shapes = ast_output_shapes,
};
