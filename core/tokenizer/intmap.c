/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: a small open-addressing map from 64-bit keys to
 * 64-bit values, for the hot tables of the models (BPE merges by symbol
 * pair, the Unigram trie's edges). Linear probing with a multiplicative
 * hash; the table doubles when it is half full. Nothing is ever removed.
 */
#include "core/tokenizer/tokenizer-private.h"

#include <string.h>

static inline gsize
slot_of (guint64 key, gsize cap)
{
  /* Fibonacci hashing spreads sequential ids over the table */
  return (gsize)((key * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)) >> 20)
      & (cap - 1);
}

void
sf_int_map_init (SfIntMap *map)
{
  memset (map, 0, sizeof (*map));
}

void
sf_int_map_clear (SfIntMap *map)
{
  g_free (map->keys);
  g_free (map->values);
  sf_int_map_init (map);
}

static void
int_map_grow (SfIntMap *map)
{
  gsize old_cap = map->cap;
  guint64 *old_keys = map->keys, *old_values = map->values;

  map->cap = old_cap ? old_cap * 2 : 64;
  map->keys = g_new (guint64, map->cap);
  map->values = g_new (guint64, map->cap);
  memset (map->keys, 0xff, map->cap * sizeof (guint64));
  map->len = 0;
  for (gsize i = 0; i < old_cap; i++)
    if (old_keys[i] != SF_INT_MAP_EMPTY)
      sf_int_map_set (map, old_keys[i], old_values[i]);
  g_free (old_keys);
  g_free (old_values);
}

void
sf_int_map_set (SfIntMap *map, guint64 key, guint64 value)
{
  gsize i;

  g_return_if_fail (key != SF_INT_MAP_EMPTY);

  if (2 * (map->len + 1) > map->cap)
    int_map_grow (map);
  for (i = slot_of (key, map->cap);; i = (i + 1) & (map->cap - 1)) {
    if (map->keys[i] == key) {
      map->values[i] = value;
      return;
    }
    if (map->keys[i] == SF_INT_MAP_EMPTY) {
      map->keys[i] = key;
      map->values[i] = value;
      map->len++;
      return;
    }
  }
}

gboolean
sf_int_map_get (const SfIntMap *map, guint64 key, guint64 *value)
{
  if (map->cap == 0)
    return FALSE;
  for (gsize i = slot_of (key, map->cap);; i = (i + 1) & (map->cap - 1)) {
    if (map->keys[i] == key) {
      *value = map->values[i];
      return TRUE;
    }
    if (map->keys[i] == SF_INT_MAP_EMPTY)
      return FALSE;
  }
}
