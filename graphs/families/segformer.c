/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: SegFormer.
 *
 * Mirrors modeling_segformer. The encoder (Mix Transformer) has
 * num_encoder_blocks stages; each one
 * - embeds its input with an overlapping strided conv (kernel patch_size,
 *   padding patch_size / 2) followed by a LayerNorm,
 * - runs depth pre-LN SegformerLayer blocks: efficient self-attention,
 *   whose keys and values come from the sequence reduced by an
 *   sr_ratio-strided conv plus LayerNorm, then a Mix-FFN (dense, depthwise
 *   3x3 conv, activation, dense), each with a residual,
 * - ends in a LayerNorm and becomes a [B, C, h, w] map for the next stage.
 * The all-MLP decode head projects every stage to decoder_hidden_size,
 * upsamples them bilinearly to the first stage's size, concatenates them
 * last stage first, fuses them with a 1x1 conv (no bias), BatchNorm (eval)
 * and ReLU, and classifies each pixel with a 1x1 conv; the fusing conv is
 * folded into the projections at load (graphs/families/segformer-head.h).
 * Every LayerNorm and the BatchNorm use PyTorch's default eps (1e-5), as
 * the HF modules do (config.layer_norm_eps is not read by them).
 * Weight names nest stage and layer ("encoder.block.{S}.{L}."), so each
 * stage is loaded as its own weight table with {S} filled in.
 */
#include "graphs/families/image-family.h"
#include "graphs/families/segformer-head.h"
#include "graphs/weights.h"
#include "core/error.h"
#include "core/ops/ops.h"
#include "core/ops/conv.h"

#include <stddef.h>
#include <string.h>

#define SEG_MAX_STAGES SF_SEG_HEAD_MAX_STAGES
#define SEG_EPS 1e-5f

enum
{
  SZ_HIDDEN,
  SZ_IN,
  SZ_PATCH,
  SZ_SR,
  SZ_INTER,
  SZ_DEC,
  SZ_ONE,
  SZ_THREE,
  SZ_CAT,
  SZ_LABELS,
  SZ_COUNT
};

typedef struct
{
  SfTensor *patch_w, *patch_b; /* [C, Cin, k, k], [C] */
  SfTensor *pe_ln_g, *pe_ln_b; /* [C] after the patch conv */
  SfTensor *ln_g, *ln_b;       /* [C] at the end of the stage */
  SfTensor *mlp_w, *mlp_b;     /* [D, C], [D] decode head linear_c */
} SegStageGlobals;

typedef struct
{
  SfTensor *ln1_g, *ln1_b;                     /* [C] */
  SfTensor *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* [C, C], [C] */
  SfTensor *sr_w, *sr_b;       /* [C, C, r, r], [C]; sr_ratio > 1 */
  SfTensor *sr_ln_g, *sr_ln_b; /* [C]; sr_ratio > 1 */
  SfTensor *o_w, *o_b;         /* [C, C], [C] */
  SfTensor *ln2_g, *ln2_b;     /* [C] */
  SfTensor *ffn1_w, *ffn1_b;   /* [I, C], [I] */
  SfTensor *dw_w, *dw_b;       /* [I, 1, 3, 3], [I] */
  SfTensor *ffn2_w, *ffn2_b;   /* [C, I], [C] */
} SegLayer;

typedef struct
{
  SegStageGlobals g;
  SegLayer *layers;
  int depth, heads, sr, patch, stride;
  gint64 sizes[SZ_COUNT];
  SfWeightTarget target; /* with the stage's table; names owned by the graph */
} SegStage;

typedef struct
{
  SfTensor *fuse_w;                         /* [D, S · D, 1, 1] */
  SfTensor *bn_g, *bn_b, *bn_mean, *bn_var; /* [D] */
  SfTensor *cls_w, *cls_b;                  /* [labels, D, 1, 1], (labels) */
} SegHead;

typedef struct
{
  SegStage stages[SEG_MAX_STAGES];
  int n_stages;
  SegHead head;
  SfSegHead folded; /* linear_c with linear_fuse folded in */
  gint64 head_sizes[SZ_COUNT];
  SfWeightTarget head_target;
  gint64 channels;
  SfActivation act;
  gboolean classifier, reshape_last_stage;
  GPtrArray *names; /* expanded weight names */
} SegGraph;

#define SG(field) offsetof (SegStageGlobals, field)
#define SL(field) offsetof (SegLayer, field)
#define H(field) offsetof (SegHead, field)
#define PL (SF_WEIGHT_PER_LAYER)
#define HD (SF_WEIGHT_HEAD)

static const SfWeightSpec seg_stage_weights[] = {
  { "encoder.patch_embeddings.{S}.proj.weight",
      { SZ_HIDDEN, SZ_IN, SZ_PATCH, SZ_PATCH }, 0, SG (patch_w) },
  { "encoder.patch_embeddings.{S}.proj.bias", { SZ_HIDDEN, -1 }, 0,
      SG (patch_b) },
  { "encoder.patch_embeddings.{S}.layer_norm.weight", { SZ_HIDDEN, -1 }, 0,
      SG (pe_ln_g) },
  { "encoder.patch_embeddings.{S}.layer_norm.bias", { SZ_HIDDEN, -1 }, 0,
      SG (pe_ln_b) },
  { "encoder.layer_norm.{S}.weight", { SZ_HIDDEN, -1 }, 0, SG (ln_g) },
  { "encoder.layer_norm.{S}.bias", { SZ_HIDDEN, -1 }, 0, SG (ln_b) },
  { "encoder.block.{S}.{L}.layer_norm_1.weight", { SZ_HIDDEN, -1 }, PL,
      SL (ln1_g) },
  { "encoder.block.{S}.{L}.layer_norm_1.bias", { SZ_HIDDEN, -1 }, PL,
      SL (ln1_b) },
  { "encoder.block.{S}.{L}.attention.self.query.weight",
      { SZ_HIDDEN, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, SL (q_w) },
  { "encoder.block.{S}.{L}.attention.self.query.bias", { SZ_HIDDEN, -1 }, PL,
      SL (q_b) },
  { "encoder.block.{S}.{L}.attention.self.key.weight",
      { SZ_HIDDEN, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, SL (k_w) },
  { "encoder.block.{S}.{L}.attention.self.key.bias", { SZ_HIDDEN, -1 }, PL,
      SL (k_b) },
  { "encoder.block.{S}.{L}.attention.self.value.weight",
      { SZ_HIDDEN, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, SL (v_w) },
  { "encoder.block.{S}.{L}.attention.self.value.bias", { SZ_HIDDEN, -1 }, PL,
      SL (v_b) },
  { "encoder.block.{S}.{L}.attention.output.dense.weight",
      { SZ_HIDDEN, SZ_HIDDEN, -1 }, PL | SF_WEIGHT_LINEAR, SL (o_w) },
  { "encoder.block.{S}.{L}.attention.output.dense.bias", { SZ_HIDDEN, -1 }, PL,
      SL (o_b) },
  { "encoder.block.{S}.{L}.layer_norm_2.weight", { SZ_HIDDEN, -1 }, PL,
      SL (ln2_g) },
  { "encoder.block.{S}.{L}.layer_norm_2.bias", { SZ_HIDDEN, -1 }, PL,
      SL (ln2_b) },
  { "encoder.block.{S}.{L}.mlp.dense1.weight", { SZ_INTER, SZ_HIDDEN, -1 },
      PL | SF_WEIGHT_LINEAR, SL (ffn1_w) },
  { "encoder.block.{S}.{L}.mlp.dense1.bias", { SZ_INTER, -1 }, PL,
      SL (ffn1_b) },
  { "encoder.block.{S}.{L}.mlp.dwconv.dwconv.weight",
      { SZ_INTER, SZ_ONE, SZ_THREE, SZ_THREE }, PL, SL (dw_w) },
  { "encoder.block.{S}.{L}.mlp.dwconv.dwconv.bias", { SZ_INTER, -1 }, PL,
      SL (dw_b) },
  { "encoder.block.{S}.{L}.mlp.dense2.weight", { SZ_HIDDEN, SZ_INTER, -1 },
      PL | SF_WEIGHT_LINEAR, SL (ffn2_w) },
  { "encoder.block.{S}.{L}.mlp.dense2.bias", { SZ_HIDDEN, -1 }, PL,
      SL (ffn2_b) },
};

/* sr_ratio > 1 */
static const SfWeightSpec seg_sr_weights[] = {
  { "encoder.block.{S}.{L}.attention.self.sr.weight",
      { SZ_HIDDEN, SZ_HIDDEN, SZ_SR, SZ_SR }, PL, SL (sr_w) },
  { "encoder.block.{S}.{L}.attention.self.sr.bias", { SZ_HIDDEN, -1 }, PL,
      SL (sr_b) },
  { "encoder.block.{S}.{L}.attention.self.layer_norm.weight", { SZ_HIDDEN, -1 },
      PL, SL (sr_ln_g) },
  { "encoder.block.{S}.{L}.attention.self.layer_norm.bias", { SZ_HIDDEN, -1 },
      PL, SL (sr_ln_b) },
};

static const SfWeightSpec seg_stage_head_weights[] = {
  { "decode_head.linear_c.{S}.proj.weight", { SZ_DEC, SZ_HIDDEN, -1 }, HD,
      SG (mlp_w) },
  { "decode_head.linear_c.{S}.proj.bias", { SZ_DEC, -1 }, HD, SG (mlp_b) },
};

static const SfWeightSpec seg_head_weights[] = {
  { "decode_head.linear_fuse.weight", { SZ_DEC, SZ_CAT, SZ_ONE, SZ_ONE }, HD,
      H (fuse_w) },
  { "decode_head.batch_norm.weight", { SZ_DEC, -1 }, HD, H (bn_g) },
  { "decode_head.batch_norm.bias", { SZ_DEC, -1 }, HD, H (bn_b) },
  { "decode_head.batch_norm.running_mean", { SZ_DEC, -1 }, HD, H (bn_mean) },
  { "decode_head.batch_norm.running_var", { SZ_DEC, -1 }, HD, H (bn_var) },
  { "decode_head.classifier.weight", { SZ_LABELS, SZ_DEC, SZ_ONE, SZ_ONE }, HD,
      H (cls_w) },
  { "decode_head.classifier.bias", { SZ_LABELS, -1 }, HD, H (cls_b) },
};

static const SfArchitecture seg_architectures[] = {
  { "SegformerModel", FALSE },
  { "SegformerForSemanticSegmentation", TRUE },
};

/* SegformerImageProcessor's defaults */
static const char seg_default_processor[] =
    "{\"do_resize\": true, \"size\": {\"height\": 512, \"width\": 512}, "
    "\"resample\": 2, \"do_rescale\": true, \"do_normalize\": true, "
    "\"image_mean\": [0.485, 0.456, 0.406], "
    "\"image_std\": [0.229, 0.224, 0.225]}";

static void
seg_free (gpointer data)
{
  SegGraph *g = data;
  if (g == NULL)
    return;
  for (int s = 0; s < g->n_stages; s++) {
    SegStage *st = &g->stages[s];
    sf_weight_target_clear (&st->target);
    g_free (st->layers);
  }
  if (g->head_target.globals)
    sf_weights_clear (
        seg_head_weights, G_N_ELEMENTS (seg_head_weights), &g->head_target);
  sf_seg_head_clear (&g->folded);
  if (g->names)
    g_ptr_array_unref (g->names);
  g_free (g);
}

/* Appends @table with {S} replaced by the stage index. */
static void
append_stage_specs (SegGraph *g, SfWeightTarget *target,
    const SfWeightSpec *table, guint n, int stage)
{
  g_autofree char *index = g_strdup_printf ("%d", stage);
  for (guint i = 0; i < n; i++) {
    SfWeightSpec spec = table[i];
    g_auto (GStrv) parts = g_strsplit (table[i].name, "{S}", -1);
    char *name = g_strjoinv (index, parts);
    g_ptr_array_add (g->names, name);
    spec.name = name;
    sf_weight_target_add (target, &spec, 1);
  }
}

static gboolean
seg_read_config (SegGraph *g, const SfConfig *cfg, GError **error)
{
  gint64 n, dec, hidden[SEG_MAX_STAGES], heads[SEG_MAX_STAGES],
      depths[SEG_MAX_STAGES], srs[SEG_MAX_STAGES], patches[SEG_MAX_STAGES],
      strides[SEG_MAX_STAGES], ratios[SEG_MAX_STAGES];
  const char *act_name;

  if (!sf_config_int_min (cfg, "num_encoder_blocks", 1, &n, error))
    return FALSE;
  if (n > SEG_MAX_STAGES) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: num_encoder_blocks %" G_GINT64_FORMAT " is more than %d",
        sf_config_origin (cfg), n, SEG_MAX_STAGES);
    return FALSE;
  }
  if (!sf_image_family_read_ints (cfg, "hidden_sizes", n, 1, hidden, error)
      || !sf_image_family_read_ints (
          cfg, "num_attention_heads", n, 1, heads, error)
      || !sf_image_family_read_ints (cfg, "depths", n, 1, depths, error)
      || !sf_image_family_read_ints (cfg, "sr_ratios", n, 1, srs, error)
      || !sf_image_family_read_ints (cfg, "patch_sizes", n, 1, patches, error)
      || !sf_image_family_read_ints (cfg, "strides", n, 1, strides, error)
      || !sf_image_family_read_ints (cfg, "mlp_ratios", n, 1, ratios, error)
      || !sf_config_int_min (cfg, "decoder_hidden_size", 1, &dec, error)
      || !sf_config_int_or (cfg, "num_channels", 3, &g->channels, error)
      || !sf_config_string_or (cfg, "hidden_act", "gelu", &act_name, error)
      || !sf_config_bool_or (
          cfg, "reshape_last_stage", TRUE, &g->reshape_last_stage, error))
    return FALSE;
  if (!sf_activation_from_name (act_name, &g->act)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: hidden_act '%s' is not supported", sf_config_origin (cfg),
        act_name);
    return FALSE;
  }
  if (g->channels < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'num_channels' must be ≥ 1", sf_config_origin (cfg));
    return FALSE;
  }
  g->n_stages = (int)n;
  for (int s = 0; s < n; s++) {
    SegStage *st = &g->stages[s];
    if (hidden[s] % heads[s] != 0 || depths[s] > 1000 || srs[s] > 4096
        || patches[s] > 4096 || strides[s] > 4096) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: stage %d: hidden_sizes must be multiples of "
          "num_attention_heads, and depths, sr_ratios, patch_sizes, strides "
          "in range",
          sf_config_origin (cfg), s);
      return FALSE;
    }
    st->depth = (int)depths[s];
    st->heads = (int)heads[s];
    st->sr = (int)srs[s];
    st->patch = (int)patches[s];
    st->stride = (int)strides[s];
    st->sizes[SZ_HIDDEN] = hidden[s];
    st->sizes[SZ_IN] = s == 0 ? g->channels : hidden[s - 1];
    st->sizes[SZ_PATCH] = patches[s];
    st->sizes[SZ_SR] = srs[s];
    st->sizes[SZ_INTER] = hidden[s] * ratios[s];
    st->sizes[SZ_DEC] = dec;
    st->sizes[SZ_ONE] = 1;
    st->sizes[SZ_THREE] = 3;
  }
  g->head_sizes[SZ_DEC] = dec;
  g->head_sizes[SZ_CAT] = dec * n;
  g->head_sizes[SZ_ONE] = 1;
  return TRUE;
}

static gpointer
seg_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "segformer.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  SegGraph *g = g_new0 (SegGraph, 1);
  const char *prefix;

  g->names = g_ptr_array_new_with_free_func (g_free);
  if (!sf_model_match_architecture (model, seg_architectures,
          G_N_ELEMENTS (seg_architectures), &g->classifier, error)
      || !seg_read_config (g, cfg, error))
    goto fail;
  if (g->classifier) {
    if (!sf_model_read_labels (model, cfg, error))
      goto fail;
    g->head_sizes[SZ_LABELS] = model->labels->len;
  }
  if (!sf_image_family_load_processor (model, seg_default_processor, error))
    goto fail;

  prefix = sf_weights_find_prefix (
      ckpt, prefixes, "encoder.patch_embeddings.0.proj.weight");
  for (int s = 0; s < g->n_stages; s++) {
    SegStage *st = &g->stages[s];
    st->layers = g_new0 (SegLayer, st->depth);
    st->target = (SfWeightTarget){
      .precision = model->precision,
      .prefix = prefix ? prefix : "",
      .sizes = st->sizes,
      .n_layers = st->depth,
      .globals = &st->g,
      .layers = st->layers,
      .layer_stride = sizeof (SegLayer),
    };
    append_stage_specs (
        g, &st->target, seg_stage_weights, G_N_ELEMENTS (seg_stage_weights), s);
    if (st->sr > 1)
      append_stage_specs (
          g, &st->target, seg_sr_weights, G_N_ELEMENTS (seg_sr_weights), s);
    if (g->classifier)
      append_stage_specs (g, &st->target, seg_stage_head_weights,
          G_N_ELEMENTS (seg_stage_head_weights), s);
    if (!sf_weight_target_load (&st->target, ckpt, &model->n_params, error))
      goto fail;
  }
  g->head_target = (SfWeightTarget){
    .precision = model->precision,
    .prefix = prefix ? prefix : "",
    .sizes = g->head_sizes,
    .globals = &g->head,
  };
  if (g->classifier
      && !sf_weights_load (ckpt, seg_head_weights,
          G_N_ELEMENTS (seg_head_weights), &g->head_target, &model->n_params,
          error))
    goto fail;
  if (g->classifier) {
    SfTensor *mlp_w[SEG_MAX_STAGES], *mlp_b[SEG_MAX_STAGES];
    for (int s = 0; s < g->n_stages; s++) {
      mlp_w[s] = g->stages[s].g.mlp_w;
      mlp_b[s] = g->stages[s].g.mlp_b;
    }
    sf_seg_head_fold (&g->folded, g->n_stages, mlp_w, mlp_b, g->head.fuse_w);
  }
  model->hidden_size = g->stages[g->n_stages - 1].sizes[SZ_HIDDEN];
  model->has_classifier = g->classifier;
  return g;

fail:
  seg_free (g);
  return NULL;
}

/* maps [B, C, h, w] → tokens [B, N, C] (sf_seg_tokens_to_map the other way) */
static SfTensor *
to_tokens (const SfTensor *map)
{
  gint64 b = map->shape[0], c = map->shape[1];
  gint64 n = map->shape[2] * map->shape[3];
  SfTensor *tokens = sf_tensor_new_f32 (3, b, n, c);
  g_autoptr (SfTensor) map3 =
      sf_tensor_reshape ((SfTensor *)map, 3, (gint64[]){ b, c, n });
  sf_op_transpose_last2 (tokens, map3);
  return tokens;
}

/* Mirrors SegformerLayer.forward: x [B, N, C] → [B, N, C]. */
static SfTensor *
seg_layer (const SegStage *st, const SegLayer *l, SfActivation act,
    const SfTensor *x, gint64 h, gint64 w)
{
  gint64 b = x->shape[0], n = x->shape[1], c = x->shape[2];
  gint64 inter = st->sizes[SZ_INTER];
  g_autoptr (SfTensor) normed = sf_tensor_new_f32 (3, b, n, c);
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, b, n, c);
  g_autoptr (SfTensor) ctx = sf_tensor_new_f32 (3, b, n, c);
  g_autoptr (SfTensor) reduced = NULL, k = NULL, v = NULL;
  g_autoptr (SfTensor) ffn = sf_tensor_new_f32 (3, b, n, inter); /* [B, N, I] */
  g_autoptr (SfTensor) ffn_map = NULL, conv_map = NULL, conv_tokens = NULL;
  const SfTensor *kv_in = normed;
  SfTensor *out = sf_tensor_new_f32 (3, b, n, c);
  SfTensor *attn = sf_tensor_new_f32 (3, b, n, c);
  gint64 s;

  /* efficient self-attention on LN1 (x) */
  sf_op_layer_norm (normed, x, l->ln1_g, l->ln1_b, SEG_EPS);
  sf_op_linear (q, normed, l->q_w, l->q_b);
  if (st->sr > 1) { /* sequence reduction: strided conv + LN */
    SfConv2dParams sr = { .stride = { st->sr, st->sr }, .groups = 1 };
    g_autoptr (SfTensor) map = sf_seg_tokens_to_map (normed, h, w);
    g_autoptr (SfTensor) small =
        sf_tensor_new_f32 (4, b, c, h / st->sr, w / st->sr);
    sf_op_conv2d (small, map, l->sr_w, l->sr_b, &sr);
    reduced = to_tokens (small);
    sf_op_layer_norm (reduced, reduced, l->sr_ln_g, l->sr_ln_b, SEG_EPS);
    kv_in = reduced;
  }
  s = kv_in->shape[1];
  k = sf_tensor_new_f32 (3, b, s, c);
  v = sf_tensor_new_f32 (3, b, s, c);
  sf_op_linear (k, kv_in, l->k_w, l->k_b);
  sf_op_linear (v, kv_in, l->v_w, l->v_b);
  sf_op_attention (ctx, q, k, v, st->heads, NULL, FALSE);
  sf_op_linear (attn, ctx, l->o_w, l->o_b);
  sf_op_add (attn, attn, x);

  /* Mix-FFN on LN2 (attn): dense1, depthwise 3x3 conv, act, dense2 */
  {
    SfConv2dParams dw = {
      .stride = { 1, 1 }, .padding = { 1, 1 }, .groups = (int)inter
    };
    sf_op_layer_norm (normed, attn, l->ln2_g, l->ln2_b, SEG_EPS);
    sf_op_linear (ffn, normed, l->ffn1_w, l->ffn1_b);
    ffn_map = sf_seg_tokens_to_map (ffn, h, w);
    conv_map = sf_tensor_new_f32 (4, b, inter, h, w);
    sf_op_conv2d (conv_map, ffn_map, l->dw_w, l->dw_b, &dw);
    conv_tokens = to_tokens (conv_map);
    sf_op_activation (conv_tokens, conv_tokens, act);
    sf_op_linear (out, conv_tokens, l->ffn2_w, l->ffn2_b);
    sf_op_add (out, out, attn);
  }
  sf_tensor_unref (attn);
  return out;
}

/* One encoder stage: x [B, Cin, H, W] → tokens [B, h·w, C] after the
 * stage's final LayerNorm; *h, *w receive the map size. */
static SfTensor *
seg_stage (const SegGraph *g, const SegStage *st, const SfTensor *x, gint64 *h,
    gint64 *w, GError **error)
{
  SfConv2dParams pe = { .stride = { st->stride, st->stride },
    .padding = { st->patch / 2, st->patch / 2 },
    .groups = 1 };
  gint64 b = x->shape[0], c = st->sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) map = NULL;
  SfTensor *tokens;

  *h = sf_conv2d_out_size (x->shape[2], st->patch, st->stride, st->patch / 2);
  *w = sf_conv2d_out_size (x->shape[3], st->patch, st->stride, st->patch / 2);
  if (*h < st->sr || *w < st->sr) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "pixel_values of %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT " are too "
        "small for this SegFormer (a stage map of %" G_GINT64_FORMAT
        "x%" G_GINT64_FORMAT " is below its sr_ratio %d)",
        x->shape[2], x->shape[3], *h, *w, st->sr);
    return NULL;
  }
  map = sf_tensor_new_f32 (4, b, c, *h, *w);
  sf_op_conv2d (map, x, st->g.patch_w, st->g.patch_b, &pe);
  tokens = to_tokens (map);
  sf_op_layer_norm (tokens, tokens, st->g.pe_ln_g, st->g.pe_ln_b, SEG_EPS);
  for (int i = 0; i < st->depth; i++) {
    SfTensor *next = seg_layer (st, &st->layers[i], g->act, tokens, *h, *w);
    sf_tensor_unref (tokens);
    tokens = next;
  }
  sf_op_layer_norm (tokens, tokens, st->g.ln_g, st->g.ln_b, SEG_EPS);
  return tokens;
}

/* Mirrors SegformerDecodeHead.forward: stage tokens → logits [B, L, h0, w0]. */
static SfTensor *
seg_decode (
    const SegGraph *g, SfTensor **tokens, const gint64 *hs, const gint64 *ws)
{
  gint64 b = tokens[0]->shape[0], dec = g->head_sizes[SZ_DEC];
  gint64 h0 = hs[0], w0 = ws[0];
  SfConv2dParams one = { .stride = { 1, 1 }, .groups = 1 };
  g_autoptr (SfTensor) fused = sf_tensor_new_f32 (4, b, dec, h0, w0);
  SfTensor *logits = sf_tensor_new_f32 (4, b, g->head_sizes[SZ_LABELS], h0, w0);

  sf_seg_head_fuse (&g->folded, fused, tokens, hs, ws);
  sf_op_batch_norm (fused, fused, g->head.bn_mean, g->head.bn_var, g->head.bn_g,
      g->head.bn_b, SEG_EPS);
  sf_op_activation (fused, fused, SF_ACTIVATION_RELU);
  sf_op_conv2d (logits, fused, g->head.cls_w, g->head.cls_b, &one);
  return logits;
}

static gboolean
seg_forward_image (gpointer data, const SfImageInput *in, gboolean want_hidden,
    SfImageOutput *out, GError **error)
{
  SegGraph *g = data;
  SfTensor *tokens[SEG_MAX_STAGES] = { NULL };
  gint64 hs[SEG_MAX_STAGES], ws[SEG_MAX_STAGES];
  const SfTensor *x = in->pixel_values;
  SfTensor *map = NULL;
  gboolean ok = FALSE;

  if (!sf_image_family_check_input (x, g->channels, 0, 0, error))
    return FALSE;
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  for (int s = 0; s < g->n_stages; s++) {
    SfTensor *next_map;
    tokens[s] = seg_stage (g, &g->stages[s], x, &hs[s], &ws[s], error);
    if (tokens[s] == NULL)
      goto out;
    next_map = sf_seg_tokens_to_map (tokens[s], hs[s], ws[s]);
    g_clear_pointer (&map, sf_tensor_unref);
    map = next_map;
    x = map;
    if (want_hidden) {
      gboolean keep_tokens = s == g->n_stages - 1 && !g->reshape_last_stage;
      g_ptr_array_add (
          out->hidden_states, sf_tensor_ref (keep_tokens ? tokens[s] : map));
    }
  }
  out->last_hidden_state = g->reshape_last_stage
      ? sf_tensor_ref (map)
      : sf_tensor_ref (tokens[g->n_stages - 1]);
  if (g->classifier)
    out->logits = seg_decode (g, tokens, hs, ws);
  ok = TRUE;

out:
  for (int s = 0; s < g->n_stages; s++)
    sf_tensor_unref (tokens[s]);
  sf_tensor_unref (map);
  return ok;
}

static const char *const seg_model_types[] = { "segformer", NULL };

/* Each stage's overlapping patch embedding shrinks the map by its stride;
 * the logits keep the first stage's resolution. */
static gboolean
seg_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  SegGraph *g = data;
  gint64 h = -1, w = -1, h0 = -1, w0 = -1, c = 0;

  if (in != NULL && !sf_image_family_check_shape (in, g->channels, 0, 0, error))
    return FALSE;
  if (in != NULL) {
    h = in->dims[1];
    w = in->dims[2];
  }
  for (int s = 0; s < g->n_stages; s++) {
    const SegStage *st = &g->stages[s];

    if (in != NULL) {
      h = sf_conv2d_out_size (h, st->patch, st->stride, st->patch / 2);
      w = sf_conv2d_out_size (w, st->patch, st->stride, st->patch / 2);
    }
    if (in != NULL && (h < 1 || w < 1)) {
      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "a %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
          " image is too small for SegFormer stage %d",
          in->dims[1], in->dims[2], s);
      return FALSE;
    }
    if (s == 0) {
      h0 = h;
      w0 = w;
    }
    c = st->sizes[SZ_HIDDEN];
  }
  if (g->reshape_last_stage)
    sf_shape_set (&out->last_hidden_state, 3, c, h, w);
  else
    sf_shape_set (&out->last_hidden_state, 2, in ? h * w : -1, c);
  if (g->classifier)
    sf_shape_set (&out->logits, 3, g->head_sizes[SZ_LABELS], h0, w0);
  return TRUE;
}

const SfFamily sf_family_segformer = {
  .name = "segformer",
  .modality = SF_MODALITY_IMAGE,
  .model_types = seg_model_types,
  .load = seg_load,
  .free = seg_free,
  .forward_image = seg_forward_image,
  .output_shapes = seg_output_shapes,
};
