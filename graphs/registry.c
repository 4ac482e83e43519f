/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: which family runs a checkpoint.
 *
 * config.json's `model_type` selects the family; `architectures[0]` then
 * selects the head inside it (each family checks its own list). */
#include "graphs/model-private.h"
#include "core/error.h"

extern const SfFamily sf_family_bert;
extern const SfFamily sf_family_roberta;
extern const SfFamily sf_family_distilbert;
extern const SfFamily sf_family_vit;
extern const SfFamily sf_family_segformer;
extern const SfFamily sf_family_whisper;
extern const SfFamily sf_family_ast;
extern const SfFamily sf_family_wav2vec2;
extern const SfFamily sf_family_clip;
extern const SfFamily sf_family_gpt2;
extern const SfFamily sf_family_bart;
extern const SfFamily sf_family_t5;

static const SfFamily *const families[] = {
  &sf_family_bert,
  &sf_family_roberta,
  &sf_family_distilbert,
  &sf_family_vit,
  &sf_family_segformer,
  &sf_family_whisper,
  &sf_family_ast,
  &sf_family_wav2vec2,
  &sf_family_clip,
  &sf_family_gpt2,
  &sf_family_bart,
  &sf_family_t5,
  NULL,
};

const SfFamily *const *
sf_registry_families (void)
{
  return families;
}

static char *
supported_list (void)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; families[i]; i++)
    for (guint j = 0; families[i]->model_types[j]; j++)
      g_string_append_printf (
          s, "%s%s", s->len ? ", " : "", families[i]->model_types[j]);
  return g_string_free (s, FALSE);
}

const SfFamily *
sf_registry_lookup (
    const SfConfig *config, const char **architecture, GError **error)
{
  const cJSON *archs = sf_config_get (config, "architectures");
  const char *model_type = NULL;
  g_autofree char *known = NULL;

  *architecture = NULL;
  if (archs != NULL) {
    const cJSON *first = cJSON_GetArrayItem (archs, 0);
    if (!cJSON_IsArray (archs) || (first && !cJSON_IsString (first))) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "%s: field 'architectures' must be a list of strings",
          sf_config_origin (config));
      return NULL;
    }
    if (first)
      *architecture = first->valuestring;
  }
  if (!sf_config_string_or (config, "model_type", NULL, &model_type, error))
    return NULL;

  for (guint i = 0; families[i]; i++) {
    for (guint j = 0; families[i]->model_types[j]; j++) {
      if (g_strcmp0 (model_type, families[i]->model_types[j]) == 0)
        return families[i];
    }
  }
  known = supported_list ();
  if (model_type == NULL)
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: field 'model_type' is missing (supported model types: %s)",
        sf_config_origin (config), known);
  else
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: model_type '%s'%s%s%s is not supported (supported model types: "
        "%s)",
        sf_config_origin (config), model_type,
        *architecture ? " (architecture " : "",
        *architecture ? *architecture : "", *architecture ? ")" : "", known);
  return NULL;
}
