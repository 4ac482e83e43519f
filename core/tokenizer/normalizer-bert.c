/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: BertNormalizer, as `tokenizers` applies it.
 *
 * In order: clean_text drops NUL, U+FFFD and control/format characters and
 * turns every whitespace into a plain space; handle_chinese_chars puts
 * spaces around CJK ideographs so each becomes its own word; strip_accents
 * (which follows lowercase when null) decomposes to NFD and drops
 * non-spacing marks; lowercase lower-cases every character.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

typedef struct
{
  SfNormalizer parent;
  gboolean clean_text;
  gboolean handle_chinese_chars;
  gboolean strip_accents;
  gboolean lowercase;
} BertNormalizer;

/* clean_text and handle_chinese_chars in one pass. */
static void
clean_and_space (
    const BertNormalizer *self, SfNormalized *text, SfNormalized *scratch)
{
  scratch->len = 0;
  sf_normalized_reserve (scratch, text->len + 16);
  for (guint i = 0; i < text->len; i++) {
    gunichar c = text->chars[i];
    guint32 a = text->align[2 * i], b = text->align[2 * i + 1];

    if (self->clean_text) {
      if (c == 0 || c == 0xfffd || sf_unichar_is_control (c))
        continue;
      if (sf_unichar_is_white_space (c))
        c = ' ';
    }
    if (self->handle_chinese_chars && c >= 0x3400 && sf_unichar_is_cjk (c)) {
      sf_normalized_push (scratch, ' ', a, b);
      sf_normalized_push (scratch, c, a, b);
      sf_normalized_push (scratch, ' ', a, b);
    } else {
      sf_normalized_push (scratch, c, a, b);
    }
  }
  sf_normalized_swap (text, scratch);
}

static gboolean
bert_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const BertNormalizer *self = (const BertNormalizer *)base;

  if (self->clean_text || self->handle_chinese_chars)
    clean_and_space (self, text, scratch);
  if (self->strip_accents) {
    sf_normalized_apply_form (text, scratch, SF_NORM_FORM_NFD);
    sf_normalized_drop_marks (text, scratch);
  }
  if (self->lowercase)
    sf_normalized_lowercase (text, scratch);
  return TRUE;
}

static void
bert_free (SfNormalizer *base)
{
  g_free (base);
}

static const SfNormalizerClass bert_class = { "BertNormalizer", bert_normalize,
  bert_free };

SfNormalizer *
sf_normalizer_bert_new (gboolean clean_text, gboolean handle_chinese_chars,
    gboolean strip_accents, gboolean lowercase)
{
  BertNormalizer *self = g_new0 (BertNormalizer, 1);

  self->parent.klass = &bert_class;
  self->clean_text = clean_text;
  self->handle_chinese_chars = handle_chinese_chars;
  self->strip_accents = strip_accents;
  self->lowercase = lowercase;
  return &self->parent;
}

SfNormalizer *
sf_normalizer_bert_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  gboolean clean_text = TRUE, chinese = TRUE, lowercase = TRUE;
  gboolean strip = -1;

  if (!sf_tok_json_bool (node, "clean_text", field, ctx, &clean_text, error)
      || !sf_tok_json_bool (
          node, "handle_chinese_chars", field, ctx, &chinese, error)
      || !sf_tok_json_bool (node, "lowercase", field, ctx, &lowercase, error)
      || !sf_tok_json_bool (node, "strip_accents", field, ctx, &strip, error))
    return NULL;
  /* a null strip_accents follows lowercase */
  if (strip == -1)
    strip = lowercase;
  return sf_normalizer_bert_new (clean_text, chinese, strip, lowercase);
}
