/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the decoders that rewrite token text, Metaspace
 * ("▁" back to spaces, the first one dropped when the pre-tokenizer put
 * it there), BPEDecoder (end_of_word_suffix to spaces), Replace, Strip
 * (up to start/stop copies of a char off each token's ends) and Fuse (all
 * tokens into one).
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

/* Replaces every @from in @s by @to; (transfer full), frees @s. */
static char *
replace_all (char *s, const char *from, const char *to)
{
  GString *out;
  const char *p, *hit;
  gsize from_len = strlen (from);

  if (from_len == 0 || strstr (s, from) == NULL)
    return s;
  out = g_string_sized_new (strlen (s));
  for (p = s; (hit = strstr (p, from)) != NULL; p = hit + from_len) {
    g_string_append_len (out, p, hit - p);
    g_string_append (out, to);
  }
  g_string_append (out, p);
  g_free (s);
  return g_string_free (out, FALSE);
}

/* ---- Metaspace ---- */

typedef struct
{
  SfDecoder parent;
  char replacement[8]; /* UTF-8 */
  SfPrependScheme scheme;
} MetaspaceDecoder;

static void
metaspace_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  const MetaspaceDecoder *self = (const MetaspaceDecoder *)base;

  for (guint i = 0; i < tokens->len; i++) {
    gboolean drop = i == 0 && self->scheme != SF_PREPEND_NEVER;

    g_ptr_array_index (tokens, i) = replace_all (
        g_ptr_array_index (tokens, i), self->replacement, drop ? "" : " ");
  }
}

static void
decoder_free (SfDecoder *base)
{
  g_free (base);
}

static const SfDecoderClass metaspace_class = { "Metaspace",
  metaspace_decode_chain, decoder_free };

SfDecoder *
sf_decoder_metaspace_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  MetaspaceDecoder *self = g_new0 (MetaspaceDecoder, 1);
  gunichar replacement;
  gboolean split;

  self->parent.klass = &metaspace_class;
  if (!sf_metaspace_read_json (
          node, field, ctx, &replacement, &self->scheme, &split, error)) {
    g_free (self);
    return NULL;
  }
  self->replacement[sf_tok_char_to_utf8 (replacement, self->replacement)] = 0;
  return &self->parent;
}

/* ---- BPEDecoder ---- */

typedef struct
{
  SfDecoder parent;
  char *suffix;
} BpeDecoder;

static void
bpe_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  const BpeDecoder *self = (const BpeDecoder *)base;

  for (guint i = 0; i < tokens->len; i++)
    g_ptr_array_index (tokens, i) = replace_all (g_ptr_array_index (tokens, i),
        self->suffix, i + 1 == tokens->len ? "" : " ");
}

static void
bpe_free (SfDecoder *base)
{
  BpeDecoder *self = (BpeDecoder *)base;

  g_free (self->suffix);
  g_free (self);
}

static const SfDecoderClass bpe_class = { "BPEDecoder", bpe_decode_chain,
  bpe_free };

SfDecoder *
sf_decoder_bpe_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *suffix = "</w>";
  BpeDecoder *self;

  if (!sf_tok_json_string (node, "suffix", field, ctx, &suffix, error))
    return NULL;
  self = g_new0 (BpeDecoder, 1);
  self->parent.klass = &bpe_class;
  self->suffix = g_strdup (suffix);
  return &self->parent;
}

/* ---- Replace ---- */

typedef struct
{
  SfDecoder parent;
  GRegex *regex;
  char *content;
} ReplaceDecoder;

static void
replace_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  const ReplaceDecoder *self = (const ReplaceDecoder *)base;

  for (guint i = 0; i < tokens->len; i++) {
    char *token = g_ptr_array_index (tokens, i);
    char *done = g_regex_replace_literal (
        self->regex, token, -1, 0, self->content, 0, NULL);

    /* a failed match (resource limits) keeps the token */
    if (done) {
      g_free (token);
      g_ptr_array_index (tokens, i) = done;
    }
  }
}

static void
replace_free (SfDecoder *base)
{
  ReplaceDecoder *self = (ReplaceDecoder *)base;

  if (self->regex)
    g_regex_unref (self->regex);
  g_free (self->content);
  g_free (self);
}

static const SfDecoderClass replace_class = { "Replace", replace_decode_chain,
  replace_free };

SfDecoder *
sf_decoder_replace_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *content = NULL;
  ReplaceDecoder *self;

  if (!sf_tok_json_string (node, "content", field, ctx, &content, error))
    return NULL;
  if (content == NULL) {
    sf_tok_set_error (
        error, SF_ERROR_MISSING, ctx, "%s.content is missing", field);
    return NULL;
  }
  self = g_new0 (ReplaceDecoder, 1);
  self->parent.klass = &replace_class;
  self->content = g_strdup (content);
  self->regex = sf_tok_regex_from_json (node, "pattern", field, ctx, error);
  if (self->regex == NULL) {
    replace_free (&self->parent);
    return NULL;
  }
  return &self->parent;
}

/* ---- Strip ---- */

typedef struct
{
  SfDecoder parent;
  gunichar content;
  guint start;
  guint stop;
} StripDecoder;

static void
strip_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  const StripDecoder *self = (const StripDecoder *)base;

  for (guint i = 0; i < tokens->len; i++) {
    char *token = g_ptr_array_index (tokens, i);
    glong n = 0;
    g_autofree gunichar *chars = g_utf8_to_ucs4_fast (token, -1, &n);
    glong first = 0, last = n;

    while (first < n && first < (glong)self->start
        && chars[first] == self->content)
      first++;
    while (last > first && n - last < (glong)self->stop
        && chars[last - 1] == self->content)
      last--;
    g_free (token);
    g_ptr_array_index (tokens, i) =
        g_ucs4_to_utf8 (chars + first, last - first, NULL, NULL, NULL);
    if (g_ptr_array_index (tokens, i) == NULL)
      g_ptr_array_index (tokens, i) = g_strdup ("");
  }
}

static const SfDecoderClass strip_class = { "Strip", strip_decode_chain,
  decoder_free };

SfDecoder *
sf_decoder_strip_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *content = " ";
  gint64 start = 0, stop = 0;
  StripDecoder *self;

  if (!sf_tok_json_string (node, "content", field, ctx, &content, error)
      || !sf_tok_json_int (
          node, "start", field, ctx, 0, G_MAXINT32, &start, error)
      || !sf_tok_json_int (
          node, "stop", field, ctx, 0, G_MAXINT32, &stop, error))
    return NULL;
  if (!g_utf8_validate (content, -1, NULL)
      || g_utf8_strlen (content, -1) != 1) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.content must be a single character", field);
    return NULL;
  }
  self = g_new0 (StripDecoder, 1);
  self->parent.klass = &strip_class;
  self->content = g_utf8_get_char (content);
  self->start = start;
  self->stop = stop;
  return &self->parent;
}

/* ---- Fuse ---- */

static void
fuse_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  GString *all = g_string_new (NULL);

  for (guint i = 0; i < tokens->len; i++)
    g_string_append (all, g_ptr_array_index (tokens, i));
  g_ptr_array_set_size (tokens, 0);
  g_ptr_array_add (tokens, g_string_free (all, FALSE));
}

static const SfDecoderClass fuse_class = { "Fuse", fuse_decode_chain,
  decoder_free };

SfDecoder *
sf_decoder_fuse_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  SfDecoder *self = g_new0 (SfDecoder, 1);

  self->klass = &fuse_class;
  return self;
}
