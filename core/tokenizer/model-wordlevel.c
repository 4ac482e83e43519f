/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the WordLevel model, one token per word: the word's
 * own id, or unk_token's when the vocabulary does not have it.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

#define STACK_CHARS 128

typedef struct
{
  SfModel parent;
  SfVocab *vocab;
  char *unk_token;
} WordLevelModel;

static gboolean
wordlevel_tokenize (const SfModel *base, const SfNormalized *text, guint start,
    guint end, GArray *out, GError **error)
{
  const WordLevelModel *self = (const WordLevelModel *)base;
  char stack[STACK_CHARS * SF_UTF8_MAX_BYTES + 1];
  char *word;
  gsize bytes = 0;
  SfModelToken t = { -1, start, end, FALSE };

  if (end <= start)
    return TRUE;
  word = end - start <= STACK_CHARS
      ? stack
      : g_malloc ((gsize)(end - start) * SF_UTF8_MAX_BYTES + 1);
  for (guint i = start; i < end; i++)
    bytes += sf_tok_char_to_utf8 (text->chars[i], word + bytes);
  word[bytes] = '\0';
  t.id = sf_vocab_lookup (self->vocab, word);
  if (word != stack)
    g_free (word);
  if (t.id < 0)
    t.id = sf_vocab_lookup (self->vocab, self->unk_token);
  if (t.id < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "tokenizer: WordLevel unk_token '%s' is not in the vocabulary",
        self->unk_token);
    return FALSE;
  }
  g_array_append_val (out, t);
  return TRUE;
}

static gint32
wordlevel_token_to_id (const SfModel *base, const char *token)
{
  return sf_vocab_lookup (((const WordLevelModel *)base)->vocab, token);
}

static const char *
wordlevel_id_to_token (const SfModel *base, gint32 id)
{
  return sf_vocab_token (((const WordLevelModel *)base)->vocab, id);
}

static guint
wordlevel_vocab_size (const SfModel *base)
{
  return g_hash_table_size (((const WordLevelModel *)base)->vocab->ids);
}

static void
wordlevel_free (SfModel *base)
{
  WordLevelModel *self = (WordLevelModel *)base;

  sf_vocab_free (self->vocab);
  g_free (self->unk_token);
  g_free (self);
}

static const SfModelClass wordlevel_class = {
  "WordLevel",
  wordlevel_tokenize,
  wordlevel_token_to_id,
  wordlevel_id_to_token,
  wordlevel_vocab_size,
  wordlevel_free,
};

SfModel *
sf_model_wordlevel_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *unk = "<unk>";
  WordLevelModel *self;
  SfVocab *vocab;

  if (!sf_tok_json_string (node, "unk_token", field, ctx, &unk, error)
      || (vocab = sf_vocab_from_json (node, field, ctx, error)) == NULL)
    return NULL;
  self = g_new0 (WordLevelModel, 1);
  self->parent.klass = &wordlevel_class;
  self->vocab = vocab;
  self->unk_token = g_strdup (unk);
  return &self->parent;
}
