/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: greedy CTC decoding. Mirrors the decode path of
 * transformers' Wav2Vec2CTCTokenizer: runs collapse on the raw frame ids
 * first, so "a <unk> a" stays two a's, and the special tokens go after. */
#include "graphs/post/ctc.h"
#include "core/io/config.h"
#include "core/error.h"

#include <string.h>

typedef enum
{
  CTC_TOKEN_TEXT,
  CTC_TOKEN_SKIP, /* blank or another special token */
  CTC_TOKEN_DELIMITER,
} CtcTokenKind;

struct SfCtcDecoder
{
  GPtrArray *tokens; /* char*, indexed by id (NULL: unused id) */
  guint8 *kinds;     /* CtcTokenKind per id */
};

void
sf_ctc_decoder_free (SfCtcDecoder *dec)
{
  if (dec == NULL)
    return;
  if (dec->tokens)
    g_ptr_array_unref (dec->tokens);
  g_free (dec->kinds);
  g_free (dec);
}

guint
sf_ctc_decoder_vocab_size (const SfCtcDecoder *dec)
{
  return dec->tokens->len;
}

/* A special-token field: a string, or an AddedToken object {"content"}. */
static gboolean
read_token_field (const SfConfig *cfg, const char *key, const char *def,
    const char **out, GError **error)
{
  const cJSON *item = cfg ? sf_config_get (cfg, key) : NULL;

  *out = def;
  if (item == NULL)
    return TRUE;
  if (cJSON_IsObject (item))
    item = cJSON_GetObjectItemCaseSensitive (item, "content");
  if (!cJSON_IsString (item)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be a string", sf_config_origin (cfg), key);
    return FALSE;
  }
  *out = item->valuestring;
  return TRUE;
}

static gboolean
ctc_read_vocab (SfCtcDecoder *dec, const char *path, GError **error)
{
  g_autoptr (SfConfig) vocab = sf_config_load (path, error);
  const cJSON *item;
  gint64 max_id = -1;

  if (vocab == NULL)
    return FALSE;
  cJSON_ArrayForEach (item, sf_config_root (vocab)) {
    if (!cJSON_IsNumber (item) || item->valuedouble < 0
        || item->valuedouble >= 1e7
        || item->valuedouble != (gint64)item->valuedouble) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: token '%s' must map to an integer id in [0, 10000000)", path,
          item->string);
      return FALSE;
    }
    max_id = MAX (max_id, (gint64)item->valuedouble);
  }
  if (max_id < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID, "%s: no tokens", path);
    return FALSE;
  }
  dec->tokens = g_ptr_array_new_full (max_id + 1, g_free);
  g_ptr_array_set_size (dec->tokens, max_id + 1);
  dec->kinds = g_new0 (guint8, max_id + 1);
  cJSON_ArrayForEach (item, sf_config_root (vocab)) {
    gint64 id = (gint64)item->valuedouble;
    if (dec->tokens->pdata[id] != NULL) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: id %" G_GINT64_FORMAT " is given to two tokens", path, id);
      return FALSE;
    }
    dec->tokens->pdata[id] = g_strdup (item->string);
  }
  return TRUE;
}

static void
ctc_mark (SfCtcDecoder *dec, const char *token, CtcTokenKind kind)
{
  for (guint i = 0; i < dec->tokens->len; i++)
    if (g_strcmp0 (dec->tokens->pdata[i], token) == 0)
      dec->kinds[i] = kind;
}

SfCtcDecoder *
sf_ctc_decoder_new (const SfModel *model, GError **error)
{
  SfCheckpoint *ckpt = sf_model_checkpoint (model);
  g_autofree char *vocab_path = sf_checkpoint_file (ckpt, "vocab.json");
  g_autofree char *cfg_path =
      sf_checkpoint_file (ckpt, "tokenizer_config.json");
  g_autoptr (SfConfig) cfg = NULL;
  g_autoptr (SfCtcDecoder) dec = g_new0 (SfCtcDecoder, 1);
  static const char *const keys[] = { "pad_token", "bos_token", "eos_token",
    "unk_token" };
  static const char *const defaults[] = { "<pad>", "<s>", "</s>", "<unk>" };
  const char *delimiter;

  if (vocab_path == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no vocab.json; cannot decode CTC output", sf_model_dir (model));
    return NULL;
  }
  if (cfg_path && (cfg = sf_config_load (cfg_path, error)) == NULL)
    return NULL;
  if (!ctc_read_vocab (dec, vocab_path, error)
      || !read_token_field (
          cfg, "word_delimiter_token", "|", &delimiter, error))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const char *token;
    if (!read_token_field (cfg, keys[i], defaults[i], &token, error))
      return NULL;
    ctc_mark (dec, token, CTC_TOKEN_SKIP);
  }
  ctc_mark (dec, delimiter, CTC_TOKEN_DELIMITER);
  for (guint i = 0; i < dec->tokens->len; i++)
    if (dec->tokens->pdata[i] == NULL)
      dec->kinds[i] = CTC_TOKEN_SKIP;
  return g_steal_pointer (&dec);
}

void
sf_ctc_greedy_ids (
    const float *logits, gint64 frames, gint64 vocab, gint64 *ids)
{
  for (gint64 t = 0; t < frames; t++) {
    const float *row = logits + t * vocab;
    gint64 best = 0;
    for (gint64 v = 1; v < vocab; v++)
      if (row[v] > row[best])
        best = v;
    ids[t] = best;
  }
}

static void
word_clear (gpointer data)
{
  SfCtcWord *w = data;
  g_free (w->text);
}

GArray *
sf_ctc_decoder_words (
    const SfCtcDecoder *dec, const gint64 *ids, gint64 n, GError **error)
{
  g_autoptr (GArray) words = g_array_new (FALSE, FALSE, sizeof (SfCtcWord));
  g_autoptr (GString) cur = g_string_new (NULL);
  gint64 start = 0, end = 0;

  g_array_set_clear_func (words, word_clear);
  for (gint64 t = 0; t < n; t++) {
    if (ids[t] < 0 || ids[t] >= (gint64)dec->tokens->len) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "CTC id %" G_GINT64_FORMAT " at frame %" G_GINT64_FORMAT
          " is outside the vocabulary of %u tokens",
          ids[t], t, dec->tokens->len);
      return NULL;
    }
  }
  for (gint64 t = 0; t <= n; t++) {
    gboolean boundary = t == n;
    if (!boundary) {
      if (t > 0 && ids[t] == ids[t - 1])
        continue; /* a run of one token counts once */
      switch (dec->kinds[ids[t]]) {
        case CTC_TOKEN_SKIP: continue;
        case CTC_TOKEN_DELIMITER: boundary = TRUE; break;
        case CTC_TOKEN_TEXT:
          if (cur->len == 0)
            start = t;
          g_string_append (cur, dec->tokens->pdata[ids[t]]);
          end = t + 1;
          /* the token's run extends its end */
          while (end < n && ids[end] == ids[t])
            end++;
          break;
      }
    }
    if (boundary && cur->len > 0) {
      SfCtcWord w = { g_strdup (cur->str), start, end };
      g_array_append_val (words, w);
      g_string_truncate (cur, 0);
    }
  }
  return g_steal_pointer (&words);
}

char *
sf_ctc_decoder_decode (
    const SfCtcDecoder *dec, const gint64 *ids, gint64 n, GError **error)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (gint64 t = 0; t < n; t++) {
    if (ids[t] < 0 || ids[t] >= (gint64)dec->tokens->len) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "CTC id %" G_GINT64_FORMAT " at frame %" G_GINT64_FORMAT
          " is outside the vocabulary of %u tokens",
          ids[t], t, dec->tokens->len);
      return NULL;
    }
    if (t > 0 && ids[t] == ids[t - 1])
      continue;
    if (dec->kinds[ids[t]] == CTC_TOKEN_DELIMITER)
      g_string_append_c (text, ' ');
    else if (dec->kinds[ids[t]] == CTC_TOKEN_TEXT)
      g_string_append (text, dec->tokens->pdata[ids[t]]);
  }
  g_strstrip (text->str);
  return g_strdup (text->str);
}
