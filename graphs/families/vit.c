/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: ViT.
 *
 * Mirrors modeling_vit: ViTEmbeddings (a patch_size-strided conv turns the
 * image into patch tokens, a learned CLS token goes first, learned
 * absolute position embeddings are added), a stack of pre-LN ViTLayer
 * (graphs/encoder.c), a final LayerNorm, then either ViTPooler (dense +
 * activation over the CLS token, in ViTModel) or, for
 * ViTForImageClassification, a linear classifier over the CLS token.
 * Position embeddings are not interpolated: inputs must be image_size.
 */
#include "graphs/families/image-family.h"
#include "graphs/encoder.h"
#include "graphs/weights.h"
#include "core/error.h"
#include "core/ops/conv.h"
#include "core/ops/layout.h"

#include <stddef.h>
#include <string.h>

enum
{
  SZ_HIDDEN = SF_ENCODER_SIZE_HIDDEN,
  SZ_INTER = SF_ENCODER_SIZE_INTER,
  SZ_CHANNELS,
  SZ_PATCH_H,
  SZ_PATCH_W,
  SZ_TOKENS,
  SZ_ONE,
  SZ_POOL,
  SZ_LABELS,
  SZ_COUNT
};

typedef struct
{
  SfTensor *cls_token;         /* [1, 1, H] */
  SfTensor *pos_emb;           /* [1, N + 1, H] */
  SfTensor *patch_w, *patch_b; /* [H, C, ph, pw], [H] */
  SfTensor *ln_g, *ln_b;       /* [H] final layernorm */
  SfTensor *pool_w, *pool_b;   /* [P, H], [P]; ViTModel only */
  SfTensor *cls_w, *cls_b;     /* [labels, H], (labels) */
} VitGlobals;

typedef struct
{
  VitGlobals g;
  SfEncoderLayer *layers;
  int n_layers;
  SfEncoderParams params;
  SfActivation pool_act;
  gint64 sizes[SZ_COUNT];
  gint64 image[2]; /* image_size [h, w] */
  gint64 grid[2];  /* patches per column, per row */
  gboolean classifier;
  SfWeightTarget target; /* with this variant's weight table */
} VitGraph;

#define G(field) offsetof (VitGlobals, field)

static const SfWeightSpec vit_weights[] = {
  { "embeddings.cls_token", { SZ_ONE, SZ_ONE, SZ_HIDDEN, -1 }, 0,
      G (cls_token) },
  { "embeddings.position_embeddings", { SZ_ONE, SZ_TOKENS, SZ_HIDDEN, -1 }, 0,
      G (pos_emb) },
  { "embeddings.patch_embeddings.projection.weight",
      { SZ_HIDDEN, SZ_CHANNELS, SZ_PATCH_H, SZ_PATCH_W }, 0, G (patch_w) },
  { "embeddings.patch_embeddings.projection.bias", { SZ_HIDDEN, -1 }, 0,
      G (patch_b) },
  { "layernorm.weight", { SZ_HIDDEN, -1 }, 0, G (ln_g) },
  { "layernorm.bias", { SZ_HIDDEN, -1 }, 0, G (ln_b) },
};

/* ViTModel's pooler; checkpoints saved with add_pooling_layer=False omit it. */
static const SfWeightSpec vit_pooler_weights[] = {
  { "pooler.dense.weight", { SZ_POOL, SZ_HIDDEN, -1 }, SF_WEIGHT_OPTIONAL,
      G (pool_w) },
  { "pooler.dense.bias", { SZ_POOL, -1 }, SF_WEIGHT_OPTIONAL, G (pool_b) },
};

static const SfWeightSpec vit_classifier_weights[] = {
  { "classifier.weight", { SZ_LABELS, SZ_HIDDEN, -1 }, SF_WEIGHT_HEAD,
      G (cls_w) },
  { "classifier.bias", { SZ_LABELS, -1 }, SF_WEIGHT_HEAD, G (cls_b) },
};

static const SfArchitecture vit_architectures[] = {
  { "ViTModel", FALSE },
  { "ViTForImageClassification", TRUE },
};

/* ViTImageProcessor's defaults, for folders without preprocessor_config.json */
static const char vit_default_processor[] =
    "{\"do_resize\": true, \"size\": {\"height\": %d, \"width\": %d}, "
    "\"resample\": 2, \"do_rescale\": true, \"do_normalize\": true, "
    "\"image_mean\": [0.5, 0.5, 0.5], \"image_std\": [0.5, 0.5, 0.5]}";

static void
vit_free (gpointer data)
{
  VitGraph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->target);
  g_free (g->layers);
  g_free (g);
}

static gboolean
vit_read_config (VitGraph *g, SfModel *model, const SfConfig *cfg,
    gboolean *qkv_bias, GError **error)
{
  const char *act_name, *pool_act;
  gint64 heads, layers, patch[2];
  double eps;

  if (!sf_config_int_min (cfg, "hidden_size", 1, &g->sizes[SZ_HIDDEN], error)
      || !sf_config_int_min (
          cfg, "intermediate_size", 1, &g->sizes[SZ_INTER], error)
      || !sf_config_int_min (cfg, "num_hidden_layers", 1, &layers, error)
      || !sf_config_int_min (cfg, "num_attention_heads", 1, &heads, error)
      || !sf_config_int_or (
          cfg, "num_channels", 3, &g->sizes[SZ_CHANNELS], error)
      || !sf_image_family_read_pair (cfg, "image_size", 224, g->image, error)
      || !sf_image_family_read_pair (cfg, "patch_size", 16, patch, error)
      || !sf_config_eps_or (cfg, "layer_norm_eps", 1e-12, &eps, error)
      || !sf_config_string_or (cfg, "hidden_act", "gelu", &act_name, error)
      || !sf_config_string_or (cfg, "pooler_act", "tanh", &pool_act, error)
      || !sf_config_int_or (cfg, "pooler_output_size", g->sizes[SZ_HIDDEN],
          &g->sizes[SZ_POOL], error)
      || !sf_config_bool_or (cfg, "qkv_bias", TRUE, qkv_bias, error))
    return FALSE;

  if (g->sizes[SZ_HIDDEN] % heads != 0 || layers > 1000
      || g->sizes[SZ_CHANNELS] < 1 || g->sizes[SZ_POOL] < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: hidden_size must be a multiple of num_attention_heads, and "
        "num_hidden_layers, num_channels, pooler_output_size in range",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (g->image[0] < patch[0] || g->image[1] < patch[1]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: image_size is smaller than patch_size", sf_config_origin (cfg));
    return FALSE;
  }
  if (!sf_activation_from_name (act_name, &g->params.act)
      || !sf_activation_from_name (pool_act, &g->pool_act)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: hidden_act '%s' or pooler_act '%s' is not supported",
        sf_config_origin (cfg), act_name, pool_act);
    return FALSE;
  }
  g->sizes[SZ_PATCH_H] = patch[0];
  g->sizes[SZ_PATCH_W] = patch[1];
  g->grid[0] = g->image[0] / patch[0];
  g->grid[1] = g->image[1] / patch[1];
  g->sizes[SZ_TOKENS] = g->grid[0] * g->grid[1] + 1;
  g->sizes[SZ_ONE] = 1;
  g->n_layers = (int)layers;
  g->params.n_heads = (int)heads;
  g->params.eps = (float)eps;
  model->hidden_size = g->sizes[SZ_HIDDEN];
  model->max_positions = g->sizes[SZ_TOKENS];
  model->image_size[0] = g->image[0];
  model->image_size[1] = g->image[1];
  return TRUE;
}

static gpointer
vit_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "vit.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  VitGraph *g = g_new0 (VitGraph, 1);
  char *default_proc;
  gboolean ok;
  const char *prefix;
  gboolean qkv_bias;

  if (!sf_model_match_architecture (model, vit_architectures,
          G_N_ELEMENTS (vit_architectures), &g->classifier, error)
      || !vit_read_config (g, model, cfg, &qkv_bias, error))
    goto fail;
  if (g->classifier) {
    if (!sf_model_read_labels (model, cfg, error))
      goto fail;
    g->sizes[SZ_LABELS] = model->labels->len;
  }
  default_proc = g_strdup_printf (
      vit_default_processor, (int)g->image[0], (int)g->image[1]);
  ok = sf_image_family_load_processor (model, default_proc, error);
  g_free (default_proc);
  if (!ok)
    goto fail;

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
  sf_weight_target_add (&g->target, vit_weights, G_N_ELEMENTS (vit_weights));
  sf_weight_target_add (&g->target, sf_encoder_vit_layer_weights,
      sf_encoder_vit_layer_weights_len);
  if (qkv_bias)
    sf_weight_target_add (&g->target, sf_encoder_vit_qkv_bias_weights,
        sf_encoder_vit_qkv_bias_weights_len);
  if (g->classifier)
    sf_weight_target_add (&g->target, vit_classifier_weights,
        G_N_ELEMENTS (vit_classifier_weights));
  else
    sf_weight_target_add (
        &g->target, vit_pooler_weights, G_N_ELEMENTS (vit_pooler_weights));
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    goto fail;
  sf_encoder_layers_fuse_qkv (g->layers, g->n_layers);
  model->has_classifier = g->classifier;
  return g;

fail:
  vit_free (g);
  return NULL;
}

/* Mirrors ViTEmbeddings.forward: [B, C, H, W] → [B, N + 1, H]. */
static SfTensor *
vit_embed (VitGraph *g, const SfTensor *px)
{
  gint64 b = px->shape[0], h = g->sizes[SZ_HIDDEN];
  gint64 n = g->grid[0] * g->grid[1], t = n + 1;
  SfConv2dParams conv = {
    .stride = { (int)g->sizes[SZ_PATCH_H], (int)g->sizes[SZ_PATCH_W] },
    .groups = 1,
  };
  g_autoptr (SfTensor) maps =
      sf_tensor_new_f32 (4, b, h, g->grid[0], g->grid[1]); /* [B, H, gh, gw] */
  g_autoptr (SfTensor) maps3 =
      sf_tensor_reshape (maps, 3, (gint64[]){ b, h, n });
  g_autoptr (SfTensor) patches = sf_tensor_new_f32 (3, b, n, h); /* [B, N, H] */
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (3, b, t, h); /* [B, N + 1, H] */
  g_autoptr (SfTensor) rows = sf_tensor_reshape (x, 2, (gint64[]){ b * t, h });
  g_autoptr (SfTensor) flat = sf_tensor_reshape (x, 2, (gint64[]){ b, t * h });
  g_autoptr (SfTensor) pos =
      sf_tensor_reshape (g->g.pos_emb, 2, (gint64[]){ 1, t * h });

  sf_op_conv2d (maps, px, g->g.patch_w, g->g.patch_b, &conv);
  sf_op_transpose_last2 (patches, maps3);
  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) cls_row = sf_tensor_slice0 (rows, i * t, 1);
    g_autoptr (SfTensor) patch_rows = sf_tensor_slice0 (rows, i * t + 1, n);
    g_autoptr (SfTensor) src = sf_tensor_slice0 (patches, i, 1);
    g_autoptr (SfTensor) item = sf_tensor_slice0 (flat, i, 1);
    sf_op_copy (cls_row, g->g.cls_token);
    sf_op_copy (patch_rows, src);
    sf_op_add (item, item, pos);
  }
  return g_steal_pointer (&x);
}

static gboolean
vit_forward_image (gpointer data, const SfImageInput *in, gboolean want_hidden,
    SfImageOutput *out, GError **error)
{
  VitGraph *g = data;
  const SfTensor *px = in->pixel_values;
  gint64 b, h = g->sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) first = NULL;
  SfTensor *x;

  if (!sf_image_family_check_input (
          px, g->sizes[SZ_CHANNELS], g->image[0], g->image[1], error))
    return FALSE;
  b = px->shape[0];
  x = vit_embed (g, px);
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  x = sf_encoder_stack_pre_ln (
      g->layers, g->n_layers, &g->params, x, NULL, out->hidden_states);
  /* the final LayerNorm writes a new tensor: x may be a hidden state */
  out->last_hidden_state = sf_tensor_new (SF_DTYPE_F32, x->ndim, x->shape);
  sf_op_layer_norm (
      out->last_hidden_state, x, g->g.ln_g, g->g.ln_b, g->params.eps);
  sf_tensor_unref (x);
  x = out->last_hidden_state;

  first = sf_tensor_new_f32 (2, b, h);
  sf_op_first_token (first, x);
  if (g->g.pool_w) { /* ViTPooler: act (dense (h[:, 0])) */
    out->pooler_output = sf_tensor_new_f32 (2, b, g->sizes[SZ_POOL]);
    sf_op_linear (out->pooler_output, first, g->g.pool_w, g->g.pool_b);
    sf_op_activation (out->pooler_output, out->pooler_output, g->pool_act);
  }
  if (g->classifier) {
    out->logits = sf_tensor_new_f32 (2, b, g->sizes[SZ_LABELS]);
    sf_op_linear (out->logits, first, g->g.cls_w, g->g.cls_b);
  }
  return TRUE;
}

static const char *const vit_model_types[] = { "vit", NULL };

static gboolean
vit_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  VitGraph *g = data;

  if (in != NULL
      && !sf_image_family_check_shape (
          in, g->sizes[SZ_CHANNELS], g->image[0], g->image[1], error))
    return FALSE;
  sf_shape_set (
      &out->last_hidden_state, 2, g->sizes[SZ_TOKENS], g->sizes[SZ_HIDDEN]);
  if (g->g.pool_w)
    sf_shape_set (&out->pooler_output, 1, g->sizes[SZ_POOL]);
  if (g->classifier)
    sf_shape_set (&out->logits, 1, g->sizes[SZ_LABELS]);
  return TRUE;
}

const SfFamily sf_family_vit = {
  .name = "vit",
  .modality = SF_MODALITY_IMAGE,
  .model_types = vit_model_types,
  .load = vit_load,
  .free = vit_free,
  .forward_image = vit_forward_image,
  .output_shapes = vit_output_shapes,
};
