/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the GPT-2 incremental decoder (graphs/generate.h).
 *
 * Mirrors GPT2LMHeadModel.forward with past_key_values: the new tokens of
 * every live sequence go through each block as one set of rows, so every
 * projection is one matrix product over all of them; only attention runs
 * per sequence, against that sequence's cached keys and values.
 *
 * Caches: graphs/kv-cache.h, one row per live sequence, up to n_positions.
 *
 * step_together runs decoders of different prompts, one sequence each, as
 * the rows of one batch: each row takes its position from its own cache
 * and attends over that cache alone; everything else is shared.
 */
#include "graphs/families/gpt2-private.h"
#include "graphs/kv-cache.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

typedef struct
{
  Gpt2Graph *g;
  SfModel *model; /* owned reference: the graph lives as long */
  SfKvCache *cache;
} Gpt2Decoder;

static void
gpt2_decoder_free (gpointer self)
{
  Gpt2Decoder *s = self;

  if (s == NULL)
    return;
  sf_kv_cache_free (s->cache);
  sf_model_unref (s->model);
  g_free (s);
}

/* The caller owns the logits buffer the head writes into. */
static void
keep_caller_buffer (gpointer data)
{
}

/* ln_f and the head over @last [rows, D], in place, into @logits. */
static void
gpt2_head (const Gpt2Graph *g, SfTensor *last, float *logits)
{
  gint64 rows = sf_tensor_dim (last, 0), vocab = g->sizes[GPT2_SZ_VOCAB];
  g_autoptr (SfStorage) storage = NULL;
  g_autoptr (SfTensor) out = NULL; /* [rows, V] over @logits */

  sf_op_layer_norm (last, last, g->g.lnf_g, g->g.lnf_b, g->eps);
  storage = sf_storage_new_wrapped (
      logits, (gsize)rows * vocab * sizeof (float), NULL, keep_caller_buffer);
  out = sf_tensor_new_view (
      storage, 0, SF_DTYPE_F32, 2, (gint64[]){ rows, vocab });
  sf_op_linear (out, last, sf_gpt2_lm_head (g), NULL);
}

static gboolean
gpt2_decoder_step (gpointer self, const gint64 *tokens, guint n_seqs,
    guint n_new, float *logits, GError **error)
{
  Gpt2Decoder *s = self;
  const Gpt2Graph *g = s->g;
  gint64 d = g->sizes[GPT2_SZ_EMBD], t = n_new, n = (gint64)n_seqs * n_new;
  g_autoptr (SfTensor) x = NULL; /* [N, D] */
  g_autoptr (SfTensor) q = NULL, k = NULL, v = NULL, ctx = NULL;
  g_autoptr (SfTensor) last = NULL; /* [n_seqs, D] */
  g_autofree gint64 *pos = NULL;

  if (!sf_kv_cache_begin (s->cache, n_seqs, t, error))
    return FALSE;
  x = sf_tensor_new_f32 (2, n, d);
  pos = g_new (gint64, n);
  for (gint64 i = 0; i < n; i++)
    pos[i] = sf_kv_cache_length (s->cache) + i % t;
  if (!sf_gpt2_embed (g, x, tokens, pos, n, error))
    return FALSE;

  q = sf_tensor_new_f32 (2, n, d);
  k = sf_tensor_new_f32 (2, n, d);
  v = sf_tensor_new_f32 (2, n, d);
  ctx = sf_tensor_new_f32 (2, n, d);
  for (int l = 0; l < g->n_layers; l++) {
    sf_gpt2_block_qkv (g, l, x, q, k, v);
    sf_kv_cache_append (s->cache, l, k, v);
    sf_kv_cache_attend (s->cache, l, q, ctx, g->n_heads, NULL,
        1.0f / sqrtf ((float)(d / g->n_heads)));
    sf_gpt2_block_finish (g, l, x, ctx);
  }
  sf_kv_cache_commit (s->cache);

  /* ln_f and the head on each sequence's last position only */
  if (t == 1) {
    last = sf_tensor_ref (x);
  } else {
    last = sf_tensor_new_f32 (2, (gint64)n_seqs, d);
    for (guint r = 0; r < n_seqs; r++)
      memcpy (sf_tensor_f32 (last) + r * d,
          sf_tensor_f32 (x) + (r * t + t - 1) * d, d * sizeof (float));
  }
  gpt2_head (g, last, logits);
  return TRUE;
}

/* Decoders of different prompts, one sequence each, as one batch. */
static gboolean
gpt2_decoder_step_together (gpointer const *selves, guint n,
    const gint64 *tokens, float *logits, GError **error)
{
  const Gpt2Graph *g = ((Gpt2Decoder *)selves[0])->g;
  gint64 d = g->sizes[GPT2_SZ_EMBD];
  g_autoptr (SfTensor) x = NULL; /* [n, D] */
  g_autoptr (SfTensor) q = NULL, k = NULL, v = NULL, ctx = NULL;
  g_autofree gint64 *pos = g_new (gint64, MAX (n, 1));

  for (guint i = 0; i < n; i++) {
    Gpt2Decoder *s = selves[i];
    if (s->g != g || sf_kv_cache_length (s->cache) == 0
        || sf_kv_cache_rows (s->cache) != 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "GPT-2 decoder: a step together takes decoders of one model, "
          "past their prompt, with one sequence each");
      return FALSE;
    }
  }
  for (guint i = 0; i < n; i++) {
    Gpt2Decoder *s = selves[i];
    if (!sf_kv_cache_begin (s->cache, 1, 1, error))
      return FALSE;
    pos[i] = sf_kv_cache_length (s->cache);
  }
  x = sf_tensor_new_f32 (2, (gint64)n, d);
  if (!sf_gpt2_embed (g, x, tokens, pos, n, error))
    return FALSE;

  q = sf_tensor_new_f32 (2, (gint64)n, d);
  k = sf_tensor_new_f32 (2, (gint64)n, d);
  v = sf_tensor_new_f32 (2, (gint64)n, d);
  ctx = sf_tensor_new_f32 (2, (gint64)n, d);
  for (int l = 0; l < g->n_layers; l++) {
    sf_gpt2_block_qkv (g, l, x, q, k, v);
    for (guint i = 0; i < n; i++) {
      Gpt2Decoder *s = selves[i];
      g_autoptr (SfTensor) qi = sf_tensor_slice0 (q, i, 1);
      g_autoptr (SfTensor) ki = sf_tensor_slice0 (k, i, 1);
      g_autoptr (SfTensor) vi = sf_tensor_slice0 (v, i, 1);
      g_autoptr (SfTensor) ci = sf_tensor_slice0 (ctx, i, 1);

      sf_kv_cache_append (s->cache, l, ki, vi);
      sf_kv_cache_attend (s->cache, l, qi, ci, g->n_heads, NULL,
          1.0f / sqrtf ((float)(d / g->n_heads)));
    }
    sf_gpt2_block_finish (g, l, x, ctx);
  }
  for (guint i = 0; i < n; i++)
    sf_kv_cache_commit (((Gpt2Decoder *)selves[i])->cache);
  gpt2_head (g, x, logits);
  return TRUE;
}

static gboolean
gpt2_decoder_reorder (
    gpointer self, const guint *src, guint n_seqs, GError **error)
{
  return sf_kv_cache_reorder (((Gpt2Decoder *)self)->cache, src, n_seqs, error);
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
  s->cache = sf_kv_cache_new ("GPT-2 decoder", g->n_layers, max_seqs,
      g->sizes[GPT2_SZ_EMBD], g->sizes[GPT2_SZ_POS], "the model's n_positions");

  decoder = g_new0 (SfDecoder, 1);
  decoder->vocab = g->sizes[GPT2_SZ_VOCAB];
  decoder->step = gpt2_decoder_step;
  decoder->reorder = gpt2_decoder_reorder;
  decoder->step_together = gpt2_decoder_step_together;
  decoder->free = gpt2_decoder_free;
  decoder->self = s;
  return decoder;
}
