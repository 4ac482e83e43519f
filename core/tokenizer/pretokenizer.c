/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: pre-tokenizers, which cut normalised text into words.
 *
 * BertPreTokenizer drops whitespace and isolates every punctuation char;
 * Whitespace keeps runs of word chars (\w+) and runs of other non-space
 * chars ([^\w\s]+); WhitespaceSplit splits on whitespace only; Sequence
 * applies its children in turn. Split, Punctuation, Digits, ByteLevel and
 * Metaspace live in their own files. A new pre-tokenizer adds its
 * constructor to the table at the end.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

typedef enum
{
  SPLIT_BERT,
  SPLIT_WHITESPACE,
  SPLIT_WHITESPACE_SPLIT,
} SplitKind;

typedef struct
{
  SfPreTokenizer parent;
  SplitKind kind;
} SplitPreTokenizer;

static inline void
emit (GArray *out, guint start, guint end)
{
  SfSpan span = { start, end };

  if (end > start)
    g_array_append_val (out, span);
}

/* 0 for whitespace, 1 for word chars, 2 for the rest. */
static inline int
whitespace_class (gunichar c)
{
  if (sf_unichar_is_white_space (c))
    return 0;
  return sf_unichar_is_word (c) ? 1 : 2;
}

static void
split_span (SplitKind kind, const SfNormalized *text, SfSpan span, GArray *out)
{
  guint word = span.start;

  switch (kind) {
    case SPLIT_BERT:
      for (guint i = span.start; i < span.end; i++) {
        gunichar c = text->chars[i];

        if (sf_unichar_is_white_space (c)) {
          emit (out, word, i);
          word = i + 1;
        } else if (sf_unichar_is_bert_punct (c)) {
          emit (out, word, i);
          emit (out, i, i + 1);
          word = i + 1;
        }
      }
      emit (out, word, span.end);
      break;
    case SPLIT_WHITESPACE_SPLIT:
      for (guint i = span.start; i < span.end; i++) {
        if (sf_unichar_is_white_space (text->chars[i])) {
          emit (out, word, i);
          word = i + 1;
        }
      }
      emit (out, word, span.end);
      break;
    case SPLIT_WHITESPACE: {
      int run = 0;

      for (guint i = span.start; i < span.end; i++) {
        int cls = whitespace_class (text->chars[i]);

        if (cls != run) {
          if (run != 0)
            emit (out, word, i);
          word = i;
          run = cls;
        }
      }
      if (run != 0)
        emit (out, word, span.end);
      break;
    }
  }
}

static gboolean
split_split (const SfPreTokenizer *base, SfNormalized *text, const GArray *in,
    GArray *out, GError **error)
{
  const SplitPreTokenizer *self = (const SplitPreTokenizer *)base;

  for (guint i = 0; i < in->len; i++)
    split_span (self->kind, text, g_array_index (in, SfSpan, i), out);
  return TRUE;
}

static void
split_free (SfPreTokenizer *base)
{
  g_free (base);
}

static const SfPreTokenizerClass split_class = { "split", split_split,
  split_free };

static SfPreTokenizer *
split_new (SplitKind kind)
{
  SplitPreTokenizer *self = g_new0 (SplitPreTokenizer, 1);

  self->parent.klass = &split_class;
  self->kind = kind;
  return &self->parent;
}

SfPreTokenizer *
sf_pre_tokenizer_bert_new (void)
{
  return split_new (SPLIT_BERT);
}

static SfPreTokenizer *
bert_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  return split_new (SPLIT_BERT);
}

static SfPreTokenizer *
whitespace_new (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  return split_new (SPLIT_WHITESPACE);
}

static SfPreTokenizer *
whitespace_split_new (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  return split_new (SPLIT_WHITESPACE_SPLIT);
}

/* ---- Sequence ---- */

typedef struct
{
  SfPreTokenizer parent;
  GPtrArray *children; /* SfPreTokenizer */
} SequencePreTokenizer;

static gboolean
sequence_split (const SfPreTokenizer *base, SfNormalized *text,
    const GArray *in, GArray *out, GError **error)
{
  const SequencePreTokenizer *self = (const SequencePreTokenizer *)base;
  g_autoptr (GArray) cur = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  g_autoptr (GArray) next = g_array_new (FALSE, FALSE, sizeof (SfSpan));

  g_array_append_vals (cur, in->data, in->len);
  for (guint i = 0; i < self->children->len; i++) {
    const SfPreTokenizer *child = g_ptr_array_index (self->children, i);
    GArray *t;

    g_array_set_size (next, 0);
    if (!child->klass->split (child, text, cur, next, error))
      return FALSE;
    t = cur;
    cur = next;
    next = t;
  }
  g_array_append_vals (out, cur->data, cur->len);
  return TRUE;
}

static void
sequence_free (SfPreTokenizer *base)
{
  SequencePreTokenizer *self = (SequencePreTokenizer *)base;

  g_ptr_array_unref (self->children);
  g_free (self);
}

static const SfPreTokenizerClass sequence_class = { "Sequence", sequence_split,
  sequence_free };

static SfPreTokenizer *
sequence_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (node, "pretokenizers");
  SequencePreTokenizer *self;
  const cJSON *item;
  guint i = 0;

  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.pretokenizers must be an array", field);
    return NULL;
  }
  self = g_new0 (SequencePreTokenizer, 1);
  self->parent.klass = &sequence_class;
  self->children =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_pre_tokenizer_free);
  cJSON_ArrayForEach (item, list) {
    g_autofree char *child_field =
        g_strdup_printf ("%s.pretokenizers[%u]", field, i++);
    SfPreTokenizer *child;

    child = sf_pre_tokenizer_new_from_json (item, child_field, ctx, error);
    if (child == NULL) {
      sequence_free (&self->parent);
      return NULL;
    }
    g_ptr_array_add (self->children, child);
  }
  return &self->parent;
}

/* ---- factory ---- */

static const struct
{
  const char *type;
  SfPreTokenizerNewFunc new_func;
} pre_tokenizer_types[] = {
  { "BertPreTokenizer", bert_new },
  { "Whitespace", whitespace_new },
  { "WhitespaceSplit", whitespace_split_new },
  { "Sequence", sequence_new },
  { "Split", sf_pre_tokenizer_split_new_from_json },
  { "Punctuation", sf_pre_tokenizer_punctuation_new_from_json },
  { "Digits", sf_pre_tokenizer_digits_new_from_json },
  { "ByteLevel", sf_pre_tokenizer_byte_level_new_from_json },
  { "Metaspace", sf_pre_tokenizer_metaspace_new_from_json },
};

SfPreTokenizer *
sf_pre_tokenizer_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *type = sf_tok_json_type (node, field, ctx, error);

  if (type == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (pre_tokenizer_types); i++)
    if (g_strcmp0 (type, pre_tokenizer_types[i].type) == 0)
      return pre_tokenizer_types[i].new_func (node, field, ctx, error);
  sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
      "%s.type '%s' is not supported", field, type);
  return NULL;
}

void
sf_pre_tokenizer_free (SfPreTokenizer *self)
{
  if (self != NULL)
    self->klass->free (self);
}
