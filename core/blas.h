/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: BLAS with the right kernels.
 *
 * OpenBLAS picks its kernels once, when it is loaded, from cpuid, unless
 * OPENBLAS_CORETYPE is set. Debian 12's OpenBLAS 0.3.21 does not recognise
 * newer AVX-512 CPUs (e.g. Zen 4, Sapphire Rapids) and falls back to its
 * Prescott (SSE3) kernels, about five times slower. So libsfcore does not
 * link BLAS: sf_blas_init() checks the CPU itself, sets OPENBLAS_CORETYPE
 * when the user has not, and only then loads OpenBLAS with dlopen. Every
 * BLAS call in Streamformer goes through this file.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Loads BLAS once per process (thread-safe). FALSE with an SF_ERROR_IO
 * error naming each library tried when none can be loaded. The
 * environment variable SF_BLAS_LIBRARY, read at that first call, names the
 * one library to try (a file name or path) instead of libopenblas.so.0,
 * libopenblas.so and libblas.so.3. Every other function here calls it
 * implicitly; sf_blas_sgemm() must not run when it failed. */
gboolean sf_blas_init (GError **error);
/* The kernel family in use, e.g. "SkylakeX", or "unavailable". */
const char *sf_blas_corename (void);
/* Where the kernel choice came from: "user" (OPENBLAS_CORETYPE was set),
 * "cpuid" (Streamformer chose it) or "library" (OpenBLAS's own detection). */
const char *sf_blas_core_source (void);
void sf_blas_set_threads (int n);

/* Row-major C[M,N] = alpha · op(A) · op(B) + beta · C. */
void sf_blas_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc);

G_END_DECLS
