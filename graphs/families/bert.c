/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: BERT, RoBERTa and XLM-RoBERTa.
 *
 * Mirrors modeling_bert: BertEmbeddings (word + absolute position + token
 * type, then LayerNorm), a stack of post-LN BertLayer (graphs/encoder.c),
 * BertPooler (tanh of a dense layer over the first token) and, for
 * BertForSequenceClassification, a linear classifier over the pooled output.
 * Checkpoints store the encoder under "bert." when a head was trained on
 * top, and bare when saved as BertModel (sentence-transformers); both load.
 *
 * RoBERTa and XLM-RoBERTa (modeling_roberta, modeling_xlm_roberta) are the
 * same graph with a variant (BertVariant): weights under "roberta.",
 * position ids that count the non-pad tokens from pad_token_id + 1 (pads
 * take pad_token_id itself), and RobertaClassificationHead, which applies
 * its own dense + tanh to the first token instead of a pooler, then
 * out_proj.
 *
 * Packed texts (SfPackedText) take the same graph on [N, H] rows: the
 * positions restart at each text, attention stays within each text
 * (graphs/encoder.h), and the pooler and heads read each text's first
 * row.
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
  SfTensor *head_w, *head_b;     /* [H, H], [H]; RoBERTa's head dense */
  SfTensor *cls_w, *cls_b;       /* [labels, H], (labels) */
} BertGlobals;

/* What sets the checkpoints of one model type apart. */
typedef struct
{
  const char *const *prefixes; /* of the encoder's weights, NULL-ended */
  const SfArchitecture *architectures;
  guint n_architectures;
  const SfWeightSpec *head; /* the sequence-classification head */
  guint n_head;
  gboolean pad_positions; /* positions count non-pad tokens (RoBERTa) */
} BertVariant;

typedef struct
{
  BertGlobals g;
  SfEncoderLayer *layers; /* n_layers */
  int n_layers;
  SfEncoderParams params;
  gint64 sizes[SZ_COUNT];
  gboolean classifier;
  const BertVariant *variant;
  gint64 pad_id;         /* pad_token_id where pad_positions, else -1 */
  gint64 max_tokens;     /* the longest input the positions allow */
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
  {"encoder.layer.{L}.attention.self.query.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (q_w)},
  {"encoder.layer.{L}.attention.self.query.bias", {SZ_HIDDEN, -1}, PL, L (q_b)},
  {"encoder.layer.{L}.attention.self.key.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (k_w)},
  {"encoder.layer.{L}.attention.self.key.bias", {SZ_HIDDEN, -1}, PL, L (k_b)},
  {"encoder.layer.{L}.attention.self.value.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (v_w)},
  {"encoder.layer.{L}.attention.self.value.bias", {SZ_HIDDEN, -1}, PL, L (v_b)},
  {"encoder.layer.{L}.attention.output.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (o_w)},
  {"encoder.layer.{L}.attention.output.dense.bias", {SZ_HIDDEN, -1}, PL, L (o_b)},
  {"encoder.layer.{L}.attention.output.LayerNorm.weight", {SZ_HIDDEN, -1}, PL, L (ln1_g)},
  {"encoder.layer.{L}.attention.output.LayerNorm.bias", {SZ_HIDDEN, -1}, PL, L (ln1_b)},
  {"encoder.layer.{L}.intermediate.dense.weight", {SZ_INTER, SZ_HIDDEN, -1}, PL | SF_WEIGHT_LINEAR, L (ffn_in_w)},
  {"encoder.layer.{L}.intermediate.dense.bias", {SZ_INTER, -1}, PL, L (ffn_in_b)},
  {"encoder.layer.{L}.output.dense.weight", {SZ_HIDDEN, SZ_INTER, -1}, PL | SF_WEIGHT_LINEAR, L (ffn_out_w)},
  {"encoder.layer.{L}.output.dense.bias", {SZ_HIDDEN, -1}, PL, L (ffn_out_b)},
  {"encoder.layer.{L}.output.LayerNorm.weight", {SZ_HIDDEN, -1}, PL, L (ln2_g)},
  {"encoder.layer.{L}.output.LayerNorm.bias", {SZ_HIDDEN, -1}, PL, L (ln2_b)},
};

static const SfWeightSpec bert_type_weights[] = {
  {"embeddings.token_type_embeddings.weight", {SZ_TYPES, SZ_HIDDEN, -1}, 0, G (type_emb)},
};

/* Without a classifier the pooler is optional
 * (BertModel(add_pooling_layer=False) checkpoints omit it). */
static const SfWeightSpec bert_optional_pooler_weights[] = {
  {"pooler.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, SF_WEIGHT_OPTIONAL, G (pool_w)},
  {"pooler.dense.bias", {SZ_HIDDEN, -1}, SF_WEIGHT_OPTIONAL, G (pool_b)},
};

/* BERT's classifier reads the pooler, which is then required; the
 * classifier itself sits outside the "bert." prefix. */
static const SfWeightSpec bert_head_weights[] = {
  {"pooler.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, 0, G (pool_w)},
  {"pooler.dense.bias", {SZ_HIDDEN, -1}, 0, G (pool_b)},
  {"classifier.weight", {SZ_LABELS, SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (cls_w)},
  {"classifier.bias", {SZ_LABELS, -1}, SF_WEIGHT_HEAD, G (cls_b)},
};

/* RobertaClassificationHead: dense + tanh on the first token, out_proj. */
static const SfWeightSpec roberta_head_weights[] = {
  {"classifier.dense.weight", {SZ_HIDDEN, SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (head_w)},
  {"classifier.dense.bias", {SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (head_b)},
  {"classifier.out_proj.weight", {SZ_LABELS, SZ_HIDDEN, -1}, SF_WEIGHT_HEAD, G (cls_w)},
  {"classifier.out_proj.bias", {SZ_LABELS, -1}, SF_WEIGHT_HEAD, G (cls_b)},
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

/* XLM-RoBERTa is RoBERTa with another vocabulary: one table for both. */
static const SfArchitecture roberta_architectures[] = {
  {"RobertaModel", FALSE},
  {"RobertaForSequenceClassification", TRUE},
  {"RobertaForMaskedLM", FALSE},
  {"XLMRobertaModel", FALSE},
  {"XLMRobertaForSequenceClassification", TRUE},
  {"XLMRobertaForMaskedLM", FALSE},
};
/* clang-format on */

static const char *const bert_prefixes[] = { "bert.", "", NULL };
static const char *const roberta_prefixes[] = { "roberta.", "", NULL };

static const BertVariant bert_variant = {
  .prefixes = bert_prefixes,
  .architectures = bert_architectures,
  .n_architectures = G_N_ELEMENTS (bert_architectures),
  .head = bert_head_weights,
  .n_head = G_N_ELEMENTS (bert_head_weights),
  .pad_positions = FALSE,
};

static const BertVariant roberta_variant = {
  .prefixes = roberta_prefixes,
  .architectures = roberta_architectures,
  .n_architectures = G_N_ELEMENTS (roberta_architectures),
  .head = roberta_head_weights,
  .n_head = G_N_ELEMENTS (roberta_head_weights),
  .pad_positions = TRUE,
};

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
  if (g->classifier)
    sf_weight_target_add (&g->target, g->variant->head, g->variant->n_head);
  else
    APPEND (bert_optional_pooler_weights);
#undef APPEND
}

/* RoBERTa numbers positions from pad_token_id + 1, so the last usable
 * one bounds the input length. */
static gboolean
bert_read_positions (BertGraph *g, const SfConfig *cfg, GError **error)
{
  gint64 pad;

  g->pad_id = -1;
  g->max_tokens = g->sizes[SZ_POS];
  if (!g->variant->pad_positions)
    return TRUE;
  if (!sf_config_int_or (cfg, "pad_token_id", 1, &pad, error))
    return FALSE;
  if (pad < 0 || pad >= g->sizes[SZ_POS] - 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: pad_token_id %" G_GINT64_FORMAT " leaves no position for a "
        "token (positions start at pad_token_id + 1, "
        "max_position_embeddings is %" G_GINT64_FORMAT ")",
        sf_config_origin (cfg), pad, g->sizes[SZ_POS]);
    return FALSE;
  }
  g->pad_id = pad;
  g->max_tokens = g->sizes[SZ_POS] - pad - 1;
  return TRUE;
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

  if (!bert_read_positions (g, cfg, error))
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
  model->max_positions = g->max_tokens;
  return TRUE;
}

static gpointer
bert_load_variant (SfModel *model, SfCheckpoint *ckpt,
    const BertVariant *variant, GError **error)
{
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  BertGraph *g = g_new0 (BertGraph, 1);
  const char *prefix;

  g->variant = variant;
  if (!sf_model_match_architecture (model, variant->architectures,
          variant->n_architectures, &g->classifier, error)
      || !bert_read_config (g, model, cfg, error))
    goto fail;
  if (g->classifier) {
    if (!sf_model_read_labels (model, cfg, error))
      goto fail;
    g->sizes[SZ_LABELS] = model->labels->len;
  }

  prefix = sf_weights_find_prefix (
      ckpt, variant->prefixes, "embeddings.word_embeddings.weight");
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
  bert_add_specs (g);
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    goto fail;
  sf_encoder_layers_fuse_qkv (g->layers, g->n_layers);
  model->has_classifier = g->classifier;
  return g;

fail:
  bert_free (g);
  return NULL;
}

static gpointer
bert_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  return bert_load_variant (model, ckpt, &bert_variant, error);
}

static gpointer
roberta_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  return bert_load_variant (model, ckpt, &roberta_variant, error);
}

/* Position ids of one text of @t tokens: 0..T-1, or with pad_positions
 * RoBERTa's create_position_ids_from_input_ids (pads at pad_id, the
 * others at pad_id + their rank among the text's non-pad tokens). */
static void
bert_text_positions (
    const BertGraph *g, const gint64 *ids, gint64 t, gint64 *pos)
{
  gint64 seen = 0;

  for (gint64 j = 0; j < t; j++) {
    if (g->pad_id < 0)
      pos[j] = j;
    else
      pos[j] = ids[j] == g->pad_id ? g->pad_id : g->pad_id + ++seen;
  }
}

/* The positions of @b padded rows of @t tokens. */
static void
bert_positions (
    const BertGraph *g, const gint64 *ids, gint64 b, gint64 t, gint64 *pos)
{
  for (gint64 i = 0; i < b; i++)
    bert_text_positions (g, ids + i * t, t, pos + i * t);
}

/* x [N, H] = LayerNorm (word[ids] + position[pos] + type[types]) over
 * @n tokens; types NULL = zeros. */
static gboolean
bert_embed_rows (BertGraph *g, SfTensor *x, const gint64 *ids,
    const gint64 *pos, const gint64 *types, gint64 n, GError **error)
{
  g_autoptr (SfTensor) tmp = sf_tensor_new_f32 (2, n, g->sizes[SZ_HIDDEN]);
  g_autofree gint64 *zeros = types ? NULL : g_new0 (gint64, n);

  if (!sf_op_embedding (x, g->g.word_emb, ids, n, error))
    return FALSE;
  sf_op_embedding (tmp, g->g.pos_emb, pos, n, NULL);
  sf_op_add (x, x, tmp);
  if (g->g.type_emb) {
    if (!sf_op_embedding (tmp, g->g.type_emb, types ? types : zeros, n, error))
      return FALSE;
    sf_op_add (x, x, tmp);
  }
  sf_op_layer_norm (x, x, g->g.emb_ln_g, g->g.emb_ln_b, g->params.eps);
  return TRUE;
}

static gboolean
bert_check_length (BertGraph *g, gint64 t, GError **error)
{
  if (t > g->max_tokens) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "input has %" G_GINT64_FORMAT " tokens, more than the %" G_GINT64_FORMAT
        " the model's max_position_embeddings %" G_GINT64_FORMAT " allow",
        t, g->max_tokens, g->sizes[SZ_POS]);
    return FALSE;
  }
  return TRUE;
}

/* Mirrors BertEmbeddings.forward (RobertaEmbeddings.forward with
 * pad_positions). */
static SfTensor *
bert_embed (BertGraph *g, const SfTextInput *in, GError **error)
{
  gint64 b = sf_tensor_dim (in->input_ids, 0),
         t = sf_tensor_dim (in->input_ids, 1);
  gint64 h = g->sizes[SZ_HIDDEN];
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (3, b, t, h); /* [B, T, H] */
  g_autoptr (SfTensor) x2 = sf_tensor_reshape (x, 2, (gint64[]){ b * t, h });
  g_autofree gint64 *pos = g_new (gint64, b * t);

  if (!bert_check_length (g, t, error))
    return NULL;
  bert_positions (g, sf_tensor_i64 (in->input_ids), b, t, pos);
  if (!bert_embed_rows (g, x2, sf_tensor_i64 (in->input_ids), pos,
          in->token_type_ids ? sf_tensor_i64 (in->token_type_ids) : NULL, b * t,
          error))
    return NULL;
  return g_steal_pointer (&x);
}

/* bert_embed of packed texts: x [N, H], positions counted per text. */
static SfTensor *
bert_embed_packed (BertGraph *g, const SfPackedText *in, GError **error)
{
  gint64 n = sf_tensor_dim (in->input_ids, 0);
  gint64 n_seqs = sf_tensor_dim (in->offsets, 0) - 1;
  const gint64 *offsets = sf_tensor_i64 (in->offsets);
  const gint64 *ids = sf_tensor_i64 (in->input_ids);
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (2, n, g->sizes[SZ_HIDDEN]);
  g_autofree gint64 *pos = g_new (gint64, MAX (n, 1));

  for (gint64 i = 0; i < n_seqs; i++) {
    gint64 len = offsets[i + 1] - offsets[i];

    if (!bert_check_length (g, len, error))
      return NULL;
    bert_text_positions (g, ids + offsets[i], len, pos + offsets[i]);
  }
  if (!bert_embed_rows (g, x, ids, pos,
          in->token_type_ids ? sf_tensor_i64 (in->token_type_ids) : NULL, n,
          error))
    return NULL;
  return g_steal_pointer (&x);
}

/* (transfer full) tanh (dense (first)): BertPooler, and the first half
 * of RobertaClassificationHead, on the first token of each text
 * (first [B, H]) → [B, H]. */
static SfTensor *
dense_tanh (const SfTensor *first, const SfTensor *w, const SfTensor *bias)
{
  SfTensor *out =
      sf_tensor_new_f32 (2, sf_tensor_dim (first, 0), sf_tensor_dim (w, 0));

  sf_op_linear (out, first, w, bias);
  sf_op_activation (out, out, SF_ACTIVATION_TANH);
  return out;
}

/* The pooler and classifier outputs from the first token of each text
 * (first [B, H]). */
static void
bert_heads (BertGraph *g, const SfTensor *first, SfTextOutput *out)
{
  if (g->g.pool_w)
    out->pooler_output = dense_tanh (first, g->g.pool_w, g->g.pool_b);
  if (g->classifier) {
    /* RoBERTa's head has its own dense layer where BERT reads the pooler */
    g_autoptr (SfTensor) features = g->g.head_w
        ? dense_tanh (first, g->g.head_w, g->g.head_b)
        : sf_tensor_ref (out->pooler_output);
    out->logits =
        sf_tensor_new_f32 (2, sf_tensor_dim (first, 0), g->sizes[SZ_LABELS]);
    sf_op_linear (out->logits, features, g->g.cls_w, g->g.cls_b);
  }
}

static gboolean
bert_forward_text (gpointer data, const SfTextInput *in, gboolean want_hidden,
    SfTextOutput *out, GError **error)
{
  BertGraph *g = data;
  gint64 b = sf_tensor_dim (in->input_ids, 0);
  SfTensor *x = bert_embed (g, in, error);
  g_autoptr (SfTensor) first = NULL;

  if (x == NULL)
    return FALSE;
  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  x = sf_encoder_stack_post_ln (g->layers, g->n_layers, &g->params, x,
      in->attention_mask, out->hidden_states);
  out->last_hidden_state = x;

  first = sf_tensor_new_f32 (2, b, g->sizes[SZ_HIDDEN]);
  sf_op_first_token (first, x);
  bert_heads (g, first, out);
  return TRUE;
}

static gboolean
bert_forward_text_packed (
    gpointer data, const SfPackedText *in, SfTextOutput *out, GError **error)
{
  BertGraph *g = data;
  gint64 n_seqs = sf_tensor_dim (in->offsets, 0) - 1;
  const gint64 *offsets = sf_tensor_i64 (in->offsets);
  SfTensor *x = bert_embed_packed (g, in, error); /* [N, H] */
  g_autoptr (SfTensor) first = NULL;

  if (x == NULL)
    return FALSE;
  x = sf_encoder_stack_post_ln_packed (
      g->layers, g->n_layers, &g->params, x, offsets, n_seqs, NULL);
  out->last_hidden_state = x;

  first = sf_tensor_new_f32 (2, n_seqs, g->sizes[SZ_HIDDEN]);
  sf_op_segment_first (first, x, offsets, n_seqs);
  bert_heads (g, first, out);
  return TRUE;
}

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

static const char *const bert_model_types[] = { "bert", NULL };

const SfFamily sf_family_bert = {
  .name = "bert",
  .modality = SF_MODALITY_TEXT,
  .model_types = bert_model_types,
  .load = bert_load,
  .free = bert_free,
  .forward_text = bert_forward_text,
  .forward_text_packed = bert_forward_text_packed,
  .output_shapes = bert_output_shapes,
};

static const char *const roberta_model_types[] = { "roberta", "xlm-roberta",
  NULL };

const SfFamily sf_family_roberta = {
  .name = "roberta",
  .modality = SF_MODALITY_TEXT,
  .model_types = roberta_model_types,
  .load = roberta_load,
  .free = bert_free,
  .forward_text = bert_forward_text,
  .forward_text_packed = bert_forward_text_packed,
  .output_shapes = bert_output_shapes,
};
