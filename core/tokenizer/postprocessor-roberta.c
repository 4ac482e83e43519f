/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the post-processors of byte-level BPE models,
 * RobertaProcessing (<s> A </s> and <s> A </s></s> B </s>, every type id
 * 0) and ByteLevel (no special tokens).
 *
 * Both can trim offsets: a token that starts or ends with spaces ("Ġ" or
 * whitespace) gets the offsets of its text without them, except the one
 * space add_prefix_space put before the first token.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

/* Ġ, the byte-level char of the space */
#define BYTE_LEVEL_SPACE 0x120

static inline gboolean
is_trimmed (gunichar c)
{
  return c == BYTE_LEVEL_SPACE || sf_unichar_is_white_space (c);
}

void
sf_byte_level_trim_offsets (
    SfTokenEntry *entries, guint n, gboolean add_prefix_space)
{
  for (guint i = 0; i < n; i++) {
    SfTokenEntry *e = &entries[i];
    const char *token = e->token ? e->token : "";
    const char *p, *end = token + strlen (token);
    gint64 leading = 0, trailing = 0;

    for (p = token; *p && is_trimmed (g_utf8_get_char (p));
         p = g_utf8_next_char (p))
      leading++;
    for (p = end; p > token;) {
      const char *prev = g_utf8_prev_char (p);

      if (!is_trimmed (g_utf8_get_char (prev)))
        break;
      trailing++;
      p = prev;
    }
    if (leading > 0) {
      /* keep the one space that add_prefix_space put first */
      if ((i == 0 || e->start == 0) && add_prefix_space && leading == 1)
        leading = 0;
      e->start = MIN (e->start + leading, e->end);
    }
    if (trailing > 0 && e->end >= trailing)
      e->end = MAX (e->end - trailing, e->start);
  }
}

typedef struct
{
  SfPostProcessor parent;
  gboolean trim_offsets;
  gboolean add_prefix_space;
  char *cls; /* RobertaProcessing only */
  gint32 cls_id;
  char *sep;
  gint32 sep_id;
} ByteLevelProcessor;

static void
push_special (GArray *out, const char *token, gint32 id)
{
  SfTokenEntry e = { id, 0, 1, token, 0, 0 };

  g_array_append_val (out, e);
}

/* Appends @seq to @out, trimmed when asked; returns its first index. */
static guint
append_sequence (const ByteLevelProcessor *self, const GArray *seq, GArray *out)
{
  guint first = out->len;

  g_array_append_vals (out, seq->data, seq->len);
  if (self->trim_offsets)
    sf_byte_level_trim_offsets (&g_array_index (out, SfTokenEntry, first),
        seq->len, self->add_prefix_space);
  return first;
}

static guint
roberta_added_tokens (const SfPostProcessor *base, gboolean is_pair)
{
  return is_pair ? 4 : 2;
}

static void
roberta_process (const SfPostProcessor *base, const GArray *a, const GArray *b,
    gboolean add_special_tokens, GArray *out)
{
  const ByteLevelProcessor *self = (const ByteLevelProcessor *)base;

  if (add_special_tokens)
    push_special (out, self->cls, self->cls_id);
  append_sequence (self, a, out);
  if (add_special_tokens)
    push_special (out, self->sep, self->sep_id);
  if (b) {
    if (add_special_tokens)
      push_special (out, self->sep, self->sep_id);
    append_sequence (self, b, out);
    if (add_special_tokens)
      push_special (out, self->sep, self->sep_id);
  }
  /* RoBERTa has no segment embeddings: every type id is 0 */
  for (guint i = 0; i < out->len; i++)
    g_array_index (out, SfTokenEntry, i).type_id = 0;
}

static guint
byte_level_added_tokens (const SfPostProcessor *base, gboolean is_pair)
{
  return 0;
}

static void
byte_level_process (const SfPostProcessor *base, const GArray *a,
    const GArray *b, gboolean add_special_tokens, GArray *out)
{
  const ByteLevelProcessor *self = (const ByteLevelProcessor *)base;

  append_sequence (self, a, out);
  if (b)
    append_sequence (self, b, out);
}

static void
byte_level_transform (const SfPostProcessor *base, GArray *seq)
{
  const ByteLevelProcessor *self = (const ByteLevelProcessor *)base;

  if (self->trim_offsets)
    sf_byte_level_trim_offsets (
        (SfTokenEntry *)seq->data, seq->len, self->add_prefix_space);
}

static void
byte_level_free (SfPostProcessor *base)
{
  ByteLevelProcessor *self = (ByteLevelProcessor *)base;

  g_free (self->cls);
  g_free (self->sep);
  g_free (self);
}

static const SfPostProcessorClass roberta_class = {
  "RobertaProcessing",
  roberta_added_tokens,
  roberta_process,
  byte_level_free,
  NULL,
};

static const SfPostProcessorClass byte_level_class = {
  "ByteLevel",
  byte_level_added_tokens,
  byte_level_process,
  byte_level_free,
  byte_level_transform,
};

static ByteLevelProcessor *
byte_level_processor_new (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, const SfPostProcessorClass *klass,
    GError **error)
{
  ByteLevelProcessor *self = g_new0 (ByteLevelProcessor, 1);

  self->parent.klass = klass;
  self->trim_offsets = TRUE;
  self->add_prefix_space = TRUE;
  if (!sf_tok_json_bool (
          node, "trim_offsets", field, ctx, &self->trim_offsets, error)
      || !sf_tok_json_bool (node, "add_prefix_space", field, ctx,
          &self->add_prefix_space, error)) {
    g_free (self);
    return NULL;
  }
  return self;
}

/* A ["token", id] pair. */
static gboolean
read_token_pair (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, char **token, gint32 *id, GError **error)
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
  *token = g_strdup (t->valuestring);
  *id = (gint32)i->valuedouble;
  return TRUE;
}

SfPostProcessor *
sf_post_processor_roberta_new_from_json (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  ByteLevelProcessor *self =
      byte_level_processor_new (node, field, ctx, &roberta_class, error);

  if (self == NULL)
    return NULL;
  if (!read_token_pair (
          node, "cls", field, ctx, &self->cls, &self->cls_id, error)
      || !read_token_pair (
          node, "sep", field, ctx, &self->sep, &self->sep_id, error)) {
    byte_level_free (&self->parent);
    return NULL;
  }
  return &self->parent;
}

SfPostProcessor *
sf_post_processor_byte_level_new_from_json (const cJSON *node,
    const char *field, const SfTokLoadContext *ctx, GError **error)
{
  ByteLevelProcessor *self =
      byte_level_processor_new (node, field, ctx, &byte_level_class, error);

  return self ? &self->parent : NULL;
}
