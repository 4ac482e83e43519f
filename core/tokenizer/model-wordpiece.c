/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the WordPiece model (BERT's sub-word split).
 *
 * Each word is split greedily, longest match first: the longest prefix of
 * the rest of the word found in the vocabulary becomes the next token, and
 * every piece after the first is looked up with continuing_subword_prefix
 * ("##") in front. A word with a part that matches nothing, or longer than
 * max_input_chars_per_word, becomes a single unk_token for the whole word.
 * Lookups are bounded by the longest vocabulary entry, so the cost per word
 * stays linear in practice.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

#define STACK_BYTES 1024

typedef struct
{
  SfModel parent;
  SfVocab *vocab;
  char *unk_token;
  gint32 unk_id; /* -1 when unk_token is not in the vocab */
  char *prefix;
  gsize prefix_len; /* bytes */
  guint max_input_chars_per_word;
} WordPieceModel;

static gboolean
push_unk (const WordPieceModel *self, guint start, guint end, GArray *out,
    GError **error)
{
  SfModelToken t = { self->unk_id, start, end };

  if (self->unk_id < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "tokenizer: WordPiece unk_token '%s' is not in the vocabulary",
        self->unk_token);
    return FALSE;
  }
  g_array_append_val (out, t);
  return TRUE;
}

static gboolean
wordpiece_tokenize (const SfModel *base, const SfNormalized *text, guint start,
    guint end, GArray *out, GError **error)
{
  const WordPieceModel *self = (const WordPieceModel *)base;
  guint n = end - start;
  guint first = out->len;
  char stack_utf8[STACK_BYTES], stack_key[STACK_BYTES];
  guint stack_offsets[STACK_BYTES / SF_UTF8_MAX_BYTES + 1];
  char *utf8, *key;
  guint *offsets; /* [n + 1] byte offset of each char */
  gboolean bad = FALSE;
  gsize bytes;
  guint pos;

  if (n == 0)
    return TRUE;
  if (n > self->max_input_chars_per_word)
    return push_unk (self, start, end, out, error);

  /* the word as UTF-8, with each char's byte offset */
  /* sf_tok_char_to_utf8 writes at most SF_UTF8_MAX_BYTES per char */
  if ((gsize)n * SF_UTF8_MAX_BYTES + self->prefix_len + 1 <= STACK_BYTES) {
    utf8 = stack_utf8;
    key = stack_key;
    offsets = stack_offsets;
  } else {
    utf8 = g_malloc ((gsize)n * SF_UTF8_MAX_BYTES + 1);
    key = g_malloc ((gsize)n * SF_UTF8_MAX_BYTES + self->prefix_len + 1);
    offsets = g_new (guint, n + 1);
  }
  bytes = 0;
  for (guint i = 0; i < n; i++) {
    offsets[i] = bytes;
    bytes += sf_tok_char_to_utf8 (text->chars[start + i], utf8 + bytes);
  }
  offsets[n] = bytes;
  memcpy (key, self->prefix, self->prefix_len);

  pos = 0;
  while (pos < n) {
    guint stop = MIN (n, pos + self->vocab->max_chars);
    gint32 id = -1;

    for (; stop > pos; stop--) {
      gsize len = offsets[stop] - offsets[pos];
      char *k = pos > 0 ? key : key + self->prefix_len;

      memcpy (key + self->prefix_len, utf8 + offsets[pos], len);
      key[self->prefix_len + len] = '\0';
      id = sf_vocab_lookup (self->vocab, k);
      if (id >= 0)
        break;
    }
    if (id < 0) {
      bad = TRUE;
      break;
    } else {
      SfModelToken t = { id, start + pos, start + stop };

      g_array_append_val (out, t);
      pos = stop;
    }
  }

  if (utf8 != stack_utf8) {
    g_free (utf8);
    g_free (key);
    g_free (offsets);
  }
  if (bad) {
    g_array_set_size (out, first);
    return push_unk (self, start, end, out, error);
  }
  return TRUE;
}

static gint32
wordpiece_token_to_id (const SfModel *base, const char *token)
{
  return sf_vocab_lookup (((const WordPieceModel *)base)->vocab, token);
}

static const char *
wordpiece_id_to_token (const SfModel *base, gint32 id)
{
  return sf_vocab_token (((const WordPieceModel *)base)->vocab, id);
}

static guint
wordpiece_vocab_size (const SfModel *base)
{
  return g_hash_table_size (((const WordPieceModel *)base)->vocab->ids);
}

static void
wordpiece_free (SfModel *base)
{
  WordPieceModel *self = (WordPieceModel *)base;

  sf_vocab_free (self->vocab);
  g_free (self->unk_token);
  g_free (self->prefix);
  g_free (self);
}

static const SfModelClass wordpiece_class = {
  "WordPiece",
  wordpiece_tokenize,
  wordpiece_token_to_id,
  wordpiece_id_to_token,
  wordpiece_vocab_size,
  wordpiece_free,
};

SfModel *
sf_model_wordpiece_new (SfVocab *vocab, const char *unk_token,
    const char *prefix, guint max_input_chars_per_word,
    const SfTokLoadContext *ctx, GError **error)
{
  WordPieceModel *self = g_new0 (WordPieceModel, 1);

  self->parent.klass = &wordpiece_class;
  self->vocab = vocab;
  self->unk_token = g_strdup (unk_token);
  self->unk_id = sf_vocab_lookup (vocab, unk_token);
  self->prefix = g_strdup (prefix);
  self->prefix_len = strlen (prefix);
  self->max_input_chars_per_word = max_input_chars_per_word;
  return &self->parent;
}

SfModel *
sf_model_wordpiece_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *unk = "[UNK]", *prefix = "##";
  gint64 max_chars = 100;
  SfVocab *vocab;

  if (!sf_tok_json_string (node, "unk_token", field, ctx, &unk, error)
      || !sf_tok_json_string (
          node, "continuing_subword_prefix", field, ctx, &prefix, error)
      || !sf_tok_json_int (node, "max_input_chars_per_word", field, ctx, 0,
          G_MAXUINT32, &max_chars, error))
    return NULL;

  if ((vocab = sf_vocab_from_json (node, field, ctx, error)) == NULL)
    return NULL;
  return sf_model_wordpiece_new (vocab, unk, prefix, max_chars, ctx, error);
}
