/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/ops and core/threads.
 *
 * Every op is compared with a naive double-precision reference written
 * here, on random inputs from fixed seeds. Each comparison reports the
 * largest absolute error and the normalised mean squared error
 * Σ(out - ref)² / Σ ref², and fails past a tolerance chosen for float
 * arithmetic of that op.
 */
#include "core/ops/ops.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/vecmath.h"
#include "tests/common/test-ops-util.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Helpers */

/* sf_test_random_tensor with the shape as arguments. */
static SfTensor *
random_tensor (GRand *rand, double lo, double hi, int ndim, ...)
{
  gint64 shape[SF_TENSOR_MAX_DIMS];
  va_list ap;

  va_start (ap, ndim);
  for (int k = 0; k < ndim; k++)
    shape[k] = va_arg (ap, gint64);
  va_end (ap);
  return sf_test_random_tensor (rand, lo, hi, ndim, shape);
}

static SfTensor *
empty_like (const SfTensor *t)
{
  return sf_tensor_new (t->dtype, t->ndim, t->shape);
}

#define F32(t) sf_tensor_f32 (t)

/* ------------------------------------------------------------------ */
/* Linear and matmul */

static void
check_linear (
    GRand *rand, gint64 m, gint64 n, gint64 k, gboolean bias, gboolean three_d)
{
  g_autoptr (SfTensor) x = three_d
      ? random_tensor (rand, -1, 1, 3, (gint64)2, m, k)
      : random_tensor (rand, -1, 1, 2, m, k);
  g_autoptr (SfTensor) w = random_tensor (rand, -1, 1, 2, n, k);
  g_autoptr (SfTensor) b = bias ? random_tensor (rand, -1, 1, 1, n) : NULL;
  g_autoptr (SfTensor) out = three_d ? sf_tensor_new_f32 (3, (gint64)2, m, n)
                                     : sf_tensor_new_f32 (2, m, n);
  gint64 rows = three_d ? 2 * m : m, i, j, p;
  double *ref = g_new (double, MAX (rows * n, 1));
  g_autofree char *what = g_strdup_printf (
      "linear %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT "%s",
      m, n, k, bias ? "+b" : "");

  /* Poison the output: the op must overwrite every element. */
  for (i = 0; i < rows * n; i++)
    F32 (out)[i] = NAN;
  sf_op_linear (out, x, w, b);

  for (i = 0; i < rows; i++)
    for (j = 0; j < n; j++) {
      double acc = bias ? F32 (b)[j] : 0.0;
      for (p = 0; p < k; p++)
        acc += (double)F32 (x)[i * k + p] * F32 (w)[j * k + p];
      ref[i * n + j] = acc;
    }
  sf_test_check_close (
      what, F32 (out), ref, rows * n, 1e-5 * MAX (k, 1) + 1e-6, 1e-10);
  g_free (ref);
}

static void
test_linear_bias (void)
{
  GRand *rand = g_rand_new_with_seed (11);

  check_linear (rand, 5, 7, 3, TRUE, FALSE);
  check_linear (rand, 128, 768, 768, TRUE, FALSE);
  check_linear (rand, 17, 300, 64, TRUE, TRUE);
  g_rand_free (rand);
}

static void
test_linear_no_bias (void)
{
  GRand *rand = g_rand_new_with_seed (12);

  check_linear (rand, 9, 31, 45, FALSE, FALSE);
  check_linear (rand, 3, 5, 7, FALSE, TRUE);
  g_rand_free (rand);
}

/* HF Conv1D weights [K, N]: the same product without a transpose. */
static void
check_linear_in_out (GRand *rand, gint64 m, gint64 n, gint64 k, gboolean bias)
{
  g_autoptr (SfTensor) x = random_tensor (rand, -1, 1, 3, (gint64)2, m, k);
  g_autoptr (SfTensor) w = random_tensor (rand, -1, 1, 2, k, n);
  g_autoptr (SfTensor) b = bias ? random_tensor (rand, -1, 1, 1, n) : NULL;
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (3, (gint64)2, m, n);
  g_autofree double *ref = g_new (double, MAX (2 * m * n, 1));

  for (gint64 i = 0; i < 2 * m * n; i++)
    F32 (out)[i] = NAN;
  sf_op_linear_in_out (out, x, w, b);
  for (gint64 i = 0; i < 2 * m; i++)
    for (gint64 j = 0; j < n; j++) {
      double acc = bias ? F32 (b)[j] : 0.0;
      for (gint64 p = 0; p < k; p++)
        acc += (double)F32 (x)[i * k + p] * F32 (w)[p * n + j];
      ref[i * n + j] = acc;
    }
  sf_test_check_close ("linear in-out", F32 (out), ref, 2 * m * n,
      1e-5 * MAX (k, 1) + 1e-6, 1e-10);
}

static void
test_linear_in_out (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (14);

  check_linear_in_out (rand, 1, 192, 64, TRUE);
  check_linear_in_out (rand, 9, 300, 64, TRUE);
  check_linear_in_out (rand, 33, 64, 256, FALSE);
}

static void
test_linear_odd (void)
{
  GRand *rand = g_rand_new_with_seed (13);

  check_linear (rand, 1, 1, 1, TRUE, FALSE);
  check_linear (rand, 1, 1, 1, FALSE, FALSE);
  check_linear (rand, 7, 13, 5, TRUE, FALSE);
  check_linear (rand, 1, 129, 257, TRUE, TRUE);
  g_rand_free (rand);
}

/* 2 to 8 rows (a decoder step over a few sequences) take their own
 * kernel: against the reference, and a row's outputs bit for bit the same
 * whatever other rows share its product. */
static void
test_linear_few_rows (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (15);
  static const gint64 ks[] = { 1, 3, 16, 45, 384 };
  g_autoptr (SfTensor) w =
      random_tensor (rand, -1, 1, 2, (gint64)301, (gint64)384);
  g_autoptr (SfTensor) x =
      random_tensor (rand, -1, 1, 2, (gint64)8, (gint64)384);
  g_autoptr (SfTensor) b = random_tensor (rand, -1, 1, 1, (gint64)301);
  g_autoptr (SfTensor) all = sf_tensor_new_f32 (2, (gint64)8, (gint64)301);

  for (gint64 m = 2; m <= 9; m++)
    for (guint i = 0; i < G_N_ELEMENTS (ks); i++) {
      check_linear (rand, m, 37, ks[i], i % 2 == 0, FALSE);
      check_linear (rand, m, 1, ks[i], TRUE, FALSE);
    }

  /* row 7 alone (sgemv), with row 6, and among all 8 */
  sf_op_linear (all, x, w, b);
  for (gint64 m = 2; m < 8; m++) {
    g_autoptr (SfTensor) xs = sf_tensor_slice0 (x, 8 - m, m);
    g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, m, (gint64)301);

    sf_op_linear (out, xs, w, b);
    g_assert_cmpmem (F32 (out) + (m - 1) * 301, 301 * sizeof (float),
        F32 (all) + 7 * 301, 301 * sizeof (float));
  }
}

static void
check_matmul (GRand *rand, gint64 m, gint64 n, gint64 k, gboolean trans_b)
{
  g_autoptr (SfTensor) a = random_tensor (rand, -1, 1, 2, m, k);
  g_autoptr (SfTensor) b = trans_b ? random_tensor (rand, -1, 1, 2, n, k)
                                   : random_tensor (rand, -1, 1, 2, k, n);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, m, n);
  double *ref = g_new (double, m *n);
  gint64 i, j, p;

  sf_op_matmul (out, a, b, trans_b);
  for (i = 0; i < m; i++)
    for (j = 0; j < n; j++) {
      double acc = 0.0;
      for (p = 0; p < k; p++)
        acc += (double)F32 (a)[i * k + p]
            * (trans_b ? F32 (b)[j * k + p] : F32 (b)[p * n + j]);
      ref[i * n + j] = acc;
    }
  sf_test_check_close (trans_b ? "matmul a.bT" : "matmul a.b", F32 (out), ref,
      m * n, 1e-5 * k, 1e-10);
  g_free (ref);
}

static void
test_matmul_plain (void)
{
  GRand *rand = g_rand_new_with_seed (14);

  check_matmul (rand, 1, 1, 1, FALSE);
  check_matmul (rand, 7, 13, 5, FALSE);
  check_matmul (rand, 64, 33, 100, FALSE);
  g_rand_free (rand);
}

static void
test_matmul_transposed (void)
{
  GRand *rand = g_rand_new_with_seed (15);

  check_matmul (rand, 7, 13, 5, TRUE);
  check_matmul (rand, 50, 77, 129, TRUE);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* Layer norm, softmax, L2 normalisation */

static double *
ref_layer_norm (
    const SfTensor *x, const SfTensor *g, const SfTensor *b, double eps)
{
  gint64 cols = sf_tensor_dim (x, -1), rows = sf_tensor_numel (x) / cols;
  double *ref = g_new (double, rows *cols);
  gint64 r, i;

  for (r = 0; r < rows; r++) {
    const float *row = F32 (x) + r * cols;
    double mean = 0.0, var = 0.0;

    for (i = 0; i < cols; i++)
      mean += row[i];
    mean /= cols;
    for (i = 0; i < cols; i++)
      var += (row[i] - mean) * (row[i] - mean);
    var /= cols;
    for (i = 0; i < cols; i++)
      ref[r * cols + i] =
          (row[i] - mean) / sqrt (var + eps) * (g ? F32 (g)[i] : 1.0)
          + (b ? F32 (b)[i] : 0.0);
  }
  return ref;
}

static void
check_layer_norm (GRand *rand, gint64 rows, gint64 cols, double offset,
    double spread, float eps, gboolean affine, gboolean in_place)
{
  g_autoptr (SfTensor) x = random_tensor (
      rand, offset - spread, offset + spread, 3, (gint64)1, rows, cols);
  g_autoptr (SfTensor) g =
      affine ? random_tensor (rand, 0.5, 1.5, 1, cols) : NULL;
  g_autoptr (SfTensor) b = affine ? random_tensor (rand, -1, 1, 1, cols) : NULL;
  g_autoptr (SfTensor) out = in_place ? sf_tensor_ref (x) : empty_like (x);
  double *ref = ref_layer_norm (x, g, b, eps);
  g_autofree char *what = g_strdup_printf ("layer norm %" G_GINT64_FORMAT
                                           "x%" G_GINT64_FORMAT " eps %g%s",
      rows, cols, eps, in_place ? " in place" : "");

  sf_op_layer_norm (out, x, g, b, eps);
  sf_test_check_close (what, F32 (out), ref, rows * cols, 2e-5, 1e-10);
  g_free (ref);
}

static void
test_layer_norm_basic (void)
{
  GRand *rand = g_rand_new_with_seed (21);

  check_layer_norm (rand, 128, 768, 0.0, 3.0, 1e-12f, TRUE, FALSE);
  check_layer_norm (rand, 3, 7, 0.0, 1.0, 1e-5f, TRUE, FALSE);
  check_layer_norm (rand, 1, 1, 0.0, 1.0, 1e-5f, TRUE, FALSE);
  /* A large common offset: the variance must not cancel. */
  check_layer_norm (rand, 9, 384, 100.0, 1.0, 1e-5f, TRUE, FALSE);
  g_rand_free (rand);
}

static void
test_layer_norm_eps (void)
{
  GRand *rand = g_rand_new_with_seed (22);

  /* Variances near eps, where eps changes the result visibly. */
  check_layer_norm (rand, 16, 64, 0.0, 0.01, 1e-4f, TRUE, FALSE);
  check_layer_norm (rand, 16, 64, 0.0, 0.01, 1e-6f, TRUE, FALSE);
  check_layer_norm (rand, 16, 65, 0.0, 1.0, 0.5f, TRUE, FALSE);
  g_rand_free (rand);
}

static void
test_layer_norm_in_place (void)
{
  GRand *rand = g_rand_new_with_seed (23);

  check_layer_norm (rand, 37, 100, 0.5, 2.0, 1e-5f, TRUE, TRUE);
  g_rand_free (rand);
}

static void
test_layer_norm_no_affine (void)
{
  GRand *rand = g_rand_new_with_seed (24);

  check_layer_norm (rand, 20, 33, 0.0, 1.0, 1e-5f, FALSE, FALSE);
  g_rand_free (rand);
}

static double *
ref_softmax (const float *x, gint64 rows, gint64 cols)
{
  double *ref = g_new (double, rows *cols);
  gint64 r, i;

  for (r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    double m = -INFINITY, sum = 0.0;

    for (i = 0; i < cols; i++)
      m = MAX (m, row[i]);
    for (i = 0; i < cols; i++)
      sum += exp (row[i] - m);
    for (i = 0; i < cols; i++)
      ref[r * cols + i] = exp (row[i] - m) / sum;
  }
  return ref;
}

static void
check_softmax (
    GRand *rand, gint64 rows, gint64 cols, double spread, gboolean in_place)
{
  g_autoptr (SfTensor) x = random_tensor (rand, -spread, spread, 2, rows, cols);
  g_autoptr (SfTensor) out = in_place ? sf_tensor_ref (x) : empty_like (x);
  double *ref = ref_softmax (F32 (x), rows, cols);
  g_autofree char *what = g_strdup_printf ("softmax %" G_GINT64_FORMAT
                                           "x%" G_GINT64_FORMAT " spread %g%s",
      rows, cols, spread, in_place ? " in place" : "");

  sf_op_softmax (out, x);
  sf_test_check_close (what, F32 (out), ref, rows * cols, 1e-6, 1e-11);
  g_free (ref);
}

static void
test_softmax_basic (void)
{
  GRand *rand = g_rand_new_with_seed (31);

  check_softmax (rand, 1, 1, 1.0, FALSE);
  check_softmax (rand, 5, 3, 1.0, FALSE);
  check_softmax (rand, 300, 128, 5.0, FALSE);
  check_softmax (rand, 2, 1001, 10.0, FALSE);
  g_rand_free (rand);
}

static void
test_softmax_large (void)
{
  GRand *rand = g_rand_new_with_seed (32);

  /* exp() of these overflows without the max subtraction. */
  check_softmax (rand, 10, 50, 1000.0, FALSE);
  g_rand_free (rand);
}

static void
test_softmax_in_place (void)
{
  GRand *rand = g_rand_new_with_seed (33);

  check_softmax (rand, 64, 77, 3.0, TRUE);
  g_rand_free (rand);
}

static void
test_softmax_all_masked (void)
{
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (2, (gint64)2, (gint64)4);
  g_autoptr (SfTensor) out = empty_like (x);
  int i;

  for (i = 0; i < 4; i++) {
    F32 (x)[i] = -INFINITY;
    F32 (x)[4 + i] = i == 2 ? 0.0f : -INFINITY;
  }
  sf_op_softmax (out, x);
  for (i = 0; i < 4; i++) {
    g_assert_cmpfloat (F32 (out)[i], ==, 0.25f);
    g_assert_cmpfloat (F32 (out)[4 + i], ==, i == 2 ? 1.0f : 0.0f);
  }
}

static void
check_l2 (GRand *rand, gint64 rows, gint64 cols, gboolean in_place)
{
  g_autoptr (SfTensor) x = random_tensor (rand, -2, 2, 2, rows, cols);
  g_autoptr (SfTensor) out = NULL;
  double *ref = g_new (double, rows *cols);
  gint64 r, i;

  /* Row 0 is zero: the eps clamp keeps it zero instead of NaN. */
  for (i = 0; i < cols; i++)
    F32 (x)[i] = 0.0f;
  for (r = 0; r < rows; r++) {
    double n2 = 0.0;
    for (i = 0; i < cols; i++)
      n2 += (double)F32 (x)[r * cols + i] * F32 (x)[r * cols + i];
    for (i = 0; i < cols; i++)
      ref[r * cols + i] = F32 (x)[r * cols + i] / MAX (sqrt (n2), 1e-12);
  }
  out = in_place ? sf_tensor_ref (x) : empty_like (x);
  sf_op_l2_normalize (out, x);
  sf_test_check_close (in_place ? "l2 normalize in place" : "l2 normalize",
      F32 (out), ref, rows * cols, 1e-6, 1e-11);
  g_free (ref);
}

static void
test_l2_normalize (void)
{
  GRand *rand = g_rand_new_with_seed (41);

  check_l2 (rand, 4, 384, FALSE);
  check_l2 (rand, 3, 5, FALSE);
  check_l2 (rand, 7, 512, TRUE);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* Activations and element-wise ops */

static double
ref_activation (SfActivation act, double x)
{
  switch (act) {
    case SF_ACTIVATION_GELU: return 0.5 * x * (1.0 + erf (x / sqrt (2.0)));
    case SF_ACTIVATION_GELU_NEW:
      return 0.5 * x
          * (1.0 + tanh (sqrt (2.0 / G_PI) * (x + 0.044715 * x * x * x)));
    case SF_ACTIVATION_QUICK_GELU: return x / (1.0 + exp (-1.702 * x));
    case SF_ACTIVATION_RELU: return x > 0 ? x : 0.0;
    case SF_ACTIVATION_SILU: return x / (1.0 + exp (-x));
    case SF_ACTIVATION_TANH: return tanh (x);
    case SF_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp (-x));
    case SF_ACTIVATION_IDENTITY: return x;
  }
  g_assert_not_reached ();
}

static void
check_activation (SfActivation act, gint64 n, gboolean in_place)
{
  GRand *rand = g_rand_new_with_seed (50 + act);
  g_autoptr (SfTensor) x = random_tensor (rand, -8, 8, 2, (gint64)3, n);
  g_autoptr (SfTensor) out = NULL;
  double *ref = g_new (double, 3 * n);
  g_autofree char *what = g_strdup_printf ("%s n=%" G_GINT64_FORMAT "%s",
      sf_activation_name (act), 3 * n, in_place ? " in place" : "");
  gint64 i;

  /* Include the extremes and zero. */
  F32 (x)[0] = 0.0f;
  if (n > 4) {
    F32 (x)[1] = -30.0f;
    F32 (x)[2] = 30.0f;
    /* exp() overflows for these in the sigmoid family. */
    F32 (x)[3] = -100.0f;
    F32 (x)[4] = 100.0f;
  }
  for (i = 0; i < 3 * n; i++)
    ref[i] = ref_activation (act, F32 (x)[i]);
  out = in_place ? sf_tensor_ref (x) : empty_like (x);
  sf_op_activation (out, x, act);
  sf_test_check_close (what, F32 (out), ref, 3 * n, 1e-5, 1e-12);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_gelu_exact (void)
{
  check_activation (SF_ACTIVATION_GELU, 1, FALSE);
  check_activation (SF_ACTIVATION_GELU, 100003, FALSE);
}

static void
test_gelu_tanh (void)
{
  check_activation (SF_ACTIVATION_GELU_NEW, 7, FALSE);
  check_activation (SF_ACTIVATION_GELU_NEW, 50000, FALSE);
}

#ifdef SF_HAVE_LIBMVEC
/* erf over [-6, 6] and at the edges through the 16-lane fit (4e-7 from
 * erf); called only where the CPU has AVX-512F. */
__attribute__ ((target ("avx512f"))) static void
check_erf_bf16 (void)
{
  const float edges[16] = { 0.0f, -0.0f, 3.92f, -3.92f, 4.0f, 100.0f, -100.0f,
    INFINITY, -INFINITY, NAN, 1e-30f, -1e-30f, 0.5f, -0.5f, 3.9f, 1e-8f };
  float x[16], y[16];
  double worst = 0.0;

  for (int i = 0; i < 120000; i += 16) {
    for (int j = 0; j < 16; j++)
      x[j] = -6.0f + 12.0f * (float)(i + j) / 120000.0f;
    _mm512_storeu_ps (y, sf_vec16_erf_bf16 (_mm512_loadu_ps (x)));
    for (int j = 0; j < 16; j++)
      worst = MAX (worst, fabs (y[j] - erf ((double)x[j])));
  }
  g_assert_cmpfloat (worst, <=, 4e-7);
  _mm512_storeu_ps (y, sf_vec16_erf_bf16 (_mm512_loadu_ps (edges)));
  for (int j = 0; j < 16; j++) {
    if (isnan (edges[j]))
      g_assert_true (isnan (y[j]));
    else
      g_assert_cmpfloat (fabs (y[j] - erf ((double)edges[j])), <=, 4e-7);
    g_assert_true (signbit (y[j]) == signbit (edges[j]) || isnan (edges[j]));
  }
}
#endif

#ifdef SF_HAVE_LIBMVEC
/* The distance in representable steps between two floats of one sign. */
static gint64
float_steps (float got, float want)
{
  gint32 a, b;

  memcpy (&a, &got, sizeof a);
  memcpy (&b, &want, sizeof b);
  return ABS ((gint64)a - (gint64)b);
}

/* The float's distance in representable steps from exp (x) rounded. */
static gint64
exp_ulps (float got, float x)
{
  return float_steps (got, (float)exp ((double)x));
}

/* The inline erf of f32 GELU: within 3 steps of erf rounded over about a
 * million floats spread over [-4.5, 4.5] and down to 1e-30 (every normal
 * float there was checked once: 2.8 at most), and its edges: ±0, ±1
 * beyond 4 and at ±inf, NaN kept. */
__attribute__ ((target ("avx512f"))) static void
check_erf_f32 (void)
{
  const float edges[16] = { 0.0f, -0.0f, 4.0f, -4.0f, 100.0f, -100.0f, INFINITY,
    -INFINITY, NAN, 1e-30f, -1e-30f, 1.125f, -1.125f, 1.1249999f, 3.9999998f,
    1e-8f };
  float x[16], y[16];
  gint64 worst = 0;

  for (gint64 i = 0; i < (1 << 20); i += 16) {
    for (int j = 0; j < 16; j++) {
      gint64 k = i + j;
      /* even k: [-4.5, 4.5] evenly; odd k: 1e-30 to 4.5 geometrically */
      x[j] = k % 2 ? (float)(1e-30 * pow (4.5e30, (double)k / (1 << 20)))
                   : -4.5f + 9.0f * (float)k / (float)(1 << 20);
    }
    _mm512_storeu_ps (y, sf_vec16_erf (_mm512_loadu_ps (x)));
    for (int j = 0; j < 16; j++)
      worst = MAX (worst, float_steps (y[j], (float)erf ((double)x[j])));
  }
  g_assert_cmpint (worst, <=, 3);
  _mm512_storeu_ps (y, sf_vec16_erf (_mm512_loadu_ps (edges)));
  for (int j = 0; j < 16; j++) {
    if (isnan (edges[j])) {
      g_assert_true (isnan (y[j]));
      continue;
    }
    g_assert_cmpint (float_steps (y[j], (float)erf ((double)edges[j])), <=, 3);
    g_assert_true (signbit (y[j]) == signbit (edges[j]));
  }
}

/* The inline exp of softmax and sigmoid: within 1 ulp over about a million
 * floats spread over [-87, 88.7] (every float there was checked once), and
 * its edges: 0 below -87 and at -inf, inf above 88.73, NaN kept. */
__attribute__ ((target ("avx512f"))) static void
check_exp_low0 (void)
{
  const float edges[16] = { 0.0f, -0.0f, -87.5f, -100.0f, -INFINITY, 88.8f,
    100.0f, INFINITY, NAN, 1e-30f, -1e-30f, 88.7f, -87.0f, 0.5f, -0.5f,
    -20.0f };
  const float expect[16] = { 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, INFINITY, INFINITY,
    INFINITY, NAN, 1.0f, 1.0f, expf (88.7f), expf (-87.0f), expf (0.5f),
    expf (-0.5f), expf (-20.0f) };
  float x[16], y[16];
  gint64 worst = 0;

  for (gint64 i = 0; i < (1 << 20); i += 16) {
    for (int j = 0; j < 16; j++)
      x[j] = -87.0f + 175.7f * (float)(i + j) / (float)(1 << 20);
    _mm512_storeu_ps (y, sf_vec16_exp_low0 (_mm512_loadu_ps (x)));
    for (int j = 0; j < 16; j++)
      worst = MAX (worst, exp_ulps (y[j], x[j]));
  }
  g_assert_cmpint (worst, <=, 1);
  _mm512_storeu_ps (y, sf_vec16_exp_low0 (_mm512_loadu_ps (edges)));
  for (int j = 0; j < 16; j++) {
    if (isnan (expect[j]))
      g_assert_true (isnan (y[j]));
    else if (isinf (expect[j]) || expect[j] == 0.0f)
      g_assert_cmpfloat (y[j], ==, expect[j]);
    else
      g_assert_cmpint (exp_ulps (y[j], edges[j]), <=, 1);
  }
}
#endif

/* Runs one of the 16-lane checks above where the CPU has AVX-512F. */
static void
test_avx512_check (gconstpointer check)
{
#ifdef SF_HAVE_LIBMVEC
  if (__builtin_cpu_supports ("avx512f")) {
    ((void (*) (void))check) ();
    return;
  }
#endif
  g_test_skip ("no AVX-512F or libmvec");
}

static void
test_activation_others (void)
{
  static const SfActivation acts[] = {
    SF_ACTIVATION_QUICK_GELU,
    SF_ACTIVATION_RELU,
    SF_ACTIVATION_SILU,
    SF_ACTIVATION_TANH,
    SF_ACTIVATION_SIGMOID,
    SF_ACTIVATION_IDENTITY,
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (acts); i++) {
    check_activation (acts[i], 13, FALSE);
    check_activation (acts[i], 40000, FALSE);
  }
}

static void
test_activation_in_place (void)
{
  SfActivation act;

  for (act = SF_ACTIVATION_GELU; act <= SF_ACTIVATION_IDENTITY; act++)
    check_activation (act, 20001, TRUE);
}

static void
test_sigmoid (void)
{
  GRand *rand = g_rand_new_with_seed (59);
  g_autoptr (SfTensor) x = random_tensor (rand, -10, 10, 1, (gint64)1000);
  g_autoptr (SfTensor) out = empty_like (x);
  double ref[1000];
  int i;

  for (i = 0; i < 1000; i++)
    ref[i] = 1.0 / (1.0 + exp (-(double)F32 (x)[i]));
  sf_op_sigmoid (out, x);
  sf_test_check_close ("sigmoid", F32 (out), ref, 1000, 1e-6, 1e-12);
  g_rand_free (rand);
}

static void
test_activation_names (void)
{
  static const struct
  {
    const char *name;
    SfActivation act;
  } names[] = {
    { "gelu", SF_ACTIVATION_GELU },
    { "gelu_new", SF_ACTIVATION_GELU_NEW },
    { "gelu_pytorch_tanh", SF_ACTIVATION_GELU_NEW },
    { "gelu_fast", SF_ACTIVATION_GELU_NEW },
    { "gelu_accurate", SF_ACTIVATION_GELU_NEW },
    { "quick_gelu", SF_ACTIVATION_QUICK_GELU },
    { "relu", SF_ACTIVATION_RELU },
    { "silu", SF_ACTIVATION_SILU },
    { "swish", SF_ACTIVATION_SILU },
    { "tanh", SF_ACTIVATION_TANH },
    { "sigmoid", SF_ACTIVATION_SIGMOID },
    { "linear", SF_ACTIVATION_IDENTITY },
    { "identity", SF_ACTIVATION_IDENTITY },
  };
  SfActivation act;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    act = SF_ACTIVATION_IDENTITY == names[i].act ? SF_ACTIVATION_GELU
                                                 : SF_ACTIVATION_IDENTITY;
    g_assert_true (sf_activation_from_name (names[i].name, &act));
    g_assert_cmpint (act, ==, names[i].act);
  }
  g_assert_false (sf_activation_from_name ("gelu_10", &act));
  g_assert_false (sf_activation_from_name ("", &act));
  g_assert_false (sf_activation_from_name (NULL, &act));

  /* Each name maps back to a spelling that parses to the same value. */
  for (i = SF_ACTIVATION_GELU; i <= SF_ACTIVATION_IDENTITY; i++) {
    g_assert_true (sf_activation_from_name (sf_activation_name (i), &act));
    g_assert_cmpint (act, ==, i);
  }
}

static void
test_add_same_shape (void)
{
  GRand *rand = g_rand_new_with_seed (61);
  g_autoptr (SfTensor) a =
      random_tensor (rand, -1, 1, 3, (gint64)2, (gint64)50, (gint64)333);
  g_autoptr (SfTensor) b =
      random_tensor (rand, -1, 1, 3, (gint64)2, (gint64)50, (gint64)333);
  g_autoptr (SfTensor) out = empty_like (a);
  gint64 n = sf_tensor_numel (a), i;
  double *ref = g_new (double, n);

  for (i = 0; i < n; i++)
    ref[i] = (double)F32 (a)[i] + F32 (b)[i];
  sf_op_add (out, a, b);
  sf_test_check_close ("add", F32 (out), ref, n, 1e-6, 1e-13);
  /* In place on either operand (the residual pattern). */
  sf_op_add (b, a, b);
  sf_test_check_close ("add into b", F32 (b), ref, n, 1e-6, 1e-13);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_add_broadcast (void)
{
  GRand *rand = g_rand_new_with_seed (62);
  g_autoptr (SfTensor) a =
      random_tensor (rand, -1, 1, 3, (gint64)3, (gint64)41, (gint64)77);
  g_autoptr (SfTensor) b = random_tensor (rand, -1, 1, 1, (gint64)77);
  g_autoptr (SfTensor) out = empty_like (a);
  gint64 n = sf_tensor_numel (a), i;
  double *ref = g_new (double, n);

  for (i = 0; i < n; i++)
    ref[i] = (double)F32 (a)[i] + F32 (b)[i % 77];
  sf_op_add (out, a, b);
  sf_test_check_close ("add broadcast", F32 (out), ref, n, 1e-6, 1e-13);
  sf_op_add (a, a, b);
  sf_test_check_close ("add broadcast in place", F32 (a), ref, n, 1e-6, 1e-13);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_scale (void)
{
  GRand *rand = g_rand_new_with_seed (63);
  g_autoptr (SfTensor) x =
      random_tensor (rand, -5, 5, 2, (gint64)100, (gint64)333);
  g_autoptr (SfTensor) out = empty_like (x);
  gint64 n = sf_tensor_numel (x), i;
  double *ref = g_new (double, n);

  for (i = 0; i < n; i++)
    ref[i] = F32 (x)[i] * 0.125;
  sf_op_scale (out, x, 0.125f);
  sf_test_check_close ("scale", F32 (out), ref, n, 0.0, 0.0);
  sf_op_scale (x, x, 0.125f);
  sf_test_check_close ("scale in place", F32 (x), ref, n, 0.0, 0.0);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_mul (void)
{
  GRand *rand = g_rand_new_with_seed (64);
  g_autoptr (SfTensor) a =
      random_tensor (rand, -5, 5, 2, (gint64)30, (gint64)77);
  g_autoptr (SfTensor) b =
      random_tensor (rand, -5, 5, 2, (gint64)30, (gint64)77);
  g_autoptr (SfTensor) out = empty_like (a);
  gint64 n = sf_tensor_numel (a), i;
  double *ref = g_new (double, n);

  for (i = 0; i < n; i++)
    ref[i] = (double)F32 (a)[i] * F32 (b)[i];
  sf_op_mul (out, a, b);
  sf_test_check_close ("mul", F32 (out), ref, n, 1e-5, 1e-12);
  sf_op_mul (a, a, b);
  sf_test_check_close ("mul in place", F32 (a), ref, n, 1e-5, 1e-12);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_rms_norm (void)
{
  GRand *rand = g_rand_new_with_seed (65);
  g_autoptr (SfTensor) x =
      random_tensor (rand, -3, 3, 2, (gint64)13, (gint64)70);
  g_autoptr (SfTensor) g = random_tensor (rand, 0.5, 2, 1, (gint64)70);
  g_autoptr (SfTensor) out = empty_like (x);
  double *ref = g_new (double, 13 * 70);

  for (gint64 r = 0; r < 13; r++) {
    double ss = 0.0;
    for (gint64 i = 0; i < 70; i++)
      ss += (double)F32 (x)[r * 70 + i] * F32 (x)[r * 70 + i];
    for (gint64 i = 0; i < 70; i++)
      ref[r * 70 + i] =
          F32 (x)[r * 70 + i] / sqrt (ss / 70 + 1e-6) * F32 (g)[i];
  }
  sf_op_rms_norm (out, x, g, 1e-6f);
  sf_test_check_close ("rms norm", F32 (out), ref, 13 * 70, 1e-5, 1e-12);
  sf_op_rms_norm (x, x, g, 1e-6f);
  sf_test_check_close ("rms norm in place", F32 (x), ref, 13 * 70, 1e-5, 1e-12);
  g_free (ref);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* Embedding and pooling */

static void
test_embedding_gather (void)
{
  GRand *rand = g_rand_new_with_seed (71);
  g_autoptr (SfTensor) table =
      random_tensor (rand, -1, 1, 2, (gint64)50, (gint64)24);
  g_autoptr (SfTensor) out =
      sf_tensor_new_f32 (3, (gint64)2, (gint64)3, (gint64)24);
  const gint64 ids[6] = { 0, 49, 7, 7, 13, 1 };
  g_autoptr (GError) error = NULL;
  double ref[6 * 24];
  int t, i;

  for (t = 0; t < 6; t++)
    for (i = 0; i < 24; i++)
      ref[t * 24 + i] = F32 (table)[ids[t] * 24 + i];
  g_assert_true (sf_op_embedding (out, table, ids, 6, &error));
  g_assert_no_error (error);
  sf_test_check_close ("embedding", F32 (out), ref, 6 * 24, 0.0, 0.0);
  g_rand_free (rand);
}

static void
test_embedding_out_of_range (void)
{
  g_autoptr (SfTensor) table = sf_tensor_new_f32 (2, (gint64)10, (gint64)4);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)3, (gint64)4);
  const gint64 too_big[3] = { 1, 10, 2 };
  const gint64 negative[3] = { 1, 2, -1 };
  g_autoptr (GError) error = NULL;

  g_assert_false (sf_op_embedding (out, table, too_big, 3, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "10"));
  g_assert_nonnull (strstr (error->message, "position 1"));
  g_clear_error (&error);

  g_assert_false (sf_op_embedding (out, table, negative, 3, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "-1"));
  g_assert_nonnull (strstr (error->message, "10 rows"));
}

/* A [B, S] mask of @dtype with the first lens[b] positions set. */
static SfTensor *
make_mask (SfDtype dtype, gint64 batch, gint64 seq, const gint64 *lens)
{
  gint64 shape[2] = { batch, seq };
  SfTensor *m = sf_tensor_new (dtype, 2, shape);
  gint64 b, s;

  for (b = 0; b < batch; b++)
    for (s = 0; s < seq; s++) {
      gint64 i = b * seq + s;
      int on = s < lens[b];

      switch (dtype) {
        case SF_DTYPE_I64: ((gint64 *)m->data)[i] = on; break;
        case SF_DTYPE_I32: ((gint32 *)m->data)[i] = on; break;
        case SF_DTYPE_F32: ((float *)m->data)[i] = on; break;
        case SF_DTYPE_U8:
        case SF_DTYPE_BOOL: ((guint8 *)m->data)[i] = on; break;
        default: g_assert_not_reached ();
      }
    }
  return m;
}

static const SfDtype mask_dtypes[] = {
  SF_DTYPE_I64,
  SF_DTYPE_I32,
  SF_DTYPE_F32,
  SF_DTYPE_U8,
  SF_DTYPE_BOOL,
};

static void
test_mean_pool (void)
{
  GRand *rand = g_rand_new_with_seed (72);
  const gint64 batch = 3, seq = 9, hidden = 35;
  const gint64 lens[3] = { 9, 4, 1 };
  g_autoptr (SfTensor) x = random_tensor (rand, -1, 1, 3, batch, seq, hidden);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, batch, hidden);
  double ref[3 * 35];
  gint64 b, t, i;
  guint d;

  for (b = 0; b < batch; b++)
    for (i = 0; i < hidden; i++) {
      double acc = 0.0;
      for (t = 0; t < lens[b]; t++)
        acc += F32 (x)[(b * seq + t) * hidden + i];
      ref[b * hidden + i] = acc / lens[b];
    }
  for (d = 0; d < G_N_ELEMENTS (mask_dtypes); d++) {
    g_autoptr (SfTensor) mask = make_mask (mask_dtypes[d], batch, seq, lens);
    g_autofree char *what =
        g_strdup_printf ("mean pool, %s mask", sf_dtype_name (mask_dtypes[d]));

    sf_op_mean_pool (out, x, mask);
    sf_test_check_close (what, F32 (out), ref, batch * hidden, 1e-6, 1e-12);
  }

  /* No mask: the plain mean over all positions. */
  for (b = 0; b < batch; b++)
    for (i = 0; i < hidden; i++) {
      double acc = 0.0;
      for (t = 0; t < seq; t++)
        acc += F32 (x)[(b * seq + t) * hidden + i];
      ref[b * hidden + i] = acc / seq;
    }
  sf_op_mean_pool (out, x, NULL);
  sf_test_check_close (
      "mean pool, no mask", F32 (out), ref, batch * hidden, 1e-6, 1e-12);
  g_rand_free (rand);
}

static void
test_mean_pool_empty_mask (void)
{
  GRand *rand = g_rand_new_with_seed (73);
  const gint64 lens[1] = { 0 };
  g_autoptr (SfTensor) x =
      random_tensor (rand, -1, 1, 3, (gint64)1, (gint64)4, (gint64)8);
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_I64, 1, 4, lens);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)1, (gint64)8);
  double ref[8] = { 0 };

  /* Σ mask = 0: the 1e-9 clamp gives zeros, not NaN. */
  sf_op_mean_pool (out, x, mask);
  sf_test_check_close ("mean pool, empty mask", F32 (out), ref, 8, 0.0, 0.0);
  g_rand_free (rand);
}

static void
test_first_token (void)
{
  GRand *rand = g_rand_new_with_seed (74);
  g_autoptr (SfTensor) x =
      random_tensor (rand, -1, 1, 3, (gint64)4, (gint64)6, (gint64)10);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)4, (gint64)10);
  double ref[40];
  int b, i;

  for (b = 0; b < 4; b++)
    for (i = 0; i < 10; i++)
      ref[b * 10 + i] = F32 (x)[b * 60 + i];
  sf_op_first_token (out, x);
  sf_test_check_close ("first token", F32 (out), ref, 40, 0.0, 0.0);
  g_rand_free (rand);
}

/* Packed sequences: rows [offsets[b], offsets[b + 1]) of x [N, H]. */
static void
test_segment_pool (void)
{
  GRand *rand = g_rand_new_with_seed (73);
  const gint64 offsets[5] = { 0, 9, 13, 13, 14 }; /* one empty sequence */
  const gint64 n_seqs = 4, hidden = 35;
  g_autoptr (SfTensor) x = random_tensor (rand, -1, 1, 2, offsets[4], hidden);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, n_seqs, hidden);
  double mean[4 * 35], first[4 * 35];

  for (gint64 b = 0; b < n_seqs; b++)
    for (gint64 i = 0; i < hidden; i++) {
      gint64 len = offsets[b + 1] - offsets[b];
      double acc = 0.0;

      for (gint64 t = offsets[b]; t < offsets[b + 1]; t++)
        acc += F32 (x)[t * hidden + i];
      mean[b * hidden + i] = len ? acc / len : 0.0;
      first[b * hidden + i] = len ? F32 (x)[offsets[b] * hidden + i] : 0.0;
    }
  sf_op_segment_mean (out, x, offsets, n_seqs);
  sf_test_check_close (
      "segment mean", F32 (out), mean, n_seqs * hidden, 1e-6, 1e-12);
  sf_op_segment_first (out, x, offsets, n_seqs);
  sf_test_check_close (
      "segment first", F32 (out), first, n_seqs * hidden, 0.0, 0.0);
  g_rand_free (rand);
}

/* ------------------------------------------------------------------ */
/* Attention */

/* @bias: NULL or [heads, T, S] added to the scores; @scale ≤ 0: 1/√d. */
static double *
ref_attention (const SfTensor *q, const SfTensor *k, const SfTensor *v,
    int n_heads, const gint64 *lens, gboolean causal, const SfTensor *bias,
    double scale)
{
  gint64 batch = q->shape[0], tl = q->shape[1], sl = k->shape[1];
  gint64 hid = q->shape[2], d = hid / n_heads, off = sl - tl;
  double *ref = g_new0 (double, batch *tl *hid);
  double *p = g_new (double, MAX (sl, 1));
  gint64 b, t, s, i;
  int h;

  for (b = 0; b < batch; b++)
    for (h = 0; h < n_heads; h++)
      for (t = 0; t < tl; t++) {
        double m = -INFINITY, sum = 0.0;
        gint64 limit = causal ? CLAMP (t + off + 1, 0, sl) : sl;
        gint64 seen = 0;

        for (s = 0; s < limit; s++) {
          double acc = 0.0;

          if (lens != NULL && s >= lens[b]) {
            p[s] = -INFINITY;
            continue;
          }
          for (i = 0; i < d; i++)
            acc += (double)F32 (q)[(b * tl + t) * hid + h * d + i]
                * F32 (k)[(b * sl + s) * hid + h * d + i];
          p[s] = acc * (scale > 0 ? scale : 1.0 / sqrt ((double)d));
          if (bias != NULL)
            p[s] += F32 (bias)[(h * tl + t) * sl + s];
          m = MAX (m, p[s]);
          seen++;
        }
        for (s = 0; s < limit; s++) {
          /* A row that sees no key averages its range uniformly. */
          p[s] = seen ? exp (p[s] - m) : 1.0;
          sum += p[s];
        }
        for (s = 0; s < limit; s++)
          for (i = 0; i < d; i++)
            ref[(b * tl + t) * hid + h * d + i] +=
                p[s] / sum * F32 (v)[(b * sl + s) * hid + h * d + i];
      }
  g_free (p);
  return ref;
}

static void
check_attention (guint seed, gint64 batch, gint64 tl, gint64 sl, int n_heads,
    gint64 head_dim, const SfTensor *mask, const gint64 *lens, gboolean causal,
    const char *what)
{
  GRand *rand = g_rand_new_with_seed (seed);
  gint64 hid = n_heads * head_dim;
  g_autoptr (SfTensor) q = random_tensor (rand, -2, 2, 3, batch, tl, hid);
  g_autoptr (SfTensor) k = random_tensor (rand, -2, 2, 3, batch, sl, hid);
  g_autoptr (SfTensor) v = random_tensor (rand, -1, 1, 3, batch, sl, hid);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (3, batch, tl, hid);
  double *ref = ref_attention (q, k, v, n_heads, lens, causal, NULL, 0.0);
  gint64 i;

  for (i = 0; i < batch * tl * hid; i++)
    F32 (out)[i] = NAN;
  sf_op_attention (out, q, k, v, n_heads, mask, causal);
  sf_test_check_close (what, F32 (out), ref, batch * tl * hid, 2e-5, 1e-10);
  g_free (ref);
  g_rand_free (rand);
}

/* T5's form: an additive bias [heads, T, S] and no 1/√d scaling. */
/* T5's form, the bias drawn from [-@spread, @spread]. */
static void
check_attention_spread (guint seed, gint64 batch, gint64 tl, gint64 sl,
    int n_heads, gint64 head_dim, const SfTensor *mask, const gint64 *lens,
    gboolean causal, float scale, float spread, const char *what)
{
  GRand *rand = g_rand_new_with_seed (seed);
  gint64 hid = n_heads * head_dim;
  g_autoptr (SfTensor) q = random_tensor (rand, -1, 1, 3, batch, tl, hid);
  g_autoptr (SfTensor) k = random_tensor (rand, -1, 1, 3, batch, sl, hid);
  g_autoptr (SfTensor) v = random_tensor (rand, -1, 1, 3, batch, sl, hid);
  g_autoptr (SfTensor) bias =
      random_tensor (rand, -spread, spread, 3, (gint64)n_heads, tl, sl);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (3, batch, tl, hid);
  double *ref = ref_attention (q, k, v, n_heads, lens, causal, bias, scale);

  sf_op_attention_biased (out, q, k, v, n_heads, mask, causal, bias, scale);
  sf_test_check_close (what, F32 (out), ref, batch * tl * hid, 2e-5, 1e-10);
  g_free (ref);
  g_rand_free (rand);
}

static void
check_attention_biased (guint seed, gint64 batch, gint64 tl, gint64 sl,
    int n_heads, gint64 head_dim, const SfTensor *mask, const gint64 *lens,
    gboolean causal, float scale, const char *what)
{
  check_attention_spread (seed, batch, tl, sl, n_heads, head_dim, mask, lens,
      causal, scale, 3.0f, what);
}

/* Scores 100s apart: most weights are below exp (-87), which the vector
 * exp gives as 0 rather than through its slow path, and the rows' tails
 * (masked lanes) likewise. */
static void
test_attention_far_scores (void)
{
  const gint64 lens[2] = { 37, 20 };
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_I64, 2, 37, lens);

  check_attention_spread (
      144, 2, 37, 37, 2, 16, mask, lens, FALSE, 1.0f, 100.0f, "far, padded");
  check_attention_spread (
      145, 1, 50, 50, 2, 16, NULL, NULL, TRUE, 1.0f, 100.0f, "far, causal");
}

static void
test_attention_biased (void)
{
  const gint64 lens[2] = { 9, 4 };
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_I64, 2, 9, lens);

  check_attention_biased (
      141, 2, 9, 9, 3, 4, mask, lens, FALSE, 1.0f, "biased, padded");
  check_attention_biased (
      142, 1, 3, 11, 2, 8, NULL, NULL, TRUE, 1.0f, "biased, causal cache");
  check_attention_biased (
      143, 2, 40, 40, 2, 16, NULL, NULL, TRUE, 0.5f, "biased, scaled");
}

static void
test_attention_no_mask (void)
{
  check_attention (81, 1, 1, 1, 1, 1, NULL, NULL, FALSE, "attention 1x1x1");
  check_attention (82, 2, 7, 7, 3, 5, NULL, NULL, FALSE, "attention odd");
  check_attention (
      83, 1, 128, 128, 12, 64, NULL, NULL, FALSE, "attention bert-base");
  /* Cross-attention: fewer queries than keys. */
  check_attention (84, 2, 5, 19, 2, 8, NULL, NULL, FALSE, "attention cross");
  /* A decoding step's few queries over a long cache, a head of several
   * vectors with a partial last one (the direct products, prefetching
   * rows ahead, on AVX-512) */
  check_attention (
      85, 2, 3, 70, 2, 40, NULL, NULL, FALSE, "attention few queries");
}

static void
test_attention_padding_mask (void)
{
  const gint64 lens[3] = { 40, 17, 1 };
  guint d;

  for (d = 0; d < G_N_ELEMENTS (mask_dtypes); d++) {
    g_autoptr (SfTensor) mask = make_mask (mask_dtypes[d], 3, 40, lens);
    g_autofree char *what = g_strdup_printf (
        "attention padding, %s mask", sf_dtype_name (mask_dtypes[d]));

    check_attention (90 + d, 3, 40, 40, 4, 16, mask, lens, FALSE, what);
  }
}

static void
test_attention_causal (void)
{
  const gint64 lens[2] = { 33, 20 };
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_I64, 2, 33, lens);

  check_attention (101, 2, 33, 33, 2, 32, NULL, NULL, TRUE, "attention causal");
  check_attention (
      102, 2, 33, 33, 2, 32, mask, lens, TRUE, "attention causal + padding");
  /* Decoding with a key cache: 3 new queries after 17 cached keys. */
  check_attention (
      103, 1, 3, 20, 4, 8, NULL, NULL, TRUE, "attention causal, cached keys");
  check_attention (
      104, 1, 1, 20, 4, 8, NULL, NULL, TRUE, "attention causal, one query");
}

static void
test_attention_all_masked (void)
{
  const gint64 lens[2] = { 0, 5 };
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_I64, 2, 6, lens);

  /* Batch item 0 has no visible key at all: no NaN, a uniform average. */
  check_attention (
      111, 2, 6, 6, 2, 4, mask, lens, FALSE, "attention fully masked");
  check_attention (
      112, 2, 6, 6, 2, 4, mask, lens, TRUE, "attention fully masked, causal");
}

/* Packed sequences against each sequence run alone through the
 * reference: a row that saw another sequence's keys would differ. */
static void
check_attention_packed (guint seed, const gint64 *lens, gint64 n_seqs,
    int n_heads, gint64 head_dim, gboolean causal, const char *what)
{
  GRand *rand = g_rand_new_with_seed (seed);
  gint64 hid = n_heads * head_dim, n = 0;
  g_autofree gint64 *offsets = g_new (gint64, n_seqs + 1);
  g_autoptr (SfTensor) q = NULL, k = NULL, v = NULL, out = NULL;

  offsets[0] = 0;
  for (gint64 b = 0; b < n_seqs; b++)
    offsets[b + 1] = n += lens[b];
  q = random_tensor (rand, -2, 2, 2, n, hid);
  k = random_tensor (rand, -2, 2, 2, n, hid);
  v = random_tensor (rand, -1, 1, 2, n, hid);
  out = sf_tensor_new_f32 (2, n, hid);
  for (gint64 i = 0; i < n * hid; i++)
    F32 (out)[i] = NAN;
  sf_op_attention_packed (out, q, k, v, n_heads, offsets, n_seqs, causal);

  for (gint64 b = 0; b < n_seqs; b++) {
    gint64 shape[3] = { 1, lens[b], hid };
    g_autoptr (SfTensor) qr = sf_tensor_slice0 (q, offsets[b], lens[b]);
    g_autoptr (SfTensor) kr = sf_tensor_slice0 (k, offsets[b], lens[b]);
    g_autoptr (SfTensor) vr = sf_tensor_slice0 (v, offsets[b], lens[b]);
    g_autoptr (SfTensor) q1 = sf_tensor_reshape (qr, 3, shape);
    g_autoptr (SfTensor) k1 = sf_tensor_reshape (kr, 3, shape);
    g_autoptr (SfTensor) v1 = sf_tensor_reshape (vr, 3, shape);
    double *ref = ref_attention (q1, k1, v1, n_heads, NULL, causal, NULL, 0.0);
    g_autofree char *label =
        g_strdup_printf ("%s, sequence %" G_GINT64_FORMAT, what, b);

    sf_test_check_close (
        label, F32 (out) + offsets[b] * hid, ref, lens[b] * hid, 2e-5, 1e-10);
    g_free (ref);
  }
  g_rand_free (rand);
}

static void
test_attention_packed (void)
{
  /* lengths around the 16-row blocks, one longer than the others' blocks */
  const gint64 lens[5] = { 5, 1, 40, 17, 16 };
  const gint64 one[1] = { 23 };

  check_attention_packed (131, lens, 5, 3, 8, FALSE, "packed attention");
  check_attention_packed (132, lens, 5, 2, 16, TRUE, "packed causal");
  check_attention_packed (133, one, 1, 12, 64, FALSE, "packed, one sequence");
}

/* q, k and v [rows, H] of a fused product's output [rows, 3H]. */
static void
split_qkv (const SfTensor *qkv, gint64 rows, gint64 hid, SfTensor **parts)
{
  for (int p = 0; p < 3; p++) {
    parts[p] = sf_tensor_new_f32 (2, rows, hid);
    for (gint64 r = 0; r < rows; r++)
      memcpy (F32 (parts[p]) + r * hid, F32 (qkv) + r * 3 * hid + p * hid,
          hid * sizeof (float));
  }
}

/* The fused forms read q, k and v from one [.., 3H] tensor and give the
 * bits of the separate forms on the split operands. */
static void
check_attention_qkv (guint seed, gint64 batch, gint64 tl, int n_heads,
    gint64 head_dim, const SfTensor *mask, gboolean causal, const char *what)
{
  GRand *rand = g_rand_new_with_seed (seed);
  gint64 hid = n_heads * head_dim, shape[3] = { batch, tl, hid };
  g_autoptr (SfTensor) qkv = random_tensor (rand, -2, 2, 3, batch, tl, 3 * hid);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (3, batch, tl, hid);
  g_autoptr (SfTensor) want = sf_tensor_new_f32 (3, batch, tl, hid);
  SfTensor *parts[3], *split[3];

  split_qkv (qkv, batch * tl, hid, parts);
  for (int p = 0; p < 3; p++)
    split[p] = sf_tensor_reshape (parts[p], 3, shape);
  sf_op_attention (want, split[0], split[1], split[2], n_heads, mask, causal);
  for (gint64 i = 0; i < batch * tl * hid; i++)
    F32 (out)[i] = NAN;
  sf_op_attention_qkv (out, qkv, n_heads, mask, causal, SF_PRECISION_F32);
  if (memcmp (F32 (out), F32 (want), batch * tl * hid * sizeof (float)) != 0)
    g_error ("%s: the fused form differs from the separate one", what);
  for (int p = 0; p < 3; p++) {
    sf_tensor_unref (parts[p]);
    sf_tensor_unref (split[p]);
  }
  g_rand_free (rand);
}

static void
check_attention_qkv_packed (guint seed, const gint64 *lens, gint64 n_seqs,
    int n_heads, gint64 head_dim, gboolean causal, const char *what)
{
  GRand *rand = g_rand_new_with_seed (seed);
  gint64 hid = n_heads * head_dim, n = 0;
  g_autofree gint64 *offsets = g_new (gint64, n_seqs + 1);
  g_autoptr (SfTensor) qkv = NULL, out = NULL, want = NULL;
  SfTensor *parts[3];

  offsets[0] = 0;
  for (gint64 b = 0; b < n_seqs; b++)
    offsets[b + 1] = n += lens[b];
  qkv = random_tensor (rand, -2, 2, 2, n, 3 * hid);
  out = sf_tensor_new_f32 (2, n, hid);
  want = sf_tensor_new_f32 (2, n, hid);
  split_qkv (qkv, n, hid, parts);
  sf_op_attention_packed (
      want, parts[0], parts[1], parts[2], n_heads, offsets, n_seqs, causal);
  for (gint64 i = 0; i < n * hid; i++)
    F32 (out)[i] = NAN;
  sf_op_attention_qkv_packed (
      out, qkv, n_heads, offsets, n_seqs, causal, SF_PRECISION_F32);
  if (memcmp (F32 (out), F32 (want), n * hid * sizeof (float)) != 0)
    g_error ("%s: the fused form differs from the separate one", what);
  for (int p = 0; p < 3; p++)
    sf_tensor_unref (parts[p]);
  g_rand_free (rand);
}

static void
test_attention_qkv (void)
{
  const gint64 lens[3] = { 40, 25, 3 };
  const gint64 packed[4] = { 5, 40, 1, 17 };
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_I64, 3, 40, lens);

  check_attention_qkv (151, 3, 40, 4, 16, mask, FALSE, "qkv, padded");
  check_attention_qkv (152, 2, 33, 2, 32, NULL, TRUE, "qkv, causal");
  check_attention_qkv (153, 2, 3, 2, 40, NULL, FALSE, "qkv, few tokens");
  check_attention_qkv (154, 1, 128, 12, 64, NULL, FALSE, "qkv, bert-base");
  check_attention_qkv_packed (155, packed, 4, 3, 8, FALSE, "qkv, packed");
  check_attention_qkv_packed (
      156, packed, 4, 2, 16, TRUE, "qkv, packed causal");
}

static void
test_attention_long (void)
{
  const gint64 lens[1] = { 900 };
  g_autoptr (SfTensor) mask = make_mask (SF_DTYPE_F32, 1, 1000, lens);

  /* Long key sequences: several query blocks per head. */
  check_attention (
      121, 1, 300, 1000, 2, 64, mask, lens, FALSE, "attention long keys");
  check_attention (
      122, 1, 300, 300, 2, 64, NULL, NULL, TRUE, "attention long, causal");
}

static void
test_attention_threads (void)
{
  int n;

  /* The same results on one thread and on more threads than cores. */
  for (n = 1; n <= 5; n += 2) {
    g_autofree char *what = g_strdup_printf ("attention, %d threads", n);

    sf_threads_set (n);
    check_attention (131, 2, 64, 64, 6, 32, NULL, NULL, FALSE, what);
  }
  sf_threads_set (0);
}

/* ------------------------------------------------------------------ */
/* Thread pool */

typedef struct
{
  gint *hits;
  gint64 n;
  gboolean nest;
} CoverArgs;

static void
cover_range (gint64 start, gint64 end, gpointer user_data)
{
  CoverArgs *args = user_data;
  gint64 i;

  g_assert_cmpint (start, >=, 0);
  g_assert_cmpint (end, <=, args->n);
  g_assert_cmpint (start, <, end);
  for (i = start; i < end; i++) {
    if (args->nest) {
      gint inner[10] = { 0 };
      CoverArgs sub = { inner, 10, FALSE };
      int j;

      sf_parallel_for (10, 1, cover_range, &sub);
      for (j = 0; j < 10; j++)
        g_assert_cmpint (inner[j], ==, 1);
    }
    g_atomic_int_inc (&args->hits[i]);
  }
}

static void
check_cover (gint64 n, gint64 min_chunk, gboolean nest)
{
  gint *hits = g_new0 (gint, MAX (n, 1));
  CoverArgs args = { hits, n, nest };
  gint64 i;

  sf_parallel_for (n, min_chunk, cover_range, &args);
  for (i = 0; i < n; i++)
    g_assert_cmpint (hits[i], ==, 1);
  g_free (hits);
}

static void
test_threads_cover (void)
{
  int t;

  for (t = 1; t <= 4; t++) {
    sf_threads_set (t);
    g_assert_cmpint (sf_threads_get (), ==, t);
    check_cover (0, 1, FALSE);
    check_cover (1, 1, FALSE);
    check_cover (7, 1, FALSE);
    check_cover (1000, 3, FALSE);
    check_cover (100, 1000, FALSE);
  }
  sf_threads_set (0);
  g_assert_cmpint (sf_threads_get (), ==, MAX (1, g_get_num_processors ()));
}

static void
test_threads_nested (void)
{
  sf_threads_set (3);
  check_cover (16, 1, TRUE);
  sf_threads_set (0);
}

static gpointer
cover_thread (gpointer data)
{
  int round;

  for (round = 0; round < 200; round++)
    check_cover (64 + round, 1, FALSE);
  return NULL;
}

static void
test_threads_concurrent (void)
{
  GThread *threads[4];
  int i;

  sf_threads_set (3);
  for (i = 0; i < 4; i++)
    threads[i] = g_thread_new ("cover", cover_thread, NULL);
  for (i = 0; i < 4; i++)
    g_thread_join (threads[i]);
  sf_threads_set (0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_assert_true (sf_blas_init (NULL));

  g_test_add_func ("/core/ops/linear/bias", test_linear_bias);
  g_test_add_func ("/core/ops/linear/no-bias", test_linear_no_bias);
  g_test_add_func ("/core/ops/linear/in-out", test_linear_in_out);
  g_test_add_func ("/core/ops/linear/odd", test_linear_odd);
  g_test_add_func ("/core/ops/linear/few-rows", test_linear_few_rows);
  g_test_add_func ("/core/ops/matmul/plain", test_matmul_plain);
  g_test_add_func ("/core/ops/matmul/transposed", test_matmul_transposed);

  g_test_add_func ("/core/ops/layer-norm/basic", test_layer_norm_basic);
  g_test_add_func ("/core/ops/layer-norm/eps", test_layer_norm_eps);
  g_test_add_func ("/core/ops/layer-norm/in-place", test_layer_norm_in_place);
  g_test_add_func ("/core/ops/layer-norm/no-affine", test_layer_norm_no_affine);
  g_test_add_func ("/core/ops/softmax/basic", test_softmax_basic);
  g_test_add_func ("/core/ops/softmax/large-values", test_softmax_large);
  g_test_add_func ("/core/ops/softmax/in-place", test_softmax_in_place);
  g_test_add_func ("/core/ops/softmax/all-masked", test_softmax_all_masked);
  g_test_add_func ("/core/ops/l2-normalize", test_l2_normalize);

  g_test_add_func ("/core/ops/gelu/exact", test_gelu_exact);
  g_test_add_func ("/core/ops/gelu/tanh", test_gelu_tanh);
  g_test_add_func ("/core/ops/activation/others", test_activation_others);
#ifdef SF_HAVE_LIBMVEC
  g_test_add_data_func ("/core/ops/activation/erf-f32",
      (gconstpointer)check_erf_f32, test_avx512_check);
  g_test_add_data_func ("/core/ops/activation/erf-bf16",
      (gconstpointer)check_erf_bf16, test_avx512_check);
  g_test_add_data_func ("/core/ops/activation/exp-low0",
      (gconstpointer)check_exp_low0, test_avx512_check);
#else
  g_test_add_data_func (
      "/core/ops/activation/erf-f32", NULL, test_avx512_check);
  g_test_add_data_func (
      "/core/ops/activation/erf-bf16", NULL, test_avx512_check);
  g_test_add_data_func (
      "/core/ops/activation/exp-low0", NULL, test_avx512_check);
#endif
  g_test_add_func ("/core/ops/activation/in-place", test_activation_in_place);
  g_test_add_func ("/core/ops/activation/names", test_activation_names);
  g_test_add_func ("/core/ops/sigmoid", test_sigmoid);
  g_test_add_func ("/core/ops/add/same-shape", test_add_same_shape);
  g_test_add_func ("/core/ops/add/broadcast", test_add_broadcast);
  g_test_add_func ("/core/ops/scale", test_scale);
  g_test_add_func ("/core/ops/mul", test_mul);
  g_test_add_func ("/core/ops/rms-norm", test_rms_norm);

  g_test_add_func ("/core/ops/embedding/gather", test_embedding_gather);
  g_test_add_func (
      "/core/ops/embedding/out-of-range", test_embedding_out_of_range);
  g_test_add_func ("/core/ops/mean-pool/mask", test_mean_pool);
  g_test_add_func ("/core/ops/mean-pool/empty-mask", test_mean_pool_empty_mask);
  g_test_add_func ("/core/ops/first-token", test_first_token);
  g_test_add_func ("/core/ops/segment-pool", test_segment_pool);

  g_test_add_func ("/core/ops/attention/no-mask", test_attention_no_mask);
  g_test_add_func (
      "/core/ops/attention/padding-mask", test_attention_padding_mask);
  g_test_add_func ("/core/ops/attention/causal", test_attention_causal);
  g_test_add_func ("/core/ops/attention/all-masked", test_attention_all_masked);
  g_test_add_func ("/core/ops/attention/long", test_attention_long);
  g_test_add_func ("/core/ops/attention/biased", test_attention_biased);
  g_test_add_func ("/core/ops/attention/far-scores", test_attention_far_scores);
  g_test_add_func ("/core/ops/attention/packed", test_attention_packed);
  g_test_add_func ("/core/ops/attention/qkv", test_attention_qkv);
  g_test_add_func ("/core/ops/attention/threads", test_attention_threads);

  g_test_add_func ("/core/threads/parallel-for/cover", test_threads_cover);
  g_test_add_func ("/core/threads/parallel-for/nested", test_threads_nested);
  g_test_add_func (
      "/core/threads/parallel-for/concurrent", test_threads_concurrent);

  return g_test_run ();
}
