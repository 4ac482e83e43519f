/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: Whisper generation and text.
 *
 * Mirrors WhisperForConditionalGeneration.generate for short-form audio
 * (one window of at most chunk_length seconds), through sf_generate() with
 * the checkpoint's strategy (greedy unless generation_config.json names
 * beams or sampling) and Whisper's decoder (whisper-decoder.c):
 *   - the prompt is decoder_start_token_id followed by forced_decoder_ids
 *     (language, task, <|notimestamps|>); a language the config leaves open
 *     is detected from the first step's language-token logits; transcribe
 *     is the default task of multilingual checkpoints; <|notimestamps|> is
 *     appended unless timestamps are asked for, and dropped when they are;
 *   - suppress_tokens never appear, begin_suppress_tokens not first;
 *   - with timestamps, WhisperTimeStampLogitsProcessor's rules: timestamps
 *     come in pairs and never go back, the first token is a timestamp (at
 *     most max_initial_timestamp_index), and a timestamp is forced when
 *     the timestamps together are likelier than any text token;
 *   - generation stops after eos_token_id or at max_length tokens in all.
 * generation_config.json takes precedence over config.json's fields.
 */
#include "graphs/families/whisper.h"
#include "graphs/families/whisper-private.h"
#include "core/error.h"
#include "core/io/json-number.h"

#include <math.h>
#include <string.h>

#define WHISPER_TIME_PRECISION 0.02 /* seconds per timestamp token */

void
sf_whisper_generation_clear (WhisperGeneration *gen)
{
  g_clear_pointer (&gen->forced, g_array_unref);
  g_clear_pointer (&gen->suppress, g_array_unref);
  g_clear_pointer (&gen->begin_suppress, g_array_unref);
  g_clear_pointer (&gen->lang_ids, g_array_unref);
  g_clear_pointer (&gen->task_names, g_ptr_array_unref);
  g_clear_pointer (&gen->task_ids, g_array_unref);
  sf_generation_config_clear (&gen->common);
}

/* An integer field, or the first of a list (eos_token_id may be either). */
static gboolean
read_id (const SfConfig *cfg, const char *key, gint64 vocab, gint64 *out,
    GError **error)
{
  const cJSON *item = sf_config_get (cfg, key);

  if (item == NULL)
    return TRUE;
  if (cJSON_IsArray (item))
    item = cJSON_GetArrayItem (item, 0);
  if (!sf_json_integer (item, 0, vocab - 1, out)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be a token id in [0, %" G_GINT64_FORMAT ")",
        sf_config_origin (cfg), key, vocab);
    return FALSE;
  }
  return TRUE;
}

/* A list of token ids; ids outside the vocabulary can never be generated,
 * so they are dropped. */
static gboolean
read_id_list (const SfConfig *cfg, const char *key, gint64 vocab, GArray *out,
    GError **error)
{
  const cJSON *list = sf_config_get (cfg, key), *item;

  if (list == NULL)
    return TRUE;
  if (!cJSON_IsArray (list)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be a list of token ids", sf_config_origin (cfg),
        key);
    return FALSE;
  }
  g_array_set_size (out, 0);
  cJSON_ArrayForEach (item, list) {
    gint64 id;
    if (!cJSON_IsNumber (item)) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: field '%s' must be a list of token ids", sf_config_origin (cfg),
          key);
      return FALSE;
    }
    if (sf_json_integer (item, 0, vocab - 1, &id))
      g_array_append_val (out, id);
  }
  return TRUE;
}

/* [[1, id], [2, id], …]: the ids of prompt positions 1, 2, …; null (-1)
 * leaves the language to detection. */
static gboolean
read_forced (const SfConfig *cfg, gint64 vocab, GArray *out, GError **error)
{
  const cJSON *list = sf_config_get (cfg, "forced_decoder_ids"), *pair;
  gint64 pos = 1;

  if (list == NULL)
    return TRUE;
  g_array_set_size (out, 0);
  if (!cJSON_IsArray (list))
    goto bad;
  cJSON_ArrayForEach (pair, list) {
    const cJSON *p = cJSON_GetArrayItem (pair, 0);
    const cJSON *id = cJSON_GetArrayItem (pair, 1);
    gint64 v = -1, at;
    if (!cJSON_IsArray (pair) || cJSON_GetArraySize (pair) != 2
        || !cJSON_IsNumber (p))
      goto bad;
    if (!sf_json_integer (p, pos, pos, &at))
      break; /* only the leading run forms the prompt */
    if (cJSON_IsNumber (id)) {
      if (!sf_json_integer (id, -1, vocab - 1, &v))
        goto bad;
    } else if (!cJSON_IsNull (id))
      goto bad;
    g_array_append_val (out, v);
    pos++;
  }
  return TRUE;

bad:
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field 'forced_decoder_ids' must be a list of [position, token id]",
      sf_config_origin (cfg));
  return FALSE;
}

static gboolean
read_token_map (const SfConfig *cfg, const char *key, gint64 vocab,
    GPtrArray *names, GArray *ids, GError **error)
{
  const cJSON *map = sf_config_get (cfg, key), *item;

  if (map == NULL)
    return TRUE;
  if (!cJSON_IsObject (map))
    goto bad;
  cJSON_ArrayForEach (item, map) {
    gint64 id;
    if (!sf_json_integer (item, 0, vocab - 1, &id))
      goto bad;
    g_array_append_val (ids, id);
    if (names)
      g_ptr_array_add (names, g_strdup (item->string));
  }
  return TRUE;

bad:
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field '%s' must map tokens to ids in [0, %" G_GINT64_FORMAT ")",
      sf_config_origin (cfg), key, vocab);
  return FALSE;
}

static gboolean
read_generation (
    WhisperGeneration *gen, const SfConfig *cfg, gint64 vocab, GError **error)
{
  return read_id (
             cfg, "decoder_start_token_id", vocab, &gen->decoder_start, error)
      && read_id (cfg, "eos_token_id", vocab, &gen->eos, error)
      && read_id (
          cfg, "no_timestamps_token_id", vocab, &gen->no_timestamps, error)
      && sf_config_int_or (
          cfg, "max_length", gen->max_length, &gen->max_length, error)
      && sf_config_int_or (cfg, "max_initial_timestamp_index",
          gen->max_initial_timestamp, &gen->max_initial_timestamp, error)
      && read_forced (cfg, vocab, gen->forced, error)
      && read_id_list (cfg, "suppress_tokens", vocab, gen->suppress, error)
      && read_id_list (
          cfg, "begin_suppress_tokens", vocab, gen->begin_suppress, error);
}

gboolean
sf_whisper_generation_load (WhisperGraph *g, SfCheckpoint *ckpt, GError **error)
{
  WhisperGeneration *gen = &g->gen;
  gint64 vocab = g->sizes[WHISPER_SZ_VOCAB];
  g_autofree char *path = sf_checkpoint_file (ckpt, "generation_config.json");
  g_autoptr (SfConfig) gcfg = NULL;
  const SfConfig *cfg = sf_checkpoint_config (ckpt);
  SfTokenizer *tok = g->model->tokenizer;

  gen->decoder_start = gen->eos = gen->no_timestamps = -1;
  gen->max_length = g->sizes[WHISPER_SZ_TGT_POS];
  gen->max_initial_timestamp = -1;
  gen->forced = g_array_new (FALSE, FALSE, sizeof (gint64));
  gen->suppress = g_array_new (FALSE, FALSE, sizeof (gint64));
  gen->begin_suppress = g_array_new (FALSE, FALSE, sizeof (gint64));
  gen->lang_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  gen->task_names = g_ptr_array_new_with_free_func (g_free);
  gen->task_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  sf_generation_config_init (&gen->common);

  /* config.json first, then generation_config.json over it */
  if (!read_generation (gen, cfg, vocab, error))
    return FALSE;
  if (path != NULL) {
    if ((gcfg = sf_config_load (path, error)) == NULL
        || !read_generation (gen, gcfg, vocab, error)
        || !read_token_map (
            gcfg, "lang_to_id", vocab, NULL, gen->lang_ids, error)
        || !read_token_map (
            gcfg, "task_to_id", vocab, gen->task_names, gen->task_ids, error))
      return FALSE;
  }
  if (gen->decoder_start < 0 || gen->eos < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: decoder_start_token_id and eos_token_id are needed (in "
        "generation_config.json or config.json)",
        sf_config_origin (cfg));
    return FALSE;
  }
  gen->max_length = CLAMP (gen->max_length, 1, g->sizes[WHISPER_SZ_TGT_POS]);
  /* beams, length_penalty, sampling: the loop every decoder shares */
  if (!sf_generation_config_load (&gen->common, ckpt, error))
    return FALSE;
  gen->has_timestamps = gen->no_timestamps >= 0 && tok != NULL
      && g_strcmp0 (
             sf_tokenizer_id_to_token (tok, gen->no_timestamps + 1), "<|0.00|>")
          == 0;
  return TRUE;
}

gboolean
sf_whisper_has_timestamps (SfModel *model)
{
  WhisperGraph *g;
  return sf_whisper_graph_check (model, &g, NULL) && g->gen.has_timestamps;
}

static gboolean
contains (const GArray *ids, gint64 id)
{
  for (guint i = 0; ids && i < ids->len; i++)
    if (g_array_index (ids, gint64, i) == id)
      return TRUE;
  return FALSE;
}

/* "en", "<|en|>" or a task name → its token id, or -1. */
static gint64
lookup_language (const WhisperGraph *g, const char *lang)
{
  g_autofree char *token = g_str_has_prefix (lang, "<|")
      ? g_strdup (lang)
      : g_strdup_printf ("<|%s|>", lang);
  SfTokenizer *tok = g->model->tokenizer;
  gint64 id = tok ? sf_tokenizer_token_to_id (tok, token) : -1;
  return contains (g->gen.lang_ids, id) || g->gen.lang_ids->len == 0 ? id : -1;
}

static gint64
lookup_task (const WhisperGraph *g, const char *task)
{
  for (guint i = 0; i < g->gen.task_names->len; i++)
    if (g_strcmp0 (g->gen.task_names->pdata[i], task) == 0)
      return g_array_index (g->gen.task_ids, gint64, i);
  return -1;
}

/* Puts @id in place of the prompt's token from @group, or inserts it at
 * @pos when none is there. */
static void
replace_or_insert (GArray *prompt, const GArray *group, gint64 id, guint pos)
{
  for (guint i = 1; i < prompt->len; i++) {
    if (contains (group, g_array_index (prompt, gint64, i))) {
      g_array_index (prompt, gint64, i) = id;
      return;
    }
  }
  g_array_insert_val (prompt, MIN (pos, prompt->len), id);
}

/* The language token from the logits at the start token. */
static gint64
detect_language (const WhisperGraph *g, const SfTensor *enc, GError **error)
{
  g_autoptr (SfWhisperState) st = NULL;
  g_autoptr (SfTensor) logits = NULL;
  const float *x;
  gint64 best = -1;

  st = sf_whisper_state_new (g->model, enc, 1, error);
  if (st == NULL)
    return -1;
  logits =
      sf_whisper_state_step (st, &g->gen.decoder_start, 1, FALSE, NULL, error);
  if (logits == NULL)
    return -1;
  x = sf_tensor_f32 (logits);
  for (guint i = 0; i < g->gen.lang_ids->len; i++) {
    gint64 id = g_array_index (g->gen.lang_ids, gint64, i);
    if (best < 0 || x[id] > x[best])
      best = id;
  }
  return best;
}

static gboolean
build_prompt (const WhisperGraph *g, const SfWhisperOptions *o,
    const SfTensor *enc, GArray *prompt, GError **error)
{
  const WhisperGeneration *gen = &g->gen;
  gboolean lang_open;

  g_array_append_val (prompt, gen->decoder_start);
  g_array_append_vals (prompt, gen->forced->data, gen->forced->len);
  lang_open = prompt->len < 2 || g_array_index (prompt, gint64, 1) < 0;

  if (o->language != NULL) {
    gint64 id = lookup_language (g, o->language);
    if (id < 0) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: language '%s' is not in this model's vocabulary",
          sf_model_name (g->model), o->language);
      return FALSE;
    }
    if (lang_open && prompt->len >= 2)
      g_array_index (prompt, gint64, 1) = id;
    else
      replace_or_insert (prompt, gen->lang_ids, id, 1);
  } else if (lang_open && gen->lang_ids->len > 0) {
    gint64 id = detect_language (g, enc, error);
    if (id < 0)
      return FALSE;
    if (prompt->len >= 2)
      g_array_index (prompt, gint64, 1) = id;
    else
      g_array_insert_val (prompt, 1, id);
  }

  if (o->task != NULL) {
    gint64 id = lookup_task (g, o->task);
    if (id < 0) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: task '%s' is not in generation_config.json's task_to_id",
          sf_model_name (g->model), o->task);
      return FALSE;
    }
    replace_or_insert (prompt, gen->task_ids, id, 2);
  } else if (gen->lang_ids->len > 0 && gen->task_ids->len > 0) {
    gboolean has_task = FALSE;
    gint64 transcribe = lookup_task (g, "transcribe");
    for (guint i = 0; i < prompt->len; i++)
      has_task |= contains (gen->task_ids, g_array_index (prompt, gint64, i));
    if (!has_task && transcribe >= 0)
      g_array_insert_val (prompt, MIN (2, prompt->len), transcribe);
  }

  /* drop still-open slots, then settle <|notimestamps|> */
  for (guint i = prompt->len; i-- > 0;)
    if (g_array_index (prompt, gint64, i) < 0)
      g_array_remove_index (prompt, i);
  if (gen->no_timestamps >= 0) {
    gboolean last_is =
        g_array_index (prompt, gint64, prompt->len - 1) == gen->no_timestamps;
    if (!o->timestamps && !last_is)
      g_array_append_val (prompt, gen->no_timestamps);
    else if (o->timestamps && last_is)
      g_array_set_size (prompt, prompt->len - 1);
  }
  return TRUE;
}

void
sf_whisper_run_clear (WhisperRun *run)
{
  g_clear_pointer (&run->prompt, g_array_unref);
  g_clear_pointer (&run->dec, sf_decoder_free);
  if (run->has_cfg)
    sf_generation_config_clear (&run->cfg);
  run->has_cfg = FALSE;
}

gboolean
sf_whisper_run_init (SfModel *model, const SfTensor *enc,
    const SfWhisperOptions *options, WhisperRun *run, GError **error)
{
  SfWhisperOptions defaults = SF_WHISPER_OPTIONS_DEFAULT;
  const SfWhisperOptions *o = options ? options : &defaults;
  WhisperGraph *g;
  g_autoptr (SfTensor) enc3 = NULL; /* [1, S, D] */
  SfGenerationConfig *cfg = &run->cfg;
  gint64 limit;

  *run = (WhisperRun){ 0 };
  if (!sf_whisper_graph_check (model, &g, error))
    return FALSE;
  if (o->timestamps && !g->gen.has_timestamps) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: the vocabulary has no timestamp tokens (<|0.00|> after "
        "no_timestamps_token_id)",
        sf_model_name (model));
    return FALSE;
  }
  if (enc == NULL || (enc->ndim == 3 && enc->shape[0] != 1)
      || (enc->ndim != 2 && enc->ndim != 3)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "Whisper generation takes one encoder output, [S, D] or [1, S, D]");
    return FALSE;
  }
  enc3 = enc->ndim == 3 ? sf_tensor_ref ((SfTensor *)enc)
                        : sf_tensor_reshape ((SfTensor *)enc, 3,
                            (gint64[]){ 1, enc->shape[0], enc->shape[1] });

  limit = g->gen.max_length;
  run->prompt = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (!build_prompt (g, o, enc3, run->prompt, error))
    goto failed;
  if ((gint64)run->prompt->len >= limit) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: the %u-token prompt leaves no room under max_length "
        "%" G_GINT64_FORMAT,
        sf_model_name (model), run->prompt->len, limit);
    goto failed;
  }
  if (o->max_new_tokens > 0)
    limit = MIN (limit, (gint64)run->prompt->len + o->max_new_tokens);

  /* the checkpoint's strategy (greedy unless it names beams or sampling),
   * with Whisper's own end token and limit */
  *cfg = g->gen.common;
  run->has_cfg = TRUE;
  if (o->num_beams > 0) {
    cfg->num_beams = o->num_beams;
    cfg->num_return_sequences = 1;
    cfg->do_sample = FALSE;
  }
  cfg->eos_token_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_array_append_val (cfg->eos_token_ids, g->gen.eos);
  cfg->max_length = limit;
  cfg->max_new_tokens = -1;
  run->dec = sf_whisper_decoder_new (g, enc3,
      MAX (cfg->num_beams, cfg->do_sample ? cfg->num_return_sequences : 1),
      error);
  if (run->dec == NULL)
    goto failed;
  sf_whisper_decoder_set_timestamps (run->dec, o->timestamps);
  return TRUE;

failed:
  sf_whisper_run_clear (run);
  return FALSE;
}

gboolean
sf_whisper_generate (SfModel *model, const SfTensor *enc,
    const SfWhisperOptions *options, GArray *ids, GError **error)
{
  WhisperRun run;
  GPtrArray *out;

  g_return_val_if_fail (ids != NULL, FALSE);
  if (!sf_whisper_run_init (model, enc, options, &run, error))
    return FALSE;
  out = sf_generate (run.dec, &run.cfg, (gint64 *)run.prompt->data,
      run.prompt->len, NULL, NULL, error);
  if (out != NULL) {
    g_array_append_vals (ids, run.prompt->data, run.prompt->len);
    g_array_append_vals (ids, ((SfGenerated *)out->pdata[0])->ids->data,
        ((SfGenerated *)out->pdata[0])->ids->len);
    sf_generated_array_free (out);
  }
  sf_whisper_run_clear (&run);
  return out != NULL;
}

/* Text tokens only: no special or timestamp tokens. */
static char *
decode_range (const WhisperGraph *g, const gint64 *ids, guint n)
{
  SfTokenizer *tok = g->model->tokenizer;
  g_autofree gint32 *ids32 = g_new (gint32, MAX (n, 1));
  guint m = 0;

  for (guint i = 0; i < n; i++)
    if (!(g->gen.has_timestamps && ids[i] > g->gen.no_timestamps))
      ids32[m++] = (gint32)ids[i];
  return sf_tokenizer_decode (tok, ids32, m, TRUE);
}

char *
sf_whisper_decode_text (
    SfModel *model, const gint64 *ids, guint n, GError **error)
{
  WhisperGraph *g;

  if (!sf_whisper_graph_check (model, &g, error))
    return NULL;
  if (model->tokenizer == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no tokenizer (tokenizer.json, or vocab.json with merges.txt) to "
        "turn Whisper's ids into text",
        sf_model_dir (model));
    return NULL;
  }
  return decode_range (g, ids, n);
}

static void
segment_clear (gpointer data)
{
  g_free (((SfWhisperSegment *)data)->text);
}

GArray *
sf_whisper_segment_array_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (SfWhisperSegment));
  g_array_set_clear_func (a, segment_clear);
  return a;
}

static void
add_segment (GArray *segments, double start, double end, char *text)
{
  SfWhisperSegment s = { start, end, text };
  g_array_append_val (segments, s);
}

gboolean
sf_whisper_segments (SfModel *model, const gint64 *ids, guint n,
    double duration, GArray *segments, GError **error)
{
  WhisperGraph *g;
  gint64 ts0;
  guint text_from = 0;
  double start = 0.0;
  gboolean open = FALSE;

  if (!sf_whisper_graph_check (model, &g, error))
    return FALSE;
  if (model->tokenizer == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no tokenizer (tokenizer.json, or vocab.json with merges.txt) to "
        "turn Whisper's ids into text",
        sf_model_dir (model));
    return FALSE;
  }
  if (!g->gen.has_timestamps) {
    add_segment (segments, 0.0, duration, decode_range (g, ids, n));
    return TRUE;
  }
  ts0 = g->gen.no_timestamps + 1;
  for (guint i = 0; i < n; i++) {
    double t;
    if (ids[i] < ts0)
      continue;
    t = (ids[i] - ts0) * WHISPER_TIME_PRECISION;
    if (open) {
      if (i > text_from)
        add_segment (segments, start, t,
            decode_range (g, ids + text_from, i - text_from));
      open = FALSE;
    } else {
      start = t;
      open = TRUE;
    }
    text_from = i + 1;
  }
  /* text after the last timestamp runs to the end of the window */
  if (text_from < n) {
    g_autofree char *rest = decode_range (g, ids + text_from, n - text_from);
    if (rest[0] != '\0')
      add_segment (segments, open ? start : 0.0, MAX (duration, start),
          g_steal_pointer (&rest));
  }
  return TRUE;
}
