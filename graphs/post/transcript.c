/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: joining the transcripts of overlapping windows
 * (the rules are in transcript.h). */
#include "graphs/post/transcript.h"

#include <math.h>
#include <string.h>

/* Normalised words of the emitted text kept for the text-overlap rule. */
#define HISTORY_WORDS 64

struct SfTranscript
{
  SfTranscriptMode mode;
  gboolean have_window;
  double prev_end;    /* end of the previous window */
  double owned_to;    /* pieces with a midpoint before this are done */
  double emitted_end; /* end of the last piece emitted (words mode) */
  GArray *held;       /* SfTranscriptPiece past the previous window's range */
  GPtrArray *history; /* of char *: normalised words emitted, oldest first */
};

static void
piece_clear (gpointer data)
{
  SfTranscriptPiece *p = data;

  g_free (p->text);
  p->text = NULL;
}

GArray *
sf_transcript_piece_array_new (void)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (SfTranscriptPiece));

  g_array_set_clear_func (a, piece_clear);
  return a;
}

SfTranscript *
sf_transcript_new (SfTranscriptMode mode)
{
  SfTranscript *tr = g_new0 (SfTranscript, 1);

  tr->mode = mode;
  tr->held = sf_transcript_piece_array_new ();
  tr->history = g_ptr_array_new_with_free_func (g_free);
  sf_transcript_reset (tr);
  return tr;
}

void
sf_transcript_free (SfTranscript *tr)
{
  if (tr == NULL)
    return;
  g_array_unref (tr->held);
  g_ptr_array_unref (tr->history);
  g_free (tr);
}

void
sf_transcript_reset (SfTranscript *tr)
{
  g_return_if_fail (tr != NULL);
  tr->have_window = FALSE;
  tr->prev_end = -INFINITY;
  tr->owned_to = -INFINITY;
  tr->emitted_end = -INFINITY;
  g_array_set_size (tr->held, 0);
  g_ptr_array_set_size (tr->history, 0);
}

/* Lower-case letters and digits of @word; the rest is dropped. */
static char *
normalise_word (const char *word)
{
  GString *s = g_string_new (NULL);
  const char *p;

  for (p = word; *p != '\0'; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char_validated (p, -1);

    if (c == (gunichar)-1 || c == (gunichar)-2)
      break;
    if (g_unichar_isalnum (c))
      g_string_append_unichar (s, g_unichar_tolower (c));
  }
  return g_string_free (s, FALSE);
}

static void
history_add (SfTranscript *tr, char **words)
{
  for (guint i = 0; words[i] != NULL; i++)
    g_ptr_array_add (tr->history, normalise_word (words[i]));
  if (tr->history->len > HISTORY_WORDS)
    g_ptr_array_remove_range (tr->history, 0, tr->history->len - HISTORY_WORDS);
}

/* TRUE when the @k normalised words @norm[from..] equal the last @k of
 * the history. */
static gboolean
repeats_history (const SfTranscript *tr, char **norm, guint from, guint k)
{
  guint h = tr->history->len;

  for (guint i = 0; i < k; i++)
    if (strcmp (norm[from + i], g_ptr_array_index (tr->history, h - k + i))
        != 0)
      return FALSE;
  return TRUE;
}

/* How many leading words of @words repeat the emitted text. */
static guint
overlap_words (const SfTranscript *tr, char **words, guint n)
{
  g_auto (GStrv) norm = g_new0 (char *, n + 1);
  guint best = 0, best_k = 0;

  for (guint i = 0; i < n; i++)
    norm[i] = normalise_word (words[i]);
  for (guint skip = 0; skip <= 1 && skip < n; skip++) {
    guint most = MIN (n - skip, tr->history->len);

    for (guint k = most; k >= (skip ? 2u : 1u); k--) {
      if (k > best_k && repeats_history (tr, norm, skip, k)) {
        best_k = k;
        best = skip + k;
        break;
      }
    }
  }
  return best;
}

/* Splits @text at white space, without empty words. (transfer full) */
static char **
split_words (const char *text)
{
  char **parts = g_strsplit_set (text, " \t\n\r", -1);
  guint j = 0;

  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] == '\0')
      g_free (parts[i]);
    else
      parts[j++] = parts[i];
  }
  parts[j] = NULL;
  return parts;
}

static void
emit (SfTranscript *tr, const SfTranscriptPiece *p, gboolean trim, GArray *out)
{
  g_auto (GStrv) words = split_words (p->text ? p->text : "");
  guint n = g_strv_length (words), drop = 0;
  SfTranscriptPiece copy;

  if (n == 0)
    return;
  if (trim)
    drop = overlap_words (tr, words, n);
  if (drop >= n)
    return;

  copy.start = p->start;
  copy.end = p->end;
  copy.text = g_strjoinv (" ", words + drop);
  g_array_append_val (out, copy);
  history_add (tr, words + drop);
  tr->emitted_end = MAX (tr->emitted_end, p->end);
}

static gboolean
already_done (const SfTranscript *tr, const SfTranscriptPiece *p)
{
  double mid = 0.5 * (p->start + p->end);

  if (mid < tr->owned_to)
    return TRUE;
  /* A word that mostly overlaps the last one emitted is that word. */
  return tr->mode == SF_TRANSCRIPT_WORDS && mid < tr->emitted_end;
}

void
sf_transcript_push (SfTranscript *tr, double start, double duration, double hop,
    const SfTranscriptPiece *pieces, guint n, GArray *out)
{
  gboolean overlapping = hop > 0 && hop < duration;
  gboolean after_overlap;
  double hi;

  g_return_if_fail (tr != NULL && out != NULL && (n == 0 || pieces != NULL));

  /* The held pieces this window cannot see whole are final now. */
  for (guint i = 0; i < tr->held->len; i++) {
    const SfTranscriptPiece *p =
        &g_array_index (tr->held, SfTranscriptPiece, i);

    if (p->start < start && !already_done (tr, p))
      emit (tr, p, tr->mode == SF_TRANSCRIPT_SEGMENTS, out);
  }
  g_array_set_size (tr->held, 0);

  /* After a gap, the new window owns everything it covers. */
  if (tr->owned_to < start)
    tr->owned_to = start;
  after_overlap = tr->have_window && tr->prev_end > start;
  hi = overlapping ? start + 0.5 * (duration + hop) : INFINITY;

  for (guint i = 0; i < n; i++) {
    const SfTranscriptPiece *p = &pieces[i];
    double mid = 0.5 * (p->start + p->end);

    if (already_done (tr, p))
      continue;
    if (mid >= hi) {
      SfTranscriptPiece copy = *p;

      copy.text = g_strdup (p->text ? p->text : "");
      g_array_append_val (tr->held, copy);
      continue;
    }
    emit (tr, p, tr->mode == SF_TRANSCRIPT_SEGMENTS && after_overlap, out);
  }

  tr->owned_to = overlapping ? hi : MAX (tr->owned_to, start + duration);
  tr->prev_end = start + duration;
  tr->have_window = TRUE;
}

void
sf_transcript_flush (SfTranscript *tr, GArray *out)
{
  g_return_if_fail (tr != NULL && out != NULL);

  for (guint i = 0; i < tr->held->len; i++) {
    const SfTranscriptPiece *p =
        &g_array_index (tr->held, SfTranscriptPiece, i);

    if (!already_done (tr, p))
      emit (tr, p, tr->mode == SF_TRANSCRIPT_SEGMENTS, out);
  }
  g_array_set_size (tr->held, 0);
}
