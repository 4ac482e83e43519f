/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the decoders that turn tokens back into bytes,
 * ByteLevel (GPT-2's byte alphabet) and ByteFallback (<0xXX> tokens).
 *
 * Bytes that do not form valid UTF-8 become U+FFFD: ByteLevel replaces
 * each maximal invalid subsequence by one, as Rust's from_utf8_lossy does;
 * ByteFallback replaces every byte of an invalid run, as `tokenizers`
 * does.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

#define REPLACEMENT_CHAR "\xef\xbf\xbd"

/* Length of the valid UTF-8 sequence at @p (of @n bytes), or the negated
 * length of its maximal invalid prefix. */
static gint
utf8_sequence (const guchar *p, gsize n)
{
  guchar lo = 0x80, hi = 0xbf;
  gint len;

  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    len = 2;
  else if (p[0] >= 0xe0 && p[0] <= 0xef) {
    len = 3;
    if (p[0] == 0xe0)
      lo = 0xa0;
    else if (p[0] == 0xed)
      hi = 0x9f;
  } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    len = 4;
    if (p[0] == 0xf0)
      lo = 0x90;
    else if (p[0] == 0xf4)
      hi = 0x8f;
  } else {
    return -1;
  }
  if (n < 2 || p[1] < lo || p[1] > hi)
    return -1;
  for (gint k = 2; k < len; k++)
    if ((gsize)k >= n || p[k] < 0x80 || p[k] > 0xbf)
      return -k;
  return len;
}

/* (transfer full) @bytes as UTF-8, invalid parts replaced. */
static char *
utf8_lossy (const guchar *bytes, gsize n)
{
  GString *out = g_string_sized_new (n + 1);
  gsize i = 0;

  while (i < n) {
    gint len = utf8_sequence (bytes + i, n - i);

    if (len > 0) {
      g_string_append_len (out, (const char *)bytes + i, len);
      i += len;
    } else {
      g_string_append (out, REPLACEMENT_CHAR);
      i += -len;
    }
  }
  return g_string_free (out, FALSE);
}

static void
replace_all_tokens (GPtrArray *tokens, char *text)
{
  g_ptr_array_set_size (tokens, 0);
  g_ptr_array_add (tokens, text);
}

/* ---- ByteLevel ---- */

static void
byte_level_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  GByteArray *bytes = g_byte_array_new ();

  for (guint i = 0; i < tokens->len; i++) {
    const char *token = g_ptr_array_index (tokens, i);
    guint mark = bytes->len;
    const char *p;

    for (p = token; *p; p = g_utf8_next_char (p)) {
      gint b = sf_byte_level_byte (g_utf8_get_char (p));
      guint8 byte = (guint8)b;

      if (b < 0)
        break;
      g_byte_array_append (bytes, &byte, 1);
    }
    /* a token outside the alphabet (an added token) is kept as it is */
    if (*p) {
      g_byte_array_set_size (bytes, mark);
      g_byte_array_append (bytes, (const guint8 *)token, strlen (token));
    }
  }
  replace_all_tokens (tokens, utf8_lossy (bytes->data, bytes->len));
  g_byte_array_unref (bytes);
}

static void
decoder_free (SfDecoder *base)
{
  g_free (base);
}

static const SfDecoderClass byte_level_class = { "ByteLevel",
  byte_level_decode_chain, decoder_free };

SfDecoder *
sf_decoder_byte_level_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  SfDecoder *self = g_new0 (SfDecoder, 1);

  self->klass = &byte_level_class;
  return self;
}

/* ---- ByteFallback ---- */

/* The byte of a "<0xXX>" token, -1 for other tokens. */
static gint
fallback_byte (const char *token)
{
  gint hi, lo;

  if (strlen (token) != 6 || strncmp (token, "<0x", 3) != 0 || token[5] != '>')
    return -1;
  hi = g_ascii_xdigit_value (token[3]);
  lo = g_ascii_xdigit_value (token[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static void
flush_bytes (GByteArray *bytes, GPtrArray *out)
{
  if (bytes->len == 0)
    return;
  if (g_utf8_validate_len ((const char *)bytes->data, bytes->len, NULL)) {
    g_ptr_array_add (out, g_strndup ((const char *)bytes->data, bytes->len));
  } else {
    for (guint i = 0; i < bytes->len; i++)
      g_ptr_array_add (out, g_strdup (REPLACEMENT_CHAR));
  }
  g_byte_array_set_size (bytes, 0);
}

static void
byte_fallback_decode_chain (const SfDecoder *base, GPtrArray *tokens)
{
  GPtrArray *out = g_ptr_array_new ();
  GByteArray *bytes = g_byte_array_new ();

  for (guint i = 0; i < tokens->len; i++) {
    char *token = g_ptr_array_index (tokens, i);
    gint b = fallback_byte (token);

    if (b >= 0) {
      guint8 byte = (guint8)b;

      g_byte_array_append (bytes, &byte, 1);
      g_free (token);
      continue;
    }
    flush_bytes (bytes, out);
    g_ptr_array_add (out, token);
  }
  flush_bytes (bytes, out);
  /* the strings moved to @out: empty @tokens without freeing them */
  for (guint i = 0; i < tokens->len; i++)
    g_ptr_array_index (tokens, i) = NULL;
  g_ptr_array_set_size (tokens, 0);
  for (guint i = 0; i < out->len; i++)
    g_ptr_array_add (tokens, g_ptr_array_index (out, i));
  g_ptr_array_unref (out);
  g_byte_array_unref (bytes);
}

static const SfDecoderClass byte_fallback_class = { "ByteFallback",
  byte_fallback_decode_chain, decoder_free };

SfDecoder *
sf_decoder_byte_fallback_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  SfDecoder *self = g_new0 (SfDecoder, 1);

  self->klass = &byte_fallback_class;
  return self;
}
