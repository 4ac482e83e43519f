/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: added tokens ("[CLS]", "[MASK]", user tokens).
 *
 * Added tokens are found in the text before the model sees it and become
 * single tokens. Tokens with normalized = false are matched in the raw
 * text, the others in the normalised text (their content normalised the
 * same way). Matching is leftmost-longest; a first-character table keeps
 * the scan to one lookup per character. single_word tokens only match
 * between non-word characters; lstrip and rstrip extend a match over the
 * whitespace next to it.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

struct SfAddedVocab
{
  GPtrArray *tokens;          /* SfAddedToken, owned */
  GHashTable *by_content;     /* content → SfAddedToken */
  GHashTable *by_id;          /* id → SfAddedToken */
  GHashTable *first[2];       /* raw / normalised: first char → GPtrArray */
  guint8 ascii_first[2][128]; /* 1 when some token starts with that char */
  gint32 id_end;
};

static void
added_token_free (SfAddedToken *t)
{
  g_free (t->content);
  g_free (t->match);
  g_free (t);
}

SfAddedVocab *
sf_added_vocab_new (void)
{
  SfAddedVocab *vocab = g_new0 (SfAddedVocab, 1);

  vocab->tokens =
      g_ptr_array_new_with_free_func ((GDestroyNotify)added_token_free);
  vocab->by_content = g_hash_table_new (g_str_hash, g_str_equal);
  vocab->by_id = g_hash_table_new (g_direct_hash, g_direct_equal);
  for (int k = 0; k < 2; k++)
    vocab->first[k] = g_hash_table_new_full (
        g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)g_ptr_array_unref);
  return vocab;
}

void
sf_added_vocab_free (SfAddedVocab *vocab)
{
  if (vocab == NULL)
    return;
  for (int k = 0; k < 2; k++)
    g_hash_table_unref (vocab->first[k]);
  g_hash_table_unref (vocab->by_id);
  g_hash_table_unref (vocab->by_content);
  g_ptr_array_unref (vocab->tokens);
  g_free (vocab);
}

void
sf_added_vocab_add (SfAddedVocab *vocab, const char *content, gint32 id,
    gboolean special, gboolean single_word, gboolean lstrip, gboolean rstrip,
    gboolean normalized)
{
  SfAddedToken *t = g_hash_table_lookup (vocab->by_content, content);

  if (t == NULL) {
    t = g_new0 (SfAddedToken, 1);
    t->content = g_strdup (content);
    g_ptr_array_add (vocab->tokens, t);
    g_hash_table_insert (vocab->by_content, t->content, t);
  } else if (g_hash_table_lookup (vocab->by_id, GINT_TO_POINTER (t->id)) == t) {
    g_hash_table_remove (vocab->by_id, GINT_TO_POINTER (t->id));
  }
  t->id = id;
  t->special = special;
  t->single_word = single_word;
  t->lstrip = lstrip;
  t->rstrip = rstrip;
  t->normalized = normalized;
  g_hash_table_insert (vocab->by_id, GINT_TO_POINTER (id), t);
  vocab->id_end = MAX (vocab->id_end, id + 1);
}

static gint
longest_first (gconstpointer a, gconstpointer b)
{
  const SfAddedToken *ta = *(const SfAddedToken *const *)a;
  const SfAddedToken *tb = *(const SfAddedToken *const *)b;

  return (gint)tb->n_match - (gint)ta->n_match;
}

gboolean
sf_added_vocab_prepare (
    SfAddedVocab *vocab, const SfNormalizer *normalizer, GError **error)
{
  SfNormalized text, scratch;
  gboolean ok = TRUE;

  sf_normalized_init (&text);
  sf_normalized_init (&scratch);
  for (int k = 0; k < 2; k++) {
    g_hash_table_remove_all (vocab->first[k]);
    memset (vocab->ascii_first[k], 0, sizeof (vocab->ascii_first[k]));
  }

  for (guint i = 0; i < vocab->tokens->len; i++) {
    SfAddedToken *t = g_ptr_array_index (vocab->tokens, i);
    glong n = 0;
    gunichar *chars = g_utf8_to_ucs4_fast (t->content, -1, &n);
    int k = t->normalized && normalizer != NULL;
    GPtrArray *list;

    g_free (t->match);
    if (k) {
      sf_normalized_set (&text, chars, n, 0);
      if (!normalizer->klass->normalize (normalizer, &text, &scratch, error)) {
        g_prefix_error (error, "added token '%s': ", t->content);
        t->match = NULL;
        t->n_match = 0;
        g_free (chars);
        ok = FALSE;
        break;
      }
      t->match = g_memdup2 (text.chars, text.len * sizeof (gunichar));
      t->n_match = text.len;
      g_free (chars);
    } else {
      t->match = chars;
      t->n_match = n;
    }
    if (t->n_match == 0)
      continue;
    list =
        g_hash_table_lookup (vocab->first[k], GUINT_TO_POINTER (t->match[0]));
    if (list == NULL) {
      list = g_ptr_array_new ();
      g_hash_table_insert (
          vocab->first[k], GUINT_TO_POINTER (t->match[0]), list);
    }
    g_ptr_array_add (list, t);
    g_ptr_array_sort (list, longest_first);
    if (t->match[0] < 128)
      vocab->ascii_first[k][t->match[0]] = 1;
  }
  sf_normalized_clear (&text);
  sf_normalized_clear (&scratch);
  return ok;
}

gboolean
sf_added_vocab_has (const SfAddedVocab *vocab, gboolean normalized)
{
  return g_hash_table_size (vocab->first[normalized ? 1 : 0]) > 0;
}

static inline void
push_split (GArray *out, SfAddedToken *token, guint start, guint end)
{
  SfAddedSplit s = { token, start, end };

  if (end > start)
    g_array_append_val (out, s);
}

static const SfAddedToken *
match_at (
    const SfAddedVocab *vocab, int k, const gunichar *chars, guint n, guint pos)
{
  gunichar c = chars[pos];
  GPtrArray *list;

  if (c < 128 && !vocab->ascii_first[k][c])
    return NULL;
  list = g_hash_table_lookup (vocab->first[k], GUINT_TO_POINTER (c));
  if (list == NULL)
    return NULL;
  for (guint i = 0; i < list->len; i++) {
    const SfAddedToken *t = g_ptr_array_index (list, i);

    if (t->n_match > n - pos
        || memcmp (t->match, chars + pos, t->n_match * sizeof (gunichar)))
      continue;
    if (t->single_word
        && ((pos > 0 && sf_unichar_is_word (chars[pos - 1]))
            || (pos + t->n_match < n
                && sf_unichar_is_word (chars[pos + t->n_match]))))
      continue;
    return t;
  }
  return NULL;
}

void
sf_added_vocab_split (const SfAddedVocab *vocab, gboolean normalized,
    const gunichar *chars, guint n, GArray *out)
{
  int k = normalized ? 1 : 0;
  guint plain = 0; /* start of the text not yet emitted */
  guint pos = 0;

  if (g_hash_table_size (vocab->first[k]) == 0) {
    push_split (out, NULL, 0, n);
    return;
  }
  while (pos < n) {
    const SfAddedToken *t = match_at (vocab, k, chars, n, pos);
    guint start, end;

    if (t == NULL) {
      pos++;
      continue;
    }
    start = pos;
    end = pos + t->n_match;
    if (t->lstrip)
      while (start > plain && sf_unichar_is_white_space (chars[start - 1]))
        start--;
    if (t->rstrip)
      while (end < n && sf_unichar_is_white_space (chars[end]))
        end++;
    push_split (out, NULL, plain, start);
    push_split (out, (SfAddedToken *)t, start, end);
    plain = pos = end;
  }
  push_split (out, NULL, plain, n);
}

const SfAddedToken *
sf_added_vocab_by_id (const SfAddedVocab *vocab, gint32 id)
{
  return g_hash_table_lookup (vocab->by_id, GINT_TO_POINTER (id));
}

const SfAddedToken *
sf_added_vocab_by_content (const SfAddedVocab *vocab, const char *content)
{
  return g_hash_table_lookup (vocab->by_content, content);
}

gint32
sf_added_vocab_id_end (const SfAddedVocab *vocab)
{
  return vocab->id_end;
}

guint
sf_added_vocab_count_new (const SfAddedVocab *vocab, const SfModel *model)
{
  guint n = 0;

  for (guint i = 0; i < vocab->tokens->len; i++) {
    const SfAddedToken *t = g_ptr_array_index (vocab->tokens, i);

    if (sf_added_vocab_by_id (vocab, t->id) == t
        && model->klass->id_to_token (model, t->id) == NULL)
      n++;
  }
  return n;
}
