/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the BPE model (GPT-2, RoBERTa, Whisper, CLIP, and
 * the SentencePiece-style BPE of Llama-like checkpoints).
 *
 * A word starts as one symbol per char (with continuing_subword_prefix on
 * all but the first and end_of_word_suffix on the last); chars missing
 * from the vocabulary become byte tokens <0xXX> (byte_fallback) or the
 * unk_token (fused into one when fuse_unk), or vanish when there is no
 * unk_token. Then the pair of neighbours with the lowest merge rank is
 * merged, again and again. The symbols form a linked list and the
 * candidate pairs sit in a binary heap ordered by (rank, position), with
 * stale entries skipped when popped, so a word of n chars costs
 * O(n log n). Merges are found by (left id, right id) in a hash table.
 * Results are cached per word (the byte tokens of one char all cover
 * that char); dropout only matters for training and is ignored.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

/* Words are cached up to this many entries and this many bytes. */
#define CACHE_CAPACITY 65536
#define CACHE_MAX_BYTES 256
#define STACK_CHARS 128
/* Longest continuing_subword_prefix / end_of_word_suffix accepted (real
 * ones are a few bytes: "##", "</w>"). */
#define BPE_MAX_AFFIX 256

typedef struct
{
  guint n;
  guint32 data[]; /* [3n] id, start, end (chars in the word) */
} CachedWord;

typedef struct
{
  SfModel parent;
  SfVocab *vocab;
  SfIntMap merges; /* left << 32 | right → rank << 32 | new id */
  char *unk_token; /* nullable */
  char *prefix;    /* nullable */
  char *suffix;    /* nullable */
  gboolean fuse_unk;
  gboolean byte_fallback;
  gboolean ignore_merges;
  gint32 byte_ids[256]; /* ids of <0x00> .. <0xFF>, -1 if absent */

  GRWLock cache_lock;
  GHashTable *cache; /* word UTF-8 → CachedWord, never removed */
} BpeModel;

typedef struct
{
  gint32 id;
  guint start; /* char index in the word */
  guint end;   /* exclusive, start == end once merged away */
  gint prev;
  gint next;
} Symbol;

typedef struct
{
  guint32 rank;
  guint32 pos;
  gint32 new_id;
} Merge;

/* ---- a binary min-heap of merges by (rank, pos) ---- */

static inline gboolean
merge_before (const Merge *a, const Merge *b)
{
  return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void
heap_push (GArray *heap, Merge m)
{
  guint i = heap->len;

  g_array_set_size (heap, heap->len + 1);
  while (i > 0) {
    guint parent = (i - 1) / 2;
    Merge *p = &g_array_index (heap, Merge, parent);

    if (!merge_before (&m, p))
      break;
    g_array_index (heap, Merge, i) = *p;
    i = parent;
  }
  g_array_index (heap, Merge, i) = m;
}

static Merge
heap_pop (GArray *heap)
{
  Merge top = g_array_index (heap, Merge, 0);
  Merge last = g_array_index (heap, Merge, heap->len - 1);
  guint n = heap->len - 1, i = 0;

  g_array_set_size (heap, n);
  if (n == 0)
    return top;
  for (;;) {
    guint c = 2 * i + 1;

    if (c >= n)
      break;
    if (c + 1 < n
        && merge_before (&g_array_index (heap, Merge, c + 1),
            &g_array_index (heap, Merge, c)))
      c++;
    if (!merge_before (&g_array_index (heap, Merge, c), &last))
      break;
    g_array_index (heap, Merge, i) = g_array_index (heap, Merge, c);
    i = c;
  }
  g_array_index (heap, Merge, i) = last;
  return top;
}

static inline gboolean
find_merge (const BpeModel *self, gint32 left, gint32 right, Merge *m)
{
  guint64 v;

  if (!sf_int_map_get (
          &self->merges, ((guint64)left << 32) | (guint32)right, &v))
    return FALSE;
  m->rank = (guint32)(v >> 32);
  m->new_id = (gint32)(v & 0xffffffff);
  return TRUE;
}

static void
push_pair (const BpeModel *self, GArray *heap, const Symbol *sym, gint pos)
{
  Merge m;

  if (pos < 0 || sym[pos].next < 0)
    return;
  if (find_merge (self, sym[pos].id, sym[sym[pos].next].id, &m)) {
    m.pos = pos;
    heap_push (heap, m);
  }
}

static void
merge_all (const BpeModel *self, Symbol *sym, guint n)
{
  g_autoptr (GArray) heap =
      g_array_sized_new (FALSE, FALSE, sizeof (Merge), n + 8);

  for (guint i = 0; i + 1 < n; i++)
    push_pair (self, heap, sym, i);
  while (heap->len > 0) {
    Merge top = heap_pop (heap);
    Symbol *s = &sym[top.pos];
    Merge now;
    Symbol *right;

    /* skip entries whose symbols changed since they were pushed */
    if (s->end == s->start || s->next < 0)
      continue;
    right = &sym[s->next];
    if (!find_merge (self, s->id, right->id, &now) || now.new_id != top.new_id)
      continue;

    s->id = top.new_id;
    s->end = right->end;
    s->next = right->next;
    right->end = right->start;
    if (s->next >= 0)
      sym[s->next].prev = top.pos;
    push_pair (self, heap, sym, s->prev);
    push_pair (self, heap, sym, top.pos);
  }
}

/* The vocabulary id of one char with its prefix/suffix, -1 if absent. */
static gint32
lookup_char (
    const BpeModel *self, gunichar c, gboolean first, gboolean last, char *key)
{
  gsize len = 0;

  if (!first && self->prefix) {
    strcpy (key, self->prefix);
    len = strlen (self->prefix);
  }
  len += sf_tok_char_to_utf8 (c, key + len);
  key[len] = '\0';
  if (last && self->suffix)
    strcpy (key + len, self->suffix);
  return sf_vocab_lookup (self->vocab, key);
}

static inline void
push_symbol (Symbol *sym, guint *n, gint32 id, guint start, guint end)
{
  sym[*n].id = id;
  sym[*n].start = start;
  sym[*n].end = end;
  sym[*n].prev = (gint)*n - 1;
  sym[*n].next = (gint)*n + 1;
  (*n)++;
}

/* Splits @chars[0, n) into symbols (at most 4 + prefix/suffix bytes per
 * char); returns their number, -1 with @error when the unk_token is not in
 * the vocabulary. */
static gint
word_symbols (const BpeModel *self, const gunichar *chars, guint n, Symbol *sym,
    char *key, GError **error)
{
  guint count = 0;
  gint32 unk_id = -1;
  guint unk_start = 0, unk_end = 0;
  gboolean pending = FALSE;

  for (guint i = 0; i < n; i++) {
    gboolean first = i == 0, last = i + 1 == n;
    gint32 id = lookup_char (self, chars[i], first, last, key);

    if (id >= 0) {
      if (pending)
        push_symbol (sym, &count, unk_id, unk_start, unk_end);
      pending = FALSE;
      push_symbol (sym, &count, id, i, i + 1);
      continue;
    }
    if (self->byte_fallback) {
      gboolean all = TRUE;

      /* key holds the char with its prefix and suffix */
      for (const guchar *p = (const guchar *)key; *p && all; p++)
        all = self->byte_ids[*p] >= 0;
      if (all) {
        for (const guchar *p = (const guchar *)key; *p; p++)
          push_symbol (sym, &count, self->byte_ids[*p], i, i + 1);
        continue;
      }
    }
    if (self->unk_token == NULL)
      continue;
    if (unk_id < 0
        && (unk_id = sf_vocab_lookup (self->vocab, self->unk_token)) < 0) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "tokenizer: BPE unk_token '%s' is not in the vocabulary",
          self->unk_token);
      return -1;
    }
    if (pending && self->fuse_unk) {
      unk_end = i + 1;
      continue;
    }
    if (pending)
      push_symbol (sym, &count, unk_id, unk_start, unk_end);
    pending = TRUE;
    unk_start = i;
    unk_end = i + 1;
  }
  if (pending)
    push_symbol (sym, &count, unk_id, unk_start, unk_end);
  if (count > 0)
    sym[count - 1].next = -1;
  return count;
}

static const CachedWord *
cache_lookup (BpeModel *self, const char *word)
{
  const CachedWord *hit;

  g_rw_lock_reader_lock (&self->cache_lock);
  hit = g_hash_table_lookup (self->cache, word);
  g_rw_lock_reader_unlock (&self->cache_lock);
  return hit;
}

static void
cache_insert (BpeModel *self, const char *word, const Symbol *sym, guint n)
{
  CachedWord *entry;
  guint k = 0;

  entry = g_malloc (sizeof (CachedWord) + 3 * sizeof (guint32) * n);
  for (guint i = 0; i < n; i++) {
    if (sym[i].end == sym[i].start)
      continue;
    entry->data[3 * k] = (guint32)sym[i].id;
    entry->data[3 * k + 1] = sym[i].start;
    entry->data[3 * k + 2] = sym[i].end;
    k++;
  }
  entry->n = k;
  g_rw_lock_writer_lock (&self->cache_lock);
  if (g_hash_table_size (self->cache) < CACHE_CAPACITY
      && !g_hash_table_contains (self->cache, word)) {
    g_hash_table_insert (self->cache, g_strdup (word), entry);
    entry = NULL;
  }
  g_rw_lock_writer_unlock (&self->cache_lock);
  g_free (entry);
}

static gboolean
bpe_tokenize (const SfModel *base, const SfNormalized *text, guint start,
    guint end, GArray *out, GError **error)
{
  BpeModel *self = (BpeModel *)base;
  guint n = end - start;
  const gunichar *chars = text->chars + start;
  char stack_word[STACK_CHARS * SF_UTF8_MAX_BYTES + 1];
  Symbol stack_sym[STACK_CHARS];
  char *word, *key;
  Symbol *sym;
  gsize bytes = 0, affix, need;
  const CachedWord *hit;
  gint count;
  gboolean ok = TRUE;

  if (n == 0)
    return TRUE;
  word = n <= STACK_CHARS ? stack_word
                          : g_malloc ((gsize)n * SF_UTF8_MAX_BYTES + 1);
  for (guint i = 0; i < n; i++)
    bytes += sf_tok_char_to_utf8 (chars[i], word + bytes);
  word[bytes] = '\0';

  if (self->ignore_merges) {
    gint32 id = sf_vocab_lookup (self->vocab, word);

    if (id >= 0) {
      SfModelToken t = { id, start, end, FALSE };

      g_array_append_val (out, t);
      goto done;
    }
  }
  if ((hit = cache_lookup (self, word)) != NULL) {
    for (guint i = 0; i < hit->n; i++) {
      SfModelToken t = { (gint32)hit->data[3 * i], start + hit->data[3 * i + 1],
        start + hit->data[3 * i + 2], FALSE };

      g_array_append_val (out, t);
    }
    goto done;
  }

  affix = (self->prefix ? strlen (self->prefix) : 0)
      + (self->suffix ? strlen (self->suffix) : 0);
  /* a char may become up to 4 + affix byte symbols; the word's length
   * comes from the input, so a failed allocation is an error */
  need = (gsize)n * (SF_UTF8_MAX_BYTES + affix);
  sym =
      need <= STACK_CHARS ? stack_sym : g_try_malloc_n (need, sizeof (Symbol));
  if (sym == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "tokenizer: a word of %u chars is too long for BPE", n);
    ok = FALSE;
    goto done;
  }
  key = g_alloca (affix + SF_UTF8_MAX_BYTES + 1);
  count = word_symbols (self, chars, n, sym, key, error);
  if (count < 0) {
    ok = FALSE;
  } else {
    merge_all (self, sym, count);
    for (gint i = 0; i < count; i++) {
      SfModelToken t = { sym[i].id, start + sym[i].start, start + sym[i].end,
        FALSE };

      if (sym[i].end == sym[i].start)
        continue;
      g_array_append_val (out, t);
    }
    if (bytes < CACHE_MAX_BYTES)
      cache_insert (self, word, sym, count);
  }
  if (sym != stack_sym)
    g_free (sym);

done:
  if (word != stack_word)
    g_free (word);
  return ok;
}

static gint32
bpe_token_to_id (const SfModel *base, const char *token)
{
  return sf_vocab_lookup (((const BpeModel *)base)->vocab, token);
}

static const char *
bpe_id_to_token (const SfModel *base, gint32 id)
{
  return sf_vocab_token (((const BpeModel *)base)->vocab, id);
}

static guint
bpe_vocab_size (const SfModel *base)
{
  return g_hash_table_size (((const BpeModel *)base)->vocab->ids);
}

static void
bpe_free (SfModel *base)
{
  BpeModel *self = (BpeModel *)base;

  sf_vocab_free (self->vocab);
  sf_int_map_clear (&self->merges);
  g_free (self->unk_token);
  g_free (self->prefix);
  g_free (self->suffix);
  g_hash_table_unref (self->cache);
  g_rw_lock_clear (&self->cache_lock);
  g_free (self);
}

static const SfModelClass bpe_class = {
  "BPE",
  bpe_tokenize,
  bpe_token_to_id,
  bpe_id_to_token,
  bpe_vocab_size,
  bpe_free,
};

/* One merge: "a b" (older files) or ["a", "b"]. */
static gboolean
read_merge (BpeModel *self, const cJSON *item, guint rank, const char *field,
    const SfTokLoadContext *ctx, GString *merged, GError **error)
{
  g_auto (GStrv) parts = NULL;
  const char *a = NULL, *b = NULL;
  gsize prefix_len = self->prefix ? strlen (self->prefix) : 0;
  gint32 ia, ib, id;

  if (cJSON_IsString (item)) {
    parts = g_strsplit (item->valuestring, " ", -1);
    if (g_strv_length (parts) == 2) {
      a = parts[0];
      b = parts[1];
    }
  } else if (cJSON_GetArraySize (item) == 2
      && cJSON_IsString (cJSON_GetArrayItem (item, 0))
      && cJSON_IsString (cJSON_GetArrayItem (item, 1))) {
    a = cJSON_GetArrayItem (item, 0)->valuestring;
    b = cJSON_GetArrayItem (item, 1)->valuestring;
  }
  if (a == NULL) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.merges[%u] must be \"a b\" or [\"a\", \"b\"]", field, rank);
    return FALSE;
  }
  ia = sf_vocab_lookup (self->vocab, a);
  ib = sf_vocab_lookup (self->vocab, b);
  if (ia < 0 || ib < 0 || strlen (b) < prefix_len) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.merges[%u]: '%s' is not in the vocabulary", field, rank,
        ia < 0 ? a : b);
    return FALSE;
  }
  /* the merged token drops the right part's continuing prefix */
  g_string_assign (merged, a);
  g_string_append (merged, b + prefix_len);
  if ((id = sf_vocab_lookup (self->vocab, merged->str)) < 0) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.merges[%u]: the merged token '%s' is not in the vocabulary", field,
        rank, merged->str);
    return FALSE;
  }
  sf_int_map_set (&self->merges, ((guint64)ia << 32) | (guint32)ib,
      ((guint64)rank << 32) | (guint32)id);
  return TRUE;
}

SfModel *
sf_model_bpe_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *unk = NULL, *prefix = NULL, *suffix = NULL;
  const cJSON *merges = cJSON_GetObjectItemCaseSensitive (node, "merges");
  const cJSON *dropout = cJSON_GetObjectItemCaseSensitive (node, "dropout");
  GString *merged = g_string_new (NULL);
  BpeModel *self;
  const cJSON *item;
  guint rank = 0;

  self = g_new0 (BpeModel, 1);
  self->parent.klass = &bpe_class;
  sf_int_map_init (&self->merges);
  g_rw_lock_init (&self->cache_lock);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!sf_tok_json_string (node, "unk_token", field, ctx, &unk, error)
      || !sf_tok_json_string (
          node, "continuing_subword_prefix", field, ctx, &prefix, error)
      || !sf_tok_json_string (
          node, "end_of_word_suffix", field, ctx, &suffix, error)
      || !sf_tok_json_bool (
          node, "fuse_unk", field, ctx, &self->fuse_unk, error)
      || !sf_tok_json_bool (
          node, "byte_fallback", field, ctx, &self->byte_fallback, error)
      || !sf_tok_json_bool (
          node, "ignore_merges", field, ctx, &self->ignore_merges, error))
    goto fail;
  if (dropout && !cJSON_IsNull (dropout)
      && (!cJSON_IsNumber (dropout) || dropout->valuedouble < 0
          || dropout->valuedouble > 1)) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.dropout must be null or a number in [0, 1]", field);
    goto fail;
  }
  /* each lookup key holds a char with both affixes, on the stack */
  if ((prefix && strlen (prefix) > BPE_MAX_AFFIX)
      || (suffix && strlen (suffix) > BPE_MAX_AFFIX)) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.%s is longer than %d bytes", field,
        prefix && strlen (prefix) > BPE_MAX_AFFIX ? "continuing_subword_prefix"
                                                  : "end_of_word_suffix",
        BPE_MAX_AFFIX);
    goto fail;
  }
  self->unk_token = g_strdup (unk);
  self->prefix = prefix && *prefix ? g_strdup (prefix) : NULL;
  self->suffix = suffix && *suffix ? g_strdup (suffix) : NULL;
  if ((self->vocab = sf_vocab_from_json (node, field, ctx, error)) == NULL)
    goto fail;
  for (guint b = 0; b < 256; b++) {
    char name[8];

    g_snprintf (name, sizeof (name), "<0x%02X>", b);
    self->byte_ids[b] = sf_vocab_lookup (self->vocab, name);
  }

  if (merges != NULL && !cJSON_IsNull (merges) && !cJSON_IsArray (merges)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.merges must be an array", field);
    goto fail;
  }
  cJSON_ArrayForEach (item, merges) {
    if (!read_merge (self, item, rank++, field, ctx, merged, error))
      goto fail;
  }
  g_string_free (merged, TRUE);
  return &self->parent;

fail:
  g_string_free (merged, TRUE);
  if (self->vocab == NULL)
    self->vocab = sf_vocab_new ();
  bpe_free (&self->parent);
  return NULL;
}
