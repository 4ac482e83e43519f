/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: joining the transcripts of overlapping windows.
 *
 * A streaming transcriber sees audio in windows of D seconds that start
 * every H seconds. When H < D, consecutive windows overlap by D − H and
 * both transcribe the words spoken there. SfTranscript decides which
 * window speaks for each stretch of time, so that every word is emitted
 * once:
 *
 *  - Ownership by midpoint. Window k, starting at s, owns the time up to
 *    s + (D + H) / 2, the middle of its overlap with the next window; the
 *    previous window owned everything before. A piece (a word with its
 *    own times, or a Whisper segment) is emitted by the window that owns
 *    its midpoint. Pieces past the owned range are held back: the next
 *    window sees them whole and replaces them, and sf_transcript_flush()
 *    emits them when no window follows.
 *  - Text overlap (segment mode only, for text whose times are coarse,
 *    such as a Whisper window without timestamps). When a window overlaps
 *    the previous one, the leading words of its pieces that repeat the
 *    last words already emitted are dropped. Words compare without case
 *    and punctuation. The repeat is the longest run of k words that starts
 *    the piece and ends the emitted text; the piece may also start with
 *    one extra word before the run (a word cut by the window's edge),
 *    which is then dropped as well when the run is at least two words.
 *    A piece that is entirely such a repeat is dropped.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SF_TRANSCRIPT_WORDS,    /* pieces are words with exact times (CTC) */
  SF_TRANSCRIPT_SEGMENTS, /* pieces are phrases; also apply text overlap */
} SfTranscriptMode;

typedef struct
{
  double start, end; /* seconds, on the stream's clock */
  char *text;
} SfTranscriptPiece;

typedef struct SfTranscript SfTranscript;

/* (transfer full) */
SfTranscript *sf_transcript_new (SfTranscriptMode mode);
void sf_transcript_free (SfTranscript *tr); /* accepts NULL */
/* Forgets every window (after a seek or a flush). */
void sf_transcript_reset (SfTranscript *tr);

/* An array of SfTranscriptPiece that frees their texts. (transfer full) */
GArray *sf_transcript_piece_array_new (void);

/* Adds one window that starts at @start and lasts @duration seconds, the
 * next window starting @hop seconds later (@hop ≤ 0 or ≥ @duration: the
 * windows do not overlap). @pieces [n] are the window's pieces in time
 * order, on the same clock. Appends copies of the pieces that are now
 * final to @out (an array from sf_transcript_piece_array_new()). */
void sf_transcript_push (SfTranscript *tr, double start, double duration,
    double hop, const SfTranscriptPiece *pieces, guint n, GArray *out);

/* The end of the stream: appends the held-back pieces to @out. */
void sf_transcript_flush (SfTranscript *tr, GArray *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfTranscript, sf_transcript_free)

G_END_DECLS
