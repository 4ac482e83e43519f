/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: vector exp, erf and tanh for the ops.
 *
 * glibc's vector math library (libmvec, which -lm pulls in) has SSE
 * versions of expf, erff and tanhf, four lanes per call and within a few
 * ulp, and AVX-512 versions of sixteen lanes, called only where cpuid
 * reports AVX-512F. They are declared here under the x86-64 vector ABI
 * names; SF_HAVE_LIBMVEC says whether this build has them.
 */
#pragma once

#include <glib.h>
#include <math.h>

#if defined(__x86_64__) && defined(__GLIBC__)                                  \
    && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define SF_HAVE_LIBMVEC 1
#include <immintrin.h>

extern __m128 sf_vec4_erff (__m128 x) __asm__("_ZGVbN4v_erff");
extern __m128 sf_vec4_expf (__m128 x) __asm__("_ZGVbN4v_expf");
extern __m128 sf_vec4_tanhf (__m128 x) __asm__("_ZGVbN4v_tanhf");
extern __m512 sf_vec16_erff (__m512 x) __asm__("_ZGVeN16v_erff")
    __attribute__ ((target ("avx512f")));
extern __m512 sf_vec16_expf (__m512 x) __asm__("_ZGVeN16v_expf")
    __attribute__ ((target ("avx512f")));
extern __m512 sf_vec16_tanhf (__m512 x) __asm__("_ZGVeN16v_tanhf")
    __attribute__ ((target ("avx512f")));

/* exp (x), 16 lanes, for the arguments of a softmax or a sigmoid (mostly
 * at or below 0). libmvec leaves its fast path for a whole vector when one
 * lane is below -87.34 (its result is no longer a normal float) or -inf,
 * and computes that vector through scalar calls, 10 to 30 times slower:
 * a masked row tail filled with -inf paid that on every row. Lanes below
 * -87 give 0 here instead of a value under 1.7e-38; NaN stays NaN. */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
sf_vec16_exp_low0 (__m512 x)
{
  const __m512 low = _mm512_set1_ps (-87.0f);
  __mmask16 tiny = _mm512_cmp_ps_mask (x, low, _CMP_LT_OQ);

  /* max (low, x) returns x, its second operand, when x is NaN */
  return _mm512_mask_mov_ps (
      sf_vec16_expf (_mm512_max_ps (low, x)), tiny, _mm512_setzero_ps ());
}
#endif

/* x[i] = exp (x[i] - shift), in place; returns the sum of the results:
 * four lanes at a time where libmvec exists, scalar libm elsewhere. */
static inline float
sf_exp_shifted_sum (float *x, gint64 n, float shift)
{
  float acc[4] = { 0 };
  float total = 0.0f;
  gint64 i = 0;

#ifdef SF_HAVE_LIBMVEC
  {
    const __m128 s = _mm_set1_ps (shift);
    __m128 sum = _mm_setzero_ps ();

    for (; i + 4 <= n; i += 4) {
      __m128 e = sf_vec4_expf (_mm_sub_ps (_mm_loadu_ps (x + i), s));
      _mm_storeu_ps (x + i, e);
      sum = _mm_add_ps (sum, e);
    }
    _mm_storeu_ps (acc, sum);
  }
#endif
  for (; i < n; i++) {
    x[i] = expf (x[i] - shift);
    total += x[i];
  }
  return total + ((acc[0] + acc[2]) + (acc[1] + acc[3]));
}
