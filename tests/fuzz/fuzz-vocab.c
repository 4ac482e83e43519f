/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tokenizer files of checkpoints without tokenizer.json: vocab.txt
 * (BERT WordPiece) or vocab.json + merges.txt (byte-level BPE), each with
 * tokenizer_config.json, then one encode and decode.
 * Input: one byte (even: vocab.txt, odd: vocab.json), then NUL-separated
 *   vocab.txt NUL tokenizer_config.json NUL text
 *   vocab.json NUL merges.txt NUL tokenizer_config.json NUL
 *     added_tokens.json NUL text
 * A part the input does not reach is a file the folder does not have. */
#include "core/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz-util.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *const txt_files[] = { "vocab.txt", "tokenizer_config.json" };
static const char *const json_files[] = { "vocab.json", "merges.txt",
  "tokenizer_config.json", "added_tokens.json" };

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *const *files;
  guint n_files;
  g_autofree char *dir = NULL;
  g_autoptr (GPtrArray) parts = NULL;
  g_autoptr (SfTokenizer) tok = NULL;
  g_autoptr (SfEncoding) enc = NULL;
  g_autoptr (GError) error = NULL;
  const char *text;

  if (size < 1)
    return 0;
  files = data[0] & 1 ? json_files : txt_files;
  n_files = data[0] & 1 ? G_N_ELEMENTS (json_files) : G_N_ELEMENTS (txt_files);
  dir = g_build_filename (sf_fuzz_tmpdir (), "vocab", NULL);
  g_mkdir_with_parents (dir, 0700);
  /* a fresh folder: no file of the previous input may stay behind */
  for (guint i = 0; i < G_N_ELEMENTS (json_files); i++) {
    g_autofree char *old = g_build_filename (dir, json_files[i], NULL);
    g_unlink (old);
  }
  {
    g_autofree char *old = g_build_filename (dir, "vocab.txt", NULL);
    g_unlink (old);
  }

  parts = sf_fuzz_split (data + 1, size - 1, n_files + 1);
  for (guint i = 0; i < n_files && i < parts->len; i++)
    g_free (sf_fuzz_write (
        dir, files[i], parts->pdata[i], strlen (parts->pdata[i])));
  tok = sf_tokenizer_load_dir (dir, &error);
  if (tok == NULL) {
    if (error == NULL)
      abort ();
    return 0;
  }
  text =
      parts->len > n_files ? parts->pdata[n_files] : "Hello world, unaffable!";
  enc = sf_tokenizer_encode (tok, text, NULL, NULL, &error);
  if (enc)
    g_free (sf_tokenizer_decode (tok, enc->ids, enc->n, TRUE));
  sf_tokenizer_pad_id (tok);
  sf_tokenizer_model_max_length (tok);
  return 0;
}
