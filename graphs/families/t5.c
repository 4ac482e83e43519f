/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: T5 (T5ForConditionalGeneration, T5EncoderModel, and
 * their mT5 twins).
 *
 * Mirrors modeling_t5. Both stacks (T5Stack) embed tokens with the shared
 * table and run pre-norm blocks whose norms are T5LayerNorm (RMS, no mean,
 * no bias). Attention has no biases and no 1/√d scaling (T5 folds it into
 * its initialisation); instead a relative position bias, learnt only by
 * the first block of each stack and reused by every block, is added to the
 * scores: bidirectional buckets in the encoder, causal ones in the decoder.
 * Cross-attention gets no position bias. The feed-forward is act (wi x) or,
 * for "gated-<act>", act (wi_0 x) · wi_1 x.
 *
 * The encoder is this family's forward_text; the decoder with its caches
 * (t5-decode.c) is reached through decoder_new and graphs/families/t5.h.
 * With tied embeddings the head is the shared table and the decoder output
 * is scaled by d_model^-0.5 first (config.json's scale_decoder_outputs,
 * when present, decides the scaling).
 */
#include "graphs/families/t5.h"
#include "graphs/families/t5-private.h"
#include "core/error.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define G(field) offsetof (T5Globals, field)
#define L(field) offsetof (T5Layer, field)
#define PL (SF_WEIGHT_PER_LAYER)
/* Linear layers, packed for the model's precision. T5 does not scale its
 * attention scores by 1/√d_kv, so the rounding of q and k would reach the
 * softmax that much larger: they stay f32 (PLQK). v and o stay f32 at int8
 * (PLVO), as Whisper's projections do: on the reference case, int8 there
 * put the logits' error at 0.09 of their largest value, against 0.024. */
#define PLX (PL | SF_WEIGHT_LINEAR)
#define PLQK (PL | SF_WEIGHT_LINEAR | SF_WEIGHT_F32_ONLY)
#define PLVO (PL | SF_WEIGHT_LINEAR | SF_WEIGHT_NO_INT8)

enum
{
  D = T5_SZ_D,
  IN = T5_SZ_INNER,
  FF = T5_SZ_FF,
  V = T5_SZ_VOCAB,
  NB = T5_SZ_BUCKETS,
  NH = T5_SZ_HEADS
};

/* clang-format off */
#define ATTENTION(sub, mod, f) \
  {"block.{L}.layer." sub "." mod ".q.weight", {IN, D, -1}, PLQK, L (f.q_w)}, \
  {"block.{L}.layer." sub "." mod ".k.weight", {IN, D, -1}, PLQK, L (f.k_w)}, \
  {"block.{L}.layer." sub "." mod ".v.weight", {IN, D, -1}, PLVO, L (f.v_w)}, \
  {"block.{L}.layer." sub "." mod ".o.weight", {D, IN, -1}, PLVO, L (f.o_w)}, \
  {"block.{L}.layer." sub ".layer_norm.weight", {D, -1}, PL, L (ln_ ## f)}

#define FF_PLAIN(sub) \
  {"block.{L}.layer." sub ".DenseReluDense.wi.weight", {FF, D, -1}, PLX, L (wi)}, \
  {"block.{L}.layer." sub ".DenseReluDense.wo.weight", {D, FF, -1}, PLX, L (wo)}, \
  {"block.{L}.layer." sub ".layer_norm.weight", {D, -1}, PL, L (ln_ff)}

#define FF_GATED(sub) \
  {"block.{L}.layer." sub ".DenseReluDense.wi_0.weight", {FF, D, -1}, PLX, L (wi_0)}, \
  {"block.{L}.layer." sub ".DenseReluDense.wi_1.weight", {FF, D, -1}, PLX, L (wi_1)}, \
  {"block.{L}.layer." sub ".DenseReluDense.wo.weight", {D, FF, -1}, PLX, L (wo)}, \
  {"block.{L}.layer." sub ".layer_norm.weight", {D, -1}, PL, L (ln_ff)}
/* clang-format on */

/* Under "encoder."; the shared table sits outside it. */
static const SfWeightSpec t5_encoder_weights[] = {
  { "shared.weight", { V, D, -1 }, SF_WEIGHT_HEAD, G (shared) },
  { "block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      { NB, NH, -1 }, 0, G (enc_bias) },
  { "final_layer_norm.weight", { D, -1 }, 0, G (enc_ln) },
  ATTENTION ("0", "SelfAttention", self),
};
static const SfWeightSpec t5_encoder_ff_plain[] = { FF_PLAIN ("1") };
static const SfWeightSpec t5_encoder_ff_gated[] = { FF_GATED ("1") };

/* Under "decoder."; lm_head sits outside it. */
static const SfWeightSpec t5_decoder_weights[] = {
  { "block.0.layer.0.SelfAttention.relative_attention_bias.weight",
      { NB, NH, -1 }, 0, G (dec_bias) },
  { "final_layer_norm.weight", { D, -1 }, 0, G (dec_ln) },
  ATTENTION ("0", "SelfAttention", self),
  ATTENTION ("1", "EncDecAttention", cross),
};
static const SfWeightSpec t5_decoder_ff_plain[] = { FF_PLAIN ("2") };
static const SfWeightSpec t5_decoder_ff_gated[] = { FF_GATED ("2") };
static const SfWeightSpec t5_lm_head_weights[] = {
  { "lm_head.weight", { V, D, -1 }, SF_WEIGHT_HEAD, G (lm_head) },
};

/* classifier FALSE: the encoder-only classes */
static const SfArchitecture t5_architectures[] = {
  { "T5ForConditionalGeneration", TRUE },
  { "T5EncoderModel", FALSE },
  { "MT5ForConditionalGeneration", TRUE },
  { "MT5EncoderModel", FALSE },
};

static void
t5_free (gpointer data)
{
  T5Graph *g = data;
  if (g == NULL)
    return;
  sf_weight_target_clear (&g->enc_target);
  sf_weight_target_clear (&g->dec_target);
  g_clear_pointer (&g->head_packed, sf_tensor_unref);
  g_clear_pointer (&g->eos, g_array_unref);
  g_clear_pointer (&g->prefixes, g_hash_table_unref);
  g_free (g->enc_layers);
  g_free (g->dec_layers);
  g_free (g);
}

/* feed_forward_proj: "<act>" or "gated-<act>"; "gated-gelu" means
 * gelu_new, as transformers keeps it for old checkpoints. T5Config derives
 * dense_act_fn and is_gated_act from it, but saved values of those two
 * are set after that and win, so they do here too. */
static gboolean
read_feed_forward (T5Graph *g, const SfConfig *cfg, GError **error)
{
  const char *proj = NULL, *act;
  g_auto (GStrv) parts = NULL;

  if (!sf_config_string_or (cfg, "feed_forward_proj", "relu", &proj, error))
    return FALSE;
  parts = g_strsplit (proj, "-", -1);
  if (g_strv_length (parts) == 1) {
    act = parts[0];
  } else if (g_strv_length (parts) == 2 && strcmp (parts[0], "gated") == 0) {
    g->gated = TRUE;
    act = strcmp (parts[1], "gelu") == 0 ? "gelu_new" : parts[1];
  } else {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: feed_forward_proj '%s' is neither '<act>' nor 'gated-<act>'",
        sf_config_origin (cfg), proj);
    return FALSE;
  }
  if (!sf_config_string_or (cfg, "dense_act_fn", act, &act, error)
      || !sf_config_bool_or (cfg, "is_gated_act", g->gated, &g->gated, error))
    return FALSE;
  if (!sf_activation_from_name (act, &g->act)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: feed_forward_proj '%s' (dense_act_fn): activation '%s' is not "
        "supported",
        sf_config_origin (cfg), proj, act);
    return FALSE;
  }
  return TRUE;
}

/* One token id: an integer in [0, vocab). */
static gboolean
token_id (const cJSON *item, gint64 vocab, gint64 *out)
{
  if (!cJSON_IsNumber (item) || item->valuedouble < 0
      || item->valuedouble >= (double)vocab
      || item->valuedouble != (double)(gint64)item->valuedouble)
    return FALSE;
  *out = (gint64)item->valuedouble;
  return TRUE;
}

/* A token id field: absent → @def; an id, or (@list) a list of them. */
static gboolean
read_token_ids (const SfConfig *cfg, const char *key, gint64 def, gint64 vocab,
    gboolean list, GArray *out, GError **error)
{
  const cJSON *item = sf_config_get (cfg, key), *one;
  gint64 id = def;

  if (item == NULL || cJSON_IsNull (item) || token_id (item, vocab, &id)) {
    g_array_append_val (out, id);
    return TRUE;
  }
  if (list && cJSON_IsArray (item) && cJSON_GetArraySize (item) > 0) {
    cJSON_ArrayForEach (one, item) {
      if (!token_id (one, vocab, &id))
        goto bad;
      g_array_append_val (out, id);
    }
    return TRUE;
  }

bad:
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field '%s' must be a token id%s below vocab_size %" G_GINT64_FORMAT,
      sf_config_origin (cfg), key, list ? " (or a list of them)" : "", vocab);
  return FALSE;
}

/* task_specific_params: {"summarization": {"prefix": "summarize: "}, …}. */
static gboolean
read_task_prefixes (T5Graph *g, const SfConfig *cfg, GError **error)
{
  const cJSON *params = sf_config_get (cfg, "task_specific_params"), *task;

  g->prefixes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (params == NULL || cJSON_IsNull (params))
    return TRUE;
  if (!cJSON_IsObject (params))
    goto bad;
  cJSON_ArrayForEach (task, params) {
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive (task, "prefix");
    if (!cJSON_IsObject (task) || (prefix != NULL && !cJSON_IsString (prefix)))
      goto bad;
    if (prefix != NULL)
      g_hash_table_insert (
          g->prefixes, g_strdup (task->string), g_strdup (prefix->valuestring));
  }
  return TRUE;

bad:
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field 'task_specific_params' must map task names to objects "
      "whose 'prefix' is a string",
      sf_config_origin (cfg));
  return FALSE;
}

static gboolean
t5_read_config (T5Graph *g, SfModel *model, const SfConfig *cfg,
    gboolean decoder, GError **error)
{
  gint64 *sz = g->sizes;
  gint64 d_kv, n_enc, n_dec, pad;
  double eps;
  gboolean tie;
  g_autoptr (GArray) start = g_array_new (FALSE, FALSE, sizeof (gint64));

  if (!sf_config_int_min (cfg, "d_model", 1, &sz[D], error)
      || !sf_config_int_min (cfg, "d_kv", 1, &d_kv, error)
      || !sf_config_int_min (cfg, "d_ff", 1, &sz[FF], error)
      || !sf_config_int_min (cfg, "vocab_size", 1, &sz[V], error)
      || !sf_config_int_min (cfg, "num_layers", 1, &n_enc, error)
      || !sf_config_int_min (cfg, "num_heads", 1, &sz[NH], error)
      || !sf_config_int_or (cfg, "num_decoder_layers", n_enc, &n_dec, error)
      || !sf_config_int_or (
          cfg, "relative_attention_num_buckets", 32, &sz[NB], error)
      || !sf_config_int_or (
          cfg, "relative_attention_max_distance", 128, &g->max_distance, error)
      || !sf_config_eps_or (cfg, "layer_norm_epsilon", 1e-6, &eps, error)
      || !sf_config_bool_or (cfg, "tie_word_embeddings", TRUE, &tie, error)
      || !sf_config_bool_or (
          cfg, "scale_decoder_outputs", tie, &g->scale_output, error)
      || !sf_config_int_or (cfg, "pad_token_id", 0, &pad, error)
      || !read_feed_forward (g, cfg, error)
      || !read_task_prefixes (g, cfg, error))
    return FALSE;
  if (n_enc > 1000 || n_dec < 0 || n_dec > 1000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_layers or num_decoder_layers is out of range (0 to 1000)",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (sz[NH] > 4096 || d_kv > 65536) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_heads %" G_GINT64_FORMAT " or d_kv %" G_GINT64_FORMAT
        " is out of range",
        sf_config_origin (cfg), sz[NH], d_kv);
    return FALSE;
  }
  /* the log-spaced buckets need max_exact ≥ 1 and a range beyond it */
  if (sz[NB] < 4 || sz[NB] > 4096 || g->max_distance <= sz[NB] / 2
      || g->max_distance > G_MAXINT32) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: relative_attention_num_buckets %" G_GINT64_FORMAT
        " must be 4 to 4096 and relative_attention_max_distance "
        "%" G_GINT64_FORMAT " above half of it",
        sf_config_origin (cfg), sz[NB], g->max_distance);
    return FALSE;
  }
  if (pad < 0 || pad >= sz[V]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: pad_token_id %" G_GINT64_FORMAT " is not below vocab_size",
        sf_config_origin (cfg), pad);
    return FALSE;
  }
  g->eos = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!read_token_ids (
          cfg, "decoder_start_token_id", pad, sz[V], FALSE, start, error)
      || !read_token_ids (
          cfg, "eos_token_id", 1 % sz[V], sz[V], TRUE, g->eos, error))
    return FALSE;
  g->decoder_start = g_array_index (start, gint64, 0);
  sz[IN] = sz[NH] * d_kv;
  g->heads = (int)sz[NH];
  g->eps = (float)eps;
  g->n_enc = (int)n_enc;
  g->n_dec = decoder ? (int)n_dec : 0;
  if (decoder && n_dec < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_decoder_layers must be at least 1 for %s",
        sf_config_origin (cfg), model->architecture);
    return FALSE;
  }
  model->hidden_size = sz[D];
  model->max_positions = 0; /* relative positions: no fixed limit */
  return TRUE;
}

static gboolean
t5_load_weights (T5Graph *g, SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  gboolean tie;

  if (!sf_config_bool_or (sf_checkpoint_config (ckpt), "tie_word_embeddings",
          TRUE, &tie, error))
    return FALSE;
  g->enc_layers = g_new0 (T5Layer, g->n_enc);
  g->enc_target = (SfWeightTarget){ "encoder.", g->sizes, g->n_enc, &g->g,
    g->enc_layers, sizeof (T5Layer), NULL, model->precision };
  sf_weight_target_add (
      &g->enc_target, t5_encoder_weights, G_N_ELEMENTS (t5_encoder_weights));
  if (g->gated)
    sf_weight_target_add (&g->enc_target, t5_encoder_ff_gated,
        G_N_ELEMENTS (t5_encoder_ff_gated));
  else
    sf_weight_target_add (&g->enc_target, t5_encoder_ff_plain,
        G_N_ELEMENTS (t5_encoder_ff_plain));
  if (!sf_weight_target_load (&g->enc_target, ckpt, &model->n_params, error))
    return FALSE;
  if (g->n_dec == 0)
    return TRUE;

  g->dec_layers = g_new0 (T5Layer, g->n_dec);
  g->dec_target = (SfWeightTarget){ "decoder.", g->sizes, g->n_dec, &g->g,
    g->dec_layers, sizeof (T5Layer), NULL, model->precision };
  sf_weight_target_add (
      &g->dec_target, t5_decoder_weights, G_N_ELEMENTS (t5_decoder_weights));
  if (g->gated)
    sf_weight_target_add (&g->dec_target, t5_decoder_ff_gated,
        G_N_ELEMENTS (t5_decoder_ff_gated));
  else
    sf_weight_target_add (&g->dec_target, t5_decoder_ff_plain,
        G_N_ELEMENTS (t5_decoder_ff_plain));
  if (!tie)
    sf_weight_target_add (
        &g->dec_target, t5_lm_head_weights, G_N_ELEMENTS (t5_lm_head_weights));
  if (!sf_weight_target_load (&g->dec_target, ckpt, &model->n_params, error))
    return FALSE;
  /* each decoding step reads the whole head: a packed copy, while the
   * shared table stays f32 for the lookups */
  g->head_packed = sf_weights_pack_head (
      g->g.lm_head ? g->g.lm_head : g->g.shared, model->precision);
  return TRUE;
}

static gpointer
t5_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  T5Graph *g = g_new0 (T5Graph, 1);
  gboolean generates;

  g->model = model;
  if (!sf_model_match_architecture (model, t5_architectures,
          G_N_ELEMENTS (t5_architectures), &generates, error)
      || !t5_read_config (g, model, cfg, generates, error)
      || !t5_load_weights (g, model, ckpt, error)
      || !sf_model_load_tokenizer (model, error))
    goto fail;
  return g;

fail:
  t5_free (g);
  return NULL;
}

void
sf_t5_feed_forward (const T5Graph *g, const T5Layer *l, SfTensor *x)
{
  gint64 d = g->sizes[D], f = g->sizes[FF], rows = sf_tensor_numel (x) / d;
  g_autoptr (SfTensor) flat = sf_tensor_reshape (x, 2, (gint64[]){ rows, d });
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (2, rows, d);   /* [N, D] */
  g_autoptr (SfTensor) act = sf_tensor_new_f32 (2, rows, f); /* [N, F] */

  sf_op_rms_norm (h, flat, l->ln_ff, g->eps);
  if (g->gated) {
    g_autoptr (SfTensor) lin = sf_tensor_new_f32 (2, rows, f); /* [N, F] */
    sf_op_linear_act (act, h, l->wi_0, NULL, g->act);
    sf_op_linear (lin, h, l->wi_1, NULL);
    sf_op_mul (act, act, lin);
  } else {
    sf_op_linear_act (act, h, l->wi, NULL, g->act);
  }
  sf_op_linear (h, act, l->wo, NULL);
  sf_op_add (flat, flat, h);
}

/* One encoder T5Block over x [B, n, D], in place. */
static void
encoder_layer (const T5Graph *g, const T5Layer *l, SfTensor *x,
    const SfTensor *mask, const SfTensor *bias)
{
  gint64 b = x->shape[0], n = x->shape[1], in = g->sizes[IN];
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (3, b, n, g->sizes[D]);
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, b, n, in); /* [B, n, inner] */
  g_autoptr (SfTensor) k = sf_tensor_new_f32 (3, b, n, in);
  g_autoptr (SfTensor) v = sf_tensor_new_f32 (3, b, n, in);
  g_autoptr (SfTensor) ctx = sf_tensor_new_f32 (3, b, n, in);

  sf_op_rms_norm (h, x, l->ln_self, g->eps);
  sf_op_linear (q, h, l->self.q_w, NULL);
  sf_op_linear (k, h, l->self.k_w, NULL);
  sf_op_linear (v, h, l->self.v_w, NULL);
  sf_op_attention_biased (ctx, q, k, v, g->heads, mask, FALSE, bias, 1.0f);
  sf_op_linear (h, ctx, l->self.o_w, NULL);
  sf_op_add (x, x, h);
  sf_t5_feed_forward (g, l, x);
}

SfTensor *
sf_t5_encode (const T5Graph *g, const SfTensor *ids, const SfTensor *mask,
    GPtrArray *hidden, GError **error)
{
  gint64 b, n, d = g->sizes[D];
  g_autoptr (SfTensor) x = NULL;    /* [B, n, D] */
  g_autoptr (SfTensor) flat = NULL; /* [B·n, D] view */
  g_autoptr (SfTensor) ids64 = NULL;
  g_autoptr (SfTensor) bias = NULL; /* [heads, n, n] */

  if (ids == NULL || ids->ndim != 2 || ids->shape[0] < 1 || ids->shape[1] < 1
      || (ids64 = sf_tensor_to_i64 ((SfTensor *)ids)) == NULL
      || (mask != NULL && !sf_tensor_same_shape (mask, ids))) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "T5 encoder: input_ids must be integer [B, n] with n ≥ 1, and "
        "attention_mask of the same shape");
    return NULL;
  }
  b = ids->shape[0];
  n = ids->shape[1];
  x = sf_tensor_new_f32 (3, b, n, d);
  flat = sf_tensor_reshape (x, 2, (gint64[]){ b * n, d });
  if (!sf_op_embedding (flat, g->g.shared, sf_tensor_i64 (ids64), b * n, error))
    return NULL;
  bias = sf_t5_position_bias (g, g->g.enc_bias, 0, n, n, TRUE);
  for (int l = 0; l < g->n_enc; l++) {
    if (hidden)
      g_ptr_array_add (hidden, sf_tensor_copy (x));
    encoder_layer (g, &g->enc_layers[l], x, mask, bias);
  }
  sf_op_rms_norm (x, x, g->g.enc_ln, g->eps);
  if (hidden)
    g_ptr_array_add (hidden, sf_tensor_ref (x));
  return g_steal_pointer (&x);
}

static gboolean
t5_forward_text (gpointer data, const SfTextInput *in, gboolean want_hidden,
    SfTextOutput *out, GError **error)
{
  T5Graph *g = data;

  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  out->last_hidden_state = sf_t5_encode (
      g, in->input_ids, in->attention_mask, out->hidden_states, error);
  return out->last_hidden_state != NULL;
}

static gboolean
t5_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  T5Graph *g = data;
  gint64 t = -1;

  if (input != SF_MODALITY_TEXT || (in != NULL && in->ndim != 1)
      || (in != NULL && in->dims[0] < 1)) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_SHAPE, "T5 takes token ids [T] with T ≥ 1");
    return FALSE;
  }
  if (in != NULL)
    t = in->dims[0];
  sf_shape_set (&out->last_hidden_state, 2, t, g->sizes[D]);
  return TRUE;
}

static gboolean
graph_check (SfModel *model, T5Graph **graph, GError **error)
{
  extern const SfFamily sf_family_t5;

  if (model == NULL || model->family != &sf_family_t5) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s is not a T5 checkpoint",
        model ? sf_model_name (model) : "(no model)");
    return FALSE;
  }
  *graph = model->graph;
  return TRUE;
}

gboolean
sf_t5_check (SfModel *model)
{
  T5Graph *g;
  return graph_check (model, &g, NULL);
}

const char *
sf_t5_task_prefix (SfModel *model, const char *task)
{
  T5Graph *g;

  g_return_val_if_fail (task != NULL, NULL);
  if (!graph_check (model, &g, NULL))
    return NULL;
  return g_hash_table_lookup (g->prefixes, task);
}

const char *
sf_t5_summarization_prefix (SfModel *model)
{
  return sf_t5_task_prefix (model, "summarization");
}

gint64
sf_t5_decoder_start (SfModel *model)
{
  T5Graph *g;
  return graph_check (model, &g, NULL) ? g->decoder_start : -1;
}

gboolean
sf_t5_is_eos (SfModel *model, gint64 token)
{
  T5Graph *g;

  if (!graph_check (model, &g, NULL))
    return FALSE;
  for (guint i = 0; i < g->eos->len; i++)
    if (g_array_index (g->eos, gint64, i) == token)
      return TRUE;
  return FALSE;
}

const GArray *
sf_t5_eos_ids (SfModel *model)
{
  T5Graph *g;

  return graph_check (model, &g, NULL) ? g->eos : NULL;
}

SfTensor *
sf_t5_forward (SfModel *model, const SfTensor *input_ids,
    const SfTensor *attention_mask, const SfTensor *decoder_input_ids,
    SfTensor **encoder_out, GError **error)
{
  T5Graph *g;
  g_autoptr (SfTensor) enc = NULL;
  g_autoptr (SfTensor) dec_ids = NULL;
  T5State *state;
  SfTensor *logits;

  if (!graph_check (model, &g, error))
    return NULL;
  if (g->n_dec == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED, "%s: %s has no decoder",
        sf_model_name (model), model->architecture);
    return NULL;
  }
  if (decoder_input_ids == NULL || decoder_input_ids->ndim != 2
      || input_ids == NULL || input_ids->ndim != 2
      || decoder_input_ids->shape[0] != input_ids->shape[0]
      || decoder_input_ids->shape[1] < 1
      || decoder_input_ids->shape[1] > T5_MAX_DECODE_POSITIONS
      || (dec_ids = sf_tensor_to_i64 ((SfTensor *)decoder_input_ids)) == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "T5: decoder_input_ids must be integer [B, m] with the batch of "
        "input_ids and 1 ≤ m ≤ %d",
        T5_MAX_DECODE_POSITIONS);
    return NULL;
  }
  enc = sf_t5_encode (g, input_ids, attention_mask, NULL, error);
  if (enc == NULL)
    return NULL;
  state = sf_t5_state_new (
      g, enc, attention_mask, (guint)input_ids->shape[0], error);
  if (state == NULL)
    return NULL;
  logits = sf_t5_state_step (state, sf_tensor_i64 (dec_ids),
      (guint)dec_ids->shape[0], (guint)dec_ids->shape[1], TRUE, error);
  sf_t5_state_free (state);
  if (logits != NULL && encoder_out != NULL)
    *encoder_out = g_steal_pointer (&enc);
  return logits;
}

static const char *const t5_model_types[] = { "t5", "mt5", NULL };

const SfFamily sf_family_t5 = {
  .name = "t5",
  .modality = SF_MODALITY_TEXT,
  .model_types = t5_model_types,
  .load = t5_load,
  .free = t5_free,
  .forward_text = t5_forward_text,
  .output_shapes = t5_output_shapes,
  .decoder_new = sf_t5_decoder_new,
};
