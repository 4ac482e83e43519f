/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: vector exp, erf and tanh for the ops.
 *
 * glibc's vector math library (libmvec, which -lm pulls in) has SSE
 * versions of expf, erff and tanhf, four lanes per call and within a few
 * ulp, and AVX-512 versions of sixteen lanes, called only where cpuid
 * reports AVX-512F. They are declared here under the x86-64 vector ABI
 * names; SF_HAVE_LIBMVEC says whether this build has them. Where a
 * call per vector costs too much, an exp and an erf of its own are inlined
 * instead.
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
extern __m512 sf_vec16_expf (__m512 x) __asm__("_ZGVeN16v_expf")
    __attribute__ ((target ("avx512f")));
extern __m512 sf_vec16_tanhf (__m512 x) __asm__("_ZGVeN16v_tanhf")
    __attribute__ ((target ("avx512f")));

/* exp (x), 16 lanes, inline, for the arguments of a softmax or a sigmoid
 * (mostly at or below 0), where a call into libmvec per vector was half
 * of a long softmax row's time (AST's attention: 350 ms a pass, 320 now).
 * x = n·ln 2 + r with |r| <= ln 2 / 2 (ln 2 in two parts, so n·ln 2 is
 * exact under FMA); e^r = 1 + r + r²·P (r), P of degree 5 fitted to the
 * relative error over that interval (5e-11 in double); vscalefps applies
 * the 2^n and saturates to inf above 88.72. Within 1 ulp of exp rounded
 * to float at every float of [-87, 88.7], where libmvec's expf is within
 * 3. Lanes below -87 (past a normal float's range) and -inf give exactly
 * 0; NaN stays NaN. */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
sf_vec16_exp_low0 (__m512 x)
{
  const __m512 low = _mm512_set1_ps (-87.0f);
  __mmask16 tiny = _mm512_cmp_ps_mask (x, low, _CMP_LT_OQ);
  __m512 n, r, r2, p;

  /* min and max return their second operand, x, when it is NaN */
  x = _mm512_max_ps (low, _mm512_min_ps (_mm512_set1_ps (89.0f), x));
  n = _mm512_roundscale_ps (
      _mm512_mul_ps (x, _mm512_set1_ps (1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (0.693359375f), x);
  r = _mm512_fnmadd_ps (n, _mm512_set1_ps (-2.12194440e-4f), r);
  r2 = _mm512_mul_ps (r, r);
  p = _mm512_set1_ps (1.9790352648e-4f);
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.3944648695e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (8.3334970082e-3f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (4.1666295092e-2f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.6666665869e-1f));
  p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (5.0000000676e-1f));
  p = _mm512_add_ps (_mm512_fmadd_ps (p, r2, r), _mm512_set1_ps (1.0f));
  return _mm512_maskz_scalef_ps ((__mmask16)~tiny, p, n);
}

/* c[0] · x^(n-1) + … + c[n-1] by Horner's rule, 16 lanes (inlined with
 * the constant coefficients of its callers). */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
sf_vec16_horner (__m512 x, const float *c, int n)
{
  __m512 p = _mm512_set1_ps (c[0]);

#pragma GCC unroll 16
  for (int i = 1; i < n; i++)
    p = _mm512_fmadd_ps (p, x, _mm512_set1_ps (c[i]));
  return p;
}

/* erf (x), 16 lanes, inline, for f32 GELU: libmvec's erff costs a call and
 * 7.3 ns a vector, this 4.4. On |x| < 1.125, x · P (x²) with P of degree
 * 6 (5.8e-9 relative in double); on [1.125, 4], 1 - erfc (|x|) with erfc
 * a polynomial of degree 13 in |x| - 2.5625 (1.3e-8 absolute); beyond, 1.
 * Both fitted to the error that matters there, and both small enough in
 * float that rounding stays small: within 2.8 ulp of erf (3 steps of erf
 * rounded to float) at every normal float of [-4.5, 4.5], where libmvec's
 * erff is within 4.0 ulp, and GELU through it within 4.6e-7 of GELU in
 * exact arithmetic over [-10, 10], against 7.3e-7 through libmvec. */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
sf_vec16_erf (__m512 x)
{
  /* erf (a) / a = P (a²) below 1.125; erfc (a) = Q (a - 2.5625) above */
  static const float P[7] = { 7.02225465e-05f, -0.000774867911f, 0.00515752422f,
    -0.0268371236f, 0.112831778f, -0.376125896f, 1.12837916f };
  static const float Q[14] = { -1.21468361e-06f, 8.61377329e-06f,
    -6.60629648e-06f, -7.13647689e-05f, 0.000217958927f, -0.000146282506f,
    -0.00065533478f, 0.0025470757f, -0.00510831492f, 0.00686644557f,
    -0.0064215911f, 0.00406828192f, -0.00158736198f, 0.000290159934f };
  /* min returns its second operand when one is NaN: NaN in, NaN out */
  __m512 a = _mm512_min_ps (_mm512_set1_ps (4.0f), _mm512_abs_ps (x));
  __mmask16 far = _mm512_cmp_ps_mask (a, _mm512_set1_ps (1.125f), _CMP_GE_OQ);
  __m512 p = sf_vec16_horner (_mm512_mul_ps (a, a), P, 7);
  __m512 q =
      sf_vec16_horner (_mm512_sub_ps (a, _mm512_set1_ps (2.5625f)), Q, 14);
  /* near: a · P (a²); far: 1 - erfc (a) */
  __m512 r = _mm512_mask_blend_ps (
      far, _mm512_mul_ps (a, p), _mm512_sub_ps (_mm512_set1_ps (1.0f), q));

  /* x's sign back */
  return _mm512_castsi512_ps (_mm512_or_si512 (_mm512_castps_si512 (r),
      _mm512_and_si512 (
          _mm512_castps_si512 (x), _mm512_set1_epi32 ((int)0x80000000u))));
}

/* erf (x), 16 lanes, for values about to be rounded to bf16 (8 bits):
 * x · P (x²) / Q (x²) on |x| < 3.92 (erf is 1 in float beyond), degrees 6
 * and 5, fitted to erf's relative error (3e-9 in double). In float it is
 * within 6 ulp of erf, where libmvec's erff is within 4, and takes 2.9 ns
 * a vector against libmvec's 8.1. GELU through it differs from GELU
 * through libmvec by at most 1.2e-6 absolute over [-10, 10], far below
 * bf16's steps (2^-8 relative). */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
sf_vec16_erf_bf16 (__m512 x)
{
  /* min returns its second operand when one is NaN: NaN in, NaN out */
  __m512 a = _mm512_min_ps (_mm512_set1_ps (3.92f), _mm512_abs_ps (x));
  __m512 z = _mm512_mul_ps (a, a);
  __m512 p = _mm512_set1_ps (-1.2746749183945028e-08f);
  __m512 q = _mm512_set1_ps (6.2312072788720495e-05f);
  __m512 r;

  p = _mm512_fmadd_ps (p, z, _mm512_set1_ps (4.5997736285163793e-06f));
  p = _mm512_fmadd_ps (p, z, _mm512_set1_ps (0.00037641328965437419f));
  p = _mm512_fmadd_ps (p, z, _mm512_set1_ps (0.0038370648823922841f));
  p = _mm512_fmadd_ps (p, z, _mm512_set1_ps (0.05423421145131186f));
  p = _mm512_fmadd_ps (p, z, _mm512_set1_ps (0.18511957821952216f));
  p = _mm512_fmadd_ps (p, z, _mm512_set1_ps (1.1283791687358666f));
  q = _mm512_fmadd_ps (q, z, _mm512_set1_ps (0.0013007602708641204f));
  q = _mm512_fmadd_ps (q, z, _mm512_set1_ps (0.015425604142173855f));
  q = _mm512_fmadd_ps (q, z, _mm512_set1_ps (0.11386047399320005f));
  q = _mm512_fmadd_ps (q, z, _mm512_set1_ps (0.49739135620820951f));
  q = _mm512_fmadd_ps (q, z, _mm512_set1_ps (1.0f));
  r = _mm512_min_ps (
      _mm512_set1_ps (1.0f), _mm512_div_ps (_mm512_mul_ps (a, p), q));
  /* x's sign back */
  return _mm512_castsi512_ps (_mm512_or_si512 (_mm512_castps_si512 (r),
      _mm512_and_si512 (
          _mm512_castps_si512 (x), _mm512_set1_epi32 ((int)0x80000000u))));
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
