/* Tests for core/ops-conv.h: every op against a naive double-precision
 * reference written here, on random inputs from fixed seeds. */
#include "core/ops/ops.h"

#include <math.h>
#include <string.h>

static SfTensor *
random_tensor (GRand *rand, int ndim, const gint64 *shape)
{
  SfTensor *t = sf_tensor_new (SF_DTYPE_F32, ndim, shape);
  for (gint64 i = 0; i < sf_tensor_numel (t); i++)
    sf_tensor_f32 (t)[i] = (float)g_rand_double_range (rand, -1.0, 1.0);
  return t;
}

static void
check_close (
    const char *what, const float *got, const double *ref, gint64 n, double tol)
{
  double max_abs = 0.0;
  for (gint64 i = 0; i < n; i++) {
    double e = fabs ((double)got[i] - ref[i]);
    if (!(e <= max_abs))
      max_abs = isnan (e) ? INFINITY : e;
  }
  if (max_abs > tol)
    g_test_message ("%s: max abs error %g > %g", what, max_abs, tol);
  g_assert_cmpfloat (max_abs, <=, tol);
}

/* Direct definition of nn.Conv2d. */
static double *
conv_reference (const SfTensor *x, const SfTensor *w, const SfTensor *b,
    const SfConv2dParams *p, gint64 ho, gint64 wo)
{
  gint64 batch = x->shape[0], cin = x->shape[1], h = x->shape[2],
         wd = x->shape[3];
  gint64 cout = w->shape[0], cg = w->shape[1], kh = w->shape[2],
         kw = w->shape[3];
  gint64 og = cout / p->groups;
  double *out = g_new0 (double, batch *cout *ho *wo);
  const float *xd = sf_tensor_f32 (x), *wdat = sf_tensor_f32 (w);

  for (gint64 n = 0; n < batch; n++)
    for (gint64 o = 0; o < cout; o++)
      for (gint64 y = 0; y < ho; y++)
        for (gint64 xo = 0; xo < wo; xo++) {
          double acc = b ? sf_tensor_f32 (b)[o] : 0.0;
          gint64 g = o / og;
          for (gint64 c = 0; c < cg; c++)
            for (gint64 ky = 0; ky < kh; ky++)
              for (gint64 kx = 0; kx < kw; kx++) {
                gint64 iy = y * p->stride[0] - p->padding[0] + ky;
                gint64 ix = xo * p->stride[1] - p->padding[1] + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                  continue;
                acc += (double)xd[((n * cin + g * cg + c) * h + iy) * wd + ix]
                    * wdat[((o * cg + c) * kh + ky) * kw + kx];
              }
          out[((n * cout + o) * ho + y) * wo + xo] = acc;
        }
  return out;
}

static void
run_conv_case (gint64 batch, gint64 cin, gint64 h, gint64 w, gint64 cout,
    gint64 kh, gint64 kw, SfConv2dParams p, gboolean bias)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (42 + cin * 7 + kh);
  g_autoptr (SfTensor) x =
      random_tensor (rand, 4, (gint64[]){ batch, cin, h, w });
  g_autoptr (SfTensor) wt =
      random_tensor (rand, 4, (gint64[]){ cout, cin / p.groups, kh, kw });
  g_autoptr (SfTensor) b =
      bias ? random_tensor (rand, 1, (gint64[]){ cout }) : NULL;
  gint64 ho = sf_conv2d_out_size (h, (int)kh, p.stride[0], p.padding[0]);
  gint64 wo = sf_conv2d_out_size (w, (int)kw, p.stride[1], p.padding[1]);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (4, batch, cout, ho, wo);
  g_autofree double *ref = conv_reference (x, wt, b, &p, ho, wo);

  sf_op_conv2d (out, x, wt, b, &p);
  check_close ("conv2d", sf_tensor_f32 (out), ref, sf_tensor_numel (out), 1e-4);
}

static void
test_conv_dense (void)
{
  /* overlapping patch embedding: 7x7, stride 4, padding 3 */
  run_conv_case (
      2, 3, 33, 29, 8, 7, 7, (SfConv2dParams){ { 4, 4 }, { 3, 3 }, 1 }, TRUE);
  /* non-square stride and padding, no bias */
  run_conv_case (
      1, 5, 12, 17, 6, 3, 2, (SfConv2dParams){ { 2, 1 }, { 1, 0 }, 1 }, FALSE);
  /* patchify: kernel = stride */
  run_conv_case (
      2, 3, 32, 48, 16, 8, 8, (SfConv2dParams){ { 8, 8 }, { 0, 0 }, 1 }, TRUE);
}

static void
test_conv_pointwise (void)
{
  run_conv_case (
      2, 40, 9, 11, 24, 1, 1, (SfConv2dParams){ { 1, 1 }, { 0, 0 }, 1 }, TRUE);
  run_conv_case (
      1, 64, 5, 5, 3, 1, 1, (SfConv2dParams){ { 1, 1 }, { 0, 0 }, 1 }, FALSE);
}

static void
test_conv_grouped (void)
{
  run_conv_case (
      2, 8, 10, 10, 12, 3, 3, (SfConv2dParams){ { 1, 1 }, { 1, 1 }, 4 }, TRUE);
}

static void
test_conv_depthwise (void)
{
  run_conv_case (2, 32, 16, 13, 32, 3, 3,
      (SfConv2dParams){ { 1, 1 }, { 1, 1 }, 32 }, TRUE);
  run_conv_case (
      1, 6, 9, 9, 6, 5, 5, (SfConv2dParams){ { 2, 2 }, { 2, 2 }, 6 }, FALSE);
}

static void
test_conv_out_size (void)
{
  g_assert_cmpint (sf_conv2d_out_size (224, 16, 16, 0), ==, 14);
  g_assert_cmpint (sf_conv2d_out_size (512, 7, 4, 3), ==, 128);
  g_assert_cmpint (sf_conv2d_out_size (2, 7, 4, 0), ==, 0);
}

static void
test_batch_norm (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gint64 shape[] = { 2, 5, 3, 4 };
  g_autoptr (SfTensor) x = random_tensor (rand, 4, shape);
  g_autoptr (SfTensor) mean = random_tensor (rand, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) var = random_tensor (rand, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) gamma = random_tensor (rand, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) beta = random_tensor (rand, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) out = sf_tensor_new (SF_DTYPE_F32, 4, shape);
  g_autofree double *ref = g_new (double, sf_tensor_numel (x));

  for (int c = 0; c < 5; c++)
    sf_tensor_f32 (var)[c] = fabsf (sf_tensor_f32 (var)[c]) + 0.1f;
  for (gint64 i = 0; i < sf_tensor_numel (x); i++) {
    int c = (int)((i / 12) % 5);
    ref[i] = ((double)sf_tensor_f32 (x)[i] - sf_tensor_f32 (mean)[c])
            / sqrt ((double)sf_tensor_f32 (var)[c] + 1e-5)
            * sf_tensor_f32 (gamma)[c]
        + sf_tensor_f32 (beta)[c];
  }
  sf_op_batch_norm (out, x, mean, var, gamma, beta, 1e-5f);
  check_close (
      "batch_norm", sf_tensor_f32 (out), ref, sf_tensor_numel (x), 1e-5);
  /* in place */
  sf_op_batch_norm (x, x, mean, var, gamma, beta, 1e-5f);
  check_close (
      "batch_norm in place", sf_tensor_f32 (x), ref, sf_tensor_numel (x), 1e-5);
}

/* F.interpolate(bilinear, align_corners=False), written from its
 * definition in double precision. */
static double
bilinear_ref (const float *plane, gint64 h, gint64 w, gint64 ho, gint64 wo,
    gint64 y, gint64 x)
{
  double sy = MAX (0.0, (y + 0.5) * h / ho - 0.5);
  double sx = MAX (0.0, (x + 0.5) * w / wo - 0.5);
  gint64 y0 = MIN ((gint64)floor (sy), h - 1),
         x0 = MIN ((gint64)floor (sx), w - 1);
  gint64 y1 = MIN (y0 + 1, h - 1), x1 = MIN (x0 + 1, w - 1);
  double ly = sy - y0, lx = sx - x0;
  return (1 - ly) * ((1 - lx) * plane[y0 * w + x0] + lx * plane[y0 * w + x1])
      + ly * ((1 - lx) * plane[y1 * w + x0] + lx * plane[y1 * w + x1]);
}

static void
run_resize_case (gint64 h, gint64 w, gint64 ho, gint64 wo)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (h * 100 + wo);
  g_autoptr (SfTensor) x = random_tensor (rand, 4, (gint64[]){ 2, 3, h, w });
  g_autoptr (SfTensor) out =
      sf_tensor_new_f32 (4, (gint64)2, (gint64)3, ho, wo);
  g_autoptr (SfTensor) labels =
      sf_tensor_new (SF_DTYPE_I32, 3, (gint64[]){ 2, ho, wo });
  g_autoptr (SfTensor) fused =
      sf_tensor_new (SF_DTYPE_I32, 3, (gint64[]){ 2, ho, wo });
  g_autofree double *ref = g_new (double, 2 * 3 * ho * wo);

  for (gint64 p = 0; p < 6; p++)
    for (gint64 y = 0; y < ho; y++)
      for (gint64 xx = 0; xx < wo; xx++)
        ref[(p * ho + y) * wo + xx] =
            bilinear_ref (sf_tensor_f32 (x) + p * h * w, h, w, ho, wo, y, xx);
  sf_op_resize_bilinear (out, x);
  check_close (
      "resize_bilinear", sf_tensor_f32 (out), ref, sf_tensor_numel (out), 1e-5);

  /* argmax over channels of the resized map, and the fused version */
  sf_op_argmax_channels (labels, out);
  sf_op_resize_bilinear_argmax (fused, x);
  for (gint64 b = 0; b < 2; b++)
    for (gint64 i = 0; i < ho * wo; i++) {
      const double *r = ref + b * 3 * ho * wo + i;
      int best = 0;
      for (int c = 1; c < 3; c++)
        if (r[c * ho * wo] > r[best * ho * wo])
          best = c;
      g_assert_cmpint (((gint32 *)labels->data)[b * ho * wo + i], ==, best);
      g_assert_cmpint (((gint32 *)fused->data)[b * ho * wo + i], ==, best);
    }
}

static void
test_resize_bilinear (void)
{
  run_resize_case (4, 4, 16, 16);   /* upsample ×4 (the decode head) */
  run_resize_case (16, 16, 16, 16); /* identity */
  run_resize_case (7, 5, 300, 451); /* odd ratio, to an image size */
  run_resize_case (20, 30, 6, 7);   /* downsample */
}

static void
test_argmax_ties (void)
{
  /* equal logits: the first class wins, as torch.argmax */
  g_autoptr (SfTensor) x =
      sf_tensor_new_f32 (4, (gint64)1, (gint64)3, (gint64)1, (gint64)2);
  g_autoptr (SfTensor) labels =
      sf_tensor_new (SF_DTYPE_I32, 3, (gint64[]){ 1, 1, 2 });
  float v[] = { 1, 0, 2, 5, 2, 5 };
  memcpy (x->data, v, sizeof v);
  sf_op_argmax_channels (labels, x);
  g_assert_cmpint (((gint32 *)labels->data)[0], ==, 1);
  g_assert_cmpint (((gint32 *)labels->data)[1], ==, 1);
}

static void
test_layout (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  g_autoptr (SfTensor) x = random_tensor (rand, 3, (gint64[]){ 2, 37, 70 });
  g_autoptr (SfTensor) t =
      sf_tensor_new_f32 (3, (gint64)2, (gint64)70, (gint64)37);
  g_autoptr (SfTensor) a = random_tensor (rand, 3, (gint64[]){ 2, 3, 4 });
  g_autoptr (SfTensor) b = random_tensor (rand, 3, (gint64[]){ 2, 1, 4 });
  g_autoptr (SfTensor) cat =
      sf_tensor_new_f32 (3, (gint64)2, (gint64)4, (gint64)4);
  SfTensor *inputs[] = { a, b };

  sf_op_transpose_last2 (t, x);
  for (gint64 n = 0; n < 2; n++)
    for (gint64 i = 0; i < 37; i++)
      for (gint64 j = 0; j < 70; j++)
        g_assert_cmpfloat (sf_tensor_f32 (t)[(n * 70 + j) * 37 + i], ==,
            sf_tensor_f32 (x)[(n * 37 + i) * 70 + j]);

  sf_op_concat (cat, inputs, 2, 1);
  for (gint64 n = 0; n < 2; n++)
    for (gint64 r = 0; r < 4; r++)
      for (gint64 c = 0; c < 4; c++) {
        float want = r < 3 ? sf_tensor_f32 (a)[(n * 3 + r) * 4 + c]
                           : sf_tensor_f32 (b)[n * 4 + c];
        g_assert_cmpfloat (sf_tensor_f32 (cat)[(n * 4 + r) * 4 + c], ==, want);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ops-conv/conv2d/dense", test_conv_dense);
  g_test_add_func ("/core/ops-conv/conv2d/pointwise", test_conv_pointwise);
  g_test_add_func ("/core/ops-conv/conv2d/grouped", test_conv_grouped);
  g_test_add_func ("/core/ops-conv/conv2d/depthwise", test_conv_depthwise);
  g_test_add_func ("/core/ops-conv/conv2d/out-size", test_conv_out_size);
  g_test_add_func ("/core/ops-conv/batch-norm", test_batch_norm);
  g_test_add_func ("/core/ops-conv/resize-bilinear", test_resize_bilinear);
  g_test_add_func ("/core/ops-conv/argmax/ties", test_argmax_ties);
  g_test_add_func ("/core/ops-conv/layout", test_layout);
  return g_test_run ();
}
