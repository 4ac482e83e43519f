/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: precision names and what the CPU can run.
 *
 * Design decisions:
 * - The CPU check is core/cpu.c's: an AVX-512 CPU whose OS does not save
 *   ZMM state gets no AVX-512 kernels.
 * - A precision the CPU cannot run falls back to f32, never to a slower
 *   emulation whose results would differ from both: f32 results are the
 *   ones users already know.
 * - SF_CPU_DISABLE is read at every call, so a test can hide a feature,
 *   check the fallback and restore it.
 */
#include "core/precision.h"
#include "core/cpu.h"
#include "core/error.h"

#include <string.h>

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

const char *
sf_precision_missing (SfPrecision precision)
{
  guint f;

  if (precision == SF_PRECISION_F32)
    return NULL;
  f = sf_cpu_kernel_features ();
  switch (precision) {
    case SF_PRECISION_BF16:
      if (!(f & SF_CPU_AVX512))
        return "AVX-512 (F, BW, VL) and AVX512_BF16";
      return (f & SF_CPU_AVX512_BF16) ? NULL : "AVX512_BF16";
    case SF_PRECISION_INT8:
      if (!(f & SF_CPU_AVX512))
        return "AVX-512 (F, BW, VL) and AVX512_VNNI";
      return (f & SF_CPU_AVX512_VNNI) ? NULL : "AVX512_VNNI";
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
