/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the BERT tokenizer from vocab.txt and
 * tokenizer_config.json, for checkpoints without tokenizer.json.
 *
 * It builds what `transformers` converts a slow BertTokenizer into:
 * BertNormalizer (lowercase = do_lower_case, strip_accents,
 * handle_chinese_chars = tokenize_chinese_chars), BertPreTokenizer,
 * WordPiece with "##" and 100 chars per word, the [CLS] A [SEP] B [SEP]
 * template and the WordPiece decoder. The special tokens of the config
 * (and its added_tokens_decoder) become special added tokens.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

/* A config token is a string or an {"content": ...} object. */
static gboolean
config_token (const cJSON *config, const char *key, const SfTokLoadContext *ctx,
    const char **out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (config, key);

  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  if (cJSON_IsObject (item))
    return sf_tok_json_string (item, "content", key, ctx, out, error);
  if (!cJSON_IsString (item)) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s must be a string or an object with a content", key);
    return FALSE;
  }
  *out = item->valuestring;
  return TRUE;
}

static SfVocab *
read_vocab (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local = NULL;
  SfVocab *vocab;
  gsize len = 0;
  char *line;
  gint32 id = 0;

  if (!g_file_get_contents (path, &data, &len, &local)) {
    g_set_error (error, SF_ERROR, SF_ERROR_IO, "%s: cannot read: %s", path,
        local->message);
    return NULL;
  }
  if (!g_utf8_validate_len (data, len, NULL)) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_PARSE, "%s: not valid UTF-8 text", path);
    return NULL;
  }
  vocab = sf_vocab_new ();
  line = data;
  while (line < data + len) {
    char *nl = memchr (line, '\n', data + len - line);
    char *end = nl ? nl : data + len;

    if (end > line && end[-1] == '\r')
      end--;
    *end = '\0';
    if (id > SF_VOCAB_MAX_ID) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID, "%s: more than %d tokens",
          path, SF_VOCAB_MAX_ID);
      sf_vocab_free (vocab);
      return NULL;
    }
    sf_vocab_add (vocab, line, id++);
    if (nl == NULL)
      break;
    line = nl + 1;
  }
  if (id == 0) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_INVALID, "%s: empty vocabulary", path);
    sf_vocab_free (vocab);
    return NULL;
  }
  return vocab;
}

/* added_tokens_decoder: {"id": {"content", "special", ...}}. */
static gboolean
read_added_tokens_decoder (SfTokenizer *tok, const cJSON *config,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *table =
      cJSON_GetObjectItemCaseSensitive (config, "added_tokens_decoder");
  const cJSON *item;

  if (table == NULL || cJSON_IsNull (table))
    return TRUE;
  if (!cJSON_IsObject (table)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "added_tokens_decoder must be an object");
    return FALSE;
  }
  cJSON_ArrayForEach (item, table) {
    g_autofree char *field =
        g_strdup_printf ("added_tokens_decoder['%s']", item->string);
    const char *content = NULL;
    gboolean special = FALSE, single_word = FALSE, lstrip = FALSE;
    gboolean rstrip = FALSE, normalized = TRUE;
    char *end = NULL;
    gint64 id = g_ascii_strtoll (item->string, &end, 10);

    if (end == item->string || *end != '\0' || id < 0 || id > SF_VOCAB_MAX_ID
        || !cJSON_IsObject (item)) {
      sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
          "%s must map an id to a token object", field);
      return FALSE;
    }
    if (!sf_tok_json_string (item, "content", field, ctx, &content, error)
        || !sf_tok_json_bool (item, "special", field, ctx, &special, error)
        || !sf_tok_json_bool (
            item, "single_word", field, ctx, &single_word, error)
        || !sf_tok_json_bool (item, "lstrip", field, ctx, &lstrip, error)
        || !sf_tok_json_bool (item, "rstrip", field, ctx, &rstrip, error)
        || !sf_tok_json_bool (
            item, "normalized", field, ctx, &normalized, error))
      return FALSE;
    if (content == NULL) {
      sf_tok_set_error (
          error, SF_ERROR_MISSING, ctx, "%s.content is missing", field);
      return FALSE;
    }
    sf_added_vocab_add (tok->added, content, (gint32)id, special, single_word,
        lstrip, rstrip, normalized);
  }
  return TRUE;
}

/* The id of a special token, registering it as an added token; a token
 * missing from the vocabulary gets the next free id, as `transformers`
 * does. */
static gint32
special_id (SfTokenizer *tok, const char *token, gint32 *next_id)
{
  const SfAddedToken *added = sf_added_vocab_by_content (tok->added, token);
  gint32 id;

  if (added)
    return added->id;
  id = tok->model->klass->token_to_id (tok->model, token);
  if (id < 0)
    id = (*next_id)++;
  sf_added_vocab_add (tok->added, token, id, TRUE, FALSE, FALSE, FALSE, FALSE);
  return id;
}

SfTokenizer *
sf_tokenizer_load_vocab_txt (const char *dir, GError **error)
{
  SfTokenizer *tok = NULL;
  char *vocab_path = g_build_filename (dir, "vocab.txt", NULL);
  char *config_path = g_build_filename (dir, "tokenizer_config.json", NULL);
  SfTokLoadContext ctx = { config_path };
  gboolean lowercase = TRUE, chinese = TRUE, strip = -1;
  const char *unk = "[UNK]", *sep = "[SEP]", *pad = "[PAD]";
  const char *cls = "[CLS]", *mask = "[MASK]";
  cJSON *config = NULL;
  SfVocab *vocab;
  gint32 next_id, cls_id, sep_id;
  gboolean ok = FALSE;

  if (g_file_test (config_path, G_FILE_TEST_EXISTS)
      && (config = sf_tok_json_load (config_path, error)) == NULL)
    goto out;

  tok = g_new0 (SfTokenizer, 1);
  tok->added = sf_added_vocab_new ();
  tok->pad_id = -1;

  if (config) {
    if (!sf_tok_json_bool (
            config, "do_lower_case", "config", &ctx, &lowercase, error)
        || !sf_tok_json_bool (
            config, "tokenize_chinese_chars", "config", &ctx, &chinese, error)
        || !sf_tok_json_bool (
            config, "strip_accents", "config", &ctx, &strip, error)
        || !config_token (config, "unk_token", &ctx, &unk, error)
        || !config_token (config, "sep_token", &ctx, &sep, error)
        || !config_token (config, "pad_token", &ctx, &pad, error)
        || !config_token (config, "cls_token", &ctx, &cls, error)
        || !config_token (config, "mask_token", &ctx, &mask, error)
        || !read_added_tokens_decoder (tok, config, &ctx, error))
      goto out;
  }
  if (strip == -1)
    strip = lowercase;

  if ((vocab = read_vocab (vocab_path, error)) == NULL)
    goto out;
  next_id =
      MAX ((gint32)vocab->tokens->len, sf_added_vocab_id_end (tok->added));
  ctx.file = vocab_path;
  tok->model = sf_model_wordpiece_new (vocab, unk, "##", 100, &ctx, error);
  if (tok->model == NULL)
    goto out;

  special_id (tok, unk, &next_id);
  sep_id = special_id (tok, sep, &next_id);
  special_id (tok, pad, &next_id);
  cls_id = special_id (tok, cls, &next_id);
  special_id (tok, mask, &next_id);

  tok->normalizer = sf_normalizer_bert_new (TRUE, chinese, strip, lowercase);
  tok->pre_tokenizer = sf_pre_tokenizer_bert_new ();
  tok->post_processor = sf_post_processor_bert_new (cls, cls_id, sep, sep_id);
  tok->decoder = sf_decoder_wordpiece_new ("##", TRUE);
  ok = sf_added_vocab_prepare (tok->added, tok->normalizer, error)
      && sf_tokenizer_read_config (tok, dir, error);

out:
  cJSON_Delete (config);
  if (!ok)
    g_clear_pointer (&tok, sf_tokenizer_free);
  g_free (config_path);
  g_free (vocab_path);
  return tok;
}
