/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: greedy CTC decoding (Wav2Vec2CTCTokenizer).
 *
 * Per frame the best token wins (argmax of the logits); runs of one token
 * collapse to one; the blank (the pad token) and the other special tokens
 * (bos, eos, unk) are dropped; the word delimiter ("|") becomes a space.
 * Words keep the frames they span, so a streaming caller can place them
 * in time and skip what an overlapping window already emitted.
 */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

typedef struct SfCtcDecoder SfCtcDecoder;

typedef struct
{
  char *text;
  gint64 start_frame; /* first frame of the word's first token */
  gint64 end_frame;   /* one past the frame of its last token */
} SfCtcWord;

/* (transfer full) the vocabulary of a CTC checkpoint: vocab.json, with the
 * special tokens and word_delimiter_token of tokenizer_config.json
 * (defaults <pad>, <s>, </s>, <unk>, |). Errors name the file and field. */
SfCtcDecoder *sf_ctc_decoder_new (const SfModel *model, GError **error);
void sf_ctc_decoder_free (SfCtcDecoder *dec); /* accepts NULL */
guint sf_ctc_decoder_vocab_size (const SfCtcDecoder *dec);

/* ids[t] = argmax over v of logits [frames, vocab] (first maximum wins). */
void sf_ctc_greedy_ids (
    const float *logits, gint64 frames, gint64 vocab, gint64 *ids);

/* (transfer full) the text of frame-level @ids [n]; NULL with an error
 * when an id is outside the vocabulary. */
char *sf_ctc_decoder_decode (
    const SfCtcDecoder *dec, const gint64 *ids, gint64 n, GError **error);
/* The words of @ids as an array of SfCtcWord (transfer full; clearing the
 * array frees the words); NULL with an error on an id out of range. */
GArray *sf_ctc_decoder_words (
    const SfCtcDecoder *dec, const gint64 *ids, gint64 n, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfCtcDecoder, sf_ctc_decoder_free)

G_END_DECLS
