/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: layout ops (transpose, concatenation, copy). */
#include "core/ops/layout.h"
#include "core/profile.h"
#include "core/threads.h"

#include <string.h>

/* Bytes per unit of a parallel copy. */
#define SF_COPY_BLOCK ((gsize)1 << 20)

typedef struct
{
  guint8 *dst;
  const guint8 *src;
  gsize n;
} CopyArgs;

static void
copy_blocks (gint64 start, gint64 end, gpointer data)
{
  const CopyArgs *a = data;
  gsize b0 = (gsize)start * SF_COPY_BLOCK;
  gsize b1 = MIN ((gsize)end * SF_COPY_BLOCK, a->n);

  memcpy (a->dst + b0, a->src + b0, b1 - b0);
}

/* memcpy of @n bytes between buffers that do not overlap, split over the
 * pool in blocks: one core does not reach the memory bandwidth of two. */
static void
parallel_copy (void *dst, const void *src, gsize n)
{
  CopyArgs a = { dst, src, n };

  sf_parallel_for (
      (gint64)((n + SF_COPY_BLOCK - 1) / SF_COPY_BLOCK), 1, copy_blocks, &a);
}
typedef struct
{
  const float *x; /* [B, M, N] */
  float *out;     /* [B, N, M] */
  gint64 m, n;
} TransposeArgs;

#define SF_TRANSPOSE_TILE 32

/* units are (image, tile row of the input). Each tile goes through a
 * small buffer: it is read along the input's rows and written along the
 * output's rows, so both sides touch whole cache lines once. Writing a tile
 * column by column instead would hit SF_TRANSPOSE_TILE output rows per
 * element, which thrash one cache set when the row length is a power of
 * two (feature maps of 128 x 128). */
static void
transpose_tiles (gint64 start, gint64 end, gpointer data)
{
  const TransposeArgs *a = data;
  gint64 tiles_m = (a->m + SF_TRANSPOSE_TILE - 1) / SF_TRANSPOSE_TILE;
  float tile[SF_TRANSPOSE_TILE * SF_TRANSPOSE_TILE]; /* (tile j, tile i) */

  for (gint64 u = start; u < end; u++) {
    gint64 b = u / tiles_m, i0 = (u % tiles_m) * SF_TRANSPOSE_TILE;
    gint64 ni = MIN (SF_TRANSPOSE_TILE, a->m - i0);
    const float *src = a->x + b * a->m * a->n;
    float *dst = a->out + b * a->m * a->n;
    for (gint64 j0 = 0; j0 < a->n; j0 += SF_TRANSPOSE_TILE) {
      gint64 nj = MIN (SF_TRANSPOSE_TILE, a->n - j0);
      for (gint64 i = 0; i < ni; i++) {
        const float *row = src + (i0 + i) * a->n + j0;
        for (gint64 j = 0; j < nj; j++)
          tile[j * SF_TRANSPOSE_TILE + i] = row[j];
      }
      for (gint64 j = 0; j < nj; j++)
        memcpy (dst + (j0 + j) * a->m + i0, tile + j * SF_TRANSPOSE_TILE,
            ni * sizeof (float));
    }
  }
}

static void
op_transpose_last2 (SfTensor *out, const SfTensor *x)
{
  TransposeArgs a;
  gint64 batch;

  g_return_if_fail (out && x && x->ndim == 3 && out->ndim == 3);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_F32
      && out->data != x->data);
  g_return_if_fail (out->shape[0] == x->shape[0] && out->shape[1] == x->shape[2]
      && out->shape[2] == x->shape[1]);
  batch = x->shape[0];
  a = (TransposeArgs){ .x = sf_tensor_f32 (x),
    .out = sf_tensor_f32 (out),
    .m = x->shape[1],
    .n = x->shape[2] };
  sf_parallel_for (batch * ((a.m + SF_TRANSPOSE_TILE - 1) / SF_TRANSPOSE_TILE),
      MAX (1, 16384 / (SF_TRANSPOSE_TILE * MAX (1, a.n))), transpose_tiles, &a);
}

void
sf_op_transpose_last2 (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_transpose_last2 (out, x);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_concat (SfTensor *out, SfTensor *const *inputs, guint n, int dim)
{
  gint64 outer = 1, total = 0, offset = 0, out_inner;

  g_return_if_fail (out && inputs && n > 0);
  g_return_if_fail (dim >= 0 && dim < out->ndim);
  for (int d = 0; d < dim; d++)
    outer *= out->shape[d];
  for (guint i = 0; i < n; i++) {
    const SfTensor *t = inputs[i];
    g_return_if_fail (t->ndim == out->ndim && t->dtype == out->dtype);
    for (int d = 0; d < out->ndim; d++)
      g_return_if_fail (d == dim || t->shape[d] == out->shape[d]);
    total += t->shape[dim];
  }
  g_return_if_fail (total == out->shape[dim]);
  out_inner = sf_tensor_numel (out) / MAX (1, outer);
  for (guint i = 0; i < n; i++) {
    const SfTensor *t = inputs[i];
    gint64 inner = sf_tensor_numel (t) / MAX (1, outer);
    gsize es = sf_dtype_size (t->dtype);
    for (gint64 o = 0; o < outer; o++)
      parallel_copy ((guint8 *)out->data + (o * out_inner + offset) * es,
          (const guint8 *)t->data + o * inner * es, inner * es);
    offset += inner;
  }
}

void
sf_op_concat (SfTensor *out, SfTensor *const *inputs, guint n, int dim)
{
  gint64 prof = sf_profile_begin ();

  op_concat (out, inputs, n, dim);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_split (SfTensor *const *outputs, guint n, const SfTensor *x, int dim)
{
  gint64 outer = 1, total = 0, offset = 0, x_inner;
  gsize es;

  g_return_if_fail (x && outputs && n > 0);
  g_return_if_fail (dim >= 0 && dim < x->ndim);
  for (int d = 0; d < dim; d++)
    outer *= x->shape[d];
  for (guint i = 0; i < n; i++) {
    const SfTensor *t = outputs[i];
    g_return_if_fail (t->ndim == x->ndim && t->dtype == x->dtype);
    for (int d = 0; d < x->ndim; d++)
      g_return_if_fail (d == dim || t->shape[d] == x->shape[d]);
    total += t->shape[dim];
  }
  g_return_if_fail (total == x->shape[dim]);
  x_inner = sf_tensor_numel (x) / MAX (1, outer);
  es = sf_dtype_size (x->dtype);
  for (guint i = 0; i < n; i++) {
    SfTensor *t = outputs[i];
    gint64 inner = sf_tensor_numel (t) / MAX (1, outer);
    /* rows of a few KiB (a decoding step) are not worth the pool */
    if (inner * es < SF_COPY_BLOCK) {
      for (gint64 o = 0; o < outer; o++)
        memcpy ((guint8 *)t->data + o * inner * es,
            (const guint8 *)x->data + (o * x_inner + offset) * es, inner * es);
    } else {
      for (gint64 o = 0; o < outer; o++)
        parallel_copy ((guint8 *)t->data + o * inner * es,
            (const guint8 *)x->data + (o * x_inner + offset) * es, inner * es);
    }
    offset += inner;
  }
}

void
sf_op_split (SfTensor *const *outputs, guint n, const SfTensor *x, int dim)
{
  gint64 prof = sf_profile_begin ();

  op_split (outputs, n, x, dim);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_copy (SfTensor *out, const SfTensor *x)
{
  gsize nbytes = sf_tensor_nbytes (x);

  g_return_if_fail (out && x && out->dtype == x->dtype);
  g_return_if_fail (sf_tensor_numel (out) == sf_tensor_numel (x));
  if (out->data == x->data)
    return;
  if ((const guint8 *)out->data < (const guint8 *)x->data + nbytes
      && (const guint8 *)x->data < (const guint8 *)out->data + nbytes)
    memmove (out->data, x->data, nbytes);
  else
    parallel_copy (out->data, x->data, nbytes);
}

void
sf_op_copy (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_copy (out, x);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}
