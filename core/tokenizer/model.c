/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the vocabulary shared by the models, and the model
 * factory. Each model (WordPiece, BPE, Unigram, WordLevel) lives in its
 * own file; a new one adds its constructor to the table below.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

SfVocab *
sf_vocab_new (void)
{
  SfVocab *vocab = g_new0 (SfVocab, 1);

  /* keys and the id table both point into the string chunk */
  vocab->ids = g_hash_table_new (g_str_hash, g_str_equal);
  vocab->tokens = g_ptr_array_new ();
  vocab->strings = g_string_chunk_new (64 * 1024);
  return vocab;
}

void
sf_vocab_free (SfVocab *vocab)
{
  if (vocab == NULL)
    return;
  g_hash_table_unref (vocab->ids);
  g_ptr_array_unref (vocab->tokens);
  g_string_chunk_free (vocab->strings);
  g_free (vocab);
}

void
sf_vocab_add (SfVocab *vocab, const char *token, gint32 id)
{
  char *copy;
  guint nchars;

  g_return_if_fail (id >= 0);
  copy = g_string_chunk_insert (vocab->strings, token);
  if ((guint)id >= vocab->tokens->len)
    g_ptr_array_set_size (vocab->tokens, id + 1);
  g_ptr_array_index (vocab->tokens, id) = copy;
  g_hash_table_insert (vocab->ids, copy, GINT_TO_POINTER (id + 1));
  nchars = g_utf8_strlen (token, -1);
  vocab->max_chars = MAX (vocab->max_chars, nchars);
}

gint32
sf_vocab_lookup (const SfVocab *vocab, const char *token)
{
  return GPOINTER_TO_INT (g_hash_table_lookup (vocab->ids, token)) - 1;
}

const char *
sf_vocab_token (const SfVocab *vocab, gint32 id)
{
  if (id < 0 || (guint)id >= vocab->tokens->len)
    return NULL;
  return g_ptr_array_index (vocab->tokens, id);
}

SfVocab *
sf_vocab_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *vocab_node = cJSON_GetObjectItemCaseSensitive (node, "vocab");
  const cJSON *item;
  SfVocab *vocab;

  if (!cJSON_IsObject (vocab_node)) {
    sf_tok_set_error (error, vocab_node ? SF_ERROR_INVALID : SF_ERROR_MISSING,
        ctx, "%s.vocab must be an object of token → id", field);
    return NULL;
  }
  vocab = sf_vocab_new ();
  cJSON_ArrayForEach (item, vocab_node) {
    double v = item->valuedouble;

    if (!cJSON_IsNumber (item) || v < 0 || v > SF_VOCAB_MAX_ID
        || v != (double)(gint64)v || item->string == NULL) {
      sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
          "%s.vocab['%s'] must be a non-negative integer id", field,
          item->string ? item->string : "");
      sf_vocab_free (vocab);
      return NULL;
    }
    sf_vocab_add (vocab, item->string, (gint32)v);
  }
  return vocab;
}

/* ---- factory ---- */

typedef SfModel *(*ModelNewFunc) (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error);

static const struct
{
  const char *type;
  ModelNewFunc new_func;
} model_types[] = {
  { "WordPiece", sf_model_wordpiece_new_from_json },
  { "BPE", sf_model_bpe_new_from_json },
  { "Unigram", sf_model_unigram_new_from_json },
  { "WordLevel", sf_model_wordlevel_new_from_json },
};

SfModel *
sf_model_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *type_node;
  const char *type;

  if (!cJSON_IsObject (node)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s must be an object", field);
    return NULL;
  }
  /* older files leave the model's type out: WordPiece is the one with
   * max_input_chars_per_word, BPE the one with merges, Unigram the one
   * whose vocab is a list */
  type_node = cJSON_GetObjectItemCaseSensitive (node, "type");
  if (type_node == NULL
      && cJSON_GetObjectItemCaseSensitive (node, "max_input_chars_per_word"))
    type = "WordPiece";
  else if (type_node == NULL
      && cJSON_GetObjectItemCaseSensitive (node, "merges"))
    type = "BPE";
  else if (type_node == NULL
      && cJSON_IsArray (cJSON_GetObjectItemCaseSensitive (node, "vocab")))
    type = "Unigram";
  else if ((type = sf_tok_json_type (node, field, ctx, error)) == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (model_types); i++)
    if (g_strcmp0 (type, model_types[i].type) == 0)
      return model_types[i].new_func (node, field, ctx, error);
  sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
      "%s.type '%s' is not supported", field, type);
  return NULL;
}

void
sf_model_free (SfModel *self)
{
  if (self != NULL)
    self->klass->free (self);
}
