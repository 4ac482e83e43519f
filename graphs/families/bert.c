/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: BERT.
 *
 * Mirrors modeling_bert: BertEmbeddings (word + absolute position + token
 * type, then LayerNorm), a stack of post-LN BertLayer (graphs/encoder.c),
 * BertPooler (tanh of a dense layer over the first token) and, for
 * BertForSequenceClassification, a linear classifier over the pooled output.
 * Checkpoints store the encoder under "bert." when a head was trained on
 * top, and bare when saved as BertModel (sentence-transformers); both load.
 */
#include "graphs/model-private.h"
#include "graphs/encoder.h"
#include "graphs/weights.h"
#include "core/error.h"

#include <stddef.h>
#include <string.h>

enum
{
  SZ_HIDDEN,
  SZ_INTER,
  SZ_VOCAB,
  SZ_POS,
  SZ_TYPES,
  SZ_LABELS,
  SZ_COUNT
};

typedef struct
{
  SfTensor *word_emb;            /* [V, H] */
  SfTensor *pos_emb;             /* [P, H] */
  SfTensor *type_emb;            /* (types, H), NULL when type_vocab_size = 0 */
  SfTensor *emb_ln_g, *emb_ln_b; /* [H] */
  SfTensor *pool_w, *pool_b;     /* [H, H], [H]; optional in BertModel */
  SfTensor *cls_w, *cls_b;       /* [labels, H], (labels) */
} BertGlobals;

typedef struct
{
  BertGlobals g;
  SfEncoderLayer *layers; /* n_layers */
  int n_layers;
  SfEncoderParams params;
  gint64 sizes[SZ_COUNT];
  gboolean classifier;
  SfWeightTarget target; /* with this variant's weight table */
} BertGraph;

/* clang-format off */
#define G(field) offsetof (BertGlobals, field)
#define L(field) offsetof (SfEncoderLayer, field)
#define PL (SF_WEIGHT_PER_LAYER)

static const SfWeightSpec bert_weights[] = {
  {"embeddings.word_embeddings.weight", {SZ_VOCAB, SZ_HIDDEN, -1}, 0, G (word_emb)},
  {"embeddings.position_embeddings.weight", {SZ_POS, SZ_HIDDEN, -1}, 0, G (pos_emb)},
  {"embeddings.LayerNorm.weight", {SZ_HIDDEN, -1}, 0, G (emb_ln_g)},
  {"embeddings.LayerNorm.bias", {SZ_HIDDEN, -1}, 0, G (emb_ln_b)},
  {"encoder.layer.{L}.attention.self.query.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL, L (q_w)},
  {"encoder.layer.{L}.attention.self.query.bias", {SZ_HIDDEN, -1}, PL, L (q_b)},
  {"encoder.layer.{L}.attention.self.key.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL, L (k_w)},
  {"encoder.layer.{L}.attention.self.key.bias", {SZ_HIDDEN, -1}, PL, L (k_b)},
  {"encoder.layer.{L}.attention.self.value.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL, L (v_w)},
  {"encoder.layer.{L}.attention.self.value.bias", {SZ_HIDDEN, -1}, PL, L (v_b)},
  {"encoder.layer.{L}.attention.output.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL, L (o_w)},
  {"encoder.layer.{L}.attention.output.dense.bias", {SZ_HIDDEN, -1}, PL, L (o_b)},
  {"encoder.layer.{L}.attention.output.LayerNorm.weight", {SZ_HIDDEN, -1}, PL, L (ln1_g)},
  {"encoder.layer.{L}.attention.output.LayerNorm.bias", {SZ_HIDDEN, -1}, PL, L (ln1_b)},
  {"encoder.layer.{L}.intermediate.dense.weight", {SZ_INTER, SZ_HIDDEN, -1}, PL, L (ffn_in_w)},
  {"encoder.layer.{L}.intermediate.dense.bias", {SZ_INTER, -1}, PL, L (ffn_in_b)},
  {"encoder.layer.{L}.output.dense.weight", {SZ_HIDDEN, SZ_INTER, -1}, PL, L (ffn_out_w)},
  {"encoder.layer.{L}.output.dense.bias", {SZ_HIDDEN, -1}, PL, L (ffn_out_b)},
  {"encoder.layer.{L}.output.LayerNorm.weight", {SZ_HIDDEN, -1}, PL, L (ln2_g)},
  {"encoder.layer.{L}.output.LayerNorm.bias", {SZ_HIDDEN, -1}, PL, L (ln2_b)},
};

static const SfWeightSpec bert_type_weights[] = {
  {"embeddings.token_type_embeddings.weight", {SZ_TYPES, SZ_HIDDEN, -1}, 0, G (type_emb)},
};

/* The pooler is required under a classifier and optional otherwise
 * (BertModel(add_pooling_layer=False) checkpoints omit it). */
static const SfWeightSpec bert_pooler_weights[] = {
  {"pooler.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, 0, G (pool_w)},
  {"pooler.dense.bias", {SZ_HIDDEN, -1}, 0, G (pool_b)},
};

static const SfWeightSpec bert_optional_pooler_weights[] = {
  {"pooler.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, SF_WEIGHT_OPTIONAL, G (pool_w)},
  {"pooler.dense.bias", {SZ_HIDDEN, -1}, SF_WEIGHT_OPTIONAL, G (pool_b)},
};

/* The head sits outside the "bert." prefix. */
static const SfWeightSpec bert_classifier_weights[] = {
  {"classifier.weight", {SZ_LABELS, SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (cls_w)},
  {"classifier.bias", {SZ_LABELS, -1}, SF_WEIGHT_HEAD, G (cls_b)},
};

/* Architectures whose encoder we run, and whether they add the
 * sequence-classification head. Pre-training and LM heads are not used:
 * those checkpoints serve as feature extractors. */
static const SfArchitecture bert_architectures[] = {
  {"BertModel", FALSE},
  {"BertForSequenceClassification", TRUE},
  {"BertForMaskedLM", FALSE},
  {"BertForPreTraining", FALSE},
  {"BertLMHeadModel", FALSE},
};
/* clang-format on */

static void
bert_free (gpointer data)
{
  BertGraph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->target);
  g_free (g->layers);
  g_free (g);
}

/* The weight table of this checkpoint's variant. */
static void
bert_add_specs (BertGraph *g)
{
#define APPEND(table)                                                          \
  sf_weight_target_add (&g->target, table, G_N_ELEMENTS (table))
  APPEND (bert_weights);
  if (g->sizes[SZ_TYPES] > 0)
    APPEND (bert_type_weights);
  if (g->classifier) {
    APPEND (bert_pooler_weights);
    APPEND (bert_classifier_weights);
  } else {
    APPEND (bert_optional_pooler_weights);
  }
#undef APPEND
}

static gboolean
bert_read_config (
    BertGraph *g, SfModel *model, const SfConfig *cfg, GError **error)
{
  const char *pos_type;
  gint64 heads, layers;
  double eps;
  gboolean is_decoder, cross;

  if (!sf_config_int_min (cfg, "hidden_size", 1, &g->sizes[SZ_HIDDEN], error)
      || !sf_config_int_min (
          cfg, "intermediate_size", 1, &g->sizes[SZ_INTER], error)
      || !sf_config_int_min (cfg, "vocab_size", 1, &g->sizes[SZ_VOCAB], error)
      || !sf_config_int_min (cfg, "num_hidden_layers", 1, &layers, error)
      || !sf_config_int_min (cfg, "num_attention_heads", 1, &heads, error)
      || !sf_config_int_min (
          cfg, "max_position_embeddings", 1, &g->sizes[SZ_POS], error)
      || !sf_config_int_or (
          cfg, "type_vocab_size", 2, &g->sizes[SZ_TYPES], error)
      || !sf_config_eps_or (cfg, "layer_norm_eps", 1e-12, &eps, error)
      || !sf_model_read_activation (
          cfg, "hidden_act", "gelu", &g->params.act, error)
      || !sf_config_string_or (
          cfg, "position_embedding_type", "absolute", &pos_type, error)
      || !sf_config_bool_or (cfg, "is_decoder", FALSE, &is_decoder, error)
      || !sf_config_bool_or (cfg, "add_cross_attention", FALSE, &cross, error))
    return FALSE;

  if (g->sizes[SZ_HIDDEN] % heads != 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: hidden_size %" G_GINT64_FORMAT " is not a multiple of "
        "num_attention_heads %" G_GINT64_FORMAT,
        sf_config_origin (cfg), g->sizes[SZ_HIDDEN], heads);
    return FALSE;
  }
  if (layers > 1000 || g->sizes[SZ_TYPES] < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_hidden_layers or type_vocab_size is out of range",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (g_strcmp0 (pos_type, "absolute") != 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: position_embedding_type '%s' is not supported (only "
        "'absolute')",
        sf_config_origin (cfg), pos_type);
    return FALSE;
  }
  if (is_decoder || cross) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: is_decoder / add_cross_attention BERT models are not supported",
        sf_config_origin (cfg));
    return FALSE;
  }
  g->n_layers = (int)layers;
  g->params.n_heads = (int)heads;
  g->params.eps = (float)eps;
  model->hidden_size = g->sizes[SZ_HIDDEN];
  model->max_positions = g->sizes[SZ_POS];
  return TRUE;
}

static gpointer
bert_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "bert.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  BertGraph *g = g_new0 (BertGraph, 1);
  const char *prefix;

  if (!sf_model_match_architecture (model, bert_architectures,
          G_N_ELEMENTS (bert_architectures), &g->classifier, error)
      || !bert_read_config (g, model, cfg, error))
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
    .prefix = prefix ? prefix : "",
    .sizes = g->sizes,
    .n_layers = g->n_layers,
    .globals = &g->g,
    .layers = g->layers,
    .layer_stride = sizeof (SfEncoderLayer),
  };
  bert_add_specs (g);
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    goto fail;
  model->has_classifier = g->classifier;
  return g;

fail:
  bert_free (g);
  return NULL;
}

/* Mirrors BertEmbeddings.forward with absolute positions 0..T-1. */
static SfTensor *
bert_embed (BertGraph *g, const SfTextInput *in, GError **error)
{
  gint64 b = sf_tensor_dim (in->input_ids, 0),
         t = sf_tensor_dim (in->input_ids, 1);
  gint64 h = g->sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (3, b, t, h); /* [B, T, H] */
  g_autoptr (SfTensor) tmp = sf_tensor_new_f32 (2, b * t, h);
  g_autoptr (SfTensor) x2 = sf_tensor_reshape (x, 2, (gint64[]){ b * t, h });
  g_autofree gint64 *pos = g_new (gint64, b * t);
  g_autofree gint64 *types = g_new0 (gint64, b * t);

  if (t > g->sizes[SZ_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "input has %" G_GINT64_FORMAT " tokens, more than the model's "
        "max_position_embeddings %" G_GINT64_FORMAT,
        t, g->sizes[SZ_POS]);
    return NULL;
  }
  for (gint64 i = 0; i < b * t; i++)
    pos[i] = i % t;
  if (in->token_type_ids)
    memcpy (types, sf_tensor_i64 (in->token_type_ids), b * t * sizeof (gint64));

  if (!sf_op_embedding (
          x2, g->g.word_emb, sf_tensor_i64 (in->input_ids), b * t, error))
    return NULL;
  sf_op_embedding (tmp, g->g.pos_emb, pos, b * t, NULL);
  sf_op_add (x2, x2, tmp);
  if (g->g.type_emb) {
    if (!sf_op_embedding (tmp, g->g.type_emb, types, b * t, error))
      return NULL;
    sf_op_add (x2, x2, tmp);
  }
  sf_op_layer_norm (x, x, g->g.emb_ln_g, g->g.emb_ln_b, g->params.eps);
  return g_steal_pointer (&x);
}

static gboolean
bert_forward_text (gpointer data, const SfTextInput *in, gboolean want_hidden,
    SfTextOutput *out, GError **error)
{
  BertGraph *g = data;
  gint64 b = sf_tensor_dim (in->input_ids, 0), h = g->sizes[SZ_HIDDEN];
  SfTensor *x = bert_embed (g, in, error);

  if (x == NULL)
    return FALSE;
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  x = sf_encoder_stack_post_ln (g->layers, g->n_layers, &g->params, x,
      in->attention_mask, out->hidden_states);
  out->last_hidden_state = x;

  if (g->g.pool_w) { /* BertPooler: tanh (dense (h[:, 0])) */
    g_autoptr (SfTensor) first = sf_tensor_new_f32 (2, b, h);
    out->pooler_output = sf_tensor_new_f32 (2, b, h);
    sf_op_first_token (first, x);
    sf_op_linear (out->pooler_output, first, g->g.pool_w, g->g.pool_b);
    sf_op_activation (
        out->pooler_output, out->pooler_output, SF_ACTIVATION_TANH);
  }
  if (g->classifier) {
    out->logits = sf_tensor_new_f32 (2, b, g->sizes[SZ_LABELS]);
    sf_op_linear (out->logits, out->pooler_output, g->g.cls_w, g->g.cls_b);
  }
  return TRUE;
}

static const char *const bert_model_types[] = { "bert", NULL };

static gboolean
bert_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  BertGraph *g = data;

  sf_shape_set (
      &out->last_hidden_state, 2, in ? in->dims[0] : -1, g->sizes[SZ_HIDDEN]);
  if (g->g.pool_w)
    sf_shape_set (&out->pooler_output, 1, g->sizes[SZ_HIDDEN]);
  if (g->classifier)
    sf_shape_set (&out->logits, 1, g->sizes[SZ_LABELS]);
  return TRUE;
}

const SfFamily sf_family_bert = {
  .name = "bert",
  .modality = SF_MODALITY_TEXT,
  .model_types = bert_model_types,
  .load = bert_load,
  .free = bert_free,
  .forward_text = bert_forward_text,
  .output_shapes = bert_output_shapes,
};
