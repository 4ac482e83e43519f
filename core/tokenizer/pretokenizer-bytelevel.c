/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the ByteLevel pre-tokenizer of GPT-2, RoBERTa and
 * Whisper.
 *
 * Each word (optionally after a space is put in front, add_prefix_space)
 * is cut with the GPT-2 pattern (use_regex), then every UTF-8 byte of it
 * becomes one printable char of the byte-level alphabet, so the model only
 * ever sees 256 symbols. The byte chars of a character all keep that
 * character's original range, which is how `tokenizers` reports offsets
 * for tokens that hold part of a character.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
#define GPT2_PATTERN                                                           \
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+"                                \
  "| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* The printable bytes stand for themselves; the other 68 (0-32, 127-160
 * and 173) take the code points from U+0100 on, in byte order. */
gunichar
sf_byte_level_char (guint8 b)
{
  if (b <= 32)
    return 256 + b;
  if (b >= 127 && b <= 160)
    return 256 + 33 + (b - 127);
  if (b == 173)
    return 256 + 33 + 34;
  return b;
}

gint
sf_byte_level_byte (gunichar c)
{
  if ((c >= 33 && c <= 126) || (c >= 161 && c <= 255 && c != 173))
    return c;
  if (c >= 256 && c < 256 + 33)
    return c - 256;
  if (c >= 256 + 33 && c < 256 + 33 + 34)
    return c - 256 - 33 + 127;
  if (c == 256 + 33 + 34)
    return 173;
  return -1;
}

typedef struct
{
  SfPreTokenizer parent;
  gboolean add_prefix_space;
  GRegex *regex; /* NULL without use_regex */
} ByteLevelPreTokenizer;

/* Appends the byte chars of @word (chars of @src) to @out as one span. */
static void
push_bytes (
    const SfNormalized *src, SfSpan word, SfNormalized *out, GArray *spans)
{
  SfSpan span = { out->len, 0 };

  for (guint i = word.start; i < word.end; i++) {
    char utf8[6];
    gint n = sf_tok_char_to_utf8 (src->chars[i], utf8);

    for (gint k = 0; k < n; k++)
      sf_normalized_push (out, sf_byte_level_char ((guint8)utf8[k]),
          src->align[2 * i], src->align[2 * i + 1]);
  }
  span.end = out->len;
  if (span.end > span.start)
    g_array_append_val (spans, span);
}

static gboolean
byte_level_split (const SfPreTokenizer *base, SfNormalized *text,
    const GArray *in, GArray *out, GError **error)
{
  gboolean ok = TRUE;
  const ByteLevelPreTokenizer *self = (const ByteLevelPreTokenizer *)base;
  g_autoptr (GArray) matches = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  SfNormalized word, rebuilt;

  sf_normalized_init (&word);
  sf_normalized_init (&rebuilt);
  /* ASCII text keeps its length; more bytes grow the buffer */
  sf_normalized_reserve (&rebuilt, text->len + text->len / 8 + 16);
  for (guint i = 0; i < in->len; i++) {
    SfSpan span = g_array_index (in, SfSpan, i);
    const SfNormalized *src = text;
    guint prev;

    if (span.end <= span.start)
      continue;
    /* the word gets its own copy only when a space goes in front */
    if (self->add_prefix_space && text->chars[span.start] != ' ') {
      word.len = 0;
      sf_normalized_push (&word, ' ', text->align[2 * span.start],
          text->align[2 * span.start + 1]);
      for (guint k = span.start; k < span.end; k++)
        sf_normalized_push (
            &word, text->chars[k], text->align[2 * k], text->align[2 * k + 1]);
      src = &word;
      span.start = 0;
      span.end = word.len;
    }

    if (self->regex == NULL) {
      push_bytes (src, span, &rebuilt, out);
      continue;
    }
    /* isolated: matches and the text between them are all words */
    g_array_set_size (matches, 0);
    if (!sf_tok_regex_find (
            self->regex, src->chars, span.start, span.end, matches, error)) {
      g_prefix_error (error, "ByteLevel pre-tokenizer: ");
      ok = FALSE;
      break;
    }
    prev = span.start;
    for (guint m = 0; m < matches->len; m++) {
      SfSpan match = g_array_index (matches, SfSpan, m);
      SfSpan gap = { prev, match.start };

      push_bytes (src, gap, &rebuilt, out);
      push_bytes (src, match, &rebuilt, out);
      prev = match.end;
    }
    if (prev < span.end) {
      SfSpan rest = { prev, span.end };

      push_bytes (src, rest, &rebuilt, out);
    }
  }
  sf_normalized_swap (text, &rebuilt);
  sf_normalized_clear (&rebuilt);
  sf_normalized_clear (&word);
  return ok;
}

static void
byte_level_free (SfPreTokenizer *base)
{
  ByteLevelPreTokenizer *self = (ByteLevelPreTokenizer *)base;

  if (self->regex)
    g_regex_unref (self->regex);
  g_free (self);
}

static const SfPreTokenizerClass byte_level_class = { "ByteLevel",
  byte_level_split, byte_level_free };

SfPreTokenizer *
sf_pre_tokenizer_byte_level_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  gboolean add_prefix_space = TRUE, use_regex = TRUE;
  ByteLevelPreTokenizer *self;
  g_autofree char *where = NULL;

  if (!sf_tok_json_bool (
          node, "add_prefix_space", field, ctx, &add_prefix_space, error)
      || !sf_tok_json_bool (node, "use_regex", field, ctx, &use_regex, error))
    return NULL;
  self = g_new0 (ByteLevelPreTokenizer, 1);
  self->parent.klass = &byte_level_class;
  self->add_prefix_space = add_prefix_space;
  if (use_regex) {
    where = g_strdup_printf ("%s (GPT-2 pattern)", field);
    self->regex = sf_tok_regex_new (GPT2_PATTERN, FALSE, where, ctx, error);
    if (self->regex == NULL) {
      byte_level_free (&self->parent);
      return NULL;
    }
  }
  return &self->parent;
}
