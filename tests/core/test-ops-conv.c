/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/ops/conv.h: every convolution against a naive
 * double-precision reference written here, on random inputs from fixed
 * seeds. */
#include "core/ops/conv.h"
#include "core/ops/layout.h"
#include "tests/common/test-ops-util.h"

#include <math.h>

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
  g_autoptr (SfTensor) x = sf_test_random_tensor (
      rand, -1.0, 1.0, 4, (gint64[]){ batch, cin, h, w });
  g_autoptr (SfTensor) wt = sf_test_random_tensor (
      rand, -1.0, 1.0, 4, (gint64[]){ cout, cin / p.groups, kh, kw });
  g_autoptr (SfTensor) b = bias
      ? sf_test_random_tensor (rand, -1.0, 1.0, 1, (gint64[]){ cout })
      : NULL;
  gint64 ho = sf_conv2d_out_size (h, (int)kh, p.stride[0], p.padding[0]);
  gint64 wo = sf_conv2d_out_size (w, (int)kw, p.stride[1], p.padding[1]);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (4, batch, cout, ho, wo);
  g_autofree double *ref = conv_reference (x, wt, b, &p, ho, wo);

  sf_op_conv2d (out, x, wt, b, &p);
  sf_test_check_close (
      "conv2d", sf_tensor_f32 (out), ref, sf_tensor_numel (out), 1e-4, 1e-10);
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

/* Direct definition of nn.Conv1d, written independently of the 2-D
 * reference above. */
static double *
conv1d_reference (const SfTensor *x, const SfTensor *w, const SfTensor *b,
    int stride, int padding, int groups, gint64 to)
{
  gint64 batch = x->shape[0], cin = x->shape[1], t = x->shape[2];
  gint64 cout = w->shape[0], cg = w->shape[1], k = w->shape[2];
  gint64 og = cout / groups;
  double *out = g_new0 (double, batch *cout *to);
  const float *xd = sf_tensor_f32 (x), *wd = sf_tensor_f32 (w);

  for (gint64 n = 0; n < batch; n++)
    for (gint64 o = 0; o < cout; o++)
      for (gint64 i = 0; i < to; i++) {
        double acc = b ? sf_tensor_f32 (b)[o] : 0.0;
        gint64 c0 = (o / og) * cg;
        for (gint64 c = 0; c < cg; c++)
          for (gint64 j = 0; j < k; j++) {
            gint64 src = i * stride - padding + j;
            if (src >= 0 && src < t)
              acc += (double)xd[(n * cin + c0 + c) * t + src]
                  * wd[(o * cg + c) * k + j];
          }
        out[(n * cout + o) * to + i] = acc;
      }
  return out;
}

/* sf_op_conv1d_frames (or, with groups, the grouped op) on the
 * same case in channels-last layout, with the weight prepared on both
 * kernel paths: Streamformer's f32 panels, and OpenBLAS (AVX-512 hidden),
 * which needs the overlapping rows copied. */
static void
check_conv1d_frames (const SfTensor *x, const SfTensor *w, const SfTensor *b,
    int stride, int padding, int groups, gint64 to, const double *ref,
    const char *what)
{
  gint64 batch = x->shape[0], cin = x->shape[1], t = x->shape[2];
  gint64 cout = w->shape[0], k = w->shape[2];
  g_autoptr (SfTensor) xf = sf_tensor_new_f32 (3, batch, t, cin);

  sf_op_transpose_last2 (xf, x);
  for (int path = 0; path < 2; path++) {
    g_autoptr (SfTensor) wf = NULL;
    g_autoptr (GPtrArray) wg =
        g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
    g_autoptr (SfTensor) of = sf_tensor_new_f32 (3, batch, to, cout);
    g_autoptr (SfTensor) back = sf_tensor_new_f32 (3, batch, cout, to);
    g_autofree char *name =
        g_strdup_printf ("%s frames%s", what, path ? " (OpenBLAS)" : "");

    if (path)
      g_setenv ("SF_CPU_DISABLE", "avx512", TRUE);
    wf = sf_conv1d_frames_weight (w);
    for (int g = 0; g < groups; g++) {
      g_autoptr (SfTensor) slice =
          sf_tensor_slice0 ((SfTensor *)w, g * (cout / groups), cout / groups);
      g_ptr_array_add (wg, sf_conv1d_frames_weight (slice));
    }
    g_unsetenv ("SF_CPU_DISABLE");
    for (gint64 i = 0; i < sf_tensor_numel (of); i++)
      sf_tensor_f32 (of)[i] = NAN;
    if (groups == 1)
      sf_op_conv1d_frames (of, xf, wf, b, (int)k, stride, padding);
    else
      sf_op_conv1d_frames_grouped (
          of, xf, (SfTensor *const *)wg->pdata, b, groups, (int)k, padding);
    sf_op_transpose_last2 (back, of);
    sf_test_check_close (name, sf_tensor_f32 (back), ref,
        sf_tensor_numel (back), 1e-5 * (cin / groups) * k, 1e-10);
  }
}

static void
run_conv1d_case (gint64 batch, gint64 cin, gint64 t, gint64 cout, gint64 k,
    int stride, int padding, int groups, gboolean bias)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7 + cin * 13 + k * 5 + groups);
  g_autoptr (SfTensor) x =
      sf_test_random_tensor (rand, -1.0, 1.0, 3, (gint64[]){ batch, cin, t });
  g_autoptr (SfTensor) w = sf_test_random_tensor (
      rand, -1.0, 1.0, 3, (gint64[]){ cout, cin / groups, k });
  g_autoptr (SfTensor) b = bias
      ? sf_test_random_tensor (rand, -1.0, 1.0, 1, (gint64[]){ cout })
      : NULL;
  gint64 to = sf_conv1d_out_size (t, (int)k, stride, padding);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (3, batch, cout, to);
  g_autofree double *ref = NULL;
  g_autofree char *what =
      g_strdup_printf ("conv1d k%" G_GINT64_FORMAT " s%d p%d g%d%s", k, stride,
          padding, groups, bias ? "+b" : "");

  g_assert_cmpint (to, >, 0);
  ref = conv1d_reference (x, w, b, stride, padding, groups, to);
  for (gint64 i = 0; i < sf_tensor_numel (out); i++)
    sf_tensor_f32 (out)[i] = NAN; /* every element must be written */
  sf_op_conv1d (out, x, w, b, stride, padding, groups);
  sf_test_check_close (what, sf_tensor_f32 (out), ref, sf_tensor_numel (out),
      1e-5 * (cin / groups) * k, 1e-10);
  if (groups == 1 || stride == 1)
    check_conv1d_frames (x, w, b, stride, padding, groups, to, ref, what);
}

static void
test_conv1d_dense (void)
{
  /* Whisper's stem: kernel 3, padding 1, stride 1 then 2 */
  run_conv1d_case (2, 5, 40, 7, 3, 1, 1, 1, TRUE);
  run_conv1d_case (1, 7, 41, 6, 3, 2, 1, 1, TRUE);
  /* a wav2vec2 feature layer: one input channel, kernel 10, stride 5 */
  run_conv1d_case (2, 1, 403, 8, 10, 5, 0, 1, FALSE);
  /* pointwise */
  run_conv1d_case (1, 16, 9, 4, 1, 1, 0, 1, TRUE);
  /* later wav2vec2 layers: kernel 3 and 2, stride 2, several tiles */
  run_conv1d_case (2, 40, 203, 70, 3, 2, 0, 1, TRUE);
  run_conv1d_case (1, 33, 64, 45, 2, 2, 0, 1, FALSE);
}

static void
test_conv1d_grouped (void)
{
  /* wav2vec2's positional conv: groups, an even kernel, padding k/2 */
  run_conv1d_case (2, 8, 30, 8, 6, 1, 3, 4, TRUE);
  run_conv1d_case (2, 48, 130, 96, 16, 1, 8, 3, TRUE);
  run_conv1d_case (1, 12, 17, 6, 3, 2, 1, 3, FALSE);
  /* depthwise */
  run_conv1d_case (2, 6, 25, 6, 5, 2, 2, 6, TRUE);
  run_conv1d_case (1, 4, 19, 4, 3, 1, 1, 4, FALSE);
}

static void
test_conv1d_out_size (void)
{
  g_assert_cmpint (sf_conv1d_out_size (3000, 3, 2, 1), ==, 1500);
  g_assert_cmpint (sf_conv1d_out_size (16000, 10, 5, 0), ==, 3199);
  g_assert_cmpint (sf_conv1d_out_size (49, 128, 1, 64), ==, 50);
  g_assert_cmpint (sf_conv1d_out_size (4, 10, 5, 0), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ops/conv2d/dense", test_conv_dense);
  g_test_add_func ("/core/ops/conv2d/pointwise", test_conv_pointwise);
  g_test_add_func ("/core/ops/conv2d/grouped", test_conv_grouped);
  g_test_add_func ("/core/ops/conv2d/depthwise", test_conv_depthwise);
  g_test_add_func ("/core/ops/conv2d/out-size", test_conv_out_size);
  g_test_add_func ("/core/ops/conv1d/dense", test_conv1d_dense);
  g_test_add_func ("/core/ops/conv1d/grouped", test_conv1d_grouped);
  g_test_add_func ("/core/ops/conv1d/out-size", test_conv1d_out_size);
  return g_test_run ();
}
