/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the Whisper decoder with KV caches.
 *
 * Mirrors modeling_whisper.WhisperDecoder: token embeddings plus learned
 * positions (offset by the positions already cached), pre-LN layers of
 * causal self-attention, cross-attention over the encoder output and a
 * feed-forward block, a final LayerNorm, then proj_out (tied to
 * embed_tokens unless the checkpoint stores its own).
 *
 * Self-attention keys and values of every fed position are kept in a
 * graphs/kv-cache.h cache; cross-attention keys and values are computed
 * once per encoder output. Teacher forcing feeds the whole
 * sequence in one step; generation feeds one token at a time. Several
 * states (windows of different streams) can take a step together: their
 * rows go through the linear layers as one batch, while each row attends
 * over its own caches from its own position.
 */
#include "graphs/families/whisper.h"
#include "graphs/families/whisper-private.h"
#include "graphs/cross-kv.h"
#include "graphs/kv-cache.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* More live sequences than any beam search asks for. */
#define WHISPER_MAX_ROWS 4096

struct SfWhisperState
{
  WhisperGraph *g;
  SfModel *model; /* owned reference */
  gint64 batch;
  SfKvCache *cache;
  SfCrossKv *cross;       /* [B, S, D] a layer */
  gboolean cross_uniform; /* every row's cross K/V are the same */
};

gboolean
sf_whisper_check (SfModel *model)
{
  WhisperGraph *g;
  return sf_whisper_graph_check (model, &g, NULL);
}

void
sf_whisper_state_free (SfWhisperState *s)
{
  if (s == NULL)
    return;
  sf_kv_cache_free (s->cache);
  sf_cross_kv_free (s->cross);
  sf_model_unref (s->model);
  g_free (s);
}

SfWhisperState *
sf_whisper_state_new (
    SfModel *model, const SfTensor *enc, gint64 capacity, GError **error)
{
  WhisperGraph *g;
  SfWhisperState *s;
  gint64 b, d;

  if (!sf_whisper_graph_check (model, &g, error))
    return NULL;
  d = g->sizes[WHISPER_SZ_D];
  if (enc == NULL || enc->dtype != SF_DTYPE_F32 || enc->ndim != 3
      || enc->shape[2] != d || enc->shape[0] < 1 || enc->shape[1] < 1) {
    g_autofree char *shape = enc ? sf_tensor_shape_string (enc) : NULL;
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "Whisper decoder: the encoder output must be F32 [B, S, "
        "%" G_GINT64_FORMAT "], got %s",
        d, shape ? shape : "none");
    return NULL;
  }
  if (capacity < 1 || capacity > g->sizes[WHISPER_SZ_TGT_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "Whisper decoder: %" G_GINT64_FORMAT " positions asked, the model "
        "has max_target_positions %" G_GINT64_FORMAT,
        capacity, g->sizes[WHISPER_SZ_TGT_POS]);
    return NULL;
  }
  b = enc->shape[0];
  s = g_new0 (SfWhisperState, 1);
  s->g = g;
  s->model = sf_model_ref (model);
  s->batch = b;
  s->cache = sf_kv_cache_new ("Whisper decoder", g->n_dec, WHISPER_MAX_ROWS, d,
      capacity, "the positions this decoder was made for");
  s->cross_uniform = b == 1;
  s->cross = sf_cross_kv_new (g->n_dec);
  for (int l = 0; l < g->n_dec; l++) {
    const WhisperAttention *a = &g->dec_layers[l].cross;
    sf_cross_kv_project (s->cross, l, enc, a->k_w, NULL, a->v_w, a->v_b);
  }
  return s;
}

gint64
sf_whisper_state_length (const SfWhisperState *s)
{
  return sf_kv_cache_length (s->cache);
}

gboolean
sf_whisper_state_reorder (
    SfWhisperState *s, const guint *src, guint n, GError **error)
{
  gboolean identity = (gint64)n == s->batch;
  gint64 length = sf_kv_cache_length (s->cache);
  gboolean cross = !(s->cross_uniform && (gint64)n == s->batch);

  for (guint i = 0; i < n; i++) {
    if ((gint64)src[i] >= s->batch) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "Whisper decoder: row %u to continue, of %" G_GINT64_FORMAT, src[i],
          s->batch);
      return FALSE;
    }
    identity &= src[i] == i;
  }
  if (n == 0 || identity)
    return TRUE;
  if (length > 0 && !sf_kv_cache_reorder (s->cache, src, n, error))
    return FALSE;
  if (cross)
    sf_cross_kv_gather (s->cross, src, n);
  s->batch = n;
  return TRUE;
}

/* One pre-LN WhisperDecoderLayer over x [B, T, D], in place, where the
 * rows of x are the rows of @states in turn: the linear layers run on
 * every row at once, attention on each state's own caches. */
static void
decoder_layer (SfWhisperState *const *states, guint n, int index, SfTensor *x)
{
  const WhisperGraph *g = states[0]->g;
  const WhisperLayer *l = &g->dec_layers[index];
  gint64 b = x->shape[0], t = x->shape[1], d = x->shape[2], row = 0;
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (3, b, t, d); /* [B, T, D] */
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, b, t, d);
  g_autoptr (SfTensor) k = sf_tensor_new_f32 (3, b, t, d);
  g_autoptr (SfTensor) v = sf_tensor_new_f32 (3, b, t, d);
  g_autoptr (SfTensor) ctx = sf_tensor_new_f32 (3, b, t, d);

  /* causal self-attention over the cached and the new positions */
  sf_op_layer_norm (h, x, l->ln_self_g, l->ln_self_b, WHISPER_LN_EPS);
  sf_op_linear (q, h, l->self.q_w, l->self.q_b);
  sf_op_linear (k, h, l->self.k_w, NULL);
  sf_op_linear (v, h, l->self.v_w, l->self.v_b);
  for (guint i = 0; i < n; row += states[i]->batch, i++) {
    SfWhisperState *s = states[i];
    g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, row, s->batch);
    g_autoptr (SfTensor) ki = sf_tensor_slice0 (k, row, s->batch);
    g_autoptr (SfTensor) vi = sf_tensor_slice0 (v, row, s->batch);
    g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, row, s->batch);

    sf_kv_cache_append (s->cache, index, ki, vi);
    sf_kv_cache_attend (s->cache, index, qi, ci, g->dec_heads, NULL,
        1.0f / sqrtf ((float)(d / g->dec_heads)));
  }
  sf_op_linear (h, ctx, l->self.o_w, l->self.o_b);
  sf_op_add (x, x, h);

  /* cross-attention over each state's own encoder output */
  sf_op_layer_norm (h, x, l->ln_cross_g, l->ln_cross_b, WHISPER_LN_EPS);
  sf_op_linear (q, h, l->cross.q_w, l->cross.q_b);
  row = 0;
  for (guint i = 0; i < n; row += states[i]->batch, i++) {
    SfWhisperState *s = states[i];
    g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, row, s->batch);
    g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, row, s->batch);

    sf_op_attention (ci, qi, s->cross->k[index], s->cross->v[index],
        g->dec_heads, NULL, FALSE);
  }
  sf_op_linear (h, ctx, l->cross.o_w, l->cross.o_b);
  sf_op_add (x, x, h);

  /* feed-forward */
  sf_op_layer_norm (h, x, l->ln_ffn_g, l->ln_ffn_b, WHISPER_LN_EPS);
  sf_op_feed_forward (h, h, l->fc1_w, l->fc1_b, g->act, l->fc2_w, l->fc2_b);
  sf_op_add (x, x, h);
}

/* Feeds @t new tokens to every row of every one of @states [n] (of one
 * model), rows in turn, and returns their logits as sf_whisper_state_step
 * does. */
static SfTensor *
states_step (SfWhisperState *const *states, guint n, const gint64 *ids,
    gint64 t, gboolean all_logits, GPtrArray *hidden_states, GError **error)
{
  const WhisperGraph *g = states[0]->g;
  gint64 b = 0, d, vocab, row = 0;
  g_autoptr (SfTensor) x = NULL;    /* [B, T, D] */
  g_autoptr (SfTensor) flat = NULL; /* [B·T, D] view */
  g_autoptr (SfTensor) last = NULL; /* [B, 1, D] */
  const SfTensor *proj;
  SfTensor *logits;

  d = g->sizes[WHISPER_SZ_D];
  vocab = g->sizes[WHISPER_SZ_VOCAB];
  for (guint i = 0; i < n; i++) {
    if (states[i]->g != g) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "Whisper decoder: one step over decoders of different models");
      return NULL;
    }
    if (!sf_kv_cache_begin (
            states[i]->cache, (guint)states[i]->batch, t, error))
      return NULL;
    b += states[i]->batch;
  }

  x = sf_tensor_new_f32 (3, b, t, d);
  flat = sf_tensor_reshape (x, 2, (gint64[]){ b * t, d });
  if (!sf_op_embedding (flat, g->g.tok_emb, ids, b * t, error))
    return NULL;
  /* learned positions, from where each state stands */
  for (guint i = 0; i < n; row += states[i]->batch, i++) {
    gint64 past = sf_kv_cache_length (states[i]->cache);
    g_autoptr (SfTensor) rows = sf_tensor_slice0 (g->g.dec_pos, past, t);
    g_autoptr (SfTensor) pos =
        sf_tensor_reshape (rows, 3, (gint64[]){ 1, t, d });

    for (gint64 r = row; r < row + states[i]->batch; r++) {
      g_autoptr (SfTensor) xr = sf_tensor_slice0 (x, r, 1);
      sf_op_add (xr, xr, pos);
    }
  }

  for (int l = 0; l < g->n_dec; l++) {
    if (hidden_states)
      g_ptr_array_add (hidden_states, sf_tensor_copy (x));
    decoder_layer (states, n, l, x);
  }
  for (guint i = 0; i < n; i++)
    sf_kv_cache_commit (states[i]->cache);
  sf_op_layer_norm (x, x, g->g.dec_ln_g, g->g.dec_ln_b, WHISPER_LN_EPS);
  if (hidden_states)
    g_ptr_array_add (hidden_states, sf_tensor_copy (x));

  proj = g->head ? g->head : g->g.proj_out ? g->g.proj_out : g->g.tok_emb;
  if (all_logits || t == 1) {
    logits = sf_tensor_new_f32 (3, b, t, vocab);
    sf_op_linear (logits, x, proj, NULL);
    return logits;
  }
  /* only the last position: copy its rows, then project */
  last = sf_tensor_new_f32 (3, b, (gint64)1, d);
  for (gint64 i = 0; i < b; i++)
    memcpy (sf_tensor_f32 (last) + i * d,
        sf_tensor_f32 (x) + (i * t + t - 1) * d, d * sizeof (float));
  logits = sf_tensor_new_f32 (3, b, (gint64)1, vocab);
  sf_op_linear (logits, last, proj, NULL);
  return logits;
}

SfTensor *
sf_whisper_state_step (SfWhisperState *s, const gint64 *ids, gint64 t,
    gboolean all_logits, GPtrArray *hidden_states, GError **error)
{
  g_return_val_if_fail (s != NULL && ids != NULL, NULL);
  return states_step (&s, 1, ids, t, all_logits, hidden_states, error);
}

gint64
sf_whisper_state_batch (const SfWhisperState *s)
{
  return s->batch;
}

SfTensor *
sf_whisper_states_step (
    SfWhisperState *const *states, guint n, const gint64 *ids, GError **error)
{
  g_return_val_if_fail (states != NULL && n > 0 && ids != NULL, NULL);
  return states_step (states, n, ids, 1, FALSE, NULL, error);
}
