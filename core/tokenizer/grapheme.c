/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: extended grapheme cluster boundaries (UAX #29), as
 * far as the Precompiled normalizer needs them.
 *
 * The break classes come from GLib's general categories plus the short
 * lists of the standard (Prepend, Other_Grapheme_Extend, SpacingMark
 * exceptions). Rules GB3 to GB9b are applied; GB9c (Indic conjuncts),
 * GB11 (emoji ZWJ sequences) and GB12/13 (flag pairs) are not: each joins
 * clusters of 6 bytes or more, which Precompiled reads char by char
 * anyway, so only the split of the chars after them could differ.
 */
#include "core/tokenizer/tokenizer-private.h"

typedef enum
{
  GCB_OTHER,
  GCB_CR,
  GCB_LF,
  GCB_CONTROL,
  GCB_EXTEND,
  GCB_ZWJ,
  GCB_PREPEND,
  GCB_SPACING_MARK,
  GCB_L,
  GCB_V,
  GCB_T,
  GCB_LV,
  GCB_LVT,
} GraphemeBreak;

typedef struct
{
  gunichar first, last;
} CharRange;

/* Other_Grapheme_Extend, and the emoji modifiers */
static const CharRange extra_extend[] = { { 0x09be, 0x09be },
  { 0x09d7, 0x09d7 }, { 0x0b3e, 0x0b3e }, { 0x0b57, 0x0b57 },
  { 0x0bbe, 0x0bbe }, { 0x0bd7, 0x0bd7 }, { 0x0cc2, 0x0cc2 },
  { 0x0cd5, 0x0cd6 }, { 0x0d3e, 0x0d3e }, { 0x0d57, 0x0d57 },
  { 0x0dcf, 0x0dcf }, { 0x0ddf, 0x0ddf }, { 0x1b35, 0x1b35 },
  { 0x200c, 0x200c }, { 0x302e, 0x302f }, { 0xff9e, 0xff9f },
  { 0x1133e, 0x1133e }, { 0x11357, 0x11357 }, { 0x114b0, 0x114b0 },
  { 0x114bd, 0x114bd }, { 0x115af, 0x115af }, { 0x11930, 0x11930 },
  { 0x1d165, 0x1d165 }, { 0x1d16e, 0x1d172 }, { 0x1f3fb, 0x1f3ff },
  { 0xe0020, 0xe007f } };

/* Prepend: prefixed consonants, repha and prepended concatenation marks */
static const CharRange prepend[] = { { 0x0600, 0x0605 }, { 0x06dd, 0x06dd },
  { 0x070f, 0x070f }, { 0x0890, 0x0891 }, { 0x08e2, 0x08e2 },
  { 0x0d4e, 0x0d4e }, { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd },
  { 0x111c2, 0x111c3 }, { 0x1193f, 0x1193f }, { 0x11941, 0x11941 },
  { 0x11a3a, 0x11a3a }, { 0x11a84, 0x11a89 }, { 0x11d46, 0x11d46 },
  { 0x11f02, 0x11f02 } };

/* spacing marks (Mc) that do not hold a cluster together */
static const CharRange not_spacing[] = { { 0x102b, 0x102c }, { 0x1038, 0x1038 },
  { 0x1062, 0x1064 }, { 0x1067, 0x106d }, { 0x1083, 0x1083 },
  { 0x1087, 0x108c }, { 0x108f, 0x108f }, { 0x109a, 0x109c },
  { 0x1a61, 0x1a61 }, { 0x1a63, 0x1a64 }, { 0xaa7b, 0xaa7b },
  { 0xaa7d, 0xaa7d }, { 0x11720, 0x11721 } };

/* Default_Ignorable_Code_Point: unassigned ones are Control */
static const CharRange default_ignorable[] = { { 0x2060, 0x206f },
  { 0xfff0, 0xfff8 }, { 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
  { 0xe0000, 0xe0fff } };

static gboolean
in_ranges (gunichar c, const CharRange *ranges, guint n)
{
  guint lo = 0, hi = n;

  while (lo < hi) {
    guint mid = (lo + hi) / 2;

    if (c < ranges[mid].first)
      hi = mid;
    else if (c > ranges[mid].last)
      lo = mid + 1;
    else
      return TRUE;
  }
  return FALSE;
}

#define IN_RANGES(c, table) in_ranges (c, table, G_N_ELEMENTS (table))

static GraphemeBreak
grapheme_break (gunichar c)
{
  if (c < 0x80) {
    if (c == '\r')
      return GCB_CR;
    if (c == '\n')
      return GCB_LF;
    return c < 0x20 || c == 0x7f ? GCB_CONTROL : GCB_OTHER;
  }
  if (c == 0x200d)
    return GCB_ZWJ;
  if (c >= 0xac00 && c <= 0xd7a3)
    return (c - 0xac00) % 28 == 0 ? GCB_LV : GCB_LVT;
  if ((c >= 0x1100 && c <= 0x115f) || (c >= 0xa960 && c <= 0xa97c))
    return GCB_L;
  if ((c >= 0x1160 && c <= 0x11a7) || (c >= 0xd7b0 && c <= 0xd7c6))
    return GCB_V;
  if ((c >= 0x11a8 && c <= 0x11ff) || (c >= 0xd7cb && c <= 0xd7fb))
    return GCB_T;
  if (IN_RANGES (c, extra_extend))
    return GCB_EXTEND;
  if (IN_RANGES (c, prepend))
    return GCB_PREPEND;
  if (c == 0x0e33 || c == 0x0eb3)
    return GCB_SPACING_MARK;
  switch (g_unichar_type (c)) {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK: return GCB_EXTEND;
    case G_UNICODE_SPACING_MARK:
      return IN_RANGES (c, not_spacing) ? GCB_OTHER : GCB_SPACING_MARK;
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_SURROGATE: return GCB_CONTROL;
    case G_UNICODE_UNASSIGNED:
      return IN_RANGES (c, default_ignorable) ? GCB_CONTROL : GCB_OTHER;
    default: return GCB_OTHER;
  }
}

/* Whether a cluster goes on from class @a to class @b. */
static gboolean
grapheme_joins (GraphemeBreak a, GraphemeBreak b)
{
  if (a == GCB_CR && b == GCB_LF)
    return TRUE; /* GB3 */
  if (a == GCB_CR || a == GCB_LF || a == GCB_CONTROL)
    return FALSE; /* GB4 */
  if (b == GCB_CR || b == GCB_LF || b == GCB_CONTROL)
    return FALSE; /* GB5 */
  if (b == GCB_EXTEND || b == GCB_ZWJ || b == GCB_SPACING_MARK)
    return TRUE; /* GB9, GB9a */
  if (a == GCB_PREPEND)
    return TRUE; /* GB9b */
  if (a == GCB_L)
    return b == GCB_L || b == GCB_V || b == GCB_LV || b == GCB_LVT; /* GB6 */
  if (a == GCB_LV || a == GCB_V)
    return b == GCB_V || b == GCB_T; /* GB7 */
  if (a == GCB_LVT || a == GCB_T)
    return b == GCB_T; /* GB8 */
  return FALSE;        /* GB999 */
}

guint
sf_tok_grapheme_end (const gunichar *chars, guint start, guint len)
{
  GraphemeBreak prev;
  guint i;

  if (start >= len)
    return len;
  prev = grapheme_break (chars[start]);
  for (i = start + 1; i < len; i++) {
    GraphemeBreak cur = grapheme_break (chars[i]);

    if (!grapheme_joins (prev, cur))
      break;
    prev = cur;
  }
  return i;
}
