/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the normalizers that insert content, Replace and
 * Prepend.
 *
 * Replace swaps every match of its pattern (a literal String or a Regex)
 * for its content. As in `tokenizers`, the inserted chars take the
 * original range of the last char of the match, so "  " → " " points at
 * the second space. Prepend puts its content before a non-empty text,
 * aligned with the first char.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

typedef struct
{
  SfNormalizer parent;
  GRegex *regex;
  gunichar *content; /* [n_content] */
  guint n_content;
  char *where; /* "FILE: FIELD" for errors */
} ReplaceNormalizer;

static gboolean
replace_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const ReplaceNormalizer *self = (const ReplaceNormalizer *)base;
  g_autoptr (GArray) matches = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  guint pos = 0;
  gsize new_len = text->len;

  if (!sf_tok_regex_find (
          self->regex, text->chars, 0, text->len, matches, error)) {
    g_prefix_error (error, "%s: ", self->where);
    return FALSE;
  }
  if (matches->len == 0)
    return TRUE;
  /* the length after the swap, checked before anything grows: chained
   * Replace stages (a → aa) would otherwise double the text each time */
  for (guint m = 0; m < matches->len; m++) {
    const SfSpan *span = &g_array_index (matches, SfSpan, m);

    new_len = new_len - (span->end - span->start) + self->n_content;
  }
  if (!sf_normalized_check_len (text, new_len, self->where, error))
    return FALSE;
  scratch->len = 0;
  sf_normalized_reserve (scratch, new_len + 16);
  for (guint m = 0; m < matches->len; m++) {
    const SfSpan *span = &g_array_index (matches, SfSpan, m);
    guint32 a = text->align[2 * (span->end - 1)];
    guint32 b = text->align[2 * (span->end - 1) + 1];

    for (; pos < span->start; pos++)
      sf_normalized_push (scratch, text->chars[pos], text->align[2 * pos],
          text->align[2 * pos + 1]);
    for (guint k = 0; k < self->n_content; k++)
      sf_normalized_push (scratch, self->content[k], a, b);
    pos = span->end;
  }
  for (; pos < text->len; pos++)
    sf_normalized_push (scratch, text->chars[pos], text->align[2 * pos],
        text->align[2 * pos + 1]);
  sf_normalized_swap (text, scratch);
  return TRUE;
}

static void
replace_free (SfNormalizer *base)
{
  ReplaceNormalizer *self = (ReplaceNormalizer *)base;

  if (self->regex)
    g_regex_unref (self->regex);
  g_free (self->content);
  g_free (self->where);
  g_free (self);
}

static const SfNormalizerClass replace_class = { "Replace", replace_normalize,
  replace_free };

/* The "content" member as code points; (transfer full). */
static gunichar *
read_content (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, guint *n, GError **error)
{
  const char *content = NULL;
  glong len = 0;
  gunichar *chars;

  if (!sf_tok_json_string (node, key, field, ctx, &content, error))
    return NULL;
  if (content == NULL) {
    sf_tok_set_error (
        error, SF_ERROR_MISSING, ctx, "%s.%s is missing", field, key);
    return NULL;
  }
  chars = g_utf8_to_ucs4 (content, -1, NULL, &len, NULL);
  if (chars == NULL) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.%s is not valid UTF-8", field, key);
    return NULL;
  }
  *n = len;
  return chars;
}

SfNormalizer *
sf_normalizer_replace_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  ReplaceNormalizer *self = g_new0 (ReplaceNormalizer, 1);

  self->parent.klass = &replace_class;
  self->where = g_strdup_printf (
      "%s: %s (Replace)", ctx ? ctx->file : "tokenizer", field);
  self->regex = sf_tok_regex_from_json (node, "pattern", field, ctx, error);
  if (self->regex == NULL
      || !(self->content = read_content (
               node, "content", field, ctx, &self->n_content, error))) {
    replace_free (&self->parent);
    return NULL;
  }
  return &self->parent;
}

/* ---- Prepend ---- */

typedef struct
{
  SfNormalizer parent;
  gunichar *prefix; /* [n_prefix] */
  guint n_prefix;
  char *where; /* "FILE: FIELD" for errors */
} PrependNormalizer;

static gboolean
prepend_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const PrependNormalizer *self = (const PrependNormalizer *)base;

  if (text->len == 0)
    return TRUE;
  if (!sf_normalized_check_len (
          text, (gsize)text->len + self->n_prefix, self->where, error))
    return FALSE;
  scratch->len = 0;
  sf_normalized_reserve (scratch, text->len + self->n_prefix + 16);
  for (guint k = 0; k < self->n_prefix; k++)
    sf_normalized_push (
        scratch, self->prefix[k], text->align[0], text->align[1]);
  for (guint i = 0; i < text->len; i++)
    sf_normalized_push (
        scratch, text->chars[i], text->align[2 * i], text->align[2 * i + 1]);
  sf_normalized_swap (text, scratch);
  return TRUE;
}

static void
prepend_free (SfNormalizer *base)
{
  PrependNormalizer *self = (PrependNormalizer *)base;

  g_free (self->prefix);
  g_free (self->where);
  g_free (self);
}

static const SfNormalizerClass prepend_class = { "Prepend", prepend_normalize,
  prepend_free };

SfNormalizer *
sf_normalizer_prepend_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  PrependNormalizer *self = g_new0 (PrependNormalizer, 1);

  self->parent.klass = &prepend_class;
  self->where = g_strdup_printf (
      "%s: %s (Prepend)", ctx ? ctx->file : "tokenizer", field);
  self->prefix =
      read_content (node, "prepend", field, ctx, &self->n_prefix, error);
  if (self->prefix == NULL) {
    prepend_free (&self->parent);
    return NULL;
  }
  return &self->parent;
}
