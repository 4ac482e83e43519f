/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the normalizer factory and the simple normalizers
 * (Sequence, Lowercase, StripAccents, NFD, NFKD, NFC, NFKC).
 * BertNormalizer, Replace, Prepend, Strip, Nmt and Precompiled live in
 * their own files. A new normalizer adds its constructor to the table below.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"

/* ---- one-step normalizers ---- */

typedef enum
{
  SIMPLE_LOWERCASE,
  SIMPLE_STRIP_ACCENTS,
  SIMPLE_NFD,
  SIMPLE_NFKD,
  SIMPLE_NFC,
  SIMPLE_NFKC,
} SimpleKind;

typedef struct
{
  SfNormalizer parent;
  SimpleKind kind;
} SimpleNormalizer;

static gboolean
simple_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const SimpleNormalizer *self = (const SimpleNormalizer *)base;

  switch (self->kind) {
    case SIMPLE_LOWERCASE: sf_normalized_lowercase (text, scratch); break;
    case SIMPLE_STRIP_ACCENTS:
      /* `tokenizers` drops every combining mark only; callers pair it
       * with NFD */
      sf_normalized_drop_all_marks (text);
      break;
    case SIMPLE_NFD:
      sf_normalized_apply_form (text, scratch, SF_NORM_FORM_NFD);
      break;
    case SIMPLE_NFKD:
      sf_normalized_apply_form (text, scratch, SF_NORM_FORM_NFKD);
      break;
    case SIMPLE_NFC:
      sf_normalized_apply_form (text, scratch, SF_NORM_FORM_NFC);
      break;
    case SIMPLE_NFKC:
      sf_normalized_apply_form (text, scratch, SF_NORM_FORM_NFKC);
      break;
  }
  return TRUE;
}

static void
simple_free (SfNormalizer *base)
{
  g_free (base);
}

static const SfNormalizerClass simple_class = { "simple", simple_normalize,
  simple_free };

static SfNormalizer *
simple_new (SimpleKind kind)
{
  SimpleNormalizer *self = g_new0 (SimpleNormalizer, 1);

  self->parent.klass = &simple_class;
  self->kind = kind;
  return &self->parent;
}

#define SIMPLE_CONSTRUCTOR(name, kind)                                         \
  static SfNormalizer *name (const cJSON *node, const char *field,             \
      const SfTokLoadContext *ctx, GError **error)                             \
  {                                                                            \
    return simple_new (kind);                                                  \
  }

SIMPLE_CONSTRUCTOR (lowercase_new, SIMPLE_LOWERCASE)
SIMPLE_CONSTRUCTOR (strip_accents_new, SIMPLE_STRIP_ACCENTS)
SIMPLE_CONSTRUCTOR (nfd_new, SIMPLE_NFD)
SIMPLE_CONSTRUCTOR (nfkd_new, SIMPLE_NFKD)
SIMPLE_CONSTRUCTOR (nfc_new, SIMPLE_NFC)
SIMPLE_CONSTRUCTOR (nfkc_new, SIMPLE_NFKC)

/* ---- Sequence ---- */

typedef struct
{
  SfNormalizer parent;
  GPtrArray *children; /* SfNormalizer */
  char *where;         /* "FILE: FIELD" for errors */
} SequenceNormalizer;

static gboolean
sequence_normalize (const SfNormalizer *base, SfNormalized *text,
    SfNormalized *scratch, GError **error)
{
  const SequenceNormalizer *self = (const SequenceNormalizer *)base;

  for (guint i = 0; i < self->children->len; i++) {
    const SfNormalizer *child = g_ptr_array_index (self->children, i);

    /* the growing stages check for themselves; this bounds any other
     * chain of expanding steps */
    if (!child->klass->normalize (child, text, scratch, error)
        || !sf_normalized_check_len (text, text->len, self->where, error))
      return FALSE;
  }
  return TRUE;
}

static void
sequence_free (SfNormalizer *base)
{
  SequenceNormalizer *self = (SequenceNormalizer *)base;

  g_ptr_array_unref (self->children);
  g_free (self->where);
  g_free (self);
}

static const SfNormalizerClass sequence_class = { "Sequence",
  sequence_normalize, sequence_free };

static SfNormalizer *
sequence_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (node, "normalizers");
  SequenceNormalizer *self;
  const cJSON *item;
  guint i = 0;

  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.normalizers must be an array", field);
    return NULL;
  }
  self = g_new0 (SequenceNormalizer, 1);
  self->parent.klass = &sequence_class;
  self->children =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_normalizer_free);
  self->where =
      g_strdup_printf ("%s: %s", ctx ? ctx->file : "tokenizer", field);
  cJSON_ArrayForEach (item, list) {
    g_autofree char *child_field =
        g_strdup_printf ("%s.normalizers[%u]", field, i++);
    SfNormalizer *child;

    child = sf_normalizer_new_from_json (item, child_field, ctx, error);
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
  SfNormalizerNewFunc new_func;
} normalizer_types[] = {
  { "BertNormalizer", sf_normalizer_bert_new_from_json },
  { "Sequence", sequence_new },
  { "Lowercase", lowercase_new },
  { "StripAccents", strip_accents_new },
  { "NFD", nfd_new },
  { "NFKD", nfkd_new },
  { "NFC", nfc_new },
  { "NFKC", nfkc_new },
  { "Replace", sf_normalizer_replace_new_from_json },
  { "Prepend", sf_normalizer_prepend_new_from_json },
  { "Strip", sf_normalizer_strip_new_from_json },
  { "Nmt", sf_normalizer_nmt_new_from_json },
  { "Precompiled", sf_normalizer_precompiled_new_from_json },
};

SfNormalizer *
sf_normalizer_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *type = sf_tok_json_type (node, field, ctx, error);

  if (type == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (normalizer_types); i++)
    if (g_strcmp0 (type, normalizer_types[i].type) == 0)
      return normalizer_types[i].new_func (node, field, ctx, error);

  sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
      "%s.type '%s' is not supported", field, type);
  return NULL;
}

void
sf_normalizer_free (SfNormalizer *self)
{
  if (self != NULL)
    self->klass->free (self);
}
