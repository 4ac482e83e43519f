/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: Whisper (WhisperForConditionalGeneration).
 *
 * Mirrors modeling_whisper. The encoder (WhisperEncoder) is a conv stem
 * (conv1d k3 + GELU, conv1d k3 stride 2 + GELU) over the log-mel frames,
 * plus the stored sinusoidal embed_positions, then pre-LN layers and a
 * final LayerNorm; it is this family's forward_audio. The decoder
 * (graphs/whisper-decode.c) and greedy generation (whisper-generate.c) are
 * reached through graphs/whisper.h.
 *
 * Checkpoints store the model under "model." (WhisperForConditionalGeneration)
 * or bare (WhisperModel). proj_out is usually absent: it is tied to
 * decoder.embed_tokens, and it is always read from there when the config
 * asks for tied embeddings.
 */
#include "graphs/families/whisper-private.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "core/ops/conv.h"
#include "core/ops/layout.h"

#include <stddef.h>
#include <string.h>

#define G(field) offsetof (WhisperGlobals, field)
#define L(field) offsetof (WhisperLayer, field)
#define PL (SF_WEIGHT_PER_LAYER)
/* attention projections: int8 changes the chosen tokens, bf16 does not */
#define PLX (PL | SF_WEIGHT_LINEAR | SF_WEIGHT_NO_INT8)

enum
{
  D = WHISPER_SZ_D,
  MELS = WHISPER_SZ_MELS,
  EFF = WHISPER_SZ_ENC_FFN,
  DFF = WHISPER_SZ_DEC_FFN,
  V = WHISPER_SZ_VOCAB,
  SP = WHISPER_SZ_SRC_POS,
  TP = WHISPER_SZ_TGT_POS,
  K = WHISPER_SZ_KERNEL
};

/* clang-format off */
#define ATTENTION(mod, f) \
  {"layers.{L}." mod ".q_proj.weight", {D, D, -1}, PLX, L (f.q_w)}, \
  {"layers.{L}." mod ".q_proj.bias", {D, -1}, PL, L (f.q_b)}, \
  {"layers.{L}." mod ".k_proj.weight", {D, D, -1}, PLX, L (f.k_w)}, \
  {"layers.{L}." mod ".v_proj.weight", {D, D, -1}, PLX, L (f.v_w)}, \
  {"layers.{L}." mod ".v_proj.bias", {D, -1}, PL, L (f.v_b)}, \
  {"layers.{L}." mod ".out_proj.weight", {D, D, -1}, PLX, L (f.o_w)}, \
  {"layers.{L}." mod ".out_proj.bias", {D, -1}, PL, L (f.o_b)}

#define NORM(mod, f) \
  {"layers.{L}." mod ".weight", {D, -1}, PL, L (f ## _g)}, \
  {"layers.{L}." mod ".bias", {D, -1}, PL, L (f ## _b)}

#define FFN(ffn) \
  {"layers.{L}.fc1.weight", {ffn, D, -1}, PL | SF_WEIGHT_LINEAR, L (fc1_w)}, \
  {"layers.{L}.fc1.bias", {ffn, -1}, PL, L (fc1_b)}, \
  {"layers.{L}.fc2.weight", {D, ffn, -1}, PL | SF_WEIGHT_LINEAR, L (fc2_w)}, \
  {"layers.{L}.fc2.bias", {D, -1}, PL, L (fc2_b)}
/* clang-format on */

/* Under "<prefix>encoder.". */
static const SfWeightSpec whisper_encoder_weights[] = {
  { "conv1.weight", { D, MELS, K, -1 }, 0, G (conv1_w) },
  { "conv1.bias", { D, -1 }, 0, G (conv1_b) },
  { "conv2.weight", { D, D, K, -1 }, 0, G (conv2_w) },
  { "conv2.bias", { D, -1 }, 0, G (conv2_b) },
  { "embed_positions.weight", { SP, D, -1 }, 0, G (enc_pos) },
  { "layer_norm.weight", { D, -1 }, 0, G (enc_ln_g) },
  { "layer_norm.bias", { D, -1 }, 0, G (enc_ln_b) },
  NORM ("self_attn_layer_norm", ln_self),
  ATTENTION ("self_attn", self),
  NORM ("final_layer_norm", ln_ffn),
  FFN (EFF),
};

/* Under "<prefix>decoder."; proj_out sits outside it. */
static const SfWeightSpec whisper_decoder_weights[] = {
  { "embed_tokens.weight", { V, D, -1 }, 0, G (tok_emb) },
  { "embed_positions.weight", { TP, D, -1 }, 0, G (dec_pos) },
  { "layer_norm.weight", { D, -1 }, 0, G (dec_ln_g) },
  { "layer_norm.bias", { D, -1 }, 0, G (dec_ln_b) },
  NORM ("self_attn_layer_norm", ln_self),
  ATTENTION ("self_attn", self),
  NORM ("encoder_attn_layer_norm", ln_cross),
  ATTENTION ("encoder_attn", cross),
  NORM ("final_layer_norm", ln_ffn),
  FFN (DFF),
};

static const SfWeightSpec whisper_proj_out_weights[] = {
  { "proj_out.weight", { V, D, -1 }, SF_WEIGHT_HEAD | SF_WEIGHT_OPTIONAL,
      G (proj_out) },
};

static const SfArchitecture whisper_architectures[] = {
  { "WhisperForConditionalGeneration", FALSE },
  { "WhisperModel", FALSE },
};

static void
whisper_free (gpointer data)
{
  WhisperGraph *g = data;
  if (g == NULL)
    return;
  if (g->enc_layers)
    sf_weights_clear (whisper_encoder_weights,
        G_N_ELEMENTS (whisper_encoder_weights), &g->enc_target);
  if (g->dec_layers) {
    sf_weights_clear (whisper_decoder_weights,
        G_N_ELEMENTS (whisper_decoder_weights), &g->dec_target);
    sf_weights_clear (whisper_proj_out_weights,
        G_N_ELEMENTS (whisper_proj_out_weights), &g->dec_target);
  }
  sf_whisper_generation_clear (&g->gen);
  sf_tensor_unref (g->head);
  sf_tensor_unref (g->conv1_frames);
  sf_tensor_unref (g->conv2_frames);
  g_free (g->enc_layers);
  g_free (g->dec_layers);
  g_free (g->enc_prefix);
  g_free (g->dec_prefix);
  g_free (g);
}

static gboolean
whisper_read_config (
    WhisperGraph *g, SfModel *model, const SfConfig *cfg, GError **error)
{
  gint64 enc_layers, dec_layers;
  gboolean scale_embedding;
  gint64 *sz = g->sizes;

  if (!sf_config_int_min (cfg, "d_model", 1, &sz[D], error)
      || !sf_config_int_min (cfg, "num_mel_bins", 1, &sz[MELS], error)
      || !sf_config_int_min (cfg, "encoder_ffn_dim", 1, &sz[EFF], error)
      || !sf_config_int_min (cfg, "decoder_ffn_dim", 1, &sz[DFF], error)
      || !sf_config_int_min (cfg, "vocab_size", 1, &sz[V], error)
      || !sf_config_int_min (cfg, "max_source_positions", 1, &sz[SP], error)
      || !sf_config_int_min (cfg, "max_target_positions", 1, &sz[TP], error)
      || !sf_config_int_min (cfg, "encoder_layers", 1, &enc_layers, error)
      || !sf_config_int_min (cfg, "decoder_layers", 1, &dec_layers, error)
      || !sf_model_read_heads (cfg, "encoder_attention_heads", "d_model", sz[D],
          &g->enc_heads, error)
      || !sf_model_read_heads (cfg, "decoder_attention_heads", "d_model", sz[D],
          &g->dec_heads, error)
      || !sf_model_read_activation (
          cfg, "activation_function", "gelu", &g->act, error)
      || !sf_config_bool_or (
          cfg, "scale_embedding", FALSE, &scale_embedding, error))
    return FALSE;
  if (enc_layers > 1000 || dec_layers > 1000) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: encoder_layers or decoder_layers is out of range",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (scale_embedding) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: scale_embedding true is not supported (Whisper checkpoints "
        "use false)",
        sf_config_origin (cfg));
    return FALSE;
  }
  sz[K] = 3;
  g->n_enc = (int)enc_layers;
  g->n_dec = (int)dec_layers;
  model->hidden_size = sz[D];
  model->max_positions = sz[SP];
  return TRUE;
}

/* The front-end must produce the mel bins the conv stem takes. */
static gboolean
whisper_load_frontend (
    WhisperGraph *g, SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  g_autofree char *path = sf_checkpoint_file (ckpt, "preprocessor_config.json");
  g_autoptr (SfConfig) pre = NULL;
  gint64 feature_size;

  if (path == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no preprocessor_config.json (the Whisper feature extractor's "
        "settings)",
        sf_checkpoint_dir (ckpt));
    return FALSE;
  }
  pre = sf_config_load (path, error);
  if (pre == NULL
      || !sf_config_int_or (pre, "feature_size", 80, &feature_size, error))
    return FALSE;
  if (feature_size != g->sizes[MELS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: feature_size %" G_GINT64_FORMAT " does not match config.json's "
        "num_mel_bins %" G_GINT64_FORMAT,
        path, feature_size, g->sizes[MELS]);
    return FALSE;
  }
  /* the front-end reads and range-checks chunk_length and sampling_rate */
  model->audio_frontend =
      sf_audio_frontend_load (path, SF_AUDIO_FRONTEND_WHISPER_LOGMEL, error);
  if (model->audio_frontend == NULL)
    return FALSE;
  return TRUE;
}

static gboolean
whisper_load_weights (
    WhisperGraph *g, SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  static const char *const prefixes[] = { "model.", "", NULL };
  const char *prefix =
      sf_weights_find_prefix (ckpt, prefixes, "encoder.conv1.weight");
  gboolean tie;

  if (!sf_config_bool_or (sf_checkpoint_config (ckpt), "tie_word_embeddings",
          TRUE, &tie, error))
    return FALSE;
  prefix = prefix ? prefix : "";
  g->enc_prefix = g_strconcat (prefix, "encoder.", NULL);
  g->dec_prefix = g_strconcat (prefix, "decoder.", NULL);
  g->enc_layers = g_new0 (WhisperLayer, g->n_enc);
  g->dec_layers = g_new0 (WhisperLayer, g->n_dec);
  g->enc_target = (SfWeightTarget){ g->enc_prefix, g->sizes, g->n_enc, &g->g,
    g->enc_layers, sizeof (WhisperLayer) };
  g->dec_target = (SfWeightTarget){ g->dec_prefix, g->sizes, g->n_dec, &g->g,
    g->dec_layers, sizeof (WhisperLayer) };
  g->enc_target.precision = model->precision;
  g->dec_target.precision = model->precision;
  if (!sf_weights_load (ckpt, whisper_encoder_weights,
          G_N_ELEMENTS (whisper_encoder_weights), &g->enc_target,
          &model->n_params, error))
    return FALSE;
  if (!sf_weights_load (ckpt, whisper_decoder_weights,
          G_N_ELEMENTS (whisper_decoder_weights), &g->dec_target,
          &model->n_params, error))
    return FALSE;
  if (!tie
      && !sf_weights_load (ckpt, whisper_proj_out_weights,
          G_N_ELEMENTS (whisper_proj_out_weights), &g->dec_target,
          &model->n_params, error))
    return FALSE;
  g->head = sf_weights_pack_head (
      g->g.proj_out ? g->g.proj_out : g->g.tok_emb, model->precision);
  g->conv1_frames = sf_conv1d_frames_weight (g->g.conv1_w);
  g->conv2_frames = sf_conv1d_frames_weight (g->g.conv2_w);
  return TRUE;
}

static gpointer
whisper_load (SfModel *model, SfCheckpoint *ckpt, GError **error)
{
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  WhisperGraph *g = g_new0 (WhisperGraph, 1);
  gboolean classifier;

  g->model = model;
  if (!sf_model_match_architecture (model, whisper_architectures,
          G_N_ELEMENTS (whisper_architectures), &classifier, error)
      || !whisper_read_config (g, model, cfg, error)
      || !whisper_load_weights (g, model, ckpt, error)
      || !whisper_load_frontend (g, model, ckpt, error))
    goto fail;
  if (!sf_model_load_tokenizer (model, error))
    goto fail;
  if (!sf_whisper_generation_load (g, ckpt, error))
    goto fail;
  return g;

fail:
  whisper_free (g);
  return NULL;
}

/* One pre-LN WhisperEncoderLayer: x += attn (LN (x)); x += ffn (LN (x)). */
static void
encoder_layer (const WhisperGraph *g, const WhisperLayer *l, SfTensor *x)
{
  gint64 b = x->shape[0], t = x->shape[1], d = x->shape[2];
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (3, b, t, d); /* [B, T, D] */
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, b, t, d);
  g_autoptr (SfTensor) k = sf_tensor_new_f32 (3, b, t, d);
  g_autoptr (SfTensor) v = sf_tensor_new_f32 (3, b, t, d);
  g_autoptr (SfTensor) ctx = sf_tensor_new_f32 (3, b, t, d);

  sf_op_layer_norm (h, x, l->ln_self_g, l->ln_self_b, WHISPER_LN_EPS);
  sf_op_linear (q, h, l->self.q_w, l->self.q_b);
  sf_op_linear (k, h, l->self.k_w, NULL);
  sf_op_linear (v, h, l->self.v_w, l->self.v_b);
  sf_op_attention (ctx, q, k, v, g->enc_heads, NULL, FALSE);
  sf_op_linear (h, ctx, l->self.o_w, l->self.o_b);
  sf_op_add (x, x, h);

  sf_op_layer_norm (h, x, l->ln_ffn_g, l->ln_ffn_b, WHISPER_LN_EPS);
  sf_op_feed_forward (h, h, l->fc1_w, l->fc1_b, g->act, l->fc2_w, l->fc2_b);
  sf_op_add (x, x, h);
}

/* Mirrors WhisperEncoder.forward; features [B, mels, frames]. */
static gboolean
whisper_forward_audio (gpointer data, const SfAudioInput *in,
    gboolean want_hidden, SfAudioOutput *out, GError **error)
{
  WhisperGraph *g = data;
  const SfTensor *feat = in->features;
  gint64 b, frames, t1, t2, d = g->sizes[D];
  g_autoptr (SfTensor) mels = NULL; /* [B, frames, mels] */
  g_autoptr (SfTensor) c1 = NULL;   /* [B, frames, D] */
  g_autoptr (SfTensor) pos = NULL;  /* [1, T, D] */
  SfTensor *x;                      /* [B, T, D] */

  if (feat == NULL || feat->dtype != SF_DTYPE_F32 || feat->ndim != 3
      || feat->shape[1] != g->sizes[MELS]) {
    g_autofree char *shape = feat ? sf_tensor_shape_string (feat) : NULL;
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "Whisper expects F32 log-mel features [B, %" G_GINT64_FORMAT
        ", frames], got %s",
        g->sizes[MELS], shape ? shape : "none");
    return FALSE;
  }
  b = feat->shape[0];
  frames = feat->shape[2];
  t1 = sf_conv1d_out_size (frames, 3, 1, 1);
  t2 = sf_conv1d_out_size (t1, 3, 2, 1);
  if (b < 1 || frames < 1 || t2 > g->sizes[SP]) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "Whisper takes 1 to %" G_GINT64_FORMAT
        " mel frames, got %" G_GINT64_FORMAT,
        2 * g->sizes[SP], frames);
    return FALSE;
  }

  /* conv stem: GELU (conv1 (x)), GELU (conv2 (·)) with stride 2, over
   * time-major frames: each conv is one product of overlapping rows */
  mels = sf_tensor_new_f32 (3, b, frames, g->sizes[MELS]);
  sf_op_transpose_last2 (mels, feat);
  c1 = sf_tensor_new_uninit (SF_DTYPE_F32, 3, (gint64[]){ b, t1, d });
  sf_op_conv1d_frames (c1, mels, g->conv1_frames, g->g.conv1_b, 3, 1, 1);
  sf_op_activation (c1, c1, SF_ACTIVATION_GELU);
  x = sf_tensor_new_uninit (SF_DTYPE_F32, 3, (gint64[]){ b, t2, d });
  sf_op_conv1d_frames (x, c1, g->conv2_frames, g->g.conv2_b, 3, 2, 1);
  sf_op_activation (x, x, SF_ACTIVATION_GELU);

  /* + embed_positions[0:T], for each batch item */
  {
    g_autoptr (SfTensor) rows = sf_tensor_slice0 (g->g.enc_pos, 0, t2);
    pos = sf_tensor_reshape (rows, 3, (gint64[]){ 1, t2, d });
  }
  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) xi = sf_tensor_slice0 (x, i, 1);
    sf_op_add (xi, xi, pos);
  }

  if (want_hidden)
    out->hidden_states =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  for (int l = 0; l < g->n_enc; l++) {
    if (want_hidden)
      g_ptr_array_add (out->hidden_states, sf_tensor_copy (x));
    encoder_layer (g, &g->enc_layers[l], x);
  }
  sf_op_layer_norm (x, x, g->g.enc_ln_g, g->g.enc_ln_b, WHISPER_LN_EPS);
  if (want_hidden)
    g_ptr_array_add (out->hidden_states, sf_tensor_ref (x));
  out->last_hidden_state = x;
  return TRUE;
}

gboolean
sf_whisper_graph_check (SfModel *model, WhisperGraph **graph, GError **error)
{
  extern const SfFamily sf_family_whisper;

  if (model == NULL || model->family != &sf_family_whisper) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s is not a Whisper checkpoint",
        model ? sf_model_name (model) : "(no model)");
    return FALSE;
  }
  *graph = model->graph;
  return TRUE;
}

static const char *const whisper_model_types[] = { "whisper", NULL };

/* The conv stem halves the frames: conv2 has stride 2. */
static gboolean
whisper_output_shapes (gpointer data, SfModality input, const SfShape *in,
    SfOutputShapes *out, GError **error)
{
  WhisperGraph *g = data;
  gint64 t = -1;

  if (in == NULL)
    goto out;
  t = 0;
  if (in->ndim == 2 && in->dims[0] == g->sizes[MELS] && in->dims[1] >= 1)
    t = sf_conv1d_out_size (sf_conv1d_out_size (in->dims[1], 3, 1, 1), 3, 2, 1);
  if (t < 1 || t > g->sizes[SP]) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "Whisper takes log-mel features [%" G_GINT64_FORMAT
        ", 1 to %" G_GINT64_FORMAT " frames]",
        g->sizes[MELS], 2 * g->sizes[SP]);
    return FALSE;
  }
out:
  sf_shape_set (&out->last_hidden_state, 2, t, g->sizes[D]);
  return TRUE;
}

const SfFamily sf_family_whisper = {
  .name = "whisper",
  .modality = SF_MODALITY_AUDIO,
  .model_types = whisper_model_types,
  .load = whisper_load,
  .free = whisper_free,
  .forward_audio = whisper_forward_audio,
  .output_shapes = whisper_output_shapes,
  .decoder_new = sf_whisper_decoder_new,
};
