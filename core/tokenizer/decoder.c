/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: decoders, which turn token strings back into text.
 *
 * WordPiece glues a continuation piece ("##ing") to the previous token and
 * puts a space before every other token. With cleanup on, each token then
 * gets the `tokenizers` clean-up replacements (" ." → ".", " n't" → "n't",
 * ...), applied token by token as that library does. Sequence applies its
 * children in turn; the other decoders live in decoder-bytes.c and
 * decoder-text.c. A new decoder adds its constructor to the table at the
 * end.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

typedef struct
{
  SfDecoder parent;
  char *prefix;
  gboolean cleanup;
} WordPieceDecoder;

/* The clean-up pairs, applied in this order. */
static const char *const cleanup_pairs[][2] = {
  { " .", "." },
  { " ?", "?" },
  { " !", "!" },
  { " ,", "," },
  { " ' ", "'" },
  { " n't", "n't" },
  { " 'm", "'m" },
  { " do not", " don't" },
  { " 's", "'s" },
  { " 've", "'ve" },
  { " 're", "'re" },
};

/* Replaces every @from in @s by @to; (transfer full), frees @s. */
static char *
replace_all (char *s, const char *from, const char *to)
{
  GString *out;
  const char *p, *hit;
  gsize from_len = strlen (from);

  if (strstr (s, from) == NULL)
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

/* Whether some clean-up pair can match: all start with a space followed
 * by one of these characters. */
static gboolean
needs_cleanup (const char *token)
{
  for (const char *p = strchr (token, ' '); p; p = strchr (p + 1, ' '))
    if (p[1] != '\0' && strchr (".?!,'nd", p[1]))
      return TRUE;
  return FALSE;
}

static void
wordpiece_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  const WordPieceDecoder *self = (const WordPieceDecoder *)base;
  gsize prefix_len = strlen (self->prefix);

  for (guint i = 0; i < tokens->len; i++) {
    char *token = g_ptr_array_index (tokens, i);

    if (i > 0) {
      if (prefix_len > 0 && g_str_has_prefix (token, self->prefix)) {
        memmove (token, token + prefix_len, strlen (token) - prefix_len + 1);
      } else {
        char *spaced = g_strconcat (" ", token, NULL);

        g_free (token);
        token = spaced;
      }
    }
    if (self->cleanup && needs_cleanup (token))
      for (guint k = 0; k < G_N_ELEMENTS (cleanup_pairs); k++)
        token = replace_all (token, cleanup_pairs[k][0], cleanup_pairs[k][1]);
    g_ptr_array_index (tokens, i) = token;
  }
}

static void
wordpiece_free (SfDecoder *base)
{
  WordPieceDecoder *self = (WordPieceDecoder *)base;

  g_free (self->prefix);
  g_free (self);
}

static const SfDecoderClass wordpiece_class = { "WordPiece",
  wordpiece_decode_chain, wordpiece_free };

SfDecoder *
sf_decoder_wordpiece_new (const char *prefix, gboolean cleanup)
{
  WordPieceDecoder *self = g_new0 (WordPieceDecoder, 1);

  self->parent.klass = &wordpiece_class;
  self->prefix = g_strdup (prefix);
  self->cleanup = cleanup;
  return &self->parent;
}

static SfDecoder *
wordpiece_new (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *prefix = "##";
  gboolean cleanup = TRUE;

  if (!sf_tok_json_string (node, "prefix", field, ctx, &prefix, error)
      || !sf_tok_json_bool (node, "cleanup", field, ctx, &cleanup, error))
    return NULL;
  return sf_decoder_wordpiece_new (prefix, cleanup);
}

/* ---- Sequence ---- */

typedef struct
{
  SfDecoder parent;
  GPtrArray *children; /* SfDecoder */
} SequenceDecoder;

static void
sequence_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  const SequenceDecoder *self = (const SequenceDecoder *)base;

  for (guint i = 0; i < self->children->len; i++) {
    const SfDecoder *child = g_ptr_array_index (self->children, i);

    child->klass->decode_chain (child, tokens);
  }
}

static void
sequence_free (SfDecoder *base)
{
  SequenceDecoder *self = (SequenceDecoder *)base;

  g_ptr_array_unref (self->children);
  g_free (self);
}

static const SfDecoderClass sequence_class = { "Sequence",
  sequence_decode_chain, sequence_free };

static SfDecoder *
sequence_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (node, "decoders");
  SequenceDecoder *self;
  const cJSON *item;
  guint i = 0;

  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.decoders must be an array", field);
    return NULL;
  }
  self = g_new0 (SequenceDecoder, 1);
  self->parent.klass = &sequence_class;
  self->children =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_token_decoder_free);
  cJSON_ArrayForEach (item, list) {
    g_autofree char *child_field =
        g_strdup_printf ("%s.decoders[%u]", field, i++);
    SfDecoder *child = sf_decoder_new_from_json (item, child_field, ctx, error);

    if (child == NULL) {
      sequence_free (&self->parent);
      return NULL;
    }
    g_ptr_array_add (self->children, child);
  }
  return &self->parent;
}

/* ---- factory ---- */

static const struct
{
  const char *type;
  SfDecoderNewFunc new_func;
} decoder_types[] = {
  { "WordPiece", wordpiece_new },
  { "Sequence", sequence_new },
  { "ByteLevel", sf_decoder_byte_level_new_from_json },
  { "ByteFallback", sf_decoder_byte_fallback_new_from_json },
  { "Metaspace", sf_decoder_metaspace_new_from_json },
  { "BPEDecoder", sf_decoder_bpe_new_from_json },
  { "Replace", sf_decoder_replace_new_from_json },
  { "Strip", sf_decoder_strip_new_from_json },
  { "Fuse", sf_decoder_fuse_new_from_json },
};

SfDecoder *
sf_decoder_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *type = sf_tok_json_type (node, field, ctx, error);

  if (type == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (decoder_types); i++)
    if (g_strcmp0 (type, decoder_types[i].type) == 0)
      return decoder_types[i].new_func (node, field, ctx, error);
  sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
      "%s.type '%s' is not supported", field, type);
  return NULL;
}

void
sf_token_decoder_free (SfDecoder *self)
{
  if (self != NULL)
    self->klass->free (self);
}
