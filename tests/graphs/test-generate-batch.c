/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Greedy decoding of several prompts together, for GPT-2, BART, mBART and
 * T5.
 *
 * A decoder's step_together gives the logits that one step() of each
 * decoder gives (up to the rounding of the batched products), for
 * decoders at different positions, and refuses decoders it cannot batch.
 * sf_text_generator_run_batch() gives every prompt exactly what
 * sf_text_generator_run() gives it alone, ids and text: prompts of
 * different token lengths and limits, some reaching their end token while
 * others go on, in two orders; beam search mixed in; an empty prompt
 * failing the whole batch; batches from several threads on one
 * generator. */
#include "graphs/generate.h"
#include "graphs/textgen.h"
#include "core/error.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"

#include <string.h>

#define N_PROMPTS 6

/* One prompt of a case and its own settings. */
typedef struct
{
  const char *text;
  gint64 max_new;   /* max_new_tokens */
  gint64 min_new;   /* min_new_tokens; 0 for none */
  float repetition; /* repetition_penalty (1: off) */
  /* 0: the checkpoint's end tokens. k: the k-th token this prompt
   * generates under them becomes an end token too, so that the prompt
   * ends by step k while others go on (the tiny checkpoints' random
   * weights seldom pick their own end token) */
  guint end_at;
} Prompt;

typedef struct
{
  const char *fixture;
  Prompt prompts[N_PROMPTS];
} Case;

/* BART and mBART take the same prompts. */
#define BART_PROMPTS                                                           \
  {                                                                            \
    { "The city council met on Tuesday.", 12, 3, 1.0f, 0 },                    \
        { "Scientists found water on a distant planet, raising hopes of "      \
          "finding life.",                                                     \
          8, 0, 1.0f, 0 },                                                     \
        { "Rain", 15, 1, 2.0f, 6 },                                            \
        { "The team won the final after extra time and a long wait.", 10, 1,   \
          2.0f, 0 },                                                           \
        { "Prices rose again this month", 5, 2, 1.0f, 0 },                     \
        { "A new bridge opens", 14, 1, 2.0f, 3 },                              \
  }

/* Token lengths differ within each case. The repetition penalty makes
 * the tiny models' outputs differ from prompt to prompt, so that a row
 * given another row's state would show. */
static const Case cases[] = {
  { "gpt2-tiny-lm",
      {
          { "The quick brown fox", 12, 0, 1.0f, 5 },
          { "Once", 7, 0, 2.0f, 0 },
          { "Machine learning is a field of study", 15, 0, 2.0f, 0 },
          { "Hello there, how", 3, 0, 1.0f, 0 },
          { "It was a bright cold day in April, and the clocks", 9, 0, 2.0f,
              4 },
          { "Streams", 20, 2, 1.0f, 0 },
      } },
  { "bart-tiny-sum", BART_PROMPTS },
  { "mbart-tiny-sum", BART_PROMPTS },
  { "t5-tiny-gen",
      {
          { "The city council met on Tuesday to discuss the new budget.", 12, 0,
              2.0f, 0 },
          { "translate English to German: Hello, how are you?", 8, 0, 1.0f, 3 },
          { "Rain", 15, 0, 1.0f, 5 },
          { "The team won the final after extra time.", 10, 0, 2.0f, 0 },
          { "Prices rose", 5, 0, 1.0f, 0 },
          { "A new bridge opens", 14, 0, 2.0f, 7 },
      } },
};

static gboolean
is_eos (const SfGenerationConfig *cfg, gint64 token)
{
  for (guint i = 0; cfg->eos_token_ids && i < cfg->eos_token_ids->len; i++)
    if (g_array_index (cfg->eos_token_ids, gint64, i) == token)
      return TRUE;
  return FALSE;
}

static void
assert_same (const SfTextGeneration *got, const SfTextGeneration *want)
{
  g_autofree char *got_ids = sf_test_ids_string (got->ids);
  g_autofree char *want_ids = sf_test_ids_string (want->ids);

  g_assert_cmpstr (got_ids, ==, want_ids);
  g_assert_cmpstr (got->text, ==, want->text);
  g_assert_cmpmem (got->prompt_ids->data, got->prompt_ids->len * 4,
      want->prompt_ids->data, want->prompt_ids->len * 4);
}

/* Runs @prompts [n] as one batch and asserts each result is @alone's
 * entry for it (@alone indexed like @prompts). */
static void
check_batch (SfTextGenerator *gen, const SfTextPrompt *prompts, guint n,
    SfTextGeneration *const *alone)
{
  g_autofree SfTextGeneration **got = g_new0 (SfTextGeneration *, n);
  g_autoptr (GError) error = NULL;

  g_assert_true (sf_text_generator_run_batch (gen, prompts, n, got, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++) {
    assert_same (got[i], alone[i]);
    sf_text_generation_free (got[i]);
  }
}

static SfTextGeneration *
run_alone (SfTextGenerator *gen, const char *text, const char *prefix,
    const SfGenerationConfig *cfg)
{
  g_autoptr (GError) error = NULL;
  SfTextGeneration *r =
      sf_text_generator_run (gen, text, prefix, cfg, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

/* The config of prompt @p: the checkpoint's with @p's settings; an end
 * token added at @p->end_at goes to @eos (which the caller frees). */
static void
prompt_config (SfTextGenerator *gen, const Prompt *p, SfGenerationConfig *cfg,
    GArray **eos)
{
  const SfGenerationConfig *d = sf_text_generator_defaults (gen);
  g_autoptr (SfTextGeneration) first = NULL;
  gint64 end;

  *cfg = *d;
  cfg->max_new_tokens = p->max_new;
  cfg->min_new_tokens = p->min_new;
  cfg->repetition_penalty = p->repetition;
  *eos = NULL;
  if (p->end_at == 0)
    return;
  first = run_alone (gen, p->text, NULL, cfg);
  g_assert_cmpuint (first->ids->len, >=, p->end_at);
  end = g_array_index (first->ids, gint64, p->end_at - 1);
  *eos = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (d->eos_token_ids)
    g_array_append_vals (*eos, d->eos_token_ids->data, d->eos_token_ids->len);
  g_array_append_val (*eos, end);
  cfg->eos_token_ids = *eos;
}

/* The prompts of @c together, in two orders, against each alone. */
static void
test_batch_equals_alone (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (SfModel) model = sf_test_load_case (c->fixture);
  g_autoptr (SfTextGenerator) gen = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) lengths = g_hash_table_new (NULL, NULL);
  SfGenerationConfig cfgs[N_PROMPTS];
  GArray *eos[N_PROMPTS];
  SfTextGeneration *alone[N_PROMPTS], *alone2[N_PROMPTS];
  SfTextPrompt prompts[N_PROMPTS], shuffled[N_PROMPTS];
  guint longest = 0, ended_early = 0;

  gen = sf_text_generator_new (model, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < N_PROMPTS; i++) {
    g_autofree char *ids = NULL;

    prompt_config (gen, &c->prompts[i], &cfgs[i], &eos[i]);
    prompts[i] = (SfTextPrompt){ c->prompts[i].text, NULL, &cfgs[i] };
    alone[i] = run_alone (gen, c->prompts[i].text, NULL, &cfgs[i]);
    ids = sf_test_ids_string (alone[i]->ids);
    g_test_message ("%s prompt %u (%u tokens): %s", c->fixture, i,
        alone[i]->prompt_ids->len, ids);
    g_hash_table_add (lengths, GUINT_TO_POINTER (alone[i]->prompt_ids->len));
    longest = MAX (longest, alone[i]->ids->len);
  }
  /* different token lengths; prompts that end at an end token while a
   * longer one goes on, among them every one given an end token */
  g_assert_cmpuint (g_hash_table_size (lengths), ==, N_PROMPTS);
  for (guint i = 0; i < N_PROMPTS; i++) {
    const GArray *ids = alone[i]->ids;
    gboolean early = ids->len < longest
        && (gint64)ids->len < c->prompts[i].max_new
        && is_eos (&cfgs[i], g_array_index (ids, gint64, ids->len - 1));

    if (c->prompts[i].end_at > 0) {
      g_assert_true (early);
      g_assert_cmpuint (ids->len, <=, c->prompts[i].end_at);
    }
    ended_early += early;
  }
  g_assert_cmpuint (ended_early, >=, 1);

  check_batch (gen, prompts, N_PROMPTS, alone);
  for (guint i = 0; i < N_PROMPTS; i++) {
    guint from = (i * 5 + 2) % N_PROMPTS; /* 2 1 0 5 4 3 */
    shuffled[i] = prompts[from];
    alone2[i] = alone[from];
  }
  check_batch (gen, shuffled, N_PROMPTS, alone2);
  for (guint i = 0; i < N_PROMPTS; i++) {
    sf_text_generation_free (alone[i]);
    if (eos[i])
      g_array_unref (eos[i]);
  }
}

/* A beam-search prompt in a batch runs alone; the greedy ones around it
 * still decode together. */
static void
test_batch_with_beams (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (SfModel) model = sf_test_load_case (c->fixture);
  g_autoptr (SfTextGenerator) gen = NULL;
  g_autoptr (GError) error = NULL;
  SfGenerationConfig greedy, beams;
  SfTextPrompt prompts[3];
  SfTextGeneration *alone[3];

  gen = sf_text_generator_new (model, &error);
  g_assert_no_error (error);
  greedy = *sf_text_generator_defaults (gen);
  greedy.num_beams = 1;
  greedy.do_sample = FALSE;
  greedy.max_new_tokens = 6;
  greedy.repetition_penalty = 2.0f;
  beams = greedy;
  beams.num_beams = 2;
  beams.max_new_tokens = 5;
  prompts[0] = (SfTextPrompt){ c->prompts[0].text, NULL, &greedy };
  prompts[1] = (SfTextPrompt){ c->prompts[1].text, NULL, &beams };
  prompts[2] = (SfTextPrompt){ c->prompts[2].text, "", &greedy };
  for (guint i = 0; i < 3; i++)
    alone[i] =
        run_alone (gen, prompts[i].prompt, prompts[i].prefix, prompts[i].cfg);
  check_batch (gen, prompts, 3, alone);
  for (guint i = 0; i < 3; i++)
    sf_text_generation_free (alone[i]);
}

/* A prompt with no tokens fails the batch: an error, and no results. */
static void
test_batch_empty_prompt (void)
{
  g_autoptr (SfModel) model = sf_test_load_case ("gpt2-tiny-lm");
  g_autoptr (SfTextGenerator) gen = sf_text_generator_new (model, NULL);
  g_autoptr (GError) error = NULL;
  SfTextPrompt prompts[3] = {
    { "The quick brown fox", NULL, NULL },
    { "", NULL, NULL },
    { "Once", NULL, NULL },
  };
  SfTextGeneration *results[3];

  /* what it does alone */
  g_assert_null (
      sf_text_generator_run (gen, "", NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);

  for (guint i = 0; i < 3; i++)
    results[i] = (SfTextGeneration *)&prompts[i]; /* overwritten */
  g_assert_false (
      sf_text_generator_run_batch (gen, prompts, 3, results, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "prompt 1"));
  for (guint i = 0; i < 3; i++)
    g_assert_null (results[i]);
}

/* One thread's batches: the prompts of a case, greedy, starting from the
 * @first-th, against each alone. */
typedef struct
{
  SfTextGenerator *gen;
  const Case *c;
  const SfGenerationConfig *cfg;
  SfTextGeneration **alone; /* N_PROMPTS */
  guint first;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  SfTextPrompt prompts[N_PROMPTS];
  SfTextGeneration *want[N_PROMPTS];

  for (guint round = 0; round < 3; round++) {
    for (guint i = 0; i < N_PROMPTS; i++) {
      guint from = (w->first + i) % N_PROMPTS;
      prompts[i] = (SfTextPrompt){ w->c->prompts[from].text, NULL, w->cfg };
      want[i] = w->alone[from];
    }
    check_batch (w->gen, prompts, N_PROMPTS, want);
  }
  return NULL;
}

/* Batches run from several threads at once on one generator. */
static void
test_batch_threads (void)
{
  const Case *c = &cases[0];
  g_autoptr (SfModel) model = sf_test_load_case (c->fixture);
  g_autoptr (SfTextGenerator) gen = sf_text_generator_new (model, NULL);
  SfTextGeneration *alone[N_PROMPTS];
  SfGenerationConfig cfg = *sf_text_generator_defaults (gen);
  Worker workers[4];
  GThread *threads[4];

  cfg.max_new_tokens = 8;
  cfg.repetition_penalty = 2.0f;
  for (guint i = 0; i < N_PROMPTS; i++)
    alone[i] = run_alone (gen, c->prompts[i].text, NULL, &cfg);
  for (guint t = 0; t < 4; t++) {
    workers[t] = (Worker){ gen, c, &cfg, alone, t };
    threads[t] = g_thread_new ("batch", worker_run, &workers[t]);
  }
  for (guint t = 0; t < 4; t++)
    g_thread_join (threads[t]);
  for (guint i = 0; i < N_PROMPTS; i++)
    sf_text_generation_free (alone[i]);
}

/* ---- step_together against step ---- */

#define N_DECODERS 4

/* A decoder of @model for @rows sequences over a source of @src_len
 * random ids (none for GPT-2). */
static SfDecoder *
decoder_new (SfModel *model, gboolean enc_dec, GRand *rand, gint64 vocab,
    gint64 src_len, guint rows)
{
  g_autoptr (SfTensor) source = NULL;
  g_autoptr (GError) error = NULL;
  SfDecoder *dec;

  if (enc_dec) {
    source = sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 1, src_len });
    for (gint64 i = 0; i < src_len; i++)
      sf_tensor_i64 (source)[i] = g_rand_int_range (rand, 3, (gint32)vocab);
  }
  dec = sf_model_decoder_new (model, source, rows, &error);
  g_assert_no_error (error);
  return dec;
}

static void
random_ids (GRand *rand, gint64 vocab, gint64 *ids, guint n)
{
  for (guint i = 0; i < n; i++)
    ids[i] = g_rand_int_range (rand, 3, (gint32)vocab);
}

/* Decoders at different positions (two at the same one) step together,
 * then fewer of them, as a batch does when an item ends; twins of them
 * step alone. The logits agree. */
static void
test_step_together (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (SfModel) model = sf_test_load_case (c->fixture);
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  g_autoptr (GError) error = NULL;
  gboolean enc_dec = strcmp (c->fixture, "gpt2-tiny-lm") != 0;
  /* prompt lengths: the positions the decoders stand at */
  static const guint n_prompt[N_DECODERS] = { 1, 4, 4, 7 };
  static const gint64 src_len[N_DECODERS] = { 5, 9, 3, 12 };
  SfDecoder *together[N_DECODERS], *alone[N_DECODERS];
  gpointer selves[N_DECODERS];
  gint64 vocab, tokens[N_DECODERS];
  g_autofree float *got = NULL, *want = NULL;

  for (guint i = 0; i < N_DECODERS; i++) {
    g_autoptr (GRand) twin = g_rand_copy (rand);
    gint64 prompt[8];

    together[i] = decoder_new (model, enc_dec, rand, 600, src_len[i], 1);
    alone[i] = decoder_new (model, enc_dec, twin, 600, src_len[i], 1);
    vocab = together[i]->vocab;
    g_assert_nonnull (together[i]->step_together);
    if (i == 0) {
      got = g_new (float, N_DECODERS *vocab);
      want = g_new (float, N_DECODERS *vocab);
    }
    random_ids (rand, vocab, prompt, n_prompt[i]);
    g_assert_true (together[i]->step (
        together[i]->self, prompt, 1, n_prompt[i], got, &error));
    g_assert_no_error (error);
    g_assert_true (
        alone[i]->step (alone[i]->self, prompt, 1, n_prompt[i], want, &error));
    g_assert_no_error (error);
    sf_test_assert_close ("prompt", got, want, vocab, 0, 0);
  }

  /* all four, then the first three, then decoders 1 and 3 */
  for (guint round = 0; round < 5; round++) {
    static const guint subsets[5][N_DECODERS + 1] = {
      { 4, 0, 1, 2, 3 },
      { 4, 0, 1, 2, 3 },
      { 3, 0, 1, 2 },
      { 2, 1, 3 },
      { 2, 1, 3 },
    };
    const guint *sub = subsets[round] + 1;
    guint n = subsets[round][0];

    random_ids (rand, vocab, tokens, n);
    for (guint j = 0; j < n; j++) {
      selves[j] = together[sub[j]]->self;
      g_assert_true (alone[sub[j]]->step (
          alone[sub[j]]->self, &tokens[j], 1, 1, want + j * vocab, &error));
      g_assert_no_error (error);
    }
    g_assert_true (together[0]->step_together (selves, n, tokens, got, &error));
    g_assert_no_error (error);
    sf_test_assert_close (c->fixture, got, want, n * vocab, 1e-5, 1e-4);
  }
  for (guint i = 0; i < N_DECODERS; i++) {
    sf_decoder_free (together[i]);
    sf_decoder_free (alone[i]);
  }
}

/* step_together refuses a decoder before its prompt and one holding two
 * sequences, with an error. */
static void
test_step_together_refuses (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (SfModel) model = sf_test_load_case (c->fixture);
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  g_autoptr (GError) error = NULL;
  gboolean enc_dec = strcmp (c->fixture, "gpt2-tiny-lm") != 0;
  SfDecoder *ready = decoder_new (model, enc_dec, rand, 600, 4, 1);
  SfDecoder *fresh = decoder_new (model, enc_dec, rand, 600, 6, 1);
  SfDecoder *two = decoder_new (model, enc_dec, rand, 600, 5, 2);
  g_autofree float *logits = g_new (float, 2 * ready->vocab);
  gint64 prompt[3] = { 5, 6, 7 }, tokens[2] = { 8, 9 };
  static const guint src[2] = { 0, 0 };
  gpointer selves[2];

  g_assert_true (ready->step (ready->self, prompt, 1, 3, logits, &error));
  g_assert_true (two->step (two->self, prompt, 1, 2, logits, &error));
  g_assert_true (two->reorder (two->self, src, 2, &error));
  g_assert_no_error (error);

  selves[0] = ready->self;
  selves[1] = fresh->self;
  g_assert_false (ready->step_together (selves, 2, tokens, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  selves[1] = two->self;
  g_assert_false (ready->step_together (selves, 2, tokens, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  sf_decoder_free (ready);
  sf_decoder_free (fresh);
  sf_decoder_free (two);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    static const struct
    {
      const char *name;
      GTestDataFunc func;
    } tests[] = {
      { "step-together", test_step_together },
      { "step-together-refuses", test_step_together_refuses },
      { "alone", test_batch_equals_alone },
      { "beams", test_batch_with_beams },
    };
    for (guint t = 0; t < G_N_ELEMENTS (tests); t++) {
      g_autofree char *path = g_strdup_printf (
          "/graphs/generate-batch/%s/%s", tests[t].name, cases[i].fixture);
      g_test_add_data_func (path, &cases[i], tests[t].func);
    }
  }
  g_test_add_func (
      "/graphs/generate-batch/empty-prompt", test_batch_empty_prompt);
  g_test_add_func ("/graphs/generate-batch/threads", test_batch_threads);
  return g_test_run ();
}
