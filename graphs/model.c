/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: loading a model and its shared metadata. */
#include "graphs/model-private.h"
#include "core/audio/audio.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/image/image.h"
#include "core/io/resolve.h"
#include "core/ops/ops.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

gboolean
sf_model_match_architecture (SfModel *model, const SfArchitecture *table,
    guint n, gboolean *classifier, GError **error)
{
  g_autoptr (GString) known = g_string_new (NULL);

  *classifier = FALSE;
  if (model->architecture == NULL)
    return TRUE; /* bare model_type: the encoder alone */
  for (guint i = 0; i < n; i++) {
    if (g_strcmp0 (model->architecture, table[i].name) == 0) {
      *classifier = table[i].classifier;
      return TRUE;
    }
    g_string_append_printf (known, "%s%s", i ? ", " : "", table[i].name);
  }
  g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
      "%s: architectures '%s' is not supported for model_type '%s' "
      "(supported: %s)",
      sf_config_origin (sf_checkpoint_config (model->ckpt)),
      model->architecture, model->family->name, known->str);
  return FALSE;
}

gboolean
sf_model_read_activation (const SfConfig *config, const char *key,
    const char *fallback, SfActivation *act, GError **error)
{
  const char *name;

  if (!sf_config_string_or (config, key, fallback, &name, error))
    return FALSE;
  if (!sf_activation_from_name (name, act)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s '%s' is not supported", sf_config_origin (config), key, name);
    return FALSE;
  }
  return TRUE;
}

gboolean
sf_model_read_heads (const SfConfig *config, const char *key,
    const char *dim_key, gint64 dim, int *heads, GError **error)
{
  gint64 n;

  if (!sf_config_int_min (config, key, 1, &n, error))
    return FALSE;
  if (dim % n != 0 || n > G_MAXINT) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: %s %" G_GINT64_FORMAT " is not a multiple of %s %" G_GINT64_FORMAT,
        sf_config_origin (config), dim_key, dim, key, n);
    return FALSE;
  }
  *heads = (int)n;
  return TRUE;
}

/* id2label keys are decimal strings "0".."n-1"; num_labels may stand alone. */
gboolean
sf_model_read_labels (SfModel *model, const SfConfig *config, GError **error)
{
  const cJSON *id2label = sf_config_get (config, "id2label");
  const char *problem = NULL;
  gint64 n = 0;

  if (id2label != NULL && !cJSON_IsObject (id2label)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'id2label' must be an object", sf_config_origin (config));
    return FALSE;
  }
  n = id2label ? cJSON_GetArraySize (id2label) : 0;
  if (!sf_config_int_or (config, "num_labels", n ? n : 2, &n, error))
    return FALSE;
  if (n < 1 || n > 1000000
      || (id2label && cJSON_GetArraySize (id2label) != n)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: num_labels %" G_GINT64_FORMAT " disagrees with id2label or is "
        "out of range",
        sf_config_origin (config), n);
    return FALSE;
  }
  model->labels = g_ptr_array_new_full (n, g_free);
  for (gint64 i = 0; i < n; i++)
    g_ptr_array_add (model->labels, NULL);
  if (id2label) {
    const cJSON *item;
    cJSON_ArrayForEach (item, id2label) {
      char *end = NULL;
      gint64 id = g_ascii_strtoll (item->string, &end, 10);
      if (end == item->string || *end != '\0' || id < 0 || id >= n
          || !cJSON_IsString (item) || model->labels->pdata[id] != NULL) {
        g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
            "%s: id2label entry '%s' must map a unique id in [0, "
            "%" G_GINT64_FORMAT ") to a string",
            sf_config_origin (config), item->string, n);
        return FALSE;
      }
      model->labels->pdata[id] = g_strdup (item->valuestring);
    }
  }
  for (gint64 i = 0; i < n; i++)
    if (model->labels->pdata[i] == NULL)
      model->labels->pdata[i] = g_strdup_printf ("LABEL_%" G_GINT64_FORMAT, i);

  if (!sf_config_string_or (config, "problem_type", NULL, &problem, error))
    return FALSE;
  if (problem == NULL) /* as the HF pipelines decide */
    model->problem_type =
        n == 1 ? SF_PROBLEM_MULTI_LABEL : SF_PROBLEM_SINGLE_LABEL;
  else if (strcmp (problem, "single_label_classification") == 0)
    model->problem_type = SF_PROBLEM_SINGLE_LABEL;
  else if (strcmp (problem, "multi_label_classification") == 0)
    model->problem_type = SF_PROBLEM_MULTI_LABEL;
  else if (strcmp (problem, "regression") == 0)
    model->problem_type = SF_PROBLEM_REGRESSION;
  else {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: problem_type '%s' is not supported", sf_config_origin (config),
        problem);
    return FALSE;
  }
  return TRUE;
}

/* sentence-transformers folders: modules.json lists a Pooling module (its
 * config says cls or mean) and optionally a Normalize module. */
static gboolean
read_sentence_transformers (SfModel *model, GError **error)
{
  g_autofree char *modules_path =
      sf_checkpoint_file (model->ckpt, "modules.json");
  g_autofree char *text = NULL;
  g_autoptr (cJSON) modules = NULL;
  const cJSON *m;

  if (modules_path == NULL)
    return TRUE;
  if (!g_file_get_contents (modules_path, &text, NULL, NULL)
      || (modules = cJSON_Parse (text)) == NULL || !cJSON_IsArray (modules)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: not a JSON list of modules", modules_path);
    return FALSE;
  }
  cJSON_ArrayForEach (m, modules) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive (m, "type");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive (m, "path");
    if (!cJSON_IsString (type))
      continue;
    if (g_str_has_suffix (type->valuestring, ".Normalize")) {
      model->default_normalize = TRUE;
    } else if (g_str_has_suffix (type->valuestring, ".Pooling")
        && cJSON_IsString (path) && strstr (path->valuestring, "..") == NULL) {
      g_autofree char *cfg_path = g_build_filename (
          sf_model_dir (model), path->valuestring, "config.json", NULL);
      g_autoptr (SfConfig) cfg = sf_config_load (cfg_path, error);
      gboolean mean = FALSE, cls = FALSE;
      if (cfg == NULL
          || !sf_config_bool_or (
              cfg, "pooling_mode_mean_tokens", FALSE, &mean, error)
          || !sf_config_bool_or (
              cfg, "pooling_mode_cls_token", FALSE, &cls, error))
        return FALSE;
      if (!mean && !cls) {
        g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
            "%s: only pooling_mode_mean_tokens and pooling_mode_cls_token "
            "are supported",
            cfg_path);
        return FALSE;
      }
      model->default_pooling = mean ? SF_POOLING_MEAN : SF_POOLING_CLS;
    }
  }
  return TRUE;
}

gboolean
sf_model_load_tokenizer (SfModel *model, GError **error)
{
  static const char *const files[] = { "tokenizer.json", "vocab.txt",
    "merges.txt" /* with vocab.json: byte-level BPE */ };

  if (model->tokenizer != NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *path = sf_checkpoint_file (model->ckpt, files[i]);
    if (path != NULL) {
      model->tokenizer = sf_tokenizer_load_dir (sf_model_dir (model), error);
      return model->tokenizer != NULL;
    }
  }
  return TRUE;
}

SfModel *
sf_model_load (const char *name, GError **error)
{
  return sf_model_load_with_precision (name, SF_PRECISION_F32, error);
}

SfModel *
sf_model_load_with_precision (
    const char *name, SfPrecision precision, GError **error)
{
  g_autoptr (SfModel) model = NULL;
  const char *arch = NULL;

  /* Every graph multiplies matrices: a missing BLAS is reported here, once,
   * so the ops that run later need no failure path for it. */
  if (!sf_blas_init (error))
    return NULL;
  model = g_new0 (SfModel, 1);
  model->refcount = 1;
  model->default_pooling = SF_POOLING_NONE;
  model->logit_scale = 1.0f;
  model->precision = sf_precision_resolve (precision, NULL);
  model->ckpt = sf_checkpoint_open (name, error);
  if (model->ckpt == NULL)
    return NULL;
  /* a Hub cache snapshot is named by its repo id, not its commit hash */
  model->name = sf_hub_snapshot_repo_id (sf_checkpoint_dir (model->ckpt));
  if (model->name == NULL)
    model->name = g_path_get_basename (sf_checkpoint_dir (model->ckpt));
  model->family =
      sf_registry_lookup (sf_checkpoint_config (model->ckpt), &arch, error);
  if (model->family == NULL)
    return NULL;
  model->architecture = g_strdup (arch);
  model->graph = model->family->load (model, model->ckpt, error);
  if (model->graph == NULL
      || (model->family->modality == SF_MODALITY_TEXT
          && !sf_model_load_tokenizer (model, error))
      || !read_sentence_transformers (model, error))
    return NULL;
  return g_steal_pointer (&model);
}

SfModel *
sf_model_ref (SfModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_int_inc (&model->refcount);
  return model;
}

void
sf_model_unref (SfModel *model)
{
  if (model == NULL || !sf_model_cache_release (model))
    return;
  if (model->graph)
    model->family->free (model->graph);
  sf_tokenizer_free (model->tokenizer);
  sf_image_processor_free (model->image_processor);
  sf_audio_frontend_free (model->audio_frontend);
  if (model->labels)
    g_ptr_array_unref (model->labels);
  sf_checkpoint_free (model->ckpt);
  g_free (model->architecture);
  g_free (model->name);
  g_free (model);
}

SfPrecision
sf_model_precision (const SfModel *model)
{
  return model->precision;
}

const char *
sf_model_dir (const SfModel *model)
{
  return sf_checkpoint_dir (model->ckpt);
}

const char *
sf_model_name (const SfModel *model)
{
  return model->name;
}

const char *
sf_model_family (const SfModel *model)
{
  return model->family->name;
}

const char *
sf_model_kind (const SfModel *model)
{
  static const char *const kinds[][2] = { { "ast", "an AST" },
    { "bert", "a BERT" }, { "distilbert", "a DistilBERT" }, { "vit", "a ViT" },
    { "segformer", "a SegFormer" }, { "clip", "a CLIP" },
    { "whisper", "a Whisper" }, { "wav2vec2", "a wav2vec2" } };
  const char *name = model->family->name;
  g_autofree char *phrase = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kinds[i][0], name))
      return kinds[i][1];
  /* a family not listed: its name, and the article its spelling implies */
  phrase = g_strdup_printf (
      "%s %s", name[0] && strchr ("aeiouAEIOU", name[0]) ? "an" : "a", name);
  return g_intern_string (phrase);
}

const char *
sf_model_architecture (const SfModel *model)
{
  return model->architecture ? model->architecture : model->family->name;
}

SfModality
sf_model_modality (const SfModel *model)
{
  return model->family->modality;
}

SfCheckpoint *
sf_model_checkpoint (const SfModel *model)
{
  return model->ckpt;
}

SfTokenizer *
sf_model_tokenizer (const SfModel *model)
{
  return model->tokenizer;
}

gint64
sf_model_hidden_size (const SfModel *model)
{
  return model->hidden_size;
}

gint64
sf_model_max_positions (const SfModel *model)
{
  return model->max_positions;
}

gint64
sf_model_n_params (const SfModel *model)
{
  return model->n_params;
}

gboolean
sf_model_has_classifier (const SfModel *model)
{
  return model->has_classifier;
}

guint
sf_model_num_labels (const SfModel *model)
{
  return model->has_classifier && model->labels ? model->labels->len : 0;
}

const char *
sf_model_label (const SfModel *model, guint index)
{
  g_return_val_if_fail (index < sf_model_num_labels (model), NULL);
  return model->labels->pdata[index];
}

SfProblemType
sf_model_problem_type (const SfModel *model)
{
  return model->problem_type;
}

SfPooling
sf_model_default_pooling (const SfModel *model)
{
  return model->default_pooling;
}

gboolean
sf_model_default_normalize (const SfModel *model)
{
  return model->default_normalize;
}

gboolean
sf_model_takes_input (const SfModel *model, SfModality modality)
{
  switch (modality) {
    case SF_MODALITY_TEXT: return model->family->forward_text != NULL;
    case SF_MODALITY_IMAGE: return model->family->forward_image != NULL;
    case SF_MODALITY_AUDIO: return model->family->forward_audio != NULL;
  }
  return FALSE;
}

gint64
sf_model_projection_dim (const SfModel *model)
{
  return model->projection_dim;
}

float
sf_model_logit_scale (const SfModel *model)
{
  return model->logit_scale;
}

gboolean
sf_model_image_size (const SfModel *model, gint64 *height, gint64 *width)
{
  g_return_val_if_fail (model != NULL, FALSE);
  if (model->image_size[0] <= 0)
    return FALSE;
  *height = model->image_size[0];
  *width = model->image_size[1];
  return TRUE;
}

SfTensor *
sf_model_similarity (const SfModel *model, const SfTensor *a, const SfTensor *b)
{
  g_autoptr (SfTensor) na = NULL, nb = NULL;
  SfTensor *out;

  g_return_val_if_fail (a != NULL && b != NULL, NULL);
  g_return_val_if_fail (a->ndim == 2 && b->ndim == 2 && a->dtype == SF_DTYPE_F32
          && b->dtype == SF_DTYPE_F32
          && sf_tensor_dim (a, 1) == sf_tensor_dim (b, 1),
      NULL);
  na = sf_tensor_new (SF_DTYPE_F32, 2, a->shape);
  nb = sf_tensor_new (SF_DTYPE_F32, 2, b->shape);
  sf_op_l2_normalize (na, a);
  sf_op_l2_normalize (nb, b);
  out = sf_tensor_new_f32 (2, sf_tensor_dim (a, 0), sf_tensor_dim (b, 0));
  sf_op_matmul (out, na, nb, TRUE);
  sf_op_scale (out, out, model ? model->logit_scale : 1.0f);
  return out;
}

void
sf_shape_set (SfShape *shape, int ndim, ...)
{
  va_list args;

  g_return_if_fail (ndim >= 0 && ndim <= SF_TENSOR_MAX_DIMS);
  memset (shape, 0, sizeof (*shape));
  shape->ndim = ndim;
  va_start (args, ndim);
  for (int i = 0; i < ndim; i++)
    shape->dims[i] = va_arg (args, gint64);
  va_end (args);
}
