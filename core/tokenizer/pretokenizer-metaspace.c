/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the Metaspace pre-tokenizer of SentencePiece models.
 *
 * Every space becomes the replacement char (U+2581 "▁"), one more is put
 * in front of a word that does not start with it (always, or only at the
 * start of the text with prepend_scheme "first"), and with split on the
 * word is cut before each replacement char, which stays with the text
 * after it.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

typedef struct
{
  SfPreTokenizer parent;
  gunichar replacement;
  SfPrependScheme scheme;
  gboolean split;
} MetaspacePreTokenizer;

gboolean
sf_metaspace_read_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, gunichar *replacement, SfPrependScheme *scheme,
    gboolean *split, GError **error)
{
  const char *rep = "\xe2\x96\x81", *prepend = NULL;
  gboolean add_prefix_space = TRUE;

  *scheme = SF_PREPEND_ALWAYS;
  *split = TRUE;
  if (!sf_tok_json_string (node, "replacement", field, ctx, &rep, error)
      || !sf_tok_json_string (
          node, "prepend_scheme", field, ctx, &prepend, error)
      || !sf_tok_json_bool (
          node, "add_prefix_space", field, ctx, &add_prefix_space, error)
      || !sf_tok_json_bool (node, "split", field, ctx, split, error))
    return FALSE;
  if (!g_utf8_validate (rep, -1, NULL) || g_utf8_strlen (rep, -1) != 1) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.replacement must be a single character", field);
    return FALSE;
  }
  *replacement = g_utf8_get_char (rep);
  if (prepend == NULL || g_str_equal (prepend, "always"))
    *scheme = SF_PREPEND_ALWAYS;
  else if (g_str_equal (prepend, "first"))
    *scheme = SF_PREPEND_FIRST;
  else if (g_str_equal (prepend, "never"))
    *scheme = SF_PREPEND_NEVER;
  else {
    sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
        "%s.prepend_scheme '%s' is not supported", field, prepend);
    return FALSE;
  }
  /* older files say add_prefix_space: false for "never" */
  if (!add_prefix_space)
    *scheme = SF_PREPEND_NEVER;
  return TRUE;
}

static gboolean
metaspace_split (const SfPreTokenizer *base, SfNormalized *text,
    const GArray *in, GArray *out, GError **error)
{
  const MetaspacePreTokenizer *self = (const MetaspacePreTokenizer *)base;
  SfNormalized rebuilt;

  sf_normalized_init (&rebuilt);
  sf_normalized_reserve (&rebuilt, text->len + in->len + 16);
  for (guint i = 0; i < in->len; i++) {
    SfSpan span = g_array_index (in, SfSpan, i);
    SfSpan word = { rebuilt.len, 0 };
    gunichar first;
    gboolean prepend;

    if (span.end <= span.start)
      continue;
    first = text->chars[span.start];
    prepend = first != ' ' && first != self->replacement
        && (self->scheme == SF_PREPEND_ALWAYS
            || (self->scheme == SF_PREPEND_FIRST
                && text->align[2 * span.start] == 0));
    if (prepend)
      sf_normalized_push (&rebuilt, self->replacement,
          text->align[2 * span.start], text->align[2 * span.start + 1]);
    for (guint k = span.start; k < span.end; k++)
      sf_normalized_push (&rebuilt,
          text->chars[k] == ' ' ? self->replacement : text->chars[k],
          text->align[2 * k], text->align[2 * k + 1]);
    word.end = rebuilt.len;
    if (self->split)
      sf_split_on_char (
          &rebuilt, word, self->replacement, SF_SPLIT_MERGED_WITH_NEXT, out);
    else
      g_array_append_val (out, word);
  }
  sf_normalized_swap (text, &rebuilt);
  sf_normalized_clear (&rebuilt);
  return TRUE;
}

static void
metaspace_free (SfPreTokenizer *base)
{
  g_free (base);
}

static const SfPreTokenizerClass metaspace_class = { "Metaspace",
  metaspace_split, metaspace_free };

SfPreTokenizer *
sf_pre_tokenizer_metaspace_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  MetaspacePreTokenizer *self = g_new0 (MetaspacePreTokenizer, 1);

  self->parent.klass = &metaspace_class;
  if (!sf_metaspace_read_json (node, field, ctx, &self->replacement,
          &self->scheme, &self->split, error)) {
    g_free (self);
    return NULL;
  }
  return &self->parent;
}
