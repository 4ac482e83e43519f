/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: JSON configuration files (config.json,
 * tokenizer_config.json, preprocessor_config.json, …) through cJSON.
 *
 * Getters distinguish "absent" (use the default) from "present with the
 * wrong type or range" (a GError naming the file and the field).
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>

G_BEGIN_DECLS

typedef struct SfConfig SfConfig;

/* (transfer full) parses @path; a GError names the file and the position. */
SfConfig *sf_config_load (const char *path, GError **error);
/* (transfer full) parses @json; @origin names it in errors (e.g. a file name). */
SfConfig *sf_config_new_from_string (
    const char *json, const char *origin, GError **error);
void sf_config_free (SfConfig *config); /* accepts NULL */

const char *sf_config_origin (const SfConfig *config);
const cJSON *sf_config_root (const SfConfig *config);
/* A top-level field, or NULL (also when it is JSON null). */
const cJSON *sf_config_get (const SfConfig *config, const char *key);
gboolean sf_config_has (const SfConfig *config, const char *key);

/* Required fields: absent → SF_ERROR_MISSING. */
gboolean sf_config_int (
    const SfConfig *config, const char *key, gint64 *out, GError **error);
gboolean sf_config_double (
    const SfConfig *config, const char *key, double *out, GError **error);
gboolean sf_config_string (
    const SfConfig *config, const char *key, const char **out, GError **error);

/* Optional fields: absent or null → @def. */
gboolean sf_config_int_or (const SfConfig *config, const char *key, gint64 def,
    gint64 *out, GError **error);
gboolean sf_config_double_or (const SfConfig *config, const char *key,
    double def, double *out, GError **error);
gboolean sf_config_bool_or (const SfConfig *config, const char *key,
    gboolean def, gboolean *out, GError **error);
gboolean sf_config_string_or (const SfConfig *config, const char *key,
    const char *def, const char **out, GError **error);
/* A normalisation epsilon (layer_norm_eps, batch-norm eps, …): absent or
 * null → @def; otherwise a finite number ≥ 0 that a float can hold. */
gboolean sf_config_eps_or (const SfConfig *config, const char *key, double def,
    double *out, GError **error);
/* An integer ≥ @min (e.g. 1 for sizes); the error says which bound failed. */
gboolean sf_config_int_min (const SfConfig *config, const char *key, gint64 min,
    gint64 *out, GError **error);

/* (transfer full) the object field @key (e.g. CLIP's "text_config") as a
 * config of its own, whose errors name "ORIGIN (KEY)". Absent or null
 * gives an empty object, so every optional getter yields its default; a
 * field that is not an object is an error. */
SfConfig *sf_config_get_object (
    const SfConfig *config, const char *key, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfConfig, sf_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (cJSON, cJSON_Delete)

G_END_DECLS
