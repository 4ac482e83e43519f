/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: precision names and what the CPU can run.
 *
 * Design decisions:
 * - The CPU check is cpuid plus XGETBV, as in core/blas.c: an AVX-512
 *   CPU whose OS does not save ZMM state must not get AVX-512 kernels.
 * - A precision the CPU cannot run falls back to f32, never to a slower
 *   emulation whose results would differ from both: f32 results are the
 *   ones users already know.
 * - SF_CPU_DISABLE is read at every call, so a test can hide a feature,
 *   check the fallback and restore it.
 */
#include "core/precision.h"
#include "core/error.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SF_PRECISION_X86 1
#endif

#define SF_CPU_DISABLE_ENV "SF_CPU_DISABLE"

enum
{
  CPU_AVX512 = 1 << 0, /* F, BW, VL and the OS's ZMM state */
  CPU_AVX512_BF16 = 1 << 1,
  CPU_AVX512_VNNI = 1 << 2,
};

static const char *const precision_names[] = { "f32", "bf16", "int8" };

const char *
sf_precision_name (SfPrecision precision)
{
  if ((guint)precision >= G_N_ELEMENTS (precision_names))
    return "unknown";
  return precision_names[precision];
}

gboolean
sf_precision_from_name (
    const char *name, SfPrecision *precision, GError **error)
{
  guint i;

  for (i = 0; name != NULL && i < G_N_ELEMENTS (precision_names); i++) {
    if (g_ascii_strcasecmp (name, precision_names[i]) == 0) {
      *precision = (SfPrecision)i;
      return TRUE;
    }
  }
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "precision '%s' is not one of f32, bf16, int8", name ? name : "(null)");
  return FALSE;
}

#ifdef SF_PRECISION_X86
static guint64
read_xcr0 (void)
{
  guint32 lo, hi;

  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((guint64)hi << 32) | lo;
}
#endif

static guint
detect_features (void)
{
  guint features = 0;
#ifdef SF_PRECISION_X86
  unsigned int eax, ebx, ecx, edx, max_sub;

  if (__get_cpuid_max (0, NULL) < 7)
    return 0;
  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx))
    return 0;
  if (!(ecx & (1u << 27))) /* OSXSAVE: XGETBV may run */
    return 0;
  /* XMM, YMM, opmask, ZMM_Hi256 and Hi16_ZMM state */
  if ((read_xcr0 () & 0xe6) != 0xe6)
    return 0;
  __cpuid_count (7, 0, eax, ebx, ecx, edx);
  max_sub = eax;
  /* AVX512F (16), AVX512BW (30), AVX512VL (31) */
  if (!(ebx & (1u << 16)) || !(ebx & (1u << 30)) || !(ebx & (1u << 31)))
    return 0;
  features |= CPU_AVX512;
  if (ecx & (1u << 11))
    features |= CPU_AVX512_VNNI;
  if (max_sub >= 1) {
    __cpuid_count (7, 1, eax, ebx, ecx, edx);
    if (eax & (1u << 5))
      features |= CPU_AVX512_BF16;
  }
#endif
  return features;
}

static guint
cpu_features (void)
{
  static gsize once = 0;
  static guint detected;
  const char *disable = g_getenv (SF_CPU_DISABLE_ENV);
  guint features;

  if (g_once_init_enter (&once)) {
    detected = detect_features ();
    g_once_init_leave (&once, 1);
  }
  features = detected;
  if (disable != NULL && *disable != '\0') {
    g_auto (GStrv) parts = g_strsplit (disable, ",", -1);
    for (char **p = parts; *p != NULL; p++) {
      const char *f = g_strstrip (*p);
      if (g_ascii_strcasecmp (f, "avx512") == 0)
        features = 0;
      else if (g_ascii_strcasecmp (f, "avx512_bf16") == 0)
        features &= ~CPU_AVX512_BF16;
      else if (g_ascii_strcasecmp (f, "avx512_vnni") == 0)
        features &= ~CPU_AVX512_VNNI;
    }
  }
  return features;
}

const char *
sf_precision_missing (SfPrecision precision)
{
  guint f;

  if (precision == SF_PRECISION_F32)
    return NULL;
  f = cpu_features ();
  switch (precision) {
    case SF_PRECISION_BF16:
      if (!(f & CPU_AVX512))
        return "AVX-512 (F, BW, VL) and AVX512_BF16";
      return (f & CPU_AVX512_BF16) ? NULL : "AVX512_BF16";
    case SF_PRECISION_INT8:
      if (!(f & CPU_AVX512))
        return "AVX-512 (F, BW, VL) and AVX512_VNNI";
      return (f & CPU_AVX512_VNNI) ? NULL : "AVX512_VNNI";
    default: return "a known precision";
  }
}

SfPrecision
sf_precision_resolve (SfPrecision requested, char **warning)
{
  const char *missing = sf_precision_missing (requested);

  if (warning != NULL)
    *warning = NULL;
  if (missing == NULL)
    return requested;
  if (warning != NULL)
    *warning = g_strdup_printf ("precision %s needs %s, which this CPU "
                                "lacks: running f32 instead",
        sf_precision_name (requested), missing);
  return SF_PRECISION_F32;
}
