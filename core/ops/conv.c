/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: 2-D and 1-D convolutions.
 *
 * Design decisions:
 * - A dense or grouped convolution is im2col + one matrix product per
 *   (image, group): cols [Cin/g · kh · kw, Ho · Wo], then
 *   out [Cout/g, Ho · Wo] = w [Cout/g, Cin/g · kh · kw] · cols. A 1x1
 *   convolution with stride 1 and no padding skips im2col. The product is
 *   split over the pool in column blocks, one single-threaded sgemm each,
 *   as core/ops/linear.c does.
 * - A depthwise convolution (one input channel per group) has too little
 *   work per group for a product; it is a direct loop over planes. With a
 *   unit stride along the width, each tap adds a shifted input row to the
 *   output row, a contiguous multiply-add the compiler vectorises.
 * - A 1-D convolution is a 2-D one over a [B, C, 1, T] view with a
 *   [Cout, Cin/g, 1, K] kernel view: one im2col + sgemm path for both.
 */
#include "core/ops/conv.h"
#include "core/ops/linear.h"
#include "core/ops/linear-packed.h"
#include "core/profile.h"
#include "core/blas.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

/* Columns of the output per sgemm unit. */
#define SF_CONV_COL_BLOCK 64
/* Multiply-adds below which a unit is not worth a hand-off. */
#define SF_CONV_MIN_WORK (1 << 17)

gint64
sf_conv2d_out_size (gint64 in, int kernel, int stride, int padding)
{
  gint64 span = in + 2 * (gint64)padding - kernel;
  return span < 0 || stride < 1 ? 0 : span / stride + 1;
}

typedef struct
{
  const float *x; /* [Cg, H, W] of one image and group */
  float *cols;    /* (Cg · kh · kw, Ho · Wo) */
  gint64 h, w, ho, wo;
  int kh, kw;
  const SfConv2dParams *p;
} Im2colArgs;

static void
im2col_rows (gint64 start, gint64 end, gpointer data)
{
  const Im2colArgs *a = data;
  gint64 plane = a->ho * a->wo;

  for (gint64 r = start; r < end; r++) {
    int kx = (int)(r % a->kw), ky = (int)((r / a->kw) % a->kh);
    gint64 c = r / ((gint64)a->kw * a->kh);
    const float *src = a->x + c * a->h * a->w;
    float *dst = a->cols + r * plane;
    for (gint64 oy = 0; oy < a->ho; oy++) {
      gint64 iy = oy * a->p->stride[0] - a->p->padding[0] + ky;
      float *row = dst + oy * a->wo;
      if (iy < 0 || iy >= a->h) {
        memset (row, 0, a->wo * sizeof (float));
        continue;
      }
      for (gint64 ox = 0; ox < a->wo; ox++) {
        gint64 ix = ox * a->p->stride[1] - a->p->padding[1] + kx;
        row[ox] = ix >= 0 && ix < a->w ? src[iy * a->w + ix] : 0.0f;
      }
    }
  }
}

typedef struct
{
  const float *w;    /* [Og, K] */
  const float *cols; /* [K, P] */
  const float *bias; /* [Og] or NULL */
  float *out;        /* [Og, P] */
  gint64 og, k, p;
} GemmArgs;

static void
gemm_blocks (gint64 start, gint64 end, gpointer data)
{
  const GemmArgs *a = data;
  gint64 n0 = start * SF_CONV_COL_BLOCK;
  gint64 n1 = MIN (end * SF_CONV_COL_BLOCK, a->p);

  if (n1 <= n0)
    return;
  if (a->bias)
    for (gint64 i = 0; i < a->og; i++)
      for (gint64 j = n0; j < n1; j++)
        a->out[i * a->p + j] = a->bias[i];
  sf_blas_sgemm (FALSE, FALSE, (int)a->og, (int)(n1 - n0), (int)a->k, 1.0f,
      a->w, (int)a->k, a->cols + n0, (int)a->p, a->bias ? 1.0f : 0.0f,
      a->out + n0, (int)a->p);
}

typedef struct
{
  const float *x, *w, *b;
  float *out;
  gint64 c, h, wd, ho, wo;
  int kh, kw;
  const SfConv2dParams *p;
} DepthwiseArgs;

/* One output plane with a unit stride along the width: every (ky, kx) tap
 * adds a shifted source row to the output row, over the columns where the
 * tap lands inside the image, so the inner loop is a contiguous
 * multiply-add the compiler vectorises. Each output element still sums its
 * in-bounds taps in (ky, kx) order from zero and adds the bias last. */
static void
depthwise_plane_unit_stride (const DepthwiseArgs *a, const float *src,
    const float *k, float *dst, float bias)
{
  gint64 pw = a->p->padding[1];

  for (gint64 oy = 0; oy < a->ho; oy++) {
    float *out = dst + oy * a->wo;
    memset (out, 0, a->wo * sizeof (float));
    for (int ky = 0; ky < a->kh; ky++) {
      gint64 iy = oy * a->p->stride[0] - a->p->padding[0] + ky;
      const float *row;
      if (iy < 0 || iy >= a->h)
        continue;
      row = src + iy * a->wd;
      for (int kx = 0; kx < a->kw; kx++) {
        /* ix = ox - pw + kx must lie in [0, wd) */
        gint64 shift = kx - pw;
        gint64 ox0 = MAX (0, -shift), ox1 = MIN (a->wo, a->wd - shift);
        float kv = k[ky * a->kw + kx];
        for (gint64 ox = ox0; ox < ox1; ox++)
          out[ox] += row[ox + shift] * kv;
      }
    }
    for (gint64 ox = 0; ox < a->wo; ox++)
      out[ox] += bias;
  }
}

static void
depthwise_planes (gint64 start, gint64 end, gpointer data)
{
  const DepthwiseArgs *a = data;

  for (gint64 plane = start; plane < end; plane++) {
    gint64 c = plane % a->c;
    const float *src = a->x + plane * a->h * a->wd;
    const float *k = a->w + c * a->kh * a->kw;
    float *dst = a->out + plane * a->ho * a->wo;
    float bias = a->b ? a->b[c] : 0.0f;
    if (a->p->stride[1] == 1) {
      depthwise_plane_unit_stride (a, src, k, dst, bias);
      continue;
    }
    for (gint64 oy = 0; oy < a->ho; oy++) {
      for (gint64 ox = 0; ox < a->wo; ox++) {
        float acc = 0.0f;
        for (int ky = 0; ky < a->kh; ky++) {
          gint64 iy = oy * a->p->stride[0] - a->p->padding[0] + ky;
          if (iy < 0 || iy >= a->h)
            continue;
          for (int kx = 0; kx < a->kw; kx++) {
            gint64 ix = ox * a->p->stride[1] - a->p->padding[1] + kx;
            if (ix >= 0 && ix < a->wd)
              acc += src[iy * a->wd + ix] * k[ky * a->kw + kx];
          }
        }
        dst[oy * a->wo + ox] = acc + bias;
      }
    }
  }
}

/* Flops of a convolution: 2 per multiply-add, out[…] · (Cin/groups · kernel). */
static double
conv_flops (const SfTensor *out, const SfTensor *w)
{
  if (out == NULL || w == NULL || w->ndim < 1 || w->shape[0] == 0)
    return 0;
  return 2.0 * (double)sf_tensor_numel (out) * (double)sf_tensor_numel (w)
      / (double)w->shape[0];
}

static void
op_conv2d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, const SfConv2dParams *p)
{
  gint64 batch, cin, h, wd, cout, kh, kw, ho, wo, cg, og, k, plane;
  g_autofree float *cols = NULL;

  g_return_if_fail (out && x && w && p);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && w->dtype == SF_DTYPE_F32
      && out->dtype == SF_DTYPE_F32);
  g_return_if_fail (x->ndim == 4 && w->ndim == 4 && out->ndim == 4);
  g_return_if_fail (p->groups >= 1 && p->stride[0] >= 1 && p->stride[1] >= 1
      && p->padding[0] >= 0 && p->padding[1] >= 0);
  batch = x->shape[0];
  cin = x->shape[1];
  h = x->shape[2];
  wd = x->shape[3];
  cout = w->shape[0];
  kh = w->shape[2];
  kw = w->shape[3];
  g_return_if_fail (cin % p->groups == 0 && cout % p->groups == 0);
  cg = cin / p->groups;
  og = cout / p->groups;
  g_return_if_fail (w->shape[1] == cg);
  g_return_if_fail (b == NULL || (b->ndim == 1 && b->shape[0] == cout));
  ho = sf_conv2d_out_size (h, (int)kh, p->stride[0], p->padding[0]);
  wo = sf_conv2d_out_size (wd, (int)kw, p->stride[1], p->padding[1]);
  g_return_if_fail (ho > 0 && wo > 0);
  g_return_if_fail (out->shape[0] == batch && out->shape[1] == cout
      && out->shape[2] == ho && out->shape[3] == wo);
  plane = ho * wo;

  if (cg == 1 && og == 1) {
    DepthwiseArgs a = { .x = sf_tensor_f32 (x),
      .w = sf_tensor_f32 (w),
      .b = b ? sf_tensor_f32 (b) : NULL,
      .out = sf_tensor_f32 (out),
      .c = cin,
      .h = h,
      .wd = wd,
      .ho = ho,
      .wo = wo,
      .kh = (int)kh,
      .kw = (int)kw,
      .p = p };
    sf_parallel_for (
        batch * cin, MAX (1, 16384 / (plane * kh * kw)), depthwise_planes, &a);
    return;
  }

  k = cg * kh * kw;
  if (!(kh == 1 && kw == 1 && p->stride[0] == 1 && p->stride[1] == 1
          && p->padding[0] == 0 && p->padding[1] == 0))
    cols = g_new (float, k *plane);
  for (gint64 bi = 0; bi < batch; bi++) {
    for (int g = 0; g < p->groups; g++) {
      const float *xg = sf_tensor_f32 (x) + (bi * cin + g * cg) * h * wd;
      gint64 n_blocks = (plane + SF_CONV_COL_BLOCK - 1) / SF_CONV_COL_BLOCK;
      gint64 block_work = og * k * SF_CONV_COL_BLOCK;
      GemmArgs ga = { .w = sf_tensor_f32 (w) + g * og * k,
        .cols = cols ? cols : xg,
        .bias = b ? sf_tensor_f32 (b) + g * og : NULL,
        .out = sf_tensor_f32 (out) + (bi * cout + g * og) * plane,
        .og = og,
        .k = k,
        .p = plane };
      if (cols) {
        Im2colArgs ia = { .x = xg,
          .cols = cols,
          .h = h,
          .w = wd,
          .ho = ho,
          .wo = wo,
          .kh = (int)kh,
          .kw = (int)kw,
          .p = p };
        sf_parallel_for (k, MAX (1, 16384 / plane), im2col_rows, &ia);
      }
      sf_parallel_for (n_blocks,
          MAX (1, SF_CONV_MIN_WORK / MAX (1, block_work)), gemm_blocks, &ga);
    }
  }
}

void
sf_op_conv2d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, const SfConv2dParams *p)
{
  gint64 prof = sf_profile_begin ();

  op_conv2d (out, x, w, b, p);
  sf_profile_end (SF_PROFILE_PRODUCTS, prof, conv_flops (out, w));
}

gint64
sf_conv1d_out_size (gint64 in, int kernel, int stride, int padding)
{
  return sf_conv2d_out_size (in, kernel, stride, padding);
}

static void
op_conv1d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, int stride, int padding, int groups)
{
  SfConv2dParams p = {
    .stride = { 1, stride }, .padding = { 0, padding }, .groups = groups
  };
  g_autoptr (SfTensor) x4 = NULL, w4 = NULL, out4 = NULL;

  g_return_if_fail (out && x && w);
  g_return_if_fail (x->ndim == 3 && w->ndim == 3 && out->ndim == 3);
  x4 = sf_tensor_reshape (
      (SfTensor *)x, 4, (gint64[]){ x->shape[0], x->shape[1], 1, x->shape[2] });
  w4 = sf_tensor_reshape (
      (SfTensor *)w, 4, (gint64[]){ w->shape[0], w->shape[1], 1, w->shape[2] });
  out4 = sf_tensor_reshape (
      out, 4, (gint64[]){ out->shape[0], out->shape[1], 1, out->shape[2] });
  sf_op_conv2d (out4, x4, w4, b, &p);
}

void
sf_op_conv1d (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, int stride, int padding, int groups)
{
  gint64 prof = sf_profile_begin ();

  op_conv1d (out, x, w, b, stride, padding, groups);
  sf_profile_end (SF_PROFILE_PRODUCTS, prof, conv_flops (out, w));
}

SfTensor *
sf_conv1d_frames_weight (const SfTensor *w)
{
  gint64 co, ci, k;
  g_autoptr (SfTensor) flat = NULL;

  g_return_val_if_fail (
      w != NULL && w->dtype == SF_DTYPE_F32 && w->ndim == 3, NULL);
  co = w->shape[0];
  ci = w->shape[1];
  k = w->shape[2];
  flat = sf_tensor_new_f32 (2, co, k * ci);
  for (gint64 o = 0; o < co; o++)
    for (gint64 c = 0; c < ci; c++)
      for (gint64 j = 0; j < k; j++)
        sf_tensor_f32 (flat)[(o * k + j) * ci + c] =
            sf_tensor_f32 (w)[(o * ci + c) * k + j];
  return sf_linear_pack (flat, TRUE, SF_PRECISION_F32);
}

/* Frames [T, C] of @src (rows @ld floats apart) into @dst [T + 2p, C]
 * with @padding zero frames on each side: the frames of a padded 1-D
 * convolution then lie next to each other. */
static void
pad_frames (
    float *dst, const float *src, gint64 t, gint64 c, gint64 ld, int padding)
{
  memset (dst, 0, (gsize)padding * c * sizeof (float));
  memset (dst + (t + padding) * c, 0, (gsize)padding * c * sizeof (float));
  for (gint64 i = 0; i < t; i++)
    memcpy (dst + (i + padding) * c, src + i * ld, (gsize)c * sizeof (float));
}

void
sf_op_conv1d_frames (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, int kernel, int stride, int padding)
{
  gint64 batch, t_in, ci, t_out, co;
  g_autoptr (SfTensor) padded = NULL; /* [T + 2p, Cin], with padding */

  g_return_if_fail (out && x && w && kernel >= 1 && stride >= 1);
  g_return_if_fail (padding >= 0);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && x->ndim == 3);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && out->ndim == 3);
  batch = x->shape[0];
  t_in = x->shape[1];
  ci = x->shape[2];
  co = w->shape[0];
  t_out = sf_conv1d_out_size (t_in, kernel, stride, padding);
  g_return_if_fail (w->ndim == 2 && w->shape[1] == kernel * ci);
  g_return_if_fail (
      out->shape[0] == batch && out->shape[1] == t_out && out->shape[2] == co);
  if (padding > 0 && t_out > 0)
    padded = sf_tensor_new_uninit (
        SF_DTYPE_F32, 2, (gint64[]){ t_in + 2 * (gint64)padding, ci });
  for (gint64 i = 0; i < batch && t_out > 0; i++) {
    const float *xi = sf_tensor_f32 (x) + i * t_in * ci;

    if (padded != NULL) {
      pad_frames (sf_tensor_f32 (padded), xi, t_in, ci, ci, padding);
      xi = sf_tensor_f32 (padded);
    }
    sf_op_linear_rows (sf_tensor_f32 (out) + i * t_out * co, xi, t_out,
        (gint64)stride * ci, w, b);
  }
}

void
sf_op_conv1d_frames_grouped (SfTensor *out, const SfTensor *x,
    SfTensor *const *w, const SfTensor *b, int groups, int kernel, int padding)
{
  gint64 batch, t_in, ci, cg, t_out, co, cog, t_pad;

  g_return_if_fail (out && x && w && groups >= 1 && kernel >= 1);
  g_return_if_fail (padding >= 0);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && x->ndim == 3);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && out->ndim == 3);
  batch = x->shape[0];
  t_in = x->shape[1];
  ci = x->shape[2];
  co = out->shape[2];
  g_return_if_fail (ci % groups == 0 && co % groups == 0);
  cg = ci / groups;
  cog = co / groups;
  t_pad = t_in + 2 * (gint64)padding;
  t_out = sf_conv1d_out_size (t_in, kernel, 1, padding);
  g_return_if_fail (out->shape[0] == batch && out->shape[1] == t_out);
  for (int g = 0; g < groups; g++)
    g_return_if_fail (w[g] != NULL && w[g]->ndim == 2 && w[g]->shape[0] == cog
        && w[g]->shape[1] == kernel * cg);
  g_return_if_fail (b == NULL || sf_tensor_numel (b) == co);
  if (t_out <= 0)
    return;
  {
    /* one group's channels, padded with zero frames: [T + 2p, C/G] */
    g_autoptr (SfTensor) frames = sf_tensor_new_f32 (2, t_pad, cg);
    g_autoptr (SfTensor) part = sf_tensor_new_f32 (2, t_out, cog);
    float *fd = sf_tensor_f32 (frames), *pd = sf_tensor_f32 (part);

    for (gint64 i = 0; i < batch; i++)
      for (int g = 0; g < groups; g++) {
        const float *xi = sf_tensor_f32 (x) + i * t_in * ci + g * cg;
        float *oi = sf_tensor_f32 (out) + i * t_out * co + g * cog;
        g_autoptr (SfTensor) bias =
            b ? sf_tensor_slice0 ((SfTensor *)b, g * cog, cog) : NULL;

        pad_frames (fd, xi, t_in, cg, ci, padding);
        sf_op_linear_rows (pd, fd, t_out, cg, w[g], bias);
        for (gint64 t = 0; t < t_out; t++)
          memcpy (oi + t * co, pd + t * cog, (gsize)cog * sizeof (float));
      }
  }
}
