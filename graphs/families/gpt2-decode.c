/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the GPT-2 incremental decoder (graphs/generate.h).
 *
 * Mirrors GPT2LMHeadModel.forward with past_key_values: the new tokens of
 * every live sequence go through each block as one set of rows, so every
 * projection is one matrix product over all of them; only attention runs
 * per sequence, against that sequence's cached keys and values.
 *
 * Caches: per layer one K and one V buffer [max_seqs, capacity, D],
 * allocated for 16 positions and doubled as needed up to n_positions.
 * Rows map to cache slots through slot[]: reorder() hands a surviving
 * sequence's slot to the first row that continues it and copies the cache
 * only for the other rows that continue it (beam search), so nothing moves
 * when the order is unchanged.
 */
#include "graphs/families/gpt2-private.h"
#include "core/error.h"

#include <string.h>

#define GPT2_CACHE_MIN 16 /* positions of the first allocation */

typedef struct
{
  Gpt2Graph *g;
  SfModel *model; /* owned reference: the graph lives as long */
  guint max_seqs;
  guint n_seqs;      /* live rows; 0 before the first step */
  gint64 length;     /* positions cached, the same for every row */
  gint64 capacity;   /* positions each slot holds */
  SfTensor **k, **v; /* n_layers × [max_seqs, capacity, D] */
  guint *slot;       /* max_seqs: row → cache slot */
  guint *next_slot;  /* reorder's scratch */
  gboolean *claimed; /* reorder's scratch, per slot */
} Gpt2Decoder;

static void
gpt2_decoder_free (gpointer self)
{
  Gpt2Decoder *s = self;

  if (s == NULL)
    return;
  for (int l = 0; s->k && l < s->g->n_layers; l++) {
    sf_tensor_unref (s->k[l]);
    sf_tensor_unref (s->v[l]);
  }
  g_free (s->k);
  g_free (s->v);
  g_free (s->slot);
  g_free (s->next_slot);
  g_free (s->claimed);
  sf_model_unref (s->model);
  g_free (s);
}

/* Grows every cache to hold @needed positions per slot, keeping what is
 * cached. */
static void
ensure_capacity (Gpt2Decoder *s, gint64 needed)
{
  gint64 d = s->g->sizes[GPT2_SZ_EMBD], cap;

  if (needed <= s->capacity)
    return;
  cap = MAX (s->capacity, GPT2_CACHE_MIN);
  while (cap < needed)
    cap *= 2;
  cap = MIN (cap, s->g->sizes[GPT2_SZ_POS]);
  for (int l = 0; l < s->g->n_layers; l++) {
    SfTensor **bufs[2] = { &s->k[l], &s->v[l] };
    for (int i = 0; i < 2; i++) {
      SfTensor *old = *bufs[i];
      SfTensor *grown = sf_tensor_new_f32 (3, (gint64)s->max_seqs, cap, d);
      for (guint j = 0; old && j < s->max_seqs; j++)
        memcpy (sf_tensor_f32 (grown) + j * cap * d,
            sf_tensor_f32 (old) + j * s->capacity * d,
            s->length * d * sizeof (float));
      sf_tensor_unref (old);
      *bufs[i] = grown;
    }
  }
  s->capacity = cap;
}

/* (transfer full) a [1, @n, D] view of @t's data from float @offset on. */
static SfTensor *
rows_view (const SfTensor *t, gint64 offset, gint64 n, gint64 d)
{
  gsize start = (guint8 *)t->data - (guint8 *)sf_storage_data (t->storage);

  return sf_tensor_new_view (t->storage, start + (gsize)offset * sizeof (float),
      SF_DTYPE_F32, 3, (gint64[]){ 1, n, d });
}

/* Writes rows [r·T, (r+1)·T) of @src [N, D] at positions [length,
 * length + T) of row r's slot in @cache. */
static void
cache_append (Gpt2Decoder *s, SfTensor *cache, const SfTensor *src, gint64 t)
{
  gint64 d = s->g->sizes[GPT2_SZ_EMBD];

  for (guint r = 0; r < s->n_seqs; r++)
    memcpy (sf_tensor_f32 (cache) + (s->slot[r] * s->capacity + s->length) * d,
        sf_tensor_f32 (src) + r * t * d, t * d * sizeof (float));
}

/* Causal attention of each row's @t queries over its cached positions. */
static void
attend (Gpt2Decoder *s, int layer, SfTensor *ctx, SfTensor *q, gint64 t)
{
  gint64 d = s->g->sizes[GPT2_SZ_EMBD], n = s->length + t;

  for (guint r = 0; r < s->n_seqs; r++) {
    gint64 slot = s->slot[r] * s->capacity * d;
    g_autoptr (SfTensor) qr = rows_view (q, r * t * d, t, d);
    g_autoptr (SfTensor) cr = rows_view (ctx, r * t * d, t, d);
    g_autoptr (SfTensor) keys = rows_view (s->k[layer], slot, n, d);
    g_autoptr (SfTensor) values = rows_view (s->v[layer], slot, n, d);
    sf_op_attention (cr, qr, keys, values, s->g->n_heads, NULL, TRUE);
  }
}

/* The caller owns the logits buffer the head writes into. */
static void
keep_caller_buffer (gpointer data)
{
}

static gboolean
gpt2_decoder_step (gpointer self, const gint64 *tokens, guint n_seqs,
    guint n_new, float *logits, GError **error)
{
  Gpt2Decoder *s = self;
  const Gpt2Graph *g = s->g;
  gint64 d = g->sizes[GPT2_SZ_EMBD], t = n_new, n = (gint64)n_seqs * n_new;
  gint64 vocab = g->sizes[GPT2_SZ_VOCAB];
  g_autoptr (SfTensor) x = NULL; /* [N, D] */
  g_autoptr (SfTensor) q = NULL, k = NULL, v = NULL, ctx = NULL;
  g_autoptr (SfTensor) last = NULL; /* [n_seqs, D] */
  g_autoptr (SfTensor) out = NULL;  /* [n_seqs, V] over @logits */
  g_autoptr (SfStorage) out_storage = NULL;
  g_autofree gint64 *pos = NULL;

  if (n_seqs == 0 || n_new == 0 || n_seqs > s->max_seqs
      || (s->length > 0 && n_seqs != s->n_seqs)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "GPT-2 decoder: a step of %u tokens for %u sequences; it holds %u "
        "(at most %u)",
        n_new, n_seqs, s->n_seqs, s->max_seqs);
    return FALSE;
  }
  if (s->length + t > g->sizes[GPT2_SZ_POS]) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "GPT-2 decoder: %" G_GINT64_FORMAT " more tokens after "
        "%" G_GINT64_FORMAT " exceed the model's n_positions "
        "%" G_GINT64_FORMAT,
        t, s->length, g->sizes[GPT2_SZ_POS]);
    return FALSE;
  }

  x = sf_tensor_new_f32 (2, n, d);
  pos = g_new (gint64, n);
  for (gint64 i = 0; i < n; i++)
    pos[i] = s->length + i % t;
  if (!sf_gpt2_embed (g, x, tokens, pos, n, error))
    return FALSE;
  if (s->length == 0)
    s->n_seqs = n_seqs;
  ensure_capacity (s, s->length + t);

  q = sf_tensor_new_f32 (2, n, d);
  k = sf_tensor_new_f32 (2, n, d);
  v = sf_tensor_new_f32 (2, n, d);
  ctx = sf_tensor_new_f32 (2, n, d);
  for (int l = 0; l < g->n_layers; l++) {
    sf_gpt2_block_qkv (g, l, x, q, k, v);
    cache_append (s, s->k[l], k, t);
    cache_append (s, s->v[l], v, t);
    attend (s, l, ctx, q, t);
    sf_gpt2_block_finish (g, l, x, ctx);
  }
  s->length += t;

  /* ln_f and the head on each sequence's last position only */
  if (t == 1) {
    last = sf_tensor_ref (x);
  } else {
    last = sf_tensor_new_f32 (2, (gint64)n_seqs, d);
    for (guint r = 0; r < n_seqs; r++)
      memcpy (sf_tensor_f32 (last) + r * d,
          sf_tensor_f32 (x) + (r * t + t - 1) * d, d * sizeof (float));
  }
  sf_op_layer_norm (last, last, g->g.lnf_g, g->g.lnf_b, g->eps);
  out_storage = sf_storage_new_wrapped (
      logits, (gsize)n_seqs * vocab * sizeof (float), NULL, keep_caller_buffer);
  out = sf_tensor_new_view (
      out_storage, 0, SF_DTYPE_F32, 2, (gint64[]){ n_seqs, vocab });
  sf_op_linear (out, last, sf_gpt2_lm_head (g), NULL);
  return TRUE;
}

static gboolean
gpt2_decoder_reorder (
    gpointer self, const guint *src, guint n_seqs, GError **error)
{
  Gpt2Decoder *s = self;
  gint64 d = s->g->sizes[GPT2_SZ_EMBD];
  guint next_free = 0;

  if (n_seqs == 0 || n_seqs > s->max_seqs) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "GPT-2 decoder: reorder to %u sequences (1 to %u)", n_seqs,
        s->max_seqs);
    return FALSE;
  }
  for (guint i = 0; i < n_seqs; i++) {
    if (src[i] >= s->n_seqs) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "GPT-2 decoder: reorder names sequence %u of %u", src[i], s->n_seqs);
      return FALSE;
    }
  }

  /* the first row continuing a sequence takes over its slot */
  memset (s->claimed, 0, s->max_seqs * sizeof (gboolean));
  for (guint i = 0; i < n_seqs; i++) {
    guint from = s->slot[src[i]];
    s->next_slot[i] = G_MAXUINT;
    if (!s->claimed[from]) {
      s->claimed[from] = TRUE;
      s->next_slot[i] = from;
    }
  }
  /* the others copy it into a slot no row keeps; claimed slots are only
   * read here, so the order of the copies does not matter */
  for (guint i = 0; i < n_seqs; i++) {
    guint from = s->slot[src[i]];
    if (s->next_slot[i] != G_MAXUINT)
      continue;
    while (s->claimed[next_free])
      next_free++;
    s->claimed[next_free] = TRUE;
    s->next_slot[i] = next_free;
    for (int l = 0; l < s->g->n_layers; l++) {
      SfTensor *bufs[2] = { s->k[l], s->v[l] };
      for (int b = 0; b < 2; b++)
        memcpy (sf_tensor_f32 (bufs[b]) + next_free * s->capacity * d,
            sf_tensor_f32 (bufs[b]) + from * s->capacity * d,
            s->length * d * sizeof (float));
    }
  }
  memcpy (s->slot, s->next_slot, n_seqs * sizeof (guint));
  s->n_seqs = n_seqs;
  return TRUE;
}

SfDecoder *
sf_gpt2_decoder_new (
    gpointer graph, const SfTensor *source, guint max_seqs, GError **error)
{
  Gpt2Graph *g = graph;
  Gpt2Decoder *s;
  SfDecoder *decoder;

  if (source != NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "GPT-2 decoder: a decoder-only model takes no source input");
    return NULL;
  }
  if (max_seqs > 4096) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "GPT-2 decoder: %u sequences asked, at most 4096", max_seqs);
    return NULL;
  }
  s = g_new0 (Gpt2Decoder, 1);
  s->g = g;
  s->model = sf_model_ref (g->model);
  s->max_seqs = max_seqs;
  s->k = g_new0 (SfTensor *, g->n_layers);
  s->v = g_new0 (SfTensor *, g->n_layers);
  s->slot = g_new (guint, max_seqs);
  s->next_slot = g_new (guint, max_seqs);
  s->claimed = g_new0 (gboolean, max_seqs);
  for (guint i = 0; i < max_seqs; i++)
    s->slot[i] = i;

  decoder = g_new0 (SfDecoder, 1);
  decoder->vocab = g->sizes[GPT2_SZ_VOCAB];
  decoder->step = gpt2_decoder_step;
  decoder->reorder = gpt2_decoder_reorder;
  decoder->free = gpt2_decoder_free;
  decoder->self = s;
  return decoder;
}
