/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: JSON configuration files through cJSON. */
#include "core/io/config.h"
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <string.h>

struct SfConfig
{
  char *origin; /* file path or caller-given name */
  cJSON *root;
};

/* Line and column of a byte offset, for parse errors. */
static void
locate (const char *text, gsize offset, int *line, int *col)
{
  *line = 1;
  *col = 1;
  for (gsize i = 0; i < offset && text[i]; i++) {
    if (text[i] == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

SfConfig *
sf_config_new_from_string (const char *json, const char *origin, GError **error)
{
  SfConfig *config;
  const char *end = NULL;
  cJSON *root;

  root = cJSON_ParseWithOpts (json, &end, TRUE);
  if (root == NULL) {
    int line, col;
    const char *where = cJSON_GetErrorPtr ();
    locate (json, where ? (gsize)(where - json) : 0, &line, &col);
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: invalid JSON at line %d, column %d", origin, line, col);
    return NULL;
  }
  if (!cJSON_IsObject (root)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: the top level is not a JSON object", origin);
    cJSON_Delete (root);
    return NULL;
  }
  config = g_new0 (SfConfig, 1);
  config->origin = g_strdup (origin);
  config->root = root;
  return config;
}

SfConfig *
sf_config_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  GError *local = NULL;

  if (!g_file_get_contents (path, &text, &len, &local)) {
    g_set_error (error, SF_ERROR,
        g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
            ? SF_ERROR_MISSING
            : SF_ERROR_IO,
        "%s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }
  if (strlen (text) != len) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: contains a NUL byte; not a JSON text file", path);
    return NULL;
  }
  return sf_config_new_from_string (text, path, error);
}

void
sf_config_free (SfConfig *config)
{
  if (config == NULL)
    return;
  cJSON_Delete (config->root);
  g_free (config->origin);
  g_free (config);
}

const char *
sf_config_origin (const SfConfig *config)
{
  return config->origin;
}

const cJSON *
sf_config_root (const SfConfig *config)
{
  return config->root;
}

const cJSON *
sf_config_get (const SfConfig *config, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (config->root, key);
  return cJSON_IsNull (item) ? NULL : item;
}

gboolean
sf_config_has (const SfConfig *config, const char *key)
{
  return sf_config_get (config, key) != NULL;
}

static gboolean
missing (const SfConfig *config, const char *key, GError **error)
{
  g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
      "%s: required field '%s' is missing", config->origin, key);
  return FALSE;
}

static gboolean
wrong_type (const SfConfig *config, const char *key, const char *expected,
    GError **error)
{
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID, "%s: field '%s' must be %s",
      config->origin, key, expected);
  return FALSE;
}

static gboolean
read_int (const SfConfig *config, const char *key, const cJSON *item,
    gint64 *out, GError **error)
{
  double v;

  if (!cJSON_IsNumber (item))
    return wrong_type (config, key, "an integer", error);
  v = item->valuedouble;
  if (v != floor (v) || fabs (v) > 9.0e15)
    return wrong_type (config, key, "an integer", error);
  *out = (gint64)v;
  return TRUE;
}

gboolean
sf_config_int (
    const SfConfig *config, const char *key, gint64 *out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  return item ? read_int (config, key, item, out, error)
              : missing (config, key, error);
}

gboolean
sf_config_int_or (const SfConfig *config, const char *key, gint64 def,
    gint64 *out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  if (item == NULL) {
    *out = def;
    return TRUE;
  }
  return read_int (config, key, item, out, error);
}

gboolean
sf_config_int_min (const SfConfig *config, const char *key, gint64 min,
    gint64 *out, GError **error)
{
  if (!sf_config_int (config, key, out, error))
    return FALSE;
  if (*out < min) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' is %" G_GINT64_FORMAT
        ", but must be at least %" G_GINT64_FORMAT,
        config->origin, key, *out, min);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_double (const SfConfig *config, const char *key, const cJSON *item,
    double *out, GError **error)
{
  if (!cJSON_IsNumber (item) || !isfinite (item->valuedouble))
    return wrong_type (config, key, "a finite number", error);
  *out = item->valuedouble;
  return TRUE;
}

gboolean
sf_config_double (
    const SfConfig *config, const char *key, double *out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  return item ? read_double (config, key, item, out, error)
              : missing (config, key, error);
}

gboolean
sf_config_double_or (const SfConfig *config, const char *key, double def,
    double *out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  if (item == NULL) {
    *out = def;
    return TRUE;
  }
  return read_double (config, key, item, out, error);
}

gboolean
sf_config_eps_or (const SfConfig *config, const char *key, double def,
    double *out, GError **error)
{
  if (!sf_config_double_or (config, key, def, out, error))
    return FALSE;
  /* the norm ops take a float and refuse a negative one: a bad value here
   * would skip the normalisation instead of failing */
  if (!(*out >= 0.0 && *out <= FLT_MAX)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' is %g, but must be a finite number >= 0",
        config->origin, key, *out);
    return FALSE;
  }
  return TRUE;
}

gboolean
sf_config_bool_or (const SfConfig *config, const char *key, gboolean def,
    gboolean *out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  if (item == NULL) {
    *out = def;
    return TRUE;
  }
  if (!cJSON_IsBool (item))
    return wrong_type (config, key, "true or false", error);
  *out = cJSON_IsTrue (item);
  return TRUE;
}

static gboolean
read_string (const SfConfig *config, const char *key, const cJSON *item,
    const char **out, GError **error)
{
  if (!cJSON_IsString (item))
    return wrong_type (config, key, "a string", error);
  *out = item->valuestring;
  return TRUE;
}

gboolean
sf_config_string (
    const SfConfig *config, const char *key, const char **out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  return item ? read_string (config, key, item, out, error)
              : missing (config, key, error);
}

gboolean
sf_config_string_or (const SfConfig *config, const char *key, const char *def,
    const char **out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  if (item == NULL) {
    *out = def;
    return TRUE;
  }
  return read_string (config, key, item, out, error);
}

SfConfig *
sf_config_get_object (const SfConfig *config, const char *key, GError **error)
{
  const cJSON *item = sf_config_get (config, key);
  SfConfig *sub;

  if (item != NULL && !cJSON_IsObject (item)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be an object", config->origin, key);
    return NULL;
  }
  sub = g_new0 (SfConfig, 1);
  sub->origin = g_strdup_printf ("%s (%s)", config->origin, key);
  sub->root = item ? cJSON_Duplicate (item, TRUE) : cJSON_CreateObject ();
  return sub;
}
