/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the process-wide model cache.
 *
 * Keyed by the folder's canonical path and the precision, so a Hub id and
 * the snapshot folder it resolves to share one entry, while the same
 * folder at f32 and at bf16 are two models with their own weights. The
 * cache holds no reference of its own: an entry lives while someone uses
 * the model, and the last unref removes it under the cache lock, so a
 * lookup never revives a model that is being freed. Loads run outside the
 * lock. */
#include "graphs/model-private.h"
#include "core/io/resolve.h"

#include <stdlib.h>

static GMutex cache_lock;
static GHashTable *cache; /* "precision:canonical dir" → SfModel (no ref) */

static char *
cache_key (const char *dir, SfPrecision precision)
{
  return g_strdup_printf ("%s:%s", sf_precision_name (precision), dir);
}

gboolean
sf_model_cache_release (SfModel *model)
{
  gboolean last;

  g_mutex_lock (&cache_lock);
  last = g_atomic_int_dec_and_test (&model->refcount);
  if (last && cache && model->ckpt) {
    g_autofree char *key = cache_key (sf_model_dir (model), model->precision);
    if (g_hash_table_lookup (cache, key) == model)
      g_hash_table_remove (cache, key);
  }
  g_mutex_unlock (&cache_lock);
  return last;
}

SfModel *
sf_model_cache_get (const char *name, GError **error)
{
  return sf_model_cache_get_with_precision (name, SF_PRECISION_F32, error);
}

SfModel *
sf_model_cache_get_with_precision (
    const char *name, SfPrecision precision, GError **error)
{
  g_autofree char *dir = sf_checkpoint_resolve (name, error);
  g_autofree char *canonical = NULL;
  g_autofree char *key = NULL;
  g_autofree char *loaded_key = NULL;
  SfModel *model, *existing;
  char *real;

  if (dir == NULL)
    return NULL;
  real = realpath (dir, NULL);
  canonical = g_strdup (real ? real : dir);
  free (real);
  /* a precision the CPU cannot run is f32, and shares f32's entry */
  precision = sf_precision_resolve (precision, NULL);
  key = cache_key (canonical, precision);
  g_mutex_lock (&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  model = g_hash_table_lookup (cache, key);
  if (model) {
    g_atomic_int_inc (&model->refcount);
    g_mutex_unlock (&cache_lock);
    return model;
  }
  g_mutex_unlock (&cache_lock);

  model = sf_model_load_with_precision (canonical, precision, error);
  if (model == NULL)
    return NULL;

  loaded_key = cache_key (sf_model_dir (model), model->precision);
  g_mutex_lock (&cache_lock);
  existing = g_hash_table_lookup (cache, loaded_key);
  if (existing) { /* another thread loaded it meanwhile */
    g_atomic_int_inc (&existing->refcount);
    g_mutex_unlock (&cache_lock);
    sf_model_unref (model);
    return existing;
  }
  g_hash_table_insert (cache, g_steal_pointer (&loaded_key), model);
  g_mutex_unlock (&cache_lock);
  return model;
}
