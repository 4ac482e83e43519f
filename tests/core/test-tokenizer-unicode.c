/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every code point through the tokenizers, against Hugging Face
 * `tokenizers`: the probe "ab" + c + "cd e" for each code point from U+0001
 * to U+10FFFF (surrogates excluded; U+0000 too, as text reaches the
 * tokenizer NUL-terminated), with the WordPiece (BERT normaliser and
 * pre-tokeniser) and byte-level BPE fixtures. The reference lives in
 * tests/fixtures/tok-unicode-probe/ (see make-probe.js there): only the
 * code points whose ids are not the trivial answer (prefix, c alone,
 * suffix) are listed, as ranges. As those byte-level ids barely depend on the
 * GPT-2 pattern's split, the run each code point joins in that split is
 * compared as well (bytelevel-split.txt).
 */
#include <string.h>
#include <glib.h>
#include <cjson/cJSON.h>

#include "core/tokenizer/tokenizer-private.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/common/test-util.h"

#define MAX_CODE_POINT 0x10FFFF

typedef struct
{
  gunichar first, last;
  GArray *ids; /* gint32 */
} ProbeRun;

typedef struct
{
  gboolean bytelevel; /* trivial rule: byte ids, else vocabulary id or UNK */
  GArray *prefix, *suffix;
  GArray *runs; /* ProbeRun, ascending */
} ProbeReference;

static GArray *
parse_ids (const char *text)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i] && parts[i][0]; i++) {
    gint32 id = (gint32)g_ascii_strtoll (parts[i], NULL, 10);
    g_array_append_val (ids, id);
  }
  return ids;
}

static void
probe_reference_clear (ProbeReference *ref)
{
  g_clear_pointer (&ref->prefix, g_array_unref);
  g_clear_pointer (&ref->suffix, g_array_unref);
  for (guint i = 0; ref->runs && i < ref->runs->len; i++)
    g_array_unref (g_array_index (ref->runs, ProbeRun, i).ids);
  g_clear_pointer (&ref->runs, g_array_unref);
}

static void
probe_reference_load (const char *name, ProbeReference *ref)
{
  g_autofree char *dir = sf_test_fixture ("tok-unicode-probe");
  g_autofree char *file = g_strconcat (name, ".txt", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  memset (ref, 0, sizeof (*ref));
  ref->runs = g_array_new (FALSE, FALSE, sizeof (ProbeRun));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], " ", 3);
    guint n = g_strv_length (f);

    if (n == 0 || lines[i][0] == '#')
      continue;
    if (n == 2 && strcmp (f[0], "trivial") == 0) {
      ref->bytelevel = strcmp (f[1], "bytelevel") == 0;
    } else if (n == 2 && strcmp (f[0], "prefix") == 0) {
      ref->prefix = parse_ids (f[1]);
    } else if (n == 2 && strcmp (f[0], "suffix") == 0) {
      ref->suffix = parse_ids (f[1]);
    } else {
      ProbeRun run;
      g_assert_cmpuint (n, ==, 3);
      run.first = (gunichar)g_ascii_strtoull (f[0], NULL, 16);
      run.last = (gunichar)g_ascii_strtoull (f[1], NULL, 16);
      run.ids = parse_ids (f[2]);
      g_assert_cmpuint (run.first, <=, run.last);
      g_array_append_val (ref->runs, run);
    }
  }
  g_assert_nonnull (ref->prefix);
  g_assert_nonnull (ref->suffix);
}

/* The reference ids of @c: its run's, or prefix + c alone + suffix. */
static void
expected_ids (const ProbeReference *ref, SfTokenizer *tok, gunichar c,
    guint *run_at, GArray *out)
{
  g_array_set_size (out, 0);
  while (*run_at < ref->runs->len
      && g_array_index (ref->runs, ProbeRun, *run_at).last < c)
    (*run_at)++;
  if (*run_at < ref->runs->len) {
    const ProbeRun *run = &g_array_index (ref->runs, ProbeRun, *run_at);
    if (run->first <= c) {
      g_array_append_vals (out, run->ids->data, run->ids->len);
      return;
    }
  }
  g_array_append_vals (out, ref->prefix->data, ref->prefix->len);
  if (ref->bytelevel) {
    char utf8[6];
    gint n = g_unichar_to_utf8 (c, utf8);
    for (gint i = 0; i < n; i++) {
      char ch[6] = { 0 };
      gint32 id;
      g_unichar_to_utf8 (sf_byte_level_char ((guint8)utf8[i]), ch);
      id = sf_tokenizer_token_to_id (tok, ch);
      g_array_append_val (out, id);
    }
  } else {
    char ch[7] = { 0 };
    gint32 id;
    g_unichar_to_utf8 (c, ch);
    id = sf_tokenizer_token_to_id (tok, ch);
    if (id < 0)
      id = sf_tokenizer_token_to_id (tok, "[UNK]");
    g_array_append_val (out, id);
  }
  g_array_append_vals (out, ref->suffix->data, ref->suffix->len);
}

static char *
ids_string (const gint32 *ids, guint n)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", ids[i]);
  return g_string_free (s, FALSE);
}

static void
test_probe (gconstpointer data)
{
  const char *name = data;
  g_autofree char *dir = sf_test_fixture (name);
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autoptr (GError) error = NULL;
  SfTokenizer *tok = sf_tokenizer_load_json (path, &error);
  g_autoptr (GArray) want = g_array_new (FALSE, FALSE, sizeof (gint32));
  SfEncodeOptions opts = SF_ENCODE_OPTIONS_DEFAULT;
  ProbeReference ref;
  guint run_at = 0, differ = 0;

  g_assert_no_error (error);
  probe_reference_load (name, &ref);
  /* from U+0001: the C API takes NUL-terminated text */
  for (gunichar c = 1; c <= MAX_CODE_POINT; c++) {
    char text[16] = "ab";
    gint n;
    SfEncoding *enc;

    if (c >= 0xD800 && c <= 0xDFFF)
      continue;
    n = g_unichar_to_utf8 (c, text + 2);
    memcpy (text + 2 + n, "cd e", 5);
    expected_ids (&ref, tok, c, &run_at, want);
    enc = sf_tokenizer_encode (tok, text, NULL, &opts, &error);
    g_assert_no_error (error);
    if (enc->n != want->len
        || memcmp (enc->ids, want->data, want->len * sizeof (gint32)) != 0) {
      if (differ++ < 20) {
        g_autofree char *got = ids_string (enc->ids, enc->n);
        g_autofree char *exp =
            ids_string ((const gint32 *)want->data, want->len);
        g_test_message ("U+%04X: ids %s, reference %s", c, got, exp);
      }
    }
    sf_encoding_free (enc);
  }
  g_test_message ("%s: %u code points differ from the reference", name, differ);
  g_assert_cmpuint (differ, ==, 0);
  probe_reference_clear (&ref);
  sf_tokenizer_free (tok);
}

/* How many words the pre-tokenizer makes of @chars. */
static guint
count_words (SfPreTokenizer *pre, SfNormalized *text, const gunichar *chars,
    guint n, GArray *in, GArray *out)
{
  g_autoptr (GError) error = NULL;
  SfSpan all = { 0, n };

  sf_normalized_set (text, chars, n, 0);
  g_array_set_size (in, 0);
  g_array_set_size (out, 0);
  g_array_append_val (in, all);
  g_assert_true (pre->klass->split (pre, text, in, out, &error));
  g_assert_no_error (error);
  return out->len;
}

/* The run of the GPT-2 pattern @c joins: L, N, O or S (as the reference
 * names them). */
static char
split_class (SfPreTokenizer *pre, SfNormalized *text, gunichar c, GArray *in,
    GArray *out)
{
  const gunichar letter[2] = { 'a', c }, digit[2] = { '1', c },
                 other[2] = { '!', c };

  if (count_words (pre, text, letter, 2, in, out) == 1)
    return 'L';
  if (count_words (pre, text, digit, 2, in, out) == 1)
    return 'N';
  if (count_words (pre, text, other, 2, in, out) == 1)
    return 'O';
  return 'S';
}

static void
test_split_classes (void)
{
  g_autofree char *dir = sf_test_fixture ("tok-bytelevel-bpe");
  g_autofree char *path = g_build_filename (dir, "tokenizer.json", NULL);
  g_autofree char *probe = sf_test_fixture ("tok-unicode-probe");
  g_autofree char *ref_path =
      g_build_filename (probe, "bytelevel-split.txt", NULL);
  g_autofree char *json = NULL, *ref_text = NULL;
  g_autoptr (GArray) in = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  SfTokLoadContext ctx = { path };
  SfPreTokenizer *pre;
  SfNormalized text;
  cJSON *root;
  char *want = g_malloc (MAX_CODE_POINT + 1);
  guint differ = 0;

  g_assert_true (g_file_get_contents (path, &json, NULL, NULL));
  g_assert_true (g_file_get_contents (ref_path, &ref_text, NULL, NULL));
  root = cJSON_Parse (json);
  pre = sf_pre_tokenizer_new_from_json (
      cJSON_GetObjectItem (root, "pre_tokenizer"), "pre_tokenizer", &ctx,
      &error);
  g_assert_no_error (error);

  memset (want, 'O', MAX_CODE_POINT + 1);
  lines = g_strsplit (ref_text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_auto (GStrv) f = g_strsplit (lines[i], " ", 3);
    gunichar first, last;

    if (lines[i][0] == '#' || lines[i][0] == '\0')
      continue;
    g_assert_cmpuint (g_strv_length (f), ==, 3);
    first = (gunichar)g_ascii_strtoull (f[0], NULL, 16);
    last = (gunichar)g_ascii_strtoull (f[1], NULL, 16);
    g_assert_cmpuint (last, <=, MAX_CODE_POINT);
    memset (want + first, f[2][0], last - first + 1);
  }

  sf_normalized_init (&text);
  for (gunichar c = 1; c <= MAX_CODE_POINT; c++) {
    char got;

    if (c >= 0xD800 && c <= 0xDFFF)
      continue;
    got = split_class (pre, &text, c, in, out);
    if (got != want[c] && differ++ < 20)
      g_test_message ("U+%04X: run %c, reference %c", c, got, want[c]);
  }
  g_test_message (
      "%u code points split differently from the reference", differ);
  g_assert_cmpuint (differ, ==, 0);
  sf_normalized_clear (&text);
  sf_pre_tokenizer_free (pre);
  cJSON_Delete (root);
  g_free (want);
}

/* Digits and Whitespace on code points whose class GLib and PCRE2 see
 * otherwise than `tokenizers` 0.23.2 (whose answers these are): Digits
 * splits off U+10D40 (a digit of Unicode 16); Whitespace's \w holds
 * U+24B6 (a symbol that is alphabetic) and U+1C89 (a letter of Unicode
 * 16). */
static void
test_digits_and_words (void)
{
  static const struct
  {
    const char *json;
    gunichar c;
    guint words; /* in "a" c "b" */
  } cases[] = {
    { "{\"type\": \"Digits\", \"individual_digits\": false}", 0x10D40, 3 },
    { "{\"type\": \"Digits\", \"individual_digits\": false}", 0x24B6, 1 },
    { "{\"type\": \"Whitespace\"}", 0x24B6, 1 },
    { "{\"type\": \"Whitespace\"}", 0x1C89, 1 },
    { "{\"type\": \"Whitespace\"}", 0x2E43, 3 },
  };
  g_autoptr (GArray) in = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  g_autoptr (GArray) out = g_array_new (FALSE, FALSE, sizeof (SfSpan));
  SfTokLoadContext ctx = { "test" };
  SfNormalized text;

  sf_normalized_init (&text);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    cJSON *node = cJSON_Parse (cases[i].json);
    SfPreTokenizer *pre =
        sf_pre_tokenizer_new_from_json (node, "pre_tokenizer", &ctx, &error);
    const gunichar chars[3] = { 'a', cases[i].c, 'b' };

    g_assert_no_error (error);
    g_assert_cmpuint (
        count_words (pre, &text, chars, 3, in, out), ==, cases[i].words);
    sf_pre_tokenizer_free (pre);
    cJSON_Delete (node);
  }
  sf_normalized_clear (&text);
}

/* Code points GLib decomposes and `tokenizers` 0.23.2 leaves whole (its
 * normalisation tables predate them), and one both decompose. */
static void
test_decomposition (void)
{
  static const struct
  {
    SfNormForm form;
    gunichar c;
    gunichar want[2]; /* 0-terminated */
  } cases[] = {
    { SF_NORM_FORM_NFD, 0x11938, { 0x11938, 0 } },
    { SF_NORM_FORM_NFKD, 0x32FF, { 0x32FF, 0 } },
    { SF_NORM_FORM_NFKC, 0xA7F2, { 0xA7F2, 0 } },
    { SF_NORM_FORM_NFD, 0xC0, { 0x41, 0x300 } },
  };
  SfNormalized text, scratch;

  sf_normalized_init (&text);
  sf_normalized_init (&scratch);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    guint n = cases[i].want[1] ? 2 : 1;

    sf_normalized_set (&text, &cases[i].c, 1, 0);
    sf_normalized_apply_form (&text, &scratch, cases[i].form);
    g_assert_cmpuint (text.len, ==, n);
    for (guint k = 0; k < n; k++)
      g_assert_cmphex (text.chars[k], ==, cases[i].want[k]);
  }
  sf_normalized_clear (&text);
  sf_normalized_clear (&scratch);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func (
      "/core/tokenizer/unicode/wordpiece", "tok-wordpiece-uncased", test_probe);
  g_test_add_data_func (
      "/core/tokenizer/unicode/bytelevel", "tok-bytelevel-bpe", test_probe);
  g_test_add_func (
      "/core/tokenizer/unicode/bytelevel-split", test_split_classes);
  g_test_add_func ("/core/tokenizer/unicode/decomposition", test_decomposition);
  g_test_add_func (
      "/core/tokenizer/unicode/digits-and-words", test_digits_and_words);
  return g_test_run ();
}
