/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: normalised text with alignments, and the Unicode
 * character classes the tokenizer stages share.
 *
 * Each transform reads @text and writes @scratch, then swaps the two, so
 * a pipeline of transforms reuses two buffers. Every output character
 * carries the original range of the input character it came from; a
 * composed character keeps the range of its first (starter) character.
 * This is the NormalizedString idea of `tokenizers`, with code points
 * instead of bytes. The character classes and lower-casing come from the
 * tables `tokenizers` itself was probed for (unicode-tables.h).
 */
#include "core/tokenizer/tokenizer-private.h"
#include "core/tokenizer/unicode-tables.h"

#include "core/error.h"

#include <string.h>

void
sf_normalized_init (SfNormalized *text)
{
  memset (text, 0, sizeof (*text));
}

void
sf_normalized_clear (SfNormalized *text)
{
  g_free (text->chars);
  g_free (text->align);
  sf_normalized_init (text);
}

void
sf_normalized_reserve (SfNormalized *text, guint cap)
{
  if (cap <= text->cap)
    return;
  text->chars = g_renew (gunichar, text->chars, cap);
  text->align = g_renew (guint32, text->align, 2 * (gsize)cap);
  text->cap = cap;
}

void
sf_normalized_set (
    SfNormalized *text, const gunichar *chars, guint n, guint32 first)
{
  sf_normalized_reserve (text, MAX (n, 16));
  memcpy (text->chars, chars, n * sizeof (gunichar));
  for (guint i = 0; i < n; i++) {
    text->align[2 * i] = first + i;
    text->align[2 * i + 1] = first + i + 1;
  }
  text->len = n;
  text->limit = MIN ((gsize)n * SF_NORMALIZED_MAX_GROWTH + SF_NORMALIZED_SLACK,
      (gsize)G_MAXUINT32);
}

void
sf_normalized_swap (SfNormalized *a, SfNormalized *b)
{
  SfNormalized t = *a;
  gsize la = a->limit, lb = b->limit;

  *a = *b;
  *b = t;
  a->limit = la;
  b->limit = lb;
}

gboolean
sf_normalized_check_len (
    const SfNormalized *text, gsize len, const char *where, GError **error)
{
  if (text->limit == 0 || len <= text->limit)
    return TRUE;
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s would grow the text to %" G_GSIZE_FORMAT " chars, over the limit "
      "of %" G_GSIZE_FORMAT " (%d per input char, plus %d)",
      where, len, text->limit, SF_NORMALIZED_MAX_GROWTH, SF_NORMALIZED_SLACK);
  return FALSE;
}

/* ---- character classes ---- */

gboolean
sf_unichar_is_white_space (gunichar c)
{
  if (c < 0x80)
    return c == ' ' || (c >= 0x09 && c <= 0x0d);
  switch (c) {
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000: return TRUE;
    default: return c >= 0x2000 && c <= 0x200a;
  }
}

gboolean
sf_unichar_is_control (gunichar c)
{
  if (c < 0x80)
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
  return sf_unicode_ranges_contain (
      sf_unicode_bert_control, sf_unicode_bert_control_len, c);
}

gboolean
sf_unichar_is_bert_punct (gunichar c)
{
  if (c < 0x80)
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96)
        || (c >= 123 && c <= 126);
  return sf_unicode_ranges_contain (
      sf_unicode_bert_punct, sf_unicode_bert_punct_len, c);
}

gboolean
sf_unichar_is_cjk (gunichar c)
{
  return sf_unicode_ranges_contain (sf_unicode_cjk, sf_unicode_cjk_len, c);
}

gboolean
sf_unichar_is_word (gunichar c)
{
  if (c < 0x80)
    return g_ascii_isalnum (c) || c == '_';
  return sf_unicode_ranges_contain (sf_unicode_word, sf_unicode_word_len, c);
}

/* ---- normalisation forms ---- */

/* Appends the decomposition of @c, then moves the new non-starters into
 * canonical order (a stable insertion sort by combining class). Only the
 * chars move: the ranges stay in text order, as `tokenizers` assigns them
 * by position, so offsets never run backwards. */
static void
push_decomposed (
    SfNormalized *out, gunichar c, gboolean compat, guint32 start, guint32 end)
{
  gunichar buf[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
  gsize n;

  /* what `tokenizers` leaves whole stays whole, whatever GLib knows */
  if (c < (compat ? 0xa0 : 0xc0)
      || !(compat
              ? sf_unicode_ranges_contain (sf_unicode_compat_decomposable,
                  sf_unicode_compat_decomposable_len, c)
              : sf_unicode_ranges_contain (sf_unicode_canonical_decomposable,
                  sf_unicode_canonical_decomposable_len, c))) {
    n = 1;
    buf[0] = c;
  } else {
    n = g_unichar_fully_decompose (c, compat, buf, G_N_ELEMENTS (buf));
  }
  for (gsize k = 0; k < n; k++) {
    gint cc = buf[k] < 0x300 ? 0 : g_unichar_combining_class (buf[k]);
    guint i;

    sf_normalized_push (out, buf[k], start, end);
    if (cc == 0)
      continue;
    i = out->len - 1;
    while (i > 0) {
      gint prev = g_unichar_combining_class (out->chars[i - 1]);
      gunichar tc;

      if (prev == 0 || prev <= cc)
        break;
      tc = out->chars[i];
      out->chars[i] = out->chars[i - 1];
      out->chars[i - 1] = tc;
      i--;
    }
  }
}

/* Canonical composition of a decomposed text, in place. */
static void
compose (SfNormalized *text)
{
  guint w = 0;
  gint starter = -1;
  gint last_cc = 0;

  for (guint r = 0; r < text->len; r++) {
    gunichar c = text->chars[r];
    gint cc = c < 0x300 ? 0 : g_unichar_combining_class (c);
    gunichar composed;

    if (starter >= 0 && c >= 0x300) {
      gboolean adjacent = (gint)w - 1 == starter;

      /* the composed char keeps the starter's original range, as
       * `tokenizers` reports it */
      if ((adjacent || (last_cc != 0 && last_cc < cc))
          && g_unichar_compose (text->chars[starter], c, &composed)) {
        text->chars[starter] = composed;
        continue;
      }
    }
    if (cc == 0)
      starter = w;
    last_cc = cc;
    text->chars[w] = c;
    text->align[2 * w] = text->align[2 * r];
    text->align[2 * w + 1] = text->align[2 * r + 1];
    w++;
  }
  text->len = w;
}

void
sf_normalized_apply_form (
    SfNormalized *text, SfNormalized *scratch, SfNormForm form)
{
  gboolean compat = form == SF_NORM_FORM_NFKD || form == SF_NORM_FORM_NFKC;
  gunichar plain = compat ? 0xa0 : 0xc0;
  guint i = 0;

  /* nothing below U+00C0 decomposes or composes canonically, nothing
   * below U+00A0 in compatibility forms */
  while (i < text->len && text->chars[i] < plain)
    i++;
  if (i == text->len)
    return;

  scratch->len = 0;
  sf_normalized_reserve (scratch, text->len + 16);
  for (i = 0; i < text->len; i++)
    push_decomposed (scratch, text->chars[i], compat, text->align[2 * i],
        text->align[2 * i + 1]);
  if (form == SF_NORM_FORM_NFC || form == SF_NORM_FORM_NFKC)
    compose (scratch);
  sf_normalized_swap (text, scratch);
}

void
sf_normalized_lowercase (SfNormalized *text, SfNormalized *scratch)
{
  scratch->len = 0;
  sf_normalized_reserve (scratch, text->len + 16);
  for (guint i = 0; i < text->len; i++) {
    gunichar c = text->chars[i];
    guint32 a = text->align[2 * i], b = text->align[2 * i + 1];

    if (c < 0x80) {
      sf_normalized_push (scratch, g_ascii_tolower (c), a, b);
    } else if (c == 0x130) {
      /* capital I with dot: the only context-free lower-casing to two
       * characters */
      sf_normalized_push (scratch, 'i', a, b);
      sf_normalized_push (scratch, 0x307, a, b);
    } else {
      sf_normalized_push (scratch, sf_unicode_tolower (c), a, b);
    }
  }
  sf_normalized_swap (text, scratch);
}

void
sf_normalized_drop_marks (SfNormalized *text, SfNormalized *scratch)
{
  guint w = 0;

  for (guint i = 0; i < text->len; i++) {
    gunichar c = text->chars[i];

    if (c >= 0x300
        && sf_unicode_ranges_contain (
            sf_unicode_nonspacing_mark, sf_unicode_nonspacing_mark_len, c))
      continue;
    text->chars[w] = c;
    text->align[2 * w] = text->align[2 * i];
    text->align[2 * w + 1] = text->align[2 * i + 1];
    w++;
  }
  text->len = w;
}

void
sf_normalized_drop_all_marks (SfNormalized *text)
{
  guint w = 0;

  for (guint i = 0; i < text->len; i++) {
    gunichar c = text->chars[i];

    if (c >= 0x300) {
      GUnicodeType t = g_unichar_type (c);

      if (t == G_UNICODE_NON_SPACING_MARK || t == G_UNICODE_SPACING_MARK
          || t == G_UNICODE_ENCLOSING_MARK)
        continue;
    }
    text->chars[w] = c;
    text->align[2 * w] = text->align[2 * i];
    text->align[2 * w + 1] = text->align[2 * i + 1];
    w++;
  }
  text->len = w;
}
