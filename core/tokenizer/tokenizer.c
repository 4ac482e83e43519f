/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: loading tokenizer.json, the JSON helpers the stages
 * share, and the vocabulary accessors.
 *
 * tokenizer.json is read stage by stage; every stage's factory reports an
 * unknown "type" as SF_ERROR_UNSUPPORTED naming the file and the field, so
 * a tokenizer is never silently built without one of its parts.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <stdarg.h>

#include "core/error.h"

/* Above this, model_max_length is a "no limit" sentinel (int(1e30)). */
#define MODEL_MAX_LENGTH_SENTINEL 1e9

void
sf_tok_set_error (GError **error, gint code, const SfTokLoadContext *ctx,
    const char *format, ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (
      error, SF_ERROR, code, "%s: %s", ctx ? ctx->file : "tokenizer", msg);
}

gboolean
sf_tok_json_bool (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, gboolean *out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (node, key);

  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  if (!cJSON_IsBool (item)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.%s must be a boolean", field, key);
    return FALSE;
  }
  *out = cJSON_IsTrue (item);
  return TRUE;
}

gboolean
sf_tok_json_string (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, const char **out, GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (node, key);

  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  if (!cJSON_IsString (item)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s.%s must be a string", field, key);
    return FALSE;
  }
  *out = item->valuestring;
  return TRUE;
}

gboolean
sf_tok_json_int (const cJSON *node, const char *key, const char *field,
    const SfTokLoadContext *ctx, gint64 min, gint64 max, gint64 *out,
    GError **error)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (node, key);
  double v;

  if (item == NULL || cJSON_IsNull (item))
    return TRUE;
  v = item->valuedouble;
  if (!cJSON_IsNumber (item) || v < (double)min || v > (double)max
      || v != (double)(gint64)v) {
    sf_tok_set_error (error, SF_ERROR_INVALID, ctx,
        "%s.%s must be an integer in [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
        "]",
        field, key, min, max);
    return FALSE;
  }
  *out = (gint64)v;
  return TRUE;
}

const char *
sf_tok_json_type (const cJSON *node, const char *field,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *type;

  if (!cJSON_IsObject (node)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "%s must be an object", field);
    return NULL;
  }
  type = cJSON_GetObjectItemCaseSensitive (node, "type");
  if (!cJSON_IsString (type)) {
    sf_tok_set_error (error, type ? SF_ERROR_INVALID : SF_ERROR_MISSING, ctx,
        "%s.type must be a string", field);
    return NULL;
  }
  return type->valuestring;
}

/* Every string and member name under @node is UTF-8 of code points up to
 * U+10FFFF (g_utf8_validate's rule). g_utf8_to_ucs4 would accept the old
 * 5- and 6-byte forms (up to U+7FFFFFFF), which encode back to 6 bytes
 * where the stages size their buffers for 4 per char. On failure, @where
 * holds the path of the bad field. */
static gboolean
json_strings_valid (const cJSON *node, GString *where)
{
  const cJSON *child;
  guint i = 0;

  if (cJSON_IsString (node))
    return g_utf8_validate (node->valuestring, -1, NULL);
  cJSON_ArrayForEach (child, node) {
    gsize len = where->len;

    if (cJSON_IsArray (node))
      g_string_append_printf (where, "[%u]", i);
    else if (!g_utf8_validate (child->string, -1, NULL))
      return FALSE; /* the member name itself: @where names its object */
    else
      g_string_append_printf (
          where, "%s%s", where->len ? "." : "", child->string);
    if (!json_strings_valid (child, where))
      return FALSE;
    g_string_truncate (where, len);
    i++;
  }
  return TRUE;
}

cJSON *
sf_tok_json_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local = NULL;
  const char *end = NULL;
  gsize len = 0;
  cJSON *root;

  if (!g_file_get_contents (path, &data, &len, &local)) {
    g_set_error (error, SF_ERROR, SF_ERROR_IO, "%s: cannot read: %s", path,
        local->message);
    return NULL;
  }
  root = cJSON_ParseWithLengthOpts (data, len, &end, FALSE);
  if (root == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: not valid JSON (error near byte %" G_GSIZE_FORMAT ")", path,
        end ? (gsize)(end - data) : (gsize)0);
    return NULL;
  }
  if (!cJSON_IsObject (root)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: the top level must be a JSON object", path);
    cJSON_Delete (root);
    return NULL;
  }
  {
    g_autoptr (GString) where = g_string_new (NULL);

    if (!json_strings_valid (root, where)) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: %s holds a string that is not valid UTF-8 (or has a code "
          "point above U+10FFFF)",
          path, where->len ? where->str : "the top level");
      cJSON_Delete (root);
      return NULL;
    }
  }
  return root;
}

gboolean
sf_tokenizer_read_config (SfTokenizer *tok, const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "tokenizer_config.json", NULL);
  const cJSON *item;
  cJSON *root;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return TRUE;
  if ((root = sf_tok_json_load (path, error)) == NULL)
    return FALSE;
  item = cJSON_GetObjectItemCaseSensitive (root, "model_max_length");
  if (item && !cJSON_IsNull (item)) {
    if (!cJSON_IsNumber (item)) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: model_max_length must be a number", path);
      cJSON_Delete (root);
      return FALSE;
    }
    if (item->valuedouble >= 1 && item->valuedouble < MODEL_MAX_LENGTH_SENTINEL)
      tok->model_max_length = (guint)item->valuedouble;
  }
  /* pad_token: a string, or an added-token object with "content" */
  item = cJSON_GetObjectItemCaseSensitive (root, "pad_token");
  if (cJSON_IsObject (item))
    item = cJSON_GetObjectItemCaseSensitive (item, "content");
  if (cJSON_IsString (item)) {
    g_free (tok->pad_token);
    tok->pad_token = g_strdup (item->valuestring);
  }
  cJSON_Delete (root);
  return TRUE;
}

static gboolean
read_added_tokens (SfTokenizer *tok, const cJSON *root,
    const SfTokLoadContext *ctx, GError **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (root, "added_tokens");
  const cJSON *item;
  guint i = 0;

  if (list == NULL || cJSON_IsNull (list))
    return TRUE;
  if (!cJSON_IsArray (list)) {
    sf_tok_set_error (
        error, SF_ERROR_INVALID, ctx, "added_tokens must be an array");
    return FALSE;
  }
  cJSON_ArrayForEach (item, list) {
    g_autofree char *field = g_strdup_printf ("added_tokens[%u]", i++);
    const char *content = NULL;
    gint64 id = -1;
    gboolean special = FALSE, single_word = FALSE, lstrip = FALSE;
    gboolean rstrip = FALSE, normalized = TRUE;

    if (!cJSON_IsObject (item)) {
      sf_tok_set_error (
          error, SF_ERROR_INVALID, ctx, "%s must be an object", field);
      return FALSE;
    }
    if (!sf_tok_json_string (item, "content", field, ctx, &content, error)
        || !sf_tok_json_int (
            item, "id", field, ctx, 0, SF_VOCAB_MAX_ID, &id, error)
        || !sf_tok_json_bool (item, "special", field, ctx, &special, error)
        || !sf_tok_json_bool (
            item, "single_word", field, ctx, &single_word, error)
        || !sf_tok_json_bool (item, "lstrip", field, ctx, &lstrip, error)
        || !sf_tok_json_bool (item, "rstrip", field, ctx, &rstrip, error)
        || !sf_tok_json_bool (
            item, "normalized", field, ctx, &normalized, error))
      return FALSE;
    if (content == NULL || id < 0) {
      sf_tok_set_error (
          error, SF_ERROR_MISSING, ctx, "%s needs a content and an id", field);
      return FALSE;
    }
    sf_added_vocab_add (tok->added, content, (gint32)id, special, single_word,
        lstrip, rstrip, normalized);
  }
  return TRUE;
}

/* A stage that may be absent or null. */
static const cJSON *
optional_stage (const cJSON *root, const char *key)
{
  const cJSON *node = cJSON_GetObjectItemCaseSensitive (root, key);

  return cJSON_IsNull (node) ? NULL : node;
}

SfTokenizer *
sf_tokenizer_load_json (const char *path, GError **error)
{
  g_autofree char *dir = NULL;
  cJSON *root;

  g_return_val_if_fail (path != NULL, NULL);

  if ((root = sf_tok_json_load (path, error)) == NULL)
    return NULL;
  dir = g_path_get_dirname (path);
  return sf_tokenizer_load_root (root, path, dir, error);
}

SfTokenizer *
sf_tokenizer_load_root (
    cJSON *root, const char *origin, const char *dir, GError **error)
{
  SfTokenizer *tok;
  SfTokLoadContext ctx = { origin };
  const cJSON *node, *padding;
  gboolean ok = FALSE;

  tok = g_new0 (SfTokenizer, 1);
  tok->added = sf_added_vocab_new ();
  tok->pad_id = -1;

  if (!read_added_tokens (tok, root, &ctx, error))
    goto out;
  if ((node = optional_stage (root, "normalizer")) != NULL
      && !(tok->normalizer =
               sf_normalizer_new_from_json (node, "normalizer", &ctx, error)))
    goto out;
  if ((node = optional_stage (root, "pre_tokenizer")) != NULL
      && !(tok->pre_tokenizer = sf_pre_tokenizer_new_from_json (
               node, "pre_tokenizer", &ctx, error)))
    goto out;
  node = cJSON_GetObjectItemCaseSensitive (root, "model");
  if (node == NULL) {
    sf_tok_set_error (error, SF_ERROR_MISSING, &ctx, "model is missing");
    goto out;
  }
  if (!(tok->model = sf_model_new_from_json (node, "model", &ctx, error)))
    goto out;
  if ((node = optional_stage (root, "post_processor")) != NULL
      && !(tok->post_processor = sf_post_processor_new_from_json (
               node, "post_processor", &ctx, error)))
    goto out;
  if ((node = optional_stage (root, "decoder")) != NULL
      && !(tok->decoder =
               sf_decoder_new_from_json (node, "decoder", &ctx, error)))
    goto out;

  padding = cJSON_GetObjectItemCaseSensitive (root, "padding");
  if (cJSON_IsObject (padding)) {
    gint64 pad_id = -1;

    if (!sf_tok_json_int (padding, "pad_id", "padding", &ctx, 0,
            SF_VOCAB_MAX_ID, &pad_id, error))
      goto out;
    tok->pad_id = (gint32)pad_id;
  }
  ok = sf_added_vocab_prepare (tok->added, tok->normalizer, error)
      && sf_tokenizer_read_config (tok, dir, error);

out:
  cJSON_Delete (root);
  if (!ok)
    g_clear_pointer (&tok, sf_tokenizer_free);
  return tok;
}

SfTokenizer *
sf_tokenizer_load_dir (const char *dir, GError **error)
{
  g_autofree char *json = NULL;
  g_autofree char *vocab = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  json = g_build_filename (dir, "tokenizer.json", NULL);
  if (g_file_test (json, G_FILE_TEST_EXISTS))
    return sf_tokenizer_load_json (json, error);
  vocab = g_build_filename (dir, "vocab.txt", NULL);
  if (g_file_test (vocab, G_FILE_TEST_EXISTS))
    return sf_tokenizer_load_vocab_txt (dir, error);
  g_free (vocab);
  vocab = g_build_filename (dir, "vocab.json", NULL);
  if (g_file_test (vocab, G_FILE_TEST_EXISTS))
    return sf_tokenizer_load_vocab_json (dir, error);
  g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
      "%s: no tokenizer.json, vocab.txt or vocab.json in this folder", dir);
  return NULL;
}

void
sf_tokenizer_free (SfTokenizer *tok)
{
  if (tok == NULL)
    return;
  sf_added_vocab_free (tok->added);
  sf_normalizer_free (tok->normalizer);
  sf_pre_tokenizer_free (tok->pre_tokenizer);
  sf_model_free (tok->model);
  sf_post_processor_free (tok->post_processor);
  sf_token_decoder_free (tok->decoder);
  g_free (tok->pad_token);
  g_free (tok);
}

guint
sf_tokenizer_vocab_size (const SfTokenizer *tok)
{
  g_return_val_if_fail (tok != NULL, 0);

  return tok->model->klass->vocab_size (tok->model)
      + sf_added_vocab_count_new (tok->added, tok->model);
}

gint32
sf_tokenizer_token_to_id (const SfTokenizer *tok, const char *token)
{
  const SfAddedToken *added;

  g_return_val_if_fail (tok != NULL, -1);
  g_return_val_if_fail (token != NULL, -1);

  added = sf_added_vocab_by_content (tok->added, token);
  if (added)
    return added->id;
  return tok->model->klass->token_to_id (tok->model, token);
}

const char *
sf_tokenizer_id_to_token (const SfTokenizer *tok, gint32 id)
{
  const SfAddedToken *added;

  g_return_val_if_fail (tok != NULL, NULL);

  added = sf_added_vocab_by_id (tok->added, id);
  if (added)
    return added->content;
  return tok->model->klass->id_to_token (tok->model, id);
}

gint32
sf_tokenizer_pad_id (const SfTokenizer *tok)
{
  gint32 id;

  g_return_val_if_fail (tok != NULL, 0);

  if (tok->pad_id >= 0)
    return tok->pad_id;
  if (tok->pad_token
      && (id = sf_tokenizer_token_to_id (tok, tok->pad_token)) >= 0)
    return id;
  if ((id = sf_tokenizer_token_to_id (tok, "[PAD]")) >= 0)
    return id;
  if ((id = sf_tokenizer_token_to_id (tok, "<pad>")) >= 0)
    return id;
  return 0;
}

guint
sf_tokenizer_model_max_length (const SfTokenizer *tok)
{
  g_return_val_if_fail (tok != NULL, 0);

  return tok->model_max_length;
}
