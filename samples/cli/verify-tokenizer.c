/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on tokenizer cases: every case's ids, tokens,
 * offsets, type ids, ids without special tokens, and decoded text. */
#include "samples/cli/verify.h"
#include "core/error.h"
#include "core/tokenizer/tokenizer.h"

#include <stdio.h>
#include <string.h>

enum
{
  F_IDS,
  F_TOKENS,
  F_OFFSETS,
  F_TYPE_IDS,
  F_NO_SPECIAL,
  F_DECODED,
  F_COUNT
};

static const char *const field_names[F_COUNT] = { "ids", "tokens", "offsets",
  "type_ids", "no_special_ids", "decoded" };

static gboolean
int_list_equal (const cJSON *list, const gint32 *values, guint n)
{
  guint i = 0;
  const cJSON *item;

  if (!cJSON_IsArray (list) || (guint)cJSON_GetArraySize (list) != n)
    return FALSE;
  cJSON_ArrayForEach (item, list) {
    if (!cJSON_IsNumber (item) || item->valuedouble != values[i++])
      return FALSE;
  }
  return TRUE;
}

static gboolean
offsets_equal (const cJSON *list, const SfEncoding *enc)
{
  guint i = 0;
  const cJSON *pair;

  if (!cJSON_IsArray (list) || (guint)cJSON_GetArraySize (list) != enc->n)
    return FALSE;
  cJSON_ArrayForEach (pair, list) {
    const cJSON *s = cJSON_GetArrayItem (pair, 0),
                *e = cJSON_GetArrayItem (pair, 1);
    if (!cJSON_IsNumber (s) || !cJSON_IsNumber (e)
        || s->valuedouble != enc->offsets[2 * i]
        || e->valuedouble != enc->offsets[2 * i + 1])
      return FALSE;
    i++;
  }
  return TRUE;
}

static gboolean
tokens_equal (const cJSON *list, const SfEncoding *enc)
{
  guint i = 0;
  const cJSON *item;

  if (!cJSON_IsArray (list) || (guint)cJSON_GetArraySize (list) != enc->n)
    return FALSE;
  cJSON_ArrayForEach (item, list) {
    if (!cJSON_IsString (item)
        || g_strcmp0 (item->valuestring, enc->tokens[i++]))
      return FALSE;
  }
  return TRUE;
}

static cJSON *
int_array (const gint32 *values, guint n)
{
  cJSON *a = cJSON_CreateArray ();
  for (guint i = 0; i < n; i++)
    cJSON_AddItemToArray (a, cJSON_CreateNumber (values[i]));
  return a;
}

gboolean
sf_verify_tokenizer_case (SfVerify *v, const char *dump_json, GError **error)
{
  g_autoptr (SfTokenizer) tok = sf_tokenizer_load_dir (v->dir, error);
  const cJSON *cases = sf_config_get (v->case_json, "cases"), *c;
  guint mismatches[F_COUNT] = { 0 }, defined[F_COUNT] = { 0 };
  g_autoptr (GPtrArray) details = g_ptr_array_new_full (F_COUNT, g_free);
  g_autoptr (cJSON) dump = cJSON_CreateObject ();
  cJSON *dump_cases = cJSON_AddArrayToObject (dump, "cases");
  guint index = 0;

  if (tok == NULL)
    return FALSE;
  g_ptr_array_set_size (details, F_COUNT);
  if (!cJSON_IsArray (cases)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'cases' is missing or not a list",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  cJSON_ArrayForEach (c, cases) {
    const cJSON *text = cJSON_GetObjectItemCaseSensitive (c, "text");
    const cJSON *pair = cJSON_GetObjectItemCaseSensitive (c, "pair");
    SfEncodeOptions with = SF_ENCODE_OPTIONS_DEFAULT, without = with;
    g_autoptr (SfEncoding) enc = NULL, bare = NULL;
    g_autofree char *decoded = NULL;
    gboolean ok[F_COUNT];
    cJSON *d;

    if (!cJSON_IsString (text)) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: cases[%u].text is missing", sf_config_origin (v->case_json),
          index);
      return FALSE;
    }
    without.add_special_tokens = FALSE;
    enc = sf_tokenizer_encode (tok, text->valuestring,
        cJSON_IsString (pair) ? pair->valuestring : NULL, &with, error);
    bare = enc
        ? sf_tokenizer_encode (tok, text->valuestring,
            cJSON_IsString (pair) ? pair->valuestring : NULL, &without, error)
        : NULL;
    if (bare == NULL)
      return FALSE;
    decoded = sf_tokenizer_decode (tok, enc->ids, enc->n, TRUE);

    ok[F_IDS] =
        int_list_equal (cJSON_GetObjectItem (c, "ids"), enc->ids, enc->n);
    ok[F_TOKENS] = tokens_equal (cJSON_GetObjectItem (c, "tokens"), enc);
    ok[F_OFFSETS] = offsets_equal (cJSON_GetObjectItem (c, "offsets"), enc);
    ok[F_TYPE_IDS] = int_list_equal (
        cJSON_GetObjectItem (c, "type_ids"), enc->type_ids, enc->n);
    ok[F_NO_SPECIAL] = int_list_equal (
        cJSON_GetObjectItem (c, "no_special_ids"), bare->ids, bare->n);
    ok[F_DECODED] =
        g_strcmp0 (
            cJSON_GetStringValue (cJSON_GetObjectItem (c, "decoded")), decoded)
        == 0;
    for (int f = 0; f < F_COUNT; f++) {
      /* a case may define only some fields (pairs carry no offsets) */
      if (cJSON_GetObjectItem (c, field_names[f]) == NULL)
        continue;
      defined[f]++;
      if (ok[f])
        continue;
      if (mismatches[f]++ == 0)
        details->pdata[f] = g_strdup_printf ("first mismatch in cases[%u] "
                                             "(text \"%.60s\")",
            index, text->valuestring);
    }

    d = cJSON_CreateObject ();
    cJSON_AddItemToObject (d, "ids", int_array (enc->ids, enc->n));
    cJSON_AddItemToObject (d, "type_ids", int_array (enc->type_ids, enc->n));
    cJSON_AddItemToObject (d, "no_special_ids", int_array (bare->ids, bare->n));
    cJSON_AddItemToObject (d, "tokens",
        cJSON_CreateStringArray ((const char *const *)enc->tokens, enc->n));
    cJSON_AddStringToObject (d, "decoded", decoded);
    cJSON_AddItemToArray (dump_cases, d);
    index++;
  }
  for (int f = 0; f < F_COUNT; f++)
    if (defined[f] > 0)
      sf_verify_exact (v, field_names[f], mismatches[f], details->pdata[f]);

  if (dump_json) {
    char *text = cJSON_Print (dump);
    gboolean written = g_file_set_contents (dump_json, text, -1, error);
    cJSON_free (text);
    if (!written)
      return FALSE;
  }
  return TRUE;
}
