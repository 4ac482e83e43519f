/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: Hugging Face tokenizers.
 *
 * A tokenizer is the `tokenizers` pipeline read from tokenizer.json:
 * added tokens → normalizer → pre-tokenizer → model → post-processor, and a
 * decoder for the way back. Each stage is a component behind a small
 * interface (core/tokenizer/tokenizer-private.h), so new models (BPE, Unigram),
 * normalizers and decoders plug in without touching the pipeline.
 * When tokenizer.json is absent, the folder's vocab.txt and
 * tokenizer_config.json build the equivalent BERT WordPiece pipeline.
 *
 * Offsets are character (Unicode code point) offsets into the original,
 * un-normalised text, as the Python `tokenizers` reports them.
 * Special tokens get the offsets (0, 0).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct SfTokenizer SfTokenizer;

typedef struct
{
  guint n;              /* number of tokens */
  gint32 *ids;          /* [n] */
  gint32 *type_ids;     /* [n] */
  guint8 *special_mask; /* [n] 1 for added special tokens */
  gint64 *offsets;      /* [2n] start, end per token, in characters */
  char **tokens;        /* [n] token strings, NULL-terminated array */
  gboolean truncated;   /* TRUE when max_length cut tokens away */
} SfEncoding;

typedef struct
{
  gboolean add_special_tokens; /* apply the post-processor (default TRUE) */
  guint max_length;            /* 0 = no truncation; counts special tokens */
} SfEncodeOptions;

#define SF_ENCODE_OPTIONS_DEFAULT                                              \
  {                                                                            \
    TRUE, 0                                                                    \
  }

/* (transfer full) from a checkpoint folder: tokenizer.json, or vocab.txt with
 * tokenizer_config.json. Errors name the file and the field. */
SfTokenizer *sf_tokenizer_load_dir (const char *dir, GError **error);
/* (transfer full) from one tokenizer.json file. */
SfTokenizer *sf_tokenizer_load_json (const char *path, GError **error);
void sf_tokenizer_free (SfTokenizer *tok); /* accepts NULL */

/* Encodes @text (and @pair, nullable) — both must be valid UTF-8, else an
 * SF_ERROR_INVALID error. With max_length, truncation follows `tokenizers`'
 * longest_first strategy and sets encoding->truncated. (transfer full) */
SfEncoding *sf_tokenizer_encode (SfTokenizer *tok, const char *text,
    const char *pair, const SfEncodeOptions *options, GError **error);
void sf_encoding_free (SfEncoding *enc); /* accepts NULL */

/* The decoder's text for @ids, skipping special tokens when asked. */
char *sf_tokenizer_decode (
    SfTokenizer *tok, const gint32 *ids, guint n, gboolean skip_special_tokens);

guint sf_tokenizer_vocab_size (const SfTokenizer *tok);
/* -1 when the token is unknown. */
gint32 sf_tokenizer_token_to_id (const SfTokenizer *tok, const char *token);
/* NULL when out of range. */
const char *sf_tokenizer_id_to_token (const SfTokenizer *tok, gint32 id);
/* The padding id ([PAD], <pad>, or tokenizer.json's padding.pad_id), 0 when none. */
gint32 sf_tokenizer_pad_id (const SfTokenizer *tok);
/* tokenizer_config.json's model_max_length when sensible, else 0. */
guint sf_tokenizer_model_max_length (const SfTokenizer *tok);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfTokenizer, sf_tokenizer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfEncoding, sf_encoding_free)

G_END_DECLS
