/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the Unigram model of SentencePiece checkpoints (T5,
 * ALBERT, XLNet, mBART...).
 *
 * A word is split into the pieces whose scores (log probabilities) add up
 * to the most: a Viterbi pass over the word's chars, with the pieces that
 * start at each char found by walking a trie of the vocabulary. A char no
 * single-char piece covers may be taken alone as unknown, scored the
 * lowest piece score minus 10, as sentencepiece does. Consecutive unknown
 * chars are fused into one token whose string is the text itself; with
 * byte_fallback it becomes the <0xXX> tokens of its UTF-8 bytes when the
 * vocabulary has them all, otherwise the unk_id. Ties keep the first
 * candidate found, in `tokenizers`' order (shorter pieces first).
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

#define UNK_PENALTY 10.0
#define STACK_CHARS 256

typedef struct
{
  SfModel parent;
  SfVocab *vocab;
  gdouble *scores; /* [n_pieces] */
  guint n_pieces;
  gdouble min_score;
  gint32 unk_id; /* -1 when none */
  gboolean byte_fallback;
  gint32 byte_ids[256]; /* ids of <0x00> .. <0xFF>, -1 if absent */
  SfIntMap edges;       /* node << 21 | char → child node */
  GArray *node_ids;     /* gint32 per trie node, -1 for no piece */
} UnigramModel;

typedef struct
{
  gdouble score;
  gint start; /* -1 while unreached */
  gint32 id;
} Best;

static inline gboolean
trie_step (const UnigramModel *self, guint64 node, gunichar c, guint64 *child)
{
  return sf_int_map_get (&self->edges, (node << 21) | c, child);
}

static void
push_token (GArray *out, gint32 id, guint start, guint end, gboolean raw)
{
  SfModelToken t = { id, start, end, raw };

  g_array_append_val (out, t);
}

/* Emits the unknown run @chars[start, end) (absolute indices). */
static void
push_unknown (const UnigramModel *self, const gunichar *chars, guint start,
    guint end, GArray *out)
{
  g_autofree char *run =
      g_ucs4_to_utf8 (chars + start, end - start, NULL, NULL, NULL);
  gint32 id = run ? sf_vocab_lookup (self->vocab, run) : -1;

  /* the run may spell a piece, e.g. the unk piece "<unk>" itself */
  if (id >= 0) {
    push_token (out, id, start, end, FALSE);
    return;
  }
  if (self->byte_fallback) {
    gboolean all = TRUE;

    for (guint i = start; i < end && all; i++) {
      char utf8[6];
      gint n = sf_tok_char_to_utf8 (chars[i], utf8);

      for (gint k = 0; k < n && all; k++)
        all = self->byte_ids[(guchar)utf8[k]] >= 0;
    }
    if (all) {
      for (guint i = start; i < end; i++) {
        char utf8[6];
        gint n = sf_tok_char_to_utf8 (chars[i], utf8);

        /* every byte token covers the whole unknown run */
        for (gint k = 0; k < n; k++)
          push_token (out, self->byte_ids[(guchar)utf8[k]], start, end, FALSE);
      }
      return;
    }
  }
  push_token (out, self->unk_id, start, end, TRUE);
}

static gboolean
unigram_tokenize (const SfModel *base, const SfNormalized *text, guint start,
    guint end, GArray *out, GError **error)
{
  const UnigramModel *self = (const UnigramModel *)base;
  const gunichar *chars = text->chars + start;
  guint n = end - start;
  Best stack_best[STACK_CHARS + 1];
  Best *best;
  gdouble unk_score = self->min_score - UNK_PENALTY;
  guint first, run_end;
  gint pos;

  if (n == 0)
    return TRUE;
  best = n <= STACK_CHARS ? stack_best : g_new (Best, n + 1);
  for (guint i = 0; i <= n; i++) {
    best[i].score = 0;
    best[i].start = -1;
    best[i].id = -1;
  }

  for (guint i = 0; i < n; i++) {
    gdouble base_score = best[i].score;
    gboolean single = FALSE;
    guint64 node = 0;

    for (guint j = i; j < n; j++) {
      guint64 child;
      gint32 id;

      if (!trie_step (self, node, chars[j], &child))
        break;
      node = child;
      id = g_array_index (self->node_ids, gint32, node);
      if (id < 0)
        continue;
      if (best[j + 1].start < 0
          || self->scores[id] + base_score > best[j + 1].score) {
        best[j + 1].score = self->scores[id] + base_score;
        best[j + 1].start = i;
        best[j + 1].id = id;
      }
      if (j == i)
        single = TRUE;
    }
    if (!single) {
      if (self->unk_id < 0) {
        g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
            "tokenizer: Unigram model has no unk_id for the unknown "
            "character U+%04X",
            chars[i]);
        if (best != stack_best)
          g_free (best);
        return FALSE;
      }
      if (best[i + 1].start < 0 || unk_score + base_score > best[i + 1].score) {
        best[i + 1].score = unk_score + base_score;
        best[i + 1].start = i;
        best[i + 1].id = self->unk_id;
      }
    }
  }

  /* walk back from the end, then reverse the tokens of this word */
  first = out->len;
  run_end = 0;
  for (pos = n; pos > 0; pos = best[pos].start) {
    gboolean unknown = best[pos].id == self->unk_id;

    if (unknown) {
      if (run_end == 0)
        run_end = pos;
      continue;
    }
    if (run_end) {
      push_unknown (self, text->chars, start + pos, start + run_end, out);
      run_end = 0;
    }
    push_token (out, best[pos].id, start + best[pos].start, start + pos, FALSE);
  }
  if (run_end)
    push_unknown (self, text->chars, start, start + run_end, out);
  for (guint a = first, b = out->len; a + 1 < b; a++, b--) {
    SfModelToken t = g_array_index (out, SfModelToken, a);

    g_array_index (out, SfModelToken, a) =
        g_array_index (out, SfModelToken, b - 1);
    g_array_index (out, SfModelToken, b - 1) = t;
  }
  if (best != stack_best)
    g_free (best);
  return TRUE;
}

static gint32
unigram_token_to_id (const SfModel *base, const char *token)
{
  return sf_vocab_lookup (((const UnigramModel *)base)->vocab, token);
}

static const char *
unigram_id_to_token (const SfModel *base, gint32 id)
{
  return sf_vocab_token (((const UnigramModel *)base)->vocab, id);
}

static guint
unigram_vocab_size (const SfModel *base)
{
  return ((const UnigramModel *)base)->n_pieces;
}

static void
unigram_free (SfModel *base)
{
  UnigramModel *self = (UnigramModel *)base;

  sf_vocab_free (self->vocab);
  g_free (self->scores);
  sf_int_map_clear (&self->edges);
  g_array_unref (self->node_ids);
  g_free (self);
}

static const SfModelClass unigram_class = {
  "Unigram",
  unigram_tokenize,
  unigram_token_to_id,
  unigram_id_to_token,
  unigram_vocab_size,
  unigram_free,
};

/* Adds @piece to the trie; a repeated piece keeps the later id. */
static void
trie_add (UnigramModel *self, const char *piece, gint32 id)
{
  guint64 node = 0;

  for (const char *p = piece; *p; p = g_utf8_next_char (p)) {
    guint64 key = (node << 21) | g_utf8_get_char (p);
    guint64 child;

    if (!sf_int_map_get (&self->edges, key, &child)) {
      gint32 none = -1;

      child = self->node_ids->len;
      g_array_append_val (self->node_ids, none);
      sf_int_map_set (&self->edges, key, child);
    }
    node = child;
  }
  if (node > 0)
    g_array_index (self->node_ids, gint32, node) = id;
}

SfModel *
sf_model_unigram_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (node, "vocab");
  UnigramModel *self;
  const cJSON *item;
  gint64 unk_id = -1;
  gint32 root = -1;
  guint id = 0;

  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (error, list ? SF_ERROR_INVALID : SF_ERROR_MISSING, ctx,
        "%s.vocab must be an array of [piece, score]", field);
    return NULL;
  }
  self = g_new0 (UnigramModel, 1);
  self->parent.klass = &unigram_class;
  self->vocab = sf_vocab_new ();
  self->node_ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_array_append_val (self->node_ids, root);
  sf_int_map_init (&self->edges);
  if (!sf_tok_json_int (
          node, "unk_id", field, ctx, 0, SF_VOCAB_MAX_ID, &unk_id, error)
      || !sf_tok_json_bool (
          node, "byte_fallback", field, ctx, &self->byte_fallback, error))
    goto fail;

  self->n_pieces = cJSON_GetArraySize (list);
  if (self->n_pieces > SF_VOCAB_MAX_ID) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.vocab has more than %d pieces", field, SF_VOCAB_MAX_ID);
    goto fail;
  }
  self->scores = g_new (gdouble, MAX (self->n_pieces, 1));
  self->min_score = G_MAXDOUBLE;
  cJSON_ArrayForEach (item, list) {
    const cJSON *piece = cJSON_GetArrayItem (item, 0);
    const cJSON *score = cJSON_GetArrayItem (item, 1);

    if (cJSON_GetArraySize (item) != 2 || !cJSON_IsString (piece)
        || !cJSON_IsNumber (score)) {
      sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
          "%s.vocab[%u] must be a [piece, score] pair", field, id);
      goto fail;
    }
    sf_vocab_add (self->vocab, piece->valuestring, id);
    self->scores[id] = score->valuedouble;
    self->min_score = MIN (self->min_score, score->valuedouble);
    id++;
  }
  for (id = 0; id < self->n_pieces; id++) {
    const char *piece = sf_vocab_token (self->vocab, id);

    trie_add (self, piece, sf_vocab_lookup (self->vocab, piece));
  }
  if (unk_id >= 0 && unk_id >= self->n_pieces) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.unk_id %" G_GINT64_FORMAT " is outside the vocabulary of %u "
        "pieces",
        field, unk_id, self->n_pieces);
    goto fail;
  }
  self->unk_id = (gint32)unk_id;
  for (guint b = 0; b < 256; b++) {
    char name[8];

    g_snprintf (name, sizeof (name), "<0x%02X>", b);
    self->byte_ids[b] = sf_vocab_lookup (self->vocab, name);
  }
  return &self->parent;

fail:
  unigram_free (&self->parent);
  return NULL;
}
