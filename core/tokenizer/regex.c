/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the regular expressions of tokenizer.json (Replace,
 * Split, the GPT-2 split of ByteLevel), through GLib's GRegex (PCRE2 with
 * Unicode classes). PCRE2's Unicode version is not that of `tokenizers`'
 * Oniguruma, and its \w leaves out the other alphabetic characters, so
 * \p{L}, \p{N}, \s and \w, which the common split patterns rest on, are
 * spelled out from the tables probed from `tokenizers` (unicode-tables.h)
 * before compiling.
 *
 * The stages hold text as code points; a search converts the span to
 * UTF-8 once and maps the byte offsets of the matches back to char
 * indices while walking forward. Empty matches split nothing and are
 * skipped.
 */
#include "core/tokenizer/tokenizer-private.h"
#include "core/tokenizer/unicode-tables.h"

#include "core/error.h"

#include <string.h>

#define STACK_BYTES 1024

/* The classes spelled out: an escape, and its table. */
static const struct
{
  const char *escape;
  const SfUnicodeRange *ranges;
  const guint *n;
} spelled[] = {
  { "p{L}", sf_unicode_letter, &sf_unicode_letter_len },
  { "p{N}", sf_unicode_number, &sf_unicode_number_len },
  { "s", sf_unicode_space, &sf_unicode_space_len },
  { "w", sf_unicode_word, &sf_unicode_word_len },
};

static void
append_ranges (GString *out, const SfUnicodeRange *ranges, guint n)
{
  for (guint i = 0; i < n; i++) {
    g_string_append_printf (out, "\\x{%x}", ranges[i].first);
    if (ranges[i].last != ranges[i].first)
      g_string_append_printf (out, "-\\x{%x}", ranges[i].last);
  }
}

/* (transfer full) @pattern with \p{L}, \p{N}, \s and \w as explicit
 * ranges, and their negations \P{L}, \P{N}, \S and \W outside brackets
 * (inside, where a negation cannot be spelled out, they stay PCRE2's). */
static char *
spell_out_classes (const char *pattern)
{
  GString *out = g_string_sized_new (strlen (pattern));
  gboolean in_class = FALSE;

  for (const char *p = pattern; *p;) {
    gboolean done = FALSE;

    if (*p == '\\' && p[1]) {
      for (guint k = 0; k < G_N_ELEMENTS (spelled) && !done; k++) {
        const char *e = spelled[k].escape;
        gsize len = strlen (e);
        gboolean plain = strncmp (p + 1, e, len) == 0;
        gboolean negated = !in_class && p[1] == g_ascii_toupper (e[0])
            && strncmp (p + 2, e + 1, len - 1) == 0;

        if (!plain && !negated)
          continue;
        if (!in_class)
          g_string_append (out, negated ? "[^" : "[");
        append_ranges (out, spelled[k].ranges, *spelled[k].n);
        if (!in_class)
          g_string_append_c (out, ']');
        p += 1 + len;
        done = TRUE;
      }
      if (!done) {
        g_string_append_len (out, p, 2);
        p += 2;
      }
      continue;
    }
    if (*p == '[' && !in_class) {
      in_class = TRUE;
      g_string_append_c (out, *p++);
      /* a ']' right after '[' or '[^' is a member, not the end */
      if (*p == '^')
        g_string_append_c (out, *p++);
      if (*p == ']')
        g_string_append_c (out, *p++);
      continue;
    }
    if (*p == ']' && in_class)
      in_class = FALSE;
    g_string_append_c (out, *p++);
  }
  return g_string_free (out, FALSE);
}

GRegex *
sf_tok_regex_new (const char *pattern, gboolean literal, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  g_autofree char *escaped = NULL;
  g_autoptr (GError) local = NULL;
  GRegex *regex;

  if (literal)
    pattern = escaped = g_regex_escape_string (pattern, -1);
  else
    pattern = escaped = spell_out_classes (pattern);
  regex = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, &local);
  if (regex == NULL) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s is not a valid regular expression: %s", field, local->message);
    return NULL;
  }
  return regex;
}

GRegex *
sf_tok_regex_from_json (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *pattern = cJSON_GetObjectItemCaseSensitive (node, key);
  const cJSON *string = cJSON_GetObjectItemCaseSensitive (pattern, "String");
  const cJSON *regex = cJSON_GetObjectItemCaseSensitive (pattern, "Regex");
  g_autofree char *where = NULL;

  if (cJSON_IsString (string)) {
    where = g_strdup_printf ("%s.%s.String", field, key);
    return sf_tok_regex_new (string->valuestring, TRUE, where, ctx, error);
  }
  if (cJSON_IsString (regex)) {
    where = g_strdup_printf ("%s.%s.Regex", field, key);
    return sf_tok_regex_new (regex->valuestring, FALSE, where, ctx, error);
  }
  sf_tok_set_error (error, pattern ? SF_ERROR_INVALID : SF_ERROR_MISSING, ctx,
      "%s.%s must be {\"String\": ...} or {\"Regex\": ...}", field, key);
  return NULL;
}

gboolean
sf_tok_regex_find (const GRegex *regex, const gunichar *chars, guint start,
    guint end, GArray *out, GError **error)
{
  g_autoptr (GError) local = NULL;
  char stack[STACK_BYTES];
  char *utf8;
  gsize bytes = 0, need = (gsize)(end - start) * SF_UTF8_MAX_BYTES + 1;
  GMatchInfo *info = NULL;
  guint ci = start; /* char index at byte offset cb */
  gsize cb = 0;

  if (end <= start)
    return TRUE;
  utf8 = need <= STACK_BYTES ? stack : g_malloc (need);
  for (guint i = start; i < end; i++)
    bytes += sf_tok_char_to_utf8 (chars[i], utf8 + bytes);
  utf8[bytes] = '\0';

  /* GRegex reports PCRE2's match and depth limits as a GError; without a
   * check they would look like "no more matches" and cut the text */
  g_regex_match_full (regex, utf8, bytes, 0, 0, &info, &local);
  while (local == NULL && g_match_info_matches (info)) {
    gint ms = 0, me = 0;
    SfSpan span;

    g_match_info_fetch_pos (info, 0, &ms, &me);
    if (me > ms) {
      /* the text is our own valid UTF-8, but never let a lead byte's
       * length carry the walk past the end */
      while (cb < (gsize)ms) {
        cb += MIN ((gsize)g_utf8_skip[(guchar)utf8[cb]], bytes - cb);
        ci++;
      }
      span.start = ci;
      while (cb < (gsize)me) {
        cb += MIN ((gsize)g_utf8_skip[(guchar)utf8[cb]], bytes - cb);
        ci++;
      }
      span.end = ci;
      g_array_append_val (out, span);
    }
    if (!g_match_info_next (info, &local))
      break;
  }
  g_match_info_free (info);
  if (utf8 != stack)
    g_free (utf8);
  if (local != NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "tokenizer: the regular expression /%s/ gave up on a text of %u "
        "chars: %s",
        g_regex_get_pattern (regex), end - start, local->message);
    return FALSE;
  }
  return TRUE;
}
