/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the instruction sets this CPU and its OS can run.
 *
 * One cpuid + XGETBV check for every run-time kernel choice (the OpenBLAS
 * core type, the reduced-precision kernels): a feature counts only when
 * the CPU has it and the OS saves the registers it uses.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SF_CPU_AVX2 = 1 << 0,   /* with FMA and the OS's YMM state */
  SF_CPU_AVX512 = 1 << 1, /* F, DQ, BW, VL and the OS's ZMM state */
  SF_CPU_AVX512_BF16 = 1 << 2,
  SF_CPU_AVX512_VNNI = 1 << 3,
} SfCpuFeature;

/* The features of this CPU (SfCpuFeature bits), detected once. 0 on
 * other architectures. */
guint sf_cpu_features (void);
/* The features Streamformer's own kernels may use: sf_cpu_features ()
 * less those the environment variable SF_CPU_DISABLE hides (a comma-
 * separated list of "avx512", "avx512_bf16" and "avx512_vnni"), so that
 * every fallback can be tried on any machine. Read at every call. */
guint sf_cpu_kernel_features (void);

G_END_DECLS
