/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers for the op tests. */
#include "tests/common/test-ops-util.h"

#include <math.h>

SfTensor *
sf_test_random_tensor (
    GRand *rand, double lo, double hi, int ndim, const gint64 *shape)
{
  SfTensor *t = sf_tensor_new (SF_DTYPE_F32, ndim, shape);
  float *d = sf_tensor_f32 (t);

  for (gint64 i = 0; i < sf_tensor_numel (t); i++)
    d[i] = (float)g_rand_double_range (rand, lo, hi);
  return t;
}

void
sf_test_check_close (const char *what, const float *got, const double *ref,
    gint64 n, double max_abs_tol, double nmse_tol)
{
  double max_abs = 0.0, err2 = 0.0, ref2 = 0.0, nmse;

  for (gint64 i = 0; i < n; i++) {
    double e = fabs ((double)got[i] - ref[i]);

    if (!isfinite (got[i]))
      g_test_message (
          "%s: element %" G_GINT64_FORMAT " is %g", what, i, got[i]);
    g_assert_true (isfinite (got[i]));
    max_abs = MAX (max_abs, e);
    err2 += e * e;
    ref2 += ref[i] * ref[i];
  }
  nmse = ref2 > 0.0 ? err2 / ref2 : err2;
  g_test_message ("%s: n=%" G_GINT64_FORMAT " max_abs=%.3g nmse=%.3g", what, n,
      max_abs, nmse);
  g_assert_cmpfloat (max_abs, <=, max_abs_tol);
  g_assert_cmpfloat (nmse, <=, nmse_tol);
}
