/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/ops/channel-norm.h: every op against a naive
 * double-precision reference written here, on random inputs from fixed
 * seeds. */
#include "core/ops/channel-norm.h"
#include "core/ops/layout.h"
#include "core/threads.h"
#include "tests/common/test-ops-util.h"

#include <math.h>

static void
test_batch_norm (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gint64 shape[] = { 2, 5, 3, 4 };
  g_autoptr (SfTensor) x = sf_test_random_tensor (rand, -1.0, 1.0, 4, shape);
  g_autoptr (SfTensor) mean =
      sf_test_random_tensor (rand, -1.0, 1.0, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) var =
      sf_test_random_tensor (rand, -1.0, 1.0, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) gamma =
      sf_test_random_tensor (rand, -1.0, 1.0, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) beta =
      sf_test_random_tensor (rand, -1.0, 1.0, 1, (gint64[]){ 5 });
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
  sf_test_check_close (
      "batch_norm", sf_tensor_f32 (out), ref, sf_tensor_numel (x), 1e-5, 1e-10);
  /* in place */
  sf_op_batch_norm (x, x, mean, var, gamma, beta, 1e-5f);
  sf_test_check_close ("batch_norm in place", sf_tensor_f32 (x), ref,
      sf_tensor_numel (x), 1e-5, 1e-10);
}

/* nn.GroupNorm from its definition: mean and biased variance of each
 * (item, group) over its channels and positions, in double. */
static double *
group_norm_reference (const SfTensor *x, int groups, const SfTensor *gamma,
    const SfTensor *beta, double eps)
{
  gint64 batch = x->shape[0], c = x->shape[1];
  gint64 plane = sf_tensor_numel (x) / (batch * c), per = c / groups;
  const float *xd = sf_tensor_f32 (x);
  double *ref = g_new (double, sf_tensor_numel (x));

  for (gint64 n = 0; n < batch; n++)
    for (gint64 g = 0; g < groups; g++) {
      const float *src = xd + (n * c + g * per) * plane;
      gint64 count = per * plane;
      double mean = 0.0, var = 0.0;
      for (gint64 i = 0; i < count; i++)
        mean += src[i];
      mean /= count;
      for (gint64 i = 0; i < count; i++)
        var += (src[i] - mean) * (src[i] - mean);
      var /= count;
      for (gint64 ch = g * per; ch < (g + 1) * per; ch++)
        for (gint64 i = 0; i < plane; i++) {
          gint64 at = (n * c + ch) * plane + i;
          double y = (xd[at] - mean) / sqrt (var + eps);
          if (gamma != NULL)
            y = y * sf_tensor_f32 (gamma)[ch] + sf_tensor_f32 (beta)[ch];
          ref[at] = y;
        }
    }
  return ref;
}

static void
run_group_norm_case (int ndim, const gint64 *shape, int groups, gboolean affine,
    double offset, gboolean in_place)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (31 + groups + ndim);
  g_autoptr (SfTensor) x =
      sf_test_random_tensor (rand, offset - 1.0, offset + 1.0, ndim, shape);
  g_autoptr (SfTensor) gamma =
      affine ? sf_test_random_tensor (rand, 0.5, 1.5, 1, &shape[1]) : NULL;
  g_autoptr (SfTensor) beta =
      affine ? sf_test_random_tensor (rand, -1.0, 1.0, 1, &shape[1]) : NULL;
  g_autoptr (SfTensor) out = sf_tensor_new (SF_DTYPE_F32, ndim, shape);
  g_autofree double *ref = group_norm_reference (x, groups, gamma, beta, 1e-5);
  g_autofree char *what = g_strdup_printf ("group_norm groups=%d%s%s", groups,
      affine ? " affine" : "", in_place ? " in place" : "");
  SfTensor *dst = in_place ? x : out;

  if (ndim == 3 && groups == shape[1]) {
    /* the same per-channel norm on channels-last frames */
    g_autoptr (SfTensor) xf =
        sf_tensor_new_f32 (3, shape[0], shape[2], shape[1]);
    g_autoptr (SfTensor) back = sf_tensor_new (SF_DTYPE_F32, ndim, shape);
    g_autofree char *fwhat = g_strdup_printf ("%s frames", what);
    g_autoptr (SfTensor) one_thread =
        sf_tensor_new_f32 (3, shape[0], shape[2], shape[1]);
    sf_op_transpose_last2 (xf, x);
    /* the blocks' sums add in one order: the same bits on any pool */
    sf_threads_set (1);
    sf_op_channel_norm_frames (one_thread, xf, gamma, beta, 1e-5f);
    sf_threads_set (2);
    sf_op_channel_norm_frames (xf, xf, gamma, beta, 1e-5f);
    sf_threads_set (0);
    g_assert_cmpmem (sf_tensor_f32 (one_thread),
        sf_tensor_numel (x) * sizeof (float), sf_tensor_f32 (xf),
        sf_tensor_numel (x) * sizeof (float));
    sf_op_transpose_last2 (back, xf);
    sf_test_check_close (
        fwhat, sf_tensor_f32 (back), ref, sf_tensor_numel (x), 1e-5, 1e-10);
  }
  sf_op_group_norm (dst, x, groups, gamma, beta, 1e-5f);
  sf_test_check_close (
      what, sf_tensor_f32 (dst), ref, sf_tensor_numel (x), 1e-5, 1e-10);
}

static void
test_group_norm (void)
{
  /* groups of several channels, over [B, C, T] and [B, C, H, W] */
  run_group_norm_case (3, (gint64[]){ 2, 6, 37 }, 3, TRUE, 0.0, FALSE);
  run_group_norm_case (4, (gint64[]){ 2, 4, 3, 5 }, 2, TRUE, 0.0, FALSE);
  /* one group per channel (wav2vec2's first feature layer), no affine */
  run_group_norm_case (3, (gint64[]){ 1, 5, 400 }, 5, FALSE, 0.0, FALSE);
  run_group_norm_case (3, (gint64[]){ 2, 70, 90 }, 70, TRUE, 100.0, FALSE);
  /* frames in several blocks of the channels-last norm, far from zero */
  run_group_norm_case (3, (gint64[]){ 2, 24, 1000 }, 24, TRUE, 100.0, FALSE);
  /* one group for all channels */
  run_group_norm_case (3, (gint64[]){ 3, 4, 9 }, 1, TRUE, 0.0, FALSE);
  /* far from zero: the variance must not cancel */
  run_group_norm_case (3, (gint64[]){ 2, 4, 50 }, 2, TRUE, 100.0, FALSE);
  run_group_norm_case (3, (gint64[]){ 2, 6, 11 }, 3, TRUE, 0.0, TRUE);
}

/* torch weight_norm from its definition: for each index j along @dim,
 * out[..., j, ...] = g[j] · v[..., j, ...] / ‖v[..., j, ...]‖₂. */
static double *
weight_norm_reference (const SfTensor *g, const SfTensor *v, int dim)
{
  gint64 n = sf_tensor_numel (v), len = v->shape[dim], inner = 1;
  double *norm2 = g_new0 (double, len);
  double *ref = g_new (double, n);

  for (int d = dim + 1; d < v->ndim; d++)
    inner *= v->shape[d];
  for (gint64 i = 0; i < n; i++) {
    double e = sf_tensor_f32 (v)[i];
    norm2[(i / inner) % len] += e * e;
  }
  for (gint64 i = 0; i < n; i++) {
    gint64 j = (i / inner) % len;
    ref[i] = sf_tensor_f32 (g)[j] * sf_tensor_f32 (v)[i] / sqrt (norm2[j]);
  }
  g_free (norm2);
  return ref;
}

static void
run_weight_norm_case (int dim)
{
  const gint64 shape[] = { 4, 3, 5 };
  gint64 g_shape[] = { 1, 1, 1 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (57 + dim);
  g_autoptr (SfTensor) v = sf_test_random_tensor (rand, -1.0, 1.0, 3, shape);
  g_autoptr (SfTensor) g = NULL;
  g_autoptr (SfTensor) out = sf_tensor_new (SF_DTYPE_F32, 3, shape);
  g_autofree double *ref = NULL;
  g_autofree char *what = g_strdup_printf ("weight_norm dim=%d", dim);

  g_shape[dim] = shape[dim];
  g = sf_test_random_tensor (rand, -2.0, 2.0, 3, g_shape);
  ref = weight_norm_reference (g, v, dim);
  sf_op_weight_norm (out, g, v, dim);
  sf_test_check_close (
      what, sf_tensor_f32 (out), ref, sf_tensor_numel (out), 1e-5, 1e-10);
}

static void
test_weight_norm (void)
{
  run_weight_norm_case (0);
  run_weight_norm_case (1);
  run_weight_norm_case (2); /* wav2vec2's positional conv: dim = 2 */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ops/batch-norm", test_batch_norm);
  g_test_add_func ("/core/ops/group-norm", test_group_norm);
  g_test_add_func ("/core/ops/weight-norm", test_weight_norm);
  return g_test_run ();
}
