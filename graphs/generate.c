/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: sf_generate(), greedy search and sampling.
 *
 * Mirrors transformers' GenerationMixin.generate for one prompt: the
 * limits (max_new_tokens over max_length), then greedy search
 * (argmax of the processed logits) or sampling (processed, warped, then
 * softmax and a multinomial draw from a GRand seeded with cfg->seed, so a
 * seed repeats its run), or beam search (generate-beam.c). The family's
 * own process_logits runs before the common processors. A sequence ends
 * at any eos_token_id, which it keeps; rows that ended are fed pad_token_id
 * while the others go on, as transformers pads a batch.
 */
#include "graphs/generate-private.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

/* Live rows a run may ask of a decoder: far above any beam width in use,
 * low enough that [rows, vocab] scores stay allocatable. */
#define SF_GENERATE_MAX_ROWS 256

void
sf_generated_array_free (GPtrArray *seqs)
{
  if (seqs != NULL)
    g_ptr_array_unref (seqs);
}

static void
generated_free (gpointer data)
{
  SfGenerated *g = data;
  if (g->ids)
    g_array_unref (g->ids);
  g_free (g);
}

gint64
sf_argmax (const float *x, gint64 n)
{
  gint64 best = 0;
  for (gint64 i = 1; i < n; i++)
    if (x[i] > x[best])
      best = i;
  return best;
}

/* A draw from softmax (@x); @x holds finite values or -inf. */
static gint64
sample (const float *x, gint64 n, GRand *rand)
{
  double top = -INFINITY, sum = 0.0, u, cum = 0.0;
  gint64 last = -1;

  for (gint64 i = 0; i < n; i++)
    top = MAX (top, x[i]);
  if (!isfinite (top))
    return sf_argmax (x, n);
  for (gint64 i = 0; i < n; i++)
    sum += exp (x[i] - top);
  u = g_rand_double (rand) * sum;
  for (gint64 i = 0; i < n; i++) {
    double p = exp (x[i] - top);
    if (p <= 0.0)
      continue;
    cum += p;
    last = i;
    if (u < cum)
      return i;
  }
  return last;
}

GRand *
sf_generate_rand_new (guint64 seed)
{
  guint32 words[2] = { (guint32)seed, (guint32)(seed >> 32) };
  return g_rand_new_with_seed_array (words, 2);
}

/* Greedy search, or sampling over cfg->num_return_sequences rows. */
static gboolean
generate_simple (const SfGenerateRun *run, const gint64 *prompt,
    SfGenerateTokenFunc on_token, gpointer user_data, GPtrArray *out,
    GError **error)
{
  const SfDecoder *dec = run->dec;
  const SfGenerationConfig *cfg = run->cfg;
  guint rows = cfg->do_sample ? cfg->num_return_sequences : 1;
  gint64 vocab = run->vocab, cur = run->n_prompt;
  g_autofree float *logits = g_new (float, (gsize)rows *vocab);
  /* each row's tokens so far (prompt, then pad after its end) */
  g_autoptr (GPtrArray) seqs =
      g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
  g_autofree gint64 *next = g_new (gint64, rows);
  g_autofree gboolean *open = g_new (gboolean, rows);
  g_autofree guint *src = g_new0 (guint, rows);
  g_autoptr (GRand) rand =
      cfg->do_sample ? sf_generate_rand_new (cfg->seed) : NULL;
  guint n_open = rows;
  gboolean stop = FALSE;

  /* the prompt once, then copied to every row */
  if (!dec->step (dec->self, prompt, 1, run->n_prompt, logits, error))
    return FALSE;
  if (rows > 1 && !dec->reorder (dec->self, src, rows, error))
    return FALSE;
  for (guint r = 0; r < rows; r++) {
    GArray *seq = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_array_append_vals (seq, prompt, run->n_prompt);
    g_ptr_array_add (seqs, seq);
    if (r > 0)
      memcpy (logits + r * vocab, logits, vocab * sizeof (float));
    open[r] = TRUE;
  }

  while (cur < run->max_length) {
    /* ids [rows][cur]: pack the rows for the processors */
    g_autofree gint64 *packed = g_new (gint64, (gsize)rows * cur);
    for (guint r = 0; r < rows; r++)
      memcpy (packed + r * cur, ((GArray *)seqs->pdata[r])->data,
          cur * sizeof (gint64));
    if (dec->process_logits)
      dec->process_logits (dec->self, packed, rows, (guint)cur, logits);
    sf_generate_process (run, packed, rows, (guint)cur, logits);

    for (guint r = 0; r < rows; r++) {
      float *x = logits + r * vocab;
      if (!open[r]) {
        next[r] = run->pad;
        continue;
      }
      if (cfg->do_sample) {
        sf_generate_warp (run, x, 1);
        next[r] = sample (x, vocab, rand);
      } else {
        next[r] = sf_argmax (x, vocab);
      }
      g_array_append_val (((SfGenerated *)out->pdata[r])->ids, next[r]);
      if (r == 0 && on_token != NULL && !on_token (next[r], user_data))
        stop = TRUE;
      if (sf_generate_is_eos (run, next[r])) {
        open[r] = FALSE;
        n_open--;
      }
    }
    for (guint r = 0; r < rows; r++)
      g_array_append_val ((GArray *)seqs->pdata[r], next[r]);
    cur++;
    if (stop || n_open == 0 || cur >= run->max_length)
      break;
    if (!dec->step (dec->self, next, rows, 1, logits, error))
      return FALSE;
  }
  return TRUE;
}

/* Settles the limits and checks the config against the decoder. */
gboolean
sf_generate_run_init (SfGenerateRun *run, const SfDecoder *dec,
    const SfGenerationConfig *cfg, guint n_prompt, GError **error)
{
  const char *bad = NULL;

  *run = (SfGenerateRun){
    .dec = dec, .cfg = cfg, .vocab = dec->vocab, .n_prompt = n_prompt
  };
  run->eos =
      cfg->eos_token_ids ? (const gint64 *)cfg->eos_token_ids->data : NULL;
  run->n_eos = cfg->eos_token_ids ? cfg->eos_token_ids->len : 0;
  run->max_length = cfg->max_new_tokens > 0
      ? (gint64)n_prompt + cfg->max_new_tokens
      : cfg->max_length;
  run->pad = cfg->pad_token_id >= 0 ? cfg->pad_token_id
      : run->n_eos > 0              ? run->eos[0]
                                    : 0;

  if (cfg->forced_bos_token_id >= dec->vocab)
    bad = "forced_bos_token_id";
  else if (cfg->forced_eos_token_id >= dec->vocab)
    bad = "forced_eos_token_id";
  else if (run->pad >= dec->vocab)
    bad = "pad_token_id";
  if (bad != NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: %s is outside the vocabulary of %" G_GINT64_FORMAT
        " tokens",
        bad, dec->vocab);
    return FALSE;
  }
  if (cfg->num_beams > SF_GENERATE_MAX_ROWS
      || cfg->num_return_sequences > SF_GENERATE_MAX_ROWS) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: num_beams %u and num_return_sequences %u must be at "
        "most %d",
        cfg->num_beams, cfg->num_return_sequences, SF_GENERATE_MAX_ROWS);
    return FALSE;
  }
  if (cfg->num_beams < 1 || cfg->num_return_sequences < 1
      || (cfg->num_beams > 1 && cfg->num_return_sequences > cfg->num_beams)
      || (cfg->num_beams == 1 && !cfg->do_sample
          && cfg->num_return_sequences > 1)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: %u sequences asked of %s with num_beams %u",
        cfg->num_return_sequences,
        cfg->num_beams > 1   ? "beam search"
            : cfg->do_sample ? "sampling"
                             : "greedy search (which gives one)",
        cfg->num_beams);
    return FALSE;
  }
  if ((cfg->do_sample && !(cfg->temperature > 0)) || cfg->top_k < 0
      || !(cfg->top_p >= 0 && cfg->top_p <= 1) || !(cfg->repetition_penalty > 0)
      || !isfinite (cfg->length_penalty)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: repetition_penalty (and temperature, when sampling) "
        "must be above 0, top_k at least 0, top_p in [0, 1]");
    return FALSE;
  }
  if ((gint64)n_prompt >= run->max_length) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: the %u-token prompt leaves no room under max_length "
        "%" G_GINT64_FORMAT,
        n_prompt, run->max_length);
    return FALSE;
  }
  if (run->max_length > G_MAXINT32) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: max_length %" G_GINT64_FORMAT " is too large",
        run->max_length);
    return FALSE;
  }
  return TRUE;
}

GPtrArray *
sf_generate (const SfDecoder *dec, const SfGenerationConfig *cfg,
    const gint64 *prompt, guint n_prompt, SfGenerateTokenFunc on_token,
    gpointer user_data, GError **error)
{
  SfGenerateRun run;
  g_autoptr (GPtrArray) out = NULL;
  gboolean ok;

  g_return_val_if_fail (dec != NULL && cfg != NULL, NULL);
  g_return_val_if_fail (dec->step != NULL && dec->reorder != NULL, NULL);
  if (prompt == NULL || n_prompt == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: the prompt is empty (encoder-decoders start from "
        "decoder_start_token_id)");
    return NULL;
  }
  if (dec->vocab < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "generation: the decoder has no vocabulary");
    return NULL;
  }
  if (!sf_generate_run_init (&run, dec, cfg, n_prompt, error))
    return NULL;

  out = g_ptr_array_new_with_free_func (generated_free);
  if (cfg->num_beams > 1) {
    ok = sf_generate_beam (&run, prompt, out, error);
  } else {
    guint rows = cfg->do_sample ? cfg->num_return_sequences : 1;
    for (guint r = 0; r < rows; r++) {
      SfGenerated *g = g_new0 (SfGenerated, 1);
      g->ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_ptr_array_add (out, g);
    }
    ok = generate_simple (&run, prompt, on_token, user_data, out, error);
  }
  return ok ? g_steal_pointer (&out) : NULL;
}

gboolean
sf_generate_greedy (const SfDecoder *dec, const gint64 *prompt, guint n_prompt,
    guint max_new, const gint64 *eos, guint n_eos, GArray *ids, GError **error)
{
  g_autofree float *logits = g_new (float, dec->vocab);

  g_array_append_vals (ids, prompt, n_prompt);
  if (max_new == 0)
    return TRUE;
  if (!dec->step (dec->self, prompt, 1, n_prompt, logits, error))
    return FALSE;
  for (guint i = 0; i < max_new; i++) {
    gint64 next = sf_argmax (logits, dec->vocab);
    gboolean stop = i + 1 == max_new;
    g_array_append_val (ids, next);
    for (guint e = 0; e < n_eos; e++)
      stop |= next == eos[e];
    if (stop)
      break;
    if (!dec->step (dec->self, &next, 1, 1, logits, error))
      return FALSE;
  }
  return TRUE;
}
