/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the Precompiled normalizer (SentencePiece charsmaps).
 *
 * The reference is tok-precompiled-nmt/case.json, which `tokenizers`
 * computed with a real nmt_nfkc charsmap. A charsmap is untrusted input:
 * each malformed one must be a GError naming the file and the field.
 */
#include <string.h>
#include <glib.h>
#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/common/test-util.h"

/* A small charsmap SentencePiece compiled from these rules (a TSV of code
 * points given to spm_train's --normalization_rule_tsv): U+FB01 → "fi",
 * U+FF21 → "A", U+2460 → "1", "e" U+0301 → U+00E9, tab → space,
 * U+2122 → "TM". Its trie is 1024 bytes, its pool 15. */
static const char tiny_charsmap[] =
    "AAQAAAAgAAAJDQAAAAAAgMwYAgCBBQAADAAAgISMAgCiOQAAoAkAAAYAAIAC"
    "AACArBgCAIEFAAAJAACAoQUAAAQAAIARAAAAEAAAABMAAACR7AIAFQAAABQA"
    "AAAXAAAAFgAAABkAAAAYAAAAGwAAALzQAgAdAAAAHAAAAB8AAAAeAAAAIQAA"
    "ACAAAAAjAAAAIgAAACUAAAAkAAAAJwAAACYAAAApAAAAKAAAACsAAAAqAAAA"
    "LQAAACwAAAAvAAAALgAAADEAAAAwAAAAMwAAADIAAAA1AAAANAAAADcAAAA2"
    "AAAAOQAAADgAAAA7AAAAOgAAAD0AAAA8AAAAPwAAAD4AAABBAAAAQAAAAEMA"
    "AABCAAAARQAAAEQAAABHAAAARgAAAEkAAABIAAAASwAAAEoAAABNAAAATAAA"
    "AE8AAABOAAAAUQAAAFAAAABTAAAAUgAAAFUAAABUAAAAVwAAAFYAAABZAAAA"
    "WAAAAFsAAABaAAAAXQAAAFwAAABfAAAAXgAAAGEAAABgAAAAYwAAAGIAAABl"
    "AAAAZAAAAGcAAABmAAAAaQAAAGgAAABrAAAAagAAAG0AAABliAIAbwAAAG4A"
    "AABxAAAAcAAAAHMAAAByAAAAdQAAAHQAAAB3AAAAdgAAAHkAAAB4AAAAewAA"
    "AHoAAAB9AAAAfAAAAH8AAAB+AAAAgQAAAIAAAACDAAAAggAAAIUAAACEAAAA"
    "hwAAAIYAAACJAAAAiAAAAIsAAACKAAAAjQAAAIwAAACPAAAAjgAAAJEAAACQ"
    "AAAAkwAAAJIAAACVAAAAlAAAAJcAAACWAAAAmQAAAJgAAACbAAAAmgAAAJ0A"
    "AACcAAAAnwAAAJ4AAAChAAAAoAAAAKMAAACiAAAApQAAAKQAAACnAAAApgAA"
    "AKkAAACoAAAAqwAAAKoAAACtAAAArAAAAK8AAACuAAAAsQAAALAAAACzAAAA"
    "sgAAALUAAAC0AAAAtwAAALYAAAC5AAAAuAAAALsAAAC6AAAAvQAAALwAAAC/"
    "AAAAvgAAAMEAAADAAAAAwwAAAMIAAADFAAAAxAAAAMcAAADGAAAAyQAAAMgA"
    "AADLAAAAygAAAM0AAADMAAAAzwAAAM4AAADRAAAA0AAAANMAAADSAAAA1QAA"
    "ANQAAADXAAAA1gAAANkAAADYAAAA2wAAANoAAADdAAAA3AAAAN8AAADeAAAA"
    "4QAAAOAAAADjAAAA4gAAAOUAAADkAAAA5wAAAO8AAQDpAAAA6AAAAOKgAQDq"
    "AAAA7QAAAOwAAADvAAAA7gAAAPEAAADwAAAA8wAAAPIAAAD1AAAA9AAAAPcA"
    "AAD2AAAA+QAAAPgAAAD7AAAA+gAAAP0AAAD8AAAA/wAAAP4AAAAgADEAQQBU"
    "TQBmaQDDqQA=";

#define TINY_TRIE_BYTES 1024

static guint8 *
tiny_blob (gsize *len)
{
  return g_base64_decode (tiny_charsmap, len);
}

/* Writes tok-unigram-metaspace's tokenizer.json with the normalizer
 * Sequence[@normalizer] into a new temp dir; returns the file's path. */
static char *
write_with_normalizer (const char *normalizer, char **dir_out)
{
  g_autofree char *src = sf_test_fixture ("tok-unigram-metaspace");
  g_autofree char *src_json = g_build_filename (src, "tokenizer.json", NULL);
  g_autofree char *data = NULL;
  g_autofree char *seq = g_strdup_printf (
      "{\"type\": \"Sequence\", \"normalizers\": [%s]}", normalizer);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sf-precompiled-XXXXXX", &error);
  char *path;
  cJSON *root;

  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (src_json, &data, NULL, &error));
  root = cJSON_Parse (data);
  g_assert_nonnull (root);
  cJSON_ReplaceItemInObject (root, "normalizer", cJSON_Parse (seq));
  text = cJSON_PrintUnformatted (root);
  cJSON_Delete (root);
  path = g_build_filename (dir, "tokenizer.json", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  *dir_out = dir;
  return path;
}

static char *
precompiled_json (const char *charsmap)
{
  return g_strdup_printf (
      "{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"%s\"}",
      charsmap);
}

/* Loads a tokenizer whose only normalizer is Precompiled(@charsmap). */
static SfTokenizer *
load_with_charsmap (const char *charsmap, char **path_out, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *normalizer = precompiled_json (charsmap);
  g_autofree char *path = write_with_normalizer (normalizer, &dir);
  SfTokenizer *tok = sf_tokenizer_load_json (path, error);

  if (path_out)
    *path_out = g_strdup (path);
  sf_test_remove_dir (dir);
  return tok;
}

static void
test_fixture_cases (void)
{
  g_autofree char *dir = sf_test_fixture ("tok-precompiled-nmt");
  g_autofree char *case_path = g_build_filename (dir, "case.json", NULL);
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  cJSON *root;
  const cJSON *c;
  guint index = 0, bad = 0;

  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (case_path, &data, NULL, &error));
  root = cJSON_Parse (data);
  g_assert_nonnull (root);
  cJSON_ArrayForEach (c, cJSON_GetObjectItem (root, "cases")) {
    const char *text = cJSON_GetObjectItem (c, "text")->valuestring;
    const cJSON *ids = cJSON_GetObjectItem (c, "ids");
    const cJSON *offsets = cJSON_GetObjectItem (c, "offsets");
    g_autoptr (SfEncoding) enc =
        sf_tokenizer_encode (tok, text, NULL, NULL, &error);
    gboolean same;

    g_assert_no_error (error);
    same = (guint)cJSON_GetArraySize (ids) == enc->n;
    for (guint i = 0; same && i < enc->n; i++) {
      const cJSON *o = cJSON_GetArrayItem (offsets, i);

      same = cJSON_GetArrayItem (ids, i)->valuedouble == enc->ids[i]
          && cJSON_GetArrayItem (o, 0)->valuedouble == enc->offsets[2 * i]
          && cJSON_GetArrayItem (o, 1)->valuedouble == enc->offsets[2 * i + 1];
    }
    if (!same) {
      g_autofree char *got = g_strjoinv ("|", enc->tokens);

      g_test_message ("case %u '%s': tokens %s", index, text, got);
      bad++;
    }
    index++;
  }
  cJSON_Delete (root);
  g_assert_cmpuint (index, >, 100);
  g_assert_cmpuint (bad, ==, 0);
}

/* The rules of the tiny charsmap, seen through Unigram's tokens: each
 * normalised text must encode as its plain spelling does. */
static void
test_tiny_rules (void)
{
  const struct
  {
    const char *text, *plain;
  } cases[] = {
    { "\xef\xac\x81nd", "find" },       /* U+FB01 */
    { "\xef\xbc\xa1 b", "A b" },        /* U+FF21 */
    { "x\xe2\x91\xa0", "x1" },          /* U+2460 */
    { "cafe\xcc\x81", "caf\xc3\xa9" },  /* e U+0301 composes */
    { "a\tb", "a b" },                  /* tab */
    { "\xe2\x84\xa2 mark", "TM mark" }, /* U+2122 */
    { "plain text", "plain text" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok =
      load_with_charsmap (tiny_charsmap, NULL, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (SfEncoding) a =
        sf_tokenizer_encode (tok, cases[i].text, NULL, NULL, &error);
    g_autoptr (SfEncoding) b =
        sf_tokenizer_encode (tok, cases[i].plain, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (a->n, ==, b->n);
    g_assert_cmpmem (
        a->ids, a->n * sizeof (gint32), b->ids, b->n * sizeof (gint32));
  }
}

/* A trie whose only child points back at the root loads, and lookups
 * through it end with the key. */
static void
test_cyclic_trie (void)
{
  /* trie size 8; root (offset 0); unit 1 with label 1 and offset 1, so
   * its child base is 0 again; a pool of one empty string */
  const guint8 blob[] = { 8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x04, 0, 0, 0 };
  g_autofree char *b64 = g_base64_encode (blob, sizeof (blob));
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = load_with_charsmap (b64, NULL, &error);
  g_autoptr (SfEncoding) enc = NULL;

  g_assert_no_error (error);
  enc = sf_tokenizer_encode (
      tok, "\x01\x01\x01\x01\x01\x01 a", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (enc);
}

typedef enum
{
  BREAK_BAD_CHAR,
  BREAK_NO_PADDING,
  BREAK_EMPTY,
  BREAK_TRUNCATED_SIZE,
  BREAK_TRUNCATED_TRIE,
  BREAK_TRIE_PAST_BLOB,
  BREAK_TRIE_ODD_SIZE,
  BREAK_OFFSETS_PAST_POOL,
  BREAK_POOL_NOT_TERMINATED,
  BREAK_POOL_NOT_UTF8,
  BREAK_VALUE_PAST_TRIE,
} Break;

/* The tiny charsmap, broken as @how says, in base64. */
static char *
broken_charsmap (Break how)
{
  gsize len = 0;
  g_autofree guint8 *blob = tiny_blob (&len);
  guint8 *pool = blob + 4 + TINY_TRIE_BYTES;
  char *b64;

  g_assert_cmpuint (len, ==, 4 + TINY_TRIE_BYTES + 15);
  switch (how) {
    case BREAK_BAD_CHAR: return g_strdup ("AAA!");
    case BREAK_NO_PADDING: return g_strdup ("AAAAAA");
    case BREAK_EMPTY: return g_strdup ("");
    case BREAK_TRUNCATED_SIZE: len = 3; break;
    case BREAK_TRUNCATED_TRIE: len = 600; break;
    case BREAK_TRIE_PAST_BLOB:
      blob[0] = (len & 0xff) & ~3u;
      blob[1] = (len >> 8) & 0xff;
      break;
    case BREAK_TRIE_ODD_SIZE: blob[0] = 2; break;
    case BREAK_OFFSETS_PAST_POOL:
      /* keep " \0" "1\0": every longer rule points past the pool */
      len = 4 + TINY_TRIE_BYTES + 4;
      break;
    case BREAK_POOL_NOT_TERMINATED: pool[14] = 'x'; break;
    case BREAK_POOL_NOT_UTF8: pool[4] = 0xff; break;
    case BREAK_VALUE_PAST_TRIE: {
      /* every unit with a leaf gets a child offset of 2^21 units */
      for (guint i = 1; i < TINY_TRIE_BYTES / 4; i++) {
        guint8 *u = blob + 4 + 4 * i;
        guint32 unit = u[0] | u[1] << 8 | u[2] << 16 | (guint32)u[3] << 24;

        if ((unit >> 8) & 1 && !(unit >> 31)) {
          unit = (unit & 0x1ff) | (1u << 9) | (1u << 23);
          u[0] = unit;
          u[1] = unit >> 8;
          u[2] = unit >> 16;
          u[3] = unit >> 24;
        }
      }
      break;
    }
  }
  b64 = g_base64_encode (blob, len);
  return b64;
}

static void
test_error_malformed (void)
{
  for (Break how = BREAK_BAD_CHAR; how <= BREAK_VALUE_PAST_TRIE; how++) {
    g_autofree char *charsmap = broken_charsmap (how);
    g_autofree char *path = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = load_with_charsmap (charsmap, &path, &error);

    g_test_message ("break %d: %s", how, error ? error->message : "(none)");
    g_assert_null (tok);
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (
        error->message, "normalizer.normalizers[0].precompiled_charsmap"));
  }
}

/* Random bytes of the tiny charsmap changed: each load either fails
 * with an error or gives a tokenizer that encodes without a crash. */
static void
test_random_corruption (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261202);
  gsize len = 0;
  g_autofree guint8 *clean = tiny_blob (&len);
  guint loaded = 0;

  for (guint round = 0; round < 200; round++) {
    g_autofree guint8 *blob = g_memdup2 (clean, len);
    g_autofree char *b64 = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = NULL;
    guint flips = g_rand_int_range (rand, 1, 6);

    for (guint i = 0; i < flips; i++) {
      /* mostly the trie's units, where a flip still parses */
      gsize at = g_rand_int_range (rand, 4, len);

      blob[at] = g_rand_int_range (rand, 0, 256);
    }
    b64 = g_base64_encode (blob, len);
    tok = load_with_charsmap (b64, NULL, &error);
    if (tok == NULL) {
      g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
      continue;
    }
    loaded++;
    for (guint t = 0; t < 4; t++) {
      static const char *const texts[] = { "\xef\xac\x81nd \xef\xbc\xa1",
        "cafe\xcc\x81\t\xe2\x84\xa2\r\n", "\x01x \xe2\x91\xa0y", "plain" };
      g_autoptr (SfEncoding) enc =
          sf_tokenizer_encode (tok, texts[t], NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (enc);
    }
  }
  /* both paths are taken */
  g_test_message ("%u of 200 corrupted charsmaps loaded", loaded);
  g_assert_cmpuint (loaded, >, 20);
  g_assert_cmpuint (loaded, <, 200);
}

static void
test_error_missing (void)
{
  const char *const nodes[] = {
    "{\"type\": \"Precompiled\"}",
    "{\"type\": \"Precompiled\", \"precompiled_charsmap\": 7}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++) {
    g_autofree char *dir = NULL;
    g_autofree char *path = write_with_normalizer (nodes[i], &dir);
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);

    g_assert_null (tok);
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (
        error->message, "normalizer.normalizers[0].precompiled_charsmap"));
    sf_test_remove_dir (dir);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/tokenizer/precompiled/nmt-cases", test_fixture_cases);
  g_test_add_func ("/core/tokenizer/precompiled/tiny-rules", test_tiny_rules);
  g_test_add_func ("/core/tokenizer/precompiled/cyclic-trie", test_cyclic_trie);
  g_test_add_func (
      "/core/tokenizer/precompiled/errors/malformed", test_error_malformed);
  g_test_add_func (
      "/core/tokenizer/precompiled/errors/missing", test_error_missing);
  g_test_add_func ("/core/tokenizer/precompiled/errors/random-corruption",
      test_random_corruption);
  return g_test_run ();
}
