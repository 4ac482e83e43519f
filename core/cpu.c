/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: cpuid and XGETBV (see cpu.h). */
#include "core/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static guint64
read_xcr0 (void)
{
  guint32 lo, hi;

  /* XGETBV with ECX = 0 reads XCR0, the register state the OS saves. */
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((guint64)hi << 32) | lo;
}

static guint
detect (void)
{
  unsigned int eax, ebx, ecx, edx, max_sub;
  gboolean fma, ymm_ok, zmm_ok;
  guint features = 0;
  guint64 xcr0;

  if (__get_cpuid_max (0, NULL) < 7)
    return 0;
  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx))
    return 0;
  /* OSXSAVE (bit 27) must be set before XGETBV may run; AVX is bit 28. */
  if (!(ecx & (1u << 27)) || !(ecx & (1u << 28)))
    return 0;
  fma = (ecx & (1u << 12)) != 0;
  xcr0 = read_xcr0 ();
  ymm_ok = (xcr0 & 0x6) == 0x6;             /* XMM and YMM state */
  zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
  if (!ymm_ok)
    return 0;

  __cpuid_count (7, 0, eax, ebx, ecx, edx);
  max_sub = eax;
  if ((ebx & (1u << 5)) && fma)
    features |= SF_CPU_AVX2;
  /* AVX512F (16), AVX512DQ (17), AVX512BW (30), AVX512VL (31). */
  if (zmm_ok && (ebx & (1u << 16)) && (ebx & (1u << 17)) && (ebx & (1u << 30))
      && (ebx & (1u << 31))) {
    features |= SF_CPU_AVX512;
    if (ecx & (1u << 11))
      features |= SF_CPU_AVX512_VNNI;
    if (max_sub >= 1) {
      __cpuid_count (7, 1, eax, ebx, ecx, edx);
      if (eax & (1u << 5))
        features |= SF_CPU_AVX512_BF16;
    }
  }
  return features;
}
#else
static guint
detect (void)
{
  return 0;
}
#endif

guint
sf_cpu_features (void)
{
  static gsize once = 0;
  static guint features;

  if (g_once_init_enter (&once)) {
    features = detect ();
    g_once_init_leave (&once, 1);
  }
  return features;
}

guint
sf_cpu_kernel_features (void)
{
  const char *disable = g_getenv ("SF_CPU_DISABLE");
  guint features = sf_cpu_features ();

  if (disable != NULL && *disable != '\0') {
    g_auto (GStrv) parts = g_strsplit (disable, ",", -1);
    for (char **p = parts; *p != NULL; p++) {
      const char *f = g_strstrip (*p);
      if (g_ascii_strcasecmp (f, "avx512") == 0)
        features &= ~(SF_CPU_AVX512 | SF_CPU_AVX512_BF16 | SF_CPU_AVX512_VNNI);
      else if (g_ascii_strcasecmp (f, "avx512_bf16") == 0)
        features &= ~SF_CPU_AVX512_BF16;
      else if (g_ascii_strcasecmp (f, "avx512_vnni") == 0)
        features &= ~SF_CPU_AVX512_VNNI;
    }
  }
  return features;
}
