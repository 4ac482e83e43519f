/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: BLAS loaded at run time with kernels chosen by cpuid.
 *
 * Design decisions:
 * - OpenBLAS (DYNAMIC_ARCH builds) reads OPENBLAS_CORETYPE once, in its
 *   load-time constructor. We therefore set the variable only around our
 *   dlopen() call and unset it right after, so the environment the user sees
 *   is unchanged. A value the user set is never touched.
 * - The CPU check asks cpuid for the instruction sets and XGETBV for whether
 *   the OS saves the wide register state; an AVX-512 CPU whose OS does not
 *   enable ZMM state must not get AVX-512 kernels.
 * - When OpenBLAS is already in the process (linked by the program or
 *   loaded by another library), its kernels are fixed: we only report them.
 * - A copy of OpenBLAS that we load ourselves runs single-threaded: the
 *   ops split every product over Streamformer's worker pool (core/threads.h)
 *   instead. Two pools on the same cores would fight, and OpenBLAS's idle
 *   threads keep spinning after each call, slowing the per-row work that
 *   follows. sf_blas_set_threads() still changes this for direct callers.
 * - A missing BLAS is an environment problem, reported as a GError from
 *   sf_blas_init(), never an abort. The message names every library tried.
 * - SF_BLAS_LIBRARY names the one library to load instead of the usual
 *   OpenBLAS names: a build elsewhere on disk, or a name that does not
 *   exist to see how a program copes without BLAS.
 * - A product with one output row (a decoder step over one token) goes to
 *   sgemv: OpenBLAS's sgemm would first copy the whole of the other
 *   operand, usually a weight matrix, into its packing buffer, which costs
 *   about three passes over the weight where sgemv needs one.
 */
#include "core/blas.h"
#include "core/cpu.h"
#include "core/error.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define SF_BLAS_CORETYPE_ENV "OPENBLAS_CORETYPE"
#define SF_BLAS_LIBRARY_ENV "SF_BLAS_LIBRARY"

/* CBLAS enum values (cblas.h), passed as plain ints. */
#define SF_CBLAS_ROW_MAJOR 101
#define SF_CBLAS_NO_TRANS 111
#define SF_CBLAS_TRANS 112

typedef void (*SfCblasSgemmFunc) (int order, int trans_a, int trans_b, int m,
    int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc);
typedef void (*SfCblasSgemvFunc) (int order, int trans, int m, int n,
    float alpha, const float *a, int lda, const float *x, int incx, float beta,
    float *y, int incy);
typedef char *(*SfOpenblasCorenameFunc) (void);
typedef void (*SfOpenblasSetThreadsFunc) (int n);
typedef int (*SfOpenblasGetThreadsFunc) (void);

typedef struct
{
  gboolean ok;
  GError *error; /* why loading failed, when !ok */
  void *handle;
  SfCblasSgemmFunc sgemm;
  SfCblasSgemvFunc sgemv; /* NULL when the library lacks it */
  SfOpenblasCorenameFunc get_corename;
  SfOpenblasSetThreadsFunc set_threads;
  SfOpenblasGetThreadsFunc get_threads;
  char *corename;
  const char *source; /* "user", "cpuid" or "library" */
} SfBlasState;

static SfBlasState blas_state = { FALSE, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, "library" };

static const char *const blas_sonames[] = {
  "libopenblas.so.0",
  "libopenblas.so",
  "libblas.so.3",
};

/* The OpenBLAS core type this CPU should use, or NULL to let OpenBLAS pick. */
static const char *
detect_coretype (void)
{
  guint features = sf_cpu_features ();

  if (features & SF_CPU_AVX512)
    return "SkylakeX";
  if (features & SF_CPU_AVX2)
    return "Haswell";
  return NULL;
}

/* @names: the @n library names to try, in order. */
static void *
find_loaded_blas (const char *const *names, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    void *handle = dlopen (names[i], RTLD_NOW | RTLD_NOLOAD);
    if (handle != NULL) {
      if (dlsym (handle, "cblas_sgemm") != NULL)
        return handle;
      dlclose (handle);
    }
  }
  /* Linked into the program itself under another file name (unless the
   * user asked for a particular library). */
  if (names == blas_sonames && dlsym (RTLD_DEFAULT, "cblas_sgemm") != NULL
      && dlsym (RTLD_DEFAULT, "openblas_get_corename") != NULL)
    return RTLD_DEFAULT;
  return NULL;
}

static void *
open_blas (const char *const *names, guint n, GString *tried)
{
  guint i;

  for (i = 0; i < n; i++) {
    void *handle = dlopen (names[i], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
      const char *why = dlerror ();
      g_string_append_printf (tried, "%s%s (%s)", tried->len ? "; " : "",
          names[i], why ? why : "not found");
      continue;
    }
    if (dlsym (handle, "cblas_sgemm") != NULL)
      return handle;
    g_string_append_printf (
        tried, "%s%s (no cblas_sgemm)", tried->len ? "; " : "", names[i]);
    dlclose (handle);
  }
  return NULL;
}

static void
load_blas (SfBlasState *st)
{
  const char *user_core = g_getenv (SF_BLAS_CORETYPE_ENV);
  g_autofree char *user_lib = g_strdup (g_getenv (SF_BLAS_LIBRARY_ENV));
  const char *const *names = blas_sonames;
  guint n_names = G_N_ELEMENTS (blas_sonames);
  const char *chosen = NULL;
  gboolean already_loaded = FALSE;
  void *handle;

  if (user_lib != NULL && user_lib[0] != '\0') {
    names = (const char *const *)&user_lib;
    n_names = 1;
  }
  handle = find_loaded_blas (names, n_names);
  if (handle != NULL) {
    already_loaded = TRUE;
  } else {
    g_autoptr (GString) tried = g_string_new (NULL);

    if (user_core == NULL || *user_core == '\0') {
      chosen = detect_coretype ();
      if (chosen != NULL)
        g_setenv (SF_BLAS_CORETYPE_ENV, chosen, TRUE);
    }
    handle = open_blas (names, n_names, tried);
    if (chosen != NULL)
      g_unsetenv (SF_BLAS_CORETYPE_ENV);
    if (handle == NULL) {
      g_set_error (&st->error, SF_ERROR, SF_ERROR_IO,
          "no BLAS library could be loaded (%s): %s",
          names == blas_sonames ? "install OpenBLAS, libopenblas0"
                                : "the one named by " SF_BLAS_LIBRARY_ENV,
          tried->str);
      return;
    }
  }

  st->handle = handle;
  st->sgemm = (SfCblasSgemmFunc)dlsym (handle, "cblas_sgemm");
  st->sgemv = (SfCblasSgemvFunc)dlsym (handle, "cblas_sgemv");
  st->get_corename =
      (SfOpenblasCorenameFunc)dlsym (handle, "openblas_get_corename");
  st->set_threads =
      (SfOpenblasSetThreadsFunc)dlsym (handle, "openblas_set_num_threads");
  st->get_threads =
      (SfOpenblasGetThreadsFunc)dlsym (handle, "openblas_get_num_threads");

  if (user_core != NULL && *user_core != '\0')
    st->source = "user";
  else if (!already_loaded && chosen != NULL)
    st->source = "cpuid";
  else
    st->source = "library";

  if (st->get_corename != NULL) {
    const char *name = st->get_corename ();
    st->corename = g_strstrip (g_strdup (name ? name : ""));
  }
  if (st->corename == NULL || st->corename[0] == '\0') {
    g_free (st->corename);
    st->corename = g_strdup ("unknown");
  }
  if (!already_loaded && st->set_threads != NULL)
    st->set_threads (1);
  st->ok = TRUE;
}

static SfBlasState *
blas_get (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    load_blas (&blas_state);
    g_once_init_leave (&once, 1);
  }
  return &blas_state;
}

gboolean
sf_blas_init (GError **error)
{
  SfBlasState *st = blas_get ();

  if (!st->ok) {
    if (error != NULL)
      *error = g_error_copy (st->error);
    return FALSE;
  }
  return TRUE;
}

const char *
sf_blas_corename (void)
{
  SfBlasState *st = blas_get ();

  return st->ok ? st->corename : "unavailable";
}

const char *
sf_blas_core_source (void)
{
  return blas_get ()->source;
}

void
sf_blas_set_threads (int n)
{
  SfBlasState *st = blas_get ();

  if (n <= 0)
    n = (int)g_get_num_processors ();
  if (st->ok && st->set_threads != NULL)
    st->set_threads (n);
}

void
sf_blas_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc)
{
  SfBlasState *st = blas_get ();

  g_return_if_fail (st->ok);
  g_return_if_fail (m >= 0 && n >= 0 && k >= 0);

  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    /* Nothing to multiply: C = beta · C, handled here so that degenerate
     * leading dimensions never reach the library's argument checks. */
    int i, j;
    for (i = 0; i < m; i++) {
      float *row = c + (gsize)i * ldc;
      for (j = 0; j < n; j++)
        row[j] = beta == 0.0f ? 0.0f : beta * row[j];
    }
    return;
  }
  if (m == 1 && st->sgemv != NULL) {
    /* c[N] = alpha · a · op(B) + beta · c for the single row a [K]
     * (strided by lda when trans_a). beta 0 must ignore what c holds,
     * NaN included, so c is cleared rather than scaled. */
    if (beta == 0.0f)
      memset (c, 0, (gsize)n * sizeof (float));
    if (trans_b) /* B [N, K]: c = B · a */
      st->sgemv (SF_CBLAS_ROW_MAJOR, SF_CBLAS_NO_TRANS, n, k, alpha, b, ldb, a,
          trans_a ? lda : 1, beta, c, 1);
    else /* B [K, N]: c = Bᵀ · a */
      st->sgemv (SF_CBLAS_ROW_MAJOR, SF_CBLAS_TRANS, k, n, alpha, b, ldb, a,
          trans_a ? lda : 1, beta, c, 1);
    return;
  }
  st->sgemm (SF_CBLAS_ROW_MAJOR, trans_a ? SF_CBLAS_TRANS : SF_CBLAS_NO_TRANS,
      trans_b ? SF_CBLAS_TRANS : SF_CBLAS_NO_TRANS, m, n, k, alpha, a, lda, b,
      ldb, beta, c, ldc);
}
