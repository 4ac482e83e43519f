/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Generation: greedy, beam search and sampling with transformers'
 * processors, on a fake decoder whose next-token distribution comes from
 * small hand-written tables; the expected outputs are worked out by hand
 * from transformers' algorithms in the comments. Then generation configs
 * read from files, good and bad, and beam search through Whisper's
 * decoder. */
#include "graphs/generate-private.h"
#include "graphs/families/whisper.h"
#include "core/error.h"
#include "tests/common/test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* Tokens of the tables: EOS, A, B, C, D and a start token S. */
enum
{
  EOS,
  A,
  B,
  C,
  D,
  S,
  VOCAB
};

/* The distribution after the sequence @prefix ("5,1" is S A). */
typedef struct
{
  const char *prefix;
  float v[VOCAB];
} Row;

typedef struct
{
  const Row *table;
  guint n_table;
  float fallback[VOCAB];
  gboolean raw;    /* v are logits, not probabilities */
  GPtrArray *seqs; /* GArray of gint64 per live row: the "cache" */
  guint steps;
} Fake;

static void
fake_logits (const Fake *f, const GArray *seq, float *out)
{
  GString *key = g_string_new (NULL);
  const float *v = f->fallback;

  for (guint i = 0; i < seq->len; i++)
    g_string_append_printf (key, "%s%" G_GINT64_FORMAT, i ? "," : "",
        g_array_index (seq, gint64, i));
  for (guint i = 0; i < f->n_table; i++)
    if (strcmp (f->table[i].prefix, key->str) == 0)
      v = f->table[i].v;
  for (int t = 0; t < VOCAB; t++)
    out[t] = f->raw ? v[t] : logf (v[t]);
  g_string_free (key, TRUE);
}

static gboolean
fake_step (gpointer self, const gint64 *tokens, guint n_seqs, guint n_new,
    float *logits, GError **error)
{
  Fake *f = self;

  if (f->seqs->len == 0 && n_seqs == 1)
    g_ptr_array_add (f->seqs, g_array_new (FALSE, FALSE, sizeof (gint64)));
  if (n_seqs != f->seqs->len) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID, "fake: %u rows, %u live",
        n_seqs, f->seqs->len);
    return FALSE;
  }
  f->steps++;
  for (guint r = 0; r < n_seqs; r++) {
    GArray *seq = f->seqs->pdata[r];
    g_array_append_vals (seq, tokens + r * n_new, n_new);
    fake_logits (f, seq, logits + r * VOCAB);
  }
  return TRUE;
}

static gboolean
fake_reorder (gpointer self, const guint *src, guint n_seqs, GError **error)
{
  Fake *f = self;
  GPtrArray *next =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);

  for (guint r = 0; r < n_seqs; r++) {
    GArray *from = f->seqs->pdata[src[r]];
    GArray *copy = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_array_append_vals (copy, from->data, from->len);
    g_ptr_array_add (next, copy);
  }
  g_ptr_array_unref (f->seqs);
  f->seqs = next;
  return TRUE;
}

static void
fake_init (Fake *f, SfDecoder *dec, const Row *table, guint n_table)
{
  *f = (Fake){ .table = table, .n_table = n_table };
  f->seqs = g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
  /* what the tables leave open: D for sure, so nothing ends by chance */
  f->fallback[D] = 1.0f;
  *dec = (SfDecoder){
    .vocab = VOCAB, .step = fake_step, .reorder = fake_reorder, .self = f
  };
}

static void
fake_clear (Fake *f)
{
  g_ptr_array_unref (f->seqs);
}

static void
config_init (SfGenerationConfig *cfg)
{
  gint64 eos = EOS;
  sf_generation_config_init (cfg);
  g_array_append_val (cfg->eos_token_ids, eos);
  cfg->max_length = 10;
}

/* Runs and checks the first sequence's tokens. */
static GPtrArray *
run_expect (const SfDecoder *dec, const SfGenerationConfig *cfg,
    const gint64 *expect, guint n)
{
  gint64 start = S;
  g_autoptr (GError) error = NULL;
  GPtrArray *out = sf_generate (dec, cfg, &start, 1, NULL, NULL, &error);
  SfGenerated *g;

  g_assert_no_error (error);
  g_assert_nonnull (out);
  g = out->pdata[0];
  g_assert_cmpmem (
      g->ids->data, g->ids->len * sizeof (gint64), expect, n * sizeof (gint64));
  return out;
}

/* The classic case: the best first token (A, 0.5) is not the start of the
 * best two-token sequence (B EOS, 0.4 × 0.9). */
static const Row classic[] = {
  { "5", { 0, .5f, .4f, .1f, 0, 0 } },     /* S: A .5, B .4, C .1 */
  { "5,1", { .4f, .3f, .3f, 0, 0, 0 } },   /* S A: EOS .4, A .3, B .3 */
  { "5,2", { .9f, .05f, .05f, 0, 0, 0 } }, /* S B: EOS .9 */
};

static void
test_greedy (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  /* greedy: S → A (.5) → EOS (.4, the best after A) */
  const gint64 expect[] = { A, EOS };

  fake_init (&f, &dec, classic, G_N_ELEMENTS (classic));
  config_init (&cfg);
  sf_generated_array_free (run_expect (&dec, &cfg, expect, 2));
  /* the prompt ran once, then one step for A */
  g_assert_cmpuint (f.steps, ==, 2);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

static void
test_beam_beats_greedy (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  GPtrArray *out;
  /* num_beams 2, keep 4 candidates a step.
   * step 1: A log .5, B log .4 run on (C and the -inf ones rank lower).
   * step 2: S B EOS .36, S A EOS .20, S A A .15, S A B .15: the first two
   *   end among the best num_beams: finished, scored by length 2:
   *   log .36 / 2 = -0.5108, log .20 / 2 = -0.8047; A A and A B run on.
   * Both hypotheses are in; the best running beam could reach at most
   * log .15 / 2 = -0.9486 < -0.8047: done. B EOS wins, A EOS second. */
  const gint64 best[] = { B, EOS }, second[] = { A, EOS };

  fake_init (&f, &dec, classic, G_N_ELEMENTS (classic));
  config_init (&cfg);
  cfg.num_beams = 2;
  cfg.num_return_sequences = 2;
  out = run_expect (&dec, &cfg, best, 2);
  g_assert_cmpuint (out->len, ==, 2);
  g_assert_cmpfloat_with_epsilon (
      ((SfGenerated *)out->pdata[0])->score, logf (.36f) / 2, 1e-5);
  g_assert_cmpmem (((SfGenerated *)out->pdata[1])->ids->data,
      2 * sizeof (gint64), second, sizeof second);
  g_assert_cmpfloat_with_epsilon (
      ((SfGenerated *)out->pdata[1])->score, logf (.2f) / 2, 1e-5);
  sf_generated_array_free (out);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

/* A short and a long hypothesis:
 *   S: A .6, B .4;  S A: EOS .55, C .45;  S B: C .6, D .4;
 *   S A C: D 1;  S B C: EOS 1;  S A C D: EOS 1.
 * num_beams 2:
 *   step 2: A EOS .33, A C .27, B C .24, B D .16 → A EOS finished
 *     (log .33 = -1.1087); A C and B C run on.
 *   step 3: A C D .27 (-1.3093), B C EOS .24 (-1.4271) → B C EOS finished.
 * Scores: A EOS = -1.1087 / 2^lp, B C EOS = -1.4271 / 3^lp.
 *   length_penalty 1: -0.5543 vs -0.4757: B C EOS wins;
 *   length_penalty 0: -1.1087 vs -1.4271: A EOS wins.
 * With early_stopping true the search ends there (two finished). With
 * false it goes on while the best running beam could still win: A C D
 * could reach -1.3093 / 3 = -0.4364 > -0.5543 (the worst finished), so
 *   step 4: A C D EOS, -1.3093 / 4 = -0.3273, beats both. */
static const Row lengths[] = {
  { "5", { 0, .6f, .4f, 0, 0, 0 } },
  { "5,1", { .55f, 0, 0, .45f, 0, 0 } },
  { "5,2", { 0, 0, 0, .6f, .4f, 0 } },
  { "5,1,3", { 0, 0, 0, 0, 1, 0 } },
  { "5,2,3", { 1, 0, 0, 0, 0, 0 } },
  { "5,1,3,4", { 1, 0, 0, 0, 0, 0 } },
};

static void
beam_lengths (float length_penalty, int early_stopping, const gint64 *expect,
    guint n, float score)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  GPtrArray *out;

  fake_init (&f, &dec, lengths, G_N_ELEMENTS (lengths));
  config_init (&cfg);
  cfg.num_beams = 2;
  cfg.length_penalty = length_penalty;
  cfg.early_stopping = early_stopping;
  out = run_expect (&dec, &cfg, expect, n);
  g_assert_cmpuint (out->len, ==, 1);
  g_assert_cmpfloat_with_epsilon (
      ((SfGenerated *)out->pdata[0])->score, score, 1e-4);
  sf_generated_array_free (out);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

static void
test_beam_length_penalty (void)
{
  const gint64 longer[] = { B, C, EOS }, shorter[] = { A, EOS };

  beam_lengths (1.0f, 1, longer, 3, -0.4757f);
  beam_lengths (0.0f, 1, shorter, 2, -1.1087f);
}

static void
test_beam_early_stopping (void)
{
  const gint64 stopped[] = { B, C, EOS }, on[] = { A, C, D, EOS };

  beam_lengths (1.0f, 1, stopped, 3, -0.4757f);
  beam_lengths (1.0f, 0, on, 4, -0.3273f);
  /* "never" with length_penalty > 0 judges at max_length: also goes on */
  beam_lengths (1.0f, -1, on, 4, -0.3273f);
}

/* num_return_sequences 2 of the early_stopping false run: the two best
 * finished, best first: A C D EOS (-0.3273), then B C EOS (-0.4757). */
static void
test_beam_return_sequences (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  GPtrArray *out;
  const gint64 first[] = { A, C, D, EOS }, second[] = { B, C, EOS };
  SfGenerated *g;

  fake_init (&f, &dec, lengths, G_N_ELEMENTS (lengths));
  config_init (&cfg);
  cfg.num_beams = 2;
  cfg.num_return_sequences = 2;
  out = run_expect (&dec, &cfg, first, 4);
  g_assert_cmpuint (out->len, ==, 2);
  g = out->pdata[1];
  g_assert_cmpmem (
      g->ids->data, g->ids->len * sizeof (gint64), second, sizeof second);
  g_assert_cmpfloat (((SfGenerated *)out->pdata[0])->score, >, g->score);
  sf_generated_array_free (out);

  /* more sequences than beams: an error, as in transformers */
  {
    gint64 start = S;
    g_autoptr (GError) error = NULL;
    cfg.num_return_sequences = 3;
    g_assert_null (sf_generate (&dec, &cfg, &start, 1, NULL, NULL, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  }
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

/* A long beam search (past the first 64 positions the buffers start
 * with): A .4, B .3, C .2, D .1 at every step and no end, 150 new tokens.
 * The best hypothesis is A 150 times, log .4 per token on average; the
 * second swaps one A for a B: (149 log .4 + log .3) / 150. */
static void
test_beam_long (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  GPtrArray *out;
  SfGenerated *g;

  fake_init (&f, &dec, NULL, 0);
  f.fallback[A] = .4f, f.fallback[B] = .3f, f.fallback[C] = .2f;
  f.fallback[D] = .1f;
  config_init (&cfg);
  cfg.num_beams = 2;
  cfg.num_return_sequences = 2;
  cfg.max_length = 20; /* max_new_tokens wins */
  cfg.max_new_tokens = 150;
  out = sf_generate (&dec, &cfg, (gint64[]){ S }, 1, NULL, NULL, NULL);
  g_assert_nonnull (out);
  g = out->pdata[0];
  g_assert_cmpuint (g->ids->len, ==, 150);
  for (guint i = 0; i < g->ids->len; i++)
    g_assert_cmpint (g_array_index (g->ids, gint64, i), ==, A);
  g_assert_cmpfloat_with_epsilon (g->score, logf (.4f), 1e-4);
  g = out->pdata[1];
  g_assert_cmpuint (g->ids->len, ==, 150);
  g_assert_cmpfloat_with_epsilon (
      g->score, (149 * logf (.4f) + logf (.3f)) / 150, 1e-4);
  sf_generated_array_free (out);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

/* Beam sampling: one seed repeats its run; at temperature 0.01 the draws
 * follow the scores (a factor e^-50 or less for any other order here), so
 * the classic case ends as beam search does: B EOS, then A EOS. */
static void
test_beam_sampling (void)
{
  const gint64 best[] = { B, EOS }, second[] = { A, EOS };
  double first_score = 0;

  for (guint run = 0; run < 3; run++) {
    Fake f;
    SfDecoder dec;
    SfGenerationConfig cfg;
    GPtrArray *out;

    fake_init (&f, &dec, classic, G_N_ELEMENTS (classic));
    config_init (&cfg);
    cfg.num_beams = 2;
    cfg.num_return_sequences = 2;
    cfg.do_sample = TRUE;
    cfg.seed = 5;
    cfg.temperature = run < 2 ? 1.0f : 0.01f;
    out = sf_generate (&dec, &cfg, (gint64[]){ S }, 1, NULL, NULL, NULL);
    g_assert_nonnull (out);
    g_assert_cmpuint (out->len, ==, 2);
    if (run == 0) {
      first_score = ((SfGenerated *)out->pdata[0])->score;
    } else if (run == 1) {
      g_assert_cmpfloat (
          ((SfGenerated *)out->pdata[0])->score, ==, first_score);
    } else {
      GArray *a = ((SfGenerated *)out->pdata[0])->ids;
      GArray *b = ((SfGenerated *)out->pdata[1])->ids;
      g_assert_cmpmem (a->data, a->len * 8, best, sizeof best);
      g_assert_cmpmem (b->data, b->len * 8, second, sizeof second);
    }
    sf_generated_array_free (out);
    fake_clear (&f);
    sf_generation_config_clear (&cfg);
  }
}

/* A table of the last token alone: S or B → A .6, C .4; A → B .6, C .4;
 * C → EOS. */
static gboolean
cycle_step (gpointer self, const gint64 *tokens, guint n_seqs, guint n_new,
    float *logits, GError **error)
{
  Fake *f = self;

  if (!fake_step (self, tokens, n_seqs, n_new, logits, error))
    return FALSE;
  for (guint r = 0; r < n_seqs; r++) {
    GArray *seq = f->seqs->pdata[r];
    gint64 last = g_array_index (seq, gint64, seq->len - 1);
    float p[VOCAB] = { 0 };

    if (last == S || last == B) {
      p[A] = .6f, p[C] = .4f;
    } else if (last == A) {
      p[B] = .6f, p[C] = .4f;
    } else {
      p[EOS] = 1;
    }
    for (int t = 0; t < VOCAB; t++)
      logits[r * VOCAB + t] = logf (p[t]);
  }
  return TRUE;
}

static void
cycle_fake (Fake *f, SfDecoder *dec)
{
  fake_init (f, dec, NULL, 0);
  dec->step = cycle_step;
}

static void
test_no_repeat_ngram (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  /* without: S A B A B A B A B A (max_length 10) */
  const gint64 free_run[] = { A, B, A, B, A, B, A, B, A };
  /* size 2: S A B A, then after A the bigram A B exists: B banned, C;
   * after C: EOS */
  const gint64 banned[] = { A, B, A, C, EOS };

  cycle_fake (&f, &dec);
  config_init (&cfg);
  sf_generated_array_free (run_expect (&dec, &cfg, free_run, 9));
  fake_clear (&f);
  cycle_fake (&f, &dec);
  cfg.no_repeat_ngram_size = 2;
  sf_generated_array_free (run_expect (&dec, &cfg, banned, 5));
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

/* The processors on one row of raw logits, through the same entry point
 * as generation. */
static void
process_row (const SfGenerationConfig *cfg, const gint64 *ids, guint n_ids,
    guint n_prompt, float *x)
{
  SfDecoder dec = { .vocab = VOCAB };
  SfGenerateRun run = { .dec = &dec,
    .cfg = cfg,
    .vocab = VOCAB,
    .n_prompt = n_prompt,
    .max_length = cfg->max_length,
    .eos = (const gint64 *)cfg->eos_token_ids->data,
    .n_eos = cfg->eos_token_ids->len };
  sf_generate_process (&run, ids, 1, n_ids, x);
}

static void
test_repetition_penalty (void)
{
  SfGenerationConfig cfg;
  const gint64 ids[] = { S, A, C, A };
  float x[VOCAB] = { -1.0f, 2.0f, 1.5f, -0.5f, 0.3f, 4.0f };
  /* penalty 2 over S, A, C (A once though seen twice): positive logits
   * halve, negative ones double: S 4 → 2, A 2 → 1, C -0.5 → -1 */
  const float expect[VOCAB] = { -1.0f, 1.0f, 1.5f, -1.0f, 0.3f, 2.0f };

  config_init (&cfg);
  cfg.repetition_penalty = 2.0f;
  process_row (&cfg, ids, 4, 1, x);
  for (int t = 0; t < VOCAB; t++)
    g_assert_cmpfloat_with_epsilon (x[t], expect[t], 1e-6);
  sf_generation_config_clear (&cfg);
}

static void
test_min_new_tokens (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  /* S: EOS .5, A .3, B .2 the first two times, then EOS: greedy ends at
   * once; with min_new_tokens 2 EOS is masked for tokens 1 and 2, so
   * A (best of the rest), then after S A EOS is masked again: the table
   * gives EOS .5, A .3: A, then EOS. min_length 3 (prompt included) does
   * the same. */
  static const Row table[] = {
    { "5", { .5f, .3f, .2f, 0, 0, 0 } },
    { "5,1", { .5f, .3f, .2f, 0, 0, 0 } },
    { "5,1,1", { .5f, .3f, .2f, 0, 0, 0 } },
  };
  const gint64 at_once[] = { EOS }, later[] = { A, A, EOS };

  fake_init (&f, &dec, table, G_N_ELEMENTS (table));
  config_init (&cfg);
  sf_generated_array_free (run_expect (&dec, &cfg, at_once, 1));
  fake_clear (&f);
  fake_init (&f, &dec, table, G_N_ELEMENTS (table));
  cfg.min_new_tokens = 2;
  sf_generated_array_free (run_expect (&dec, &cfg, later, 3));
  fake_clear (&f);
  fake_init (&f, &dec, table, G_N_ELEMENTS (table));
  cfg.min_new_tokens = -1;
  cfg.min_length = 3;
  sf_generated_array_free (run_expect (&dec, &cfg, later, 3));
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

static void
test_forced_tokens (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  /* the cycle table gives A B A B …; forced_bos C makes the first token
   * C (the prompt is one token), after which the table says EOS. */
  const gint64 bos[] = { C, EOS };
  /* max_length 5: once 4 tokens are in (S A B A), forced_eos makes the
   * last one EOS */
  const gint64 eos[] = { A, B, A, EOS };

  cycle_fake (&f, &dec);
  config_init (&cfg);
  cfg.forced_bos_token_id = C;
  sf_generated_array_free (run_expect (&dec, &cfg, bos, 2));
  fake_clear (&f);
  cycle_fake (&f, &dec);
  cfg.forced_bos_token_id = -1;
  cfg.forced_eos_token_id = EOS;
  cfg.max_length = 5;
  sf_generated_array_free (run_expect (&dec, &cfg, eos, 4));
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

static void
warp (const SfGenerationConfig *cfg, float *x, guint min_keep)
{
  SfGenerateRun run = { .cfg = cfg, .vocab = VOCAB };
  sf_generate_warp (&run, x, min_keep);
}

static void
test_top_k_top_p (void)
{
  SfGenerationConfig cfg;
  /* top_k 2 keeps the two highest and whatever ties with the second */
  float x[VOCAB] = { 1, 3, 2, 2, 0, -1 };
  /* probabilities .5 .3 .15 .05 (and two zeros): ascending cumulative
   * sums .05, .20, .50, 1: top_p 0.7 drops those ≤ 0.3, i.e. .05 and
   * .15; {A, B} stay */
  float y[VOCAB] = { logf (.05f), logf (.5f), logf (.3f), logf (.15f),
    -INFINITY, -INFINITY };

  config_init (&cfg);
  cfg.top_k = 2;
  warp (&cfg, x, 1);
  g_assert_true (isinf (x[EOS]) && isinf (x[D]) && isinf (x[S]));
  g_assert_cmpfloat (x[A], ==, 3);
  g_assert_cmpfloat (x[B], ==, 2);
  g_assert_cmpfloat (x[C], ==, 2);

  cfg.top_k = 0;
  cfg.top_p = 0.7f;
  warp (&cfg, y, 1);
  g_assert_true (isinf (y[EOS]) && isinf (y[C]));
  g_assert_true (isfinite (y[A]) && isfinite (y[B]));
  /* min_keep 3 (beam sampling's floor is 2) keeps C as well */
  y[EOS] = logf (.05f), y[C] = logf (.15f);
  warp (&cfg, y, 3);
  g_assert_true (isinf (y[EOS]) && isfinite (y[C]));
  sf_generation_config_clear (&cfg);
}

static void
test_temperature (void)
{
  SfGenerationConfig cfg;
  float x[VOCAB] = { 2, 1, 0, -1, 0.5f, 4 };

  config_init (&cfg);
  cfg.top_k = 0;
  cfg.temperature = 0.5f;
  warp (&cfg, x, 1);
  /* logits / 0.5 */
  g_assert_cmpfloat (x[EOS], ==, 4);
  g_assert_cmpfloat (x[C], ==, -2);
  g_assert_cmpfloat (x[S], ==, 8);
  sf_generation_config_clear (&cfg);
}

/* Uniform over A..D, never ending. */
static GArray *
sample_run (guint64 seed, float temperature, guint n_return, guint which)
{
  static const Row table[] = { { "", { 0 } } };
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  gint64 start = S;
  g_autoptr (GError) error = NULL;
  GPtrArray *out;
  GArray *ids;

  fake_init (&f, &dec, table, 0);
  f.fallback[A] = .4f, f.fallback[B] = .3f, f.fallback[C] = .2f;
  f.fallback[D] = .1f;
  config_init (&cfg);
  cfg.do_sample = TRUE;
  cfg.seed = seed;
  cfg.temperature = temperature;
  cfg.max_new_tokens = 24;
  cfg.num_return_sequences = n_return;
  out = sf_generate (&dec, &cfg, &start, 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, n_return);
  ids = g_array_ref (((SfGenerated *)out->pdata[which])->ids);
  g_assert_cmpuint (ids->len, ==, 24);
  sf_generated_array_free (out);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
  return ids;
}

static gboolean
same_ids (const GArray *a, const GArray *b)
{
  return a->len == b->len
      && memcmp (a->data, b->data, a->len * sizeof (gint64)) == 0;
}

static void
test_sampling_seeds (void)
{
  g_autoptr (GArray) a = sample_run (42, 1.0f, 1, 0);
  g_autoptr (GArray) b = sample_run (42, 1.0f, 1, 0);
  g_autoptr (GArray) c = sample_run (43, 1.0f, 1, 0);
  g_autoptr (GArray) cold = sample_run (7, 0.01f, 1, 0);
  g_autoptr (GArray) row0 = sample_run (42, 1.0f, 2, 0);
  g_autoptr (GArray) row1 = sample_run (42, 1.0f, 2, 1);
  guint counts[VOCAB] = { 0 };

  /* one seed repeats; another differs (24 draws alike: ~1e-9) */
  g_assert_true (same_ids (a, b));
  g_assert_false (same_ids (a, c));
  /* sampled rows differ from each other */
  g_assert_false (same_ids (row0, row1));
  /* every draw is one of the possible tokens */
  for (guint i = 0; i < a->len; i++)
    counts[g_array_index (a, gint64, i)]++;
  g_assert_cmpuint (counts[EOS] + counts[S], ==, 0);
  /* temperature 0.01 sharpens .4 vs .3 into A every time (.3/.4 to the
   * 100th power is 3e-13) */
  for (guint i = 0; i < cold->len; i++)
    g_assert_cmpint (g_array_index (cold, gint64, i), ==, A);
}

/* Sampled rows end on their own: with EOS .5 at every step, of 8 rows
 * most end early, and none holds anything after its EOS (the rows that
 * ended are fed pad = EOS while the others go on). */
static void
test_sampling_rows_end (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  GPtrArray *out;
  guint ended = 0;

  fake_init (&f, &dec, NULL, 0);
  f.fallback[EOS] = .5f, f.fallback[A] = .5f, f.fallback[D] = 0;
  config_init (&cfg);
  cfg.do_sample = TRUE;
  cfg.seed = 3;
  cfg.num_return_sequences = 8;
  out = sf_generate (&dec, &cfg, (gint64[]){ S }, 1, NULL, NULL, NULL);
  g_assert_nonnull (out);
  g_assert_cmpuint (out->len, ==, 8);
  for (guint r = 0; r < out->len; r++) {
    GArray *ids = ((SfGenerated *)out->pdata[r])->ids;
    for (guint i = 0; i + 1 < ids->len; i++)
      g_assert_cmpint (g_array_index (ids, gint64, i), ==, A);
    if (g_array_index (ids, gint64, ids->len - 1) == EOS)
      ended++;
    else
      g_assert_cmpuint (ids->len, ==, 9);
  }
  /* all 8 running 9 tokens without an end: 2^-72 */
  g_assert_cmpuint (ended, >, 0);
  sf_generated_array_free (out);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

static gboolean
stop_after_two (gint64 token, gpointer user_data)
{
  GArray *seen = user_data;
  g_array_append_val (seen, token);
  return seen->len < 2;
}

static void
test_streaming_stop (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  gint64 start = S;
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) seen = g_array_new (FALSE, FALSE, sizeof (gint64));
  GPtrArray *out;

  cycle_fake (&f, &dec);
  config_init (&cfg);
  out = sf_generate (&dec, &cfg, &start, 1, stop_after_two, seen, &error);
  g_assert_no_error (error);
  /* A, B streamed; the callback's FALSE stops after B */
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpuint (((SfGenerated *)out->pdata[0])->ids->len, ==, 2);
  sf_generated_array_free (out);
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

/* ---- configs from files ---- */

static char *
write_checkpoint (const char *config, const char *generation)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("sf-generate-XXXXXX", &error);
  g_autofree char *cfg_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *st_path = g_build_filename (dir, "model.safetensors", NULL);
  /* an empty safetensors file: 8-byte header length, then "{}" padded */
  static const char st[] = "\x08\0\0\0\0\0\0\0{}      ";

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (cfg_path, config, -1, NULL));
  g_assert_true (g_file_set_contents (st_path, st, 16, NULL));
  if (generation != NULL) {
    g_autofree char *gen_path =
        g_build_filename (dir, "generation_config.json", NULL);
    g_assert_true (g_file_set_contents (gen_path, generation, -1, NULL));
  }
  return dir;
}

static void
remove_checkpoint (const char *dir)
{
  const char *names[] = { "config.json", "model.safetensors",
    "generation_config.json" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *p = g_build_filename (dir, names[i], NULL);
    g_remove (p);
  }
  g_rmdir (dir);
}

static gboolean
load_config (const char *config, const char *generation,
    SfGenerationConfig *cfg, GError **error)
{
  g_autofree char *dir = write_checkpoint (config, generation);
  g_autoptr (SfCheckpoint) ckpt = sf_checkpoint_open (dir, error);
  gboolean ok;

  g_assert_nonnull (ckpt);
  sf_generation_config_init (cfg);
  ok = sf_generation_config_load (cfg, ckpt, error);
  remove_checkpoint (dir);
  return ok;
}

static void
test_config_load (void)
{
  SfGenerationConfig cfg;
  g_autoptr (GError) error = NULL;

  /* defaults as transformers' GenerationConfig */
  g_assert_true (load_config ("{}", NULL, &cfg, &error));
  g_assert_cmpint (cfg.max_length, ==, 20);
  g_assert_cmpint (cfg.max_new_tokens, ==, -1);
  g_assert_cmpuint (cfg.num_beams, ==, 1);
  g_assert_cmpint (cfg.top_k, ==, 50);
  g_assert_cmpfloat (cfg.top_p, ==, 1.0f);
  g_assert_cmpfloat (cfg.temperature, ==, 1.0f);
  g_assert_cmpfloat (cfg.length_penalty, ==, 1.0f);
  g_assert_cmpint (cfg.early_stopping, ==, 0);
  g_assert_false (cfg.do_sample);
  g_assert_cmpuint (cfg.eos_token_ids->len, ==, 0);
  sf_generation_config_clear (&cfg);

  /* config.json's fields without generation_config.json (BART-like) */
  g_assert_true (load_config ("{\"num_beams\": 4, \"early_stopping\": true,"
                              " \"no_repeat_ngram_size\": 3,"
                              " \"forced_bos_token_id\": 0,"
                              " \"forced_eos_token_id\": 2,"
                              " \"eos_token_id\": 2, \"max_length\": 142}",
      NULL, &cfg, &error));
  g_assert_cmpuint (cfg.num_beams, ==, 4);
  g_assert_cmpint (cfg.early_stopping, ==, 1);
  g_assert_cmpuint (cfg.no_repeat_ngram_size, ==, 3);
  g_assert_cmpint (cfg.forced_bos_token_id, ==, 0);
  g_assert_cmpint (cfg.forced_eos_token_id, ==, 2);
  g_assert_cmpint (cfg.max_length, ==, 142);
  g_assert_cmpint (g_array_index (cfg.eos_token_ids, gint64, 0), ==, 2);
  sf_generation_config_clear (&cfg);

  /* generation_config.json wins over config.json; eos may be a list */
  g_assert_true (load_config ("{\"num_beams\": 4}",
      "{\"eos_token_id\": [7, 9], \"early_stopping\": \"never\","
      " \"do_sample\": true, \"top_k\": 0, \"top_p\": 0.9,"
      " \"temperature\": 0.7, \"max_new_tokens\": 32,"
      " \"repetition_penalty\": 1.2, \"pad_token_id\": null}",
      &cfg, &error));
  g_assert_cmpuint (cfg.num_beams, ==, 1);
  g_assert_cmpuint (cfg.eos_token_ids->len, ==, 2);
  g_assert_cmpint (g_array_index (cfg.eos_token_ids, gint64, 1), ==, 9);
  g_assert_cmpint (cfg.early_stopping, ==, -1);
  g_assert_true (cfg.do_sample);
  g_assert_cmpint (cfg.top_k, ==, 0);
  g_assert_cmpfloat_with_epsilon (cfg.top_p, 0.9f, 1e-6);
  g_assert_cmpfloat_with_epsilon (cfg.temperature, 0.7f, 1e-6);
  g_assert_cmpint (cfg.max_new_tokens, ==, 32);
  g_assert_cmpint (cfg.pad_token_id, ==, -1);
  sf_generation_config_clear (&cfg);
}

static void
test_config_bad (void)
{
  static const struct
  {
    const char *json, *field;
  } bad[] = {
    { "{\"top_p\": 1.5}", "top_p" },
    { "{\"temperature\": -1}", "temperature" },
    { "{\"top_k\": -1}", "top_k" },
    { "{\"num_beams\": 0}", "num_beams" },
    { "{\"repetition_penalty\": -1}", "repetition_penalty" },
    { "{\"early_stopping\": \"sometimes\"}", "early_stopping" },
    { "{\"eos_token_id\": \"x\"}", "eos_token_id" },
    { "{\"eos_token_id\": [1, -2]}", "eos_token_id" },
    { "{\"max_new_tokens\": 0}", "max_new_tokens" },
    { "{\"max_length\": 1.5}", "max_length" },
    { "{\"num_beams\": 2, \"num_return_sequences\": 3}",
        "num_return_sequences" },
    { "{\"do_sample\": \"yes\"}", "do_sample" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    SfGenerationConfig cfg;
    g_autoptr (GError) error = NULL;
    g_assert_false (load_config ("{}", bad[i].json, &cfg, &error));
    g_assert_nonnull (error);
    g_assert_nonnull (strstr (error->message, "generation_config.json"));
    g_assert_nonnull (strstr (error->message, bad[i].field));
    sf_generation_config_clear (&cfg);
  }
  /* the same in config.json names config.json */
  {
    SfGenerationConfig cfg;
    g_autoptr (GError) error = NULL;
    g_assert_false (load_config ("{\"top_p\": -0.1}", NULL, &cfg, &error));
    g_assert_nonnull (strstr (error->message, "config.json"));
    g_assert_nonnull (strstr (error->message, "top_p"));
    sf_generation_config_clear (&cfg);
  }
}

/* Limits the decoder cannot honour: errors, not crashes. */
static void
test_bad_run (void)
{
  Fake f;
  SfDecoder dec;
  SfGenerationConfig cfg;
  gint64 start = S;

  cycle_fake (&f, &dec);
  config_init (&cfg);
  {
    g_autoptr (GError) error = NULL;
    cfg.forced_bos_token_id = VOCAB;
    g_assert_null (sf_generate (&dec, &cfg, &start, 1, NULL, NULL, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    cfg.forced_bos_token_id = -1;
  }
  {
    g_autoptr (GError) error = NULL;
    cfg.max_length = 1;
    g_assert_null (sf_generate (&dec, &cfg, &start, 1, NULL, NULL, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  }
  {
    g_autoptr (GError) error = NULL;
    cfg.max_length = 10;
    cfg.num_return_sequences = 2; /* greedy gives one */
    g_assert_null (sf_generate (&dec, &cfg, &start, 1, NULL, NULL, &error));
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  }
  fake_clear (&f);
  sf_generation_config_clear (&cfg);
}

/* Beam search through Whisper's decoder (the family hook): each returned
 * hypothesis' score must be its teacher-forced sum of log-probabilities
 * over its length (to float rounding, ~1e-6 here), which holds only when
 * reorder() carried every beam's KV cache along with it (a reorder that
 * leaves the caches in place is off by ~1e-3). */
static void
test_whisper_beams (void)
{
  g_autofree char *dir = sf_test_fixture ("whisper-tiny-asr");
  g_autofree char *io_path = g_build_filename (dir, "io.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);
  g_autoptr (SfSafetensors) io = NULL;
  g_autoptr (SfTensor) enc_all = NULL;
  g_autoptr (SfTensor) enc = NULL;        /* [1, S, D] */
  const gint64 prompt[] = { 1, 2, 3, 6 }; /* case.json decoder_prefix */
  SfGenerationConfig cfg;
  SfDecoder *dec;
  GPtrArray *out;

  g_assert_no_error (error);
  io = sf_safetensors_open (io_path, &error);
  g_assert_no_error (error);
  enc_all = sf_safetensors_get (io, "encoder_last_hidden_state");
  enc = sf_tensor_slice0 (enc_all, 0, 1);
  dec = sf_model_decoder_new (model, enc, 3, &error);
  g_assert_no_error (error);

  sf_generation_config_init (&cfg);
  {
    gint64 eos = 0;
    g_array_append_val (cfg.eos_token_ids, eos);
  }
  cfg.num_beams = 3;
  cfg.num_return_sequences = 3;
  cfg.max_new_tokens = 8;
  out = sf_generate (dec, &cfg, prompt, 4, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (out->len, ==, 3);
  for (guint i = 0; i < out->len; i++) {
    SfGenerated *g = out->pdata[i];
    g_autoptr (SfWhisperState) st =
        sf_whisper_state_new (model, enc, 16, &error);
    g_autoptr (GArray) all = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autoptr (SfTensor) logits = NULL; /* [1, T, V] */
    gint64 vocab;
    double sum = 0.0;

    g_assert_cmpuint (g->ids->len, >=, 1);
    g_assert_cmpuint (g->ids->len, <=, 8);
    if (i > 0)
      g_assert_cmpfloat (
          g->score, <=, ((SfGenerated *)out->pdata[i - 1])->score);
    g_array_append_vals (all, prompt, 4);
    g_array_append_vals (all, g->ids->data, g->ids->len);
    logits = sf_whisper_state_step (
        st, (gint64 *)all->data, all->len - 1, TRUE, NULL, &error);
    g_assert_no_error (error);
    vocab = sf_tensor_dim (logits, -1);
    for (guint k = 0; k < g->ids->len; k++) {
      float *x = sf_tensor_f32 (logits) + (3 + k) * vocab;
      sf_generate_log_softmax (x, vocab);
      sum += x[g_array_index (g->ids, gint64, k)];
    }
    g_assert_cmpfloat_with_epsilon (g->score, sum / g->ids->len, 2e-5);
  }
  sf_generated_array_free (out);
  sf_decoder_free (dec);
  sf_generation_config_clear (&cfg);
}

/* A Whisper checkpoint whose generation_config.json sets num_beams decodes
 * with beams: its output is the best hypothesis of the same search run
 * directly, and departs from transformers' greedy_ids for this audio;
 * num_beams 1 in the options still gives greedy_ids. */
static void
test_whisper_config_beams (void)
{
  g_autofree char *dir = sf_test_copy_fixture ("whisper-tiny-asr");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (SfTensor) enc_all = NULL;
  g_autoptr (SfTensor) enc = NULL;
  g_autoptr (GArray) beams = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) greedy = g_array_new (FALSE, FALSE, sizeof (gint64));
  SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
  /* case.json greedy_ids[0]: the prefix, then 321 twenty times */
  const gint64 want_greedy[] = { 1, 2, 3, 6, 321, 321, 321, 321, 321, 321, 321,
    321 };
  const gint64 prompt[] = { 1, 2, 3, 6 };
  SfGenerationConfig cfg;
  SfDecoder *dec;
  GPtrArray *out;
  SfGenerated *best;

  sf_test_write_file (dir, "generation_config.json",
      "{\"decoder_start_token_id\": 1, \"eos_token_id\": 0,"
      " \"pad_token_id\": 0, \"no_timestamps_token_id\": 6,"
      " \"forced_decoder_ids\": [[1, 2], [2, 3], [3, 6]],"
      " \"lang_to_id\": {\"<|en|>\": 2},"
      " \"task_to_id\": {\"transcribe\": 3, \"translate\": 4},"
      " \"max_length\": 64, \"num_beams\": 3}");
  model = sf_model_load (dir, &error);
  g_assert_no_error (error);
  enc_all =
      sf_test_fixture_tensor ("whisper-tiny-asr", "encoder_last_hidden_state");
  enc = sf_tensor_slice0 (enc_all, 0, 1);

  opts.max_new_tokens = 8;
  g_assert_true (sf_whisper_generate (model, enc, &opts, beams, &error));
  g_assert_no_error (error);
  opts.num_beams = 1;
  g_assert_true (sf_whisper_generate (model, enc, &opts, greedy, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (greedy->data, greedy->len * sizeof (gint64), want_greedy,
      sizeof want_greedy);
  g_assert_cmpuint (beams->len, ==, greedy->len);
  g_assert_true (memcmp (beams->data, greedy->data, beams->len * 8) != 0);

  sf_generation_config_init (&cfg);
  g_array_append_val (cfg.eos_token_ids, (gint64){ 0 });
  cfg.num_beams = 3;
  cfg.max_new_tokens = 8;
  dec = sf_model_decoder_new (model, enc, 3, &error);
  g_assert_no_error (error);
  out = sf_generate (dec, &cfg, prompt, 4, NULL, NULL, &error);
  g_assert_no_error (error);
  best = out->pdata[0];
  g_assert_cmpmem ((gint64 *)beams->data + 4, (beams->len - 4) * 8,
      best->ids->data, best->ids->len * 8);
  sf_generated_array_free (out);
  sf_decoder_free (dec);
  sf_generation_config_clear (&cfg);
  g_clear_pointer (&model, sf_model_unref);
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/generate/greedy", test_greedy);
  g_test_add_func (
      "/graphs/generate/beam/beats-greedy", test_beam_beats_greedy);
  g_test_add_func (
      "/graphs/generate/beam/length-penalty", test_beam_length_penalty);
  g_test_add_func (
      "/graphs/generate/beam/early-stopping", test_beam_early_stopping);
  g_test_add_func (
      "/graphs/generate/beam/return-sequences", test_beam_return_sequences);
  g_test_add_func ("/graphs/generate/beam/sampling", test_beam_sampling);
  g_test_add_func ("/graphs/generate/beam/long", test_beam_long);
  g_test_add_func ("/graphs/generate/no-repeat-ngram", test_no_repeat_ngram);
  g_test_add_func (
      "/graphs/generate/repetition-penalty", test_repetition_penalty);
  g_test_add_func ("/graphs/generate/min-new-tokens", test_min_new_tokens);
  g_test_add_func ("/graphs/generate/forced-tokens", test_forced_tokens);
  g_test_add_func ("/graphs/generate/top-k-top-p", test_top_k_top_p);
  g_test_add_func ("/graphs/generate/temperature", test_temperature);
  g_test_add_func ("/graphs/generate/sampling-seeds", test_sampling_seeds);
  g_test_add_func (
      "/graphs/generate/sampling-rows-end", test_sampling_rows_end);
  g_test_add_func ("/graphs/generate/streaming-stop", test_streaming_stop);
  g_test_add_func ("/graphs/generate/config/load", test_config_load);
  g_test_add_func ("/graphs/generate/config/bad", test_config_bad);
  g_test_add_func ("/graphs/generate/bad-run", test_bad_run);
  g_test_add_func ("/graphs/generate/whisper/beams", test_whisper_beams);
  g_test_add_func (
      "/graphs/generate/whisper/config-beams", test_whisper_config_beams);
  return g_test_run ();
}
