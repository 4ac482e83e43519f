/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: linear weights packed at load for the kernels.
 *
 * sf_linear_pack() turns an f32 linear weight into a tensor that
 * sf_op_linear() and sf_op_linear_in_out() (core/ops/linear.h) run at a
 * precision: f32 panels on AVX-512 CPUs (core/ops/linear-f32.c), bf16 or
 * int8. The packed tensor keeps the weight's shape, so graph code that
 * reads a layer's sizes from its weights is unchanged; its dtype (F32, BF16
 * or I8) follows the precision, and its storage carries the packed layout
 * marker (sf_storage_layout (), core/tensor.h): its data is an
 * SfPackedWeight header followed by the panels the kernels read. Nothing
 * but the linear ops may read the data of a packed tensor.
 *
 * Panels: the output columns (N) in groups of SF_PACKED_NR; within a panel,
 * for each group of K (1 for f32, 2 for bf16, 4 for int8), the group's
 * values of every column in turn, zero-padded past N and K. One panel row
 * is then exactly the 64-byte vectors the AVX-512 FMA and dot-product
 * instructions multiply.
 */
#pragma once

#include "core/ops/activation.h"
#include "core/precision.h"
#include "core/tensor.h"

G_BEGIN_DECLS

/* output columns per panel: two 16-lane vectors */
#define SF_PACKED_NR 32

typedef struct
{
  guint32 magic;
  SfPrecision precision;
  gint64 n, k;          /* output and input features */
  gint64 kp;            /* k rounded up to the K group (2 bf16, 4 int8) */
  gint64 n_panels;      /* ceil (n / SF_PACKED_NR) */
  gsize panel_bytes;    /* kp · SF_PACKED_NR · element size */
  const float *scale;   /* int8: [n] per-channel weight scales, else NULL */
  const gint32 *colsum; /* int8: [n] sums of each quantised column */
  const guint8 *panels; /* [n_panels] panels, 64-byte aligned */
} SfPackedWeight;

/* (transfer full) @w (F32, [N, K] when @trans_w as nn.Linear stores it,
 * else [K, N] as HF's Conv1D does) packed for @precision. A new ref on @w
 * when it is packed already, for f32 on a CPU without AVX-512 (OpenBLAS
 * runs it), or when the CPU lacks the instructions @precision needs
 * (core/precision.h): the caller resolves the precision and warns first.
 * SF_CPU_DISABLE (core/cpu.h) hides the instructions here as well. */
SfTensor *sf_linear_pack (SfTensor *w, gboolean trans_w, SfPrecision precision);
/* What runs f32 linear layers on this machine, for reports: "AVX-512
 * f32 panels" chosen from cpuid, or OpenBLAS sgemm with the reason. */
const char *sf_linear_f32_kernel (void);
/* The header of a packed weight, or NULL when @w is not one (F32). */
const SfPackedWeight *sf_linear_packed (const SfTensor *w);
/* The precision @w runs at: f32 unless it was packed. */
SfPrecision sf_linear_weight_precision (const SfTensor *w);

/* (transfer full) (nullable) one packed weight [N₀ + N₁ + …, K] whose
 * outputs are those of @parts[0], @parts[1], … in turn: several products
 * over the same input (a layer's q, k and v) run as one, with one pass of
 * the input's rounding and one hand-off to the pool. NULL unless every
 * part is an nn.Linear weight packed alike (same precision and K) and
 * every part but the last fills whole panels. */
SfTensor *sf_linear_packed_concat (SfTensor *const *parts, int n_parts);

/* (transfer full) an empty packed tensor of shape @shape (two dims), for
 * the packers of core/ops/linear-*.c: room for the header, the panels and,
 * with @per_channel, the scale and colsum arrays. *@header points into
 * it. */
SfTensor *sf_linear_packed_alloc (const gint64 *shape, SfPrecision precision,
    gint64 n, gint64 k, gint64 kp, gsize panel_bytes, gboolean per_channel,
    SfPackedWeight **header);

/* What the packers' pool units share: the f32 weight @w ([N, K] when
 * @trans_w, else [K, N]) and the header @h of its packed copy. */
typedef struct
{
  const SfTensor *w;
  const SfPackedWeight *h;
  gboolean trans_w;
} SfPackJob;

/* How a product of @m rows by a packed weight splits into units for the
 * worker pool: column chunks of whole panels first, then, when there are
 * too few for about two units per thread, row blocks (multiples of the
 * kernel's @mr rows, at most @max_rows). */
typedef struct
{
  gint64 chunks, panels_per_chunk;
  gint64 m_blocks, rows_per_block;
  gint64 unit_work; /* multiply-adds of one unit */
} SfPackedSplit;

void sf_linear_packed_split (const SfPackedWeight *w, gint64 m, gint64 mr,
    gint64 max_rows, SfPackedSplit *split);

G_END_DECLS
