/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: lookups in the generated Unicode range tables. */
#include "core/tokenizer/unicode-tables.h"

gboolean
sf_unicode_ranges_contain (const SfUnicodeRange *ranges, guint n, gunichar c)
{
  guint lo = 0, hi = n;

  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;
    if (c < ranges[mid].first)
      hi = mid;
    else if (c > ranges[mid].last)
      lo = mid + 1;
    else
      return TRUE;
  }
  return FALSE;
}

gunichar
sf_unicode_tolower (gunichar c)
{
  guint lo = 0, hi = sf_unicode_lowercase_len;

  while (lo < hi) {
    guint mid = lo + (hi - lo) / 2;
    const SfUnicodeCaseRun *run = &sf_unicode_lowercase[mid];
    if (c < run->first)
      hi = mid;
    else if (c > run->last)
      lo = mid + 1;
    else
      return (c - run->first) % run->stride == 0 ? (gunichar)(c + run->delta)
                                                 : c;
  }
  return c;
}
