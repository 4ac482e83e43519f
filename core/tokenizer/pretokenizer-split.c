/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the pattern-splitting pre-tokenizers, Split (a
 * String or Regex pattern, optionally inverted), Punctuation and Digits.
 *
 * A span is first cut into alternating pieces that did or did not match
 * the pattern; the behaviour then decides what becomes of the matches:
 * dropped (removed), kept alone (isolated), glued to the piece before
 * (merged_with_previous) or after (merged_with_next), or runs of matches
 * fused (contiguous). This follows `tokenizers`' NormalizedString::split.
 */
#include "core/tokenizer/tokenizer-private.h"
#include "core/tokenizer/unicode-tables.h"

#include "core/error.h"

typedef struct
{
  guint start;
  guint end;
  gboolean match;
} Piece;

static inline void
push_piece (GArray *pieces, guint start, guint end, gboolean match)
{
  Piece p = { start, end, match };

  g_array_append_val (pieces, p);
}

/* Turns the sorted @matches of @span into pieces covering it. */
static void
pieces_from_matches (
    SfSpan span, const GArray *matches, gboolean invert, GArray *pieces)
{
  guint prev = span.start;

  for (guint i = 0; i < matches->len; i++) {
    const SfSpan *m = &g_array_index (matches, SfSpan, i);

    if (m->start > prev)
      push_piece (pieces, prev, m->start, invert);
    push_piece (pieces, m->start, m->end, !invert);
    prev = m->end;
  }
  if (span.end > prev)
    push_piece (pieces, prev, span.end, invert);
}

static void
apply_behavior (const GArray *pieces, SfSplitBehavior behavior, GArray *out)
{
  guint first = out->len;
  gboolean previous = FALSE;

  switch (behavior) {
    case SF_SPLIT_REMOVED:
    case SF_SPLIT_ISOLATED:
      for (guint i = 0; i < pieces->len; i++) {
        const Piece *p = &g_array_index (pieces, Piece, i);
        SfSpan s = { p->start, p->end };

        if (!(p->match && behavior == SF_SPLIT_REMOVED))
          g_array_append_val (out, s);
      }
      break;
    case SF_SPLIT_CONTIGUOUS:
    case SF_SPLIT_MERGED_WITH_PREVIOUS:
      for (guint i = 0; i < pieces->len; i++) {
        const Piece *p = &g_array_index (pieces, Piece, i);
        gboolean glue = behavior == SF_SPLIT_CONTIGUOUS ? p->match == previous
                                                        : p->match && !previous;
        SfSpan s = { p->start, p->end };

        if (glue && out->len > first)
          g_array_index (out, SfSpan, out->len - 1).end = p->end;
        else
          g_array_append_val (out, s);
        previous = p->match;
      }
      break;
    case SF_SPLIT_MERGED_WITH_NEXT:
      /* the mirror image of merged_with_previous, walking backwards */
      for (guint i = pieces->len; i-- > 0;) {
        const Piece *p = &g_array_index (pieces, Piece, i);
        SfSpan s = { p->start, p->end };

        if (p->match && !previous && out->len > first)
          g_array_index (out, SfSpan, out->len - 1).start = p->start;
        else
          g_array_append_val (out, s);
        previous = p->match;
      }
      for (guint a = first, b = out->len; a + 1 < b; a++, b--) {
        SfSpan t = g_array_index (out, SfSpan, a);

        g_array_index (out, SfSpan, a) = g_array_index (out, SfSpan, b - 1);
        g_array_index (out, SfSpan, b - 1) = t;
      }
      break;
  }
  /* empty words are dropped, as `tokenizers` does */
  for (guint i = first; i < out->len;) {
    const SfSpan *s = &g_array_index (out, SfSpan, i);

    if (s->end <= s->start)
      g_array_remove_index (out, i);
    else
      i++;
  }
}

typedef gboolean (*CharPredicate) (gunichar c, gunichar arg);

/* Splits @span where single chars satisfy @pred. */
static void
split_on_predicate (const SfNormalized *text, SfSpan span, CharPredicate pred,
    gunichar arg, SfSplitBehavior behavior, GArray *out)
{
  g_autoptr (GArray) pieces = g_array_new (FALSE, FALSE, sizeof (Piece));
  guint prev = span.start;

  for (guint i = span.start; i < span.end; i++) {
    if (!pred (text->chars[i], arg))
      continue;
    if (i > prev)
      push_piece (pieces, prev, i, FALSE);
    push_piece (pieces, i, i + 1, TRUE);
    prev = i + 1;
  }
  if (span.end > prev)
    push_piece (pieces, prev, span.end, FALSE);
  apply_behavior (pieces, behavior, out);
}

static gboolean
is_char (gunichar c, gunichar arg)
{
  return c == arg;
}

void
sf_split_on_char (const SfNormalized *text, SfSpan span, gunichar c,
    SfSplitBehavior behavior, GArray *out)
{
  split_on_predicate (text, span, is_char, c, behavior, out);
}

gboolean
sf_split_behavior_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, SfSplitBehavior *out, GError **error)
{
  static const struct
  {
    const char *name;
    const char *alias;
    SfSplitBehavior behavior;
  } names[] = {
    { "Removed", "removed", SF_SPLIT_REMOVED },
    { "Isolated", "isolated", SF_SPLIT_ISOLATED },
    { "MergedWithPrevious", "merged_with_previous",
        SF_SPLIT_MERGED_WITH_PREVIOUS },
    { "MergedWithNext", "merged_with_next", SF_SPLIT_MERGED_WITH_NEXT },
    { "Contiguous", "contiguous", SF_SPLIT_CONTIGUOUS },
  };
  const char *name = NULL;

  if (!sf_tok_json_string (node, "behavior", field, ctx, &name, error))
    return FALSE;
  if (name == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (name, names[i].name)
        || g_str_equal (name, names[i].alias)) {
      *out = names[i].behavior;
      return TRUE;
    }
  sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
      "%s.behavior '%s' is not supported", field, name);
  return FALSE;
}

/* ---- Split ---- */

typedef struct
{
  SfPreTokenizer parent;
  GRegex *regex;
  SfSplitBehavior behavior;
  gboolean invert;
  char *where; /* "FILE: FIELD" for errors */
} SplitPreTokenizer;

static gboolean
split_split (const SfPreTokenizer *base, SfNormalized *text, const GArray *in,
    GArray *out, GError **error)
{
  const SplitPreTokenizer *self = (const SplitPreTokenizer *)base;
  g_autoptr (GArray) matches = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  g_autoptr (GArray) pieces = g_array_new (FALSE, FALSE, sizeof (Piece));

  for (guint i = 0; i < in->len; i++) {
    SfSpan span = g_array_index (in, SfSpan, i);

    g_array_set_size (matches, 0);
    g_array_set_size (pieces, 0);
    if (!sf_tok_regex_find (
            self->regex, text->chars, span.start, span.end, matches, error)) {
      g_prefix_error (error, "%s: ", self->where);
      return FALSE;
    }
    pieces_from_matches (span, matches, self->invert, pieces);
    apply_behavior (pieces, self->behavior, out);
  }
  return TRUE;
}

static void
split_free (SfPreTokenizer *base)
{
  SplitPreTokenizer *self = (SplitPreTokenizer *)base;

  if (self->regex)
    g_regex_unref (self->regex);
  g_free (self->where);
  g_free (self);
}

static const SfPreTokenizerClass split_class = { "Split", split_split,
  split_free };

SfPreTokenizer *
sf_pre_tokenizer_split_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  SplitPreTokenizer *self = g_new0 (SplitPreTokenizer, 1);

  self->parent.klass = &split_class;
  self->where =
      g_strdup_printf ("%s: %s (Split)", ctx ? ctx->file : "tokenizer", field);
  self->behavior = SF_SPLIT_REMOVED;
  if (!sf_split_behavior_from_json (node, field, ctx, &self->behavior, error)
      || !sf_tok_json_bool (node, "invert", field, ctx, &self->invert, error)
      || !(self->regex =
               sf_tok_regex_from_json (node, "pattern", field, ctx, error))) {
    split_free (&self->parent);
    return NULL;
  }
  return &self->parent;
}

/* ---- Punctuation and Digits ---- */

typedef struct
{
  SfPreTokenizer parent;
  CharPredicate pred;
  SfSplitBehavior behavior;
} CharSplitPreTokenizer;

static gboolean
is_punctuation (gunichar c, gunichar arg)
{
  return sf_unichar_is_bert_punct (c);
}

static gboolean
is_numeric (gunichar c, gunichar arg)
{
  if (c < 0x80)
    return c >= '0' && c <= '9';
  return sf_unicode_ranges_contain (
      sf_unicode_numeric, sf_unicode_numeric_len, c);
}

static gboolean
char_split_split (const SfPreTokenizer *base, SfNormalized *text,
    const GArray *in, GArray *out, GError **error)
{
  const CharSplitPreTokenizer *self = (const CharSplitPreTokenizer *)base;

  for (guint i = 0; i < in->len; i++)
    split_on_predicate (text, g_array_index (in, SfSpan, i), self->pred, 0,
        self->behavior, out);
  return TRUE;
}

static void
char_split_free (SfPreTokenizer *base)
{
  g_free (base);
}

static const SfPreTokenizerClass char_split_class = { "CharSplit",
  char_split_split, char_split_free };

static SfPreTokenizer *
char_split_new (CharPredicate pred, SfSplitBehavior behavior)
{
  CharSplitPreTokenizer *self = g_new0 (CharSplitPreTokenizer, 1);

  self->parent.klass = &char_split_class;
  self->pred = pred;
  self->behavior = behavior;
  return &self->parent;
}

SfPreTokenizer *
sf_pre_tokenizer_punctuation_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error)
{
  SfSplitBehavior behavior = SF_SPLIT_ISOLATED;

  if (!sf_split_behavior_from_json (node, field, ctx, &behavior, error))
    return NULL;
  return char_split_new (is_punctuation, behavior);
}

SfPreTokenizer *
sf_pre_tokenizer_digits_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  gboolean individual = FALSE;

  if (!sf_tok_json_bool (
          node, "individual_digits", field, ctx, &individual, error))
    return NULL;
  return char_split_new (
      is_numeric, individual ? SF_SPLIT_ISOLATED : SF_SPLIT_CONTIGUOUS);
}
