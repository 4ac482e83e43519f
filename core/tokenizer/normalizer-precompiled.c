/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the Precompiled normalizer, SentencePiece's compiled
 * character map (T5, XLM-R, ALBERT, mBART tokenizers).
 *
 * The charsmap is base64 of: a little-endian u32 trie size in bytes, the
 * double-array trie (darts-clone units, u32 each) over UTF-8 keys, then a
 * pool of NUL-terminated replacement strings the trie's values point
 * into. Everything is checked at load: the trie is walked once from its
 * root, and every value it can reach must start a string of the pool.
 * The walk skips a base it has seen, as darts-clone shares subtrees.
 *
 * Normalising follows `tokenizers`: each grapheme cluster under 6 bytes
 * is looked up whole, and replaced by the value of the shortest key that
 * prefixes it (the rest of the cluster goes with it); otherwise each char
 * is looked up alone. The (char, change) edits and their alignment are
 * those of its NormalizedString::transform, quirks included: chars
 * removed before any output shift the ranges of what follows.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

#include <string.h>

typedef struct
{
  SfNormalizer parent;
  guint32 *units; /* [n_units] darts-clone units */
  guint n_units;
  char *pool; /* [pool_len] replacement strings, each NUL-terminated */
  gsize pool_len;
  char *where; /* "FILE: FIELD (Precompiled)" for errors */
} PrecompiledNormalizer;

/* One output char: @change 0 replaces one char, > 0 inserts one, < 0
 * replaces one and removes -@change more (NormalizedString's scheme). */
typedef struct
{
  gunichar c;
  gint change;
} Edit;

/* The most bytes a cluster may have to be looked up whole. */
#define WHOLE_CLUSTER_BYTES 6

static inline guint32
unit_offset (guint32 unit)
{
  return (unit >> 10) << ((unit & (1u << 9)) >> 6);
}

static inline guint32
unit_label (guint32 unit)
{
  return unit & ((1u << 31) | 0xff);
}

static inline gboolean
unit_has_leaf (guint32 unit)
{
  return (unit >> 8) & 1;
}

static inline guint32
unit_value (guint32 unit)
{
  return unit & ((1u << 31) - 1);
}

/* The pool offset of the shortest key that prefixes @key[0, n), or -1. */
static gint64
lookup (const PrecompiledNormalizer *self, const guint8 *key, guint n)
{
  guint32 pos = unit_offset (self->units[0]);

  for (guint i = 0; i < n && key[i] != 0; i++) {
    guint32 unit;

    pos ^= key[i];
    if (pos >= self->n_units)
      return -1;
    unit = self->units[pos];
    if (unit_label (unit) != key[i])
      return -1;
    pos ^= unit_offset (unit);
    if (unit_has_leaf (unit))
      return pos < self->n_units ? unit_value (self->units[pos]) : -1;
  }
  return -1;
}

/* Appends @text's replacement of @old_count chars by the pool string at
 * @offset, as `tokenizers` records it. */
static gboolean
push_replacement (const PrecompiledNormalizer *self, const SfNormalized *text,
    GArray *edits, guint old_count, gint64 offset, GError **error)
{
  const char *p = self->pool + offset;
  glong new_count = g_utf8_strlen (p, -1);
  glong diff = new_count - (glong)old_count;

  if (!sf_normalized_check_len (
          text, (gsize)edits->len + new_count, self->where, error))
    return FALSE;
  for (; *p; p = g_utf8_next_char (p)) {
    Edit e = { g_utf8_get_char (p), 0 };

    g_array_append_val (edits, e);
  }
  if (diff > 0) {
    for (glong k = 0; k < diff; k++)
      g_array_index (edits, Edit, edits->len - 1 - k).change = 1;
  } else if (diff < 0 && edits->len > 0) {
    g_array_index (edits, Edit, edits->len - 1).change += diff;
  }
  return TRUE;
}

/* Rewrites @text by @edits into @scratch, walking the original chars as
 * NormalizedString::transform does. */
static void
apply_edits (SfNormalized *text, SfNormalized *scratch, const GArray *edits)
{
  guint cursor = 0;

  scratch->len = 0;
  sf_normalized_reserve (scratch, edits->len + 16);
  for (guint i = 0; i < edits->len; i++) {
    const Edit *e = &g_array_index (edits, Edit, i);
    guint32 a, b;

    if (e->change > 0) {
      /* an inserted char shares the range of the one before it */
      a = cursor ? text->align[2 * (cursor - 1)] : text->align[0];
      b = cursor ? text->align[2 * (cursor - 1) + 1] : text->align[0];
    } else {
      guint at = MIN (cursor, text->len - 1);

      a = text->align[2 * at];
      b = text->align[2 * at + 1];
      cursor += 1 + (guint)(-e->change);
    }
    sf_normalized_push (scratch, e->c, a, b);
  }
  sf_normalized_swap (text, scratch);
}

static gboolean
precompiled_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const PrecompiledNormalizer *self = (const PrecompiledNormalizer *)base;
  g_autoptr (GArray) edits = NULL;
  gboolean modified = FALSE;
  guint end;

  if (text->len == 0)
    return TRUE;
  edits = g_array_sized_new (FALSE, FALSE, sizeof (Edit), text->len + 16);
  for (guint start = 0; start < text->len; start = end) {
    guint8 key[WHOLE_CLUSTER_BYTES + SF_UTF8_MAX_BYTES];
    guint n = 0;

    end = sf_tok_grapheme_end (text->chars, start, text->len);
    for (guint k = start; k < end && n < WHOLE_CLUSTER_BYTES; k++)
      n += sf_tok_char_to_utf8 (text->chars[k], (char *)key + n);
    if (n < WHOLE_CLUSTER_BYTES) {
      gint64 offset = lookup (self, key, n);

      if (offset >= 0) {
        if (!push_replacement (self, text, edits, end - start, offset, error))
          return FALSE;
        modified = TRUE;
        continue;
      }
    }
    for (guint k = start; k < end; k++) {
      gint64 offset;

      n = sf_tok_char_to_utf8 (text->chars[k], (char *)key);
      offset = lookup (self, key, n);
      if (offset >= 0) {
        if (!push_replacement (self, text, edits, 1, offset, error))
          return FALSE;
        modified = TRUE;
      } else {
        Edit e = { text->chars[k], 0 };

        g_array_append_val (edits, e);
      }
    }
  }
  if (modified)
    apply_edits (text, scratch, edits);
  return TRUE;
}

static void
precompiled_free (SfNormalizer *base)
{
  PrecompiledNormalizer *self = (PrecompiledNormalizer *)base;

  g_free (self->units);
  g_free (self->pool);
  g_free (self->where);
  g_free (self);
}

static const SfNormalizerClass precompiled_class = { "Precompiled",
  precompiled_normalize, precompiled_free };

/* ---- loading ---- */

/* Standard base64 with its padding, as `tokenizers` requires. */
static gboolean
is_base64 (const char *s, gsize len)
{
  gsize pad = 0;

  if (len % 4 != 0)
    return FALSE;
  while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
    pad++;
  for (gsize i = 0; i < len - pad; i++)
    if (!g_ascii_isalnum (s[i]) && s[i] != '+' && s[i] != '/')
      return FALSE;
  return TRUE;
}

/* Every NUL-separated string of the pool is UTF-8; the pool ends with a
 * NUL. */
static gboolean
check_pool (const char *pool, gsize len, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  gsize start = 0;

  if (len == 0 || pool[len - 1] != '\0') {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.precompiled_charsmap: its %" G_GSIZE_FORMAT " bytes of "
        "normalized strings do not end with a NUL",
        field, len);
    return FALSE;
  }
  for (gsize i = 0; i < len; i++) {
    if (pool[i] != '\0')
      continue;
    if (i > start && !g_utf8_validate_len (pool + start, i - start, NULL)) {
      sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
          "%s.precompiled_charsmap: the normalized string at byte "
          "%" G_GSIZE_FORMAT " is not valid UTF-8",
          field, start);
      return FALSE;
    }
    start = i + 1;
  }
  return TRUE;
}

/* Marks @base seen and queues it, unless it was seen or no child of it
 * can be in range; each base is queued once, so @stack stays within
 * @n_bases entries. */
static void
queue_base (GArray *stack, guint8 *seen, gsize n_bases, guint32 base)
{
  if (base >= n_bases || (seen[base / 8] & (1u << (base % 8))))
    return;
  seen[base / 8] |= 1u << (base % 8);
  g_array_append_val (stack, base);
}

/* Walks every node the trie can reach from its root; each value must
 * point at the start of a char of the pool. */
static gboolean
check_trie (const PrecompiledNormalizer *self, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  /* no child of a base past this is in range */
  gsize n_bases = (gsize)self->n_units + 256;
  g_autofree guint8 *seen = g_new0 (guint8, n_bases / 8 + 1);
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint32));

  queue_base (stack, seen, n_bases, unit_offset (self->units[0]));
  while (stack->len > 0) {
    guint32 base = g_array_index (stack, guint32, stack->len - 1);

    g_array_set_size (stack, stack->len - 1);
    for (guint c = 1; c < 256; c++) {
      guint32 pos = base ^ c, unit, child;

      if (pos >= self->n_units || unit_label (self->units[pos]) != c)
        continue;
      unit = self->units[pos];
      child = pos ^ unit_offset (unit);
      if (unit_has_leaf (unit)) {
        guint32 value;

        if (child >= self->n_units) {
          sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
              "%s.precompiled_charsmap: trie unit %u points past the "
              "trie's %u units",
              field, pos, self->n_units);
          return FALSE;
        }
        value = unit_value (self->units[child]);
        if (value >= self->pool_len || (self->pool[value] & 0xc0) == 0x80) {
          sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
              "%s.precompiled_charsmap: trie value %u is not the start of "
              "a normalized string (%" G_GSIZE_FORMAT " bytes)",
              field, value, self->pool_len);
          return FALSE;
        }
      }
      queue_base (stack, seen, n_bases, child);
    }
  }
  return TRUE;
}

/* Splits the decoded charsmap @blob into @self's trie and pool. */
static gboolean
parse_charsmap (PrecompiledNormalizer *self, const guint8 *blob, gsize len,
    const char *field, const SfTokLoadContext *ctx, GError **error)
{
  guint32 trie_size;

  if (len < 4) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.precompiled_charsmap: %" G_GSIZE_FORMAT " bytes is too short "
        "for its trie size",
        field, len);
    return FALSE;
  }
  trie_size = (guint32)blob[0] | (guint32)blob[1] << 8 | (guint32)blob[2] << 16
      | (guint32)blob[3] << 24;
  if (trie_size == 0 || trie_size % 4 != 0 || trie_size > len - 4) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.precompiled_charsmap: a trie of %u bytes does not fit its "
        "%" G_GSIZE_FORMAT " bytes in whole 4-byte units",
        field, trie_size, len - 4);
    return FALSE;
  }
  self->n_units = trie_size / 4;
  self->units = g_new (guint32, self->n_units);
  for (guint i = 0; i < self->n_units; i++) {
    const guint8 *u = blob + 4 + 4 * (gsize)i;

    self->units[i] = (guint32)u[0] | (guint32)u[1] << 8 | (guint32)u[2] << 16
        | (guint32)u[3] << 24;
  }
  self->pool_len = len - 4 - trie_size;
  self->pool = g_memdup2 (blob + 4 + trie_size, self->pool_len);
  return check_pool (self->pool, self->pool_len, field, ctx, error)
      && check_trie (self, field, ctx, error);
}

SfNormalizer *
sf_normalizer_precompiled_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  PrecompiledNormalizer *self;
  const char *text = NULL;
  g_autofree guint8 *blob = NULL;
  gsize len = 0;

  if (!sf_tok_json_string (
          node, "precompiled_charsmap", field, ctx, &text, error))
    return NULL;
  if (text == NULL) {
    sf_tok_set_error (error, SF_ERROR_MISSING, ctx,
        "%s.precompiled_charsmap is missing", field);
    return NULL;
  }
  if (!is_base64 (text, strlen (text))) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.precompiled_charsmap is not base64", field);
    return NULL;
  }
  blob = *text ? g_base64_decode (text, &len) : NULL;

  self = g_new0 (PrecompiledNormalizer, 1);
  self->parent.klass = &precompiled_class;
  self->where = g_strdup_printf (
      "%s: %s (Precompiled)", ctx ? ctx->file : "tokenizer", field);
  if (!parse_charsmap (self, blob, len, field, ctx, error)) {
    precompiled_free (&self->parent);
    return NULL;
  }
  return &self->parent;
}
