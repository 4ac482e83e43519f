/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: weight tables.
 *
 * A family declares its weights as a table of HF name templates ("{L}" is
 * the layer index) with symbolic shapes resolved from the config. The loader
 * checks every entry before the model is usable and reports all missing or
 * mis-shaped tensors in one error. Loaded tensors are F32: views into the
 * mmapped file when stored as F32, converted copies when F16/BF16/F64.
 * Entries flagged as linear weights are packed for the target's precision
 * (core/ops/linear-packed.h) once loaded; only sf_op_linear () and
 * sf_op_linear_in_out () may read them then.
 */
#pragma once

#include "core/io/checkpoint.h"
#include "core/precision.h"

G_BEGIN_DECLS

#define SF_WEIGHT_MAX_DIMS 4

/* Flags of a weight table entry. */
typedef enum
{
  SF_WEIGHT_REQUIRED = 0,
  SF_WEIGHT_OPTIONAL = 1 << 0,  /* left NULL when absent */
  SF_WEIGHT_PER_LAYER = 1 << 1, /* name has {L}; loaded for each layer */
  SF_WEIGHT_HEAD = 1 << 2,      /* a task head: outside the base-model prefix */
  /* read by sf_op_linear () alone, stored [out, in] (nn.Linear) */
  SF_WEIGHT_LINEAR = 1 << 3,
  /* read by sf_op_linear_in_out () alone, stored [in, out] (HF's Conv1D) */
  SF_WEIGHT_LINEAR_IN_OUT = 1 << 4,
  /* with one of the two above: packed for f32 only, kept f32 at bf16 and
   * int8 (where the family's exactness checks need f32 products) */
  SF_WEIGHT_F32_ONLY = 1 << 5,
  /* with one of the linear flags: kept f32 at int8, where its rounding
   * changes the family's chosen tokens */
  SF_WEIGHT_NO_INT8 = 1 << 6,
} SfWeightFlags;

typedef struct
{
  /* the HF name, e.g. "encoder.layer.{L}.attention.self.query.weight" */
  const char *name;
  /* indices into the size table; -1 ends the shape */
  int dims[SF_WEIGHT_MAX_DIMS];
  SfWeightFlags flags;
  /* offsetof the SfTensor * slot, in the global or in the layer struct */
  gsize offset;
} SfWeightSpec;

typedef struct
{
  const char *prefix;  /* prepended to every non-head name, e.g. "bert." */
  const gint64 *sizes; /* the size table the dims index */
  int n_layers;
  gpointer globals;   /* struct receiving non-layer tensors */
  gpointer layers;    /* array of n_layers layer structs */
  gsize layer_stride; /* sizeof one layer struct */
  /* this checkpoint variant's table, built with sf_weight_target_add () */
  GArray *specs; /* SfWeightSpec, NULL until the first add */
  /* the linear entries' precision (f32 is 0); they are packed for it
   * (core/ops/linear-packed.h) */
  SfPrecision precision;
} SfWeightTarget;

/* Appends @n entries to the target's own table (copied). */
void sf_weight_target_add (
    SfWeightTarget *target, const SfWeightSpec *specs, guint n);
/* sf_weights_load () over the target's own table. */
gboolean sf_weight_target_load (SfWeightTarget *target, SfCheckpoint *ckpt,
    gint64 *n_params, GError **error);
/* Unrefs every tensor the table loaded and frees the table; safe on a
 * zero-filled or already cleared target. */
void sf_weight_target_clear (SfWeightTarget *target);

/* Loads every entry of @specs into @target. On failure, no tensor is kept
 * and the error lists every problem found. Adds the element count of every
 * loaded tensor to *n_params (nullable). */
gboolean sf_weights_load (SfCheckpoint *ckpt, const SfWeightSpec *specs,
    guint n_specs, const SfWeightTarget *target, gint64 *n_params,
    GError **error);
/* Unrefs every slot of @specs in @target (the reverse of sf_weights_load). */
void sf_weights_clear (
    const SfWeightSpec *specs, guint n_specs, const SfWeightTarget *target);

/* (transfer full) (nullable) a decoder's LM head [V, D] packed for
 * @precision where the CPU runs that kernel (f32 too: the panels stream
 * whisper-base's 106 MB head in 2.2 ms where sgemv takes 3.0, and 1.25
 * against 2.05 on two threads); NULL otherwise, and the head runs as it
 * is. A separate copy, since a tied head is also the token embedding,
 * which lookups read as f32; a mapped f32 checkpoint then keeps only the
 * looked-up rows of it in memory. Each decoding step reads the whole
 * head, most of a small decoder's bytes. */
SfTensor *sf_weights_pack_head (SfTensor *head, SfPrecision precision);

/* The first of @prefixes (NULL-terminated) under which @probe exists, or
 * NULL when none does. */
const char *sf_weights_find_prefix (
    SfCheckpoint *ckpt, const char *const *prefixes, const char *probe);

G_END_DECLS
