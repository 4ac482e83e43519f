/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: PIL-compatible resizing.
 *
 * Design decisions:
 * - HF image processors resize 8-bit images with PIL, so matching them
 *   means matching PIL's arithmetic, not just its filter shapes:
 *   - Bilinear and bicubic are separable convolutions. Each output pixel
 *     centre maps to (x + 0.5) · scale in the input; when downscaling the
 *     filter is stretched by the scale (antialiasing). Weights are
 *     normalised per output pixel, then turned into fixed point with 22
 *     fractional bits; sums start at one half and are clamped to 0..255.
 *   - The horizontal pass runs first into an 8-bit intermediate image,
 *     then the vertical pass; a pass is skipped when its size is kept.
 *   - Nearest is PIL's affine scale: the source coordinate accumulates
 *     the scale step by step from scale / 2 and is truncated.
 * - Rows (and columns) are independent, so passes split over the pool.
 */
#include "core/image/image.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

typedef struct
{
  int out_size;
  int ksize;      /* taps per output pixel (max) */
  int *bounds;    /* (out_size, 2): first tap, tap count */
  gint32 *coeffs; /* (out_size, ksize) fixed point */
} Coeffs;

static double
filter_bilinear (double x)
{
  if (x < 0.0)
    x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

static double
filter_bicubic (double x)
{
  const double a = -0.5; /* PIL's bicubic constant */
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0)
    return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/* Weights of every output pixel over the input range [0, in_size). */
static void
coeffs_compute (Coeffs *c, int in_size, int out_size, SfResample resample)
{
  double (*filter) (double) =
      resample == SF_RESAMPLE_BICUBIC ? filter_bicubic : filter_bilinear;
  double base_support = resample == SF_RESAMPLE_BICUBIC ? 2.0 : 1.0;
  double scale = (double)in_size / out_size;
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = base_support * filterscale;
  g_autofree double *k = NULL;

  c->out_size = out_size;
  c->ksize = (int)ceil (support) * 2 + 1;
  c->bounds = g_new (int, 2 * out_size);
  c->coeffs = g_new0 (gint32, (gsize)out_size * c->ksize);
  k = g_new (double, c->ksize);

  for (int xx = 0; xx < out_size; xx++) {
    double center = (xx + 0.5) * scale;
    double ww = 0.0, ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5);
    int xmax = (int)(center + support + 0.5);

    if (xmin < 0)
      xmin = 0;
    if (xmax > in_size)
      xmax = in_size;
    xmax -= xmin;
    for (int x = 0; x < xmax; x++) {
      double w = filter ((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; x++) {
      double w = ww != 0.0 ? k[x] / ww : k[x];
      /* round half away from zero into fixed point */
      c->coeffs[(gsize)xx * c->ksize + x] = w < 0.0
          ? (gint32)(-0.5 + w * (1 << PRECISION_BITS))
          : (gint32)(0.5 + w * (1 << PRECISION_BITS));
    }
    c->bounds[2 * xx] = xmin;
    c->bounds[2 * xx + 1] = xmax;
  }
}

static void
coeffs_clear (Coeffs *c)
{
  g_free (c->bounds);
  g_free (c->coeffs);
}

static inline guint8
clip8 (gint32 v)
{
  v >>= PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : (guint8)v;
}

typedef struct
{
  const SfImage *src;
  SfImage *dst;
  const Coeffs *c;
} PassArgs;

/* dst rows [start, end): each output column from a window of src columns. */
static void
pass_horizontal (gint64 start, gint64 end, gpointer data)
{
  const PassArgs *a = data;

  for (gint64 y = start; y < end; y++) {
    const guint8 *in = a->src->data + y * a->src->stride;
    guint8 *out = a->dst->data + y * a->dst->stride;
    for (int xx = 0; xx < a->dst->width; xx++) {
      int xmin = a->c->bounds[2 * xx], n = a->c->bounds[2 * xx + 1];
      const gint32 *k = a->c->coeffs + (gsize)xx * a->c->ksize;
      gint32 s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < n; x++) {
        const guint8 *p = in + 3 * (xmin + x);
        s0 += p[0] * k[x];
        s1 += p[1] * k[x];
        s2 += p[2] * k[x];
      }
      out[3 * xx] = clip8 (s0);
      out[3 * xx + 1] = clip8 (s1);
      out[3 * xx + 2] = clip8 (s2);
    }
  }
}

/* dst rows [start, end): each output row from a window of src rows. */
static void
pass_vertical (gint64 start, gint64 end, gpointer data)
{
  const PassArgs *a = data;
  int row_bytes = 3 * a->dst->width;

  for (gint64 yy = start; yy < end; yy++) {
    int ymin = a->c->bounds[2 * yy], n = a->c->bounds[2 * yy + 1];
    const gint32 *k = a->c->coeffs + (gsize)yy * a->c->ksize;
    guint8 *out = a->dst->data + yy * a->dst->stride;
    for (int i = 0; i < row_bytes; i++) {
      gint32 s = 1 << (PRECISION_BITS - 1);
      for (int y = 0; y < n; y++)
        s += a->src->data[(gsize)(ymin + y) * a->src->stride + i] * k[y];
      out[i] = clip8 (s);
    }
  }
}

static SfImage *
image_copy (const SfImage *src)
{
  SfImage *dst = sf_image_new (src->width, src->height);
  for (int y = 0; y < src->height; y++)
    memcpy (dst->data + y * dst->stride, src->data + y * src->stride,
        3 * (gsize)src->width);
  return dst;
}

static SfImage *
resize_nearest (const SfImage *src, int width, int height)
{
  SfImage *dst = sf_image_new (width, height);
  g_autofree int *xin = g_new (int, width);
  double sx = (double)src->width / width, sy = (double)src->height / height;
  double xo = sx * 0.5, yo = sy * 0.5;

  for (int x = 0; x < width; x++, xo += sx)
    xin[x] = MIN ((int)xo, src->width - 1);
  for (int y = 0; y < height; y++, yo += sy) {
    const guint8 *in =
        src->data + (gsize)MIN ((int)yo, src->height - 1) * src->stride;
    guint8 *out = dst->data + y * dst->stride;
    for (int x = 0; x < width; x++)
      memcpy (out + 3 * x, in + 3 * xin[x], 3);
  }
  return dst;
}

SfImage *
sf_image_resize (const SfImage *src, int width, int height, SfResample resample)
{
  g_autoptr (SfImage) tmp = NULL;
  const SfImage *cur = src;
  SfImage *out = NULL;

  g_return_val_if_fail (src != NULL && width > 0 && height > 0, NULL);
  if (width == src->width && height == src->height)
    return image_copy (src);
  if (resample == SF_RESAMPLE_NEAREST)
    return resize_nearest (src, width, height);

  if (width != src->width) {
    Coeffs c;
    PassArgs a;
    coeffs_compute (&c, src->width, width, resample);
    tmp = sf_image_new (width, src->height);
    a = (PassArgs){ .src = src, .dst = tmp, .c = &c };
    sf_parallel_for (src->height, 16, pass_horizontal, &a);
    coeffs_clear (&c);
    cur = tmp;
  }
  if (height != src->height) {
    Coeffs c;
    PassArgs a;
    coeffs_compute (&c, src->height, height, resample);
    out = sf_image_new (width, height);
    a = (PassArgs){ .src = cur, .dst = out, .c = &c };
    sf_parallel_for (height, 16, pass_vertical, &a);
    coeffs_clear (&c);
    return out;
  }
  return g_steal_pointer (&tmp);
}

SfImage *
sf_image_center_crop (const SfImage *src, int width, int height)
{
  SfImage *dst;
  int top, left;

  g_return_val_if_fail (src != NULL && width > 0 && height > 0, NULL);
  dst = sf_image_new (width, height);
  /* HF: top = (H - h) // 2, floor division also when negative (padding) */
  top = (int)floor ((src->height - height) / 2.0);
  left = (int)floor ((src->width - width) / 2.0);
  for (int y = 0; y < height; y++) {
    int sy = y + top;
    int x0 = MAX (0, -left), x1 = MIN (width, src->width - left);
    if (sy < 0 || sy >= src->height || x1 <= x0)
      continue;
    memcpy (dst->data + y * dst->stride + 3 * x0,
        src->data + sy * src->stride + 3 * (x0 + left), 3 * (gsize)(x1 - x0));
  }
  return dst;
}
