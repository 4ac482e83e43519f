/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the process-wide model cache.
 *
 * Keyed by the folder's canonical path, so a Hub id and the snapshot
 * folder it resolves to share one entry. The cache holds no reference of
 * its own: an entry lives while someone uses the model, and the last
 * unref removes it under the cache lock, so a lookup never revives a model
 * that is being freed. Loads run outside the lock. */
#include "graphs/model-private.h"
#include "core/io/resolve.h"

#include <stdlib.h>

static GMutex cache_lock;
static GHashTable *cache; /* canonical dir → SfModel (no ref) */

gboolean
sf_model_cache_release (SfModel *model)
{
  gboolean last;

  g_mutex_lock (&cache_lock);
  last = g_atomic_int_dec_and_test (&model->refcount);
  if (last && cache && model->ckpt
      && g_hash_table_lookup (cache, sf_model_dir (model)) == model)
    g_hash_table_remove (cache, sf_model_dir (model));
  g_mutex_unlock (&cache_lock);
  return last;
}

SfModel *
sf_model_cache_get (const char *name, GError **error)
{
  g_autofree char *dir = sf_checkpoint_resolve (name, error);
  g_autofree char *key = NULL;
  SfModel *model, *existing;
  char *real;

  if (dir == NULL)
    return NULL;
  real = realpath (dir, NULL);
  key = g_strdup (real ? real : dir);
  free (real);
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

  model = sf_model_load (key, error);
  if (model == NULL)
    return NULL;

  g_mutex_lock (&cache_lock);
  existing = g_hash_table_lookup (cache, sf_model_dir (model));
  if (existing) { /* another thread loaded it meanwhile */
    g_atomic_int_inc (&existing->refcount);
    g_mutex_unlock (&cache_lock);
    sf_model_unref (model);
    return existing;
  }
  g_hash_table_insert (cache, g_strdup (sf_model_dir (model)), model);
  g_mutex_unlock (&cache_lock);
  return model;
}
