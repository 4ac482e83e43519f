/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-op-group time accounting (see profile.h).
 *
 * Counters are integers (nanoseconds, flops) updated with relaxed atomic
 * adds, so ops on several threads may record at once. A thread-local depth
 * makes only the outermost op of a nest record.
 */
#include "core/profile.h"

#include <time.h>

gboolean sf_profile_enabled = FALSE;

static gint64 profile_ns[SF_PROFILE_N_GROUPS];
static gint64 profile_flops[SF_PROFILE_N_GROUPS];
static gint64 profile_calls[SF_PROFILE_N_GROUPS];
static __thread int profile_depth;

static const char *const profile_names[SF_PROFILE_N_GROUPS] = {
  "products",
  "attention",
  "norms",
  "activations",
  "front-end",
  "other",
};

static gint64
profile_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64)ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

void
sf_profile_set_enabled (gboolean enabled)
{
  int g;

  if (enabled) {
    for (g = 0; g < SF_PROFILE_N_GROUPS; g++) {
      __atomic_store_n (&profile_ns[g], 0, __ATOMIC_RELAXED);
      __atomic_store_n (&profile_flops[g], 0, __ATOMIC_RELAXED);
      __atomic_store_n (&profile_calls[g], 0, __ATOMIC_RELAXED);
    }
  }
  __atomic_store_n (&sf_profile_enabled, enabled, __ATOMIC_SEQ_CST);
}

void
sf_profile_get (SfProfileGroup group, SfProfileStats *stats)
{
  g_return_if_fail (group >= 0 && group < SF_PROFILE_N_GROUPS && stats);
  stats->seconds = __atomic_load_n (&profile_ns[group], __ATOMIC_RELAXED) / 1e9;
  stats->flops =
      (double)__atomic_load_n (&profile_flops[group], __ATOMIC_RELAXED);
  stats->calls = __atomic_load_n (&profile_calls[group], __ATOMIC_RELAXED);
}

const char *
sf_profile_group_name (SfProfileGroup group)
{
  g_return_val_if_fail (group >= 0 && group < SF_PROFILE_N_GROUPS, NULL);
  return profile_names[group];
}

gint64
sf_profile_begin_on (void)
{
  /* 0 marks a nested op, which sf_profile_end_on() does not record. */
  return profile_depth++ > 0 ? 0 : profile_now_ns ();
}

void
sf_profile_end_on (SfProfileGroup group, gint64 start, double flops)
{
  profile_depth--;
  if (start <= 0 || group < 0 || group >= SF_PROFILE_N_GROUPS)
    return;
  __atomic_fetch_add (
      &profile_ns[group], profile_now_ns () - start, __ATOMIC_RELAXED);
  __atomic_fetch_add (&profile_flops[group], (gint64)flops, __ATOMIC_RELAXED);
  __atomic_fetch_add (&profile_calls[group], 1, __ATOMIC_RELAXED);
}
