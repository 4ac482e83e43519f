/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: Whisper as an SfDecoder (graphs/generate.h).
 *
 * The rows are the batch of one SfWhisperState over the encoder output;
 * beam search's reorder gathers their self-attention caches (and tiles
 * the cross-attention keys and values, the same for every row);
 * step_together runs decoders of different windows as one batch. Whisper's
 * own rules run in process_logits, as WhisperForConditionalGeneration's
 * extra logits processors do: suppress_tokens never appear,
 * begin_suppress_tokens not as the first generated token, and with
 * timestamps WhisperTimeStampLogitsProcessor's rules. The prompt is the
 * first step, so its length marks where generated tokens begin.
 */
#include "graphs/families/whisper-private.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

typedef struct
{
  WhisperGraph *g;
  SfWhisperState *st;
  guint max_seqs;
  gint64 begin; /* the prompt's length; -1 before the first step */
  gboolean timestamps;
} WhisperDecoder;

/* WhisperTimeStampLogitsProcessor on @x [V] given the tokens generated so
 * far (@seq, @n). */
static void
apply_timestamp_rules (
    const WhisperGraph *g, float *x, gint64 vocab, const gint64 *seq, guint n)
{
  const WhisperGeneration *gen = &g->gen;
  gint64 ts0 = gen->no_timestamps + 1;
  gboolean last_ts = n >= 1 && seq[n - 1] >= ts0;
  gboolean penult_ts = n < 2 || seq[n - 2] >= ts0;
  gint64 last_stamp = -1;
  double max_text = -INFINITY, sum = 0.0, top = -INFINITY, lse;

  x[gen->no_timestamps] = -INFINITY;
  if (last_ts) {
    if (penult_ts)
      for (gint64 i = ts0; i < vocab; i++)
        x[i] = -INFINITY;
    else
      for (gint64 i = 0; i < gen->eos; i++)
        x[i] = -INFINITY;
  }
  for (guint i = 0; i < n; i++)
    if (seq[i] >= ts0)
      last_stamp = seq[i];
  if (last_stamp >= 0) {
    gint64 upto = last_ts && !penult_ts ? last_stamp : last_stamp + 1;
    for (gint64 i = ts0; i < MIN (upto, vocab); i++)
      x[i] = -INFINITY;
  }
  if (n == 0) {
    for (gint64 i = 0; i < ts0; i++)
      x[i] = -INFINITY;
    if (gen->max_initial_timestamp >= 0)
      for (gint64 i = ts0 + gen->max_initial_timestamp + 1; i < vocab; i++)
        x[i] = -INFINITY;
  }

  /* force a timestamp when they are jointly likelier than any text token:
   * compare logsumexp over timestamps with the best text logit (the
   * softmax normaliser cancels) */
  for (gint64 i = 0; i < vocab; i++)
    top = MAX (top, x[i]);
  if (!isfinite (top))
    return;
  for (gint64 i = ts0; i < vocab; i++)
    sum += exp (x[i] - top);
  for (gint64 i = 0; i < ts0; i++)
    max_text = MAX (max_text, x[i]);
  lse = sum > 0 ? top + log (sum) : -INFINITY;
  if (lse > max_text)
    for (gint64 i = 0; i < ts0; i++)
      x[i] = -INFINITY;
}

static gboolean
decoder_step (gpointer self, const gint64 *tokens, guint n_seqs, guint n_new,
    float *logits, GError **error)
{
  WhisperDecoder *d = self;
  gint64 vocab = d->g->sizes[WHISPER_SZ_VOCAB];
  g_autoptr (SfTensor) out = NULL; /* [B, 1, V] */

  if (n_seqs == 0 || n_seqs > d->max_seqs) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "Whisper decoder: %u rows asked of a decoder for %u", n_seqs,
        d->max_seqs);
    return FALSE;
  }
  if (n_seqs != 1 && sf_whisper_state_length (d->st) == 0) {
    g_autofree guint *src = g_new0 (guint, n_seqs);
    if (!sf_whisper_state_reorder (d->st, src, n_seqs, error))
      return FALSE;
  }
  out = sf_whisper_state_step (d->st, tokens, n_new, FALSE, NULL, error);
  if (out == NULL)
    return FALSE;
  if (out->shape[0] != (gint64)n_seqs) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "Whisper decoder: %u rows fed to %" G_GINT64_FORMAT " live ones",
        n_seqs, out->shape[0]);
    return FALSE;
  }
  if (d->begin < 0)
    d->begin = n_new;
  memcpy (logits, sf_tensor_f32 (out), n_seqs * vocab * sizeof (float));
  return TRUE;
}

/* Decoders of different windows, one sequence each, as one batch. */
static gboolean
decoder_step_together (gpointer const *selves, guint n, const gint64 *tokens,
    float *logits, GError **error)
{
  WhisperDecoder *d0 = selves[0];
  gint64 vocab = d0->g->sizes[WHISPER_SZ_VOCAB];
  g_autofree SfWhisperState **states = g_new (SfWhisperState *, n);
  g_autoptr (SfTensor) out = NULL; /* [n, 1, V] */

  for (guint i = 0; i < n; i++) {
    WhisperDecoder *d = selves[i];
    if (d->g != d0->g || d->begin < 0 || sf_whisper_state_batch (d->st) != 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "Whisper decoder: a step together takes decoders of one model, "
          "past their prompt, with one sequence each");
      return FALSE;
    }
    states[i] = d->st;
  }
  out = sf_whisper_states_step (states, n, tokens, error);
  if (out == NULL)
    return FALSE;
  memcpy (logits, sf_tensor_f32 (out), n * vocab * sizeof (float));
  return TRUE;
}

static gboolean
decoder_reorder (gpointer self, const guint *src, guint n_seqs, GError **error)
{
  WhisperDecoder *d = self;

  if (n_seqs == 0 || n_seqs > d->max_seqs) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "Whisper decoder: %u rows asked of a decoder for %u", n_seqs,
        d->max_seqs);
    return FALSE;
  }
  return sf_whisper_state_reorder (d->st, src, n_seqs, error);
}

static void
decoder_process_logits (
    gpointer self, const gint64 *ids, guint n_seqs, guint n_ids, float *logits)
{
  WhisperDecoder *d = self;
  const WhisperGeneration *gen = &d->g->gen;
  gint64 vocab = d->g->sizes[WHISPER_SZ_VOCAB];
  guint begin = d->begin < 0 ? n_ids : (guint)MIN (d->begin, (gint64)n_ids);

  for (guint r = 0; r < n_seqs; r++) {
    float *x = logits + r * vocab;
    for (guint i = 0; i < gen->suppress->len; i++)
      x[g_array_index (gen->suppress, gint64, i)] = -INFINITY;
    if (n_ids == begin)
      for (guint i = 0; i < gen->begin_suppress->len; i++)
        x[g_array_index (gen->begin_suppress, gint64, i)] = -INFINITY;
    if (d->timestamps)
      apply_timestamp_rules (
          d->g, x, vocab, ids + (gsize)r * n_ids + begin, n_ids - begin);
  }
}

static void
decoder_free (gpointer self)
{
  WhisperDecoder *d = self;
  sf_whisper_state_free (d->st);
  g_free (d);
}

SfDecoder *
sf_whisper_decoder_new (
    gpointer graph, const SfTensor *enc, guint max_seqs, GError **error)
{
  WhisperGraph *g = graph;
  g_autoptr (SfTensor) enc3 = NULL; /* [1, S, D] */
  WhisperDecoder *d;
  SfDecoder *dec;

  if (enc == NULL
      || !((enc->ndim == 3 && enc->shape[0] == 1) || enc->ndim == 2)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "Whisper generation takes one encoder output, [S, D] or [1, S, D]");
    return NULL;
  }
  enc3 = enc->ndim == 3 ? sf_tensor_ref ((SfTensor *)enc)
                        : sf_tensor_reshape ((SfTensor *)enc, 3,
                            (gint64[]){ 1, enc->shape[0], enc->shape[1] });
  d = g_new0 (WhisperDecoder, 1);
  d->g = g;
  d->max_seqs = max_seqs;
  d->begin = -1;
  d->st = sf_whisper_state_new (
      g->model, enc3, g->sizes[WHISPER_SZ_TGT_POS], error);
  if (d->st == NULL) {
    g_free (d);
    return NULL;
  }
  dec = g_new0 (SfDecoder, 1);
  dec->vocab = g->sizes[WHISPER_SZ_VOCAB];
  dec->step = decoder_step;
  dec->reorder = decoder_reorder;
  dec->step_together = decoder_step_together;
  dec->process_logits = decoder_process_logits;
  dec->free = decoder_free;
  dec->self = d;
  return dec;
}

void
sf_whisper_decoder_set_timestamps (SfDecoder *decoder, gboolean on)
{
  ((WhisperDecoder *)decoder->self)->timestamps = on;
}
