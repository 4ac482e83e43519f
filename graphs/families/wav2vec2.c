/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: wav2vec2 (Wav2Vec2Model, Wav2Vec2ForCTC).
 *
 * Mirrors modeling_wav2vec2:
 * - Wav2Vec2FeatureEncoder: a stack of 1-D convolutions (conv_dim,
 *   conv_kernel, conv_stride, with bias when conv_bias) over the raw
 *   waveform, each followed by feat_extract_activation. With
 *   feat_extract_norm "group" the first one is followed by a GroupNorm with
 *   one group per channel; with "layer" every one by a LayerNorm over
 *   channels. Both norms use PyTorch's default eps 1e-5, not the config's.
 * - Wav2Vec2FeatureProjection: LayerNorm, then a linear map to hidden_size.
 * - Wav2Vec2PositionalConvEmbedding: a grouped convolution over time whose
 *   kernel is stored weight-normed over dim 2 (g, v: the Hub's legacy
 *   weight_g / weight_v or the newer parametrizations.weight.original0/1);
 *   the fused kernel g·v/‖v‖ is computed once at load. With an even kernel
 *   the last output frame is dropped (Wav2Vec2SamePadLayer).
 * - Wav2Vec2Encoder (post-LN): positions added, LayerNorm, then post-LN
 *   layers (graphs/encoder.c). Wav2Vec2EncoderStableLayerNorm
 *   (do_stable_layer_norm): positions added, pre-LN layers, then the
 *   LayerNorm at the end; its last hidden state is the normalised one.
 * - Wav2Vec2ForCTC: lm_head, a linear map to vocab_size, per frame.
 */
#include "graphs/families/wav2vec2.h"
#include "graphs/model-private.h"
#include "graphs/encoder.h"
#include "graphs/weights.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "core/ops/conv.h"
#include "core/ops/channel-norm.h"

#include <stddef.h>

#define W2V_MAX_CONV 16
/* PyTorch's default eps of the feature encoder's GroupNorm / LayerNorm */
#define W2V_CONV_NORM_EPS 1e-5f

enum
{
  SZ_HIDDEN,
  SZ_INTER,
  SZ_VOCAB,
  SZ_FEAT,
  SZ_POS_K,
  SZ_POS_IN,
  SZ_ONE,
  SZ_CONV /* then (out, in, kernel) per conv layer */
};
#define SZ_CONV_OUT(i) (SZ_CONV + 3 * (i))
#define SZ_CONV_IN(i) (SZ_CONV + 3 * (i) + 1)
#define SZ_CONV_K(i) (SZ_CONV + 3 * (i) + 2)
#define SZ_COUNT (SZ_CONV + 3 * W2V_MAX_CONV)

typedef enum
{
  W2V_NORM_GROUP,
  W2V_NORM_LAYER,
} W2vFeatNorm;

typedef struct
{
  SfTensor *conv_w[W2V_MAX_CONV];    /* (out, in, kernel) */
  SfTensor *conv_b[W2V_MAX_CONV];    /* (out), with conv_bias */
  SfTensor *conv_ln_g[W2V_MAX_CONV]; /* (out): layer 0 (group) or all (layer) */
  SfTensor *conv_ln_b[W2V_MAX_CONV];
  SfTensor *fp_ln_g, *fp_ln_b;   /* [C] */
  SfTensor *fp_w, *fp_b;         /* [H, C], [H] */
  SfTensor *pos_g;               /* [1, 1, K] */
  SfTensor *pos_v;               /* [H, H/groups, K] */
  SfTensor *pos_b;               /* [H] */
  SfTensor *enc_ln_g, *enc_ln_b; /* [H] */
  SfTensor *lm_w, *lm_b;         /* [V, H], [V] */
} W2vGlobals;

typedef struct
{
  W2vGlobals g;
  /* per group, g·v/‖v‖ as sf_conv1d_frames_weight () lays it out, owned */
  SfTensor **pos_frames_w;
  /* conv_w as [out, kernel · in] for channels-last frames, owned */
  SfTensor *frames_w[W2V_MAX_CONV];
  SfEncoderLayer *layers;
  int n_layers;
  SfEncoderParams params;
  gint64 sizes[SZ_COUNT];
  int n_conv;
  int conv_stride[W2V_MAX_CONV];
  W2vFeatNorm feat_norm;
  gboolean conv_bias;
  SfActivation feat_act;
  gboolean stable; /* do_stable_layer_norm */
  int pos_groups;
  gboolean ctc;
  GPtrArray *names;      /* char*: the generated spec names */
  SfWeightTarget target; /* with this variant's weight table */
} W2vGraph;

#define G(field) offsetof (W2vGlobals, field)
#define L(field) offsetof (SfEncoderLayer, field)
#define PL (SF_WEIGHT_PER_LAYER)

static const SfWeightSpec w2v_weights[] = {
  { "feature_projection.layer_norm.weight", { SZ_FEAT, -1 }, 0, G (fp_ln_g) },
  { "feature_projection.layer_norm.bias", { SZ_FEAT, -1 }, 0, G (fp_ln_b) },
  { "feature_projection.projection.weight", { SZ_HIDDEN, SZ_FEAT, -1 }, 0,
      G (fp_w) },
  { "feature_projection.projection.bias", { SZ_HIDDEN, -1 }, 0, G (fp_b) },
  { "encoder.pos_conv_embed.conv.bias", { SZ_HIDDEN, -1 }, 0, G (pos_b) },
  { "encoder.layer_norm.weight", { SZ_HIDDEN, -1 }, 0, G (enc_ln_g) },
  { "encoder.layer_norm.bias", { SZ_HIDDEN, -1 }, 0, G (enc_ln_b) },
  { "encoder.layers.{L}.attention.q_proj.weight", { SZ_HIDDEN, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (q_w) },
  { "encoder.layers.{L}.attention.q_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (q_b) },
  { "encoder.layers.{L}.attention.k_proj.weight", { SZ_HIDDEN, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (k_w) },
  { "encoder.layers.{L}.attention.k_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (k_b) },
  { "encoder.layers.{L}.attention.v_proj.weight", { SZ_HIDDEN, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (v_w) },
  { "encoder.layers.{L}.attention.v_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (v_b) },
  { "encoder.layers.{L}.attention.out_proj.weight",
      { SZ_HIDDEN, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, L (o_w) },
  { "encoder.layers.{L}.attention.out_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (o_b) },
  { "encoder.layers.{L}.layer_norm.weight", { SZ_HIDDEN, -1 }, PL, L (ln1_g) },
  { "encoder.layers.{L}.layer_norm.bias", { SZ_HIDDEN, -1 }, PL, L (ln1_b) },
  { "encoder.layers.{L}.feed_forward.intermediate_dense.weight",
      { SZ_INTER, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, L (ffn_in_w) },
  { "encoder.layers.{L}.feed_forward.intermediate_dense.bias", { SZ_INTER, -1 },
      PL, L (ffn_in_b) },
  { "encoder.layers.{L}.feed_forward.output_dense.weight",
      { SZ_HIDDEN, SZ_INTER, -1 }, PL | SF_WEIGHT_LINEAR, L (ffn_out_w) },
  { "encoder.layers.{L}.feed_forward.output_dense.bias", { SZ_HIDDEN, -1 }, PL,
      L (ffn_out_b) },
  { "encoder.layers.{L}.final_layer_norm.weight", { SZ_HIDDEN, -1 }, PL,
      L (ln2_g) },
  { "encoder.layers.{L}.final_layer_norm.bias", { SZ_HIDDEN, -1 }, PL,
      L (ln2_b) },
};

/* The weight-normed positional kernel under its two spellings. */
static const SfWeightSpec w2v_pos_legacy_weights[] = {
  { "encoder.pos_conv_embed.conv.weight_g", { SZ_ONE, SZ_ONE, SZ_POS_K, -1 }, 0,
      G (pos_g) },
  { "encoder.pos_conv_embed.conv.weight_v",
      { SZ_HIDDEN, SZ_POS_IN, SZ_POS_K, -1 }, 0, G (pos_v) },
};

static const SfWeightSpec w2v_pos_parametrized_weights[] = {
  { "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
      { SZ_ONE, SZ_ONE, SZ_POS_K, -1 }, 0, G (pos_g) },
  { "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
      { SZ_HIDDEN, SZ_POS_IN, SZ_POS_K, -1 }, 0, G (pos_v) },
};

static const SfWeightSpec w2v_ctc_weights[] = {
  { "lm_head.weight", { SZ_VOCAB, SZ_HIDDEN, -1 }, SF_WEIGHT_HEAD, G (lm_w) },
  { "lm_head.bias", { SZ_VOCAB, -1 }, SF_WEIGHT_HEAD, G (lm_b) },
};

/* Architectures whose encoder we run, and whether they carry lm_head. */
static const SfArchitecture w2v_architectures[] = {
  { "Wav2Vec2Model", FALSE },
  { "Wav2Vec2ForCTC", TRUE },
  { "Wav2Vec2ForPreTraining", FALSE },
};

static void
w2v_free (gpointer data)
{
  W2vGraph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->target);
  if (g->names)
    g_ptr_array_unref (g->names);
  for (int i = 0; g->pos_frames_w && i < g->pos_groups; i++)
    sf_tensor_unref (g->pos_frames_w[i]);
  g_free (g->pos_frames_w);
  for (int i = 0; i < W2V_MAX_CONV; i++)
    sf_tensor_unref (g->frames_w[i]);
  g_free (g->layers);
  g_free (g);
}

/* Reads an int list field of exactly @n entries, each ≥ 1. */
static gboolean
read_int_list (
    const SfConfig *cfg, const char *key, int n, gint64 *out, GError **error)
{
  const cJSON *list = sf_config_get (cfg, key), *item;
  int i = 0;

  if (!cJSON_IsArray (list) || cJSON_GetArraySize (list) != n) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be a list of %d integers", sf_config_origin (cfg),
        key, n);
    return FALSE;
  }
  cJSON_ArrayForEach (item, list) {
    if (!cJSON_IsNumber (item) || item->valuedouble < 1
        || item->valuedouble > 1e6
        || item->valuedouble != (gint64)item->valuedouble) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: field '%s' entry %d must be an integer in [1, 1000000]",
          sf_config_origin (cfg), key, i);
      return FALSE;
    }
    out[i++] = (gint64)item->valuedouble;
  }
  return TRUE;
}

static gboolean
w2v_activation (
    const SfConfig *cfg, const char *key, SfActivation *act, GError **error)
{
  const char *name;

  if (!sf_config_string_or (cfg, key, "gelu", &name, error))
    return FALSE;
  if (!sf_activation_from_name (name, act)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s '%s' is not supported", sf_config_origin (cfg), key, name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
w2v_read_config (
    W2vGraph *g, SfModel *model, const SfConfig *cfg, GError **error)
{
  const char *origin = sf_config_origin (cfg), *norm;
  gint64 heads, layers, n_conv, pos_groups, out_hidden;
  gint64 dims[W2V_MAX_CONV], kernels[W2V_MAX_CONV], strides[W2V_MAX_CONV];
  gboolean adapter;
  double eps;

  if (!sf_config_int_min (cfg, "hidden_size", 1, &g->sizes[SZ_HIDDEN], error)
      || !sf_config_int_min (
          cfg, "intermediate_size", 1, &g->sizes[SZ_INTER], error)
      || !sf_config_int_min (cfg, "vocab_size", 1, &g->sizes[SZ_VOCAB], error)
      || !sf_config_int_min (cfg, "num_hidden_layers", 1, &layers, error)
      || !sf_config_int_min (cfg, "num_attention_heads", 1, &heads, error)
      || !sf_config_int_min (cfg, "num_feat_extract_layers", 1, &n_conv, error)
      || !sf_config_int_min (
          cfg, "num_conv_pos_embeddings", 1, &g->sizes[SZ_POS_K], error)
      || !sf_config_int_min (
          cfg, "num_conv_pos_embedding_groups", 1, &pos_groups, error)
      || !sf_config_eps_or (cfg, "layer_norm_eps", 1e-5, &eps, error)
      || !sf_config_string_or (cfg, "feat_extract_norm", "group", &norm, error)
      || !sf_config_bool_or (cfg, "conv_bias", FALSE, &g->conv_bias, error)
      || !sf_config_bool_or (
          cfg, "do_stable_layer_norm", FALSE, &g->stable, error)
      || !sf_config_bool_or (cfg, "add_adapter", FALSE, &adapter, error)
      || !w2v_activation (cfg, "hidden_act", &g->params.act, error)
      || !w2v_activation (cfg, "feat_extract_activation", &g->feat_act, error))
    return FALSE;
  if (n_conv > W2V_MAX_CONV || layers > 1000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_feat_extract_layers (at most %d) or num_hidden_layers is "
        "out of range",
        origin, W2V_MAX_CONV);
    return FALSE;
  }
  if (!read_int_list (cfg, "conv_dim", (int)n_conv, dims, error)
      || !read_int_list (cfg, "conv_kernel", (int)n_conv, kernels, error)
      || !read_int_list (cfg, "conv_stride", (int)n_conv, strides, error))
    return FALSE;
  if (g->sizes[SZ_HIDDEN] % heads != 0
      || g->sizes[SZ_HIDDEN] % pos_groups != 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: hidden_size %" G_GINT64_FORMAT " is not a multiple of "
        "num_attention_heads or num_conv_pos_embedding_groups",
        origin, g->sizes[SZ_HIDDEN]);
    return FALSE;
  }
  if (g_strcmp0 (norm, "group") == 0) {
    g->feat_norm = W2V_NORM_GROUP;
  } else if (g_strcmp0 (norm, "layer") == 0) {
    g->feat_norm = W2V_NORM_LAYER;
  } else {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: feat_extract_norm '%s' is not supported (group, layer)", origin,
        norm);
    return FALSE;
  }
  if (adapter) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: add_adapter is not supported", origin);
    return FALSE;
  }
  if (!sf_config_int_or (
          cfg, "output_hidden_size", g->sizes[SZ_HIDDEN], &out_hidden, error))
    return FALSE;
  if (out_hidden != g->sizes[SZ_HIDDEN]) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: output_hidden_size differs from hidden_size", origin);
    return FALSE;
  }

  g->n_conv = (int)n_conv;
  for (int i = 0; i < g->n_conv; i++) {
    g->sizes[SZ_CONV_OUT (i)] = dims[i];
    g->sizes[SZ_CONV_IN (i)] = i == 0 ? 1 : dims[i - 1];
    g->sizes[SZ_CONV_K (i)] = kernels[i];
    g->conv_stride[i] = (int)strides[i];
  }
  g->sizes[SZ_FEAT] = dims[n_conv - 1];
  g->sizes[SZ_POS_IN] = g->sizes[SZ_HIDDEN] / pos_groups;
  g->sizes[SZ_ONE] = 1;
  g->pos_groups = (int)pos_groups;
  g->n_layers = (int)layers;
  g->params.n_heads = (int)heads;
  g->params.eps = (float)eps;
  model->hidden_size = g->sizes[SZ_HIDDEN];
  model->max_positions = 0;
  return TRUE;
}

/* Adds one generated (non-layer) entry to the table. */
static void
add_spec (W2vGraph *g, char *name, int d0, int d1, int d2, gsize offset)
{
  SfWeightSpec spec = {
    .name = name, .dims = { d0, d1, d2, -1 }, .flags = 0, .offset = offset
  };
  g_ptr_array_add (g->names, name);
  sf_weight_target_add (&g->target, &spec, 1);
}

static void
w2v_build_specs (W2vGraph *g, gboolean legacy_pos)
{
  g->names = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < g->n_conv; i++) {
    gboolean normed = g->feat_norm == W2V_NORM_LAYER || i == 0;
    add_spec (g,
        g_strdup_printf ("feature_extractor.conv_layers.%d.conv."
                         "weight",
            i),
        SZ_CONV_OUT (i), SZ_CONV_IN (i), SZ_CONV_K (i),
        G (conv_w) + i * sizeof (SfTensor *));
    if (g->conv_bias)
      add_spec (g,
          g_strdup_printf ("feature_extractor.conv_layers.%d.conv."
                           "bias",
              i),
          SZ_CONV_OUT (i), -1, -1, G (conv_b) + i * sizeof (SfTensor *));
    if (normed) {
      add_spec (g,
          g_strdup_printf ("feature_extractor.conv_layers.%d."
                           "layer_norm.weight",
              i),
          SZ_CONV_OUT (i), -1, -1, G (conv_ln_g) + i * sizeof (SfTensor *));
      add_spec (g,
          g_strdup_printf ("feature_extractor.conv_layers.%d."
                           "layer_norm.bias",
              i),
          SZ_CONV_OUT (i), -1, -1, G (conv_ln_b) + i * sizeof (SfTensor *));
    }
  }
#define APPEND(table)                                                          \
  sf_weight_target_add (&g->target, table, G_N_ELEMENTS (table))
  APPEND (w2v_weights);
  if (legacy_pos)
    APPEND (w2v_pos_legacy_weights);
  else
    APPEND (w2v_pos_parametrized_weights);
  if (g->ctc)
    APPEND (w2v_ctc_weights);
#undef APPEND
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (W2vGraph, w2v_free)

static gpointer
w2v_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "wav2vec2.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  g_autoptr (W2vGraph) g = g_new0 (W2vGraph, 1);
  g_autofree char *legacy_name = NULL, *pp = NULL;
  g_autoptr (SfTensor) legacy = NULL;
  const char *prefix;

  if (!sf_model_match_architecture (model, w2v_architectures,
          G_N_ELEMENTS (w2v_architectures), &g->ctc, error)
      || !w2v_read_config (g, model, cfg, error))
    return NULL;

  prefix = sf_weights_find_prefix (
      ckpt, prefixes, "feature_projection.projection.weight");
  prefix = prefix ? prefix : "";
  legacy_name =
      g_strconcat (prefix, "encoder.pos_conv_embed.conv.weight_g", NULL);
  legacy = sf_checkpoint_tensor (ckpt, legacy_name);
  g->layers = g_new0 (SfEncoderLayer, g->n_layers);
  g->target = (SfWeightTarget){
    .precision = model->precision,
    .prefix = prefix,
    .sizes = g->sizes,
    .n_layers = g->n_layers,
    .globals = &g->g,
    .layers = g->layers,
    .layer_stride = sizeof (SfEncoderLayer),
  };
  w2v_build_specs (g, legacy != NULL);
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    return NULL;
  sf_encoder_layers_fuse_qkv (g->layers, g->n_layers);

  /* weight_norm (dim=2): one norm per kernel tap, over (out, in) */
  {
    g_autoptr (SfTensor) pos_w =
        sf_tensor_new (SF_DTYPE_F32, 3, g->g.pos_v->shape);
    gint64 per_group = g->sizes[SZ_HIDDEN] / g->pos_groups;

    sf_op_weight_norm (pos_w, g->g.pos_g, g->g.pos_v, 2);
    g->pos_frames_w = g_new0 (SfTensor *, g->pos_groups);
    for (int i = 0; i < g->pos_groups; i++) {
      g_autoptr (SfTensor) slice =
          sf_tensor_slice0 (pos_w, i * per_group, per_group);
      g->pos_frames_w[i] = sf_conv1d_frames_weight (slice);
    }
  }
  for (int i = 0; i < g->n_conv; i++)
    g->frames_w[i] = sf_conv1d_frames_weight (g->g.conv_w[i]);

  pp = sf_checkpoint_file (ckpt, "preprocessor_config.json");
  if (pp != NULL) {
    model->audio_frontend =
        sf_audio_frontend_load (pp, SF_AUDIO_FRONTEND_WAVEFORM, error);
    if (model->audio_frontend == NULL)
      return NULL;
  }
  return g_steal_pointer (&g);
}

static W2vGraph *
w2v_graph_of (SfModel *model, GError **error)
{
  extern const SfFamily sf_family_wav2vec2;

  if (model->family != &sf_family_wav2vec2) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model is not wav2vec2", sf_model_dir (model),
        sf_model_kind (model));
    return NULL;
  }
  return model->graph;
}

gboolean
sf_wav2vec2_is_ctc (const SfModel *model)
{
  W2vGraph *g = w2v_graph_of ((SfModel *)model, NULL);
  return g != NULL && g->ctc;
}

/* Wav2Vec2FeatureEncoder: waveform [B, N] → (transfer full) [B, T, C].
 * Channels-last: each conv layer is then one product over overlapping
 * frames (sf_op_conv1d_frames), with no im2col copy of its input. */
static SfTensor *
w2v_feature_encoder (W2vGraph *g, const SfTensor *wave, GError **error)
{
  gint64 b = sf_tensor_dim (wave, 0), n = sf_tensor_dim (wave, 1);
  g_autoptr (SfTensor) x = NULL;

  /* check the whole stack first: no conv may run on too few frames */
  for (int i = 0, t = 0; i < g->n_conv; i++) {
    gint64 len = i == 0 ? n : t;
    t = (int)sf_conv1d_out_size (
        len, (int)g->sizes[SZ_CONV_K (i)], g->conv_stride[i], 0);
    if (t < 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%" G_GINT64_FORMAT " audio samples are too few for the feature "
          "encoder (conv layer %d gets %" G_GINT64_FORMAT " frames)",
          n, i, len);
      return NULL;
    }
  }

  x = sf_tensor_reshape ((SfTensor *)wave, 3, (gint64[]){ b, n, 1 });
  for (int i = 0; i < g->n_conv; i++) {
    gint64 c = g->sizes[SZ_CONV_OUT (i)];
    int k = (int)g->sizes[SZ_CONV_K (i)];
    gint64 t =
        sf_conv1d_out_size (sf_tensor_dim (x, 1), k, g->conv_stride[i], 0);
    /* [B, T, C], every frame written by the conv */
    SfTensor *y = sf_tensor_new_uninit (SF_DTYPE_F32, 3, (gint64[]){ b, t, c });

    sf_op_conv1d_frames (
        y, x, g->frames_w[i], g->g.conv_b[i], k, g->conv_stride[i], 0);
    if (g->feat_norm == W2V_NORM_GROUP && i == 0)
      sf_op_channel_norm_frames (
          y, y, g->g.conv_ln_g[i], g->g.conv_ln_b[i], W2V_CONV_NORM_EPS);
    else if (g->feat_norm == W2V_NORM_LAYER)
      sf_op_layer_norm (
          y, y, g->g.conv_ln_g[i], g->g.conv_ln_b[i], W2V_CONV_NORM_EPS);
    sf_op_activation (y, y, g->feat_act);
    sf_tensor_unref (x);
    x = y;
  }
  return g_steal_pointer (&x);
}

SfTensor *
sf_wav2vec2_conv_features (
    SfModel *model, const SfTensor *waveform, GError **error)
{
  W2vGraph *g = w2v_graph_of (model, error);

  if (g == NULL)
    return NULL;
  if (waveform->dtype != SF_DTYPE_F32 || waveform->ndim != 2) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "wav2vec2 takes an F32 waveform [B, samples]");
    return NULL;
  }
  {
    g_autoptr (SfTensor) frames = w2v_feature_encoder (g, waveform, error);
    SfTensor *conv;

    if (frames == NULL)
      return NULL;
    conv = sf_tensor_new_f32 (
        3, frames->shape[0], frames->shape[2], frames->shape[1]);
    sf_op_transpose_last2 (conv, frames);
    return conv;
  }
}

/* Wav2Vec2PositionalConvEmbedding added to x [B, T, H] in place, on the
 * channels-last frames as they are. */
static void
w2v_add_positions (W2vGraph *g, SfTensor *x)
{
  gint64 b = sf_tensor_dim (x, 0), t = sf_tensor_dim (x, 1);
  gint64 h = g->sizes[SZ_HIDDEN], k = g->sizes[SZ_POS_K];
  gint64 tp = sf_conv1d_out_size (t, (int)k, 1, (int)(k / 2));
  g_autoptr (SfTensor) pos = sf_tensor_new_f32 (3, b, tp, h); /* (B, T', H) */

  sf_op_conv1d_frames_grouped (
      pos, x, g->pos_frames_w, g->g.pos_b, g->pos_groups, (int)k, (int)(k / 2));
  sf_op_activation (pos, pos, g->feat_act);
  /* T' is T + 1 for an even kernel: the extra last frame is dropped */
  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) xi = sf_tensor_slice0 (x, i, 1);
    g_autoptr (SfTensor) pi = sf_tensor_slice0 (pos, i, 1);
    g_autoptr (SfTensor) pi2 = sf_tensor_reshape (pi, 2, (gint64[]){ tp, h });
    g_autoptr (SfTensor) pi_t = sf_tensor_slice0 (pi2, 0, t);
    g_autoptr (SfTensor) xi2 = sf_tensor_reshape (xi, 2, (gint64[]){ t, h });
    sf_op_add (xi2, xi2, pi_t);
  }
}

static gboolean
w2v_forward_audio (gpointer data, const SfAudioInput *in, gboolean want_hidden,
    SfAudioOutput *out, GError **error)
{
  W2vGraph *g = data;
  g_autoptr (SfTensor) feats = NULL, normed = NULL;
  gint64 b, t, c = g->sizes[SZ_FEAT], h = g->sizes[SZ_HIDDEN];
  SfTensor *x;

  if (in->features->ndim != 2) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "wav2vec2 takes a waveform [B, samples]");
    return FALSE;
  }
  feats = w2v_feature_encoder (g, in->features, error); /* [B, T, C] */
  if (feats == NULL)
    return FALSE;
  b = sf_tensor_dim (feats, 0);
  t = sf_tensor_dim (feats, 1);

  /* Wav2Vec2FeatureProjection */
  normed = sf_tensor_new_f32 (3, b, t, c);
  sf_op_layer_norm (normed, feats, g->g.fp_ln_g, g->g.fp_ln_b, g->params.eps);
  x = sf_tensor_new_f32 (3, b, t, h); /* [B, T, H] */
  sf_op_linear (x, normed, g->g.fp_w, g->g.fp_b);

  w2v_add_positions (g, x);
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  if (!g->stable) {
    sf_op_layer_norm (x, x, g->g.enc_ln_g, g->g.enc_ln_b, g->params.eps);
    x = sf_encoder_stack_post_ln (
        g->layers, g->n_layers, &g->params, x, NULL, out->hidden_states);
  } else {
    /* in place: the stack's last hidden state is x itself, so it is
     * taken after the final LayerNorm, as HF's stable encoder does */
    x = sf_encoder_stack_pre_ln (
        g->layers, g->n_layers, &g->params, x, NULL, out->hidden_states);
    sf_op_layer_norm (x, x, g->g.enc_ln_g, g->g.enc_ln_b, g->params.eps);
  }
  out->last_hidden_state = x;
  if (g->ctc) {
    out->logits = sf_tensor_new_f32 (3, b, t, g->sizes[SZ_VOCAB]);
    sf_op_linear (out->logits, x, g->g.lm_w, g->g.lm_b);
  }
  return TRUE;
}

static const char *const w2v_model_types[] = { "wav2vec2", NULL };

/* T is what the feature encoder's convolutions leave of the samples. */
static gboolean
w2v_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  W2vGraph *g = data;
  gint64 t = in == NULL ? -1 : in->ndim == 1 ? in->dims[0] : 0;

  for (int i = 0; in != NULL && i < g->n_conv && t >= 1; i++)
    t = sf_conv1d_out_size (
        t, (int)g->sizes[SZ_CONV_K (i)], g->conv_stride[i], 0);
  if (in != NULL && t < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%" G_GINT64_FORMAT " audio samples are too few for the feature "
        "encoder",
        in->ndim == 1 ? in->dims[0] : 0);
    return FALSE;
  }
  sf_shape_set (&out->last_hidden_state, 2, t, g->sizes[SZ_HIDDEN]);
  if (g->ctc)
    sf_shape_set (&out->logits, 2, t, g->sizes[SZ_VOCAB]);
  return TRUE;
}

const SfFamily sf_family_wav2vec2 = {
  .name = "wav2vec2",
  .modality = SF_MODALITY_AUDIO,
  .model_types = w2v_model_types,
  .load = w2v_load,
  .free = w2v_free,
  .forward_audio = w2v_forward_audio,
  .output_shapes = w2v_output_shapes,
};
