/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: helpers the image families (ViT, SegFormer, CLIP)
 * share: preprocessor loading, config pairs, input checks. */
#include "graphs/families/image-family.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

gboolean
sf_image_family_load_processor (
    SfModel *model, const char *default_json, GError **error)
{
  g_autofree char *path =
      sf_checkpoint_file (model->ckpt, "preprocessor_config.json");
  g_autoptr (SfConfig) cfg = NULL;

  if (path != NULL)
    cfg = sf_config_load (path, error);
  else
    cfg = sf_config_new_from_string (
        default_json, "default preprocessor_config.json", error);
  if (cfg == NULL)
    return FALSE;
  model->image_processor = sf_image_processor_new_from_config (cfg, error);
  return model->image_processor != NULL;
}

static gboolean
positive_int (const cJSON *item, gint64 min, gint64 *out)
{
  if (!cJSON_IsNumber (item) || item->valuedouble != floor (item->valuedouble)
      || item->valuedouble < min || item->valuedouble > 1e9)
    return FALSE;
  *out = (gint64)item->valuedouble;
  return TRUE;
}

gboolean
sf_image_family_read_pair (const SfConfig *config, const char *key, gint64 def,
    gint64 out[2], GError **error)
{
  const cJSON *item = sf_config_get (config, key);

  out[0] = out[1] = def;
  if (item == NULL)
    return TRUE;
  if (positive_int (item, 1, &out[0])) {
    out[1] = out[0];
    return TRUE;
  }
  if (cJSON_IsArray (item) && cJSON_GetArraySize (item) == 2
      && positive_int (cJSON_GetArrayItem (item, 0), 1, &out[0])
      && positive_int (cJSON_GetArrayItem (item, 1), 1, &out[1]))
    return TRUE;
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field '%s' must be a positive integer or a list of two",
      sf_config_origin (config), key);
  return FALSE;
}

gboolean
sf_image_family_read_ints (const SfConfig *config, const char *key, gint64 n,
    gint64 min, gint64 *out, GError **error)
{
  const cJSON *item = sf_config_get (config, key);

  if (item == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: required field '%s' is missing", sf_config_origin (config), key);
    return FALSE;
  }
  if (!cJSON_IsArray (item) || cJSON_GetArraySize (item) != n)
    goto bad;
  for (gint64 i = 0; i < n; i++)
    if (!positive_int (cJSON_GetArrayItem (item, (int)i), min, &out[i]))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field '%s' must be a list of %" G_GINT64_FORMAT
      " integers ≥ %" G_GINT64_FORMAT,
      sf_config_origin (config), key, n, min);
  return FALSE;
}

gboolean
sf_image_family_check_input (const SfTensor *px, gint64 channels, gint64 height,
    gint64 width, GError **error)
{
  SfShape item = { 0 };

  if (px == NULL || px->dtype != SF_DTYPE_F32 || px->ndim != 4
      || px->shape[0] < 1 || px->shape[1] != channels || px->shape[2] < 1
      || px->shape[3] < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "pixel_values must be F32 [batch, %" G_GINT64_FORMAT ", height, width]",
        channels);
    return FALSE;
  }
  sf_shape_set (&item, 3, px->shape[1], px->shape[2], px->shape[3]);
  return sf_image_family_check_shape (&item, channels, height, width, error);
}

gboolean
sf_image_family_check_shape (const SfShape *in, gint64 channels, gint64 height,
    gint64 width, GError **error)
{
  if (in->ndim != 3 || in->dims[0] != channels || in->dims[1] < 1
      || in->dims[2] < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "the model takes images of %" G_GINT64_FORMAT " channels", channels);
    return FALSE;
  }
  if (height > 0 && (in->dims[1] != height || in->dims[2] != width)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "pixel_values are %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
        " (HxW); the model takes %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
        in->dims[1], in->dims[2], height, width);
    return FALSE;
  }
  return TRUE;
}
