/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the Strip normalizer, which drops the whitespace
 * (Unicode White_Space) at the left and/or right end of the text.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

typedef struct
{
  SfNormalizer parent;
  gboolean left;
  gboolean right;
} StripNormalizer;

static gboolean
strip_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const StripNormalizer *self = (const StripNormalizer *)base;
  guint start = 0, end = text->len;

  if (self->left)
    while (start < end && sf_unichar_is_white_space (text->chars[start]))
      start++;
  if (self->right)
    while (end > start && sf_unichar_is_white_space (text->chars[end - 1]))
      end--;
  if (start > 0) {
    memmove (
        text->chars, text->chars + start, (end - start) * sizeof (gunichar));
    memmove (text->align, text->align + 2 * start,
        2 * (end - start) * sizeof (guint32));
  }
  text->len = end - start;
  return TRUE;
}

static void
strip_free (SfNormalizer *base)
{
  g_free (base);
}

static const SfNormalizerClass strip_class = { "Strip", strip_normalize,
  strip_free };

SfNormalizer *
sf_normalizer_strip_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  gboolean left = TRUE, right = TRUE;
  StripNormalizer *self;

  if (!sf_tok_json_bool (node, "strip_left", field, ctx, &left, error)
      || !sf_tok_json_bool (node, "strip_right", field, ctx, &right, error))
    return NULL;
  self = g_new0 (StripNormalizer, 1);
  self->parent.klass = &strip_class;
  self->left = left;
  self->right = right;
  return &self->parent;
}
