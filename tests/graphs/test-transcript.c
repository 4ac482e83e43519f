/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Joining overlapping windows of a transcript (graphs/transcript.h): a
 * known sequence of words, cut into windows the way a streaming encoder
 * cuts audio, must come out whole, in order, each word once. */
#include "graphs/post/transcript.h"

#include <math.h>
#include <string.h>

typedef struct
{
  double start, end;
  const char *text;
} Word;

/* Twelve words, one every 0.4 s, each 0.3 s long. */
static const Word truth[] = {
  { 0.10, 0.40, "zero" },
  { 0.50, 0.80, "one" },
  { 0.90, 1.20, "two" },
  { 1.30, 1.60, "three" },
  { 1.70, 2.00, "four" },
  { 2.10, 2.40, "five" },
  { 2.50, 2.80, "six" },
  { 2.90, 3.20, "seven" },
  { 3.30, 3.60, "eight" },
  { 3.70, 4.00, "nine" },
  { 4.10, 4.40, "ten" },
  { 4.50, 4.80, "eleven" },
};

/* What a CTC window [s, s + d) hears: every word that overlaps it, cut at
 * the window's edges (a cut word loses its tail or head and its text is
 * marked, so a cut version that got out would be seen). */
static GArray *
window_words (double s, double d)
{
  GArray *a = sf_transcript_piece_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (truth); i++) {
    SfTranscriptPiece p;
    gboolean cut = truth[i].start < s || truth[i].end > s + d;

    if (truth[i].end <= s || truth[i].start >= s + d)
      continue;
    p.start = MAX (truth[i].start, s);
    p.end = MIN (truth[i].end, s + d);
    p.text =
        cut ? g_strdup_printf ("%s~", truth[i].text) : g_strdup (truth[i].text);
    g_array_append_val (a, p);
  }
  return a;
}

static char *
join (GArray *pieces)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < pieces->len; i++) {
    const SfTranscriptPiece *p = &g_array_index (pieces, SfTranscriptPiece, i);

    g_string_append_printf (s, "%s%s", i ? " " : "", p->text);
  }
  return g_string_free (s, FALSE);
}

static char *
truth_text (void)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (truth); i++)
    g_string_append_printf (s, "%s%s", i ? " " : "", truth[i].text);
  return g_string_free (s, FALSE);
}

/* Runs windows of @d seconds every @h seconds over the words, as a stream
 * of @total seconds, and returns the joined text. */
static char *
stream_words (double d, double h, double total)
{
  g_autoptr (SfTranscript) tr = sf_transcript_new (SF_TRANSCRIPT_WORDS);
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  double last_start = -1;

  for (double s = 0; s < total; s += h) {
    g_autoptr (GArray) w = window_words (s, d);

    sf_transcript_push (tr, s, d, h, (SfTranscriptPiece *)w->data, w->len, out);
    /* emitted pieces come in time order */
    for (guint i = 1; i < out->len; i++)
      g_assert_cmpfloat (g_array_index (out, SfTranscriptPiece, i).start, >=,
          g_array_index (out, SfTranscriptPiece, i - 1).start);
    last_start = s;
    if (s + d >= total)
      break;
  }
  g_assert_cmpfloat (last_start, >=, 0);
  sf_transcript_flush (tr, out);
  return join (out);
}

static void
test_words_overlap (void)
{
  g_autofree char *want = truth_text ();
  /* (window, hop) pairs as sfaudioencoder would use them */
  static const double cases[][2] = {
    { 2.0, 1.0 },
    { 2.0, 0.5 },
    { 1.0, 0.25 },
    { 3.0, 2.5 },
    { 1.5, 0.7 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = stream_words (cases[i][0], cases[i][1], 5.0);

    g_test_message ("window %.2f hop %.2f: %s", cases[i][0], cases[i][1], got);
    g_assert_cmpstr (got, ==, want);
  }
}

/* Without overlap every window's words are final at once, cut words
 * included (nothing else saw them). */
static void
test_words_no_overlap (void)
{
  g_autoptr (SfTranscript) tr = sf_transcript_new (SF_TRANSCRIPT_WORDS);
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  g_autoptr (GArray) w0 = window_words (0, 2);
  g_autoptr (GArray) w1 = window_words (2, 2);
  g_autofree char *text = NULL;
  guint after_first;

  sf_transcript_push (tr, 0, 2, 2, (SfTranscriptPiece *)w0->data, w0->len, out);
  after_first = out->len;
  g_assert_cmpuint (after_first, ==, w0->len);
  sf_transcript_push (tr, 2, 2, 0, (SfTranscriptPiece *)w1->data, w1->len, out);
  g_assert_cmpuint (out->len, ==, w0->len + w1->len);
  text = join (out);
  g_assert_cmpstr (
      text, ==, "zero one two three four five six seven eight nine");
}

/* The last window's tail is held back until the stream ends. */
static void
test_words_flush (void)
{
  g_autoptr (SfTranscript) tr = sf_transcript_new (SF_TRANSCRIPT_WORDS);
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  g_autoptr (GArray) w = window_words (0, 2);
  g_autofree char *text = NULL;

  sf_transcript_push (tr, 0, 2, 1, (SfTranscriptPiece *)w->data, w->len, out);
  /* the window owns up to 1.5 s: words with a midpoint past it wait */
  text = join (out);
  g_assert_cmpstr (text, ==, "zero one two three");
  sf_transcript_flush (tr, out);
  g_free (text);
  text = join (out);
  g_assert_cmpstr (text, ==, "zero one two three four");

  /* after a reset the same window counts again */
  sf_transcript_reset (tr);
  g_array_set_size (out, 0);
  sf_transcript_push (tr, 0, 2, 1, (SfTranscriptPiece *)w->data, w->len, out);
  g_assert_cmpuint (out->len, ==, 4);
}

static void
push_segment (SfTranscript *tr, double s, double d, double h, const char *text,
    GArray *out)
{
  SfTranscriptPiece p = { s, s + d, (char *)text };

  sf_transcript_push (tr, s, d, h, &p, 1, out);
}

/* Untimed text of overlapping windows: repeats are dropped. */
static void
test_segments_overlap (void)
{
  g_autoptr (SfTranscript) tr = sf_transcript_new (SF_TRANSCRIPT_SEGMENTS);
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  g_autofree char *text = NULL;

  push_segment (tr, 0, 5, 1, "The cat sat", out);
  push_segment (tr, 1, 5, 1, "cat sat on the", out);
  /* case and punctuation do not matter; a cut first word is skipped */
  push_segment (tr, 2, 5, 1, "at, sat on the mat.", out);
  /* nothing new */
  push_segment (tr, 3, 5, 1, "on the mat", out);
  push_segment (tr, 4, 5, 1, "The mat. It purred", out);
  sf_transcript_flush (tr, out);
  text = join (out);
  g_assert_cmpstr (text, ==, "The cat sat on the mat. It purred");
  g_assert_cmpuint (out->len, ==, 4);
  g_assert_cmpfloat (g_array_index (out, SfTranscriptPiece, 3).start, ==, 4);
}

/* Text of windows that do not overlap is never trimmed, even when it
 * repeats (someone said it twice). */
static void
test_segments_no_overlap (void)
{
  g_autoptr (SfTranscript) tr = sf_transcript_new (SF_TRANSCRIPT_SEGMENTS);
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  g_autofree char *text = NULL;

  push_segment (tr, 0, 30, 30, "go left", out);
  push_segment (tr, 30, 30, 30, "go left", out);
  text = join (out);
  g_assert_cmpstr (text, ==, "go left go left");
}

/* Timed segments (Whisper with timestamps) follow the midpoint rule. */
static void
test_segments_timed (void)
{
  g_autoptr (SfTranscript) tr = sf_transcript_new (SF_TRANSCRIPT_SEGMENTS);
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  g_autofree char *text = NULL;
  SfTranscriptPiece w0[] = { { 0.0, 2.0, "first part" },
    { 2.0, 4.0, "second part" } };
  SfTranscriptPiece w1[] = { { 2.0, 4.0, "second part" },
    { 4.0, 5.5, "third" } };

  /* window 0 owns up to (4 + 2) / 2 = 3 s: "second part" (mid 3) waits */
  sf_transcript_push (tr, 0, 4, 2, w0, 2, out);
  g_assert_cmpuint (out->len, ==, 1);
  sf_transcript_push (tr, 2, 4, 2, w1, 2, out);
  sf_transcript_flush (tr, out);
  text = join (out);
  g_assert_cmpstr (text, ==, "first part second part third");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/transcript/words/overlap", test_words_overlap);
  g_test_add_func (
      "/graphs/transcript/words/no-overlap", test_words_no_overlap);
  g_test_add_func ("/graphs/transcript/words/flush", test_words_flush);
  g_test_add_func (
      "/graphs/transcript/segments/overlap", test_segments_overlap);
  g_test_add_func (
      "/graphs/transcript/segments/no-overlap", test_segments_no_overlap);
  g_test_add_func ("/graphs/transcript/segments/timed", test_segments_timed);
  return g_test_run ();
}
