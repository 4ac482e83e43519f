/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the decoders' self-attention key/value cache
 * (graphs/kv-cache.h). */
#include "graphs/kv-cache.h"
#include "core/error.h"
#include "core/ops/attention.h"

#include <string.h>

#define KV_MIN_POSITIONS 16 /* positions of the first allocation */

struct SfKvCache
{
  char *owner, *limit_name;
  int n_layers;
  guint max_rows;
  gint64 width, limit;
  guint rows;        /* live rows */
  guint slots;       /* rows each buffer holds */
  gint64 capacity;   /* positions each slot holds */
  gint64 length;     /* positions cached, the same for every row */
  gint64 pending;    /* new positions of the step under way */
  SfTensor **k, **v; /* n_layers × [slots, capacity, width] or NULL */
  guint *slot;       /* max_rows: row → slot */
  guint *next_slot;  /* reorder's scratch */
  gboolean *claimed; /* reorder's scratch, per slot */
};

SfKvCache *
sf_kv_cache_new (const char *owner, int n_layers, guint max_rows, gint64 width,
    gint64 limit, const char *limit_name)
{
  SfKvCache *c = g_new0 (SfKvCache, 1);

  c->owner = g_strdup (owner);
  c->limit_name = g_strdup (limit_name);
  c->n_layers = n_layers;
  c->max_rows = MAX (max_rows, 1);
  c->width = width;
  c->limit = limit;
  c->k = g_new0 (SfTensor *, n_layers);
  c->v = g_new0 (SfTensor *, n_layers);
  c->slot = g_new (guint, c->max_rows);
  c->next_slot = g_new (guint, c->max_rows);
  c->claimed = g_new0 (gboolean, c->max_rows);
  for (guint i = 0; i < c->max_rows; i++)
    c->slot[i] = i;
  return c;
}

void
sf_kv_cache_free (SfKvCache *c)
{
  if (c == NULL)
    return;
  for (int l = 0; l < c->n_layers; l++) {
    sf_tensor_unref (c->k[l]);
    sf_tensor_unref (c->v[l]);
  }
  g_free (c->k);
  g_free (c->v);
  g_free (c->slot);
  g_free (c->next_slot);
  g_free (c->claimed);
  g_free (c->owner);
  g_free (c->limit_name);
  g_free (c);
}

gint64
sf_kv_cache_length (const SfKvCache *c)
{
  return c->length;
}

guint
sf_kv_cache_rows (const SfKvCache *c)
{
  return c->rows;
}

/* Reallocates every buffer as [@slots, @capacity, width], keeping the
 * cached positions of every slot. */
static void
regrow (SfKvCache *c, guint slots, gint64 capacity)
{
  gint64 w = c->width;

  for (int l = 0; l < c->n_layers; l++) {
    SfTensor **bufs[2] = { &c->k[l], &c->v[l] };
    for (int i = 0; i < 2; i++) {
      SfTensor *old = *bufs[i];
      SfTensor *grown = sf_tensor_new_f32 (3, (gint64)slots, capacity, w);
      for (guint j = 0; old && j < c->slots; j++)
        memcpy (sf_tensor_f32 (grown) + j * capacity * w,
            sf_tensor_f32 (old) + j * c->capacity * w,
            c->length * w * sizeof (float));
      sf_tensor_unref (old);
      *bufs[i] = grown;
    }
  }
  c->slots = slots;
  c->capacity = capacity;
}

/* Makes room for @slots slots (at least) of @positions positions. */
static void
reserve (SfKvCache *c, guint slots, gint64 positions)
{
  gint64 cap = c->capacity;
  guint n = c->slots;

  if (slots <= n && positions <= cap && c->k[0] != NULL)
    return;
  if (positions > cap) {
    cap = MAX (cap, MIN (KV_MIN_POSITIONS, c->limit));
    while (cap < positions)
      cap *= 2;
    cap = MIN (cap, c->limit);
  }
  if (slots > n)
    n = MIN (MAX (slots, n * 2), c->max_rows);
  regrow (c, MAX (n, 1), MAX (cap, 1));
}

gboolean
sf_kv_cache_begin (SfKvCache *c, guint rows, gint64 t, GError **error)
{
  if (rows == 0 || rows > c->max_rows || t < 1
      || (c->length > 0 && rows != c->rows)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: a step of %" G_GINT64_FORMAT " tokens for %u sequences; it "
        "holds %u (at most %u)",
        c->owner, t, rows, c->rows, c->max_rows);
    return FALSE;
  }
  if (t > c->limit - c->length) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: %" G_GINT64_FORMAT " more tokens after %" G_GINT64_FORMAT
        " exceed the limit of %" G_GINT64_FORMAT " positions (%s)",
        c->owner, t, c->length, c->limit, c->limit_name);
    return FALSE;
  }
  if (c->length == 0) {
    for (guint i = 0; i < rows; i++)
      c->slot[i] = i;
    c->rows = rows;
  }
  if (c->n_layers > 0)
    reserve (c, rows, c->length + t);
  c->pending = t;
  return TRUE;
}

void
sf_kv_cache_append (
    SfKvCache *c, int layer, const SfTensor *k, const SfTensor *v)
{
  gint64 t = c->pending, w = c->width;
  const SfTensor *src[2] = { k, v };
  SfTensor *dst[2] = { c->k[layer], c->v[layer] };

  g_return_if_fail (sf_tensor_numel (k) == (gint64)c->rows * t * w
      && sf_tensor_numel (v) == (gint64)c->rows * t * w);
  for (int i = 0; i < 2; i++)
    for (guint r = 0; r < c->rows; r++)
      memcpy (
          sf_tensor_f32 (dst[i]) + (c->slot[r] * c->capacity + c->length) * w,
          sf_tensor_f32 (src[i]) + r * t * w, t * w * sizeof (float));
}

/* (transfer full) a [1, @n, @width] view of @t's data from float @offset
 * on. */
static SfTensor *
view (const SfTensor *t, gint64 offset, gint64 n, gint64 width)
{
  gsize start = (guint8 *)t->data - (guint8 *)sf_storage_data (t->storage);

  return sf_tensor_new_view (t->storage, start + (gsize)offset * sizeof (float),
      SF_DTYPE_F32, 3, (gint64[]){ 1, n, width });
}

/* (transfer full) a [1, n, width] view of slot @s of @buf. */
static SfTensor *
slot_view (const SfKvCache *c, SfTensor *buf, guint s, gint64 n)
{
  return view (buf, s * c->capacity * c->width, n, c->width);
}

void
sf_kv_cache_row (
    const SfKvCache *c, int layer, guint r, SfTensor **keys, SfTensor **values)
{
  gint64 n = c->length + c->pending;

  *keys = slot_view (c, c->k[layer], c->slot[r], n);
  *values = slot_view (c, c->v[layer], c->slot[r], n);
}

void
sf_kv_cache_attend (const SfKvCache *c, int layer, const SfTensor *q,
    SfTensor *ctx, int n_heads, const SfTensor *bias, float scale)
{
  gint64 t = c->pending, w = c->width;

  g_return_if_fail (sf_tensor_numel (q) == (gint64)c->rows * t * w
      && sf_tensor_numel (ctx) == (gint64)c->rows * t * w);
  for (guint r = 0; r < c->rows; r++) {
    g_autoptr (SfTensor) qr = view (q, r * t * w, t, w);
    g_autoptr (SfTensor) cr = view (ctx, r * t * w, t, w);
    g_autoptr (SfTensor) keys = NULL, values = NULL;
    sf_kv_cache_row (c, layer, r, &keys, &values);
    sf_op_attention_biased (
        cr, qr, keys, values, n_heads, NULL, TRUE, bias, scale);
  }
}

void
sf_kv_cache_commit (SfKvCache *c)
{
  c->length += c->pending;
  c->pending = 0;
}

gboolean
sf_kv_cache_reorder (SfKvCache *c, const guint *src, guint n, GError **error)
{
  guint next_free = 0, live = MAX (c->rows, 1);
  gint64 w = c->width;

  if (n == 0 || n > c->max_rows) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: reorder to %u sequences (1 to %u)", c->owner, n, c->max_rows);
    return FALSE;
  }
  for (guint i = 0; i < n; i++) {
    if (src[i] >= live) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: reorder names sequence %u of %u", c->owner, src[i], live);
      return FALSE;
    }
  }
  if (c->length == 0) {
    /* nothing cached: only the row count changes */
    c->rows = n;
    return TRUE;
  }
  if (c->n_layers > 0)
    reserve (c, n, c->length);

  /* the first row continuing a sequence takes over its slot */
  memset (c->claimed, 0, c->max_rows * sizeof (gboolean));
  for (guint i = 0; i < n; i++) {
    guint from = c->slot[src[i]];
    c->next_slot[i] = G_MAXUINT;
    if (!c->claimed[from]) {
      c->claimed[from] = TRUE;
      c->next_slot[i] = from;
    }
  }
  /* the others copy it into a slot no row keeps; claimed slots are only
   * read here, so the order of the copies does not matter */
  for (guint i = 0; i < n; i++) {
    guint from = c->slot[src[i]];
    if (c->next_slot[i] != G_MAXUINT)
      continue;
    while (c->claimed[next_free])
      next_free++;
    c->claimed[next_free] = TRUE;
    c->next_slot[i] = next_free;
    for (int l = 0; l < c->n_layers; l++) {
      SfTensor *bufs[2] = { c->k[l], c->v[l] };
      for (int b = 0; b < 2; b++)
        memcpy (sf_tensor_f32 (bufs[b]) + next_free * c->capacity * w,
            sf_tensor_f32 (bufs[b]) + from * c->capacity * w,
            c->length * w * sizeof (float));
    }
  }
  memcpy (c->slot, c->next_slot, n * sizeof (guint));
  c->rows = n;
  return TRUE;
}
