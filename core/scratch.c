/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-thread scratch memory (see core/scratch.h). */
#include "core/scratch.h"

/* Blocks grow in steps of this many bytes, so a size that creeps up a
 * little at a time does not reallocate on every call. */
#define SF_SCRATCH_STEP ((gsize)64 * 1024)

typedef struct
{
  gpointer data[SF_SCRATCH_N_SLOTS];
  gsize size[SF_SCRATCH_N_SLOTS];
} Scratch;

static void
scratch_free (gpointer p)
{
  Scratch *s = p;

  for (int i = 0; i < SF_SCRATCH_N_SLOTS; i++)
    g_aligned_free (s->data[i]);
  g_free (s);
}

static GPrivate scratch_key = G_PRIVATE_INIT (scratch_free);

gpointer
sf_scratch_get (SfScratchSlot slot, gsize bytes)
{
  Scratch *s = g_private_get (&scratch_key);

  g_return_val_if_fail (slot < SF_SCRATCH_N_SLOTS, NULL);
  if (s == NULL) {
    s = g_new0 (Scratch, 1);
    g_private_set (&scratch_key, s);
  }
  if (s->data[slot] == NULL || s->size[slot] < bytes) {
    gsize size = (MAX (bytes, 1) + SF_SCRATCH_STEP - 1) / SF_SCRATCH_STEP
        * SF_SCRATCH_STEP;

    g_aligned_free (s->data[slot]);
    /* like every GLib allocation, this aborts only on memory exhaustion */
    s->data[slot] = g_aligned_alloc (1, size, 64);
    s->size[slot] = size;
  }
  return s->data[slot];
}
