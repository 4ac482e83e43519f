/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: DistilBERT.
 *
 * Mirrors modeling_distilbert: Embeddings (word + position, LayerNorm; no
 * token types), a stack of TransformerBlock (the post-LN layer of
 * graphs/encoder.c under DistilBERT's weight names; LayerNorm eps is fixed
 * at 1e-12 there) and, for DistilBertForSequenceClassification, the first
 * token through pre_classifier, ReLU and classifier.
 *
 * Packed texts (SfPackedText) run the same graph on [N, H] rows, with
 * positions restarting at each text and attention within each text.
 */
#include "graphs/model-private.h"
#include "graphs/encoder.h"
#include "graphs/weights.h"
#include "core/error.h"

#include <math.h>
#include <stddef.h>

enum
{
  SZ_HIDDEN,
  SZ_INTER,
  SZ_VOCAB,
  SZ_POS,
  SZ_LABELS,
  SZ_COUNT
};

typedef struct
{
  SfTensor *word_emb;            /* [V, H] */
  SfTensor *pos_emb;             /* [P, H] */
  SfTensor *emb_ln_g, *emb_ln_b; /* [H] */
  SfTensor *pre_w, *pre_b;       /* [H, H], [H] */
  SfTensor *cls_w, *cls_b;       /* [labels, H], (labels) */
} DistilBertGlobals;

typedef struct
{
  DistilBertGlobals g;
  SfEncoderLayer *layers;
  int n_layers;
  SfEncoderParams params;
  gint64 sizes[SZ_COUNT];
  gboolean classifier;
  SfWeightTarget target; /* with this variant's weight table */
} DistilBertGraph;

/* clang-format off */
#define G(field) offsetof (DistilBertGlobals, field)
#define L(field) offsetof (SfEncoderLayer, field)
#define PL (SF_WEIGHT_PER_LAYER)
#define OPT (SF_WEIGHT_OPTIONAL)

static const SfWeightSpec distilbert_weights[] = {
  {"embeddings.word_embeddings.weight", {SZ_VOCAB, SZ_HIDDEN, -1}, 0, G (word_emb)},
  /* absent only in sinusoidal checkpoints; then computed (see below) */
  {"embeddings.position_embeddings.weight", {SZ_POS, SZ_HIDDEN, -1}, OPT, G (pos_emb)},
  {"embeddings.LayerNorm.weight", {SZ_HIDDEN, -1}, 0, G (emb_ln_g)},
  {"embeddings.LayerNorm.bias", {SZ_HIDDEN, -1}, 0, G (emb_ln_b)},
  {"transformer.layer.{L}.attention.q_lin.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (q_w)},
  {"transformer.layer.{L}.attention.q_lin.bias", {SZ_HIDDEN, -1}, PL, L (q_b)},
  {"transformer.layer.{L}.attention.k_lin.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (k_w)},
  {"transformer.layer.{L}.attention.k_lin.bias", {SZ_HIDDEN, -1}, PL, L (k_b)},
  {"transformer.layer.{L}.attention.v_lin.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (v_w)},
  {"transformer.layer.{L}.attention.v_lin.bias", {SZ_HIDDEN, -1}, PL, L (v_b)},
  {"transformer.layer.{L}.attention.out_lin.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (o_w)},
  {"transformer.layer.{L}.attention.out_lin.bias", {SZ_HIDDEN, -1}, PL, L (o_b)},
  {"transformer.layer.{L}.sa_layer_norm.weight", {SZ_HIDDEN, -1}, PL, L (ln1_g)},
  {"transformer.layer.{L}.sa_layer_norm.bias", {SZ_HIDDEN, -1}, PL, L (ln1_b)},
  {"transformer.layer.{L}.ffn.lin1.weight", {SZ_INTER, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (ffn_in_w)},
  {"transformer.layer.{L}.ffn.lin1.bias", {SZ_INTER, -1}, PL, L (ffn_in_b)},
  {"transformer.layer.{L}.ffn.lin2.weight", {SZ_HIDDEN, SZ_INTER, -1}, PL | SF_WEIGHT_LINEAR, L (ffn_out_w)},
  {"transformer.layer.{L}.ffn.lin2.bias", {SZ_HIDDEN, -1}, PL, L (ffn_out_b)},
  {"transformer.layer.{L}.output_layer_norm.weight", {SZ_HIDDEN, -1}, PL, L (ln2_g)},
  {"transformer.layer.{L}.output_layer_norm.bias", {SZ_HIDDEN, -1}, PL, L (ln2_b)},
};

static const SfWeightSpec distilbert_classifier_weights[] = {
  {"pre_classifier.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (pre_w)},
  {"pre_classifier.bias", {SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (pre_b)},
  {"classifier.weight", {SZ_LABELS, SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (cls_w)},
  {"classifier.bias", {SZ_LABELS, -1}, SF_WEIGHT_HEAD, G (cls_b)},
};

static const SfArchitecture distilbert_architectures[] = {
  {"DistilBertModel", FALSE},
  {"DistilBertForSequenceClassification", TRUE},
  {"DistilBertForMaskedLM", FALSE},
};
/* clang-format on */

static void
distilbert_free (gpointer data)
{
  DistilBertGraph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->target);
  g_free (g->layers);
  g_free (g);
}

/* Mirrors create_sinusoidal_embeddings: sin on even, cos on odd columns of
 * pos / 10000^(2·⌊j/2⌋/dim). */
static SfTensor *
sinusoidal_positions (gint64 n_pos, gint64 dim)
{
  SfTensor *t = sf_tensor_new_f32 (2, n_pos, dim);
  float *w = sf_tensor_f32 (t);
  for (gint64 p = 0; p < n_pos; p++) {
    for (gint64 j = 0; j < dim; j++) {
      double angle = p / pow (10000.0, 2.0 * (j / 2) / (double)dim);
      w[p * dim + j] = (float)(j % 2 == 0 ? sin (angle) : cos (angle));
    }
  }
  return t;
}

static gboolean
distilbert_read_config (DistilBertGraph *g, SfModel *model, const SfConfig *cfg,
    gboolean *sinusoidal, GError **error)
{
  gint64 heads, layers;

  if (!sf_config_int_min (cfg, "dim", 1, &g->sizes[SZ_HIDDEN], error)
      || !sf_config_int_min (cfg, "hidden_dim", 1, &g->sizes[SZ_INTER], error)
      || !sf_config_int_min (cfg, "vocab_size", 1, &g->sizes[SZ_VOCAB], error)
      || !sf_config_int_min (cfg, "n_layers", 1, &layers, error)
      || !sf_config_int_min (cfg, "n_heads", 1, &heads, error)
      || !sf_config_int_min (
          cfg, "max_position_embeddings", 1, &g->sizes[SZ_POS], error)
      || !sf_model_read_activation (
          cfg, "activation", "gelu", &g->params.act, error)
      || !sf_config_bool_or (
          cfg, "sinusoidal_pos_embds", FALSE, sinusoidal, error))
    return FALSE;
  if (g->sizes[SZ_HIDDEN] % heads != 0 || layers > 1000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: dim %" G_GINT64_FORMAT
        " is not a multiple of n_heads %" G_GINT64_FORMAT
        ", or n_layers is out of range",
        sf_config_origin (cfg), g->sizes[SZ_HIDDEN], heads);
    return FALSE;
  }
  g->n_layers = (int)layers;
  g->params.n_heads = (int)heads;
  g->params.eps = 1e-12f;
  model->hidden_size = g->sizes[SZ_HIDDEN];
  model->max_positions = g->sizes[SZ_POS];
  return TRUE;
}

static gpointer
distilbert_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "distilbert.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  DistilBertGraph *g = g_new0 (DistilBertGraph, 1);
  gboolean sinusoidal = FALSE;
  const char *prefix;

  if (!sf_model_match_architecture (model, distilbert_architectures,
          G_N_ELEMENTS (distilbert_architectures), &g->classifier, error)
      || !distilbert_read_config (g, model, cfg, &sinusoidal, error))
    goto fail;
  if (g->classifier) {
    if (!sf_model_read_labels (model, cfg, error))
      goto fail;
    g->sizes[SZ_LABELS] = model->labels->len;
  }
  prefix = sf_weights_find_prefix (
      ckpt, prefixes, "embeddings.word_embeddings.weight");
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
  sf_weight_target_add (
      &g->target, distilbert_weights, G_N_ELEMENTS (distilbert_weights));
  if (g->classifier)
    sf_weight_target_add (&g->target, distilbert_classifier_weights,
        G_N_ELEMENTS (distilbert_classifier_weights));
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    goto fail;
  sf_encoder_layers_fuse_qkv (g->layers, g->n_layers);
  if (g->g.pos_emb == NULL) {
    if (!sinusoidal) {
      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "%s: missing tensor '%sembeddings.position_embeddings.weight'",
          sf_checkpoint_dir (ckpt), g->target.prefix);
      goto fail;
    }
    g->g.pos_emb = sinusoidal_positions (g->sizes[SZ_POS], g->sizes[SZ_HIDDEN]);
  }
  model->has_classifier = g->classifier;
  return g;

fail:
  distilbert_free (g);
  return NULL;
}

/* x [N, H] = LayerNorm (word[ids] + position[pos]) over @n tokens. */
static gboolean
distilbert_embed_rows (DistilBertGraph *g, SfTensor *x, const gint64 *ids,
    const gint64 *pos, gint64 n, GError **error)
{
  g_autoptr (SfTensor) tmp = sf_tensor_new_f32 (2, n, g->sizes[SZ_HIDDEN]);

  if (!sf_op_embedding (x, g->g.word_emb, ids, n, error))
    return FALSE;
  sf_op_embedding (tmp, g->g.pos_emb, pos, n, NULL);
  sf_op_add (x, x, tmp);
  sf_op_layer_norm (x, x, g->g.emb_ln_g, g->g.emb_ln_b, g->params.eps);
  return TRUE;
}

static gboolean
distilbert_check_length (DistilBertGraph *g, gint64 t, GError **error)
{
  if (t > g->sizes[SZ_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "input has %" G_GINT64_FORMAT " tokens, more than the model's "
        "max_position_embeddings %" G_GINT64_FORMAT,
        t, g->sizes[SZ_POS]);
    return FALSE;
  }
  return TRUE;
}

/* The classifier from the first token of each text (first [B, H]). */
static void
distilbert_head (DistilBertGraph *g, const SfTensor *first, SfTextOutput *out)
{
  gint64 b = sf_tensor_dim (first, 0);
  g_autoptr (SfTensor) pre = sf_tensor_new_f32 (2, b, g->sizes[SZ_HIDDEN]);

  sf_op_linear (pre, first, g->g.pre_w, g->g.pre_b);
  sf_op_activation (pre, pre, SF_ACTIVATION_RELU);
  out->logits = sf_tensor_new_f32 (2, b, g->sizes[SZ_LABELS]);
  sf_op_linear (out->logits, pre, g->g.cls_w, g->g.cls_b);
}

static gboolean
distilbert_forward_text (gpointer data, const SfTextInput *in,
    gboolean want_hidden, SfTextOutput *out, GError **error)
{
  DistilBertGraph *g = data;
  gint64 b = sf_tensor_dim (in->input_ids, 0),
         t = sf_tensor_dim (in->input_ids, 1);
  gint64 h = g->sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (3, b, t, h); /* [B, T, H] */
  g_autoptr (SfTensor) x2 = sf_tensor_reshape (x, 2, (gint64[]){ b * t, h });
  g_autofree gint64 *pos = g_new (gint64, b * t);
  SfTensor *y;

  if (!distilbert_check_length (g, t, error))
    return FALSE;
  for (gint64 i = 0; i < b * t; i++)
    pos[i] = i % t;
  if (!distilbert_embed_rows (
          g, x2, sf_tensor_i64 (in->input_ids), pos, b * t, error))
    return FALSE;

  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  y = sf_encoder_stack_post_ln (g->layers, g->n_layers, &g->params,
      g_steal_pointer (&x), in->attention_mask, out->hidden_states);
  out->last_hidden_state = y;

  if (g->classifier) {
    g_autoptr (SfTensor) first = sf_tensor_new_f32 (2, b, h);

    sf_op_first_token (first, y);
    distilbert_head (g, first, out);
  }
  return TRUE;
}

static gboolean
distilbert_forward_text_packed (
    gpointer data, const SfPackedText *in, SfTextOutput *out, GError **error)
{
  DistilBertGraph *g = data;
  gint64 n = sf_tensor_dim (in->input_ids, 0);
  gint64 n_seqs = sf_tensor_dim (in->offsets, 0) - 1;
  const gint64 *offsets = sf_tensor_i64 (in->offsets);
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (2, n, g->sizes[SZ_HIDDEN]);
  g_autofree gint64 *pos = g_new (gint64, MAX (n, 1));
  SfTensor *y;

  for (gint64 i = 0; i < n_seqs; i++) {
    if (!distilbert_check_length (g, offsets[i + 1] - offsets[i], error))
      return FALSE;
    for (gint64 j = offsets[i]; j < offsets[i + 1]; j++)
      pos[j] = j - offsets[i];
  }
  if (!distilbert_embed_rows (
          g, x, sf_tensor_i64 (in->input_ids), pos, n, error))
    return FALSE;
  y = sf_encoder_stack_post_ln_packed (g->layers, g->n_layers, &g->params,
      g_steal_pointer (&x), offsets, n_seqs, NULL);
  out->last_hidden_state = y;

  if (g->classifier) {
    g_autoptr (SfTensor) first =
        sf_tensor_new_f32 (2, n_seqs, g->sizes[SZ_HIDDEN]);

    sf_op_segment_first (first, y, offsets, n_seqs);
    distilbert_head (g, first, out);
  }
  return TRUE;
}

static const char *const distilbert_model_types[] = { "distilbert", NULL };

static gboolean
distilbert_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  DistilBertGraph *g = data;

  sf_shape_set (
      &out->last_hidden_state, 2, in ? in->dims[0] : -1, g->sizes[SZ_HIDDEN]);
  if (g->classifier)
    sf_shape_set (&out->logits, 1, g->sizes[SZ_LABELS]);
  return TRUE;
}

const SfFamily sf_family_distilbert = {
  .name = "distilbert",
  .modality = SF_MODALITY_TEXT,
  .model_types = distilbert_model_types,
  .load = distilbert_load,
  .free = distilbert_free,
  .forward_text = distilbert_forward_text,
  .forward_text_packed = distilbert_forward_text_packed,
  .output_shapes = distilbert_output_shapes,
};
