/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the decoding parameters of a checkpoint.
 *
 * Mirrors transformers' GenerationConfig: its defaults, read from
 * generation_config.json when the folder has one, else from the same
 * fields of config.json (GenerationConfig.from_model_config). Every field
 * is range-checked as GenerationConfig.validate() does, with errors that
 * name the file and the field; temperature 0 loads (transformers only
 * warns while do_sample is off) and is refused when sampling.
 */
#include "graphs/generate.h"
#include "core/error.h"

#include <math.h>

void
sf_generation_config_init (SfGenerationConfig *cfg)
{
  g_return_if_fail (cfg != NULL);
  *cfg = (SfGenerationConfig){
    .max_length = 20,
    .max_new_tokens = -1,
    .min_length = 0,
    .min_new_tokens = -1,
    .num_beams = 1,
    .num_return_sequences = 1,
    .length_penalty = 1.0f,
    .early_stopping = 0,
    .no_repeat_ngram_size = 0,
    .repetition_penalty = 1.0f,
    .do_sample = FALSE,
    .temperature = 1.0f,
    .top_k = 50,
    .top_p = 1.0f,
    .seed = 0,
    .bos_token_id = -1,
    .eos_token_ids = g_array_new (FALSE, FALSE, sizeof (gint64)),
    .pad_token_id = -1,
    .decoder_start_token_id = -1,
    .forced_bos_token_id = -1,
    .forced_eos_token_id = -1,
  };
}

void
sf_generation_config_clear (SfGenerationConfig *cfg)
{
  if (cfg == NULL)
    return;
  g_clear_pointer (&cfg->eos_token_ids, g_array_unref);
}

static gboolean
bad_field (
    const SfConfig *src, const char *key, const char *what, GError **error)
{
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID, "%s: field '%s' must be %s",
      sf_config_origin (src), key, what);
  return FALSE;
}

/* An integer ≥ @min; absent or null keeps *out. */
static gboolean
read_int (const SfConfig *src, const char *key, gint64 min, gint64 *out,
    GError **error)
{
  gint64 v;

  if (sf_config_get (src, key) == NULL)
    return TRUE;
  if (!sf_config_int_or (src, key, *out, &v, error))
    return FALSE;
  if (v < min) {
    g_autofree char *what =
        g_strdup_printf ("an integer of at least %" G_GINT64_FORMAT, min);
    return bad_field (src, key, what, error);
  }
  *out = v;
  return TRUE;
}

static gboolean
read_uint (const SfConfig *src, const char *key, gint64 min, guint *out,
    GError **error)
{
  gint64 v = *out;

  if (!read_int (src, key, min, &v, error))
    return FALSE;
  if (v > G_MAXINT32)
    return bad_field (src, key, "an integer below 2^31", error);
  *out = (guint)v;
  return TRUE;
}

/* A finite number; @positive: strictly above 0. */
static gboolean
read_float (const SfConfig *src, const char *key, gboolean positive, float *out,
    GError **error)
{
  double v;

  if (sf_config_get (src, key) == NULL)
    return TRUE;
  if (!sf_config_double_or (src, key, *out, &v, error))
    return FALSE;
  if (!isfinite (v) || fabs (v) > G_MAXFLOAT || (positive && v <= 0))
    return bad_field (src, key,
        positive ? "a finite number above 0" : "a finite number", error);
  *out = (float)v;
  return TRUE;
}

/* A token id (≥ 0), or the first of a list of them. */
static gboolean
read_token (const SfConfig *src, const char *key, gint64 *out, GError **error)
{
  const cJSON *item = sf_config_get (src, key);

  if (item == NULL)
    return TRUE;
  if (cJSON_IsArray (item) && cJSON_GetArraySize (item) > 0)
    item = cJSON_GetArrayItem (item, 0);
  if (!cJSON_IsNumber (item) || item->valuedouble < 0
      || item->valuedouble > G_MAXINT32
      || item->valuedouble != floor (item->valuedouble))
    return bad_field (src, key, "a token id (an integer of at least 0)", error);
  *out = (gint64)item->valuedouble;
  return TRUE;
}

/* eos_token_id: one id or a list; any of them ends a sequence. */
static gboolean
read_eos (const SfConfig *src, GArray *out, GError **error)
{
  const cJSON *item = sf_config_get (src, "eos_token_id"), *one;
  const char *what = "a token id or a list of token ids";

  if (item == NULL)
    return TRUE;
  g_array_set_size (out, 0);
  if (cJSON_IsNumber (item)) {
    gint64 id = -1;
    if (!read_token (src, "eos_token_id", &id, error))
      return FALSE;
    g_array_append_val (out, id);
    return TRUE;
  }
  if (!cJSON_IsArray (item))
    return bad_field (src, "eos_token_id", what, error);
  cJSON_ArrayForEach (one, item) {
    gint64 id;
    if (!cJSON_IsNumber (one) || one->valuedouble < 0
        || one->valuedouble > G_MAXINT32
        || one->valuedouble != floor (one->valuedouble))
      return bad_field (src, "eos_token_id", what, error);
    id = (gint64)one->valuedouble;
    g_array_append_val (out, id);
  }
  return TRUE;
}

/* early_stopping: true, false or "never". */
static gboolean
read_early_stopping (const SfConfig *src, int *out, GError **error)
{
  const cJSON *item = sf_config_get (src, "early_stopping");

  if (item == NULL)
    return TRUE;
  if (cJSON_IsBool (item))
    *out = cJSON_IsTrue (item) ? 1 : 0;
  else if (cJSON_IsString (item) && g_strcmp0 (item->valuestring, "never") == 0)
    *out = -1;
  else
    return bad_field (src, "early_stopping", "true, false or \"never\"", error);
  return TRUE;
}

static gboolean
read_fields (SfGenerationConfig *cfg, const SfConfig *src, GError **error)
{
  gint64 top_k = cfg->top_k;
  double top_p;

  if (!read_int (src, "max_length", 1, &cfg->max_length, error)
      || !read_int (src, "max_new_tokens", 1, &cfg->max_new_tokens, error)
      || !read_int (src, "min_length", 0, &cfg->min_length, error)
      || !read_int (src, "min_new_tokens", 0, &cfg->min_new_tokens, error)
      || !read_uint (src, "num_beams", 1, &cfg->num_beams, error)
      || !read_uint (
          src, "num_return_sequences", 1, &cfg->num_return_sequences, error)
      || !read_float (src, "length_penalty", FALSE, &cfg->length_penalty, error)
      || !read_early_stopping (src, &cfg->early_stopping, error)
      || !read_uint (
          src, "no_repeat_ngram_size", 0, &cfg->no_repeat_ngram_size, error)
      || !read_float (
          src, "repetition_penalty", TRUE, &cfg->repetition_penalty, error)
      || !sf_config_bool_or (
          src, "do_sample", cfg->do_sample, &cfg->do_sample, error)
      || !read_float (src, "temperature", FALSE, &cfg->temperature, error)
      || !read_int (src, "top_k", 0, &top_k, error)
      || !read_token (src, "bos_token_id", &cfg->bos_token_id, error)
      || !read_eos (src, cfg->eos_token_ids, error)
      || !read_token (src, "pad_token_id", &cfg->pad_token_id, error)
      || !read_token (
          src, "decoder_start_token_id", &cfg->decoder_start_token_id, error)
      || !read_token (
          src, "forced_bos_token_id", &cfg->forced_bos_token_id, error)
      || !read_token (
          src, "forced_eos_token_id", &cfg->forced_eos_token_id, error))
    return FALSE;
  cfg->top_k = (gint)MIN (top_k, G_MAXINT32);
  if (cfg->temperature < 0)
    return bad_field (src, "temperature", "a number of at least 0", error);
  if (!sf_config_double_or (src, "top_p", cfg->top_p, &top_p, error))
    return FALSE;
  if (!(top_p >= 0.0 && top_p <= 1.0))
    return bad_field (src, "top_p", "a number in [0, 1]", error);
  cfg->top_p = (float)top_p;
  if (cfg->num_beams > 1 && cfg->num_return_sequences > cfg->num_beams) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'num_return_sequences' (%u) must not exceed num_beams "
        "(%u)",
        sf_config_origin (src), cfg->num_return_sequences, cfg->num_beams);
    return FALSE;
  }
  return TRUE;
}

gboolean
sf_generation_config_load (
    SfGenerationConfig *cfg, SfCheckpoint *ckpt, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (SfConfig) gcfg = NULL;

  g_return_val_if_fail (cfg != NULL && ckpt != NULL, FALSE);
  path = sf_checkpoint_file (ckpt, "generation_config.json");
  if (path == NULL)
    return read_fields (cfg, sf_checkpoint_config (ckpt), error);
  gcfg = sf_config_load (path, error);
  return gcfg != NULL && read_fields (cfg, gcfg, error);
}
