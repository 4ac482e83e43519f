/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: GPT-2.
 *
 * Mirrors modeling_gpt2.GPT2LMHeadModel: token plus learned position
 * embeddings, a stack of pre-LN GPT2Block (causal self-attention with one
 * fused c_attn projection, then an MLP), a final ln_f and an LM head tied
 * to wte unless the checkpoint unties it. Conv1D weights are kept as
 * stored ([in, out]) and multiplied without a transpose.
 *
 * Attention scores are q·kᵀ, divided by √d when scale_attn_weights and by
 * layer_idx + 1 when scale_attn_by_inverse_layer_idx; the attention op
 * always divides by √d, so q carries the difference.
 * reorder_and_upcast_attn only changes the precision of half-precision
 * runs and is a no-op in f32. Checkpoints saved from GPT2LMHeadModel carry
 * "transformer."; GPT2Model ones are bare: both load.
 *
 * The full forward serves `verify` and the task layer; generation runs
 * through the incremental decoder of gpt2-decode.c.
 */
#include "graphs/families/gpt2-private.h"
#include "core/error.h"

#include <math.h>
#include <stddef.h>

/* clang-format off */
#define G(field) offsetof (Gpt2Globals, field)
#define L(field) offsetof (Gpt2Layer, field)
#define PL (SF_WEIGHT_PER_LAYER)

static const SfWeightSpec gpt2_weights[] = {
  {"wte.weight", {GPT2_SZ_VOCAB, GPT2_SZ_EMBD, -1}, 0, G (wte)},
  {"wpe.weight", {GPT2_SZ_POS, GPT2_SZ_EMBD, -1}, 0, G (wpe)},
  {"h.{L}.ln_1.weight", {GPT2_SZ_EMBD, -1}, PL, L (ln1_g)},
  {"h.{L}.ln_1.bias", {GPT2_SZ_EMBD, -1}, PL, L (ln1_b)},
  {"h.{L}.attn.c_attn.weight", {GPT2_SZ_EMBD, GPT2_SZ_QKV, -1}, PL | SF_WEIGHT_LINEAR_IN_OUT, L (attn_w)},
  {"h.{L}.attn.c_attn.bias", {GPT2_SZ_QKV, -1}, PL, L (attn_b)},
  {"h.{L}.attn.c_proj.weight", {GPT2_SZ_EMBD, GPT2_SZ_EMBD, -1}, PL | SF_WEIGHT_LINEAR_IN_OUT, L (proj_w)},
  {"h.{L}.attn.c_proj.bias", {GPT2_SZ_EMBD, -1}, PL, L (proj_b)},
  {"h.{L}.ln_2.weight", {GPT2_SZ_EMBD, -1}, PL, L (ln2_g)},
  {"h.{L}.ln_2.bias", {GPT2_SZ_EMBD, -1}, PL, L (ln2_b)},
  {"h.{L}.mlp.c_fc.weight", {GPT2_SZ_EMBD, GPT2_SZ_INNER, -1}, PL | SF_WEIGHT_LINEAR_IN_OUT, L (fc_w)},
  {"h.{L}.mlp.c_fc.bias", {GPT2_SZ_INNER, -1}, PL, L (fc_b)},
  {"h.{L}.mlp.c_proj.weight", {GPT2_SZ_INNER, GPT2_SZ_EMBD, -1}, PL | SF_WEIGHT_LINEAR_IN_OUT, L (out_w)},
  {"h.{L}.mlp.c_proj.bias", {GPT2_SZ_EMBD, -1}, PL, L (out_b)},
  {"ln_f.weight", {GPT2_SZ_EMBD, -1}, 0, G (lnf_g)},
  {"ln_f.bias", {GPT2_SZ_EMBD, -1}, 0, G (lnf_b)},
};

/* An untied head (tie_word_embeddings false) sits outside the prefix. */
static const SfWeightSpec gpt2_head_weights[] = {
  {"lm_head.weight", {GPT2_SZ_VOCAB, GPT2_SZ_EMBD, -1}, SF_WEIGHT_HEAD, G (lm_head)},
};

/* Architectures whose LM we run; all tie the head to wte by default. */
static const SfArchitecture gpt2_architectures[] = {
  {"GPT2LMHeadModel", FALSE},
  {"GPT2Model", FALSE},
  {"GPT2DoubleHeadsModel", FALSE},
};
/* clang-format on */

static void
gpt2_free (gpointer data)
{
  Gpt2Graph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->target);
  sf_tensor_unref (g->head);
  g_free (g->layers);
  g_free (g->q_factor);
  g_free (g);
}

/* A token id field: absent or null → -1; an int, or the first of a list. */
static gboolean
read_token_id (const SfConfig *cfg, const char *key, gint64 vocab, gint64 *out,
    GError **error)
{
  const cJSON *item = sf_config_get (cfg, key);

  *out = -1;
  if (item == NULL)
    return TRUE;
  if (cJSON_IsArray (item))
    item = cJSON_GetArrayItem (item, 0);
  if (!cJSON_IsNumber (item) || item->valuedouble != floor (item->valuedouble)
      || item->valuedouble < 0 || item->valuedouble >= (double)vocab) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be a token id in [0, %" G_GINT64_FORMAT ")",
        sf_config_origin (cfg), key, vocab);
    return FALSE;
  }
  *out = (gint64)item->valuedouble;
  return TRUE;
}

static gboolean
gpt2_read_config (Gpt2Graph *g, SfModel *model, const SfConfig *cfg,
    gboolean *tied, GError **error)
{
  gint64 layers, d;
  double eps;
  gboolean scale, by_layer, upcast, cross;

  if (!sf_config_int_min (cfg, "n_embd", 1, &g->sizes[GPT2_SZ_EMBD], error)
      || !sf_config_int_min (cfg, "n_layer", 1, &layers, error)
      || !sf_model_read_heads (
          cfg, "n_head", "n_embd", g->sizes[GPT2_SZ_EMBD], &g->n_heads, error)
      || !sf_config_int_min (
          cfg, "n_positions", 1, &g->sizes[GPT2_SZ_POS], error)
      || !sf_config_int_min (
          cfg, "vocab_size", 1, &g->sizes[GPT2_SZ_VOCAB], error))
    return FALSE;
  d = g->sizes[GPT2_SZ_EMBD];
  if (d > G_MAXINT32 / 4) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: n_embd %" G_GINT64_FORMAT " is out of range",
        sf_config_origin (cfg), d);
    return FALSE;
  }
  if (!sf_config_int_or (cfg, "n_inner", 4 * d, &g->sizes[GPT2_SZ_INNER], error)
      || !sf_config_eps_or (cfg, "layer_norm_epsilon", 1e-5, &eps, error)
      || !sf_model_read_activation (
          cfg, "activation_function", "gelu_new", &g->act, error)
      || !sf_config_bool_or (cfg, "scale_attn_weights", TRUE, &scale, error)
      || !sf_config_bool_or (
          cfg, "scale_attn_by_inverse_layer_idx", FALSE, &by_layer, error)
      || !sf_config_bool_or (
          cfg, "reorder_and_upcast_attn", FALSE, &upcast, error)
      || !sf_config_bool_or (cfg, "add_cross_attention", FALSE, &cross, error)
      || !sf_config_bool_or (cfg, "tie_word_embeddings", TRUE, tied, error)
      || !read_token_id (
          cfg, "bos_token_id", g->sizes[GPT2_SZ_VOCAB], &g->bos_token_id, error)
      || !read_token_id (cfg, "eos_token_id", g->sizes[GPT2_SZ_VOCAB],
          &g->eos_token_id, error))
    return FALSE;

  if (g->sizes[GPT2_SZ_INNER] < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'n_inner' must be at least 1", sf_config_origin (cfg));
    return FALSE;
  }
  if (layers > 1000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'n_layer' is out of range (%" G_GINT64_FORMAT ")",
        sf_config_origin (cfg), layers);
    return FALSE;
  }
  if (cross) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: add_cross_attention GPT-2 models are not supported",
        sf_config_origin (cfg));
    return FALSE;
  }
  (void)upcast; /* f32 throughout: nothing to reorder or upcast */

  g->sizes[GPT2_SZ_QKV] = 3 * d;
  g->n_layers = (int)layers;
  g->eps = (float)eps;
  g->q_factor = g_new (float, g->n_layers);
  for (int l = 0; l < g->n_layers; l++) {
    /* GPT-2's scale over the op's 1/√head_dim */
    double f = scale ? 1.0 : sqrt ((double)(d / g->n_heads));
    g->q_factor[l] = (float)(by_layer ? f / (l + 1) : f);
  }
  model->hidden_size = d;
  model->max_positions = g->sizes[GPT2_SZ_POS];
  return TRUE;
}

static gpointer
gpt2_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "transformer.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  Gpt2Graph *g = g_new0 (Gpt2Graph, 1);
  gboolean classifier, tied;
  const char *prefix;

  g->model = model;
  if (!sf_model_match_architecture (model, gpt2_architectures,
          G_N_ELEMENTS (gpt2_architectures), &classifier, error)
      || !gpt2_read_config (g, model, cfg, &tied, error))
    goto fail;

  prefix = sf_weights_find_prefix (ckpt, prefixes, "wte.weight");
  g->layers = g_new0 (Gpt2Layer, g->n_layers);
  g->target = (SfWeightTarget){
    .precision = model->precision,
    .prefix = prefix ? prefix : "",
    .sizes = g->sizes,
    .n_layers = g->n_layers,
    .globals = &g->g,
    .layers = g->layers,
    .layer_stride = sizeof (Gpt2Layer),
  };
  sf_weight_target_add (&g->target, gpt2_weights, G_N_ELEMENTS (gpt2_weights));
  /* a tied head is wte itself, whether or not the file repeats it */
  if (!tied)
    sf_weight_target_add (
        &g->target, gpt2_head_weights, G_N_ELEMENTS (gpt2_head_weights));
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    goto fail;
  g->head = sf_weights_pack_head (
      g->g.lm_head ? g->g.lm_head : g->g.wte, model->precision);
  return g;

fail:
  gpt2_free (g);
  return NULL;
}

const SfTensor *
sf_gpt2_lm_head (const Gpt2Graph *g)
{
  if (g->head != NULL)
    return g->head;
  return g->g.lm_head ? g->g.lm_head : g->g.wte;
}

gboolean
sf_gpt2_embed (const Gpt2Graph *g, SfTensor *x, const gint64 *ids,
    const gint64 *positions, gint64 n, GError **error)
{
  g_autoptr (SfTensor) pos = sf_tensor_new_f32 (2, n, g->sizes[GPT2_SZ_EMBD]);

  if (!sf_op_embedding (x, g->g.wte, ids, n, error)
      || !sf_op_embedding (pos, g->g.wpe, positions, n, error))
    return FALSE;
  sf_op_add (x, x, pos);
  return TRUE;
}

void
sf_gpt2_block_qkv (const Gpt2Graph *g, int layer, const SfTensor *x,
    SfTensor *q, SfTensor *k, SfTensor *v)
{
  const Gpt2Layer *l = &g->layers[layer];
  gint64 n = sf_tensor_dim (x, 0), d = g->sizes[GPT2_SZ_EMBD];
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (2, n, d);       /* [N, D] */
  g_autoptr (SfTensor) qkv = sf_tensor_new_f32 (2, n, 3 * d); /* [N, 3D] */
  SfTensor *parts[3] = { q, k, v };

  sf_op_layer_norm (h, x, l->ln1_g, l->ln1_b, g->eps);
  sf_op_linear_in_out (qkv, h, l->attn_w, l->attn_b);
  sf_op_split (parts, 3, qkv, 1);
  if (g->q_factor[layer] != 1.0f)
    sf_op_scale (q, q, g->q_factor[layer]);
}

void
sf_gpt2_block_finish (
    const Gpt2Graph *g, int layer, SfTensor *x, const SfTensor *ctx)
{
  const Gpt2Layer *l = &g->layers[layer];
  gint64 n = sf_tensor_dim (x, 0), d = g->sizes[GPT2_SZ_EMBD];
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (2, n, d); /* [N, D] */
  g_autoptr (SfTensor) f =
      sf_tensor_new_f32 (2, n, g->sizes[GPT2_SZ_INNER]); /* [N, F] */

  sf_op_linear_in_out (h, ctx, l->proj_w, l->proj_b);
  sf_op_add (x, x, h);
  sf_op_layer_norm (h, x, l->ln2_g, l->ln2_b, g->eps);
  sf_op_linear_in_out (f, h, l->fc_w, l->fc_b);
  sf_op_activation (f, f, g->act);
  sf_op_linear_in_out (h, f, l->out_w, l->out_b);
  sf_op_add (x, x, h);
}

/* Mirrors GPT2LMHeadModel.forward over a padded batch: positions 0..T-1
 * for every row, the causal mask combined with the padding mask. */
static gboolean
gpt2_forward_text (gpointer data, const SfTextInput *in, gboolean want_hidden,
    SfTextOutput *out, GError **error)
{
  Gpt2Graph *g = data;
  gint64 b = sf_tensor_dim (in->input_ids, 0),
         t = sf_tensor_dim (in->input_ids, 1), d = g->sizes[GPT2_SZ_EMBD];
  g_autoptr (SfTensor) x = NULL;    /* [B, T, D] */
  g_autoptr (SfTensor) rows = NULL; /* [B·T, D] view of x */
  g_autoptr (SfTensor) q = NULL, k = NULL, v = NULL, ctx = NULL;
  g_autoptr (SfTensor) q3 = NULL, k3 = NULL, v3 = NULL, ctx3 = NULL;
  g_autofree gint64 *pos = NULL;

  if (t > g->sizes[GPT2_SZ_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "input has %" G_GINT64_FORMAT " tokens, more than the model's "
        "n_positions %" G_GINT64_FORMAT,
        t, g->sizes[GPT2_SZ_POS]);
    return FALSE;
  }
  x = sf_tensor_new_f32 (3, b, t, d);
  rows = sf_tensor_reshape (x, 2, (gint64[]){ b * t, d });
  pos = g_new (gint64, MAX (b * t, 1));
  for (gint64 i = 0; i < b * t; i++)
    pos[i] = i % t;
  if (!sf_gpt2_embed (
          g, rows, sf_tensor_i64 (in->input_ids), pos, b * t, error))
    return FALSE;

  q = sf_tensor_new_f32 (2, b * t, d);
  k = sf_tensor_new_f32 (2, b * t, d);
  v = sf_tensor_new_f32 (2, b * t, d);
  ctx = sf_tensor_new_f32 (2, b * t, d);
  q3 = sf_tensor_reshape (q, 3, (gint64[]){ b, t, d });
  k3 = sf_tensor_reshape (k, 3, (gint64[]){ b, t, d });
  v3 = sf_tensor_reshape (v, 3, (gint64[]){ b, t, d });
  ctx3 = sf_tensor_reshape (ctx, 3, (gint64[]){ b, t, d });
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  for (int l = 0; l < g->n_layers; l++) {
    if (want_hidden)
      g_ptr_array_add (out->hidden_states, sf_tensor_copy (x));
    sf_gpt2_block_qkv (g, l, rows, q, k, v);
    sf_op_attention (ctx3, q3, k3, v3, g->n_heads, in->attention_mask, TRUE);
    sf_gpt2_block_finish (g, l, rows, ctx);
  }
  sf_op_layer_norm (x, x, g->g.lnf_g, g->g.lnf_b, g->eps);
  if (want_hidden)
    g_ptr_array_add (out->hidden_states, sf_tensor_copy (x));

  out->logits = sf_tensor_new_f32 (3, b, t, g->sizes[GPT2_SZ_VOCAB]);
  sf_op_linear (out->logits, x, sf_gpt2_lm_head (g), NULL);
  out->last_hidden_state = g_steal_pointer (&x);
  return TRUE;
}

static gboolean
gpt2_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  Gpt2Graph *g = data;
  gint64 t = in ? in->dims[0] : -1;

  if (t > g->sizes[GPT2_SZ_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "input has %" G_GINT64_FORMAT " tokens, more than the model's "
        "n_positions %" G_GINT64_FORMAT,
        t, g->sizes[GPT2_SZ_POS]);
    return FALSE;
  }
  sf_shape_set (&out->last_hidden_state, 2, t, g->sizes[GPT2_SZ_EMBD]);
  sf_shape_set (&out->logits, 2, t, g->sizes[GPT2_SZ_VOCAB]);
  return TRUE;
}

static const char *const gpt2_model_types[] = { "gpt2", NULL };

const SfFamily sf_family_gpt2 = {
  .name = "gpt2",
  .modality = SF_MODALITY_TEXT,
  .model_types = gpt2_model_types,
  .load = gpt2_load,
  .free = gpt2_free,
  .forward_text = gpt2_forward_text,
  .output_shapes = gpt2_output_shapes,
  .decoder_new = sf_gpt2_decoder_new,
};
