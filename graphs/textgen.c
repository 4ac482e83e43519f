/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: text in, text out (see graphs/textgen.h). */
#include "graphs/textgen-private.h"
#include "core/error.h"
#include "graphs/model-private.h"

#include <string.h>

/* task_specific_params[@task] as transformers' pipeline applies it: the
 * prefix, and the generation settings it names. */
static gboolean
apply_task_params (SfTextGenerator *gen, const SfConfig *config,
    const char *task, GError **error)
{
  g_autoptr (SfConfig) all = NULL, params = NULL;
  SfGenerationConfig *d = &gen->defaults;
  const char *prefix = "";
  gint64 v;
  double f;
  gboolean b;

  all = sf_config_get_object (config, "task_specific_params", error);
  if (all == NULL)
    return FALSE;
  params = sf_config_get_object (all, task, error);
  if (params == NULL)
    return FALSE;
  if (!sf_config_string_or (params, "prefix", "", &prefix, error))
    return FALSE;
  gen->prefix = g_strdup (prefix);
#define INT_FIELD(key, field, min)                                             \
  if (sf_config_has (params, key)) {                                           \
    if (!sf_config_int_min (params, key, min, &v, error))                      \
      return FALSE;                                                            \
    d->field = v;                                                              \
  }
  INT_FIELD ("max_length", max_length, 1);
  INT_FIELD ("min_length", min_length, 0);
  INT_FIELD ("max_new_tokens", max_new_tokens, 1);
  INT_FIELD ("num_beams", num_beams, 1);
  INT_FIELD ("no_repeat_ngram_size", no_repeat_ngram_size, 0);
#undef INT_FIELD
  if (sf_config_has (params, "length_penalty")) {
    if (!sf_config_double (params, "length_penalty", &f, error))
      return FALSE;
    d->length_penalty = f;
  }
  if (sf_config_has (params, "early_stopping")) {
    if (!sf_config_bool_or (params, "early_stopping", TRUE, &b, error))
      return FALSE;
    d->early_stopping = b ? 1 : 0;
  }
  if (sf_config_has (params, "do_sample")) {
    if (!sf_config_bool_or (params, "do_sample", FALSE, &b, error))
      return FALSE;
    d->do_sample = b;
  }
  return TRUE;
}

gboolean
sf_text_generator_supports (const SfModel *model)
{
  return model->family->decoder_new != NULL
      && sf_model_modality (model) == SF_MODALITY_TEXT
      && model->tokenizer != NULL;
}

SfTextGenerator *
sf_text_generator_new (SfModel *model, GError **error)
{
  g_autoptr (SfTextGenerator) gen = g_new0 (SfTextGenerator, 1);
  const SfConfig *config = sf_checkpoint_config (model->ckpt);
  GError *local = NULL;

  gen->model = sf_model_ref (model);
  sf_generation_config_init (&gen->defaults);
  if (model->family->decoder_new == NULL
      || sf_model_modality (model) != SF_MODALITY_TEXT) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model (%s) does not generate text from text; text "
        "generation runs GPT-2, BART and T5 checkpoints",
        model->name, sf_model_kind (model),
        model->architecture ? model->architecture : "no architecture");
    return NULL;
  }
  if (model->tokenizer == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no tokenizer (tokenizer.json, or vocab.json with merges.txt)",
        model->name);
    return NULL;
  }
  if (!sf_config_bool_or (
          config, "is_encoder_decoder", FALSE, &gen->enc_dec, &local)
      || !sf_generation_config_load (&gen->defaults, model->ckpt, &local)
      || !apply_task_params (gen, config,
          gen->enc_dec ? "summarization" : "text-generation", &local)) {
    g_propagate_prefixed_error (error, local, "%s: ", model->name);
    return NULL;
  }
  return g_steal_pointer (&gen);
}

void
sf_text_generator_free (SfTextGenerator *gen)
{
  if (gen == NULL)
    return;
  sf_generation_config_clear (&gen->defaults);
  sf_model_unref (gen->model);
  g_free (gen->prefix);
  g_free (gen);
}

const SfGenerationConfig *
sf_text_generator_defaults (const SfTextGenerator *gen)
{
  return &gen->defaults;
}

const char *
sf_text_generator_prefix (const SfTextGenerator *gen)
{
  return gen->prefix ? gen->prefix : "";
}

gboolean
sf_text_generator_is_encoder_decoder (const SfTextGenerator *gen)
{
  return gen->enc_dec;
}

void
sf_text_generation_free (SfTextGeneration *result)
{
  if (result == NULL)
    return;
  g_free (result->text);
  if (result->prompt_ids)
    g_array_unref (result->prompt_ids);
  if (result->ids)
    g_array_unref (result->ids);
  g_free (result);
}

/* Streaming: the text decoded so far and how much of it was reported. */
typedef struct
{
  SfTokenizer *tok;
  GArray *ids; /* gint32 */
  gsize emitted;
  SfTextPieceFunc on_piece;
  gpointer user_data;
} Stream;

/* Reports what @text adds beyond what was reported; a text ending in
 * U+FFFD may be a character whose bytes are still to come, so it waits
 * unless @final. */
static gboolean
stream_emit (Stream *s, const char *text, gboolean final)
{
  gsize len = strlen (text);
  static const char replacement[] = "\xef\xbf\xbd";

  if (!final && len >= 3 && memcmp (text + len - 3, replacement, 3) == 0)
    return TRUE;
  if (len <= s->emitted)
    return TRUE;
  {
    g_autofree char *piece = g_strndup (text + s->emitted, len - s->emitted);

    s->emitted = len;
    return s->on_piece (piece, s->user_data);
  }
}

static gboolean
stream_token (gint64 token, gpointer data)
{
  Stream *s = data;
  gint32 id = (gint32)token;
  g_autofree char *text = NULL;

  g_array_append_val (s->ids, id);
  text = sf_tokenizer_decode (
      s->tok, (const gint32 *)s->ids->data, s->ids->len, TRUE);
  return stream_emit (s, text, FALSE);
}

/* (transfer full) the encoder's input: the prompt's ids as I64 [1, n]. */
static SfTensor *
ids_tensor (const SfEncoding *enc)
{
  gint64 shape[2] = { 1, enc->n };
  SfTensor *t = sf_tensor_new (SF_DTYPE_I64, 2, shape);
  gint64 *data = t->data;

  for (guint i = 0; i < enc->n; i++)
    data[i] = enc->ids[i];
  return t;
}

void
sf_text_job_clear (SfTextJob *job)
{
  g_clear_pointer (&job->result, sf_text_generation_free);
  g_clear_pointer (&job->source, sf_tensor_unref);
  g_clear_pointer (&job->start, g_array_unref);
}

gboolean
sf_text_job_init (const SfTextGenerator *gen, SfTextJob *job,
    const char *prompt, const char *prefix, const SfGenerationConfig *cfg,
    GError **error)
{
  SfModel *model = gen->model;
  SfEncodeOptions opts = SF_ENCODE_OPTIONS_DEFAULT;
  g_autofree char *text = NULL;
  g_autoptr (SfEncoding) enc = NULL;

  *job = (SfTextJob){ cfg ? cfg : &gen->defaults, NULL, NULL, NULL };
  if (prompt == NULL) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_INVALID, "%s: no prompt", model->name);
    return FALSE;
  }
  text = g_strconcat (
      prefix ? prefix : sf_text_generator_prefix (gen), prompt, NULL);
  enc = sf_tokenizer_encode (model->tokenizer, text, NULL, &opts, error);
  if (enc == NULL)
    return FALSE;
  if (enc->n == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: the prompt has no tokens", model->name);
    return FALSE;
  }
  if (gen->enc_dec && job->cfg->decoder_start_token_id < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: config.json: no decoder_start_token_id", model->name);
    return FALSE;
  }
  job->result = g_new0 (SfTextGeneration, 1);
  job->result->prompt_ids =
      g_array_sized_new (FALSE, FALSE, sizeof (gint32), enc->n);
  g_array_append_vals (job->result->prompt_ids, enc->ids, enc->n);
  job->start = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (gen->enc_dec) {
    job->source = ids_tensor (enc);
    g_array_append_val (job->start, job->cfg->decoder_start_token_id);
  } else {
    for (guint i = 0; i < enc->n; i++) {
      gint64 id = enc->ids[i];

      g_array_append_val (job->start, id);
    }
  }
  return TRUE;
}

SfDecoder *
sf_text_job_decoder (
    const SfTextGenerator *gen, const SfTextJob *job, GError **error)
{
  const SfGenerationConfig *cfg = job->cfg;
  guint rows = MAX (1u, cfg->num_beams)
      * MAX (1u, cfg->do_sample ? cfg->num_return_sequences : 1u);

  return sf_model_decoder_new (gen->model, job->source, rows, error);
}

void
sf_text_job_finish (const SfTextGenerator *gen, SfTextJob *job, GArray *ids)
{
  g_autofree gint32 *ids32 = g_new (gint32, MAX (1u, ids->len));

  job->result->ids = g_array_ref (ids);
  for (guint i = 0; i < ids->len; i++)
    ids32[i] = (gint32)g_array_index (ids, gint64, i);
  job->result->text =
      sf_tokenizer_decode (gen->model->tokenizer, ids32, ids->len, TRUE);
}

gboolean
sf_text_job_run (const SfTextGenerator *gen, SfTextJob *job,
    SfTextPieceFunc on_piece, gpointer user_data, GError **error)
{
  SfModel *model = gen->model;
  Stream stream = { model->tokenizer, NULL, 0, on_piece, user_data };
  SfDecoder *decoder;
  GPtrArray *seqs;

  decoder = sf_text_job_decoder (gen, job, error);
  if (decoder == NULL)
    return FALSE;
  if (on_piece != NULL)
    stream.ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  seqs = sf_generate (decoder, job->cfg, (const gint64 *)job->start->data,
      job->start->len, on_piece ? stream_token : NULL, &stream, error);
  sf_decoder_free (decoder);
  if (seqs == NULL || seqs->len == 0) {
    if (stream.ids)
      g_array_unref (stream.ids);
    if (seqs != NULL) {
      sf_generated_array_free (seqs);
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: generation gave no sequence", model->name);
    }
    return FALSE;
  }
  /* the best sequence */
  sf_text_job_finish (gen, job, ((SfGenerated *)seqs->pdata[0])->ids);
  sf_generated_array_free (seqs);
  if (on_piece != NULL) {
    /* beam search reports nothing while it runs: the whole text now */
    stream_emit (&stream, job->result->text, TRUE);
    g_array_unref (stream.ids);
  }
  return TRUE;
}

SfTextGeneration *
sf_text_generator_run (SfTextGenerator *gen, const char *prompt,
    const char *prefix, const SfGenerationConfig *cfg, SfTextPieceFunc on_piece,
    gpointer user_data, GError **error)
{
  SfTextJob job;
  SfTextGeneration *result;

  if (!sf_text_job_init (gen, &job, prompt, prefix, cfg, error))
    return NULL;
  if (!sf_text_job_run (gen, &job, on_piece, user_data, error)) {
    sf_text_job_clear (&job);
    return NULL;
  }
  result = g_steal_pointer (&job.result);
  sf_text_job_clear (&job);
  return result;
}
