/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: post-processors, which frame the encoded sequences
 * with special tokens and set the type ids.
 *
 * TemplateProcessing is read from its "single" and "pair" piece lists and
 * its "special_tokens" table. BertProcessing ([CLS] A [SEP] B [SEP]) is the
 * same template built from its "cls" and "sep" pairs. Special tokens get
 * the offsets (0, 0) and special = 1. Sequence chains post-processors;
 * RobertaProcessing and ByteLevel live in postprocessor-roberta.c. A new
 * post-processor adds its constructor to the table at the end.
 */
#include "core/tokenizer/tokenizer-private.h"

#include "core/error.h"
#include "core/io/json-number.h"

typedef struct
{
  guint n;
  gint32 *ids;   /* [n] */
  char **tokens; /* [n] */
} SpecialTokens;

typedef struct
{
  gint sequence; /* 0 for $A, 1 for $B, -1 for special */
  gint32 type_id;
  const SpecialTokens *special; /* when sequence is -1 */
} Piece;

typedef struct
{
  SfPostProcessor parent;
  GHashTable *specials; /* name → SpecialTokens */
  GArray *single;       /* Piece */
  GArray *pair;         /* Piece */
} TemplateProcessor;

static void
special_tokens_free (SpecialTokens *s)
{
  g_free (s->ids);
  g_strfreev (s->tokens);
  g_free (s);
}

static guint
template_added_tokens (const SfPostProcessor *base, gboolean is_pair)
{
  const TemplateProcessor *self = (const TemplateProcessor *)base;
  const GArray *pieces = is_pair ? self->pair : self->single;
  guint n = 0;

  for (guint i = 0; i < pieces->len; i++) {
    const Piece *p = &g_array_index (pieces, Piece, i);

    if (p->sequence < 0)
      n += p->special->n;
  }
  return n;
}

static void
template_process (const SfPostProcessor *base, const GArray *a, const GArray *b,
    gboolean add_special_tokens, GArray *out)
{
  const TemplateProcessor *self = (const TemplateProcessor *)base;
  const GArray *pieces = b ? self->pair : self->single;

  for (guint i = 0; i < pieces->len; i++) {
    const Piece *p = &g_array_index (pieces, Piece, i);

    if (p->sequence >= 0) {
      const GArray *seq = p->sequence == 0 ? a : b;
      guint first = out->len;

      if (seq == NULL)
        continue;
      g_array_append_vals (out, seq->data, seq->len);
      for (guint k = first; k < out->len; k++)
        g_array_index (out, SfTokenEntry, k).type_id = p->type_id;
    } else if (add_special_tokens) {
      for (guint k = 0; k < p->special->n; k++) {
        SfTokenEntry e = { p->special->ids[k], p->type_id, 1,
          p->special->tokens[k], 0, 0 };
        g_array_append_val (out, e);
      }
    }
  }
}

static void
template_free (SfPostProcessor *base)
{
  TemplateProcessor *self = (TemplateProcessor *)base;

  g_hash_table_unref (self->specials);
  g_array_unref (self->single);
  g_array_unref (self->pair);
  g_free (self);
}

static const SfPostProcessorClass template_class = {
  "TemplateProcessing",
  template_added_tokens,
  template_process,
  template_free,
  NULL,
};

static TemplateProcessor *
template_alloc (void)
{
  TemplateProcessor *self = g_new0 (TemplateProcessor, 1);

  self->parent.klass = &template_class;
  self->specials = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, (GDestroyNotify)special_tokens_free);
  self->single = g_array_new (FALSE, FALSE, sizeof (Piece));
  self->pair = g_array_new (FALSE, FALSE, sizeof (Piece));
  return self;
}

static const SpecialTokens *
add_special (TemplateProcessor *self, const char *name, gint32 id)
{
  SpecialTokens *s = g_new0 (SpecialTokens, 1);

  s->n = 1;
  s->ids = g_new (gint32, 1);
  s->ids[0] = id;
  s->tokens = g_new0 (char *, 2);
  s->tokens[0] = g_strdup (name);
  g_hash_table_replace (self->specials, g_strdup (name), s);
  return s;
}

static void
push_piece (
    GArray *pieces, gint sequence, gint32 type_id, const SpecialTokens *special)
{
  Piece p = { sequence, type_id, special };

  g_array_append_val (pieces, p);
}

SfPostProcessor *
sf_post_processor_bert_new (
    const char *cls, gint32 cls_id, const char *sep, gint32 sep_id)
{
  TemplateProcessor *self = template_alloc ();
  const SpecialTokens *c = add_special (self, cls, cls_id);
  const SpecialTokens *s = add_special (self, sep, sep_id);

  push_piece (self->single, -1, 0, c);
  push_piece (self->single, 0, 0, NULL);
  push_piece (self->single, -1, 0, s);
  g_array_append_vals (self->pair, self->single->data, self->single->len);
  push_piece (self->pair, 1, 1, NULL);
  push_piece (self->pair, -1, 1, s);
  return &self->parent;
}

/* A ["token", id] pair of BertProcessing. */
static gboolean
read_token_pair (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, const char **token, gint32 *id, GError **error)
{
  const cJSON *pair = cJSON_GetObjectItemCaseSensitive (node, key);
  const cJSON *t, *i;

  if (cJSON_GetArraySize (pair) != 2
      || !cJSON_IsString (t = cJSON_GetArrayItem (pair, 0))
      || !cJSON_IsNumber (i = cJSON_GetArrayItem (pair, 1))
      || i->valuedouble < 0 || i->valuedouble > SF_VOCAB_MAX_ID) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.%s must be a [token, id] pair", field, key);
    return FALSE;
  }
  *token = t->valuestring;
  *id = (gint32)i->valuedouble;
  return TRUE;
}

static SfPostProcessor *
bert_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  const char *cls, *sep;
  gint32 cls_id, sep_id;

  if (!read_token_pair (node, "cls", field, ctx, &cls, &cls_id, error)
      || !read_token_pair (node, "sep", field, ctx, &sep, &sep_id, error))
    return NULL;
  return sf_post_processor_bert_new (cls, cls_id, sep, sep_id);
}

static gboolean
read_specials (TemplateProcessor *self, const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *table =
      cJSON_GetObjectItemCaseSensitive (node, "special_tokens");
  const cJSON *item;

  if (table == NULL || cJSON_IsNull (table))
    return TRUE;
  if (!cJSON_IsObject (table))
    goto invalid;
  cJSON_ArrayForEach (item, table) {
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive (item, "ids");
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive (item, "tokens");
    SpecialTokens *s;
    guint n;

    if (!cJSON_IsArray (ids) || !cJSON_IsArray (tokens)
        || cJSON_GetArraySize (ids) != cJSON_GetArraySize (tokens))
      goto invalid;
    n = cJSON_GetArraySize (ids);
    s = g_new0 (SpecialTokens, 1);
    s->n = n;
    s->ids = g_new0 (gint32, n);
    s->tokens = g_new0 (char *, n + 1);
    g_hash_table_replace (self->specials, g_strdup (item->string), s);
    for (guint k = 0; k < n; k++) {
      const cJSON *i = cJSON_GetArrayItem (ids, k);
      const cJSON *t = cJSON_GetArrayItem (tokens, k);

      if (!cJSON_IsNumber (i) || i->valuedouble < 0
          || i->valuedouble > SF_VOCAB_MAX_ID || !cJSON_IsString (t))
        goto invalid;
      s->ids[k] = (gint32)i->valuedouble;
      s->tokens[k] = g_strdup (t->valuestring);
    }
  }
  return TRUE;

invalid:
  sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
      "%s.special_tokens must map names to {ids, tokens} of equal length",
      field);
  return FALSE;
}

static gboolean
read_template (TemplateProcessor *self, const cJSON *node, const char *key,
    const char *field, const SfTokLoadContext *ctx, GArray *pieces,
    GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (node, key);
  const cJSON *item;
  guint i = 0;

  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.%s must be an array of pieces", field, key);
    return FALSE;
  }
  cJSON_ArrayForEach (item, list) {
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive (item, "Sequence");
    const cJSON *special =
        cJSON_GetObjectItemCaseSensitive (item, "SpecialToken");
    const cJSON *body = seq ? seq : special;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (body, "id");
    const cJSON *type_id = cJSON_GetObjectItemCaseSensitive (body, "type_id");
    gint64 type = 0;

    if (body == NULL || !cJSON_IsString (id))
      goto invalid;
    if (type_id && !sf_json_integer (type_id, 0, G_MAXINT32, &type)) {
      sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
          "%s.%s[%u].type_id must be an integer in [0, %d]", field, key, i,
          G_MAXINT32);
      return FALSE;
    }
    if (seq) {
      if (g_strcmp0 (id->valuestring, "A") == 0)
        push_piece (pieces, 0, (gint32)type, NULL);
      else if (g_strcmp0 (id->valuestring, "B") == 0)
        push_piece (pieces, 1, (gint32)type, NULL);
      else
        goto invalid;
    } else {
      const SpecialTokens *s =
          g_hash_table_lookup (self->specials, id->valuestring);

      if (s == NULL) {
        sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
            "%s.%s[%u] names special token '%s', which is not in "
            "%s.special_tokens",
            field, key, i, id->valuestring, field);
        return FALSE;
      }
      push_piece (pieces, -1, (gint32)type, s);
    }
    i++;
  }
  return TRUE;

invalid:
  sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
      "%s.%s[%u] must be a Sequence (A or B) or a SpecialToken", field, key, i);
  return FALSE;
}

static SfPostProcessor *
template_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  TemplateProcessor *self = template_alloc ();

  if (!read_specials (self, node, field, ctx, error)
      || !read_template (self, node, "single", field, ctx, self->single, error))
    goto fail;
  if (cJSON_GetObjectItemCaseSensitive (node, "pair") != NULL) {
    if (!read_template (self, node, "pair", field, ctx, self->pair, error))
      goto fail;
  } else {
    /* no pair template: the single one, then B with type id 1 */
    g_array_append_vals (self->pair, self->single->data, self->single->len);
    push_piece (self->pair, 1, 1, NULL);
  }
  return &self->parent;

fail:
  template_free (&self->parent);
  return NULL;
}

/* ---- Sequence ---- */

/* Children that only rewrite each sequence (ByteLevel) run on the two
 * sequences apart; a framing child merges them, and the children after it
 * see the framed result as one sequence. */
typedef struct
{
  SfPostProcessor parent;
  GPtrArray *children; /* SfPostProcessor */
} SequenceProcessor;

static guint
sequence_added_tokens (const SfPostProcessor *base, gboolean is_pair)
{
  const SequenceProcessor *self = (const SequenceProcessor *)base;
  guint n = 0;

  for (guint i = 0; i < self->children->len; i++) {
    const SfPostProcessor *child = g_ptr_array_index (self->children, i);

    n += child->klass->added_tokens (child, is_pair);
  }
  return n;
}

static GArray *
copy_entries (const GArray *src)
{
  GArray *copy =
      g_array_sized_new (FALSE, FALSE, sizeof (SfTokenEntry), src->len + 8);

  g_array_append_vals (copy, src->data, src->len);
  return copy;
}

static void
sequence_process (const SfPostProcessor *base, const GArray *a, const GArray *b,
    gboolean add_special_tokens, GArray *out)
{
  const SequenceProcessor *self = (const SequenceProcessor *)base;
  GArray *cur_a = copy_entries (a);
  GArray *cur_b = b ? copy_entries (b) : NULL;

  for (guint i = 0; i < self->children->len; i++) {
    const SfPostProcessor *child = g_ptr_array_index (self->children, i);
    GArray *framed;

    if (child->klass->transform) {
      child->klass->transform (child, cur_a);
      if (cur_b)
        child->klass->transform (child, cur_b);
      continue;
    }
    framed = g_array_sized_new (FALSE, FALSE, sizeof (SfTokenEntry),
        cur_a->len + (cur_b ? cur_b->len : 0) + 8);
    child->klass->process (child, cur_a, cur_b, add_special_tokens, framed);
    g_array_unref (cur_a);
    if (cur_b)
      g_array_unref (cur_b);
    cur_a = framed;
    cur_b = NULL;
  }
  g_array_append_vals (out, cur_a->data, cur_a->len);
  if (cur_b)
    g_array_append_vals (out, cur_b->data, cur_b->len);
  g_array_unref (cur_a);
  if (cur_b)
    g_array_unref (cur_b);
}

static void
sequence_free (SfPostProcessor *base)
{
  SequenceProcessor *self = (SequenceProcessor *)base;

  g_ptr_array_unref (self->children);
  g_free (self);
}

static const SfPostProcessorClass sequence_class = {
  "Sequence",
  sequence_added_tokens,
  sequence_process,
  sequence_free,
  NULL,
};

static SfPostProcessor *
sequence_new (const cJSON *node, const char *field, const SfTokLoadContext *ctx,
    GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (node, "processors");
  SequenceProcessor *self;
  const cJSON *item;
  guint i = 0;

  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.processors must be an array", field);
    return NULL;
  }
  self = g_new0 (SequenceProcessor, 1);
  self->parent.klass = &sequence_class;
  self->children =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_post_processor_free);
  cJSON_ArrayForEach (item, list) {
    g_autofree char *child_field =
        g_strdup_printf ("%s.processors[%u]", field, i++);
    SfPostProcessor *child;

    child = sf_post_processor_new_from_json (item, child_field, ctx, error);
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
  SfPostProcessorNewFunc new_func;
} post_processor_types[] = {
  { "TemplateProcessing", template_new },
  { "BertProcessing", bert_new },
  { "RobertaProcessing", sf_post_processor_roberta_new_from_json },
  { "ByteLevel", sf_post_processor_byte_level_new_from_json },
  { "Sequence", sequence_new },
};

SfPostProcessor *
sf_post_processor_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const char *type = sf_tok_json_type (node, field, ctx, error);

  if (type == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (post_processor_types); i++)
    if (g_strcmp0 (type, post_processor_types[i].type) == 0)
      return post_processor_types[i].new_func (node, field, ctx, error);
  sf_tok_set_error (error, SF_ERROR_UNSUPPORTED, ctx,
      "%s.type '%s' is not supported", field, type);
  return NULL;
}

void
sf_post_processor_free (SfPostProcessor *self)
{
  if (self != NULL)
    self->klass->free (self);
}
