/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tokenizer.json: loading every pipeline stage, then encode and decode.
 * Input: tokenizer.json NUL text [NUL pair]. The text's length picks the
 * truncation limit, so truncation runs on most inputs. */
#include "core/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz-util.h"

#include <string.h>

static void
round_trip (SfTokenizer *tok, const char *text, const char *pair)
{
  SfEncodeOptions opts = SF_ENCODE_OPTIONS_DEFAULT;
  g_autoptr (SfEncoding) enc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gint32 *raw = NULL;
  gsize len = strlen (text);
  guint vocab = sf_tokenizer_vocab_size (tok);

  opts.max_length = len % 13;
  opts.add_special_tokens = (len & 16) == 0;
  enc = sf_tokenizer_encode (tok, text, pair, &opts, &error);
  if (enc == NULL) {
    if (error == NULL)
      abort ();
    return;
  }
  for (guint i = 0; i < enc->n; i++) {
    if (enc->offsets[2 * i] > enc->offsets[2 * i + 1])
      abort ();
    sf_tokenizer_id_to_token (tok, enc->ids[i]);
    sf_tokenizer_token_to_id (tok, enc->tokens[i]);
  }
  g_free (sf_tokenizer_decode (tok, enc->ids, enc->n, FALSE));
  g_free (sf_tokenizer_decode (tok, enc->ids, enc->n, TRUE));

  /* Ids a caller may hand in: the text's bytes as ids around the vocab,
   * including negative and out-of-range ones. */
  raw = g_new (gint32, len + 1);
  for (gsize i = 0; i < len; i++)
    raw[i] = (gint32)((guint8)text[i] * 7) % (gint32)(vocab + 4) - 2;
  g_free (sf_tokenizer_decode (tok, raw, len, len & 1));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) parts = sf_fuzz_split (data, size, 3);
  g_autofree char *path = NULL;
  g_autoptr (SfTokenizer) tok = NULL;
  g_autoptr (GError) error = NULL;
  const char *json = parts->pdata[0];

  path =
      sf_fuzz_write (sf_fuzz_tmpdir (), "tokenizer.json", json, strlen (json));
  tok = sf_tokenizer_load_json (path, &error);
  if (tok == NULL) {
    if (error == NULL)
      abort ();
    return 0;
  }
  sf_tokenizer_pad_id (tok);
  sf_tokenizer_model_max_length (tok);
  round_trip (tok,
      parts->len > 1 ? parts->pdata[1] : "Hello, world! héllo 東京",
      parts->len > 2 ? parts->pdata[2] : NULL);
  return 0;
}
