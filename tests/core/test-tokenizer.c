/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for the tokenizer engine (core/tokenizer.h).
 *
 * The reference is the `tokenizers` output recorded in
 * tok-wordpiece-uncased/case.json (ids, tokens, offsets, type ids, ids
 * without special tokens, decoded text) and the input_ids of bert-tiny-cls's
 * io.safetensors. The vocab.txt fallback is checked against the same
 * references. Bad input must come back as a GError, never a crash.
 */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/common/test-util.h"

static char *
fixture (const char *name, const char *file)
{
  const char *root = g_getenv ("SF_FIXTURES_DIR");

  if (root == NULL)
    root = "tests/fixtures";
  return g_build_filename (root, name, file, NULL);
}

static cJSON *
load_json_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  cJSON *root;

  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  root = cJSON_ParseWithLength (data, len);
  g_assert_nonnull (root);
  return root;
}

static char *
make_temp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sf-tokenizer-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (from, &data, &len, &error));
  g_assert_true (g_file_set_contents (to, data, len, &error));
  g_assert_no_error (error);
}

static void
remove_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);

    g_unlink (path);
  }
  g_dir_close (d);
  g_rmdir (dir);
}

/* Copies @files of fixture @name into a new temp dir. */
static char *
copy_fixture (const char *name, const char *const *files)
{
  char *dir = make_temp_dir ();

  for (guint i = 0; files[i]; i++) {
    g_autofree char *from = fixture (name, files[i]);
    g_autofree char *to = g_build_filename (dir, files[i], NULL);

    copy_file (from, to);
  }
  return dir;
}

/* ---- comparing with case.json ---- */

typedef enum
{
  CHECK_IDS = 1 << 0,
  CHECK_TOKENS = 1 << 1,
  CHECK_OFFSETS = 1 << 2,
  CHECK_TYPE_IDS = 1 << 3,
  CHECK_NO_SPECIAL = 1 << 4,
  CHECK_DECODED = 1 << 5,
  CHECK_ALL = 0x3f,
} CheckFlags;

static gboolean
ints_match (const cJSON *expected, const gint32 *got, guint n)
{
  if ((guint)cJSON_GetArraySize (expected) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (cJSON_GetArrayItem (expected, i)->valuedouble != got[i])
      return FALSE;
  return TRUE;
}

static char *
ints_to_string (const gint32 *v, guint n)
{
  GString *s = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", v[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Returns the number of mismatching fields of one case. */
static guint
check_case (SfTokenizer *tok, const cJSON *c, guint index, CheckFlags flags)
{
  const char *text = cJSON_GetObjectItem (c, "text")->valuestring;
  const cJSON *pair_node = cJSON_GetObjectItem (c, "pair");
  const char *pair = pair_node ? pair_node->valuestring : NULL;
  const cJSON *ids = cJSON_GetObjectItem (c, "ids");
  const cJSON *tokens = cJSON_GetObjectItem (c, "tokens");
  const cJSON *offsets = cJSON_GetObjectItem (c, "offsets");
  const cJSON *type_ids = cJSON_GetObjectItem (c, "type_ids");
  const cJSON *no_special = cJSON_GetObjectItem (c, "no_special_ids");
  const cJSON *decoded = cJSON_GetObjectItem (c, "decoded");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfEncoding) enc = NULL;
  guint bad = 0;

  enc = sf_tokenizer_encode (tok, text, pair, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (enc);
  g_assert_null (enc->tokens[enc->n]);
  g_assert_false (enc->truncated);

  if ((flags & CHECK_IDS) && !ints_match (ids, enc->ids, enc->n)) {
    g_autofree char *got = ints_to_string (enc->ids, enc->n);

    g_test_message ("case %u '%s': ids %s", index, text, got);
    bad++;
  }
  if ((flags & CHECK_TOKENS) && tokens) {
    gboolean same = (guint)cJSON_GetArraySize (tokens) == enc->n;

    for (guint i = 0; same && i < enc->n; i++)
      same = g_strcmp0 (
                 cJSON_GetArrayItem (tokens, i)->valuestring, enc->tokens[i])
          == 0;
    if (!same) {
      g_autofree char *got = g_strjoinv ("|", enc->tokens);

      g_test_message ("case %u '%s': tokens %s", index, text, got);
      bad++;
    }
  }
  if ((flags & CHECK_OFFSETS) && offsets) {
    gboolean same = (guint)cJSON_GetArraySize (offsets) == enc->n;

    for (guint i = 0; same && i < enc->n; i++) {
      const cJSON *o = cJSON_GetArrayItem (offsets, i);

      same = cJSON_GetArrayItem (o, 0)->valuedouble == enc->offsets[2 * i]
          && cJSON_GetArrayItem (o, 1)->valuedouble == enc->offsets[2 * i + 1];
      if (!same)
        g_test_message ("case %u '%s': token %u '%s' offsets (%" G_GINT64_FORMAT
                        ", %" G_GINT64_FORMAT ")",
            index, text, i, enc->tokens[i], enc->offsets[2 * i],
            enc->offsets[2 * i + 1]);
    }
    bad += !same;
  }
  if ((flags & CHECK_TYPE_IDS) && type_ids
      && !ints_match (type_ids, enc->type_ids, enc->n)) {
    g_test_message ("case %u '%s': type ids differ", index, text);
    bad++;
  }
  if ((flags & CHECK_NO_SPECIAL) && no_special) {
    SfEncodeOptions opts = { FALSE, 0 };
    g_autoptr (SfEncoding) plain =
        sf_tokenizer_encode (tok, text, pair, &opts, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < plain->n; i++)
      g_assert_cmpint (plain->special_mask[i], ==, 0);
    if (!ints_match (no_special, plain->ids, plain->n)) {
      g_test_message (
          "case %u '%s': ids without special tokens differ", index, text);
      bad++;
    }
  }
  if ((flags & CHECK_DECODED) && decoded) {
    g_autofree char *got = sf_tokenizer_decode (tok, enc->ids, enc->n, TRUE);

    if (g_strcmp0 (got, decoded->valuestring) != 0) {
      g_test_message ("case %u '%s': decoded '%s'", index, text, got);
      bad++;
    }
  }
  return bad;
}

static void
run_fixture_cases (SfTokenizer *tok, const char *name, CheckFlags flags)
{
  g_autofree char *path = fixture (name, "case.json");
  cJSON *root = load_json_file (path);
  const cJSON *cases = cJSON_GetObjectItem (root, "cases");
  const cJSON *c;
  guint index = 0, bad = 0;

  g_assert_cmpint (cJSON_GetArraySize (cases), >, 0);
  cJSON_ArrayForEach (c, cases)
    bad += check_case (tok, c, index++, flags);
  cJSON_Delete (root);
  g_assert_cmpuint (bad, ==, 0);
}

static void
run_cases (SfTokenizer *tok, CheckFlags flags)
{
  run_fixture_cases (tok, "tok-wordpiece-uncased", flags);
}

static void
test_wordpiece_cases (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);

  g_assert_no_error (error);
  run_cases (tok, CHECK_ALL);
}

/* Every case of a tokenizer fixture: @data names the fixture folder. */
static void
test_fixture_cases (gconstpointer data)
{
  const char *name = data;
  g_autofree char *dir = fixture (name, "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);

  g_assert_no_error (error);
  run_fixture_cases (tok, name, CHECK_ALL);
}

static void
test_wordpiece_special_mask (void)
{
  g_autofree char *path = fixture ("tok-wordpiece-uncased", "tokenizer.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);
  g_autoptr (SfEncoding) enc = NULL;

  g_assert_no_error (error);
  enc = sf_tokenizer_encode (tok, "first part", "second", NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < enc->n; i++) {
    gboolean frame = g_str_equal (enc->tokens[i], "[CLS]")
        || g_str_equal (enc->tokens[i], "[SEP]");

    g_assert_cmpint (enc->special_mask[i], ==, frame);
    if (frame) {
      g_assert_cmpint (enc->offsets[2 * i], ==, 0);
      g_assert_cmpint (enc->offsets[2 * i + 1], ==, 0);
    }
  }
}

/* tok-wordpiece-uncased without tokenizer.json: its tokenizer_config.json
 * has no do_lower_case, which defaults to true as in `transformers`. */
static void
test_wordpiece_vocab_txt (void)
{
  const char *files[] = { "vocab.txt", "tokenizer_config.json", NULL };
  g_autofree char *dir = copy_fixture ("tok-wordpiece-uncased", files);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (sf_tokenizer_model_max_length (tok), ==, 512);
  run_cases (tok, CHECK_ALL);
  remove_dir (dir);
}

/* ---- bert-tiny-cls: input_ids of io.safetensors ---- */

/* (transfer full) the i64 tensor @name of a safetensors file, with its
 * shape. */
static gint64 *
read_i64_tensor (const char *path, const char *name, gint64 shape[2])
{
  g_autofree char *data = NULL;
  gsize len = 0;
  guint64 header_len = 0;
  cJSON *header, *t, *offsets, *dims;
  gint64 *out;
  gsize start, end;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_cmpuint (len, >=, 8);
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | (guint8)data[i];
  g_assert_cmpuint (header_len + 8, <=, len);
  header = cJSON_ParseWithLength (data + 8, header_len);
  g_assert_nonnull (header);
  t = cJSON_GetObjectItem (header, name);
  g_assert_nonnull (t);
  g_assert_cmpstr (cJSON_GetObjectItem (t, "dtype")->valuestring, ==, "I64");
  dims = cJSON_GetObjectItem (t, "shape");
  g_assert_cmpint (cJSON_GetArraySize (dims), ==, 2);
  shape[0] = cJSON_GetArrayItem (dims, 0)->valuedouble;
  shape[1] = cJSON_GetArrayItem (dims, 1)->valuedouble;
  offsets = cJSON_GetObjectItem (t, "data_offsets");
  start = cJSON_GetArrayItem (offsets, 0)->valuedouble;
  end = cJSON_GetArrayItem (offsets, 1)->valuedouble;
  g_assert_cmpuint (end - start, ==, shape[0] * shape[1] * 8);
  g_assert_cmpuint (8 + header_len + end, <=, len);
  out = g_new (gint64, shape[0] * shape[1]);
  for (gint64 i = 0; i < shape[0] * shape[1]; i++) {
    guint64 v = 0;

    for (int b = 7; b >= 0; b--)
      v = (v << 8) | (guint8)data[8 + header_len + start + 8 * i + b];
    out[i] = (gint64)v;
  }
  cJSON_Delete (header);
  return out;
}

/* Each row: the encoding, then padding with the pad id. */
static void
check_padded_row (SfTokenizer *tok, const SfEncoding *enc, const gint64 *ids,
    const gint64 *type_ids, gint64 width)
{
  g_assert_cmpint (enc->n, <=, width);
  for (gint64 j = 0; j < width; j++) {
    gint64 id = j < enc->n ? enc->ids[j] : sf_tokenizer_pad_id (tok);

    g_assert_cmpint (id, ==, ids[j]);
    if (type_ids && j < enc->n)
      g_assert_cmpint (enc->type_ids[j], ==, type_ids[j]);
  }
}

static void
check_bert_tiny_cls (SfTokenizer *tok)
{
  g_autofree char *case_path = fixture ("bert-tiny-cls", "case.json");
  g_autofree char *io_path = fixture ("bert-tiny-cls", "io.safetensors");
  cJSON *root = load_json_file (case_path);
  const cJSON *texts = cJSON_GetObjectItem (root, "texts");
  const cJSON *pairs = cJSON_GetObjectItem (root, "pair_texts");
  g_autoptr (GError) error = NULL;
  gint64 shape[2], pshape[2], tshape[2];
  g_autofree gint64 *ids = read_i64_tensor (io_path, "input_ids", shape);
  g_autofree gint64 *pair_ids =
      read_i64_tensor (io_path, "pair.input_ids", pshape);
  g_autofree gint64 *pair_types =
      read_i64_tensor (io_path, "pair.token_type_ids", tshape);

  g_assert_cmpint (cJSON_GetArraySize (texts), ==, shape[0]);
  for (gint64 i = 0; i < shape[0]; i++) {
    const char *text = cJSON_GetArrayItem (texts, i)->valuestring;
    g_autoptr (SfEncoding) enc =
        sf_tokenizer_encode (tok, text, NULL, NULL, &error);

    g_assert_no_error (error);
    check_padded_row (tok, enc, ids + i * shape[1], NULL, shape[1]);
  }
  g_assert_cmpint (cJSON_GetArraySize (pairs), ==, pshape[0]);
  for (gint64 i = 0; i < pshape[0]; i++) {
    const cJSON *p = cJSON_GetArrayItem (pairs, i);
    g_autoptr (SfEncoding) enc =
        sf_tokenizer_encode (tok, cJSON_GetArrayItem (p, 0)->valuestring,
            cJSON_GetArrayItem (p, 1)->valuestring, NULL, &error);

    g_assert_no_error (error);
    check_padded_row (tok, enc, pair_ids + i * pshape[1],
        pair_types + i * pshape[1], pshape[1]);
  }
  cJSON_Delete (root);
}

static void
test_bert_tiny_cls_json (void)
{
  g_autofree char *dir = fixture ("bert-tiny-cls", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);

  g_assert_no_error (error);
  check_bert_tiny_cls (tok);
}

/* The vocab.txt fallback of bert-tiny-cls must give its tokenizer.json's
 * ids and offsets on every text of the WordPiece cases. */
static void
test_bert_tiny_cls_vocab_txt (void)
{
  const char *files[] = { "vocab.txt", "tokenizer_config.json", NULL };
  g_autofree char *dir = copy_fixture ("bert-tiny-cls", files);
  g_autofree char *json_dir = fixture ("bert-tiny-cls", "");
  g_autofree char *case_path = fixture ("tok-wordpiece-uncased", "case.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) fallback = sf_tokenizer_load_dir (dir, &error);
  g_autoptr (SfTokenizer) reference = sf_tokenizer_load_dir (json_dir, &error);
  cJSON *root;
  const cJSON *c;

  g_assert_no_error (error);
  g_assert_nonnull (fallback);
  check_bert_tiny_cls (fallback);
  g_assert_cmpuint (sf_tokenizer_vocab_size (fallback), ==,
      sf_tokenizer_vocab_size (reference));

  root = load_json_file (case_path);
  cJSON_ArrayForEach (c, cJSON_GetObjectItem (root, "cases")) {
    const char *text = cJSON_GetObjectItem (c, "text")->valuestring;
    const cJSON *pair = cJSON_GetObjectItem (c, "pair");
    const char *p = pair ? pair->valuestring : NULL;
    g_autoptr (SfEncoding) a =
        sf_tokenizer_encode (fallback, text, p, NULL, &error);
    g_autoptr (SfEncoding) b =
        sf_tokenizer_encode (reference, text, p, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (a->n, ==, b->n);
    g_assert_cmpmem (a->ids, a->n * 4, b->ids, b->n * 4);
    g_assert_cmpmem (a->type_ids, a->n * 4, b->type_ids, b->n * 4);
    g_assert_cmpmem (a->offsets, a->n * 16, b->offsets, b->n * 16);
  }
  cJSON_Delete (root);
  remove_dir (dir);
}

/* ---- bad input ---- */

/* Writes the fixture's tokenizer.json with @normalizer (JSON text) into a
 * temp dir; returns the file path. */
static char *
write_with_stage (
    const char *name, const char *stage, const char *json, char **dir_out)
{
  g_autofree char *src = fixture (name, "tokenizer.json");
  cJSON *root = load_json_file (src);
  char *dir = make_temp_dir ();
  char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *text = NULL;

  cJSON_DeleteItemFromObject (root, stage);
  cJSON_AddItemToObject (root, stage, cJSON_Parse (json));
  text = cJSON_Print (root);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  cJSON_Delete (root);
  *dir_out = dir;
  return path;
}

static char *
write_with_normalizer (const char *normalizer, char **dir_out)
{
  return write_with_stage (
      "tok-wordpiece-uncased", "normalizer", normalizer, dir_out);
}

/* An unknown type in any stage, however deep in a Sequence, is an
 * UNSUPPORTED error naming the file, the field and the type. */
static void
test_error_unknown_type (void)
{
  const struct
  {
    const char *fixture;
    const char *stage;
    const char *json;
    const char *expected;
  } cases[] = {
    { "tok-bytelevel-bpe", "pre_tokenizer",
        "{\"type\": \"Sequence\", "
        "\"pretokenizers\": [{\"type\": \"ByteLevel\"}, "
        "{\"type\": \"NoSuchSplit\"}]}",
        "pre_tokenizer.pretokenizers[1].type 'NoSuchSplit'" },
    { "tok-bytelevel-bpe", "post_processor",
        "{\"type\": \"Sequence\", "
        "\"processors\": [{\"type\": \"NoSuchFrame\"}]}",
        "post_processor.processors[0].type 'NoSuchFrame'" },
    { "tok-clip-bpe", "decoder",
        "{\"type\": \"Sequence\", \"decoders\": "
        "[{\"type\": \"Fuse\"}, {\"type\": \"NoSuchDecoder\"}]}",
        "decoder.decoders[1].type 'NoSuchDecoder'" },
    { "tok-unigram-metaspace", "model",
        "{\"type\": \"NoSuchModel\", "
        "\"vocab\": []}",
        "model.type 'NoSuchModel'" },
    { "tok-unigram-metaspace", "normalizer",
        "{\"type\": \"Sequence\", "
        "\"normalizers\": [{\"type\": \"Nmt\"}, "
        "{\"type\": \"NoSuchNorm\"}]}",
        "normalizer.normalizers[1].type 'NoSuchNorm'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *dir = NULL;
    g_autofree char *path = write_with_stage (
        cases[i].fixture, cases[i].stage, cases[i].json, &dir);
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);

    g_assert_null (tok);
    g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, cases[i].expected));
    remove_dir (dir);
  }
}

/* Bad values inside known components are INVALID errors naming the
 * field. */
static void
test_error_bad_fields (void)
{
  const struct
  {
    const char *fixture;
    const char *stage;
    const char *json;
    const char *expected;
  } cases[] = {
    { "tok-clip-bpe", "normalizer",
        "{\"type\": \"Replace\", "
        "\"pattern\": {\"Regex\": \"(unclosed\"}, \"content\": \"\"}",
        "normalizer.pattern.Regex" },
    { "tok-clip-bpe", "pre_tokenizer",
        "{\"type\": \"Split\", "
        "\"pattern\": {\"Nothing\": 1}, \"behavior\": \"Removed\"}",
        "pre_tokenizer.pattern" },
    { "tok-bytelevel-bpe", "model",
        "{\"type\": \"BPE\", \"vocab\": "
        "{\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}",
        "model.merges[0]" },
    { "tok-unigram-metaspace", "model",
        "{\"type\": \"Unigram\", "
        "\"unk_id\": 0, \"vocab\": [[\"a\", \"high\"]]}",
        "model.vocab[0]" },
    /* past G_MAXINT32: a plain cast to int was undefined */
    { "tok-bytelevel-bpe", "post_processor",
        "{\"type\": \"TemplateProcessing\", \"special_tokens\": {}, "
        "\"single\": [{\"Sequence\": {\"id\": \"A\", "
        "\"type_id\": 2147483648}}]}",
        "post_processor.single[0].type_id" },
    { "tok-bytelevel-bpe", "post_processor",
        "{\"type\": \"TemplateProcessing\", \"special_tokens\": {}, "
        "\"single\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], "
        "\"pair\": [{\"Sequence\": {\"id\": \"B\", \"type_id\": 0.5}}]}",
        "post_processor.pair[0].type_id" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *dir = NULL;
    g_autofree char *path = write_with_stage (
        cases[i].fixture, cases[i].stage, cases[i].json, &dir);
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);

    g_assert_null (tok);
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, cases[i].expected));
    remove_dir (dir);
  }
}

/* The 6-byte form of U+7FFFFFFF passes g_utf8_to_ucs4 but encodes back to
 * 6 bytes where WordPiece sized its buffer for 4 per char (a heap
 * overflow). Every string of tokenizer.json must be refused at load unless
 * it is UTF-8 of code points up to U+10FFFF, naming the file and field. */
static void
test_error_overlong_utf8 (void)
{
  const struct
  {
    const char *stage, *json, *expected;
  } cases[] = {
    { "normalizer",
        "{\"type\": \"Prepend\", \"prepend\": \"\xfd\xbf\xbf\xbf\xbf\xbf\"}",
        "normalizer.prepend" },
    { "normalizer",
        "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
        "\"Replace\", \"pattern\": {\"String\": \"a\"}, \"content\": "
        "\"\xfd\xbf\xbf\xbf\xbf\xbfx\"}]}",
        "normalizer.normalizers[0].content" },
    { "decoder", "{\"type\": \"WordPiece\", \"prefix\": \"\xed\xa0\x80\"}",
        "decoder.prefix" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *dir = NULL;
    g_autofree char *path = write_with_stage (
        "tok-wordpiece-uncased", cases[i].stage, cases[i].json, &dir);
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);

    g_assert_null (tok);
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, cases[i].expected));
    remove_dir (dir);
  }
}

/* BPE put a char and both affixes in a stack buffer sized by the affixes:
 * a huge continuing_subword_prefix must be refused at load. */
static void
test_error_bpe_long_affix (void)
{
  g_autofree char *prefix = g_strnfill (100000, 'x');
  g_autofree char *json = g_strdup_printf (
      "{\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], "
      "\"continuing_subword_prefix\": \"%s\"}",
      prefix);
  g_autofree char *dir = NULL;
  g_autofree char *path =
      write_with_stage ("tok-bytelevel-bpe", "model", json, &dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);

  g_assert_null (tok);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "model.continuing_subword_prefix"));
  remove_dir (dir);
}

/* Chained Replace a → aa doubled the text at every stage until an
 * allocation aborted. Growth past the documented limit (a multiple of the
 * input length) is an encode error naming the file and the stage. */
static void
test_error_normalizer_growth (void)
{
  g_autoptr (GString) json =
      g_string_new ("{\"type\": \"Sequence\", \"normalizers\": [");
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = NULL;
  g_autoptr (SfEncoding) enc = NULL;

  for (int i = 0; i < 24; i++)
    g_string_append_printf (json,
        "%s{\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}, "
        "\"content\": \"aa\"}",
        i ? ", " : "");
  g_string_append (json, "]}");
  path = write_with_normalizer (json->str, &dir);
  tok = sf_tokenizer_load_json (path, &error);
  g_assert_no_error (error);

  enc = sf_tokenizer_encode (tok, "a", NULL, NULL, &error);
  g_assert_null (enc);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "normalizer.normalizers["));
  g_assert_nonnull (strstr (error->message, "limit"));
  g_clear_error (&error);

  /* a text within the limit still encodes */
  g_clear_pointer (&tok, sf_tokenizer_free);
  remove_dir (dir);
  g_free (dir);
  g_free (path);
  g_string_assign (json,
      "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": "
      "\"Replace\", \"pattern\": {\"String\": \"a\"}, \"content\": "
      "\"aa\"}]}");
  path = write_with_normalizer (json->str, &dir);
  tok = sf_tokenizer_load_json (path, &error);
  g_assert_no_error (error);
  enc = sf_tokenizer_encode (tok, "a b", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (enc);
  remove_dir (dir);
}

/* PCRE2's match limit ended the search as if there were no more matches,
 * so the rest of a long text was silently dropped. It is an error. */
static void
test_error_regex_match_limit (void)
{
  g_autofree char *dir = NULL;
  /* nested quantifiers: exponential backtracking before each "c" */
  g_autofree char *path =
      write_with_stage ("tok-wordpiece-uncased", "pre_tokenizer",
          "{\"type\": \"Split\", \"pattern\": {\"Regex\": "
          "\"(a+)+b|\\\\w+\"}, \"behavior\": \"Isolated\"}",
          &dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_json (path, &error);
  g_autoptr (GString) text = g_string_new ("x y z ");
  g_autoptr (SfEncoding) enc = NULL;

  g_assert_no_error (error);
  for (int i = 0; i < 40; i++)
    g_string_append_c (text, 'a');
  g_string_append (text, "c b");
  enc = sf_tokenizer_encode (tok, text->str, NULL, NULL, &error);
  g_assert_null (enc);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "pre_tokenizer"));
  remove_dir (dir);
}

static void
test_error_unknown_normalizer (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = write_with_normalizer ("{\"type\": \"Foo\"}", &dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);

  g_assert_null (tok);
  g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "tokenizer.json"));
  g_assert_nonnull (strstr (error->message, "normalizer.type 'Foo'"));
  remove_dir (dir);
}

static void
test_error_corrupt_json (void)
{
  g_autofree char *src = fixture ("tok-wordpiece-uncased", "tokenizer.json");
  g_autofree char *data = NULL;
  gsize len = 0;
  char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autoptr (GError) error = NULL;
  SfTokenizer *tok;

  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  /* cut in the middle of the vocabulary */
  g_assert_true (g_file_set_contents (path, data, len / 2, NULL));
  tok = sf_tokenizer_load_json (path, &error);
  g_assert_null (tok);
  g_assert_error (error, SF_ERROR, SF_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  /* valid JSON of the wrong shape */
  g_assert_true (g_file_set_contents (path,
      "{\"model\": {\"type\": "
      "\"WordPiece\", \"vocab\": [1, 2]}}",
      -1, NULL));
  tok = sf_tokenizer_load_json (path, &error);
  g_assert_null (tok);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "model.vocab"));
  g_clear_error (&error);

  /* a folder with neither file */
  g_unlink (path);
  tok = sf_tokenizer_load_dir (dir, &error);
  g_assert_null (tok);
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  g_clear_error (&error);
  remove_dir (dir);
  g_free (dir);
}

static void
test_error_invalid_utf8 (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  SfEncoding *enc;

  g_assert_no_error (error);
  enc = sf_tokenizer_encode (tok, "abc\xff\xfe def", NULL, NULL, &error);
  g_assert_null (enc);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  enc = sf_tokenizer_encode (tok, "fine", "bad \xc3", NULL, &error);
  g_assert_null (enc);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

/* ---- truncation and edge cases ---- */

static void
test_truncation_long_line (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  GString *line = g_string_new (NULL);
  SfEncodeOptions opts = { TRUE, 128 };
  SfEncodeOptions none = { FALSE, 0 };
  g_autoptr (SfEncoding) enc = NULL;
  g_autoptr (SfEncoding) full = NULL;

  for (guint i = 0; i < 10000; i++)
    g_string_append (line, i % 3 ? "word " : "Tokenization, ");
  enc = sf_tokenizer_encode (tok, line->str, NULL, &opts, &error);
  g_assert_no_error (error);
  full = sf_tokenizer_encode (tok, line->str, NULL, &none, &error);
  g_assert_no_error (error);
  g_string_free (line, TRUE);

  g_assert_cmpuint (enc->n, ==, 128);
  g_assert_true (enc->truncated);
  g_assert_cmpstr (enc->tokens[0], ==, "[CLS]");
  g_assert_cmpstr (enc->tokens[127], ==, "[SEP]");
  g_assert_cmpuint (full->n, >, 10000);
  /* the kept tokens are the first ones of the whole encoding */
  g_assert_cmpmem (enc->ids + 1, 126 * 4, full->ids, 126 * 4);
  g_assert_cmpmem (enc->offsets + 2, 126 * 16, full->offsets, 126 * 16);
}

/* longest_first: the longer sequence gives up tokens until both fit, and
 * when both are long each keeps about half. */
static void
test_truncation_pair (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  SfEncodeOptions opts = { TRUE, 20 };
  const char *long_text = "a a a a a a a a a a a a a a a a a a a a a a a a a";
  guint count[2];

  for (int round = 0; round < 2; round++) {
    g_autoptr (SfEncoding) enc = sf_tokenizer_encode (
        tok, long_text, round == 0 ? "b b b b b" : long_text, &opts, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (enc->n, ==, 20);
    g_assert_true (enc->truncated);
    count[0] = count[1] = 0;
    for (guint i = 0; i < enc->n; i++)
      if (!enc->special_mask[i])
        count[enc->type_ids[i]]++;
    /* 17 tokens left after [CLS], [SEP], [SEP] */
    if (round == 0) {
      g_assert_cmpuint (count[0], ==, 12);
      g_assert_cmpuint (count[1], ==, 5);
    } else {
      g_assert_cmpuint (count[0], ==, 8);
      g_assert_cmpuint (count[1], ==, 9);
    }
  }

  /* too short for the special tokens */
  opts.max_length = 1;
  g_assert_null (sf_tokenizer_encode (tok, "a", NULL, &opts, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

static void
test_empty (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  g_autoptr (SfEncoding) enc =
      sf_tokenizer_encode (tok, "", NULL, NULL, &error);
  SfEncodeOptions plain = { FALSE, 0 };
  g_autoptr (SfEncoding) none =
      sf_tokenizer_encode (tok, "", NULL, &plain, &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (enc->n, ==, 2);
  g_assert_cmpstr (enc->tokens[0], ==, "[CLS]");
  g_assert_cmpstr (enc->tokens[1], ==, "[SEP]");
  g_assert_null (enc->tokens[2]);
  g_assert_cmpint (enc->ids[0], ==, sf_tokenizer_token_to_id (tok, "[CLS]"));
  g_assert_cmpint (enc->ids[1], ==, sf_tokenizer_token_to_id (tok, "[SEP]"));
  g_assert_cmpuint (none->n, ==, 0);
  text = sf_tokenizer_decode (tok, NULL, 0, TRUE);
  g_assert_cmpstr (text, ==, "");
}

/* Special tokens written in the text are single tokens, found before the
 * normaliser would lower-case them. */
static void
test_added_tokens_in_text (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  g_autoptr (SfEncoding) enc =
      sf_tokenizer_encode (tok, "the [MASK] is[SEP]here", NULL, NULL, &error);
  g_autofree char *with = NULL;
  g_autofree char *without = NULL;
  gint32 mask = sf_tokenizer_token_to_id (tok, "[MASK]");

  g_assert_no_error (error);
  g_assert_cmpuint (enc->n, ==, 7);
  g_assert_cmpstr (enc->tokens[2], ==, "[MASK]");
  g_assert_cmpint (enc->ids[2], ==, mask);
  g_assert_cmpint (enc->offsets[4], ==, 4);
  g_assert_cmpint (enc->offsets[5], ==, 10);
  g_assert_cmpstr (enc->tokens[4], ==, "[SEP]");
  g_assert_cmpint (enc->offsets[8], ==, 13);
  g_assert_cmpint (enc->offsets[9], ==, 18);
  g_assert_cmpstr (enc->tokens[5], ==, "here");
  without = sf_tokenizer_decode (tok, enc->ids, enc->n, TRUE);
  g_assert_cmpstr (without, ==, "the is here");
  with = sf_tokenizer_decode (tok, enc->ids, enc->n, FALSE);
  g_assert_cmpstr (with, ==, "[CLS] the [MASK] is [SEP] here [SEP]");
}

static void
test_accessors (void)
{
  g_autofree char *dir = fixture ("tok-wordpiece-uncased", "");
  g_autofree char *vocab = fixture ("tok-wordpiece-uncased", "vocab.txt");
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
  g_auto (GStrv) lines = NULL;
  guint n;

  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (vocab, &data, NULL, NULL));
  lines = g_strsplit (data, "\n", -1);
  n = g_strv_length (lines);
  if (n > 0 && lines[n - 1][0] == '\0')
    n--;
  g_assert_cmpuint (sf_tokenizer_vocab_size (tok), ==, n);
  for (guint i = 0; i < n; i++) {
    g_assert_cmpstr (sf_tokenizer_id_to_token (tok, i), ==, lines[i]);
    g_assert_cmpint (sf_tokenizer_token_to_id (tok, lines[i]), ==, i);
  }
  g_assert_null (sf_tokenizer_id_to_token (tok, -1));
  g_assert_null (sf_tokenizer_id_to_token (tok, n));
  g_assert_cmpint (sf_tokenizer_token_to_id (tok, "no-such-token"), ==, -1);
  g_assert_cmpint (
      sf_tokenizer_pad_id (tok), ==, sf_tokenizer_token_to_id (tok, "[PAD]"));
  g_assert_cmpuint (sf_tokenizer_model_max_length (tok), ==, 512);
}

/* NFKC + Lowercase + WhitespaceSplit against GLib's normaliser: each word
 * of the text must come out as its normalised form, with the offsets of
 * the original word. (No word ends in a composed char: `tokenizers` gives
 * a composed char its starter's range only, see the é cases of
 * tok-clip-bpe.) */
static void
test_normalizer_forms (void)
{
  const char *words[] = { "Ｆｕｌｌ", "ﬁne", "Cafe\xcc\x81s", "Ångström", "①",
    "ＡＢＣ", NULL };
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  cJSON *root = cJSON_CreateObject ();
  cJSON *model = cJSON_AddObjectToObject (root, "model");
  cJSON *vocab;
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = NULL;
  g_autoptr (SfEncoding) enc = NULL;
  glong pos = 0;

  cJSON_AddItemToObject (root, "normalizer",
      cJSON_Parse ("{\"type\": "
                   "\"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
                   "{\"type\": \"Lowercase\"}]}"));
  cJSON_AddItemToObject (
      root, "pre_tokenizer", cJSON_Parse ("{\"type\": \"WhitespaceSplit\"}"));
  cJSON_AddStringToObject (model, "type", "WordPiece");
  cJSON_AddStringToObject (model, "unk_token", "[UNK]");
  vocab = cJSON_AddObjectToObject (model, "vocab");
  cJSON_AddNumberToObject (vocab, "[UNK]", 0);
  for (guint i = 0; words[i]; i++) {
    g_autofree char *nfkc = g_utf8_normalize (words[i], -1, G_NORMALIZE_NFKC);
    g_autofree char *lower = g_utf8_strdown (nfkc, -1);

    cJSON_AddNumberToObject (vocab, lower, i + 1);
  }
  json = cJSON_Print (root);
  cJSON_Delete (root);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));

  tok = sf_tokenizer_load_json (path, &error);
  g_assert_no_error (error);
  text = g_strjoinv ("  ", (char **)words);
  enc = sf_tokenizer_encode (tok, text, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (enc->n, ==, g_strv_length ((char **)words));
  for (guint i = 0; words[i]; i++) {
    glong len = g_utf8_strlen (words[i], -1);

    g_assert_cmpint (enc->ids[i], ==, i + 1);
    g_assert_cmpint (enc->offsets[2 * i], ==, pos);
    g_assert_cmpint (enc->offsets[2 * i + 1], ==, pos + len);
    pos += len + 2;
  }
  remove_dir (dir);
}

/* ---- single components, against `tokenizers`' documented examples ---- */

/* (transfer full) a tokenizer from tokenizer.json text, through a file. */
static SfTokenizer *
load_json_text (const char *json)
{
  g_autofree char *dir = make_temp_dir ();
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autoptr (GError) error = NULL;
  SfTokenizer *tok;

  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  tok = sf_tokenizer_load_json (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tok);
  remove_dir (dir);
  return tok;
}

/* A WordLevel tokenizer whose vocabulary is [UNK] and @words, with
 * @pre_tokenizer and @decoder (JSON, nullable). */
static SfTokenizer *
word_level_tokenizer (
    const char *const *words, const char *pre_tokenizer, const char *decoder)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *model = cJSON_AddObjectToObject (root, "model");
  cJSON *vocab = cJSON_AddObjectToObject (model, "vocab");
  g_autofree char *json = NULL;

  cJSON_AddStringToObject (model, "type", "WordLevel");
  cJSON_AddStringToObject (model, "unk_token", "[UNK]");
  cJSON_AddNumberToObject (vocab, "[UNK]", 0);
  for (guint i = 0; words[i]; i++)
    if (!cJSON_GetObjectItemCaseSensitive (vocab, words[i]))
      cJSON_AddNumberToObject (vocab, words[i], i + 1);
  if (pre_tokenizer)
    cJSON_AddItemToObject (root, "pre_tokenizer", cJSON_Parse (pre_tokenizer));
  if (decoder)
    cJSON_AddItemToObject (root, "decoder", cJSON_Parse (decoder));
  json = cJSON_Print (root);
  cJSON_Delete (root);
  return load_json_text (json);
}

/* Encodes @text and checks that the words are @expected ("|"-joined) with
 * offsets that find each word in @text. */
static void
check_words (SfTokenizer *tok, const char *text, const char *expected)
{
  g_auto (GStrv) words = g_strsplit (expected, "|", -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfEncoding) enc =
      sf_tokenizer_encode (tok, text, NULL, NULL, &error);
  g_autofree char *got = NULL;
  const char *from = text;

  g_assert_no_error (error);
  got = g_strjoinv ("|", enc->tokens);
  g_assert_cmpstr (got, ==, expected);
  for (guint i = 0; i < enc->n; i++) {
    const char *at = strstr (from, words[i]);

    g_assert_nonnull (at);
    g_assert_cmpint (
        enc->offsets[2 * i], ==, g_utf8_pointer_to_offset (text, at));
    g_assert_cmpint (enc->offsets[2 * i + 1], ==,
        enc->offsets[2 * i] + g_utf8_strlen (words[i], -1));
    from = at + strlen (words[i]);
  }
}

/* The split behaviours, on the examples of `tokenizers`' NormalizedString
 * ::split documentation and its Split and Digits tests. */
static void
test_split_behaviors (void)
{
  const struct
  {
    const char *pre_tokenizer;
    const char *text;
    const char *expected;
  } cases[] = {
    { "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
      "\"behavior\": \"Removed\"}",
        "the-final--countdown", "the|final|countdown" },
    { "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
      "\"behavior\": \"Isolated\"}",
        "the-final--countdown", "the|-|final|-|-|countdown" },
    { "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
      "\"behavior\": \"MergedWithPrevious\"}",
        "the-final--countdown", "the-|final-|-|countdown" },
    { "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
      "\"behavior\": \"MergedWithNext\"}",
        "the-final--countdown", "the|-final|-|-countdown" },
    { "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, "
      "\"behavior\": \"Contiguous\"}",
        "the-final--countdown", "the|-|final|--|countdown" },
    { "{\"type\": \"Split\", \"pattern\": {\"Regex\": "
      "\"\\\\w+|[^\\\\w\\\\s]+\"}, \"behavior\": \"Removed\", "
      "\"invert\": true}",
        "How are you doing?", "How|are|you|doing|?" },
    { "{\"type\": \"Split\", \"pattern\": {\"Regex\": "
      "\"\\\\w+|[^\\\\w\\\\s]+\"}, \"behavior\": "
      "\"MergedWithPrevious\", \"invert\": true}",
        "How are you doing?", "How |are |you |doing|?" },
    { "{\"type\": \"Split\", \"pattern\": {\"Regex\": "
      "\"\\\\w+|[^\\\\w\\\\s]+\"}, \"behavior\": "
      "\"MergedWithNext\", \"invert\": true}",
        "How are you doing?", "How| are| you| doing|?" },
    { "{\"type\": \"Split\", \"pattern\": {\"Regex\": "
      "\"\\\\w+|[^\\\\w\\\\s]+\"}, \"behavior\": "
      "\"Contiguous\", \"invert\": true}",
        "How are you doing?", "How| |are| |you| |doing?" },
    { "{\"type\": \"Digits\", \"individual_digits\": false}", "Hey 123 friend!",
        "Hey |123| friend!" },
    { "{\"type\": \"Digits\", \"individual_digits\": true}", "Hey 123 friend!",
        "Hey |1|2|3| friend!" },
    { "{\"type\": \"Punctuation\"}", "Hey friend!     How are you?!?",
        "Hey friend|!|     How are you|?|!|?" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (GStrv) words = g_strsplit (cases[i].expected, "|", -1);
    g_autoptr (SfTokenizer) tok = word_level_tokenizer (
        (const char *const *)words, cases[i].pre_tokenizer, NULL);

    check_words (tok, cases[i].text, cases[i].expected);
  }
}

/* The decoders, on the examples of `tokenizers`' decoder tests, and the
 * Llama-style chain Replace + ByteFallback + Fuse + Strip. */
static void
test_decoders (void)
{
  const struct
  {
    const char *decoder;
    const char *tokens; /* "|"-joined */
    const char *expected;
  } cases[] = {
    { "{\"type\": \"ByteFallback\"}", "<0x61>", "a" },
    { "{\"type\": \"ByteFallback\"}", "<0xE5>", "\xef\xbf\xbd" },
    { "{\"type\": \"ByteFallback\"}", "<0xE5>|<0x8f>",
        "\xef\xbf\xbd\xef\xbf\xbd" },
    { "{\"type\": \"ByteFallback\"}", "<0xE5>|<0x8f>|<0xab>|a", "叫a" },
    { "{\"type\": \"ByteFallback\"}", "<0xE5>|<0x8f>|a",
        "\xef\xbf\xbd\xef\xbf\xbd"
        "a" },
    { "{\"type\": \"Strip\", \"content\": \"H\", \"start\": 1, "
      "\"stop\": 0}",
        "Hey| friend!|HHH", "ey friend!HH" },
    { "{\"type\": \"Strip\", \"content\": \"y\", \"start\": 0, "
      "\"stop\": 1}",
        "Hey| friend!", "He friend!" },
    { "{\"type\": \"BPEDecoder\", \"suffix\": \"</w>\"}",
        "My</w>|na|me</w>|is</w>|Jo|hn</w>", "My name is John" },
    { "{\"type\": \"Metaspace\", \"replacement\": \"▁\", "
      "\"prepend_scheme\": \"always\"}",
        "▁Hey|▁friend!", "Hey friend!" },
    { "{\"type\": \"Metaspace\", \"replacement\": \"▁\", "
      "\"prepend_scheme\": \"never\"}",
        "▁Hey|▁friend!", " Hey friend!" },
    { "{\"type\": \"ByteLevel\"}",
        "Hello|Ġmy|Ġfriend|,|Ġhow|Ġis|Ġyour|Ġday"
        "|Ġgoing|?",
        "Hello my friend, how is your day going?" },
    { "{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", "
      "\"pattern\": {\"String\": \"▁\"}, \"content\": \" \"}, "
      "{\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, "
      "{\"type\": \"Strip\", \"content\": \" \", \"start\": 1, "
      "\"stop\": 0}]}",
        "▁Hey|▁friend|<0x21>", "Hey friend!" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_auto (GStrv) tokens = g_strsplit (cases[i].tokens, "|", -1);
    g_autoptr (SfTokenizer) tok = word_level_tokenizer (
        (const char *const *)tokens, NULL, cases[i].decoder);
    guint n = g_strv_length (tokens);
    g_autofree gint32 *ids = g_new (gint32, n);
    g_autofree char *text = NULL;

    for (guint k = 0; k < n; k++)
      ids[k] = sf_tokenizer_token_to_id (tok, tokens[k]);
    text = sf_tokenizer_decode (tok, ids, n, TRUE);
    g_assert_cmpstr (text, ==, cases[i].expected);
  }
}

/* ---- fuzzing ---- */

/* Appends one random code point drawn from ranges that stress the stages:
 * ASCII, Latin with accents, combining marks, CJK, emoji, spaces of all
 * kinds, controls, and the byte-level and metaspace chars themselves. */
static void
append_random_char (GRand *rand, GString *s)
{
  static const gunichar ranges[][2] = {
    { 0x20, 0x7e },
    { 0x01, 0x1f },
    { 0xa0, 0x17f },
    { 0x300, 0x36f },
    { 0x400, 0x4ff },
    { 0x4e00, 0x4e80 },
    { 0x1f600, 0x1f64f },
    { 0x2000, 0x200f },
    { 0x2028, 0x202f },
    { 0x2580, 0x2582 },
    { 0xfe00, 0xfeff },
    { 0xfff0, 0xfffd },
    { 0x10000, 0x10100 },
  };
  guint r = g_rand_int_range (rand, 0, G_N_ELEMENTS (ranges));
  gunichar c = g_rand_int_range (rand, ranges[r][0], ranges[r][1] + 1);

  g_string_append_unichar (s, c);
}

/* A random string of up to 200 bytes: raw bytes (mostly invalid UTF-8),
 * valid text, or valid text with special tokens spliced in. */
static char *
random_text (GRand *rand)
{
  guint len = g_rand_int_range (rand, 0, 201);
  guint kind = g_rand_int_range (rand, 0, 3);
  GString *s = g_string_sized_new (len + 16);

  while (s->len < len) {
    if (kind == 0) {
      /* no NUL: the API takes NUL-terminated text */
      g_string_append_c (s, (char)g_rand_int_range (rand, 1, 256));
    } else if (kind == 2 && g_rand_int_range (rand, 0, 20) == 0) {
      static const char *const specials[] = { "<|endoftext|>", "</s>", "[CLS]",
        "<|startoftext|>", "<unk>", "[MASK]" };

      g_string_append (
          s, specials[g_rand_int_range (rand, 0, G_N_ELEMENTS (specials))]);
    } else {
      append_random_char (rand, s);
    }
  }
  if (s->len > 200 && kind == 0)
    g_string_truncate (s, 200);
  return g_string_free (s, FALSE);
}

/* 10,000 random strings through each tokenizer: invalid UTF-8 must be an
 * INVALID error; valid text must encode with sane ids and offsets and
 * decode. Byte-level BPE without a normaliser decodes back to the exact
 * input. */
static void
test_fuzz (void)
{
  const char *names[] = { "tok-wordpiece-uncased", "tok-bytelevel-bpe",
    "tok-clip-bpe", "tok-unigram-metaspace" };

  for (guint t = 0; t < G_N_ELEMENTS (names); t++) {
    g_autofree char *dir = fixture (names[t], "");
    g_autoptr (GError) error = NULL;
    g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (dir, &error);
    GRand *rand = g_rand_new_with_seed (20240601 + t);
    gboolean exact = g_str_equal (names[t], "tok-bytelevel-bpe");
    guint valid = 0;

    g_assert_no_error (error);
    for (guint i = 0; i < 10000; i++) {
      g_autofree char *text = random_text (rand);
      g_autofree char *decoded = NULL;
      g_autoptr (SfEncoding) enc =
          sf_tokenizer_encode (tok, text, NULL, NULL, &error);
      glong nchars;

      if (!g_utf8_validate (text, -1, NULL)) {
        g_assert_null (enc);
        g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
        g_clear_error (&error);
        continue;
      }
      valid++;
      g_assert_no_error (error);
      g_assert_nonnull (enc);
      nchars = g_utf8_strlen (text, -1);
      for (guint k = 0; k < enc->n; k++) {
        g_assert_nonnull (sf_tokenizer_id_to_token (tok, enc->ids[k]));
        g_assert_cmpint (enc->offsets[2 * k], <=, enc->offsets[2 * k + 1]);
        g_assert_cmpint (enc->offsets[2 * k + 1], <=, nchars);
      }
      decoded =
          sf_tokenizer_decode (tok, enc->ids, enc->n, exact ? FALSE : TRUE);
      g_assert_nonnull (decoded);
      g_assert_true (g_utf8_validate (decoded, -1, NULL));
      if (exact)
        g_assert_cmpstr (decoded, ==, text);
    }
    /* the mix holds both kinds */
    g_assert_cmpuint (valid, >, 3000);
    g_assert_cmpuint (valid, <, 9000);
    g_rand_free (rand);
  }
}

/* tokenizer_config.json's pad_token names the padding id (CLIP pads with
 * <|endoftext|>, which tokenizer.json does not record). */
static void
test_pad_token_from_config (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("tok-clip-bpe");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) plain = NULL, padded = NULL;
  gint32 eot;

  plain = sf_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  eot = sf_tokenizer_token_to_id (plain, "<|endoftext|>");
  g_assert_cmpint (eot, >, 0);
  sf_test_write_file (dir, "tokenizer_config.json",
      "{\"model_max_length\": 77, \"pad_token\": {\"content\": "
      "\"<|endoftext|>\", \"special\": true}}");
  padded = sf_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sf_tokenizer_pad_id (padded), ==, eot);
  g_assert_cmpuint (sf_tokenizer_model_max_length (padded), ==, 77);
  sf_test_remove_dir (dir);
}

/* Without tokenizer.json, vocab.json + merges.txt build the same byte-level
 * BPE: every case of the fixture encodes and decodes identically. */
static void
test_vocab_json_fallback (void)
{
  g_autofree char *ref_dir = sf_test_fixture ("tok-bytelevel-bpe");
  g_autofree char *dir = sf_test_copy_fixture ("tok-bytelevel-bpe");
  g_autofree char *json_path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *case_path = g_build_filename (ref_dir, "case.json", NULL);
  g_autofree char *case_text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) ref = sf_tokenizer_load_dir (ref_dir, &error);
  g_autoptr (SfTokenizer) fallback = NULL;
  cJSON *root, *item;
  guint n = 0;

  g_assert_no_error (error);
  g_assert_cmpint (g_unlink (json_path), ==, 0);
  fallback = sf_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (
      sf_tokenizer_vocab_size (fallback), ==, sf_tokenizer_vocab_size (ref));

  g_assert_true (g_file_get_contents (case_path, &case_text, NULL, NULL));
  root = cJSON_Parse (case_text);
  cJSON_ArrayForEach (item, cJSON_GetObjectItem (root, "cases")) {
    const char *text = cJSON_GetObjectItem (item, "text")->valuestring;
    SfEncodeOptions opts = SF_ENCODE_OPTIONS_DEFAULT;
    g_autoptr (SfEncoding) a =
        sf_tokenizer_encode (ref, text, NULL, &opts, NULL);
    g_autoptr (SfEncoding) b =
        sf_tokenizer_encode (fallback, text, NULL, &opts, NULL);
    g_autofree char *da = NULL, *db = NULL;

    g_assert_nonnull (a);
    g_assert_nonnull (b);
    g_assert_cmpuint (a->n, ==, b->n);
    g_assert_cmpmem (
        a->ids, a->n * sizeof (gint32), b->ids, b->n * sizeof (gint32));
    g_assert_cmpmem (a->offsets, 2 * a->n * sizeof (gint64), b->offsets,
        2 * b->n * sizeof (gint64));
    da = sf_tokenizer_decode (ref, a->ids, a->n, TRUE);
    db = sf_tokenizer_decode (fallback, b->ids, b->n, TRUE);
    g_assert_cmpstr (da, ==, db);
    n++;
  }
  g_assert_cmpuint (n, >, 10);
  cJSON_Delete (root);
  sf_test_remove_dir (dir);
}

/* Whisper's slow files: added_tokens.json supplies the <|…|> special
 * tokens, and the greedy ids of the reference decode to its text. */
static void
test_vocab_json_whisper (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("whisper-tiny-asr");
  g_autofree char *json_path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *case_path = g_build_filename (dir, "case.json", NULL);
  g_autofree char *case_text = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTokenizer) tok = NULL;
  cJSON *root, *ids, *texts;

  g_assert_cmpint (g_unlink (json_path), ==, 0);
  tok = sf_tokenizer_load_dir (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (
      sf_tokenizer_token_to_id (tok, "<|startoftranscript|>"), ==, 1);
  g_assert_true (g_file_get_contents (case_path, &case_text, NULL, NULL));
  root = cJSON_Parse (case_text);
  ids = cJSON_GetObjectItem (root, "greedy_ids");
  texts = cJSON_GetObjectItem (root, "greedy_text");
  for (int i = 0; i < cJSON_GetArraySize (ids); i++) {
    cJSON *row = cJSON_GetArrayItem (ids, i), *v;
    g_autoptr (GArray) seq = g_array_new (FALSE, FALSE, sizeof (gint32));
    g_autofree char *text = NULL;

    cJSON_ArrayForEach (v, row) {
      gint32 id = (gint32)v->valuedouble;
      g_array_append_val (seq, id);
    }
    text = sf_tokenizer_decode (tok, (gint32 *)seq->data, seq->len, TRUE);
    g_assert_cmpstr (text, ==, cJSON_GetArrayItem (texts, i)->valuestring);
  }
  cJSON_Delete (root);
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/tokenizer/wordpiece/cases", test_wordpiece_cases);
  g_test_add_data_func ("/core/tokenizer/bytelevel-bpe/cases",
      "tok-bytelevel-bpe", test_fixture_cases);
  g_test_add_data_func (
      "/core/tokenizer/clip-bpe/cases", "tok-clip-bpe", test_fixture_cases);
  g_test_add_data_func ("/core/tokenizer/unigram/cases",
      "tok-unigram-metaspace", test_fixture_cases);
  g_test_add_func (
      "/core/tokenizer/wordpiece/special-mask", test_wordpiece_special_mask);
  g_test_add_func (
      "/core/tokenizer/wordpiece/vocab-txt", test_wordpiece_vocab_txt);
  g_test_add_func (
      "/core/tokenizer/wordpiece/added-tokens", test_added_tokens_in_text);
  g_test_add_func ("/core/tokenizer/wordpiece/accessors", test_accessors);
  g_test_add_func (
      "/core/tokenizer/bert-tiny-cls/json", test_bert_tiny_cls_json);
  g_test_add_func (
      "/core/tokenizer/bert-tiny-cls/vocab-txt", test_bert_tiny_cls_vocab_txt);
  g_test_add_func (
      "/core/tokenizer/normalizer/nfkc-lowercase", test_normalizer_forms);
  g_test_add_func (
      "/core/tokenizer/truncation/long-line", test_truncation_long_line);
  g_test_add_func ("/core/tokenizer/truncation/pair", test_truncation_pair);
  g_test_add_func ("/core/tokenizer/edge/empty", test_empty);
  g_test_add_func ("/core/tokenizer/errors/unknown-normalizer",
      test_error_unknown_normalizer);
  g_test_add_func (
      "/core/tokenizer/errors/unknown-type", test_error_unknown_type);
  g_test_add_func ("/core/tokenizer/errors/bad-fields", test_error_bad_fields);
  g_test_add_func (
      "/core/tokenizer/errors/overlong-utf8", test_error_overlong_utf8);
  g_test_add_func (
      "/core/tokenizer/errors/bpe-long-affix", test_error_bpe_long_affix);
  g_test_add_func (
      "/core/tokenizer/errors/normalizer-growth", test_error_normalizer_growth);
  g_test_add_func (
      "/core/tokenizer/errors/regex-match-limit", test_error_regex_match_limit);
  g_test_add_func ("/core/tokenizer/fuzz/random-bytes", test_fuzz);
  g_test_add_func (
      "/core/tokenizer/pre-tokenizer/split-behaviors", test_split_behaviors);
  g_test_add_func ("/core/tokenizer/decoder/examples", test_decoders);
  g_test_add_func (
      "/core/tokenizer/vocab-json/bytelevel", test_vocab_json_fallback);
  g_test_add_func (
      "/core/tokenizer/vocab-json/whisper", test_vocab_json_whisper);
  g_test_add_func (
      "/core/tokenizer/config/pad-token", test_pad_token_from_config);
  g_test_add_func (
      "/core/tokenizer/errors/corrupt-json", test_error_corrupt_json);
  g_test_add_func (
      "/core/tokenizer/errors/invalid-utf8", test_error_invalid_utf8);
  return g_test_run ();
}
