/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: activation functions (GELU, SiLU, sigmoid, ...).
 *
 * Design decisions:
 * - Every op is a flat loop over the elements, split into contiguous ranges
 *   for the worker pool; a range is small enough to stay in cache and large
 *   enough that the pool's hand-off costs nothing next to it.
 * - The formulas are the ones PyTorch uses (exact GELU through erf, the tanh
 *   form for gelu_new), in float, so results match `transformers` to float
 *   rounding.
 * - Outputs may alias inputs: each element is read before it is written.
 * - erf, tanh and exp dominate these loops, and the scalar libm versions
 *   cost 15-20 ns an element. glibc's vector math library (libmvec, which
 *   -lm pulls in) has SSE versions of all three, four lanes per call and
 *   within a few ulp, so activations go through small array helpers that
 *   use it where it exists and the scalar functions elsewhere. Where the
 *   CPU has AVX-512F, libmvec's 16-lane versions take whole groups of 16.
 * - GELU, quick GELU and SiLU run all in registers on AVX-512F, the tail in
 *   masked lanes, so an element's bits do not depend on its position and
 *   a product can apply them to each block of its output while it is in
 *   cache (sf_activation_rows (), sf_op_linear_act ()).
 */
#include "core/ops/activation.h"
#include "core/profile.h"
#include "core/threads.h"
#include "core/vecmath.h"

#include <math.h>
#include <string.h>

#ifdef SF_HAVE_LIBMVEC
/* name (x, n): x[i] = fn (x[i]) for whole groups of 16 from the start;
 * returns how many elements it did. */
#define SF_DEFINE_ARRAY16(name, fn)                                            \
  __attribute__ ((target ("avx512f"))) static gint64 name (float *x, gint64 n) \
  {                                                                            \
    gint64 i = 0;                                                              \
    for (; i + 16 <= n; i += 16)                                               \
      _mm512_storeu_ps (x + i, fn (_mm512_loadu_ps (x + i)));                  \
    return i;                                                                  \
  }
SF_DEFINE_ARRAY16 (erf_array16, sf_vec16_erf)
SF_DEFINE_ARRAY16 (exp_array16, sf_vec16_expf)
SF_DEFINE_ARRAY16 (tanh_array16, sf_vec16_tanhf)
#endif

/* Elements per worker range. */
#define SF_ELEMWISE_CHUNK 16384
/* Elements per scratch block inside a range (stays in L1). */
#define SF_BLOCK 256

/* x[i] = erf (x[i]), in place. */
static void
erf_array (float *x, gint64 n)
{
  gint64 i = 0;

#ifdef SF_HAVE_LIBMVEC
  if (__builtin_cpu_supports ("avx512f"))
    i = erf_array16 (x, n);
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps (x + i, sf_vec4_erff (_mm_loadu_ps (x + i)));
#endif
  for (; i < n; i++)
    x[i] = erff (x[i]);
}

/* x[i] = tanh (x[i]), in place. */
static void
tanh_array (float *x, gint64 n)
{
  gint64 i = 0;

#ifdef SF_HAVE_LIBMVEC
  if (__builtin_cpu_supports ("avx512f"))
    i = tanh_array16 (x, n);
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps (x + i, sf_vec4_tanhf (_mm_loadu_ps (x + i)));
#endif
  for (; i < n; i++)
    x[i] = tanhf (x[i]);
}

/* x[i] = exp (x[i]), in place. */
static void
exp_array (float *x, gint64 n)
{
  gint64 i = 0;

#ifdef SF_HAVE_LIBMVEC
  if (__builtin_cpu_supports ("avx512f"))
    i = exp_array16 (x, n);
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps (x + i, sf_vec4_expf (_mm_loadu_ps (x + i)));
#endif
  for (; i < n; i++)
    x[i] = expf (x[i]);
}

static const struct
{
  const char *name;
  SfActivation act;
} activation_names[] = {
  { "gelu", SF_ACTIVATION_GELU },
  { "gelu_new", SF_ACTIVATION_GELU_NEW },
  { "gelu_pytorch_tanh", SF_ACTIVATION_GELU_NEW },
  { "gelu_fast", SF_ACTIVATION_GELU_NEW },
  { "gelu_accurate", SF_ACTIVATION_GELU_NEW },
  { "quick_gelu", SF_ACTIVATION_QUICK_GELU },
  { "relu", SF_ACTIVATION_RELU },
  { "silu", SF_ACTIVATION_SILU },
  { "swish", SF_ACTIVATION_SILU },
  { "tanh", SF_ACTIVATION_TANH },
  { "sigmoid", SF_ACTIVATION_SIGMOID },
  { "linear", SF_ACTIVATION_IDENTITY },
  { "identity", SF_ACTIVATION_IDENTITY },
};

gboolean
sf_activation_from_name (const char *name, SfActivation *act)
{
  guint i;

  g_return_val_if_fail (act != NULL, FALSE);
  if (name == NULL)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (activation_names); i++) {
    if (g_ascii_strcasecmp (name, activation_names[i].name) == 0) {
      *act = activation_names[i].act;
      return TRUE;
    }
  }
  return FALSE;
}

const char *
sf_activation_name (SfActivation act)
{
  guint i;

  /* The first spelling listed for each value is its canonical name. */
  for (i = 0; i < G_N_ELEMENTS (activation_names); i++) {
    if (activation_names[i].act == act)
      return activation_names[i].name;
  }
  return "unknown";
}

typedef struct
{
  float *out;
  const float *a;
  SfActivation act;
} ElemwiseArgs;

#ifdef SF_HAVE_LIBMVEC
/* The mask of the first @n (< 16) lanes. */
static inline __mmask16
tail_mask (gint64 n)
{
  return (__mmask16)((1u << n) - 1);
}

/* gelu_range () in registers, 16 lanes at a time and the tail in masked
 * lanes: every element takes the same path wherever it sits, so a block
 * of rows (sf_activation_rows ()) gets the bits of the whole tensor. */
__attribute__ ((target ("avx512f"))) static inline __m512
gelu_vec16 (__m512 v)
{
  const __m512 c = _mm512_set1_ps ((float)M_SQRT1_2);
  const __m512 half = _mm512_set1_ps (0.5f), one = _mm512_set1_ps (1.0f);
  __m512 t = sf_vec16_erf (_mm512_mul_ps (v, c));

  return _mm512_mul_ps (_mm512_mul_ps (half, v), _mm512_add_ps (one, t));
}

__attribute__ ((target ("avx512f"))) static void
gelu16 (float *out, const float *x, gint64 n)
{
  gint64 i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (out + i, gelu_vec16 (_mm512_loadu_ps (x + i)));
  if (i < n) {
    __mmask16 m = tail_mask (n - i);
    _mm512_mask_storeu_ps (
        out + i, m, gelu_vec16 (_mm512_maskz_loadu_ps (m, x + i)));
  }
}

/* sigmoid_range () with @times_x, likewise. */
__attribute__ ((target ("avx512f"))) static inline __m512
sigmoid_times_x_vec16 (__m512 v, float alpha)
{
  __m512 t = sf_vec16_exp_low0 (_mm512_mul_ps (_mm512_set1_ps (-alpha), v));

  return _mm512_div_ps (v, _mm512_add_ps (_mm512_set1_ps (1.0f), t));
}

__attribute__ ((target ("avx512f"))) static void
sigmoid_times_x16 (float *out, const float *x, gint64 n, float alpha)
{
  gint64 i = 0;

  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps (
        out + i, sigmoid_times_x_vec16 (_mm512_loadu_ps (x + i), alpha));
  if (i < n) {
    __mmask16 m = tail_mask (n - i);
    _mm512_mask_storeu_ps (out + i, m,
        sigmoid_times_x_vec16 (_mm512_maskz_loadu_ps (m, x + i), alpha));
  }
}
#endif

static void
gelu_range (float *out, const float *x, gint64 n)
{
  float t[SF_BLOCK];
  gint64 i0, i;

#ifdef SF_HAVE_LIBMVEC
  if (__builtin_cpu_supports ("avx512f")) {
    gelu16 (out, x, n);
    return;
  }
#endif
  for (i0 = 0; i0 < n; i0 += SF_BLOCK) {
    gint64 len = MIN (SF_BLOCK, n - i0);

    for (i = 0; i < len; i++)
      t[i] = x[i0 + i] * (float)M_SQRT1_2;
    erf_array (t, len);
    for (i = 0; i < len; i++)
      out[i0 + i] = 0.5f * x[i0 + i] * (1.0f + t[i]);
  }
}

static void
gelu_tanh_range (float *out, const float *x, gint64 n)
{
  /* √(2/π) */
  const float k0 = 0.7978845608028654f;
  const float k1 = 0.044715f;
  float t[SF_BLOCK];
  gint64 i0, i;

  for (i0 = 0; i0 < n; i0 += SF_BLOCK) {
    gint64 len = MIN (SF_BLOCK, n - i0);

    for (i = 0; i < len; i++) {
      float v = x[i0 + i];
      t[i] = k0 * (v + k1 * v * v * v);
    }
    tanh_array (t, len);
    for (i = 0; i < len; i++)
      out[i0 + i] = 0.5f * x[i0 + i] * (1.0f + t[i]);
  }
}

/* sigmoid(alpha · x), times x when @times_x: SiLU is alpha 1, quick GELU
 * alpha 1.702, and the plain sigmoid alpha 1 without the factor. */
static void
sigmoid_range (
    float *out, const float *x, gint64 n, float alpha, gboolean times_x)
{
  float t[SF_BLOCK];
  gint64 i0, i;

#ifdef SF_HAVE_LIBMVEC
  if (times_x && __builtin_cpu_supports ("avx512f")) {
    sigmoid_times_x16 (out, x, n, alpha);
    return;
  }
#endif
  for (i0 = 0; i0 < n; i0 += SF_BLOCK) {
    gint64 len = MIN (SF_BLOCK, n - i0);

    for (i = 0; i < len; i++)
      t[i] = -alpha * x[i0 + i];
    exp_array (t, len);
    if (times_x) {
      for (i = 0; i < len; i++)
        out[i0 + i] = x[i0 + i] / (1.0f + t[i]);
    } else {
      for (i = 0; i < len; i++)
        out[i0 + i] = 1.0f / (1.0f + t[i]);
    }
  }
}

static void
relu_range (float *out, const float *x, gint64 n)
{
  gint64 i;

  for (i = 0; i < n; i++)
    out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void
tanh_range (float *out, const float *x, gint64 n)
{
  if (out != x)
    memmove (out, x, (gsize)n * sizeof (float));
  tanh_array (out, n);
}

static void
activation_chunk (gint64 start, gint64 end, gpointer user_data)
{
  ElemwiseArgs *args = user_data;
  float *out = args->out + start;
  const float *x = args->a + start;
  gint64 n = end - start;

  switch (args->act) {
    case SF_ACTIVATION_GELU: gelu_range (out, x, n); break;
    case SF_ACTIVATION_GELU_NEW: gelu_tanh_range (out, x, n); break;
    case SF_ACTIVATION_QUICK_GELU:
      sigmoid_range (out, x, n, 1.702f, TRUE);
      break;
    case SF_ACTIVATION_RELU: relu_range (out, x, n); break;
    case SF_ACTIVATION_SILU: sigmoid_range (out, x, n, 1.0f, TRUE); break;
    case SF_ACTIVATION_TANH: tanh_range (out, x, n); break;
    case SF_ACTIVATION_SIGMOID: sigmoid_range (out, x, n, 1.0f, FALSE); break;
    case SF_ACTIVATION_IDENTITY:
      if (out != x)
        memmove (out, x, (gsize)n * sizeof (float));
      break;
  }
}

gboolean
sf_activation_fusable (SfActivation act)
{
  if (act == SF_ACTIVATION_RELU || act == SF_ACTIVATION_IDENTITY)
    return TRUE;
  if (act != SF_ACTIVATION_GELU && act != SF_ACTIVATION_QUICK_GELU
      && act != SF_ACTIVATION_SILU)
    return FALSE; /* tanh's and the sigmoid's blocks take several paths */
#ifdef SF_HAVE_LIBMVEC
  /* libmvec's 4-lane groups and the scalar tail differ in the last bit */
  return __builtin_cpu_supports ("avx512f");
#else
  return TRUE; /* scalar libm for every element */
#endif
}

void
sf_activation_rows (
    float *c, gint64 ldc, gint64 rows, gint64 cols, SfActivation act)
{
  ElemwiseArgs args = { NULL, NULL, act };

  if (act == SF_ACTIVATION_IDENTITY)
    return;
  for (gint64 i = 0; i < rows; i++) {
    args.out = c + i * ldc;
    args.a = args.out;
    activation_chunk (0, cols, &args);
  }
}

static void
op_activation (SfTensor *out, const SfTensor *x, SfActivation act)
{
  ElemwiseArgs args = { 0 };

  g_return_if_fail (out != NULL && x != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32);
  g_return_if_fail (sf_tensor_same_shape (out, x));
  g_return_if_fail (act >= SF_ACTIVATION_GELU && act <= SF_ACTIVATION_IDENTITY);

  args.out = sf_tensor_f32 (out);
  args.a = sf_tensor_f32 (x);
  args.act = act;
  sf_parallel_for (
      sf_tensor_numel (x), SF_ELEMWISE_CHUNK, activation_chunk, &args);
}

void
sf_op_activation (SfTensor *out, const SfTensor *x, SfActivation act)
{
  gint64 prof = sf_profile_begin ();

  op_activation (out, x, act);
  sf_profile_end (SF_PROFILE_ACTIVATIONS, prof, 0);
}

void
sf_op_sigmoid (SfTensor *out, const SfTensor *x)
{
  sf_op_activation (out, x, SF_ACTIVATION_SIGMOID);
}
