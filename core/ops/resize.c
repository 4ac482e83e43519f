/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: bilinear resizing and channel argmax of [B, C, H, W]
 * feature maps.
 *
 * Bilinear resizing mirrors PyTorch's CPU kernel for align_corners=False:
 * the source coordinate is (dst + 0.5) · in / out - 0.5 in float, clamped
 * at 0; the lower neighbour is its floor, the upper one is clamped to the
 * last index; rows are blended first along the width, then the height.
 */
#include "core/ops/resize.h"
#include "core/profile.h"
#include "core/ops/layout.h"
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
  float *out;     /* resize: [B, C, Ho, Wo] */
  gint64 bands;   /* resize: row bands per plane */
  gint32 *labels; /* argmax: [B, Ho, Wo] */
} ResizeArgs;

/* Row bands per plane when there are too few planes to share out. */
#define SF_RESIZE_BANDS 8

/* Source row @y of @src blended along the width into rows[y], computed on
 * first use: every output row between the same two source rows reuses it. */
static const float *
width_blended_row (
    const ResizeArgs *a, const float *src, float *rows, guint8 *ready, gint64 y)
{
  float *dst = rows + y * a->wo;

  if (!ready[y]) {
    const float *r = src + y * a->w;
    for (gint64 ox = 0; ox < a->wo; ox++)
      dst[ox] = r[a->tx[ox].i0] * a->tx[ox].w0 + r[a->tx[ox].i1] * a->tx[ox].w1;
    ready[y] = 1;
  }
  return dst;
}

/* units are (image and channel, band of output rows). Each output element
 * is (r0[x0]·wx0 + r0[x1]·wx1)·wy0 + (r1[x0]·wx0 + r1[x1]·wx1)·wy1, the
 * same arithmetic as blend (), with the width blends shared between rows. */
static void
resize_bands (gint64 start, gint64 end, gpointer data)
{
  const ResizeArgs *a = data;
  gint64 band_rows = (a->ho + a->bands - 1) / a->bands;
  float *rows = g_new (float, a->h * a->wo); /* [h, wo] */
  guint8 *ready = g_new (guint8, a->h);

  for (gint64 u = start; u < end; u++) {
    gint64 plane = u / a->bands, band = u % a->bands;
    gint64 oy0 = band * band_rows, oy1 = MIN (a->ho, oy0 + band_rows);
    const float *src = a->x + plane * a->h * a->w;
    float *dst = a->out + plane * a->ho * a->wo;
    memset (ready, 0, a->h);
    for (gint64 oy = oy0; oy < oy1; oy++) {
      const Tap *ty = &a->ty[oy];
      const float *r0 = width_blended_row (a, src, rows, ready, ty->i0);
      const float *r1 = width_blended_row (a, src, rows, ready, ty->i1);
      float *out = dst + oy * a->wo;
      for (gint64 ox = 0; ox < a->wo; ox++)
        out[ox] = r0[ox] * ty->w0 + r1[ox] * ty->w1;
    }
  }
  g_free (rows);
  g_free (ready);
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

static void
op_resize_bilinear (SfTensor *out, const SfTensor *x)
{
  ResizeArgs a;
  gint64 planes;

  g_return_if_fail (out && x && x->ndim == 4 && out->ndim == 4);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_F32);
  g_return_if_fail (
      out->shape[0] == x->shape[0] && out->shape[1] == x->shape[1]);
  a = (ResizeArgs){ .x = sf_tensor_f32 (x),
    .out = sf_tensor_f32 (out),
    .c = x->shape[1],
    .h = x->shape[2],
    .w = x->shape[3],
    .ho = out->shape[2],
    .wo = out->shape[3] };
  planes = x->shape[0] * a.c;
  if (planes == 0 || a.ho == 0 || a.wo == 0)
    return;
  g_return_if_fail (a.h > 0 && a.w > 0);
  /* same size: the taps are (i, weight 1) and (i + 1, weight 0), so the
   * blend reproduces every finite input exactly */
  if (a.h == a.ho && a.w == a.wo) {
    sf_op_copy (out, x);
    return;
  }
  a.bands = planes >= SF_RESIZE_BANDS ? 1 : MIN (SF_RESIZE_BANDS, a.ho);
  a.ty = linear_taps (a.h, a.ho);
  a.tx = linear_taps (a.w, a.wo);
  sf_parallel_for (planes * a.bands,
      MAX (1, 16384 / (a.ho / a.bands * a.wo + 1)), resize_bands, &a);
  g_free (a.ty);
  g_free (a.tx);
}

void
sf_op_resize_bilinear (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_resize_bilinear (out, x);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_resize_bilinear_argmax (SfTensor *out, const SfTensor *x)
{
  ResizeArgs a;

  g_return_if_fail (out && x && x->ndim == 4 && out->ndim == 3);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_I32);
  g_return_if_fail (out->shape[0] == x->shape[0] && x->shape[1] >= 1);
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
}

void
sf_op_resize_bilinear_argmax (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_resize_bilinear_argmax (out, x);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_argmax_channels (SfTensor *out, const SfTensor *x)
{
  gint64 c, plane;

  g_return_if_fail (out && x && x->ndim == 4 && out->ndim == 3);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_I32);
  g_return_if_fail (out->shape[0] == x->shape[0] && out->shape[1] == x->shape[2]
      && out->shape[2] == x->shape[3]);
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
}

void
sf_op_argmax_channels (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_argmax_channels (out, x);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}
