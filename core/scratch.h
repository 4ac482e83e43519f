/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-thread scratch memory for the ops.
 *
 * An op that needs a temporary buffer on every call (attention's scores
 * and key panels, the rounded inputs of a bf16 or int8 product) takes it
 * from its thread's slot here instead of malloc and free. glibc hands a
 * freed block of that size back to the kernel, and the next call faults
 * its pages in and zeroes them again: on BERT at two threads, attention
 * took twice as long once a fused q/k/v product changed the heap's
 * pattern. A slot keeps the largest block its thread has asked for, for
 * the life of the thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One slot per kind of user, so that buffers in use at the same time on
 * one thread never share a slot. */
typedef enum
{
  SF_SCRATCH_ATTENTION, /* attention's work units */
  SF_SCRATCH_LINEAR,    /* a product's rounded or quantised input */
  SF_SCRATCH_TILE,      /* a product's f32 output block, rounded to bf16 */
  SF_SCRATCH_N_SLOTS,
} SfScratchSlot;

/* At least @bytes of 64-byte aligned memory in the calling thread's
 * @slot, its contents undefined, valid until the thread's next call for
 * the same slot or its exit. Other threads may read and write it in the
 * meantime (a product's workers read its rounded input). */
gpointer sf_scratch_get (SfScratchSlot slot, gsize bytes);

/* @bytes rounded up to a multiple of 64: the offset of the next of
 * several arrays laid out in one scratch block. */
static inline gsize
sf_scratch_align (gsize bytes)
{
  return (bytes + 63) / 64 * 64;
}

G_END_DECLS
