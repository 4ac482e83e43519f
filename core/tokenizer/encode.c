/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the encode and decode pipelines.
 *
 * Encoding one sequence: added tokens are cut out of the raw text; every
 * piece between them is normalised (keeping its alignment), searched for
 * normalised added tokens, split into words by the pre-tokenizer and into
 * ids by the model. Offsets go back to the original characters through the
 * alignment. Truncation (longest_first) then leaves room for the tokens the
 * post-processor adds, and the post-processor frames the result.
 *
 * All work buffers belong to the call, so one tokenizer may encode from
 * several threads at once.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

typedef struct
{
  SfNormalized norm;
  SfNormalized scratch;
  SfNormalized work;     /* the piece the pre-tokenizer may rewrite */
  GStringChunk *strings; /* token strings that are the text itself */
  GArray *splits;        /* SfAddedSplit */
  GArray *norm_splits;   /* SfAddedSplit */
  GArray *spans;         /* SfSpan */
  GArray *words;         /* SfSpan */
  GArray *pieces;        /* SfModelToken */
} EncodeState;

static void
encode_state_init (EncodeState *st)
{
  sf_normalized_init (&st->norm);
  sf_normalized_init (&st->scratch);
  sf_normalized_init (&st->work);
  st->strings = NULL;
  st->splits = g_array_new (FALSE, FALSE, sizeof (SfAddedSplit));
  st->norm_splits = g_array_new (FALSE, FALSE, sizeof (SfAddedSplit));
  st->spans = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  st->words = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  st->pieces = g_array_new (FALSE, FALSE, sizeof (SfModelToken));
}

static void
encode_state_clear (EncodeState *st)
{
  sf_normalized_clear (&st->norm);
  sf_normalized_clear (&st->scratch);
  sf_normalized_clear (&st->work);
  if (st->strings)
    g_string_chunk_free (st->strings);
  g_array_unref (st->splits);
  g_array_unref (st->norm_splits);
  g_array_unref (st->spans);
  g_array_unref (st->words);
  g_array_unref (st->pieces);
}

static void
push_added (GArray *entries, const SfAddedToken *t, gint32 type_id,
    gint64 start, gint64 end)
{
  SfTokenEntry e = { t->id, type_id, 0, t->content, start, end };

  g_array_append_val (entries, e);
}

/* The string of a token that is its own text (UTF-8 of @text[start, end)),
 * kept in the state until the encoding is built. */
static const char *
raw_token (EncodeState *st, const SfNormalized *text, guint start, guint end)
{
  g_autofree char *utf8 =
      g_ucs4_to_utf8 (text->chars + start, end - start, NULL, NULL, NULL);

  if (st->strings == NULL)
    st->strings = g_string_chunk_new (1024);
  return g_string_chunk_insert (st->strings, utf8 ? utf8 : "");
}

/* Pre-tokenizes and tokenizes st->norm.chars[start, end). The piece is
 * copied first, since a pre-tokenizer may rewrite the text it splits. */
static gboolean
encode_words (const SfTokenizer *tok, EncodeState *st, guint start, guint end,
    gint32 type_id, GArray *entries, GError **error)
{
  SfSpan whole = { 0, end - start };
  const SfModel *model = tok->model;
  SfNormalized *work = &st->work;

  sf_normalized_reserve (work, MAX (end - start, 16));
  memcpy (
      work->chars, st->norm.chars + start, (end - start) * sizeof (gunichar));
  memcpy (work->align, st->norm.align + 2 * start,
      2 * (end - start) * sizeof (guint32));
  work->len = end - start;

  g_array_set_size (st->spans, 0);
  g_array_set_size (st->words, 0);
  g_array_append_val (st->spans, whole);
  if (tok->pre_tokenizer) {
    if (!tok->pre_tokenizer->klass->split (
            tok->pre_tokenizer, work, st->spans, st->words, error))
      return FALSE;
  } else
    g_array_append_val (st->words, whole);

  for (guint w = 0; w < st->words->len; w++) {
    const SfSpan *word = &g_array_index (st->words, SfSpan, w);

    g_array_set_size (st->pieces, 0);
    if (!model->klass->tokenize (
            model, work, word->start, word->end, st->pieces, error))
      return FALSE;
    for (guint p = 0; p < st->pieces->len; p++) {
      const SfModelToken *mt = &g_array_index (st->pieces, SfModelToken, p);
      SfTokenEntry e;

      if (mt->end <= mt->start)
        continue;
      e.id = mt->id;
      e.type_id = type_id;
      e.special = 0;
      e.token = mt->raw ? raw_token (st, work, mt->start, mt->end)
                        : model->klass->id_to_token (model, mt->id);
      e.start = work->align[2 * mt->start];
      e.end = work->align[2 * (mt->end - 1) + 1];
      g_array_append_val (entries, e);
    }
  }
  return TRUE;
}

/* One sequence → entries with @type_id. @what names it in errors. */
static gboolean
encode_sequence (const SfTokenizer *tok, EncodeState *st, const char *text,
    const char *what, gint32 type_id, GArray *entries, GError **error)
{
  g_autofree gunichar *chars = NULL;
  const char *bad;
  glong n = 0;

  if (!g_utf8_validate (text, -1, &bad)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "tokenizer: %s is not valid UTF-8 (byte %" G_GSIZE_FORMAT ")", what,
        (gsize)(bad - text));
    return FALSE;
  }
  chars = g_utf8_to_ucs4_fast (text, -1, &n);

  g_array_set_size (st->splits, 0);
  sf_added_vocab_split (tok->added, FALSE, chars, n, st->splits);
  for (guint i = 0; i < st->splits->len; i++) {
    const SfAddedSplit *s = &g_array_index (st->splits, SfAddedSplit, i);

    if (s->token) {
      push_added (entries, s->token, type_id, s->start, s->end);
      continue;
    }
    sf_normalized_set (
        &st->norm, chars + s->start, s->end - s->start, s->start);
    if (tok->normalizer
        && !tok->normalizer->klass->normalize (
            tok->normalizer, &st->norm, &st->scratch, error))
      return FALSE;

    if (!sf_added_vocab_has (tok->added, TRUE)) {
      if (!encode_words (tok, st, 0, st->norm.len, type_id, entries, error))
        return FALSE;
      continue;
    }
    g_array_set_size (st->norm_splits, 0);
    sf_added_vocab_split (
        tok->added, TRUE, st->norm.chars, st->norm.len, st->norm_splits);
    for (guint k = 0; k < st->norm_splits->len; k++) {
      const SfAddedSplit *ns =
          &g_array_index (st->norm_splits, SfAddedSplit, k);

      if (ns->token)
        push_added (entries, ns->token, type_id, st->norm.align[2 * ns->start],
            st->norm.align[2 * (ns->end - 1) + 1]);
      else if (!encode_words (
                   tok, st, ns->start, ns->end, type_id, entries, error))
        return FALSE;
    }
  }
  return TRUE;
}

/* `tokenizers`' longest_first: when both sequences must shrink, each gets
 * half of @budget (the first one the smaller half). */
static gboolean
truncate_longest_first (GArray *a, GArray *b, guint budget)
{
  guint n1 = a->len, n2 = b ? b->len : 0;
  gboolean swap;

  if (n1 + n2 <= budget)
    return FALSE;
  if (b == NULL) {
    g_array_set_size (a, budget);
    return TRUE;
  }
  swap = n1 > n2;
  if (swap) {
    guint t = n1;
    n1 = n2;
    n2 = t;
  }
  /* n1 is now the shorter one */
  if (n1 > budget)
    n2 = n1;
  else
    n2 = MAX (n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swap) {
    guint t = n1;
    n1 = n2;
    n2 = t;
  }
  g_array_set_size (a, MIN (a->len, n1));
  g_array_set_size (b, MIN (b->len, n2));
  return TRUE;
}

static SfEncoding *
encoding_from_entries (const GArray *entries)
{
  SfEncoding *enc = g_new0 (SfEncoding, 1);
  guint n = entries->len;

  enc->n = n;
  enc->ids = g_new (gint32, MAX (n, 1));
  enc->type_ids = g_new (gint32, MAX (n, 1));
  enc->special_mask = g_new (guint8, MAX (n, 1));
  enc->offsets = g_new (gint64, 2 * MAX (n, 1));
  enc->tokens = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++) {
    const SfTokenEntry *e = &g_array_index (entries, SfTokenEntry, i);

    enc->ids[i] = e->id;
    enc->type_ids[i] = e->type_id;
    enc->special_mask[i] = e->special;
    enc->offsets[2 * i] = e->start;
    enc->offsets[2 * i + 1] = e->end;
    enc->tokens[i] = g_strdup (e->token ? e->token : "");
  }
  return enc;
}

SfEncoding *
sf_tokenizer_encode (SfTokenizer *tok, const char *text, const char *pair,
    const SfEncodeOptions *options, GError **error)
{
  static const SfEncodeOptions defaults = SF_ENCODE_OPTIONS_DEFAULT;
  g_autoptr (GArray) a = NULL;
  g_autoptr (GArray) b = NULL;
  g_autoptr (GArray) out = NULL;
  EncodeState st;
  gboolean ok, truncated = FALSE;
  SfEncoding *enc;

  g_return_val_if_fail (tok != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);
  if (options == NULL)
    options = &defaults;

  /* room for one token per two bytes of text; pages never touched cost
   * nothing */
  a = g_array_sized_new (
      FALSE, FALSE, sizeof (SfTokenEntry), strlen (text) / 2 + 4);
  if (pair)
    b = g_array_sized_new (
        FALSE, FALSE, sizeof (SfTokenEntry), strlen (pair) / 2 + 4);
  /* the state lives until the encoding is built: it owns the strings of
   * tokens that are their own text */
  encode_state_init (&st);
  ok = encode_sequence (tok, &st, text, "text", 0, a, error)
      && (pair == NULL
          || encode_sequence (tok, &st, pair, "pair text", 1, b, error));
  if (!ok) {
    encode_state_clear (&st);
    return NULL;
  }

  if (options->max_length > 0) {
    guint added = 0;

    if (options->add_special_tokens && tok->post_processor)
      added = tok->post_processor->klass->added_tokens (
          tok->post_processor, pair != NULL);
    if (options->max_length < added) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "tokenizer: max_length %u leaves no room for the %u special "
          "tokens",
          options->max_length, added);
      encode_state_clear (&st);
      return NULL;
    }
    truncated = truncate_longest_first (a, b, options->max_length - added);
  }

  out = g_array_sized_new (
      FALSE, FALSE, sizeof (SfTokenEntry), a->len + (b ? b->len : 0) + 8);
  if (tok->post_processor) {
    tok->post_processor->klass->process (
        tok->post_processor, a, b, options->add_special_tokens, out);
  } else {
    g_array_append_vals (out, a->data, a->len);
    if (b)
      g_array_append_vals (out, b->data, b->len);
  }
  enc = encoding_from_entries (out);
  enc->truncated = truncated;
  encode_state_clear (&st);
  return enc;
}

void
sf_encoding_free (SfEncoding *enc)
{
  if (enc == NULL)
    return;
  g_free (enc->ids);
  g_free (enc->type_ids);
  g_free (enc->special_mask);
  g_free (enc->offsets);
  g_strfreev (enc->tokens);
  g_free (enc);
}

char *
sf_tokenizer_decode (
    SfTokenizer *tok, const gint32 *ids, guint n, gboolean skip_special_tokens)
{
  g_autoptr (GPtrArray) tokens = g_ptr_array_new_with_free_func (g_free);
  GString *text;

  g_return_val_if_fail (tok != NULL, NULL);
  g_return_val_if_fail (ids != NULL || n == 0, NULL);

  for (guint i = 0; i < n; i++) {
    const SfAddedToken *added = sf_added_vocab_by_id (tok->added, ids[i]);
    const char *token;

    if (added) {
      if (skip_special_tokens && added->special)
        continue;
      token = added->content;
    } else {
      token = tok->model->klass->id_to_token (tok->model, ids[i]);
      if (token == NULL)
        continue;
    }
    g_ptr_array_add (tokens, g_strdup (token));
  }

  if (tok->decoder)
    tok->decoder->klass->decode_chain (tok->decoder, tokens);
  text = g_string_new (NULL);
  for (guint i = 0; i < tokens->len; i++) {
    /* without a decoder, tokens are joined by spaces */
    if (i > 0 && tok->decoder == NULL)
      g_string_append_c (text, ' ');
    g_string_append (text, g_ptr_array_index (tokens, i));
  }
  return g_string_free (text, FALSE);
}
