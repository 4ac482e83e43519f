/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: CLIP.
 *
 * Mirrors modeling_clip.CLIPModel, two towers joined by projections:
 *
 * - CLIPTextTransformer: token plus absolute position embeddings, pre-LN
 *   CLIPEncoderLayer blocks under a causal mask (and the padding mask),
 *   final_layer_norm, then the hidden state of the end-of-text token as
 *   the pooled output.
 * - CLIPVisionTransformer: a bias-free patch_size-strided conv, the learned
 *   class embedding first, position embeddings, pre_layrnorm, the same
 *   pre-LN blocks, and post_layernorm over the class token.
 * - text_projection / visual_projection (no bias) map both pooled outputs
 *   into one space, where they are L2-normalised; exp (logit_scale)
 *   scales their cosine similarities into logits.
 *
 * The text tower's sizes come from config.json's text_config, the vision
 * tower's from vision_config; fields they omit take CLIPTextConfig /
 * CLIPVisionConfig's defaults, as transformers does. The model's modality
 * is "image" (sfimageencoder, the image processor); it takes text as well,
 * with the tokenizer the family loads itself.
 */
#include "graphs/families/image-family.h"
#include "graphs/encoder.h"
#include "graphs/weights.h"
#include "core/error.h"
#include "core/ops/conv.h"
#include "core/ops/layout.h"

#include <math.h>
#include <stddef.h>

enum
{
  SZ_HIDDEN,
  SZ_INTER,
  SZ_VOCAB,
  SZ_POS,
  SZ_CHANNELS,
  SZ_PATCH,
  SZ_PROJ,
  SZ_TEXT_HIDDEN,
  SZ_VISION_HIDDEN,
  SZ_COUNT
};

typedef struct
{
  SfTensor *tok_emb;                 /* [V, H] */
  SfTensor *pos_emb;                 /* [P, H] */
  SfTensor *final_ln_g, *final_ln_b; /* [H] */
} ClipTextGlobals;

typedef struct
{
  SfTensor *class_emb;             /* [H] */
  SfTensor *patch_w;               /* [H, C, p, p], no bias */
  SfTensor *pos_emb;               /* [N + 1, H] */
  SfTensor *pre_ln_g, *pre_ln_b;   /* [H] pre_layrnorm */
  SfTensor *post_ln_g, *post_ln_b; /* [H] post_layernorm */
} ClipVisionGlobals;

typedef struct
{
  SfTensor *text_proj;   /* [P, Ht] */
  SfTensor *visual_proj; /* [P, Hv] */
  SfTensor *logit_scale; /* () log of the similarity scale */
} ClipHeadGlobals;

/* One tower: its globals, its layers and where the loader put them. */
typedef struct
{
  gpointer globals;
  SfEncoderLayer *layers;
  int n_layers;
  SfEncoderParams params;
  gint64 sizes[SZ_COUNT];
  SfWeightTarget target; /* with the tower's weight table */
} ClipTower;

typedef struct
{
  ClipTextGlobals tg;
  ClipVisionGlobals vg;
  ClipHeadGlobals hg;
  ClipTower text, vision, head;
  gint64 eos_id;           /* text_config eos_token_id */
  gint64 image_size, grid; /* pixels, patches per side */
} ClipGraph;

#define TG(field) offsetof (ClipTextGlobals, field)
#define VG(field) offsetof (ClipVisionGlobals, field)
#define HG(field) offsetof (ClipHeadGlobals, field)
#define L(field) offsetof (SfEncoderLayer, field)
#define PL (SF_WEIGHT_PER_LAYER)

/* under "text_model." */
static const SfWeightSpec clip_text_weights[] = {
  { "embeddings.token_embedding.weight", { SZ_VOCAB, SZ_HIDDEN, -1 }, 0,
      TG (tok_emb) },
  { "embeddings.position_embedding.weight", { SZ_POS, SZ_HIDDEN, -1 }, 0,
      TG (pos_emb) },
  { "final_layer_norm.weight", { SZ_HIDDEN, -1 }, 0, TG (final_ln_g) },
  { "final_layer_norm.bias", { SZ_HIDDEN, -1 }, 0, TG (final_ln_b) },
};

/* under "vision_model." */
static const SfWeightSpec clip_vision_weights[] = {
  { "embeddings.class_embedding", { SZ_HIDDEN, -1 }, 0, VG (class_emb) },
  { "embeddings.patch_embedding.weight",
      { SZ_HIDDEN, SZ_CHANNELS, SZ_PATCH, SZ_PATCH }, 0, VG (patch_w) },
  { "embeddings.position_embedding.weight", { SZ_POS, SZ_HIDDEN, -1 }, 0,
      VG (pos_emb) },
  { "pre_layrnorm.weight", { SZ_HIDDEN, -1 }, 0, VG (pre_ln_g) },
  { "pre_layrnorm.bias", { SZ_HIDDEN, -1 }, 0, VG (pre_ln_b) },
  { "post_layernorm.weight", { SZ_HIDDEN, -1 }, 0, VG (post_ln_g) },
  { "post_layernorm.bias", { SZ_HIDDEN, -1 }, 0, VG (post_ln_b) },
};

/* CLIPEncoderLayer, the same in both towers */
static const SfWeightSpec clip_layer_weights[] = {
  { "encoder.layers.{L}.layer_norm1.weight", { SZ_HIDDEN, -1 }, PL, L (ln1_g) },
  { "encoder.layers.{L}.layer_norm1.bias", { SZ_HIDDEN, -1 }, PL, L (ln1_b) },
  { "encoder.layers.{L}.self_attn.q_proj.weight", { SZ_HIDDEN, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (q_w) },
  { "encoder.layers.{L}.self_attn.q_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (q_b) },
  { "encoder.layers.{L}.self_attn.k_proj.weight", { SZ_HIDDEN, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (k_w) },
  { "encoder.layers.{L}.self_attn.k_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (k_b) },
  { "encoder.layers.{L}.self_attn.v_proj.weight", { SZ_HIDDEN, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (v_w) },
  { "encoder.layers.{L}.self_attn.v_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (v_b) },
  { "encoder.layers.{L}.self_attn.out_proj.weight",
      { SZ_HIDDEN, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, L (o_w) },
  { "encoder.layers.{L}.self_attn.out_proj.bias", { SZ_HIDDEN, -1 }, PL,
      L (o_b) },
  { "encoder.layers.{L}.layer_norm2.weight", { SZ_HIDDEN, -1 }, PL, L (ln2_g) },
  { "encoder.layers.{L}.layer_norm2.bias", { SZ_HIDDEN, -1 }, PL, L (ln2_b) },
  { "encoder.layers.{L}.mlp.fc1.weight", { SZ_INTER, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, L (ffn_in_w) },
  { "encoder.layers.{L}.mlp.fc1.bias", { SZ_INTER, -1 }, PL, L (ffn_in_b) },
  { "encoder.layers.{L}.mlp.fc2.weight", { SZ_HIDDEN, SZ_INTER, -1 },
      PL | SF_WEIGHT_LINEAR, L (ffn_out_w) },
  { "encoder.layers.{L}.mlp.fc2.bias", { SZ_HIDDEN, -1 }, PL, L (ffn_out_b) },
};

/* top level */
static const SfWeightSpec clip_head_weights[] = {
  { "text_projection.weight", { SZ_PROJ, SZ_TEXT_HIDDEN, -1 }, 0,
      HG (text_proj) },
  { "visual_projection.weight", { SZ_PROJ, SZ_VISION_HIDDEN, -1 }, 0,
      HG (visual_proj) },
  { "logit_scale", { -1 }, 0, HG (logit_scale) },
};

static const SfArchitecture clip_architectures[] = {
  { "CLIPModel", FALSE },
};

/* CLIPImageProcessor's defaults, for folders without
 * preprocessor_config.json (OpenAI's mean and std). */
static const char clip_default_processor[] =
    "{\"do_resize\": true, \"size\": {\"shortest_edge\": %d}, "
    "\"resample\": 3, \"do_center_crop\": true, "
    "\"crop_size\": {\"height\": %d, \"width\": %d}, \"do_rescale\": true, "
    "\"rescale_factor\": 0.00392156862745098, \"do_normalize\": true, "
    "\"image_mean\": [0.48145466, 0.4578275, 0.40821073], "
    "\"image_std\": [0.26862954, 0.26130258, 0.27577711], "
    "\"do_convert_rgb\": true}";

static void
clip_tower_clear (ClipTower *tower)
{
  sf_weight_target_clear (&tower->target);
  g_free (tower->layers);
  tower->layers = NULL;
}

static void
clip_free (gpointer data)
{
  ClipGraph *g = data;
  if (g == NULL)
    return;
  clip_tower_clear (&g->text);
  clip_tower_clear (&g->vision);
  clip_tower_clear (&g->head);
  g_free (g);
}

/* The settings both towers share (CLIPEncoder). */
static gboolean
clip_read_encoder (ClipTower *tower, const SfConfig *cfg, gint64 hidden,
    gint64 inter, gint64 layers, gint64 heads, GError **error)
{
  const char *act_name;
  double eps;

  if (!sf_config_int_or (
          cfg, "hidden_size", hidden, &tower->sizes[SZ_HIDDEN], error)
      || !sf_config_int_or (
          cfg, "intermediate_size", inter, &tower->sizes[SZ_INTER], error)
      || !sf_config_int_or (cfg, "num_hidden_layers", layers, &layers, error)
      || !sf_config_int_or (cfg, "num_attention_heads", heads, &heads, error)
      || !sf_config_eps_or (cfg, "layer_norm_eps", 1e-5, &eps, error)
      || !sf_config_string_or (
          cfg, "hidden_act", "quick_gelu", &act_name, error))
    return FALSE;
  if (tower->sizes[SZ_HIDDEN] < 1 || tower->sizes[SZ_INTER] < 1 || heads < 1
      || layers < 1 || layers > 1000 || tower->sizes[SZ_HIDDEN] % heads != 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: hidden_size, intermediate_size, num_hidden_layers and "
        "num_attention_heads must be positive, and hidden_size a multiple "
        "of num_attention_heads",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (!sf_activation_from_name (act_name, &tower->params.act)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: hidden_act '%s' is not supported", sf_config_origin (cfg),
        act_name);
    return FALSE;
  }
  tower->n_layers = (int)layers;
  tower->params.n_heads = (int)heads;
  tower->params.eps = (float)eps;
  return TRUE;
}

static gboolean
clip_read_text_config (ClipGraph *g, const SfConfig *root, GError **error)
{
  g_autoptr (SfConfig) cfg = sf_config_get_object (root, "text_config", error);
  ClipTower *t = &g->text;

  if (cfg == NULL || !clip_read_encoder (t, cfg, 512, 2048, 12, 8, error)
      || !sf_config_int_or (
          cfg, "vocab_size", 49408, &t->sizes[SZ_VOCAB], error)
      || !sf_config_int_or (
          cfg, "max_position_embeddings", 77, &t->sizes[SZ_POS], error)
      || !sf_config_int_or (cfg, "eos_token_id", 49407, &g->eos_id, error))
    return FALSE;
  if (t->sizes[SZ_VOCAB] < 1 || t->sizes[SZ_POS] < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: vocab_size and max_position_embeddings must be positive",
        sf_config_origin (cfg));
    return FALSE;
  }
  t->params.causal = TRUE;
  return TRUE;
}

static gboolean
clip_read_vision_config (ClipGraph *g, const SfConfig *root, GError **error)
{
  g_autoptr (SfConfig) cfg =
      sf_config_get_object (root, "vision_config", error);
  ClipTower *v = &g->vision;

  if (cfg == NULL || !clip_read_encoder (v, cfg, 768, 3072, 12, 12, error)
      || !sf_config_int_or (
          cfg, "num_channels", 3, &v->sizes[SZ_CHANNELS], error)
      || !sf_config_int_or (cfg, "image_size", 224, &g->image_size, error)
      || !sf_config_int_or (cfg, "patch_size", 32, &v->sizes[SZ_PATCH], error))
    return FALSE;
  if (v->sizes[SZ_CHANNELS] < 1 || v->sizes[SZ_PATCH] < 1
      || g->image_size < v->sizes[SZ_PATCH] || g->image_size > 1000000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_channels, image_size and patch_size must be positive, "
        "with image_size ≥ patch_size",
        sf_config_origin (cfg));
    return FALSE;
  }
  g->grid = g->image_size / v->sizes[SZ_PATCH];
  v->sizes[SZ_POS] = g->grid * g->grid + 1;
  return TRUE;
}

/* Loads one tower's table under @prefix into @tower. */
static gboolean
clip_tower_load (ClipTower *tower, SfCheckpoint *ckpt, SfPrecision precision,
    const char *prefix, gpointer globals, const SfWeightSpec *table,
    guint n_table, gboolean with_layers, gint64 *n_params, GError **error)
{
  if (with_layers)
    tower->layers = g_new0 (SfEncoderLayer, tower->n_layers);
  tower->globals = globals;
  tower->target = (SfWeightTarget){
    .precision = precision,
    .prefix = prefix,
    .sizes = tower->sizes,
    .n_layers = with_layers ? tower->n_layers : 0,
    .globals = globals,
    .layers = tower->layers,
    .layer_stride = sizeof (SfEncoderLayer),
  };
  sf_weight_target_add (&tower->target, table, n_table);
  if (with_layers)
    sf_weight_target_add (
        &tower->target, clip_layer_weights, G_N_ELEMENTS (clip_layer_weights));
  if (!sf_weight_target_load (&tower->target, ckpt, n_params, error))
    return FALSE;
  if (with_layers)
    sf_encoder_layers_fuse_qkv (tower->layers, tower->n_layers);
  return TRUE;
}

static gpointer
clip_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  ClipGraph *g = g_new0 (ClipGraph, 1);
  char *default_proc;
  gboolean ok;
  gboolean classifier;
  gint64 proj;

  if (!sf_model_match_architecture (model, clip_architectures,
          G_N_ELEMENTS (clip_architectures), &classifier, error)
      || !clip_read_text_config (g, cfg, error)
      || !clip_read_vision_config (g, cfg, error)
      || !sf_config_int_min (cfg, "projection_dim", 1, &proj, error))
    goto fail;
  g->head.sizes[SZ_PROJ] = proj;
  g->head.sizes[SZ_TEXT_HIDDEN] = g->text.sizes[SZ_HIDDEN];
  g->head.sizes[SZ_VISION_HIDDEN] = g->vision.sizes[SZ_HIDDEN];
  model->image_size[0] = model->image_size[1] = g->image_size;

  default_proc = g_strdup_printf (clip_default_processor, (int)g->image_size,
      (int)g->image_size, (int)g->image_size);
  ok = sf_image_family_load_processor (model, default_proc, error);
  g_free (default_proc);
  if (!ok || !sf_model_load_tokenizer (model, error))
    goto fail;

  if (!clip_tower_load (&g->text, ckpt, model->precision, "text_model.", &g->tg,
          clip_text_weights, G_N_ELEMENTS (clip_text_weights), TRUE,
          &model->n_params, error)
      || !clip_tower_load (&g->vision, ckpt, model->precision, "vision_model.",
          &g->vg, clip_vision_weights, G_N_ELEMENTS (clip_vision_weights), TRUE,
          &model->n_params, error)
      || !clip_tower_load (&g->head, ckpt, model->precision, "", &g->hg,
          clip_head_weights, G_N_ELEMENTS (clip_head_weights), FALSE,
          &model->n_params, error))
    goto fail;

  model->hidden_size = g->text.sizes[SZ_HIDDEN];
  model->max_positions = g->text.sizes[SZ_POS];
  model->projection_dim = proj;
  model->logit_scale = expf (sf_tensor_f32 (g->hg.logit_scale)[0]);
  if (!isfinite (model->logit_scale)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: tensor 'logit_scale' is not a finite log scale",
        sf_model_dir (model));
    goto fail;
  }
  return g;

fail:
  clip_free (g);
  return NULL;
}

/* Projects pooled [B, H] with @w [P, H] and L2-normalises: [B, P]. */
static SfTensor *
clip_project (const SfTensor *pooled, const SfTensor *w)
{
  SfTensor *out =
      sf_tensor_new_f32 (2, sf_tensor_dim (pooled, 0), sf_tensor_dim (w, 0));
  sf_op_linear (out, pooled, w, NULL);
  sf_op_l2_normalize (out, out);
  return out;
}

/* The position CLIPTextTransformer pools at in one row of ids. Configs
 * written before transformers fixed eos_token_id carry 2 there; for them
 * the end-of-text token is the highest id in the row (the first one when
 * it repeats). Otherwise it is the first occurrence of eos_token_id, and 0
 * when the row has none, as torch's argmax over an all-false row gives. */
static gint64
clip_eos_position (const ClipGraph *g, const gint64 *ids, gint64 t)
{
  gint64 best = 0;

  if (g->eos_id == 2) {
    for (gint64 i = 1; i < t; i++)
      if (ids[i] > ids[best])
        best = i;
    return best;
  }
  for (gint64 i = 0; i < t; i++)
    if (ids[i] == g->eos_id)
      return i;
  return 0;
}

/* rows [N, H] = token[ids] + position[pos] over @n tokens. */
static gboolean
clip_text_embed_rows (ClipGraph *g, SfTensor *rows, const gint64 *ids,
    const gint64 *pos_ids, gint64 n, GError **error)
{
  g_autoptr (SfTensor) pos = sf_tensor_new_f32 (2, n, g->text.sizes[SZ_HIDDEN]);

  if (!sf_op_embedding (rows, g->tg.tok_emb, ids, n, error))
    return FALSE;
  sf_op_embedding (pos, g->tg.pos_emb, pos_ids, n, NULL);
  sf_op_add (rows, rows, pos);
  return TRUE;
}

static gboolean
clip_check_length (ClipGraph *g, gint64 t, GError **error)
{
  if (t > g->text.sizes[SZ_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "input has %" G_GINT64_FORMAT " tokens, more than the model's "
        "max_position_embeddings %" G_GINT64_FORMAT,
        t, g->text.sizes[SZ_POS]);
    return FALSE;
  }
  return TRUE;
}

/* Mirrors CLIPTextEmbeddings.forward with positions 0..T-1. */
static SfTensor *
clip_text_embed (ClipGraph *g, const SfTensor *input_ids, GError **error)
{
  gint64 b = sf_tensor_dim (input_ids, 0), t = sf_tensor_dim (input_ids, 1);
  gint64 h = g->text.sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (3, b, t, h); /* [B, T, H] */
  g_autoptr (SfTensor) rows = sf_tensor_reshape (x, 2, (gint64[]){ b * t, h });
  g_autofree gint64 *pos_ids = g_new (gint64, b * t);

  if (!clip_check_length (g, t, error))
    return NULL;
  for (gint64 i = 0; i < b * t; i++)
    pos_ids[i] = i % t;
  if (!clip_text_embed_rows (
          g, rows, sf_tensor_i64 (input_ids), pos_ids, b * t, error))
    return NULL;
  return g_steal_pointer (&x);
}

/* final_layer_norm of the encoder's output @x (transfer full) into a new
 * tensor, since x may be a hidden state. */
static SfTensor *
clip_text_final_norm (ClipGraph *g, SfTensor *x)
{
  SfTensor *out = sf_tensor_new (SF_DTYPE_F32, x->ndim, x->shape);

  sf_op_layer_norm (
      out, x, g->tg.final_ln_g, g->tg.final_ln_b, g->text.params.eps);
  sf_tensor_unref (x);
  return out;
}

/* pooler_output [B, H]: row @first[i] + the end-of-text position of text
 * i (its @lens[i] ids at @ids + @first[i]) of @rows [N, H]. */
static SfTensor *
clip_text_pool (ClipGraph *g, SfTensor *rows, const gint64 *ids,
    const gint64 *first, const gint64 *lens, gint64 b)
{
  SfTensor *pooled = sf_tensor_new_f32 (2, b, sf_tensor_dim (rows, 1));

  for (gint64 i = 0; i < b; i++) {
    gint64 pos = clip_eos_position (g, ids + first[i], lens[i]);
    g_autoptr (SfTensor) src = sf_tensor_slice0 (rows, first[i] + pos, 1);
    g_autoptr (SfTensor) dst = sf_tensor_slice0 (pooled, i, 1);
    sf_op_copy (dst, src);
  }
  return pooled;
}

static gboolean
clip_forward_text (gpointer data, const SfTextInput *in, gboolean want_hidden,
    SfTextOutput *out, GError **error)
{
  ClipGraph *g = data;
  gint64 b = sf_tensor_dim (in->input_ids, 0);
  gint64 t = sf_tensor_dim (in->input_ids, 1);
  gint64 h = g->text.sizes[SZ_HIDDEN];
  SfTensor *x = clip_text_embed (g, in->input_ids, error);
  g_autoptr (SfTensor) rows = NULL;
  g_autofree gint64 *first = g_new (gint64, b);
  g_autofree gint64 *lens = g_new (gint64, b);

  if (x == NULL)
    return FALSE;
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  x = sf_encoder_stack_pre_ln (g->text.layers, g->text.n_layers,
      &g->text.params, x, in->attention_mask, out->hidden_states);
  out->last_hidden_state = clip_text_final_norm (g, x);

  /* each row's end-of-text hidden state */
  rows = sf_tensor_reshape (out->last_hidden_state, 2, (gint64[]){ b * t, h });
  for (gint64 i = 0; i < b; i++) {
    first[i] = i * t;
    lens[i] = t;
  }
  out->pooler_output =
      clip_text_pool (g, rows, sf_tensor_i64 (in->input_ids), first, lens, b);
  out->text_embeds = clip_project (out->pooler_output, g->hg.text_proj);
  return TRUE;
}

/* clip_forward_text on packed texts: positions restart at each text,
 * causal attention stays within it, and each text pools at its own
 * end-of-text token. */
static gboolean
clip_forward_text_packed (
    gpointer data, const SfPackedText *in, SfTextOutput *out, GError **error)
{
  ClipGraph *g = data;
  gint64 n = sf_tensor_dim (in->input_ids, 0);
  gint64 b = sf_tensor_dim (in->offsets, 0) - 1;
  const gint64 *offsets = sf_tensor_i64 (in->offsets);
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (2, n, g->text.sizes[SZ_HIDDEN]);
  g_autofree gint64 *pos_ids = g_new (gint64, MAX (n, 1));
  g_autofree gint64 *lens = g_new (gint64, b);

  for (gint64 i = 0; i < b; i++) {
    lens[i] = offsets[i + 1] - offsets[i];
    if (!clip_check_length (g, lens[i], error))
      return FALSE;
    for (gint64 j = offsets[i]; j < offsets[i + 1]; j++)
      pos_ids[j] = j - offsets[i];
  }
  if (!clip_text_embed_rows (
          g, x, sf_tensor_i64 (in->input_ids), pos_ids, n, error))
    return FALSE;
  out->last_hidden_state = clip_text_final_norm (g,
      sf_encoder_stack_pre_ln_packed (g->text.layers, g->text.n_layers,
          &g->text.params, g_steal_pointer (&x), offsets, b, NULL));
  out->pooler_output = clip_text_pool (g, out->last_hidden_state,
      sf_tensor_i64 (in->input_ids), offsets, lens, b);
  out->text_embeds = clip_project (out->pooler_output, g->hg.text_proj);
  return TRUE;
}

/* Mirrors CLIPVisionEmbeddings.forward: [B, C, S, S] → [B, N + 1, H]. */
static SfTensor *
clip_vision_embed (ClipGraph *g, const SfTensor *px)
{
  gint64 b = px->shape[0], h = g->vision.sizes[SZ_HIDDEN];
  gint64 n = g->grid * g->grid, t = n + 1;
  int patch = (int)g->vision.sizes[SZ_PATCH];
  SfConv2dParams conv = { .stride = { patch, patch }, .groups = 1 };
  g_autoptr (SfTensor) maps = sf_tensor_new_f32 (4, b, h, g->grid, g->grid);
  g_autoptr (SfTensor) maps3 =
      sf_tensor_reshape (maps, 3, (gint64[]){ b, h, n });        /* [B, H, N] */
  g_autoptr (SfTensor) patches = sf_tensor_new_f32 (3, b, n, h); /* [B, N, H] */
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (3, b, t, h); /* [B, N + 1, H] */
  g_autoptr (SfTensor) rows = sf_tensor_reshape (x, 2, (gint64[]){ b * t, h });
  g_autoptr (SfTensor) flat = sf_tensor_reshape (x, 2, (gint64[]){ b, t * h });
  g_autoptr (SfTensor) pos =
      sf_tensor_reshape (g->vg.pos_emb, 1, (gint64[]){ t * h });

  sf_op_conv2d (maps, px, g->vg.patch_w, NULL, &conv);
  sf_op_transpose_last2 (patches, maps3);
  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) cls_row = sf_tensor_slice0 (rows, i * t, 1);
    g_autoptr (SfTensor) patch_rows = sf_tensor_slice0 (rows, i * t + 1, n);
    g_autoptr (SfTensor) src = sf_tensor_slice0 (patches, i, 1);
    sf_op_copy (cls_row, g->vg.class_emb);
    sf_op_copy (patch_rows, src);
  }
  sf_op_add (flat, flat, pos);
  return g_steal_pointer (&x);
}

static gboolean
clip_forward_image (gpointer data, const SfImageInput *in, gboolean want_hidden,
    SfImageOutput *out, GError **error)
{
  ClipGraph *g = data;
  const SfTensor *px = in->pixel_values;
  gint64 h = g->vision.sizes[SZ_HIDDEN];
  SfTensor *x;

  if (!sf_image_family_check_input (px, g->vision.sizes[SZ_CHANNELS],
          g->image_size, g->image_size, error))
    return FALSE;
  x = clip_vision_embed (g, px);
  sf_op_layer_norm (x, x, g->vg.pre_ln_g, g->vg.pre_ln_b, g->vision.params.eps);
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  x = sf_encoder_stack_pre_ln (g->vision.layers, g->vision.n_layers,
      &g->vision.params, x, NULL, out->hidden_states);
  out->last_hidden_state = x; /* no final norm: only the pooled token */

  out->pooler_output = sf_tensor_new_f32 (2, px->shape[0], h);
  sf_op_first_token (out->pooler_output, x);
  sf_op_layer_norm (out->pooler_output, out->pooler_output, g->vg.post_ln_g,
      g->vg.post_ln_b, g->vision.params.eps);
  out->image_embeds = clip_project (out->pooler_output, g->hg.visual_proj);
  return TRUE;
}

static const char *const clip_model_types[] = { "clip", NULL };

static gboolean
clip_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  ClipGraph *g = data;
  const ClipTower *tower = input == SF_MODALITY_TEXT ? &g->text : &g->vision;
  gint64 h = tower->sizes[SZ_HIDDEN], tokens = in ? in->dims[0] : -1;

  if (input != SF_MODALITY_TEXT) {
    if (in != NULL
        && !sf_image_family_check_shape (in, g->vision.sizes[SZ_CHANNELS],
            g->image_size, g->image_size, error))
      return FALSE;
    tokens = g->grid * g->grid + 1;
  }
  sf_shape_set (&out->last_hidden_state, 2, tokens, h);
  sf_shape_set (&out->pooler_output, 1, h);
  sf_shape_set (&out->embeds, 1, g->head.sizes[SZ_PROJ]);
  return TRUE;
}

const SfFamily sf_family_clip = {
  .name = "clip",
  .modality = SF_MODALITY_IMAGE,
  .model_types = clip_model_types,
  .load = clip_load,
  .free = clip_free,
  .forward_text = clip_forward_text,
  .forward_text_packed = clip_forward_text_packed,
  .forward_image = clip_forward_image,
  .output_shapes = clip_output_shapes,
};
