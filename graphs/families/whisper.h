/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: Whisper decoding.
 *
 * The encoder runs through sf_model_forward_audio() (log-mel features
 * [B, mels, frames] → last_hidden_state [B, S, D]). The decoder runs on
 * that output here: step by step with self-attention and cross-attention
 * KV caches (SfWhisperState), or as generation (graphs/generate.h) that
 * honours the checkpoint's generation_config.json (decoder prefix or forced ids,
 * suppress_tokens, begin_suppress_tokens, no_timestamps, max_length).
 */
#pragma once

#include "graphs/model.h"

G_BEGIN_DECLS

/* TRUE when @model is a Whisper checkpoint. */
gboolean sf_whisper_check (SfModel *model);

/* ---- the decoder with KV caches ---- */

typedef struct SfWhisperState SfWhisperState;

/* (transfer full) a decoder over @encoder_hidden [B, S, D] (F32) that can
 * take up to @capacity positions (at most max_target_positions). The
 * cross-attention keys and values are computed here, once. */
SfWhisperState *sf_whisper_state_new (SfModel *model,
    const SfTensor *encoder_hidden, gint64 capacity, GError **error);
void sf_whisper_state_free (SfWhisperState *state); /* accepts NULL */
/* Positions fed so far. */
gint64 sf_whisper_state_length (const SfWhisperState *state);

/* Feeds @ids [B, T] (row-major) at the next T positions and returns
 * (transfer full) logits [B, T, V], or [B, 1, V] for the last position
 * only unless @all_logits. When @hidden_states is non-NULL it receives the
 * decoder's hidden states (embeddings, then each layer; the last one after
 * the final LayerNorm), each [B, T, D]. */
SfTensor *sf_whisper_state_step (SfWhisperState *state, const gint64 *ids,
    gint64 t, gboolean all_logits, GPtrArray *hidden_states, GError **error);

/* ---- generation ---- */

typedef struct
{
  guint max_new_tokens; /* 0: up to generation_config's max_length */
  gboolean timestamps;  /* predict segment timestamps (when the
                                 * vocabulary has them) */
  const char *language; /* "en" or "<|en|>"; NULL: the config's
                                 * forced language, else detected */
  const char *task;     /* "transcribe" or "translate"; NULL: the config's */
  guint num_beams;      /* 0: as generation_config.json says; 1: greedy;
                         * more: beam search */
} SfWhisperOptions;

#define SF_WHISPER_OPTIONS_DEFAULT                                             \
  {                                                                            \
    0, FALSE, NULL, NULL, 0                                                    \
  }

/* Decoding of one item, @encoder_hidden [S, D] or [1, S, D], through
 * sf_generate(): greedy, or what generation_config.json asks (beam search
 * with num_beams, sampling with do_sample) unless @options set num_beams.
 * Appends the whole sequence (the prefix, then each generated token up to
 * and including <|endoftext|>; the best hypothesis of a beam search) to
 * @ids (of gint64). */
gboolean sf_whisper_generate (SfModel *model, const SfTensor *encoder_hidden,
    const SfWhisperOptions *options, GArray *ids, GError **error);

/* Decoding of @n windows at once: @encoder_hidden[i] ([S, D] or
 * [1, S, D]) with @options[i] (nullable). Greedy windows decode together,
 * each step running every unfinished window as one row of one batch (each
 * with its own caches, prompt and end); windows whose options or
 * checkpoint ask for beams or sampling decode one by one. @ids[i] gets
 * what sf_whisper_generate() appends for window i alone. */
gboolean sf_whisper_generate_batch (SfModel *model,
    const SfTensor *const *encoder_hidden,
    const SfWhisperOptions *const *options, guint n, GArray **ids,
    GError **error);

/* TRUE when the vocabulary has timestamp tokens (<|0.00|> …). */
gboolean sf_whisper_has_timestamps (SfModel *model);

/* (transfer full) the text of @ids with special and timestamp tokens
 * skipped, through the checkpoint's tokenizer. */
char *sf_whisper_decode_text (
    SfModel *model, const gint64 *ids, guint n, GError **error);

typedef struct
{
  double start, end; /* seconds from the window's start */
  char *text;
} SfWhisperSegment;

/* Splits @ids at timestamp pairs into segments appended to @segments (of
 * SfWhisperSegment, with a clear func). Without timestamp tokens the whole
 * text is one segment [0, @duration]. */
gboolean sf_whisper_segments (SfModel *model, const gint64 *ids, guint n,
    double duration, GArray *segments, GError **error);
/* An SfWhisperSegment array that frees its texts. (transfer full) */
GArray *sf_whisper_segment_array_new (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfWhisperState, sf_whisper_state_free)

G_END_DECLS
