/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: a Hugging Face checkpoint folder.
 *
 * Weights come from model.safetensors, or from the shards that
 * model.safetensors.index.json maps tensor names to. Each shard is opened
 * (and fully validated) once, at open time.
 */
#include "core/io/checkpoint.h"
#include "core/error.h"
#include "core/io/resolve.h"

#include <stdlib.h>
#include <string.h>

struct SfCheckpoint
{
  char *dir;
  SfConfig *config;
  GPtrArray *shards;         /* SfSafetensors */
  GHashTable *name_to_shard; /* tensor name → SfSafetensors (borrowed) */
};

static gboolean
add_shard (SfCheckpoint *ckpt, const char *file, GHashTable *opened,
    SfSafetensors **out, GError **error)
{
  SfSafetensors *st = g_hash_table_lookup (opened, file);
  g_autofree char *path = NULL;

  if (st == NULL) {
    path = g_build_filename (ckpt->dir, file, NULL);
    st = sf_safetensors_open (path, error);
    if (st == NULL)
      return FALSE;
    g_ptr_array_add (ckpt->shards, st);
    g_hash_table_insert (opened, g_strdup (file), st);
  }
  *out = st;
  return TRUE;
}

static gboolean
load_index (SfCheckpoint *ckpt, const char *index_path, GError **error)
{
  g_autoptr (SfConfig) index = sf_config_load (index_path, error);
  g_autoptr (GHashTable) opened = NULL;
  const cJSON *map, *item;

  if (index == NULL)
    return FALSE;
  map = sf_config_get (index, "weight_map");
  if (!cJSON_IsObject (map)) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'weight_map' is missing or not an object", index_path);
    return FALSE;
  }
  opened = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  cJSON_ArrayForEach (item, map) {
    SfSafetensors *st;
    if (!cJSON_IsString (item) || strchr (item->valuestring, '/') != NULL) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: weight_map entry '%s' must be a file name in the folder",
          index_path, item->string);
      return FALSE;
    }
    if (!add_shard (ckpt, item->valuestring, opened, &st, error))
      return FALSE;
    if (!sf_safetensors_contains (st, item->string)) {
      g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
          "%s: tensor '%s' is listed for %s, which does not hold it",
          index_path, item->string, item->valuestring);
      return FALSE;
    }
    g_hash_table_insert (ckpt->name_to_shard, g_strdup (item->string), st);
  }
  return TRUE;
}

static gboolean
load_weights (SfCheckpoint *ckpt, GError **error)
{
  g_autofree char *single =
      g_build_filename (ckpt->dir, "model.safetensors", NULL);
  g_autofree char *index =
      g_build_filename (ckpt->dir, "model.safetensors.index.json", NULL);
  g_autofree char *bin =
      g_build_filename (ckpt->dir, "pytorch_model.bin", NULL);
  SfSafetensors *st;

  if (g_file_test (single, G_FILE_TEST_EXISTS)) {
    st = sf_safetensors_open (single, error);
    if (st == NULL)
      return FALSE;
    g_ptr_array_add (ckpt->shards, st);
    for (guint i = 0; i < sf_safetensors_n_tensors (st); i++)
      g_hash_table_insert (
          ckpt->name_to_shard, g_strdup (sf_safetensors_name (st, i)), st);
    return TRUE;
  }
  if (g_file_test (index, G_FILE_TEST_EXISTS))
    return load_index (ckpt, index, error);
  if (g_file_test (bin, G_FILE_TEST_EXISTS)) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: only pickle weights (pytorch_model.bin) found; Streamformer "
        "reads model.safetensors (the Hub's default format)",
        ckpt->dir);
    return FALSE;
  }
  g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
      "%s: no model.safetensors or model.safetensors.index.json", ckpt->dir);
  return FALSE;
}

SfCheckpoint *
sf_checkpoint_open (const char *model, GError **error)
{
  g_autoptr (SfCheckpoint) ckpt = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *dir = sf_checkpoint_resolve (model, error);
  char *real;

  if (dir == NULL)
    return NULL;
  real = realpath (dir, NULL);
  ckpt = g_new0 (SfCheckpoint, 1);
  ckpt->dir = g_strdup (real ? real : dir);
  free (real);
  ckpt->shards =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_safetensors_unref);
  ckpt->name_to_shard =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  config_path = g_build_filename (ckpt->dir, "config.json", NULL);
  ckpt->config = sf_config_load (config_path, error);
  if (ckpt->config == NULL || !load_weights (ckpt, error))
    return NULL;
  return g_steal_pointer (&ckpt);
}

void
sf_checkpoint_free (SfCheckpoint *ckpt)
{
  if (ckpt == NULL)
    return;
  g_hash_table_unref (ckpt->name_to_shard);
  g_ptr_array_unref (ckpt->shards);
  sf_config_free (ckpt->config);
  g_free (ckpt->dir);
  g_free (ckpt);
}

const char *
sf_checkpoint_dir (const SfCheckpoint *ckpt)
{
  return ckpt->dir;
}

const SfConfig *
sf_checkpoint_config (const SfCheckpoint *ckpt)
{
  return ckpt->config;
}

char *
sf_checkpoint_file (const SfCheckpoint *ckpt, const char *name)
{
  char *path = g_build_filename (ckpt->dir, name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_free (path);
    return NULL;
  }
  return path;
}

SfTensor *
sf_checkpoint_tensor (SfCheckpoint *ckpt, const char *name)
{
  SfSafetensors *st = g_hash_table_lookup (ckpt->name_to_shard, name);
  return st ? sf_safetensors_get (st, name) : NULL;
}

const char *
sf_checkpoint_tensor_file (SfCheckpoint *ckpt, const char *name)
{
  SfSafetensors *st = g_hash_table_lookup (ckpt->name_to_shard, name);
  return st ? sf_safetensors_path (st) : NULL;
}

GPtrArray *
sf_checkpoint_tensor_names (SfCheckpoint *ckpt)
{
  GPtrArray *names = g_ptr_array_new ();
  for (guint s = 0; s < ckpt->shards->len; s++) {
    SfSafetensors *st = ckpt->shards->pdata[s];
    for (guint i = 0; i < sf_safetensors_n_tensors (st); i++) {
      const char *name = sf_safetensors_name (st, i);
      /* with an index, only the shard the index names counts */
      if (g_hash_table_lookup (ckpt->name_to_shard, name) == st)
        g_ptr_array_add (names, (gpointer)name);
    }
  }
  return names;
}

void
sf_checkpoint_dtype_counts (SfCheckpoint *ckpt, gint64 counts[SF_DTYPE_N_TYPES])
{
  g_autoptr (GPtrArray) names = sf_checkpoint_tensor_names (ckpt);

  memset (counts, 0, sizeof (gint64) * SF_DTYPE_N_TYPES);
  for (guint i = 0; i < names->len; i++) {
    g_autoptr (SfTensor) t = sf_checkpoint_tensor (ckpt, names->pdata[i]);
    counts[t->dtype] += sf_tensor_numel (t);
  }
}
