/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the byte-level BPE tokenizer from vocab.json and
 * merges.txt, for GPT-2/RoBERTa/Whisper checkpoints without tokenizer.json.
 *
 * It writes the tokenizer.json document that `transformers` converts such
 * a slow tokenizer into (ByteLevel pre-tokenizer with the GPT-2 regex, BPE
 * over the merges, ByteLevel post-processor and decoder) and loads it with
 * the ordinary pipeline, so both paths share every stage. Added tokens come
 * from added_tokens.json and from tokenizer_config.json's
 * added_tokens_decoder; tokens of the form <|…|> (Whisper's task, language
 * and timestamp tokens) and the config's special tokens are special.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

#include "core/error.h"

static cJSON *
load_json_file (const char *path, GError **error)
{
  cJSON *root = sf_tok_json_load (path, error);

  if (root && !cJSON_IsObject (root)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: the top level must be a JSON object", path);
    cJSON_Delete (root);
    return NULL;
  }
  return root;
}

/* merges.txt: an optional "#version" line, then one "left right" per line. */
static cJSON *
read_merges (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) lines = NULL;
  cJSON *merges;

  if (!g_file_get_contents (path, &data, NULL, &local)) {
    g_set_error (error, SF_ERROR, SF_ERROR_IO, "%s: cannot read: %s", path,
        local->message);
    return NULL;
  }
  if (!g_utf8_validate (data, -1, NULL)) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_PARSE, "%s: not valid UTF-8 text", path);
    return NULL;
  }
  merges = cJSON_CreateArray ();
  lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    char *line = g_strchomp (lines[i]);
    char *space;

    if (line[0] == '\0' || (i == 0 && g_str_has_prefix (line, "#version")))
      continue;
    space = strchr (line, ' ');
    if (space == NULL || space == line || space[1] == '\0'
        || strchr (space + 1, ' ') != NULL) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: line %u is not a merge of two symbols: \"%.40s\"", path, i + 1,
          line);
      cJSON_Delete (merges);
      return NULL;
    }
    cJSON_AddItemToArray (merges, cJSON_CreateString (line));
  }
  return merges;
}

/* The config's special token names (strings or {"content": …}). */
static void
collect_special_names (const cJSON *config, GHashTable *names)
{
  static const char *const keys[] = { "bos_token", "eos_token", "unk_token",
    "pad_token", "sep_token", "cls_token", "mask_token" };

  for (guint i = 0; config && i < G_N_ELEMENTS (keys); i++) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (config, keys[i]);
    if (cJSON_IsObject (item))
      item = cJSON_GetObjectItemCaseSensitive (item, "content");
    if (cJSON_IsString (item))
      g_hash_table_add (names, item->valuestring);
  }
}

static void
add_token (cJSON *list, GHashTable *seen, const char *content, double id,
    gboolean special)
{
  cJSON *t;

  if (g_hash_table_contains (seen, content))
    return;
  g_hash_table_add (seen, (gpointer)content);
  t = cJSON_CreateObject ();
  cJSON_AddNumberToObject (t, "id", id);
  cJSON_AddStringToObject (t, "content", content);
  cJSON_AddBoolToObject (t, "single_word", FALSE);
  cJSON_AddBoolToObject (t, "lstrip", FALSE);
  cJSON_AddBoolToObject (t, "rstrip", FALSE);
  cJSON_AddBoolToObject (t, "normalized", !special);
  cJSON_AddBoolToObject (t, "special", special);
  cJSON_AddItemToArray (list, t);
}

static gboolean
looks_special (const char *content, GHashTable *special_names)
{
  return g_hash_table_contains (special_names, content)
      || (g_str_has_prefix (content, "<|") && g_str_has_suffix (content, "|>"));
}

/* added_tokens_decoder ({"id": {"content", "special"}}) first, then
 * added_tokens.json ({"content": id}). */
static gboolean
collect_added (const char *dir, const cJSON *config, GHashTable *special_names,
    cJSON *list, GError **error)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *path = g_build_filename (dir, "added_tokens.json", NULL);
  const cJSON *decoder =
      cJSON_GetObjectItemCaseSensitive (config, "added_tokens_decoder");
  const cJSON *item;
  cJSON *added = NULL;

  if (!cJSON_IsObject (decoder))
    decoder = NULL;
  cJSON_ArrayForEach (item, decoder) {
    const cJSON *content = cJSON_GetObjectItemCaseSensitive (item, "content");
    const cJSON *special = cJSON_GetObjectItemCaseSensitive (item, "special");
    char *end = NULL;
    gint64 id = g_ascii_strtoll (item->string, &end, 10);

    if (!cJSON_IsString (content) || end == item->string || *end || id < 0) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s/tokenizer_config.json: added_tokens_decoder entry '%s' needs a "
          "numeric id and a content",
          dir, item->string);
      return FALSE;
    }
    add_token (list, seen, content->valuestring, (double)id,
        cJSON_IsBool (special)
            ? cJSON_IsTrue (special)
            : looks_special (content->valuestring, special_names));
  }
  if (g_file_test (path, G_FILE_TEST_EXISTS)) {
    if ((added = load_json_file (path, error)) == NULL)
      return FALSE;
    cJSON_ArrayForEach (item, added) {
      if (!cJSON_IsNumber (item) || item->valuedouble < 0) {
        g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
            "%s: the id of '%s' must be a non-negative number", path,
            item->string);
        cJSON_Delete (added);
        return FALSE;
      }
      add_token (list, seen, item->string, item->valuedouble,
          looks_special (item->string, special_names));
    }
  }
  /* the contents stay referenced by @list, which copied them */
  cJSON_Delete (added);
  return TRUE;
}

static cJSON *
byte_level_stage (
    const char *type, gboolean add_prefix_space, gboolean trim_offsets)
{
  cJSON *stage = cJSON_CreateObject ();

  cJSON_AddStringToObject (stage, "type", type);
  cJSON_AddBoolToObject (stage, "add_prefix_space", add_prefix_space);
  cJSON_AddBoolToObject (stage, "trim_offsets", trim_offsets);
  cJSON_AddBoolToObject (stage, "use_regex", TRUE);
  return stage;
}

SfTokenizer *
sf_tokenizer_load_vocab_json (const char *dir, GError **error)
{
  g_autofree char *vocab_path = g_build_filename (dir, "vocab.json", NULL);
  g_autofree char *merges_path = g_build_filename (dir, "merges.txt", NULL);
  g_autofree char *config_path =
      g_build_filename (dir, "tokenizer_config.json", NULL);
  g_autoptr (GHashTable) special_names =
      g_hash_table_new (g_str_hash, g_str_equal);
  cJSON *config = NULL, *vocab = NULL, *merges = NULL, *root, *model;
  const cJSON *prefix, *unk;
  gboolean add_prefix_space;

  if (!g_file_test (merges_path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: vocab.json without merges.txt (a byte-level BPE tokenizer needs "
        "both)",
        dir);
    return NULL;
  }
  if (g_file_test (config_path, G_FILE_TEST_EXISTS)
      && (config = load_json_file (config_path, error)) == NULL)
    return NULL;
  if ((vocab = load_json_file (vocab_path, error)) == NULL
      || (merges = read_merges (merges_path, error)) == NULL) {
    cJSON_Delete (config);
    cJSON_Delete (vocab);
    return NULL;
  }
  collect_special_names (config, special_names);
  prefix = cJSON_GetObjectItemCaseSensitive (config, "add_prefix_space");
  add_prefix_space = cJSON_IsTrue (prefix);
  unk = cJSON_GetObjectItemCaseSensitive (config, "unk_token");
  if (cJSON_IsObject (unk))
    unk = cJSON_GetObjectItemCaseSensitive (unk, "content");

  root = cJSON_CreateObject ();
  cJSON_AddItemToObject (root, "added_tokens", cJSON_CreateArray ());
  if (!collect_added (dir, config, special_names,
          cJSON_GetObjectItemCaseSensitive (root, "added_tokens"), error)) {
    cJSON_Delete (root);
    cJSON_Delete (config);
    cJSON_Delete (vocab);
    cJSON_Delete (merges);
    return NULL;
  }
  cJSON_AddNullToObject (root, "normalizer");
  cJSON_AddItemToObject (root, "pre_tokenizer",
      byte_level_stage ("ByteLevel", add_prefix_space, TRUE));
  model = cJSON_AddObjectToObject (root, "model");
  cJSON_AddStringToObject (model, "type", "BPE");
  if (cJSON_IsString (unk) && cJSON_GetObjectItem (vocab, unk->valuestring))
    cJSON_AddStringToObject (model, "unk_token", unk->valuestring);
  cJSON_AddItemToObject (model, "vocab", vocab);
  cJSON_AddItemToObject (model, "merges", merges);
  cJSON_AddItemToObject (
      root, "post_processor", byte_level_stage ("ByteLevel", TRUE, FALSE));
  cJSON_AddItemToObject (
      root, "decoder", byte_level_stage ("ByteLevel", TRUE, TRUE));
  cJSON_Delete (config);
  return sf_tokenizer_load_root (root, vocab_path, dir, error);
}
