/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/ops/linear-packed.h, linear-f32.c, linear-bf16.c,
 * linear-int8.c and core/precision.h.
 *
 * The packed products are compared with a double-precision reference
 * computed here on the operands as the kernels see them: f32 as they are,
 * bf16 rounding of both sides, or int8 quantisation of both sides following
 * the formula in core/ops/linear-int8.h. What is left is f32 accumulation
 * error, so the tolerance is tight: relative to Σ |terms| of each output.
 * Shapes include sizes that are not multiples of the 12-row, 32-column
 * tile nor of the K groups.
 */
#include "core/ops/ops.h"
#include "core/blas.h"
#include "core/cpu.h"
#include "core/threads.h"
#include "core/error.h"
#include "core/precision.h"
#include "tests/common/test-ops-util.h"

#include <math.h>
#include <string.h>

typedef struct
{
  gint64 m, n, k;
} Shape;

static const Shape shapes[] = {
  { 1, 1, 1 },
  { 1, 33, 7 },
  { 5, 7, 3 },
  { 12, 32, 2 },
  { 13, 33, 17 },
  { 25, 70, 129 },
  { 100, 96, 64 },
  { 3, 200, 768 },
  { 130, 50, 301 },
  { 97, 130, 260 },
};

/* Relative to Σ |terms|: f32 sums of a few hundred products. */
#define SUM_TOL 2e-6
#define ABS_TOL 1e-6

static float
round_bf16 (float v)
{
  return sf_bf16_to_f32 (sf_f32_to_bf16 (v));
}

/* w[n, k] of an [N, K] (trans_w) or [K, N] weight */
static float
weight_at (const SfTensor *w, gboolean trans_w, gint64 n, gint64 k)
{
  return trans_w ? sf_tensor_f32 (w)[n * w->shape[1] + k]
                 : sf_tensor_f32 (w)[k * w->shape[1] + n];
}

static void
check_sums (const char *what, const float *got, const double *ref,
    const double *sum_abs, gint64 count)
{
  for (gint64 i = 0; i < count; i++) {
    double tol = SUM_TOL * sum_abs[i] + ABS_TOL;
    if (!(fabs (got[i] - ref[i]) <= tol))
      g_error ("%s: element %" G_GINT64_FORMAT ": got %.9g, want %.9g "
               "(tolerance %.3g)",
          what, i, got[i], ref[i], tol);
  }
}

static SfTensor *
random_tensor2 (GRand *rand, gint64 d0, gint64 d1)
{
  gint64 shape[2] = { d0, d1 };
  return sf_test_random_tensor (rand, -1, 1, 2, shape);
}

static void
run_linear (
    SfTensor *out, SfTensor *x, SfTensor *w, SfTensor *b, gboolean trans_w)
{
  if (trans_w)
    sf_op_linear (out, x, w, b);
  else
    sf_op_linear_in_out (out, x, w, b);
}

/* an operand as a kernel at @precision (f32 or bf16) multiplies it */
static float
operand (SfPrecision precision, float v)
{
  return precision == SF_PRECISION_BF16 ? round_bf16 (v) : v;
}

static void
check_float_shape (GRand *rand, const Shape *s, gboolean trans_w, gboolean bias,
    SfPrecision precision)
{
  g_autoptr (SfTensor) x = random_tensor2 (rand, s->m, s->k);
  g_autoptr (SfTensor) w = trans_w ? random_tensor2 (rand, s->n, s->k)
                                   : random_tensor2 (rand, s->k, s->n);
  g_autoptr (SfTensor) b = NULL;
  g_autoptr (SfTensor) packed = sf_linear_pack (w, trans_w, precision);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, s->m, s->n);
  g_autofree double *ref = g_new0 (double, s->m * s->n);
  g_autofree double *sum_abs = g_new0 (double, s->m * s->n);
  g_autofree char *what =
      g_strdup_printf ("%s m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT
                       " k=%" G_GINT64_FORMAT " %s%s",
          sf_precision_name (precision), s->m, s->n, s->k,
          trans_w ? "[N,K]" : "[K,N]", bias ? " bias" : "");

  if (bias) {
    gint64 shape[1] = { s->n };
    b = sf_test_random_tensor (rand, -1, 1, 1, shape);
  }
  g_assert_nonnull (sf_linear_packed (packed));
  g_assert_cmpint (sf_linear_weight_precision (packed), ==, precision);
  g_assert_cmpint (packed->shape[0], ==, w->shape[0]);
  g_assert_cmpint (packed->shape[1], ==, w->shape[1]);
  for (gint64 i = 0; i < s->m; i++) {
    for (gint64 j = 0; j < s->n; j++) {
      double acc = b ? sf_tensor_f32 (b)[j] : 0.0, mag = fabs (acc);
      for (gint64 p = 0; p < s->k; p++) {
        double t = (double)operand (precision, sf_tensor_f32 (x)[i * s->k + p])
            * operand (precision, weight_at (w, trans_w, j, p));
        acc += t;
        mag += fabs (t);
      }
      ref[i * s->n + j] = acc;
      sum_abs[i * s->n + j] = mag;
    }
  }
  run_linear (out, x, packed, b, trans_w);
  check_sums (what, sf_tensor_f32 (out), ref, sum_abs, s->m * s->n);
}

static void
test_bf16_shapes (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);

  if (sf_precision_missing (SF_PRECISION_BF16) != NULL) {
    g_test_skip ("this CPU lacks AVX512_BF16");
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    check_float_shape (rand, &shapes[i], TRUE, i % 2 == 0, SF_PRECISION_BF16);
    check_float_shape (rand, &shapes[i], FALSE, i % 2 == 1, SF_PRECISION_BF16);
  }
}

static gboolean
have_f32_panels (void)
{
  return (sf_cpu_kernel_features () & SF_CPU_AVX512) != 0;
}

static void
test_f32_shapes (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (16);

  if (!have_f32_panels ()) {
    g_test_skip ("this CPU lacks AVX-512: f32 stays with OpenBLAS");
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    check_float_shape (rand, &shapes[i], TRUE, i % 2 == 0, SF_PRECISION_F32);
    check_float_shape (rand, &shapes[i], FALSE, i % 2 == 1, SF_PRECISION_F32);
  }
}

/* Each output of the f32 kernel is one sum over K in order, so a row gives
 * the same bits alone, among 40 others, and with one or two threads: what
 * makes padded, packed and single texts agree exactly. */
static void
test_f32_rows_independent (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  g_autoptr (SfTensor) x = random_tensor2 (rand, 40, 300);
  g_autoptr (SfTensor) w = random_tensor2 (rand, 70, 300);
  g_autoptr (SfTensor) packed = NULL;
  g_autoptr (SfTensor) all = sf_tensor_new_f32 (2, (gint64)40, (gint64)70);

  if (!have_f32_panels ()) {
    g_test_skip ("this CPU lacks AVX-512: f32 stays with OpenBLAS");
    return;
  }
  packed = sf_linear_pack (w, TRUE, SF_PRECISION_F32);
  sf_threads_set (2);
  sf_op_linear (all, x, packed, NULL);
  sf_threads_set (1);
  for (gint64 i = 0; i < 40; i += 3) {
    g_autoptr (SfTensor) row = sf_tensor_slice0 (x, i, 1);
    g_autoptr (SfTensor) one = sf_tensor_new_f32 (2, (gint64)1, (gint64)70);
    sf_op_linear (one, row, packed, NULL);
    g_assert_cmpmem (sf_tensor_f32 (one), 70 * sizeof (float),
        sf_tensor_f32 (all) + i * 70, 70 * sizeof (float));
  }
  sf_threads_set (0);
}

/* Only storage that sf_linear_pack () wrote counts as packed: an F32
 * tensor that begins with a packed header's bytes is plain data. */
static void
test_packed_not_forged (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (18);
  g_autoptr (SfTensor) w = random_tensor2 (rand, 64, 40);
  g_autoptr (SfTensor) packed = sf_linear_pack (w, TRUE, SF_PRECISION_F32);
  g_autoptr (SfTensor) copy = NULL;

  if (!have_f32_panels ()) {
    g_test_skip ("this CPU lacks AVX-512: f32 stays with OpenBLAS");
    return;
  }
  g_assert_nonnull (sf_linear_packed (packed));
  copy = sf_tensor_new_from_data (
      SF_DTYPE_F32, 2, packed->shape, sf_tensor_f32 (packed));
  g_assert_null (sf_linear_packed (copy));
  g_assert_null (sf_linear_packed (w));
  /* packing twice is a no-op */
  {
    g_autoptr (SfTensor) again =
        sf_linear_pack (packed, TRUE, SF_PRECISION_F32);
    g_assert_true (again == packed);
  }
}

/* The quantisation of core/ops/linear-int8.h, written out again. */
static void
quantise_row (const float *x, gint64 k, gint32 *q, float *scale, gint32 *zp)
{
  float lo = 0.0f, hi = 0.0f, s, z;

  for (gint64 p = 0; p < k; p++) {
    lo = MIN (lo, x[p]);
    hi = MAX (hi, x[p]);
  }
  s = (hi - lo) / 255.0f;
  if (s == 0.0f)
    s = 1.0f;
  z = CLAMP (rintf (-lo / s), 0.0f, 255.0f);
  for (gint64 p = 0; p < k; p++)
    q[p] = (gint32)CLAMP (rintf (x[p] / s) + z, 0.0f, 255.0f);
  *scale = s;
  *zp = (gint32)z;
}

static void
check_int8_shape (GRand *rand, const Shape *s, gboolean trans_w, gboolean bias)
{
  g_autoptr (SfTensor) x = random_tensor2 (rand, s->m, s->k);
  g_autoptr (SfTensor) w = trans_w ? random_tensor2 (rand, s->n, s->k)
                                   : random_tensor2 (rand, s->k, s->n);
  g_autoptr (SfTensor) b = NULL;
  g_autoptr (SfTensor) packed = NULL;
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, s->m, s->n);
  g_autofree double *ref = g_new0 (double, s->m * s->n);
  g_autofree double *sum_abs = g_new0 (double, s->m * s->n);
  g_autofree gint32 *qx = g_new (gint32, s->m * s->k);
  g_autofree gint32 *qw = g_new (gint32, s->n * s->k);
  g_autofree float *sx = g_new (float, s->m);
  g_autofree gint32 *zx = g_new (gint32, s->m);
  g_autofree float *sw = g_new (float, s->n);
  g_autofree char *what =
      g_strdup_printf ("int8 m=%" G_GINT64_FORMAT " n=%" G_GINT64_FORMAT
                       " k=%" G_GINT64_FORMAT " %s%s",
          s->m, s->n, s->k, trans_w ? "[N,K]" : "[K,N]", bias ? " bias" : "");

  if (bias) {
    gint64 shape[1] = { s->n };
    b = sf_test_random_tensor (rand, -1, 1, 1, shape);
  }
  /* one row of x all zero, one all positive: zero points 0 and 0 with
   * scale 1, and the ends of the u8 range */
  if (s->m > 2) {
    memset (sf_tensor_f32 (x), 0, s->k * sizeof (float));
    for (gint64 p = 0; p < s->k; p++)
      sf_tensor_f32 (x)[s->k + p] = fabsf (sf_tensor_f32 (x)[s->k + p]);
  }
  packed = sf_linear_pack (w, trans_w, SF_PRECISION_INT8);
  g_assert_cmpint (sf_linear_weight_precision (packed), ==, SF_PRECISION_INT8);

  for (gint64 i = 0; i < s->m; i++)
    quantise_row (
        sf_tensor_f32 (x) + i * s->k, s->k, qx + i * s->k, &sx[i], &zx[i]);
  for (gint64 j = 0; j < s->n; j++) {
    float amax = 0.0f;
    for (gint64 p = 0; p < s->k; p++)
      amax = MAX (amax, fabsf (weight_at (w, trans_w, j, p)));
    sw[j] = amax > 0.0f ? amax / 127.0f : 1.0f;
    for (gint64 p = 0; p < s->k; p++)
      qw[j * s->k + p] = (gint32)CLAMP (
          rintf (weight_at (w, trans_w, j, p) / sw[j]), -127.0f, 127.0f);
  }
  for (gint64 i = 0; i < s->m; i++) {
    for (gint64 j = 0; j < s->n; j++) {
      double scale = (double)sx[i] * sw[j], acc = 0.0, mag;
      for (gint64 p = 0; p < s->k; p++)
        acc += (double)(qx[i * s->k + p] - zx[i]) * qw[j * s->k + p];
      /* the integer sum is exact; what is left is the f32 dequantisation */
      mag = fabs (acc * scale) + (b ? fabs (sf_tensor_f32 (b)[j]) : 0.0);
      ref[i * s->n + j] = acc * scale + (b ? sf_tensor_f32 (b)[j] : 0.0);
      sum_abs[i * s->n + j] = mag;
    }
  }
  run_linear (out, x, packed, b, trans_w);
  check_sums (what, sf_tensor_f32 (out), ref, sum_abs, s->m * s->n);
}

static void
test_int8_shapes (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (12);

  if (sf_precision_missing (SF_PRECISION_INT8) != NULL) {
    g_test_skip ("this CPU lacks AVX512_VNNI");
    return;
  }
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    check_int8_shape (rand, &shapes[i], TRUE, i % 2 == 0);
    check_int8_shape (rand, &shapes[i], FALSE, i % 2 == 1);
  }
}

/* Reduced precision stays close to f32 itself: bf16 keeps 8 bits of
 * mantissa, int8 about 7 bits per operand. */
static void
test_close_to_f32 (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  g_autoptr (SfTensor) x = random_tensor2 (rand, 64, 384);
  g_autoptr (SfTensor) w = random_tensor2 (rand, 96, 384);
  g_autoptr (SfTensor) ref = sf_tensor_new_f32 (2, (gint64)64, (gint64)96);
  const SfPrecision precisions[] = { SF_PRECISION_BF16, SF_PRECISION_INT8 };
  const double nmse_tol[] = { 1e-4, 1e-3 };

  sf_op_linear (ref, x, w, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (precisions); i++) {
    g_autoptr (SfTensor) packed = NULL;
    g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)64, (gint64)96);
    g_autofree double *r = g_new (double, 64 * 96);

    if (sf_precision_missing (precisions[i]) != NULL)
      continue;
    packed = sf_linear_pack (w, TRUE, precisions[i]);
    sf_op_linear (out, x, packed, NULL);
    for (gint64 j = 0; j < 64 * 96; j++)
      r[j] = sf_tensor_f32 (ref)[j];
    sf_test_check_close (sf_precision_name (precisions[i]), sf_tensor_f32 (out),
        r, 64 * 96, 0.2, nmse_tol[i]);
  }
}

/* A row holding NaN gives NaN, as in f32, not a finite guess. */
static void
test_int8_nonfinite (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (14);
  g_autoptr (SfTensor) x = random_tensor2 (rand, 3, 40);
  g_autoptr (SfTensor) w = random_tensor2 (rand, 20, 40);
  g_autoptr (SfTensor) packed = NULL;
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)3, (gint64)20);

  if (sf_precision_missing (SF_PRECISION_INT8) != NULL) {
    g_test_skip ("this CPU lacks AVX512_VNNI");
    return;
  }
  packed = sf_linear_pack (w, TRUE, SF_PRECISION_INT8);
  sf_tensor_f32 (x)[40 + 5] = NAN;
  sf_op_linear (out, x, packed, NULL);
  for (gint64 j = 0; j < 20; j++) {
    g_assert_true (isfinite (sf_tensor_f32 (out)[j]));
    g_assert_true (isnan (sf_tensor_f32 (out)[20 + j]));
    g_assert_true (isfinite (sf_tensor_f32 (out)[40 + j]));
  }
}

static void
test_names (void)
{
  SfPrecision p = SF_PRECISION_F32;
  g_autoptr (GError) error = NULL;

  g_assert_true (sf_precision_from_name ("bf16", &p, NULL));
  g_assert_cmpint (p, ==, SF_PRECISION_BF16);
  g_assert_true (sf_precision_from_name ("INT8", &p, NULL));
  g_assert_cmpint (p, ==, SF_PRECISION_INT8);
  g_assert_true (sf_precision_from_name ("f32", &p, NULL));
  g_assert_cmpint (p, ==, SF_PRECISION_F32);
  g_assert_false (sf_precision_from_name ("fp8", &p, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "fp8"));
  g_assert_cmpstr (sf_precision_name (SF_PRECISION_INT8), ==, "int8");
  g_assert_null (sf_precision_missing (SF_PRECISION_F32));
}

/* With the instructions hidden, the request resolves to f32 with a
 * warning naming what is missing, nothing is packed and the results are
 * those of f32, bit for bit. */
static void
test_fallback (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (15);
  g_autoptr (SfTensor) x = random_tensor2 (rand, 7, 50);
  g_autoptr (SfTensor) w = random_tensor2 (rand, 30, 50);
  g_autoptr (SfTensor) ref = sf_tensor_new_f32 (2, (gint64)7, (gint64)30);
  struct
  {
    const char *disable;
    SfPrecision precision;
    const char *named;
  } cases[] = {
    { "avx512_bf16", SF_PRECISION_BF16, "AVX512_BF16" },
    { "avx512_vnni", SF_PRECISION_INT8, "AVX512_VNNI" },
    { "avx512", SF_PRECISION_BF16, "AVX-512" },
    { " avx512_vnni , avx512_bf16", SF_PRECISION_INT8, "AVX512_VNNI" },
    { "avx512", SF_PRECISION_F32, NULL },
  };

  sf_op_linear (ref, x, w, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *warning = NULL;
    g_autoptr (SfTensor) packed = NULL;
    g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)7, (gint64)30);

    g_setenv ("SF_CPU_DISABLE", cases[i].disable, TRUE);
    g_assert_cmpint (sf_precision_resolve (cases[i].precision, &warning), ==,
        SF_PRECISION_F32);
    if (cases[i].named == NULL) {
      /* f32 without AVX-512: no warning, OpenBLAS runs it */
      g_assert_null (warning);
    } else {
      g_assert_nonnull (warning);
      g_assert_nonnull (strstr (warning, cases[i].named));
      g_assert_nonnull (strstr (warning, "f32"));
    }
    packed = sf_linear_pack (w, TRUE, cases[i].precision);
    g_assert_true (packed == w);
    g_assert_cmpint (sf_linear_weight_precision (packed), ==, SF_PRECISION_F32);
    sf_op_linear (out, x, packed, NULL);
    g_assert_cmpmem (sf_tensor_f32 (out), 7 * 30 * sizeof (float),
        sf_tensor_f32 (ref), 7 * 30 * sizeof (float));
    g_unsetenv ("SF_CPU_DISABLE");
  }
  {
    g_autofree char *warning = NULL;
    g_assert_cmpint (sf_precision_resolve (SF_PRECISION_F32, &warning), ==,
        SF_PRECISION_F32);
    g_assert_null (warning);
  }
}

/* Three weights concatenated give, column for column, the bits of the
 * three products run apart, at every precision this CPU runs; parts that
 * do not fill whole panels, or are packed unlike each other, are not
 * concatenated. */
static void
test_concat (void)
{
  const gint64 m = 13, k = 70, n[3] = { 64, 32, 45 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (21);
  g_autoptr (SfTensor) x = random_tensor2 (rand, m, k);
  SfTensor *w[3], *b[3];
  SfPrecision precisions[] = { SF_PRECISION_F32, SF_PRECISION_BF16,
    SF_PRECISION_INT8 };
  guint tested = 0;

  for (int i = 0; i < 3; i++) {
    w[i] = random_tensor2 (rand, n[i], k);
    b[i] = sf_test_random_tensor (rand, -1, 1, 1, &n[i]);
  }
  for (guint p = 0; p < G_N_ELEMENTS (precisions); p++) {
    g_autoptr (SfTensor) fused = NULL;
    g_autoptr (SfTensor) bias = sf_tensor_new_f32 (1, (gint64)141);
    g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, m, (gint64)141);
    SfTensor *packed[3], *swapped[3];
    gint64 col = 0;

    if (precisions[p] == SF_PRECISION_F32
            ? !have_f32_panels ()
            : sf_precision_missing (precisions[p]) != NULL)
      continue;
    for (int i = 0; i < 3; i++)
      packed[i] = sf_linear_pack (w[i], TRUE, precisions[p]);
    fused = sf_linear_packed_concat (packed, 3);
    g_assert_nonnull (fused);
    g_assert_cmpint (fused->shape[0], ==, 141);
    g_assert_cmpint (fused->shape[1], ==, k);
    g_assert_cmpint (
        sf_linear_weight_precision (fused), ==, (gint)precisions[p]);
    for (int i = 0; i < 3; i++) {
      memcpy (sf_tensor_f32 (bias) + col, sf_tensor_f32 (b[i]),
          n[i] * sizeof (float));
      col += n[i];
    }
    sf_op_linear (out, x, fused, bias);
    col = 0;
    for (int i = 0; i < 3; i++) {
      g_autoptr (SfTensor) part = sf_tensor_new_f32 (2, m, n[i]);
      sf_op_linear (part, x, packed[i], b[i]);
      for (gint64 r = 0; r < m; r++)
        g_assert_cmpmem (sf_tensor_f32 (out) + r * 141 + col,
            n[i] * sizeof (float), sf_tensor_f32 (part) + r * n[i],
            n[i] * sizeof (float));
      col += n[i];
    }
    /* a 45-column part first would leave a partial panel inside */
    swapped[0] = packed[2];
    swapped[1] = packed[0];
    swapped[2] = packed[1];
    g_assert_null (sf_linear_packed_concat (swapped, 3));
    /* an unpacked part */
    swapped[0] = packed[0];
    swapped[1] = w[1];
    swapped[2] = packed[2];
    g_assert_null (sf_linear_packed_concat (swapped, 3));
    for (int i = 0; i < 3; i++)
      sf_tensor_unref (packed[i]);
    tested++;
  }
  if (tested >= 2) {
    /* parts packed at different precisions */
    SfTensor *mixed[2];
    mixed[0] = sf_linear_pack (
        w[0], TRUE, have_f32_panels () ? SF_PRECISION_F32 : SF_PRECISION_BF16);
    mixed[1] = sf_linear_pack (w[1], TRUE,
        sf_precision_missing (SF_PRECISION_INT8) ? SF_PRECISION_BF16
                                                 : SF_PRECISION_INT8);
    g_assert_null (sf_linear_packed_concat (mixed, 2));
    sf_tensor_unref (mixed[0]);
    sf_tensor_unref (mixed[1]);
  }
  if (tested == 0)
    g_test_skip ("no packed kernel on this CPU");
  for (int i = 0; i < 3; i++) {
    sf_tensor_unref (w[i]);
    sf_tensor_unref (b[i]);
  }
}

/* Attention over one sequence's fused rows qkv [len, 3H] as the bf16
 * products compute it: the scaled queries, keys, unnormalised softmax
 * weights and values rounded to bf16, the rest in double. A weight whose
 * f32 exponential lies on a bf16 rounding boundary may round the other
 * way, one bf16 step of one term: the tolerance is 2⁻⁸ of Σ |terms|. */
static void
check_bf16_attention_rows (const float *qkv, gint64 len, gint64 keys,
    int n_heads, gint64 d, const float *got, const char *what)
{
  gint64 hid = n_heads * d;
  float scale = 1.0f / sqrtf ((float)d);
  double *s = g_new (double, keys);

  for (int h = 0; h < n_heads; h++) {
    for (gint64 t = 0; t < len; t++) {
      const float *q = qkv + t * 3 * hid + h * d;
      double m = -INFINITY, sum = 0;

      for (gint64 j = 0; j < keys; j++) {
        const float *k = qkv + j * 3 * hid + hid + h * d;
        s[j] = 0;
        for (gint64 i = 0; i < d; i++)
          s[j] += (double)round_bf16 (q[i] * scale) * round_bf16 (k[i]);
        m = MAX (m, s[j]);
      }
      for (gint64 j = 0; j < keys; j++) {
        s[j] = exp (s[j] - m);
        sum += s[j];
      }
      for (gint64 i = 0; i < d; i++) {
        double ref = 0, mag = 0, diff;
        for (gint64 j = 0; j < keys; j++) {
          double term = round_bf16 ((float)s[j])
              * (double)round_bf16 (qkv[j * 3 * hid + 2 * hid + h * d + i]);
          ref += term;
          mag += fabs (term);
        }
        diff = fabs (got[t * hid + h * d + i] - ref / sum);
        if (!(diff <= 4e-3 * mag / sum + 1e-6))
          g_error ("%s: row %" G_GINT64_FORMAT
                   ", head %d, column %" G_GINT64_FORMAT
                   ": got %.7g, want %.7g",
              what, t, h, i, got[t * hid + h * d + i], ref / sum);
      }
    }
  }
  g_free (s);
}

/* Attention at bf16 (sf_op_attention_qkv[_packed], core/ops/attention.h)
 * against operands rounded as the panels see them, with a padding mask,
 * an odd head size and packed sequences; without AVX512_BF16, the same
 * bits as f32. */
static void
test_bf16_attention (void)
{
  const gint64 t_len = 40, lens[2] = { 40, 23 }, packed_lens[2] = { 17, 33 };
  const gint64 offsets[3] = { 0, 17, 50 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (27);
  gint64 qkv_shape[3] = { 2, t_len, 3 * 34 }, mask_shape[2] = { 2, t_len };
  gint64 packed_shape[2] = { 50, 3 * 48 };
  g_autoptr (SfTensor) qkv = sf_test_random_tensor (rand, -2, 2, 3, qkv_shape);
  g_autoptr (SfTensor) mask = sf_tensor_new (SF_DTYPE_I64, 2, mask_shape);
  g_autoptr (SfTensor) out =
      sf_tensor_new_f32 (3, (gint64)2, t_len, (gint64)34);
  g_autoptr (SfTensor) f32 =
      sf_tensor_new_f32 (3, (gint64)2, t_len, (gint64)34);
  g_autoptr (SfTensor) pqkv =
      sf_test_random_tensor (rand, -2, 2, 2, packed_shape);
  g_autoptr (SfTensor) pout = sf_tensor_new_f32 (2, (gint64)50, (gint64)48);
  gboolean bf16 = sf_precision_missing (SF_PRECISION_BF16) == NULL;

  for (gint64 b = 0; b < 2; b++)
    for (gint64 t = 0; t < t_len; t++)
      sf_tensor_i64 (mask)[b * t_len + t] = t < lens[b];
  /* two heads of 17 */
  sf_op_attention_qkv (out, qkv, 2, mask, FALSE, SF_PRECISION_BF16);
  sf_op_attention_qkv (f32, qkv, 2, mask, FALSE, SF_PRECISION_F32);
  if (!bf16) {
    g_assert_cmpmem (sf_tensor_f32 (out), sf_tensor_nbytes (out),
        sf_tensor_f32 (f32), sf_tensor_nbytes (f32));
    g_test_skip ("no AVX512_BF16 on this CPU: f32 ran, as it should");
    return;
  }
  /* the bf16 products ran: they round, so the bits differ from f32's */
  g_assert_true (
      memcmp (sf_tensor_f32 (out), sf_tensor_f32 (f32), sf_tensor_nbytes (out))
      != 0);
  for (gint64 b = 0; b < 2; b++)
    check_bf16_attention_rows (sf_tensor_f32 (qkv) + b * t_len * 3 * 34, t_len,
        lens[b], 2, 17, sf_tensor_f32 (out) + b * t_len * 34,
        b == 0 ? "bf16 attention" : "bf16 attention, padded");
  /* three heads of 16 over two packed sequences */
  sf_op_attention_qkv_packed (
      pout, pqkv, 3, offsets, 2, FALSE, SF_PRECISION_BF16);
  for (gint64 b = 0; b < 2; b++)
    check_bf16_attention_rows (sf_tensor_f32 (pqkv) + offsets[b] * 3 * 48,
        packed_lens[b], packed_lens[b], 3, 16,
        sf_tensor_f32 (pout) + offsets[b] * 48, "bf16 attention, packed");
}

/* A product with its activation applied by the kernel, block by block,
 * gives the bits of the product followed by the activation over the whole
 * output, at every precision this CPU runs: 1000 columns end in a partial
 * panel and a masked group of 8, 520-long rows make bf16 run several
 * panel groups, and gelu_new (not fusable) takes the separate pass. */
static void
test_linear_act (void)
{
  const gint64 m = 150, k = 520, n = 1000;
  g_autoptr (GRand) rand = g_rand_new_with_seed (33);
  g_autoptr (SfTensor) x = random_tensor2 (rand, m, k);
  g_autoptr (SfTensor) w = random_tensor2 (rand, n, k);
  g_autoptr (SfTensor) b = sf_test_random_tensor (rand, -1, 1, 1, &n);
  const SfActivation acts[] = { SF_ACTIVATION_GELU, SF_ACTIVATION_QUICK_GELU,
    SF_ACTIVATION_SILU, SF_ACTIVATION_RELU, SF_ACTIVATION_GELU_NEW };
  const SfPrecision precisions[] = { SF_PRECISION_F32, SF_PRECISION_BF16,
    SF_PRECISION_INT8 };

  for (guint p = 0; p < G_N_ELEMENTS (precisions); p++) {
    g_autoptr (SfTensor) packed = NULL;

    if (precisions[p] == SF_PRECISION_F32
            ? !have_f32_panels ()
            : sf_precision_missing (precisions[p]) != NULL)
      continue;
    packed = sf_linear_pack (w, TRUE, precisions[p]);
    for (guint a = 0; a < G_N_ELEMENTS (acts); a++) {
      g_autoptr (SfTensor) want = sf_tensor_new_f32 (2, m, n);
      g_autoptr (SfTensor) got = sf_tensor_new_f32 (2, m, n);

      sf_op_linear (want, x, packed, b);
      sf_op_activation (want, want, acts[a]);
      sf_op_linear_act (got, x, packed, b, acts[a]);
      if (memcmp (sf_tensor_f32 (got), sf_tensor_f32 (want),
              sf_tensor_nbytes (want))
          != 0)
        g_error ("%s, %s: fused activation differs from the separate pass",
            sf_precision_name (precisions[p]), sf_activation_name (acts[a]));
    }
  }
}

/* sf_op_feed_forward (x · w1, @act, · w2) against the two products and
 * the activation apart, with f32 rows in between: the same bits, or for
 * GELU (whose erf at bf16 is fitted, core/vecmath.h) within 1e-4 of the
 * largest output, a few hidden values rounding to the next bf16;
 * @in_place passes the output as the input (w2 with as many rows as w1
 * has columns). */
static void
check_feed_forward (const SfTensor *x, const SfTensor *w1, const SfTensor *b1,
    SfActivation act, const SfTensor *w2, const SfTensor *b2, gboolean in_place)
{
  gint64 m = x->shape[0], n = w2->shape[0];
  g_autoptr (SfTensor) mid = sf_tensor_new_f32 (2, m, w1->shape[0]);
  g_autoptr (SfTensor) want = sf_tensor_new_f32 (2, m, n);
  g_autoptr (SfTensor) got = sf_tensor_new_f32 (2, m, n);
  float largest = 0.0f, worst = 0.0f;

  sf_op_linear (mid, x, w1, b1);
  sf_op_activation (mid, mid, act);
  sf_op_linear (want, mid, w2, b2);
  if (in_place) {
    memcpy (sf_tensor_f32 (got), sf_tensor_f32 (x), sf_tensor_nbytes (x));
    sf_op_feed_forward (got, got, w1, b1, act, w2, b2);
  } else
    sf_op_feed_forward (got, x, w1, b1, act, w2, b2);
  if (act != SF_ACTIVATION_GELU) {
    g_assert_cmpmem (sf_tensor_f32 (got), sf_tensor_nbytes (got),
        sf_tensor_f32 (want), sf_tensor_nbytes (want));
    return;
  }
  for (gint64 i = 0; i < m * n; i++) {
    largest = MAX (largest, fabsf (sf_tensor_f32 (want)[i]));
    worst =
        MAX (worst, fabsf (sf_tensor_f32 (got)[i] - sf_tensor_f32 (want)[i]));
  }
  g_assert_cmpfloat (largest, >, 1.0f);
  g_assert_cmpfloat (worst, <=, 1e-4f * largest);
}

/* A feed-forward block at bf16 passes its hidden rows as bf16, giving
 * what the two products apart give with f32 rows in between; an odd
 * hidden width, or an activation that is not fusable, keeps f32 rows. */
static void
test_feed_forward_bf16 (void)
{
  const gint64 m = 37, k = 71, hidden = 1000, n = 45;
  g_autoptr (GRand) rand = g_rand_new_with_seed (34);
  g_autoptr (SfTensor) x = random_tensor2 (rand, m, k);
  g_autoptr (SfTensor) w1 = random_tensor2 (rand, hidden, k);
  g_autoptr (SfTensor) w2 = random_tensor2 (rand, n, hidden);
  g_autoptr (SfTensor) w3 = random_tensor2 (rand, k, hidden);
  g_autoptr (SfTensor) w_odd = random_tensor2 (rand, hidden - 1, k);
  g_autoptr (SfTensor) b1 = sf_test_random_tensor (rand, -1, 1, 1, &hidden);
  g_autoptr (SfTensor) b2 = sf_test_random_tensor (rand, -1, 1, 1, &n);
  g_autoptr (SfTensor) p1 = NULL, p2 = NULL, p3 = NULL, p_odd = NULL;

  if (sf_precision_missing (SF_PRECISION_BF16) != NULL) {
    g_test_skip ("no AVX512_BF16 on this CPU");
    return;
  }
  p1 = sf_linear_pack (w1, TRUE, SF_PRECISION_BF16);
  p2 = sf_linear_pack (w2, TRUE, SF_PRECISION_BF16);
  p3 = sf_linear_pack (w3, TRUE, SF_PRECISION_BF16);
  p_odd = sf_linear_pack (w_odd, TRUE, SF_PRECISION_BF16);
  g_assert_true (sf_linear_hands_off_bf16 (p1, SF_ACTIVATION_GELU, p2));
  g_assert_false (sf_linear_hands_off_bf16 (p1, SF_ACTIVATION_GELU_NEW, p2));
  g_assert_false (sf_linear_hands_off_bf16 (w1, SF_ACTIVATION_GELU, w2));
  g_assert_false (sf_linear_hands_off_bf16 (p_odd, SF_ACTIVATION_GELU, p2));

  check_feed_forward (x, p1, b1, SF_ACTIVATION_SILU, p2, b2, FALSE);
  check_feed_forward (x, p1, b1, SF_ACTIVATION_GELU, p2, b2, FALSE);
  /* in place, as the graphs call it */
  check_feed_forward (x, p1, b1, SF_ACTIVATION_SILU, p3, NULL, TRUE);
  check_feed_forward (x, p1, b1, SF_ACTIVATION_GELU, p3, NULL, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (sf_blas_init (NULL));
  g_test_add_func ("/core/ops/linear-packed/names", test_names);
  g_test_add_func ("/core/ops/linear-packed/f32/shapes", test_f32_shapes);
  g_test_add_func ("/core/ops/linear-packed/f32/rows-independent",
      test_f32_rows_independent);
  g_test_add_func (
      "/core/ops/linear-packed/not-forged", test_packed_not_forged);
  g_test_add_func ("/core/ops/linear-packed/bf16/shapes", test_bf16_shapes);
  g_test_add_func ("/core/ops/linear-packed/int8/shapes", test_int8_shapes);
  g_test_add_func (
      "/core/ops/linear-packed/int8/nonfinite", test_int8_nonfinite);
  g_test_add_func ("/core/ops/linear-packed/close-to-f32", test_close_to_f32);
  g_test_add_func ("/core/ops/linear-packed/fallback", test_fallback);
  g_test_add_func ("/core/ops/linear-packed/concat", test_concat);
  g_test_add_func ("/core/ops/linear-packed/act", test_linear_act);
  g_test_add_func (
      "/core/ops/linear-packed/bf16/feed-forward", test_feed_forward_bf16);
  g_test_add_func (
      "/core/ops/linear-packed/bf16/attention", test_bf16_attention);
  return g_test_run ();
}
