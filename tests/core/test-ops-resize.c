/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/ops/resize.h: bilinear resizing against its definition in
 * double precision, and the channel argmax (plain and fused) against the
 * argmax of that reference. */
#include "core/ops/resize.h"
#include "tests/common/test-ops-util.h"

#include <math.h>
#include <string.h>

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
  g_autoptr (SfTensor) x =
      sf_test_random_tensor (rand, -1.0, 1.0, 4, (gint64[]){ 2, 3, h, w });
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
  sf_test_check_close ("resize_bilinear", sf_tensor_f32 (out), ref,
      sf_tensor_numel (out), 1e-5, 1e-10);

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ops/resize/bilinear", test_resize_bilinear);
  g_test_add_func ("/core/ops/resize/argmax-ties", test_argmax_ties);
  return g_test_run ();
}
