/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GPT-2: the incremental decoder (graphs/generate.h) against transformers'
 * full-forward logits, over one and several sequences, after reorders and
 * up to n_positions; greedy continuation; padded batches; and broken
 * checkpoints. */
#include "graphs/generate.h"
#include "graphs/model.h"
#include "core/error.h"
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#define CASE "gpt2-tiny-lm"
#define ATOL 2e-4 /* the case's tolerance */
#define RTOL 1e-3

/* The reference prompt i: its ids [T] and transformers' logits [T, V]. */
typedef struct
{
  SfTensor *ids, *logits;
  gint64 len, vocab;
} Prompt;

static void
prompt_read (Prompt *p, guint i)
{
  g_autofree char *ids = g_strdup_printf ("input_ids.%u", i);
  g_autofree char *logits = g_strdup_printf ("logits.%u", i);

  p->ids = sf_test_fixture_tensor (CASE, ids);
  p->logits = sf_test_fixture_tensor (CASE, logits);
  p->len = sf_tensor_dim (p->ids, 0);
  p->vocab = sf_tensor_dim (p->logits, 1);
}

static void
prompt_clear (Prompt *p)
{
  sf_tensor_unref (p->ids);
  sf_tensor_unref (p->logits);
}

static void
assert_close (
    const char *what, gint64 pos, const float *got, const float *ref, gint64 n)
{
  g_autofree char *where =
      g_strdup_printf ("%s, position %" G_GINT64_FORMAT, what, pos);

  sf_test_assert_close (where, got, ref, n, ATOL, RTOL);
}

static SfDecoder *
decoder_new (SfModel *model, guint max_seqs)
{
  g_autoptr (GError) error = NULL;
  SfDecoder *dec = sf_model_decoder_new (model, NULL, max_seqs, &error);

  g_assert_no_error (error);
  g_assert_nonnull (dec);
  return dec;
}

static void
step (SfDecoder *dec, const gint64 *tokens, guint n_seqs, guint n_new,
    float *logits)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (dec->step (dec->self, tokens, n_seqs, n_new, logits, &error));
  g_assert_no_error (error);
}

/* Each prompt fed one token at a time: the logits after token p are
 * transformers' logits at position p of the whole prompt. */
static void
test_one_by_one (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);

  for (guint i = 0; i < 3; i++) {
    Prompt p;
    SfDecoder *dec = decoder_new (model, 1);
    g_autofree float *logits = NULL;

    prompt_read (&p, i);
    g_assert_cmpint (dec->vocab, ==, p.vocab);
    logits = g_new (float, p.vocab);
    for (gint64 t = 0; t < p.len; t++) {
      step (dec, sf_tensor_i64 (p.ids) + t, 1, 1, logits);
      assert_close ("one by one", t, logits,
          sf_tensor_f32 (p.logits) + t * p.vocab, p.vocab);
    }
    sf_decoder_free (dec);
    prompt_clear (&p);
  }
}

/* A prompt step of several tokens, then single tokens. */
static void
test_prompt_step (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  Prompt p;
  SfDecoder *dec = decoder_new (model, 1);
  g_autofree float *logits = NULL;

  prompt_read (&p, 0);
  logits = g_new (float, p.vocab);
  step (dec, sf_tensor_i64 (p.ids), 1, 5, logits);
  assert_close ("prompt of 5", 4, logits,
      sf_tensor_f32 (p.logits) + 4 * p.vocab, p.vocab);
  for (gint64 t = 5; t < p.len; t++) {
    step (dec, sf_tensor_i64 (p.ids) + t, 1, 1, logits);
    assert_close ("after a prompt of 5", t, logits,
        sf_tensor_f32 (p.logits) + t * p.vocab, p.vocab);
  }
  sf_decoder_free (dec);
  prompt_clear (&p);
}

/* Two sequences in one decoder: prompts 0 and 2 (their first 7 tokens),
 * three as the prompt step, then one at a time; each row matches its own
 * reference. */
static void
test_two_sequences (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  Prompt a, b;
  SfDecoder *dec = decoder_new (model, 2);
  g_autofree float *logits = NULL;
  gint64 tokens[6];

  prompt_read (&a, 0);
  prompt_read (&b, 2);
  logits = g_new (float, 2 * a.vocab);
  memcpy (tokens, sf_tensor_i64 (a.ids), 3 * sizeof (gint64));
  memcpy (tokens + 3, sf_tensor_i64 (b.ids), 3 * sizeof (gint64));
  step (dec, tokens, 2, 3, logits);
  for (gint64 t = 2; t < 7; t++) {
    if (t > 2) {
      tokens[0] = sf_tensor_i64 (a.ids)[t];
      tokens[1] = sf_tensor_i64 (b.ids)[t];
      step (dec, tokens, 2, 1, logits);
    }
    assert_close ("row 0 of 2", t, logits,
        sf_tensor_f32 (a.logits) + t * a.vocab, a.vocab);
    assert_close ("row 1 of 2", t, logits + a.vocab,
        sf_tensor_f32 (b.logits) + t * b.vocab, b.vocab);
  }
  sf_decoder_free (dec);
  prompt_clear (&a);
  prompt_clear (&b);
}

/* reorder (): rows that continue another row's sequence (src = {1, 1}),
 * swapped rows, and more rows than before (beam search's first step). */
static void
test_reorder (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  g_autoptr (GError) error = NULL;
  Prompt a, b;
  SfDecoder *dec = decoder_new (model, 3);
  g_autofree float *logits = NULL;
  gint64 tokens[8];
  const Prompt *rows[3];

  prompt_read (&a, 0);
  prompt_read (&b, 1);
  logits = g_new (float, 3 * a.vocab);
  memcpy (tokens, sf_tensor_i64 (a.ids), 4 * sizeof (gint64));
  memcpy (tokens + 4, sf_tensor_i64 (b.ids), 4 * sizeof (gint64));
  step (dec, tokens, 2, 4, logits);

  /* both rows continue b */
  g_assert_true (dec->reorder (dec->self, (guint[]){ 1, 1 }, 2, &error));
  g_assert_no_error (error);
  tokens[0] = tokens[1] = sf_tensor_i64 (b.ids)[4];
  step (dec, tokens, 2, 1, logits);
  for (int r = 0; r < 2; r++)
    assert_close ("after reorder {1, 1}", 4, logits + r * b.vocab,
        sf_tensor_f32 (b.logits) + 4 * b.vocab, b.vocab);

  /* row 1 goes on with b, row 0 with a different token: they diverge */
  tokens[0] = 7;
  tokens[1] = sf_tensor_i64 (b.ids)[5];
  step (dec, tokens, 2, 1, logits);
  assert_close ("row 1 after divergence", 5, logits + b.vocab,
      sf_tensor_f32 (b.logits) + 5 * b.vocab, b.vocab);

  /* three rows: two copies of row 1 around row 0 */
  g_assert_true (dec->reorder (dec->self, (guint[]){ 1, 0, 1 }, 3, &error));
  g_assert_no_error (error);
  rows[0] = rows[2] = &b;
  rows[1] = NULL;
  for (gint64 t = 6; t < b.len; t++) {
    tokens[0] = tokens[2] = sf_tensor_i64 (b.ids)[t];
    tokens[1] = 7;
    step (dec, tokens, 3, 1, logits);
    for (int r = 0; r < 3; r++)
      if (rows[r])
        assert_close ("after reorder {1, 0, 1}", t, logits + r * b.vocab,
            sf_tensor_f32 (b.logits) + t * b.vocab, b.vocab);
  }

  /* a row that does not exist, and too many rows */
  g_assert_false (dec->reorder (dec->self, (guint[]){ 3 }, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (dec->reorder (dec->self, (guint[]){ 0, 0, 0, 0 }, 4, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  sf_decoder_free (dec);
  prompt_clear (&a);
  prompt_clear (&b);
}

/* Up to n_positions (64) one token at a time, through the caches'
 * growth, against our own full forward of the same 64 tokens; one more
 * token is an error. */
static void
test_full_context (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gint64 n = sf_model_max_positions (model), vocab;
  SfTextInput in = { 0 };
  SfTextOutput out = { 0 };
  SfDecoder *dec = decoder_new (model, 1);
  g_autofree float *logits = NULL;

  in.input_ids = sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 1, n });
  for (gint64 t = 0; t < n; t++)
    sf_tensor_i64 (in.input_ids)[t] = g_rand_int_range (rand, 0, 600);
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  vocab = sf_tensor_dim (out.logits, 2);
  logits = g_new (float, vocab);
  for (gint64 t = 0; t < n; t++) {
    step (dec, sf_tensor_i64 (in.input_ids) + t, 1, 1, logits);
    assert_close ("full context", t, logits,
        sf_tensor_f32 (out.logits) + t * vocab, vocab);
  }
  g_assert_false (dec->step (
      dec->self, sf_tensor_i64 (in.input_ids), 1, 1, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "n_positions"));
  sf_decoder_free (dec);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
}

/* Steps the contract refuses, and a source a decoder-only model has no
 * use for. */
static void
test_decoder_misuse (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTensor) source = sf_tensor_new_f32 (3, 1, 2, 64);
  SfDecoder *dec = decoder_new (model, 2);
  float logits[3 * 600];
  gint64 tokens[3] = { 1, 2, 3 };

  g_assert_null (sf_model_decoder_new (model, source, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (dec->step (dec->self, tokens, 3, 1, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  step (dec, tokens, 2, 1, logits);
  g_assert_false (dec->step (dec->self, tokens, 1, 1, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);
  tokens[0] = 600; /* past the vocabulary */
  g_assert_false (dec->step (dec->self, tokens, 2, 1, logits, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  sf_decoder_free (dec);
}

/* case.json's greedy_ids: the prompt, then the argmax of the last
 * position, 16 new tokens or eos_token_id. */
static void
test_greedy (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  g_autofree char *dir = sf_test_fixture (CASE);
  g_autofree char *path = g_build_filename (dir, "case.json", NULL);
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  cJSON *root, *greedy;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  root = cJSON_Parse (text);
  greedy = cJSON_GetObjectItem (root, "greedy_ids");
  g_assert_cmpint (cJSON_GetArraySize (greedy), ==, 3);
  for (guint i = 0; i < 3; i++) {
    const cJSON *want = cJSON_GetArrayItem (greedy, (int)i);
    Prompt p;
    SfDecoder *dec = decoder_new (model, 1);
    g_autofree float *logits = NULL;
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

    prompt_read (&p, i);
    logits = g_new (float, p.vocab);
    g_array_append_vals (ids, sf_tensor_i64 (p.ids), p.len);
    step (dec, sf_tensor_i64 (p.ids), 1, (guint)p.len, logits);
    for (int n = 0; n < 16; n++) {
      gint64 best = 0;
      for (gint64 k = 1; k < p.vocab; k++)
        if (logits[k] > logits[best])
          best = k;
      g_array_append_val (ids, best);
      if (best == 0 || n == 15) /* eos_token_id 0, <|endoftext|> */
        break;
      step (dec, &best, 1, 1, logits);
    }
    g_assert_cmpint (ids->len, ==, cJSON_GetArraySize (want));
    for (guint k = 0; k < ids->len; k++)
      g_assert_cmpint (g_array_index (ids, gint64, k), ==,
          (gint64)cJSON_GetArrayItem (want, (int)k)->valuedouble);
    sf_decoder_free (dec);
    prompt_clear (&p);
  }
  cJSON_Delete (root);
}

/* The three prompts as one right-padded batch: every real position
 * matches its prompt run alone. */
static void
test_padded_batch (void)
{
  g_autoptr (SfModel) model = sf_test_load_case (CASE);
  g_autoptr (GError) error = NULL;
  const char *texts[] = { "The quick brown fox", "Machine learning is",
    "Once upon a time" };
  SfTextInput in;
  SfTextOutput out = { 0 };
  gint64 t;

  g_assert_true (
      sf_model_encode_texts (model, texts, NULL, 3, 0, &in, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  t = sf_tensor_dim (out.logits, 1);
  for (guint i = 0; i < 3; i++) {
    Prompt p;
    prompt_read (&p, i);
    for (gint64 pos = 0; pos < p.len; pos++)
      assert_close ("padded batch", pos,
          sf_tensor_f32 (out.logits) + (i * t + pos) * p.vocab,
          sf_tensor_f32 (p.logits) + pos * p.vocab, p.vocab);
    prompt_clear (&p);
  }
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
}

/* ---- checkpoints in other layouts, and broken ones ---- */

/* Prompt 0's logits from a checkpoint folder. */
static void
assert_reference_logits (const char *dir)
{
  g_autoptr (SfModel) model = sf_test_load_model (dir);
  g_autoptr (GError) error = NULL;
  SfTextInput in = { 0 };
  SfTextOutput out = { 0 };
  Prompt p;

  prompt_read (&p, 0);
  in.input_ids = sf_tensor_reshape (p.ids, 2, (gint64[]){ 1, p.len });
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  for (gint64 t = 0; t < p.len; t++)
    assert_close ("layout variant", t, sf_tensor_f32 (out.logits) + t * p.vocab,
        sf_tensor_f32 (p.logits) + t * p.vocab, p.vocab);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  prompt_clear (&p);
}

/* GPT2Model checkpoints have no "transformer." prefix; an LM head stored
 * next to a tied one is ignored; an untied head is used, and required. */
static void
test_layouts (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autofree char *src = sf_test_fixture (CASE);
  g_autofree char *path = g_build_filename (src, "model.safetensors", NULL);
  g_autofree char *out = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) tensors =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  const char *missing[] = { "lm_head.weight", NULL };

  g_assert_no_error (error);
  for (guint i = 0; i < sf_safetensors_n_tensors (st); i++) {
    const char *name = sf_safetensors_name (st, i);
    g_assert_true (g_str_has_prefix (name, "transformer."));
    g_ptr_array_add (names, g_strdup (name + strlen ("transformer.")));
    g_ptr_array_add (tensors, sf_safetensors_get (st, name));
  }
  /* bare names (GPT2Model) */
  g_assert_true (
      sf_safetensors_write (out, names->len, (const char *const *)names->pdata,
          (SfTensor *const *)tensors->pdata, &error));
  g_assert_no_error (error);
  assert_reference_logits (dir);

  /* bare names plus lm_head.weight: a copy of wte, as tied checkpoints
   * may store it */
  for (guint i = 0; i < names->len; i++)
    if (g_str_equal (names->pdata[i], "wte.weight")) {
      g_ptr_array_add (names, g_strdup ("lm_head.weight"));
      g_ptr_array_add (tensors, sf_tensor_copy (tensors->pdata[i]));
      break;
    }
  g_assert_true (
      sf_safetensors_write (out, names->len, (const char *const *)names->pdata,
          (SfTensor *const *)tensors->pdata, &error));
  g_assert_no_error (error);
  assert_reference_logits (dir);

  /* untied: the stored head is used ... */
  sf_test_set_config (dir, "tie_word_embeddings", "false");
  assert_reference_logits (dir);
  /* ... and required */
  g_ptr_array_remove_index (names, names->len - 1);
  g_ptr_array_remove_index (tensors, tensors->len - 1);
  g_assert_true (
      sf_safetensors_write (out, names->len, (const char *const *)names->pdata,
          (SfTensor *const *)tensors->pdata, &error));
  g_assert_no_error (error);
  sf_test_assert_load_fails (dir, missing);
  sf_test_remove_dir (dir);
}

static SfTensor *
drop_and_reshape (const char *name, SfTensor *t, gpointer user_data)
{
  if (g_str_equal (name, "transformer.h.1.mlp.c_fc.bias"))
    return NULL;
  if (g_str_equal (name, "transformer.h.0.attn.c_attn.weight"))
    return sf_tensor_new_f32 (2, (gint64)192, (gint64)64); /* nn.Linear's */
  return sf_tensor_copy (t);
}

static void
test_missing_and_misshaped (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  const char *want[] = { "missing tensor 'transformer.h.1.mlp.c_fc.bias'",
    "tensor 'transformer.h.0.attn.c_attn.weight' has shape [192, 64], the "
    "config implies [64, 192]",
    NULL };

  sf_test_rewrite_safetensors (
      dir, "model.safetensors", drop_and_reshape, NULL);
  sf_test_assert_load_fails (dir, want);
  sf_test_remove_dir (dir);
}

typedef struct
{
  const char *key;
  const char *json; /* the value; NULL removes the field */
  const char *fragments[3];
} BadConfig;

static const BadConfig bad_configs[] = {
  { "n_head", "5", { "n_embd 64", "n_head 5", NULL } },
  { "n_embd", "0", { "n_embd", NULL } },
  { "n_embd", NULL, { "n_embd", NULL } },
  { "n_layer", "\"two\"", { "n_layer", NULL } },
  { "n_inner", "0", { "n_inner", NULL } },
  { "n_inner", "128", { "mlp.c_fc.weight", "[64, 128]", NULL } },
  { "n_positions", "32", { "wpe.weight", "[32, 64]", NULL } },
  { "vocab_size", "601", { "wte.weight", NULL } },
  { "activation_function", "\"swishy\"", { "activation_function", NULL } },
  { "layer_norm_epsilon", "-1", { "layer_norm_epsilon", NULL } },
  { "eos_token_id", "600", { "eos_token_id", NULL } },
  { "bos_token_id", "-3", { "bos_token_id", NULL } },
  { "scale_attn_weights", "\"yes\"", { "scale_attn_weights", NULL } },
  { "add_cross_attention", "true", { "add_cross_attention", NULL } },
  { "architectures", "[\"GPT2ForSequenceClassification\"]",
      { "GPT2ForSequenceClassification", NULL } },
};

static void
test_bad_config (gconstpointer data)
{
  const BadConfig *c = data;
  g_autofree char *dir = sf_test_copy_fixture (CASE);

  sf_test_set_config (dir, c->key, c->json);
  sf_test_assert_load_fails (dir, c->fragments);
  sf_test_remove_dir (dir);
}

/* scale_attn_by_inverse_layer_idx and scale_attn_weights change the
 * scores: the logits move away from the reference, and the decoder still
 * agrees with the full forward. */
static void
test_attention_scaling (void)
{
  g_autofree char *dir = sf_test_copy_fixture (CASE);
  g_autoptr (SfModel) model = NULL;
  g_autoptr (GError) error = NULL;
  SfTextInput in = { 0 };
  SfTextOutput out = { 0 };
  SfDecoder *dec;
  g_autofree float *logits = NULL;
  double moved = 0;
  Prompt p;

  sf_test_set_config (dir, "scale_attn_by_inverse_layer_idx", "true");
  sf_test_set_config (dir, "scale_attn_weights", "false");
  model = sf_test_load_model (dir);
  prompt_read (&p, 1);
  in.input_ids = sf_tensor_reshape (p.ids, 2, (gint64[]){ 1, p.len });
  g_assert_true (sf_model_forward_text (model, &in, FALSE, &out, &error));
  g_assert_no_error (error);
  dec = decoder_new (model, 1);
  logits = g_new (float, p.vocab);
  for (gint64 t = 0; t < p.len; t++) {
    step (dec, sf_tensor_i64 (p.ids) + t, 1, 1, logits);
    assert_close ("scaled attention", t, logits,
        sf_tensor_f32 (out.logits) + t * p.vocab, p.vocab);
    for (gint64 k = 0; k < p.vocab; k++)
      moved = MAX (
          moved, fabsf (logits[k] - sf_tensor_f32 (p.logits)[t * p.vocab + k]));
  }
  g_assert_cmpfloat (moved, >, 1e-3);
  sf_decoder_free (dec);
  sf_text_output_clear (&out);
  sf_text_input_clear (&in);
  prompt_clear (&p);
  g_clear_pointer (&model, sf_model_unref);
  sf_test_remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/gpt2/decoder/one-by-one", test_one_by_one);
  g_test_add_func ("/graphs/gpt2/decoder/prompt-step", test_prompt_step);
  g_test_add_func ("/graphs/gpt2/decoder/two-sequences", test_two_sequences);
  g_test_add_func ("/graphs/gpt2/decoder/reorder", test_reorder);
  g_test_add_func ("/graphs/gpt2/decoder/full-context", test_full_context);
  g_test_add_func ("/graphs/gpt2/decoder/misuse", test_decoder_misuse);
  g_test_add_func ("/graphs/gpt2/greedy", test_greedy);
  g_test_add_func ("/graphs/gpt2/forward/padded-batch", test_padded_batch);
  g_test_add_func (
      "/graphs/gpt2/forward/attention-scaling", test_attention_scaling);
  g_test_add_func ("/graphs/gpt2/load/layouts", test_layouts);
  g_test_add_func (
      "/graphs/gpt2/load/missing-and-misshaped", test_missing_and_misshaped);
  for (guint i = 0; i < G_N_ELEMENTS (bad_configs); i++) {
    g_autofree char *name = g_strdup_printf (
        "/graphs/gpt2/load/config/%s-%u", bad_configs[i].key, i);
    g_test_add_data_func (name, &bad_configs[i], test_bad_config);
  }
  return g_test_run ();
}
