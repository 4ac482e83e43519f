/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/blas: the kernel choice and sgemm against a double
 * precision reference. The CPU is checked here independently of core/blas.c
 * (cpuid + XGETBV), so a wrong choice there shows up as a failure. */
#include "core/blas.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TEST_X86 1
#endif

typedef struct
{
  gboolean avx2_fma;
  gboolean avx512; /* F, DQ, BW and VL, with ZMM state enabled */
} CpuFeatures;

static CpuFeatures
cpu_features (void)
{
  CpuFeatures f = { FALSE, FALSE };
#ifdef TEST_X86
  unsigned int a, b, c, d, lo, hi;
  unsigned long long xcr0;

  if (__get_cpuid_max (0, NULL) < 7 || !__get_cpuid (1, &a, &b, &c, &d))
    return f;
  if (!(c & bit_OSXSAVE) || !(c & bit_AVX))
    return f;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  xcr0 = ((unsigned long long)hi << 32) | lo;
  if ((xcr0 & 6) != 6)
    return f;
  {
    gboolean fma = (c & bit_FMA) != 0;

    __cpuid_count (7, 0, a, b, c, d);
    f.avx2_fma = fma && (b & bit_AVX2);
    f.avx512 = (xcr0 & 0xe0) == 0xe0 && (b & bit_AVX512F) && (b & bit_AVX512DQ)
        && (b & bit_AVX512BW) && (b & bit_AVX512VL);
  }
#endif
  return f;
}

static void
test_init_corename (void)
{
  g_autoptr (GError) error = NULL;
  const char *user = g_getenv ("OPENBLAS_CORETYPE");
  g_autofree char *user_copy = g_strdup (user);
  CpuFeatures cpu = cpu_features ();
  const char *name, *source;

  g_assert_true (sf_blas_init (&error));
  g_assert_no_error (error);
  name = sf_blas_corename ();
  source = sf_blas_core_source ();
  g_test_message ("core %s (from %s)", name, source);
  g_assert_nonnull (name);
  g_assert_cmpstr (name, !=, "");
  g_assert_cmpstr (name, !=, "unavailable");
  g_assert_true (g_strcmp0 (source, "user") == 0
      || g_strcmp0 (source, "cpuid") == 0
      || g_strcmp0 (source, "library") == 0);

  /* The environment is as it was before loading. */
  g_assert_cmpstr (g_getenv ("OPENBLAS_CORETYPE"), ==, user_copy);

  if (user_copy != NULL && *user_copy != '\0') {
    g_assert_cmpstr (source, ==, "user");
    return;
  }
  if (g_strcmp0 (source, "cpuid") == 0) {
    if (cpu.avx512)
      g_assert_cmpstr (name, ==, "SkylakeX");
    else if (cpu.avx2_fma)
      g_assert_cmpstr (name, ==, "Haswell");
  }
  if (cpu.avx2_fma)
    g_assert_cmpstr (name, !=, "Prescott");
  /* A second call reports the same result. */
  g_assert_true (sf_blas_init (NULL));
  g_assert_cmpstr (sf_blas_corename (), ==, name);
}

static void
test_user_coretype (void)
{
  if (!cpu_features ().avx2_fma) {
    g_test_skip ("the CPU has no AVX2/FMA, Haswell kernels cannot run");
    return;
  }
  if (g_test_subprocess ()) {
    /* Set before the first BLAS call of this process. */
    g_setenv ("OPENBLAS_CORETYPE", "Haswell", TRUE);
    g_assert_true (sf_blas_init (NULL));
    g_assert_cmpstr (sf_blas_core_source (), ==, "user");
    g_assert_cmpstr (sf_blas_corename (), ==, "Haswell");
    g_assert_cmpstr (g_getenv ("OPENBLAS_CORETYPE"), ==, "Haswell");
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_missing_library (void)
{
  if (g_test_subprocess ()) {
    g_autoptr (GError) error = NULL;

    /* Set before the first BLAS call of this process. */
    g_setenv ("SF_BLAS_LIBRARY", "libsf-no-such-blas.so.0", TRUE);
    g_assert_false (sf_blas_init (&error));
    g_assert_error (error, SF_ERROR, SF_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "libsf-no-such-blas.so.0"));
    g_assert_cmpstr (sf_blas_corename (), ==, "unavailable");
    /* The failure is remembered, not retried. */
    g_clear_error (&error);
    g_assert_false (sf_blas_init (&error));
    g_assert_error (error, SF_ERROR, SF_ERROR_IO);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A row-major matrix of @rows × @cols inside a buffer with leading dim @ld. */
static float *
random_matrix (GRand *rand, int rows, int cols, int ld)
{
  float *m = g_new (float, (gsize)MAX (rows, 1) * ld);
  gsize i;

  for (i = 0; i < (gsize)MAX (rows, 1) * ld; i++)
    m[i] = (float)g_rand_double_range (rand, -1.0, 1.0);
  return m;
}

typedef struct
{
  gboolean ta, tb;
  int m, n, k;
  int pad; /* extra columns on every leading dimension */
  float alpha, beta;
  int row_step; /* check every row_step-th row of C */
} GemmCase;

static void
check_gemm (GRand *rand, const GemmCase *gc)
{
  /* Stored shapes: op(A) is [m, k], so A is [k, m] when transposed. */
  int a_rows = gc->ta ? gc->k : gc->m, a_cols = gc->ta ? gc->m : gc->k;
  int b_rows = gc->tb ? gc->n : gc->k, b_cols = gc->tb ? gc->k : gc->n;
  int lda = a_cols + gc->pad, ldb = b_cols + gc->pad, ldc = gc->n + gc->pad;
  float *a = random_matrix (rand, a_rows, a_cols, lda);
  float *b = random_matrix (rand, b_rows, b_cols, ldb);
  float *c = random_matrix (rand, gc->m, gc->n, ldc);
  float *c0 = g_memdup2 (c, sizeof (float) * (gsize)MAX (gc->m, 1) * ldc);
  double max_rel = 0.0;
  int i, j, p;

  sf_blas_sgemm (gc->ta, gc->tb, gc->m, gc->n, gc->k, gc->alpha, a, lda, b, ldb,
      gc->beta, c, ldc);

  for (i = 0; i < gc->m; i += gc->row_step) {
    for (j = 0; j < gc->n; j++) {
      double acc = 0.0, mag = 0.0, ref, err;

      for (p = 0; p < gc->k; p++) {
        double av = gc->ta ? a[(gsize)p * lda + i] : a[(gsize)i * lda + p];
        double bv = gc->tb ? b[(gsize)j * ldb + p] : b[(gsize)p * ldb + j];
        acc += av * bv;
        mag += fabs (av * bv);
      }
      ref = gc->alpha * acc + gc->beta * (double)c0[(gsize)i * ldc + j];
      mag = fabs (gc->alpha) * mag + fabs (gc->beta * c0[(gsize)i * ldc + j]);
      /* Relative to the magnitude of the terms summed. */
      err = fabs (c[(gsize)i * ldc + j] - ref) / MAX (mag, 1e-30);
      max_rel = MAX (max_rel, err);
    }
    /* Padding columns of C stay untouched. */
    for (j = gc->n; j < ldc; j++)
      g_assert_cmpfloat (c[(gsize)i * ldc + j], ==, c0[(gsize)i * ldc + j]);
  }
  g_test_message ("sgemm %c%c %dx%dx%d pad %d: max relative error %.3g",
      gc->ta ? 'T' : 'N', gc->tb ? 'T' : 'N', gc->m, gc->n, gc->k, gc->pad,
      max_rel);
  g_assert_cmpfloat (max_rel, <=, 1e-4);

  g_free (a);
  g_free (b);
  g_free (c);
  g_free (c0);
}

static void
test_sgemm_shapes (void)
{
  static const GemmCase cases[] = {
    { FALSE, FALSE, 1, 1, 1, 0, 1.0f, 0.0f, 1 },
    { FALSE, TRUE, 1, 1, 1, 3, 1.0f, 0.0f, 1 },
    { FALSE, FALSE, 7, 13, 5, 0, 1.0f, 0.0f, 1 },
    { FALSE, TRUE, 7, 13, 5, 2, 1.0f, 0.0f, 1 },
    { TRUE, FALSE, 7, 13, 5, 1, 0.5f, 0.0f, 1 },
    { TRUE, TRUE, 7, 13, 5, 4, 1.0f, 1.0f, 1 },
    { FALSE, TRUE, 33, 65, 17, 3, -2.0f, 0.25f, 1 },
    /* bert-base shapes: the QKV / output projections and the MLP. */
    { FALSE, TRUE, 128, 768, 768, 0, 1.0f, 1.0f, 5 },
    { FALSE, TRUE, 128, 3072, 768, 0, 1.0f, 0.0f, 9 },
    { FALSE, TRUE, 128, 768, 3072, 0, 1.0f, 1.0f, 11 },
    { FALSE, FALSE, 128, 768, 3072, 8, 1.0f, 0.0f, 13 },
    { TRUE, FALSE, 128, 64, 128, 5, 0.125f, 0.0f, 3 },
  };
  GRand *rand = g_rand_new_with_seed (1234);
  guint i;

  g_assert_true (sf_blas_init (NULL));
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    check_gemm (rand, &cases[i]);
  g_rand_free (rand);
}

static void
test_sgemm_k_zero (void)
{
  float c[6] = { 1, 2, 3, 4, 5, 6 };
  float a[1] = { 0 }, b[1] = { 0 };
  int i;

  /* With k = 0 the product is empty: C = beta · C. */
  sf_blas_sgemm (FALSE, TRUE, 2, 3, 0, 1.0f, a, 1, b, 1, 2.0f, c, 3);
  for (i = 0; i < 6; i++)
    g_assert_cmpfloat (c[i], ==, 2.0f * (i + 1));
  sf_blas_sgemm (FALSE, FALSE, 2, 3, 0, 1.0f, a, 1, b, 3, 0.0f, c, 3);
  for (i = 0; i < 6; i++)
    g_assert_cmpfloat (c[i], ==, 0.0f);
}

typedef struct
{
  guint seed;
  gboolean ok;
} ThreadCase;

static gpointer
gemm_thread (gpointer data)
{
  ThreadCase *tc = data;
  GRand *rand = g_rand_new_with_seed (tc->seed);
  GemmCase gc = { FALSE, TRUE, 96, 200, 300, 1, 1.0f, 0.0f, 1 };
  int round;

  for (round = 0; round < 4; round++)
    check_gemm (rand, &gc);
  g_rand_free (rand);
  tc->ok = TRUE;
  return NULL;
}

/* Calls from several threads at once, with BLAS threading enabled. */
static void
test_sgemm_concurrent (void)
{
  ThreadCase cases[4];
  GThread *threads[4];
  int i;

  /* Let BLAS use its own threads here, then go back to one thread. */
  sf_blas_set_threads (2);
  for (i = 0; i < 4; i++) {
    cases[i].seed = 100 + i;
    cases[i].ok = FALSE;
    threads[i] = g_thread_new ("gemm", gemm_thread, &cases[i]);
  }
  for (i = 0; i < 4; i++) {
    g_thread_join (threads[i]);
    g_assert_true (cases[i].ok);
  }
  sf_blas_set_threads (1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/blas/init/corename", test_init_corename);
  g_test_add_func ("/core/blas/init/user-coretype", test_user_coretype);
  g_test_add_func ("/core/blas/init/missing-library", test_missing_library);
  g_test_add_func ("/core/blas/sgemm/shapes", test_sgemm_shapes);
  g_test_add_func ("/core/blas/sgemm/k-zero", test_sgemm_k_zero);
  g_test_add_func ("/core/blas/sgemm/concurrent", test_sgemm_concurrent);

  return g_test_run ();
}
