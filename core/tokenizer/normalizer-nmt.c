/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the Nmt normalizer of SentencePiece models. It drops
 * the ASCII control characters (but tab, line feed, form feed and carriage
 * return) and turns the other space-like code points (those four, ogham
 * space, zero-width spaces and marks, line and paragraph separators,
 * U+2581, the BOM and U+FFFD) into a plain space.
 */
#include "core/tokenizer/tokenizer-private.h"

static inline gboolean
nmt_drops (gunichar c)
{
  return (c >= 0x01 && c <= 0x08) || c == 0x0b || (c >= 0x0e && c <= 0x1f)
      || c == 0x7f || c == 0x8f || c == 0x9f;
}

static inline gboolean
nmt_is_space (gunichar c)
{
  switch (c) {
    case 0x09:
    case 0x0a:
    case 0x0c:
    case 0x0d:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x2581:
    case 0xfeff:
    case 0xfffd: return TRUE;
    default: return c >= 0x200b && c <= 0x200f;
  }
}

static gboolean
nmt_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  guint w = 0;

  for (guint i = 0; i < text->len; i++) {
    gunichar c = text->chars[i];

    if (nmt_drops (c))
      continue;
    text->chars[w] = nmt_is_space (c) ? ' ' : c;
    text->align[2 * w] = text->align[2 * i];
    text->align[2 * w + 1] = text->align[2 * i + 1];
    w++;
  }
  text->len = w;
  return TRUE;
}

static void
nmt_free (SfNormalizer *base)
{
  g_free (base);
}

static const SfNormalizerClass nmt_class = { "Nmt", nmt_normalize, nmt_free };

SfNormalizer *
sf_normalizer_nmt_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  SfNormalizer *self = g_new0 (SfNormalizer, 1);

  self->klass = &nmt_class;
  return self;
}
