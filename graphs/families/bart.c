/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: BART (BartForConditionalGeneration) and mBART.
 *
 * Mirrors modeling_bart. Both stacks embed tokens through the shared
 * table (scaled by √d_model when scale_embedding), add learned positions
 * looked up two rows further on (BartLearnedPositionalEmbedding's offset)
 * and normalise with layernorm_embedding. BART's layers are post-LN, the
 * same computation as BertLayer, so the encoder runs on graphs/encoder.c;
 * mBART's are pre-LN with a final LayerNorm per stack (the old configs'
 * normalize_before and add_final_layer_norm say the same). The encoder is
 * this family's forward_text; the decoder with its caches is
 * bart-decode.c, reached through sf_model_decoder_new().
 *
 * Weights live under "model." (ForConditionalGeneration and
 * ForSequenceClassification) or bare (BartModel). The token table is
 * model.shared; encoder/decoder.embed_tokens are tied to it and lm_head is
 * tied to it unless tie_word_embeddings is false, so a checkpoint stores
 * whichever copy survived deduplication; any of them is taken.
 */
#include "graphs/families/bart-private.h"
#include "graphs/families/bart.h"
#include "core/error.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

enum
{
  D = BART_SZ_D,
  EFF = BART_SZ_ENC_FFN,
  DFF = BART_SZ_DEC_FFN,
  V = BART_SZ_VOCAB,
  P = BART_SZ_POS,
  ONE = BART_SZ_ONE,
  NL = BART_SZ_LABELS
};

#define G(field) offsetof (BartGlobals, field)
#define EL(field) offsetof (SfEncoderLayer, field)
#define DL(field) offsetof (BartDecoderLayer, field)
#define PL (SF_WEIGHT_PER_LAYER)
#define OPT (SF_WEIGHT_OPTIONAL)

/* clang-format off */
#define LINEAR(name, rows, cols, w, b) \
  {name ".weight", {rows, cols, -1}, \
   PL | SF_WEIGHT_LINEAR, w}, \
  {name ".bias", {rows, -1}, PL, b}
#define DEC_ATTENTION(mod, f) \
  LINEAR ("decoder.layers.{L}." mod ".q_proj", D, D, DL (f.q_w), DL (f.q_b)), \
  LINEAR ("decoder.layers.{L}." mod ".k_proj", D, D, DL (f.k_w), DL (f.k_b)), \
  LINEAR ("decoder.layers.{L}." mod ".v_proj", D, D, DL (f.v_w), DL (f.v_b)), \
  LINEAR ("decoder.layers.{L}." mod ".out_proj", D, D, DL (f.o_w), DL (f.o_b))
#define NORM(name, g, b) \
  {name ".weight", {D, -1}, PL, g}, \
  {name ".bias", {D, -1}, PL, b}

/* BartEncoderLayer onto the shared layer struct: self_attn_layer_norm is
 * the norm after (post-LN) or before (pre-LN) attention, final_layer_norm
 * the one around the feed-forward block. */
static const SfWeightSpec bart_encoder_layer_weights[] = {
  LINEAR ("encoder.layers.{L}.self_attn.q_proj", D, D, EL (q_w), EL (q_b)),
  LINEAR ("encoder.layers.{L}.self_attn.k_proj", D, D, EL (k_w), EL (k_b)),
  LINEAR ("encoder.layers.{L}.self_attn.v_proj", D, D, EL (v_w), EL (v_b)),
  LINEAR ("encoder.layers.{L}.self_attn.out_proj", D, D, EL (o_w), EL (o_b)),
  NORM ("encoder.layers.{L}.self_attn_layer_norm", EL (ln1_g), EL (ln1_b)),
  LINEAR ("encoder.layers.{L}.fc1", EFF, D, EL (ffn_in_w), EL (ffn_in_b)),
  LINEAR ("encoder.layers.{L}.fc2", D, EFF, EL (ffn_out_w), EL (ffn_out_b)),
  NORM ("encoder.layers.{L}.final_layer_norm", EL (ln2_g), EL (ln2_b)),
};

static const SfWeightSpec bart_decoder_layer_weights[] = {
  DEC_ATTENTION ("self_attn", self),
  NORM ("decoder.layers.{L}.self_attn_layer_norm", DL (ln_self_g), DL (ln_self_b)),
  DEC_ATTENTION ("encoder_attn", cross),
  NORM ("decoder.layers.{L}.encoder_attn_layer_norm", DL (ln_cross_g), DL (ln_cross_b)),
  LINEAR ("decoder.layers.{L}.fc1", DFF, D, DL (fc1_w), DL (fc1_b)),
  LINEAR ("decoder.layers.{L}.fc2", D, DFF, DL (fc2_w), DL (fc2_b)),
  NORM ("decoder.layers.{L}.final_layer_norm", DL (ln_ffn_g), DL (ln_ffn_b)),
};

/* The token table under any of its tied names (checked after loading). */
static const SfWeightSpec bart_global_weights[] = {
  {"shared.weight", {V, D, -1}, OPT, G (shared)},
  {"encoder.embed_tokens.weight", {V, D, -1}, OPT, G (enc_embed)},
  {"decoder.embed_tokens.weight", {V, D, -1}, OPT, G (dec_embed)},
  {"encoder.embed_positions.weight", {P, D, -1}, 0, G (enc_pos)},
  {"decoder.embed_positions.weight", {P, D, -1}, 0, G (dec_pos)},
  {"lm_head.weight", {V, D, -1}, OPT | SF_WEIGHT_HEAD, G (lm_head)},
  {"final_logits_bias", {ONE, V, -1}, OPT | SF_WEIGHT_HEAD, G (logits_bias)},
};

static const SfWeightSpec bart_ln_embedding_weights[] = {
  {"encoder.layernorm_embedding.weight", {D, -1}, 0, G (enc_ln_emb_g)},
  {"encoder.layernorm_embedding.bias", {D, -1}, 0, G (enc_ln_emb_b)},
  {"decoder.layernorm_embedding.weight", {D, -1}, 0, G (dec_ln_emb_g)},
  {"decoder.layernorm_embedding.bias", {D, -1}, 0, G (dec_ln_emb_b)},
};

static const SfWeightSpec bart_final_ln_weights[] = {
  {"encoder.layer_norm.weight", {D, -1}, 0, G (enc_ln_g)},
  {"encoder.layer_norm.bias", {D, -1}, 0, G (enc_ln_b)},
  {"decoder.layer_norm.weight", {D, -1}, 0, G (dec_ln_g)},
  {"decoder.layer_norm.bias", {D, -1}, 0, G (dec_ln_b)},
};

/* BartClassificationHead, outside the "model." prefix. */
static const SfWeightSpec bart_classifier_weights[] = {
  {"classification_head.dense.weight", {D, D, -1}, SF_WEIGHT_HEAD, G (cls_dense_w)},
  {"classification_head.dense.bias", {D, -1}, SF_WEIGHT_HEAD, G (cls_dense_b)},
  {"classification_head.out_proj.weight", {NL, D, -1}, SF_WEIGHT_HEAD, G (cls_out_w)},
  {"classification_head.out_proj.bias", {NL, -1}, SF_WEIGHT_HEAD, G (cls_out_b)},
};

static const SfArchitecture bart_architectures[] = {
  {"BartForConditionalGeneration", FALSE},
  {"BartModel", FALSE},
  {"BartForSequenceClassification", TRUE},
  {"MBartForConditionalGeneration", FALSE},
  {"MBartModel", FALSE},
  {"MBartForSequenceClassification", TRUE},
};
/* clang-format on */

static void
bart_clear_layers (BartGraph *g)
{
  SfWeightTarget enc = { "", g->sizes, g->n_enc, &g->g, g->enc_layers,
    sizeof (SfEncoderLayer) };
  SfWeightTarget dec = { "", g->sizes, g->n_dec, &g->g, g->dec_layers,
    sizeof (BartDecoderLayer) };

  if (g->enc_layers)
    sf_weights_clear (bart_encoder_layer_weights,
        G_N_ELEMENTS (bart_encoder_layer_weights), &enc);
  if (g->dec_layers)
    sf_weights_clear (bart_decoder_layer_weights,
        G_N_ELEMENTS (bart_decoder_layer_weights), &dec);
}

static void
bart_free (gpointer data)
{
  BartGraph *g = data;
  if (g == NULL)
    return;
  bart_clear_layers (g);
  sf_weight_target_clear (&g->target);
  g_clear_pointer (&g->head_packed, sf_tensor_unref);
  g_clear_pointer (&g->bias, sf_tensor_unref);
  g_free (g->enc_layers);
  g_free (g->dec_layers);
  g_free (g);
}

/* A token id field: unset (-1) or inside the vocabulary. */
static gboolean
read_token (const SfConfig *cfg, const char *key, gint64 vocab, gint64 *out,
    GError **error)
{
  if (!sf_config_int_or (cfg, key, -1, out, error))
    return FALSE;
  if (*out < -1 || *out >= vocab) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: %s %" G_GINT64_FORMAT " is outside the vocabulary (vocab_size "
        "%" G_GINT64_FORMAT ")",
        sf_config_origin (cfg), key, *out, vocab);
    return FALSE;
  }
  return TRUE;
}

static gboolean
bart_read_tokens (BartGraph *g, const SfConfig *cfg, GError **error)
{
  BartTokens *t = &g->tokens;
  gint64 v = g->sizes[V];

  return read_token (cfg, "pad_token_id", v, &t->pad, error)
      && read_token (cfg, "bos_token_id", v, &t->bos, error)
      && read_token (cfg, "eos_token_id", v, &t->eos, error)
      && read_token (cfg, "decoder_start_token_id", v, &t->decoder_start, error)
      && read_token (cfg, "forced_bos_token_id", v, &t->forced_bos, error)
      && read_token (cfg, "forced_eos_token_id", v, &t->forced_eos, error);
}

/* Fields of the fairseq-era configs that transformers' BART cannot run:
 * refused rather than ignored. */
static gboolean
bart_refuse_variants (const SfConfig *cfg, GError **error)
{
  static const char *const refused[] = { "static_position_embeddings",
    "add_bias_logits", NULL };

  for (guint i = 0; refused[i]; i++) {
    gboolean on;
    if (!sf_config_bool_or (cfg, refused[i], FALSE, &on, error))
      return FALSE;
    if (on) {
      g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
          "%s: %s true is not supported", sf_config_origin (cfg), refused[i]);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
bart_read_config (
    BartGraph *g, SfModel *model, const SfConfig *cfg, GError **error)
{
  const char *model_type = NULL;
  gint64 enc_layers, dec_layers, positions;
  gboolean scale, mbart;
  gint64 *sz = g->sizes;

  if (!sf_config_int_min (cfg, "d_model", 1, &sz[D], error)
      || !sf_config_int_min (cfg, "encoder_ffn_dim", 1, &sz[EFF], error)
      || !sf_config_int_min (cfg, "decoder_ffn_dim", 1, &sz[DFF], error)
      || !sf_config_int_min (cfg, "vocab_size", 1, &sz[V], error)
      || !sf_config_int_min (
          cfg, "max_position_embeddings", 1, &positions, error)
      || !sf_config_int_min (cfg, "encoder_layers", 1, &enc_layers, error)
      || !sf_config_int_min (cfg, "decoder_layers", 1, &dec_layers, error)
      || !sf_model_read_heads (cfg, "encoder_attention_heads", "d_model", sz[D],
          &g->enc_params.n_heads, error)
      || !sf_model_read_heads (cfg, "decoder_attention_heads", "d_model", sz[D],
          &g->dec_heads, error)
      || !sf_model_read_activation (
          cfg, "activation_function", "gelu", &g->act, error)
      || !sf_config_bool_or (cfg, "scale_embedding", FALSE, &scale, error)
      || !sf_config_string_or (cfg, "model_type", "bart", &model_type, error)
      || !bart_refuse_variants (cfg, error))
    return FALSE;
  /* mBART is pre-LN with final norms whatever the old fields say, as in
   * transformers; for BART the fields decide (both false on the Hub). */
  mbart = g_strcmp0 (model_type, "mbart") == 0;
  if (!sf_config_bool_or (cfg, "normalize_before", mbart, &g->pre_ln, error)
      || !sf_config_bool_or (
          cfg, "add_final_layer_norm", mbart, &g->final_ln, error)
      || !sf_config_bool_or (
          cfg, "normalize_embedding", TRUE, &g->ln_embedding, error))
    return FALSE;
  if (mbart)
    g->pre_ln = g->final_ln = g->ln_embedding = TRUE;
  if (enc_layers > 1000 || dec_layers > 1000 || positions > (1 << 20)
      || sz[D] > (1 << 16) || sz[EFF] > (1 << 20) || sz[DFF] > (1 << 20)
      || sz[V] > (1 << 24)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: a size (layers, d_model, ffn dims, vocab_size or "
        "max_position_embeddings) is out of range",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (!bart_read_tokens (g, cfg, error))
    return FALSE;
  sz[P] = positions + BART_POS_OFFSET;
  sz[ONE] = 1;
  g->n_enc = (int)enc_layers;
  g->n_dec = (int)dec_layers;
  g->enc_params.act = g->act;
  g->enc_params.eps = BART_LN_EPS;
  g->embed_scale = scale ? sqrtf ((float)sz[D]) : 1.0f;
  model->hidden_size = sz[D];
  model->max_positions = positions;
  return TRUE;
}

/* The token table from whichever tied copy the file holds, and the LM
 * head (tied unless tie_word_embeddings is false). */
static gboolean
bart_resolve_tied (BartGraph *g, const SfConfig *cfg, gboolean tie,
    const char *prefix, GError **error)
{
  BartGlobals *w = &g->g;

  g->tok_embed = w->shared ? w->shared
      : w->enc_embed       ? w->enc_embed
                           : w->dec_embed;
  if (g->tok_embed == NULL && tie)
    g->tok_embed = w->lm_head;
  if (g->tok_embed == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: missing tensor '%sshared.weight' (nor any copy tied to it: "
        "encoder.embed_tokens, decoder.embed_tokens, lm_head)",
        sf_config_origin (cfg), prefix);
    return FALSE;
  }
  g->head = tie || g->classifier ? g->tok_embed : w->lm_head;
  if (g->head == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: missing tensor 'lm_head.weight' (tie_word_embeddings is false)",
        sf_config_origin (cfg));
    return FALSE;
  }
  /* each decoding step reads the whole head: a packed copy, while the
   * token table stays f32 for the lookups */
  if (!g->classifier)
    g->head_packed =
        sf_weights_pack_head ((SfTensor *)g->head, g->model->precision);
  if (g->head_packed != NULL)
    g->head = g->head_packed;
  if (w->logits_bias)
    g->bias = sf_tensor_reshape (w->logits_bias, 1, (gint64[]){ g->sizes[V] });
  return TRUE;
}

static gboolean
bart_load_weights (
    BartGraph *g, SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "model.", "", NULL };
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  const char *prefix =
      sf_weights_find_prefix (ckpt, prefixes, "encoder.embed_positions.weight");
  SfWeightTarget enc, dec;
  gboolean tie;

  if (!sf_config_bool_or (cfg, "tie_word_embeddings", TRUE, &tie, error))
    return FALSE;
  prefix = prefix ? prefix : "model.";
  g->enc_layers = g_new0 (SfEncoderLayer, g->n_enc);
  g->dec_layers = g_new0 (BartDecoderLayer, g->n_dec);
  g->target = (SfWeightTarget){
    .prefix = prefix,
    .sizes = g->sizes,
    .globals = &g->g,
    .precision = model->precision,
  };
#define APPEND(table)                                                          \
  sf_weight_target_add (&g->target, table, G_N_ELEMENTS (table))
  APPEND (bart_global_weights);
  if (g->ln_embedding)
    APPEND (bart_ln_embedding_weights);
  if (g->final_ln)
    APPEND (bart_final_ln_weights);
  if (g->classifier)
    APPEND (bart_classifier_weights);
#undef APPEND
  if (!sf_weight_target_load (&g->target, ckpt, &model->n_params, error))
    return FALSE;
  /* the layer tables load into their own arrays; the same globals */
  enc = (SfWeightTarget){ prefix, g->sizes, g->n_enc, &g->g, g->enc_layers,
    sizeof (SfEncoderLayer), NULL, model->precision };
  dec = (SfWeightTarget){ prefix, g->sizes, g->n_dec, &g->g, g->dec_layers,
    sizeof (BartDecoderLayer), NULL, model->precision };
  if (!sf_weights_load (ckpt, bart_encoder_layer_weights,
          G_N_ELEMENTS (bart_encoder_layer_weights), &enc, &model->n_params,
          error))
    return FALSE;
  sf_encoder_layers_fuse_qkv (g->enc_layers, g->n_enc);
  if (!sf_weights_load (ckpt, bart_decoder_layer_weights,
          G_N_ELEMENTS (bart_decoder_layer_weights), &dec, &model->n_params,
          error))
    return FALSE;
  return bart_resolve_tied (g, cfg, tie, prefix, error);
}

static gpointer
bart_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  BartGraph *g = g_new0 (BartGraph, 1);

  g->model = model;
  if (!sf_model_match_architecture (model, bart_architectures,
          G_N_ELEMENTS (bart_architectures), &g->classifier, error)
      || !bart_read_config (g, model, cfg, error))
    goto fail;
  if (g->classifier) {
    if (!sf_model_read_labels (model, cfg, error))
      goto fail;
    g->sizes[NL] = model->labels->len;
  }
  if (!bart_load_weights (g, model, ckpt, error)
      || !sf_model_load_tokenizer (model, error))
    goto fail;
  model->has_classifier = g->classifier;
  return g;

fail:
  bart_free (g);
  return NULL;
}

gboolean
sf_bart_embed (BartGraph *g, SfTensor *x, const gint64 *ids, gint64 past,
    const SfTensor *pos, const SfTensor *ln_g, const SfTensor *ln_b,
    GError **error)
{
  gint64 rows = x->shape[0], t = x->shape[1], d = x->shape[2];
  g_autoptr (SfTensor) flat =
      sf_tensor_reshape (x, 2, (gint64[]){ rows * t, d });
  g_autoptr (SfTensor) at = NULL; /* [T, D] rows of the position table */

  if (past + t > g->sizes[P] - BART_POS_OFFSET) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "BART: %" G_GINT64_FORMAT " positions are more than the model's "
        "max_position_embeddings %" G_GINT64_FORMAT,
        past + t, g->sizes[P] - BART_POS_OFFSET);
    return FALSE;
  }
  if (!sf_op_embedding (flat, g->tok_embed, ids, rows * t, error))
    return FALSE;
  if (g->embed_scale != 1.0f)
    sf_op_scale (flat, flat, g->embed_scale);
  at = sf_tensor_slice0 ((SfTensor *)pos, past + BART_POS_OFFSET, t);
  for (gint64 r = 0; r < rows; r++) {
    g_autoptr (SfTensor) xr = sf_tensor_slice0 (flat, r * t, t);
    sf_op_add (xr, xr, at);
  }
  if (ln_g)
    sf_op_layer_norm (x, x, ln_g, ln_b, BART_LN_EPS);
  return TRUE;
}

SfTensor *
sf_bart_encode (BartGraph *g, const SfTensor *ids, const SfTensor *mask,
    GPtrArray *hidden_states, GError **error)
{
  gint64 b = sf_tensor_dim (ids, 0), s = sf_tensor_dim (ids, 1);
  SfTensor *x = sf_tensor_new_f32 (3, b, s, g->sizes[D]); /* [B, S, D] */

  if (!sf_bart_embed (g, x, sf_tensor_i64 (ids), 0, g->g.enc_pos,
          g->g.enc_ln_emb_g, g->g.enc_ln_emb_b, error)) {
    sf_tensor_unref (x);
    return NULL;
  }
  if (g->pre_ln)
    x = sf_encoder_stack_pre_ln (
        g->enc_layers, g->n_enc, &g->enc_params, x, mask, hidden_states);
  else
    x = sf_encoder_stack_post_ln (
        g->enc_layers, g->n_enc, &g->enc_params, x, mask, hidden_states);
  /* in place: the last hidden state in @hidden_states is x itself */
  if (g->g.enc_ln_g)
    sf_op_layer_norm (x, x, g->g.enc_ln_g, g->g.enc_ln_b, BART_LN_EPS);
  return x;
}

static gboolean
bart_forward_text (gpointer data, const SfTextInput *in, gboolean want_hidden,
    SfTextOutput *out, GError **error)
{
  BartGraph *g = data;

  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  out->last_hidden_state = sf_bart_encode (
      g, in->input_ids, in->attention_mask, out->hidden_states, error);
  if (out->last_hidden_state == NULL)
    return FALSE;
  if (g->classifier)
    return sf_bart_classify (g, in, out, error);
  return TRUE;
}

gboolean
sf_bart_check (SfModel *model)
{
  extern const SfFamily sf_family_bart;
  return model != NULL && model->family == &sf_family_bart;
}

BartGraph *
sf_bart_graph (SfModel *model, GError **error)
{
  if (!sf_bart_check (model)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s is not a BART checkpoint",
        model ? sf_model_name (model) : "(no model)");
    return NULL;
  }
  return model->graph;
}

gboolean
sf_bart_tokens (SfModel *model, SfBartTokens *tokens, GError **error)
{
  const BartGraph *g = sf_bart_graph (model, error);

  if (g == NULL)
    return FALSE;
  *tokens = (SfBartTokens){ g->tokens.pad, g->tokens.bos, g->tokens.eos,
    g->tokens.decoder_start, g->tokens.forced_bos, g->tokens.forced_eos };
  return TRUE;
}

static const char *const bart_model_types[] = { "bart", "mbart", NULL };

static gboolean
bart_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  BartGraph *g = data;
  gint64 max = g->sizes[P] - BART_POS_OFFSET;

  if (in != NULL && (in->ndim != 1 || in->dims[0] < 1 || in->dims[0] > max)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "BART takes 1 to %" G_GINT64_FORMAT " token ids", max);
    return FALSE;
  }
  sf_shape_set (&out->last_hidden_state, 2, in ? in->dims[0] : -1, g->sizes[D]);
  if (g->classifier)
    sf_shape_set (&out->logits, 1, g->sizes[NL]);
  return TRUE;
}

const SfFamily sf_family_bart = {
  .name = "bart",
  .modality = SF_MODALITY_TEXT,
  .model_types = bart_model_types,
  .load = bart_load,
  .free = bart_free,
  .forward_text = bart_forward_text,
  .output_shapes = bart_output_shapes,
  .decoder_new = sf_bart_decoder_new,
};
