/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the BART decoder with KV caches.
 *
 * Mirrors modeling_bart.BartDecoder: scaled token embeddings plus learned
 * positions (after the positions already cached, offset by two), then
 * layernorm_embedding; layers of causal self-attention, cross-attention
 * over the encoder output and a feed-forward block (post-LN, or pre-LN with
 * a final LayerNorm for mBART); lm_head (usually model.shared) plus
 * final_logits_bias.
 *
 * A state holds up to max_rows sequences ("rows") of equal length, their
 * self-attention keys and values in a graphs/kv-cache.h cache up to the
 * position limit; the projections of all rows run as one matrix product
 * and only the attention itself runs per row. Several states (decoders of
 * different sources, one sequence each) can take a step together the same
 * way, each row at its own position, over its own caches. Cross-attention
 * keys and values are computed once: for one source shared by every row
 * (generation), or one per row with its padding mask (the teacher-forced
 * batch).
 */
#include "graphs/families/bart-private.h"
#include "graphs/families/bart.h"
#include "graphs/cross-kv.h"
#include "graphs/kv-cache.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* More live sequences than any beam search asks for. */
#define BART_MAX_ROWS 4096

typedef struct
{
  BartGraph *g;
  SfModel *model; /* owned reference: the graph lives as long */
  SfKvCache *cache;
  SfCrossKv *cross;     /* [Bs, S, D] a layer, Bs = 1 or rows */
  SfTensor *cross_mask; /* [Bs, S] or NULL */
} BartState;

static void
state_free (gpointer data)
{
  BartState *s = data;
  if (s == NULL)
    return;
  sf_kv_cache_free (s->cache);
  sf_cross_kv_free (s->cross);
  sf_tensor_unref (s->cross_mask);
  sf_model_unref (s->model);
  g_free (s);
}

/* The encoder output @enc [Bs, S, D] with @mask [Bs, S] (nullable). */
static BartState *
state_new (BartGraph *g, const SfTensor *enc, SfTensor *mask, guint max_rows)
{
  BartState *s = g_new0 (BartState, 1);
  gint64 d = g->sizes[BART_SZ_D];

  s->g = g;
  s->model = sf_model_ref (g->model);
  s->cache = sf_kv_cache_new ("BART decoder", g->n_dec, max_rows, d,
      g->sizes[BART_SZ_POS] - BART_POS_OFFSET,
      "max_position_embeddings less the offset of 2");
  s->cross_mask = mask ? sf_tensor_ref (mask) : NULL;
  s->cross = sf_cross_kv_new (g->n_dec);
  for (int l = 0; l < g->n_dec; l++) {
    const BartAttention *a = &g->dec_layers[l].cross;
    sf_cross_kv_project (s->cross, l, enc, a->k_w, a->k_b, a->v_w, a->v_b);
  }
  return s;
}

/* The residual around one sub-block: pre-LN normalises its input (into
 * @h, which it returns for the sub-block to read), post-LN its output. */
static const SfTensor *
block_input (const BartGraph *g, SfTensor *h, SfTensor *x, const SfTensor *ln_g,
    const SfTensor *ln_b)
{
  if (!g->pre_ln)
    return x;
  sf_op_layer_norm (h, x, ln_g, ln_b, BART_LN_EPS);
  return h;
}

static void
block_output (const BartGraph *g, SfTensor *x, const SfTensor *h,
    const SfTensor *ln_g, const SfTensor *ln_b)
{
  sf_op_add (x, x, h);
  if (!g->pre_ln)
    sf_op_layer_norm (x, x, ln_g, ln_b, BART_LN_EPS);
}

/* Causal self-attention of the new positions of every row over the row's
 * cached and new keys; the rows of @in are those of @states in turn. */
static void
self_attention (BartState *const *states, guint n, int index,
    const SfTensor *in, SfTensor *ctx)
{
  const BartGraph *g = states[0]->g;
  const BartAttention *a = &g->dec_layers[index].self;
  gint64 rows = in->shape[0], t = in->shape[1], d = in->shape[2], row = 0;
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, rows, t, d); /* [R, T, D] */
  g_autoptr (SfTensor) k = sf_tensor_new_f32 (3, rows, t, d);
  g_autoptr (SfTensor) v = sf_tensor_new_f32 (3, rows, t, d);

  sf_op_linear (q, in, a->q_w, a->q_b);
  sf_op_linear (k, in, a->k_w, a->k_b);
  sf_op_linear (v, in, a->v_w, a->v_b);
  for (guint i = 0; i < n; i++) {
    BartState *s = states[i];
    gint64 r = sf_kv_cache_rows (s->cache);
    g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, row, r);
    g_autoptr (SfTensor) ki = sf_tensor_slice0 (k, row, r);
    g_autoptr (SfTensor) vi = sf_tensor_slice0 (v, row, r);
    g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, row, r);

    sf_kv_cache_append (s->cache, index, ki, vi);
    sf_kv_cache_attend (s->cache, index, qi, ci, g->dec_heads, NULL,
        1.0f / sqrtf ((float)(d / g->dec_heads)));
    row += r;
  }
}

/* Cross-attention of @s's rows @q over its encoder output: one source
 * shared by all rows takes every row's queries as one sequence. */
static void
cross_attend (const BartState *s, int index, SfTensor *q, SfTensor *ctx)
{
  const SfTensor *keys = s->cross->k[index], *values = s->cross->v[index];
  gint64 rows = q->shape[0], t = q->shape[1], d = q->shape[2];

  if (keys->shape[0] == 1 && rows > 1) {
    gint64 shape[3] = { 1, rows * t, d };
    g_autoptr (SfTensor) q1 = sf_tensor_reshape (q, 3, shape);
    g_autoptr (SfTensor) c1 = sf_tensor_reshape (ctx, 3, shape);
    sf_op_attention (
        c1, q1, keys, values, s->g->dec_heads, s->cross_mask, FALSE);
  } else {
    sf_op_attention (
        ctx, q, keys, values, s->g->dec_heads, s->cross_mask, FALSE);
  }
}

/* Cross-attention over each state's own encoder output. */
static void
cross_attention (BartState *const *states, guint n, int index,
    const SfTensor *in, SfTensor *ctx)
{
  const BartAttention *a = &states[0]->g->dec_layers[index].cross;
  gint64 rows = in->shape[0], t = in->shape[1], d = in->shape[2], row = 0;
  g_autoptr (SfTensor) q = sf_tensor_new_f32 (3, rows, t, d); /* [R, T, D] */

  sf_op_linear (q, in, a->q_w, a->q_b);
  if (n == 1) {
    cross_attend (states[0], index, q, ctx);
    return;
  }
  for (guint i = 0; i < n; i++) {
    gint64 r = sf_kv_cache_rows (states[i]->cache);
    g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, row, r);
    g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, row, r);

    cross_attend (states[i], index, qi, ci);
    row += r;
  }
}

/* One BartDecoderLayer over x [R, T, D], in place, where the rows of x
 * are the rows of @states [n] in turn: the projections, norms and the
 * feed-forward run on every row at once, attention on each state's own
 * caches. */
static void
decoder_layer (BartState *const *states, guint n, int index, SfTensor *x)
{
  const BartGraph *g = states[0]->g;
  const BartDecoderLayer *l = &g->dec_layers[index];
  gint64 rows = x->shape[0], t = x->shape[1], d = x->shape[2];
  g_autoptr (SfTensor) h = sf_tensor_new_f32 (3, rows, t, d); /* [R, T, D] */
  g_autoptr (SfTensor) ctx = sf_tensor_new_f32 (3, rows, t, d);
  const SfTensor *in;

  in = block_input (g, h, x, l->ln_self_g, l->ln_self_b);
  self_attention (states, n, index, in, ctx);
  sf_op_linear (h, ctx, l->self.o_w, l->self.o_b);
  block_output (g, x, h, l->ln_self_g, l->ln_self_b);

  in = block_input (g, h, x, l->ln_cross_g, l->ln_cross_b);
  cross_attention (states, n, index, in, ctx);
  sf_op_linear (h, ctx, l->cross.o_w, l->cross.o_b);
  block_output (g, x, h, l->ln_cross_g, l->ln_cross_b);

  in = block_input (g, h, x, l->ln_ffn_g, l->ln_ffn_b);
  sf_op_feed_forward (h, in, l->fc1_w, l->fc1_b, g->act, l->fc2_w, l->fc2_b);
  block_output (g, x, h, l->ln_ffn_g, l->ln_ffn_b);
}

/* Appends @t tokens to each of the @rows rows of every one of @states [n]
 * (of one model; @ids [n · rows, t], the states' rows in turn), each at
 * its own position, and returns (transfer full) the decoder's last hidden
 * state for them [n · rows, T, D]. */
static SfTensor *
states_run (BartState *const *states, guint n, const gint64 *ids, guint rows,
    gint64 t, GError **error)
{
  BartGraph *g = states[0]->g;
  gint64 all = (gint64)n * rows;
  g_autoptr (SfTensor) x = NULL; /* [n · R, T, D] */

  for (guint i = 0; i < n; i++)
    if (!sf_kv_cache_begin (states[i]->cache, rows, t, error))
      return NULL;
  x = sf_tensor_new_f32 (3, all, t, g->sizes[BART_SZ_D]);
  /* embeddings from where each state stands; layernorm_embedding on all */
  for (guint i = 0; i < n; i++) {
    g_autoptr (SfTensor) xi = sf_tensor_slice0 (x, (gint64)i * rows, rows);
    if (!sf_bart_embed (g, xi, ids + (gsize)i * rows * t,
            sf_kv_cache_length (states[i]->cache), g->g.dec_pos, NULL, NULL,
            error))
      return NULL;
  }
  if (g->g.dec_ln_emb_g)
    sf_op_layer_norm (x, x, g->g.dec_ln_emb_g, g->g.dec_ln_emb_b, BART_LN_EPS);
  for (int l = 0; l < g->n_dec; l++)
    decoder_layer (states, n, l, x);
  for (guint i = 0; i < n; i++)
    sf_kv_cache_commit (states[i]->cache);
  if (g->g.dec_ln_g)
    sf_op_layer_norm (x, x, g->g.dec_ln_g, g->g.dec_ln_b, BART_LN_EPS);
  return g_steal_pointer (&x);
}

static SfTensor *
state_run (
    BartState *s, const gint64 *ids, guint rows, gint64 t, GError **error)
{
  return states_run (&s, 1, ids, rows, t, error);
}

/* ---- SfDecoder ---- */

static gboolean
decoder_step (gpointer self, const gint64 *tokens, guint n_seqs, guint n_new,
    float *logits, GError **error)
{
  BartState *s = self;
  gint64 d = s->g->sizes[BART_SZ_D];
  g_autoptr (SfTensor) x = state_run (s, tokens, n_seqs, n_new, error);
  g_autoptr (SfTensor) last = NULL; /* [R, D] */
  g_autoptr (SfTensor) out = NULL;  /* [R, V] */

  if (x == NULL)
    return FALSE;
  last = sf_tensor_new_f32 (2, (gint64)n_seqs, d);
  for (guint r = 0; r < n_seqs; r++)
    memcpy (sf_tensor_f32 (last) + r * d,
        sf_tensor_f32 (x) + ((gint64)r * n_new + n_new - 1) * d,
        d * sizeof (float));
  out = sf_tensor_new_f32 (2, (gint64)n_seqs, s->g->sizes[BART_SZ_VOCAB]);
  sf_op_linear (out, last, s->g->head, s->g->bias);
  memcpy (logits, sf_tensor_f32 (out), sf_tensor_nbytes (out));
  return TRUE;
}

static gboolean
decoder_reorder (gpointer self, const guint *src, guint n_seqs, GError **error)
{
  return sf_kv_cache_reorder (((BartState *)self)->cache, src, n_seqs, error);
}

/* Decoders of different sources, one sequence each, as one batch. */
static gboolean
decoder_step_together (gpointer const *selves, guint n, const gint64 *tokens,
    float *logits, GError **error)
{
  BartState *s0 = selves[0];
  BartGraph *g = s0->g;
  g_autoptr (SfTensor) x = NULL;   /* [n, 1, D] */
  g_autoptr (SfTensor) out = NULL; /* [n, 1, V] */

  for (guint i = 0; i < n; i++) {
    BartState *s = selves[i];
    if (s->g != g || sf_kv_cache_length (s->cache) == 0
        || sf_kv_cache_rows (s->cache) != 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "BART decoder: a step together takes decoders of one model, "
          "past their prompt, with one sequence each");
      return FALSE;
    }
  }
  x = states_run ((BartState *const *)selves, n, tokens, 1, 1, error);
  if (x == NULL)
    return FALSE;
  out = sf_tensor_new_f32 (3, (gint64)n, (gint64)1, g->sizes[BART_SZ_VOCAB]);
  sf_op_linear (out, x, g->head, g->bias);
  memcpy (logits, sf_tensor_f32 (out), sf_tensor_nbytes (out));
  return TRUE;
}

SfDecoder *
sf_bart_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error)
{
  BartGraph *g = graph;
  gint64 limit = g->sizes[BART_SZ_POS] - BART_POS_OFFSET;
  g_autoptr (SfTensor) enc = NULL;
  SfDecoder *dec;

  if (g->classifier) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: a sequence-classification BART does not generate text",
        sf_model_name (g->model));
    return NULL;
  }
  if (max_seqs > BART_MAX_ROWS) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "BART decoder: %u sequences asked, at most %d", max_seqs,
        BART_MAX_ROWS);
    return NULL;
  }
  if (source == NULL || source->dtype != SF_DTYPE_I64 || source->ndim != 2
      || source->shape[0] != 1 || source->shape[1] < 1
      || source->shape[1] > limit) {
    g_autofree char *shape = source ? sf_tensor_shape_string (source) : NULL;
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "BART decoder: the source must be I64 token ids [1, 1 to "
        "%" G_GINT64_FORMAT "], got %s",
        limit, shape ? shape : "none");
    return NULL;
  }
  enc = sf_bart_encode (g, source, NULL, NULL, error);
  if (enc == NULL)
    return NULL;
  dec = g_new0 (SfDecoder, 1);
  dec->vocab = g->sizes[BART_SZ_VOCAB];
  dec->step = decoder_step;
  dec->reorder = decoder_reorder;
  dec->step_together = decoder_step_together;
  dec->free = state_free;
  dec->self = state_new (g, enc, NULL, max_seqs);
  return dec;
}

/* ---- whole batches ---- */

static gboolean
check_ids (const char *what, const SfTensor *t, gint64 rows, GError **error)
{
  if (t == NULL || t->dtype != SF_DTYPE_I64 || t->ndim != 2 || t->shape[1] < 1
      || t->shape[0] < 1 || (rows > 0 && t->shape[0] != rows)) {
    g_autofree char *shape = t ? sf_tensor_shape_string (t) : NULL;
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "BART: %s must be I64 [batch, tokens]%s, got %s", what,
        rows > 0 ? " with input_ids' batch" : "", shape ? shape : "none");
    return FALSE;
  }
  return TRUE;
}

/* (transfer full) the decoder's last hidden state for @dec_ids [B, T]
 * over @enc [B, S, D] with its padding @mask (nullable). */
static SfTensor *
run_batch (BartGraph *g, const SfTensor *enc, const SfTensor *mask,
    const SfTensor *dec_ids, GError **error)
{
  gint64 b = dec_ids->shape[0];
  BartState *s = state_new (g, enc, (SfTensor *)mask, (guint)b);
  SfTensor *x = state_run (
      s, sf_tensor_i64 (dec_ids), (guint)b, dec_ids->shape[1], error);

  state_free (s);
  return x;
}

gboolean
sf_bart_forward (SfModel *model, const SfTensor *input_ids,
    const SfTensor *attention_mask, const SfTensor *decoder_input_ids,
    SfTensor **encoder_out, SfTensor **logits, GError **error)
{
  BartGraph *g = sf_bart_graph (model, error);
  gint64 b;
  g_autoptr (SfTensor) enc = NULL;
  g_autoptr (SfTensor) x = NULL;

  if (g == NULL)
    return FALSE;
  if (!check_ids ("input_ids", input_ids, 0, error))
    return FALSE;
  b = input_ids->shape[0];
  if ((attention_mask
          && (attention_mask->dtype != SF_DTYPE_I64
              || !sf_tensor_same_shape (attention_mask, input_ids)))) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "BART: attention_mask must be I64 with the shape of input_ids");
    return FALSE;
  }
  if (!check_ids ("decoder_input_ids", decoder_input_ids, b, error))
    return FALSE;
  enc = sf_bart_encode (g, input_ids, attention_mask, NULL, error);
  if (enc == NULL)
    return FALSE;
  x = run_batch (g, enc, attention_mask, decoder_input_ids, error);
  if (x == NULL)
    return FALSE;
  if (logits) {
    *logits = sf_tensor_new_f32 (
        3, b, decoder_input_ids->shape[1], g->sizes[BART_SZ_VOCAB]);
    sf_op_linear (*logits, x, g->head, g->bias);
  }
  if (encoder_out)
    *encoder_out = g_steal_pointer (&enc);
  return TRUE;
}

/* The position of the last eos in each row of @ids [B, S]: transformers
 * requires the same number of them in every row. */
static gboolean
find_eos (const BartGraph *g, const SfTensor *ids, gint64 *last, GError **error)
{
  gint64 b = ids->shape[0], s = ids->shape[1], count0 = -1;

  for (gint64 r = 0; r < b; r++) {
    gint64 count = 0;
    last[r] = -1;
    for (gint64 i = 0; i < s; i++)
      if (sf_tensor_i64 (ids)[r * s + i] == g->tokens.eos) {
        count++;
        last[r] = i;
      }
    if (count == 0 || (count0 >= 0 && count != count0)) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "BART classification: every input needs the same number of "
          "eos_token_id %" G_GINT64_FORMAT " tokens",
          g->tokens.eos);
      return FALSE;
    }
    count0 = count;
  }
  return TRUE;
}

/* Mirrors BartForSequenceClassification: the decoder reads the input
 * shifted right behind decoder_start_token_id, and the hidden state at
 * the last eos of each row goes through BartClassificationHead. */
gboolean
sf_bart_classify (
    BartGraph *g, const SfTextInput *in, SfTextOutput *out, GError **error)
{
  const SfTensor *ids = in->input_ids;
  gint64 b = ids->shape[0], s = ids->shape[1], d = g->sizes[BART_SZ_D];
  g_autoptr (SfTensor) dec_ids = sf_tensor_new (SF_DTYPE_I64, 2, ids->shape);
  g_autoptr (SfTensor) x = NULL;
  g_autoptr (SfTensor) pooled = sf_tensor_new_f32 (2, b, d); /* [B, D] */
  g_autoptr (SfTensor) dense = sf_tensor_new_f32 (2, b, d);
  g_autofree gint64 *last = g_new (gint64, b);

  if (g->tokens.decoder_start < 0 || g->tokens.eos < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: classification needs decoder_start_token_id and eos_token_id "
        "in config.json",
        sf_model_dir (g->model));
    return FALSE;
  }
  if (!find_eos (g, ids, last, error))
    return FALSE;
  for (gint64 r = 0; r < b; r++) {
    gint64 *row = sf_tensor_i64 (dec_ids) + r * s;
    row[0] = g->tokens.decoder_start;
    memcpy (row + 1, sf_tensor_i64 (ids) + r * s, (s - 1) * sizeof (gint64));
  }
  x = run_batch (g, out->last_hidden_state, in->attention_mask, dec_ids, error);
  if (x == NULL)
    return FALSE;
  for (gint64 r = 0; r < b; r++)
    memcpy (sf_tensor_f32 (pooled) + r * d,
        sf_tensor_f32 (x) + (r * s + last[r]) * d, d * sizeof (float));
  sf_op_linear (dense, pooled, g->g.cls_dense_w, g->g.cls_dense_b);
  sf_op_activation (dense, dense, SF_ACTIVATION_TANH);
  out->logits = sf_tensor_new_f32 (2, b, g->sizes[BART_SZ_LABELS]);
  sf_op_linear (out->logits, dense, g->g.cls_out_w, g->g.cls_out_b);
  return TRUE;
}
