/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the T5 decoder with its caches.
 *
 * Mirrors modeling_t5's decoder T5Stack: shared embeddings, blocks of
 * causal self-attention (with the decoder's relative position bias),
 * cross-attention over the encoder output (no position bias) and the
 * feed-forward, each pre-normed; the final norm, the d_model^-0.5 scale of
 * tied checkpoints, then the head.
 *
 * Design decisions:
 * - Rows are live sequences, all at the same length, their self-attention
 *   keys and values in a graphs/kv-cache.h cache: attention reads it in
 *   place, one row at a time, while every projection is one matrix
 *   product over all rows.
 * - Cross-attention keys and values are computed once from the encoder
 *   output: one source shared by every row (generation), or one per row
 *   (teacher forcing of a padded batch, with its padding mask).
 * - The position bias [heads, T, L + T] depends only on positions, so one
 *   is computed per step and shared by all rows and all layers.
 * - Several states (decoders of different sources, one sequence each) can
 *   take a step together: their rows share the projections, each attends
 *   over its own caches with the bias of its own cached length (one bias
 *   per distinct length).
 */
#include "graphs/families/t5-private.h"
#include "graphs/cross-kv.h"
#include "graphs/kv-cache.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

struct T5State
{
  T5Graph *g;
  gint64 src_batch; /* 1, or the row count */
  SfTensor *mask;   /* [src_batch, n] or NULL */
  SfKvCache *cache;
  SfCrossKv *cross; /* [src_batch, n, inner] a layer */
};

/* modeling_t5's bucket of a key at @rel = key − query positions: exact
 * buckets for the nearest max_exact distances, log-spaced ones up to
 * max_distance; the encoder gives keys after the query their own half. */
static gint64
relative_bucket (
    gint64 rel, gboolean bidirectional, gint64 n_buckets, gint64 max_distance)
{
  gint64 bucket = 0, dist, max_exact, large;

  if (bidirectional) {
    n_buckets /= 2;
    bucket = rel > 0 ? n_buckets : 0;
    dist = ABS (rel);
  } else {
    dist = rel < 0 ? -rel : 0;
  }
  max_exact = n_buckets / 2;
  if (dist < max_exact)
    return bucket + dist;
  /* float arithmetic as torch does it, truncated toward zero */
  large = max_exact
      + (gint64)(logf ((float)dist / (float)max_exact)
          / (float)log ((double)max_distance / (double)max_exact)
          * (float)(n_buckets - max_exact));
  return bucket + MIN (large, n_buckets - 1);
}

SfTensor *
sf_t5_position_bias (const T5Graph *g, const SfTensor *table, gint64 q0,
    gint64 t, gint64 s, gboolean bidirectional)
{
  gint64 heads = g->sizes[T5_SZ_HEADS];
  g_autofree gint64 *buckets = g_new (gint64, MAX (t * s, 1));
  g_autoptr (SfTensor) rows = sf_tensor_new_f32 (3, (gint64)1, t * s, heads);
  g_autoptr (SfTensor) flat = NULL;
  SfTensor *bias;

  for (gint64 i = 0; i < t; i++)
    for (gint64 j = 0; j < s; j++)
      buckets[i * s + j] = relative_bucket (j - (q0 + i), bidirectional,
          g->sizes[T5_SZ_BUCKETS], g->max_distance);
  /* bucket ids come from positions, always inside the table */
  {
    g_autoptr (SfTensor) rows2 =
        sf_tensor_reshape (rows, 2, (gint64[]){ t * s, heads });
    sf_op_embedding (rows2, table, buckets, t * s, NULL);
  }
  /* [1, T·S, heads] → [heads, T, S] */
  bias = sf_tensor_new_f32 (3, heads, t, s);
  flat = sf_tensor_reshape (bias, 3, (gint64[]){ 1, heads, t * s });
  sf_op_transpose_last2 (flat, rows);
  return bias;
}

void
sf_t5_state_free (T5State *s)
{
  if (s == NULL)
    return;
  sf_kv_cache_free (s->cache);
  sf_cross_kv_free (s->cross);
  sf_tensor_unref (s->mask);
  g_free (s);
}

T5State *
sf_t5_state_new (T5Graph *g, const SfTensor *enc, const SfTensor *mask,
    guint max_rows, GError **error)
{
  gint64 d = g->sizes[T5_SZ_D], in = g->sizes[T5_SZ_INNER];
  T5State *s;

  if (g->n_dec == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED, "%s: %s has no decoder",
        sf_model_name (g->model),
        g->model->architecture ? g->model->architecture : "this T5 model");
    return NULL;
  }
  if (enc == NULL || enc->dtype != SF_DTYPE_F32 || enc->ndim != 3
      || enc->shape[2] != d || enc->shape[1] < 1
      || (enc->shape[0] != 1 && enc->shape[0] != max_rows)
      || (mask != NULL
          && (mask->ndim != 2 || mask->shape[0] != enc->shape[0]
              || mask->shape[1] != enc->shape[1]))) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "T5 decoder: the encoder output must be F32 [1 or %u, n, "
        "%" G_GINT64_FORMAT "] and its mask [1 or %u, n]",
        max_rows, d, max_rows);
    return NULL;
  }
  s = g_new0 (T5State, 1);
  s->g = g;
  s->src_batch = enc->shape[0];
  s->mask = mask ? sf_tensor_ref ((SfTensor *)mask) : NULL;
  s->cache = sf_kv_cache_new ("T5 decoder", g->n_dec, max_rows, in,
      T5_MAX_DECODE_POSITIONS, "the decoder's limit");
  s->cross = sf_cross_kv_new (g->n_dec);
  for (int l = 0; l < g->n_dec; l++) {
    const T5Attention *a = &g->dec_layers[l].cross;
    sf_cross_kv_project (s->cross, l, enc, a->k_w, NULL, a->v_w, NULL);
  }
  return s;
}

/* One decoder T5Block over x [rows, T, D], in place, where the rows of x
 * are the @rows rows of each of @states [n] in turn, state i's self-
 * attention biased by @biases[i]: the projections, norms and the
 * feed-forward run on every row at once, attention on each state's own
 * caches. */
static void
decoder_layer (T5State *const *states, guint n, guint rows, int index,
    SfTensor *x, SfTensor *const *biases)
{
  const T5Graph *g = states[0]->g;
  const T5Layer *l = &g->dec_layers[index];
  gint64 all = x->shape[0], t = x->shape[1], in = g->sizes[T5_SZ_INNER];
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (3, all, t, g->sizes[T5_SZ_D]);
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, all, t, in); /* [R, T, in] */
  g_autoptr (SfTensor) k = sf_tensor_new_f32 (3, all, t, in);
  g_autoptr (SfTensor) v = sf_tensor_new_f32 (3, all, t, in);
  g_autoptr (SfTensor) ctx = sf_tensor_new_f32 (3, all, t, in);

  /* causal self-attention over the cached and the new positions */
  sf_op_rms_norm (h, x, l->ln_self, g->eps);
  sf_op_linear (q, h, l->self.q_w, NULL);
  sf_op_linear (k, h, l->self.k_w, NULL);
  sf_op_linear (v, h, l->self.v_w, NULL);
  for (guint i = 0; i < n; i++) {
    T5State *s = states[i];
    g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, (gint64)i * rows, rows);
    g_autoptr (SfTensor) ki = sf_tensor_slice0 (k, (gint64)i * rows, rows);
    g_autoptr (SfTensor) vi = sf_tensor_slice0 (v, (gint64)i * rows, rows);
    g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, (gint64)i * rows, rows);

    sf_kv_cache_append (s->cache, index, ki, vi);
    sf_kv_cache_attend (s->cache, index, qi, ci, g->heads, biases[i], 1.0f);
  }
  sf_op_linear (h, ctx, l->self.o_w, NULL);
  sf_op_add (x, x, h);

  /* cross-attention over each state's encoder output */
  sf_op_rms_norm (h, x, l->ln_cross, g->eps);
  sf_op_linear (q, h, l->cross.q_w, NULL);
  for (guint i = 0; i < n; i++) {
    T5State *s = states[i];

    if (s->src_batch == rows) {
      g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, (gint64)i * rows, rows);
      g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, (gint64)i * rows, rows);
      sf_op_attention_biased (ci, qi, s->cross->k[index], s->cross->v[index],
          g->heads, s->mask, FALSE, NULL, 1.0f);
      continue;
    }
    for (guint r = 0; r < rows; r++) {
      g_autoptr (SfTensor) qr = sf_tensor_slice0 (q, (gint64)i * rows + r, 1);
      g_autoptr (SfTensor) cr = sf_tensor_slice0 (ctx, (gint64)i * rows + r, 1);
      sf_op_attention_biased (cr, qr, s->cross->k[index], s->cross->v[index],
          g->heads, s->mask, FALSE, NULL, 1.0f);
    }
  }
  sf_op_linear (h, ctx, l->cross.o_w, NULL);
  sf_op_add (x, x, h);

  sf_t5_feed_forward (g, l, x);
}

/* The self-attention bias of each of @states [n] for @t new positions:
 * one per distinct cached length, shared by the states at that length.
 * @biases [n] gets references. */
static void
position_biases (T5State *const *states, guint n, gint64 t, SfTensor **biases)
{
  const T5Graph *g = states[0]->g;

  for (guint i = 0; i < n; i++) {
    gint64 past = sf_kv_cache_length (states[i]->cache);

    biases[i] = NULL;
    for (guint j = 0; j < i && biases[i] == NULL; j++)
      if (sf_kv_cache_length (states[j]->cache) == past)
        biases[i] = sf_tensor_ref (biases[j]);
    if (biases[i] == NULL)
      biases[i] =
          sf_t5_position_bias (g, g->g.dec_bias, past, t, past + t, FALSE);
  }
}

/* Feeds @t tokens to the @rows rows of each of @states [n] (of one model;
 * @ids [n · rows, t], the states' rows in turn), each state from its own
 * position, and returns (transfer full) their logits as
 * sf_t5_state_step() does. */
static SfTensor *
states_step (T5State *const *states, guint n, const gint64 *ids, guint rows,
    guint t, gboolean all_logits, GError **error)
{
  const T5Graph *g = states[0]->g;
  gint64 d = g->sizes[T5_SZ_D], vocab = g->sizes[T5_SZ_VOCAB];
  gint64 all = (gint64)n * rows;
  g_autoptr (SfTensor) x = NULL;       /* [n · R, T, D] */
  g_autoptr (SfTensor) flat = NULL;    /* [n · R · T, D] view */
  g_autoptr (SfTensor) last = NULL;    /* [n · R, 1, D] */
  g_autofree SfTensor **biases = NULL; /* n × [heads, T, L + T] */
  const SfTensor *head = g->head_packed ? g->head_packed
      : g->g.lm_head                    ? g->g.lm_head
                                        : g->g.shared;
  SfTensor *logits = NULL;

  for (guint i = 0; i < n; i++) {
    T5State *s = states[i];
    if (s->src_batch != 1 && s->src_batch != rows) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "T5 decoder: a step for %u sequences over %" G_GINT64_FORMAT
          " sources",
          rows, s->src_batch);
      return NULL;
    }
    if (!sf_kv_cache_begin (s->cache, rows, t, error))
      return NULL;
  }

  x = sf_tensor_new_f32 (3, all, (gint64)t, d);
  flat = sf_tensor_reshape (x, 2, (gint64[]){ all * t, d });
  if (!sf_op_embedding (flat, g->g.shared, ids, all * t, error))
    return NULL;
  biases = g_new (SfTensor *, n);
  position_biases (states, n, t, biases);
  for (int l = 0; l < g->n_dec; l++)
    decoder_layer (states, n, rows, l, x, biases);
  for (guint i = 0; i < n; i++) {
    sf_kv_cache_commit (states[i]->cache);
    sf_tensor_unref (biases[i]);
  }
  sf_op_rms_norm (x, x, g->g.dec_ln, g->eps);
  if (g->scale_output)
    sf_op_scale (x, x, 1.0f / sqrtf ((float)d));

  if (all_logits || t == 1) {
    logits = sf_tensor_new_f32 (3, all, (gint64)t, vocab);
    sf_op_linear (logits, x, head, NULL);
    return logits;
  }
  /* only the last position: copy its rows, then project */
  last = sf_tensor_new_f32 (3, all, (gint64)1, d);
  for (gint64 r = 0; r < all; r++)
    memcpy (sf_tensor_f32 (last) + r * d,
        sf_tensor_f32 (x) + (r * t + t - 1) * d, d * sizeof (float));
  logits = sf_tensor_new_f32 (3, all, (gint64)1, vocab);
  sf_op_linear (logits, last, head, NULL);
  return logits;
}

SfTensor *
sf_t5_state_step (T5State *s, const gint64 *ids, guint rows, guint t,
    gboolean all_logits, GError **error)
{
  return states_step (&s, 1, ids, rows, t, all_logits, error);
}

static gboolean
state_reorder (T5State *s, const guint *src, guint n, GError **error)
{
  if (s->src_batch != 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "T5 decoder: cannot reorder sequences over %" G_GINT64_FORMAT
        " sources",
        s->src_batch);
    return FALSE;
  }
  return sf_kv_cache_reorder (s->cache, src, n, error);
}

/* ---- the SfDecoder of graphs/generate.h ---- */

typedef struct
{
  T5State *state;
  SfModel *model; /* owned reference: keeps the graph alive */
  gint64 vocab;
} T5Decoder;

static gboolean
decoder_step (gpointer self, const gint64 *tokens, guint n_seqs, guint n_new,
    float *logits, GError **error)
{
  T5Decoder *dec = self;
  g_autoptr (SfTensor) out =
      sf_t5_state_step (dec->state, tokens, n_seqs, n_new, FALSE, error);

  if (out == NULL)
    return FALSE;
  memcpy (logits, sf_tensor_f32 (out), n_seqs * dec->vocab * sizeof (float));
  return TRUE;
}

static gboolean
decoder_reorder (gpointer self, const guint *src, guint n_seqs, GError **error)
{
  return state_reorder (((T5Decoder *)self)->state, src, n_seqs, error);
}

/* Decoders of different sources, one sequence each, as one batch. */
static gboolean
decoder_step_together (gpointer const *selves, guint n, const gint64 *tokens,
    float *logits, GError **error)
{
  T5Decoder *d0 = selves[0];
  g_autofree T5State **states = g_new (T5State *, n);
  g_autoptr (SfTensor) out = NULL; /* [n, 1, V] */

  for (guint i = 0; i < n; i++) {
    T5Decoder *d = selves[i];
    if (d->state->g != d0->state->g || d->state->src_batch != 1
        || sf_kv_cache_length (d->state->cache) == 0
        || sf_kv_cache_rows (d->state->cache) != 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "T5 decoder: a step together takes decoders of one model, past "
          "their prompt, with one sequence each");
      return FALSE;
    }
    states[i] = d->state;
  }
  out = states_step (states, n, tokens, 1, 1, FALSE, error);
  if (out == NULL)
    return FALSE;
  memcpy (logits, sf_tensor_f32 (out), n * d0->vocab * sizeof (float));
  return TRUE;
}

static void
decoder_free (gpointer self)
{
  T5Decoder *dec = self;

  sf_t5_state_free (dec->state);
  sf_model_unref (dec->model);
  g_free (dec);
}

SfDecoder *
sf_t5_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error)
{
  T5Graph *g = graph;
  g_autoptr (SfTensor) enc = NULL;
  T5Decoder *dec;
  SfDecoder *out;

  if (g->n_dec == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED, "%s: %s has no decoder",
        sf_model_name (g->model),
        g->model->architecture ? g->model->architecture : "this T5 model");
    return NULL;
  }
  if (source == NULL || source->ndim != 2 || source->shape[0] != 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "%s: a T5 decoder's source is the input token ids [1, n]",
        sf_model_name (g->model));
    return NULL;
  }
  if (max_seqs > 4096) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: %u sequences asked, a T5 decoder runs up to 4096",
        sf_model_name (g->model), max_seqs);
    return NULL;
  }
  enc = sf_t5_encode (g, source, NULL, NULL, error);
  if (enc == NULL)
    return NULL;
  dec = g_new0 (T5Decoder, 1);
  dec->state = sf_t5_state_new (g, enc, NULL, max_seqs, error);
  if (dec->state == NULL) {
    g_free (dec);
    return NULL;
  }
  dec->model = sf_model_ref (g->model);
  dec->vocab = g->sizes[T5_SZ_VOCAB];
  out = g_new0 (SfDecoder, 1);
  out->vocab = dec->vocab;
  out->step = decoder_step;
  out->reorder = decoder_reorder;
  out->step_together = decoder_step_together;
  out->free = decoder_free;
  out->self = dec;
  return out;
}
