/* Streamformer core: bilinear resizing, channel argmax and layout ops on
 * NCHW feature maps (declared in core/ops-conv.h).
 *
 * Bilinear resizing mirrors PyTorch's CPU kernel for align_corners=False:
 * the source coordinate is (dst + 0.5) · in / out - 0.5 in float, clamped
 * at 0; the lower neighbour is its floor, the upper one is clamped to the
 * last index; rows are blended first along the width, then the height.
 */
#include "core/ops-conv.h"
#include "core/threads.h"

#include <string.h>

typedef struct
{
  gint64 i0, i1;
  float w0, w1;
} Tap;

/* Neighbours and weights of every output index along one axis. */
static Tap *
linear_taps (gint64 in, gint64 out)
{
  Tap *taps = g_new (Tap, out);
  float scale = (float)in / (float)out;

  for (gint64 i = 0; i < out; i++) {
    float src = scale * (i + 0.5f) - 0.5f;
    gint64 i0;
    float l1;
    if (src < 0.0f)
      src = 0.0f;
    i0 = MIN ((gint64)src, in - 1);
    l1 = src - i0;
    if (l1 < 0.0f)
      l1 = 0.0f;
    if (l1 > 1.0f)
      l1 = 1.0f;
    taps[i].i0 = i0;
    taps[i].i1 = i0 + (i0 < in - 1 ? 1 : 0);
    taps[i].w1 = l1;
    taps[i].w0 = 1.0f - l1;
  }
  return taps;
}

static inline float
blend (const float *plane, gint64 w, const Tap *ty, const Tap *tx)
{
  const float *r0 = plane + ty->i0 * w, *r1 = plane + ty->i1 * w;
  return (r0[tx->i0] * tx->w0 + r0[tx->i1] * tx->w1) * ty->w0
      + (r1[tx->i0] * tx->w0 + r1[tx->i1] * tx->w1) * ty->w1;
}

typedef struct
{
  const float *x;
  gint64 c, h, w, ho, wo;
  Tap *ty, *tx;
  float *out;     /* resize: (B, C, Ho, Wo) */
  gint32 *labels; /* argmax: (B, Ho, Wo) */
} ResizeArgs;

/* units are (image, channel, output row) */
static void
resize_rows (gint64 start, gint64 end, gpointer data)
{
  const ResizeArgs *a = data;
  for (gint64 u = start; u < end; u++) {
    gint64 oy = u % a->ho, plane = u / a->ho;
    const float *src = a->x + plane * a->h * a->w;
    float *dst = a->out + u * a->wo;
    for (gint64 ox = 0; ox < a->wo; ox++)
      dst[ox] = blend (src, a->w, &a->ty[oy], &a->tx[ox]);
  }
}

/* units are (image, output row) */
static void
resize_argmax_rows (gint64 start, gint64 end, gpointer data)
{
  const ResizeArgs *a = data;
  gint64 plane = a->h * a->w;
  for (gint64 u = start; u < end; u++) {
    gint64 oy = u % a->ho, bi = u / a->ho;
    const float *img = a->x + bi * a->c * plane;
    gint32 *dst = a->labels + u * a->wo;
    for (gint64 ox = 0; ox < a->wo; ox++) {
      float best = blend (img, a->w, &a->ty[oy], &a->tx[ox]);
      gint32 arg = 0;
      for (gint64 c = 1; c < a->c; c++) {
        float v = blend (img + c * plane, a->w, &a->ty[oy], &a->tx[ox]);
        if (v > best) {
          best = v;
          arg = (gint32)c;
        }
      }
      dst[ox] = arg;
    }
  }
}

gboolean
sf_op_resize_bilinear (SfTensor *out, const SfTensor *x)
{
  ResizeArgs a;

  g_return_val_if_fail (out && x && x->ndim == 4 && out->ndim == 4, FALSE);
  g_return_val_if_fail (
      x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_F32, FALSE);
  g_return_val_if_fail (
      out->shape[0] == x->shape[0] && out->shape[1] == x->shape[1], FALSE);
  a = (ResizeArgs){ .x = sf_tensor_f32 (x),
    .out = sf_tensor_f32 (out),
    .c = x->shape[1],
    .h = x->shape[2],
    .w = x->shape[3],
    .ho = out->shape[2],
    .wo = out->shape[3] };
  a.ty = linear_taps (a.h, a.ho);
  a.tx = linear_taps (a.w, a.wo);
  sf_parallel_for (
      x->shape[0] * a.c * a.ho, MAX (1, 4096 / a.wo), resize_rows, &a);
  g_free (a.ty);
  g_free (a.tx);
  return TRUE;
}

gboolean
sf_op_resize_bilinear_argmax (SfTensor *out, const SfTensor *x)
{
  ResizeArgs a;

  g_return_val_if_fail (out && x && x->ndim == 4 && out->ndim == 3, FALSE);
  g_return_val_if_fail (
      x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_I32, FALSE);
  g_return_val_if_fail (
      out->shape[0] == x->shape[0] && x->shape[1] >= 1, FALSE);
  a = (ResizeArgs){ .x = sf_tensor_f32 (x),
    .labels = out->data,
    .c = x->shape[1],
    .h = x->shape[2],
    .w = x->shape[3],
    .ho = out->shape[1],
    .wo = out->shape[2] };
  a.ty = linear_taps (a.h, a.ho);
  a.tx = linear_taps (a.w, a.wo);
  sf_parallel_for (
      x->shape[0] * a.ho, MAX (1, 1024 / (a.wo * a.c)), resize_argmax_rows, &a);
  g_free (a.ty);
  g_free (a.tx);
  return TRUE;
}

gboolean
sf_op_argmax_channels (SfTensor *out, const SfTensor *x)
{
  gint64 c, plane;

  g_return_val_if_fail (out && x && x->ndim == 4 && out->ndim == 3, FALSE);
  g_return_val_if_fail (
      x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_I32, FALSE);
  g_return_val_if_fail (out->shape[0] == x->shape[0]
          && out->shape[1] == x->shape[2] && out->shape[2] == x->shape[3],
      FALSE);
  c = x->shape[1];
  plane = x->shape[2] * x->shape[3];
  for (gint64 b = 0; b < x->shape[0]; b++) {
    const float *img = sf_tensor_f32 (x) + b * c * plane;
    gint32 *dst = (gint32 *)out->data + b * plane;
    for (gint64 i = 0; i < plane; i++) {
      float best = img[i];
      gint32 arg = 0;
      for (gint64 k = 1; k < c; k++) {
        if (img[k * plane + i] > best) {
          best = img[k * plane + i];
          arg = (gint32)k;
        }
      }
      dst[i] = arg;
    }
  }
  return TRUE;
}

/* ---- layout ---- */

typedef struct
{
  const float *x; /* (B, M, N) */
  float *out;     /* (B, N, M) */
  gint64 m, n;
} TransposeArgs;

#define SF_TRANSPOSE_TILE 32

/* units are (image, tile row of the input) */
static void
transpose_tiles (gint64 start, gint64 end, gpointer data)
{
  const TransposeArgs *a = data;
  gint64 tiles_m = (a->m + SF_TRANSPOSE_TILE - 1) / SF_TRANSPOSE_TILE;

  for (gint64 u = start; u < end; u++) {
    gint64 b = u / tiles_m, i0 = (u % tiles_m) * SF_TRANSPOSE_TILE;
    gint64 i1 = MIN (i0 + SF_TRANSPOSE_TILE, a->m);
    const float *src = a->x + b * a->m * a->n;
    float *dst = a->out + b * a->m * a->n;
    for (gint64 j0 = 0; j0 < a->n; j0 += SF_TRANSPOSE_TILE) {
      gint64 j1 = MIN (j0 + SF_TRANSPOSE_TILE, a->n);
      for (gint64 i = i0; i < i1; i++)
        for (gint64 j = j0; j < j1; j++)
          dst[j * a->m + i] = src[i * a->n + j];
    }
  }
}

gboolean
sf_op_transpose_last2 (SfTensor *out, const SfTensor *x)
{
  TransposeArgs a;
  gint64 batch;

  g_return_val_if_fail (out && x && x->ndim == 3 && out->ndim == 3, FALSE);
  g_return_val_if_fail (x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_F32
          && out->data != x->data,
      FALSE);
  g_return_val_if_fail (out->shape[0] == x->shape[0]
          && out->shape[1] == x->shape[2] && out->shape[2] == x->shape[1],
      FALSE);
  batch = x->shape[0];
  a = (TransposeArgs){ .x = sf_tensor_f32 (x),
    .out = sf_tensor_f32 (out),
    .m = x->shape[1],
    .n = x->shape[2] };
  sf_parallel_for (batch * ((a.m + SF_TRANSPOSE_TILE - 1) / SF_TRANSPOSE_TILE),
      MAX (1, 16384 / (SF_TRANSPOSE_TILE * MAX (1, a.n))), transpose_tiles, &a);
  return TRUE;
}

gboolean
sf_op_concat (SfTensor *out, SfTensor *const *inputs, guint n, int dim)
{
  gint64 outer = 1, total = 0, offset = 0, out_inner;

  g_return_val_if_fail (out && inputs && n > 0, FALSE);
  g_return_val_if_fail (dim >= 0 && dim < out->ndim, FALSE);
  for (int d = 0; d < dim; d++)
    outer *= out->shape[d];
  for (guint i = 0; i < n; i++) {
    const SfTensor *t = inputs[i];
    g_return_val_if_fail (
        t->ndim == out->ndim && t->dtype == out->dtype, FALSE);
    for (int d = 0; d < out->ndim; d++)
      g_return_val_if_fail (d == dim || t->shape[d] == out->shape[d], FALSE);
    total += t->shape[dim];
  }
  g_return_val_if_fail (total == out->shape[dim], FALSE);
  out_inner = sf_tensor_numel (out) / MAX (1, outer);
  for (guint i = 0; i < n; i++) {
    const SfTensor *t = inputs[i];
    gint64 inner = sf_tensor_numel (t) / MAX (1, outer);
    gsize es = sf_dtype_size (t->dtype);
    for (gint64 o = 0; o < outer; o++)
      memcpy ((guint8 *)out->data + (o * out_inner + offset) * es,
          (const guint8 *)t->data + o * inner * es, inner * es);
    offset += inner;
  }
  return TRUE;
}

gboolean
sf_op_copy (SfTensor *out, const SfTensor *x)
{
  g_return_val_if_fail (out && x && out->dtype == x->dtype, FALSE);
  g_return_val_if_fail (sf_tensor_numel (out) == sf_tensor_numel (x), FALSE);
  if (out->data != x->data)
    memmove (out->data, x->data, sf_tensor_nbytes (x));
  return TRUE;
}
