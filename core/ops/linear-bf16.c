/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: bf16 linear layers with AVX512_BF16.
 *
 * Design decisions:
 * - vdpbf16ps multiplies pairs of bf16 and adds both products to an f32
 *   lane, so the weight is packed in pairs along K (core/ops/linear-packed.h)
 *   once, at load, and the activations are rounded to bf16 once per call,
 *   row-major with K padded to even.
 * - The micro-kernel holds a tile of SF_BF16_MR rows by SF_PACKED_NR
 *   columns in 24 zmm accumulators over the whole of K: each step loads
 *   two weight vectors and broadcasts one pair of each row's activations.
 *   Bias and the final store happen once, with masks for the last columns.
 * - The pool splits the output into column chunks (a few panels, which stay
 *   in L2 while the rows stream past) and row blocks.
 * - Rounding to bf16 is round-to-nearest-even with NaN kept, bit for bit
 *   sf_f32_to_bf16 (), so a test can build the exact operands.
 * - A product whose output only feeds another bf16 product (a feed-forward
 *   block's first) can write bf16 rows: each tile row's block goes through
 *   an f32 block in L1, is activated and rounded there, and the second
 *   product reads the rows as they are. The f32 output is never written
 *   or read again, and the second product's rounding pass is gone. GELU
 *   takes there an erf fitted for values rounded to bf16 next
 *   (sf_vec16_erf_bf16 (), 2.8x libmvec's speed, within 1.2e-6 of
 *   libmvec's GELU); other activations give the bits of the two products
 *   apart.
 * - Kernels carry target attributes and run only when cpuid reports the
 *   instructions (sf_linear_pack () packs nothing otherwise).
 */
#include "core/ops/linear-bf16.h"
#include "core/scratch.h"
#include "core/threads.h"
#include "core/vecmath.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SF_BF16_X86 1
#define BF16_TARGET                                                            \
  __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

#define SF_BF16_MR 12
/* The most rows of one unit of pool work, a multiple of the tile. Large:
 * each unit streams its weight panels once past all its rows, and the
 * weights, not the activations, are the traffic that counts; a 197-token
 * ViT in one block rather than 96 + 96 + 5 rows ran 7 % faster on 2
 * threads */
#define SF_BF16_ROWS_PER_BLOCK (32 * SF_BF16_MR)
#define SF_BF16_MIN_UNIT_WORK (1 << 18)
/* Panels a row tile runs through before the next row tile: a group stays
 * in L2 while the tile's rows stay in L1, and consecutive tiles store to
 * different columns. Panel after panel down all rows, a [M, 3072] f32
 * output put every stored row in the same cache sets (rows 12 KiB apart)
 * and cost BERT's and ViT's first feed-forward product 11 %. */
#define SF_BF16_GROUP_BYTES (256 * 1024)

static void
pack_panels (gint64 start, gint64 end, gpointer user_data)
{
  gpointer *args = user_data;
  const SfTensor *w = args[0];
  const SfPackedWeight *h = args[1];
  gboolean trans_w = GPOINTER_TO_INT (args[2]);
  const float *src = sf_tensor_f32 (w);
  gint64 n = h->n, k = h->k;

  for (gint64 p = start; p < end; p++) {
    guint16 *dst = (guint16 *)(h->panels + p * h->panel_bytes);
    /* the panels come zero-filled, which is the padding */
    for (gint64 c = 0; c < SF_PACKED_NR && p * SF_PACKED_NR + c < n; c++) {
      gint64 col = p * SF_PACKED_NR + c;
      for (gint64 kk = 0; kk < k; kk++) {
        float v = trans_w ? src[col * k + kk] : src[kk * n + col];
        dst[((kk / 2) * SF_PACKED_NR + c) * 2 + kk % 2] = sf_f32_to_bf16 (v);
      }
    }
  }
}

SfTensor *
sf_linear_bf16_pack (const SfTensor *w, gboolean trans_w)
{
  gint64 n, k, kp;
  SfPackedWeight *h;
  SfTensor *t;
  gpointer args[3];

  g_return_val_if_fail (w != NULL && w->dtype == SF_DTYPE_F32, NULL);
  g_return_val_if_fail (w->ndim == 2, NULL);
  n = trans_w ? w->shape[0] : w->shape[1];
  k = trans_w ? w->shape[1] : w->shape[0];
  kp = (k + 1) / 2 * 2;
  t = sf_linear_packed_alloc (w->shape, SF_PRECISION_BF16, n, k, kp,
      (gsize)kp * SF_PACKED_NR * sizeof (guint16), FALSE, &h);
  args[0] = (gpointer)w;
  args[1] = h;
  args[2] = GINT_TO_POINTER (trans_w);
  sf_parallel_for (h->n_panels, 1, pack_panels, args);
  return t;
}

#ifdef SF_BF16_X86

typedef void (*Bf16TileFunc) (gint64 kq, const guint16 *a, gint64 lda,
    const guint16 *b, const float *bias, float *c, gint64 ldc, int nr);

/* c[mr, nr] = a[mr, 2·kq] · b (one panel) + bias: the micro-kernel, inlined
 * with a constant @mr into one function per row count. */
BF16_TARGET static inline __attribute__ ((always_inline)) void
bf16_tile (const int mr, gint64 kq, const guint16 *a, gint64 lda,
    const guint16 *b, const float *bias, float *c, gint64 ldc, int nr)
{
  __m512 acc0[SF_BF16_MR], acc1[SF_BF16_MR];
  __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xffff
      : nr > 16           ? (__mmask16)((1u << (nr - 16)) - 1)
                          : 0;
  __m512 bias0, bias1;

#pragma GCC unroll 12
  for (int i = 0; i < SF_BF16_MR; i++) {
    if (i < mr) {
      acc0[i] = _mm512_setzero_ps ();
      acc1[i] = _mm512_setzero_ps ();
    }
  }
  for (gint64 q = 0; q < kq; q++) {
    __m512bh b0 = (__m512bh)_mm512_load_si512 (b + q * 64);
    __m512bh b1 = (__m512bh)_mm512_load_si512 (b + q * 64 + 32);
#pragma GCC unroll 12
    for (int i = 0; i < SF_BF16_MR; i++) {
      if (i < mr) {
        gint32 pair;
        __m512bh av;
        memcpy (&pair, a + i * lda + 2 * q, sizeof pair);
        av = (__m512bh)_mm512_set1_epi32 (pair);
        acc0[i] = _mm512_dpbf16_ps (acc0[i], av, b0);
        acc1[i] = _mm512_dpbf16_ps (acc1[i], av, b1);
      }
    }
  }
  bias0 = bias ? _mm512_maskz_loadu_ps (m0, bias) : _mm512_setzero_ps ();
  bias1 = bias ? _mm512_maskz_loadu_ps (m1, bias + 16) : _mm512_setzero_ps ();
#pragma GCC unroll 12
  for (int i = 0; i < SF_BF16_MR; i++) {
    if (i < mr) {
      _mm512_mask_storeu_ps (c + i * ldc, m0, _mm512_add_ps (acc0[i], bias0));
      _mm512_mask_storeu_ps (
          c + i * ldc + 16, m1, _mm512_add_ps (acc1[i], bias1));
    }
  }
}

#define BF16_TILE_FUNC(R)                                                      \
  BF16_TARGET static void bf16_tile_##R (gint64 kq, const guint16 *a,          \
      gint64 lda, const guint16 *b, const float *bias, float *c, gint64 ldc,   \
      int nr)                                                                  \
  {                                                                            \
    bf16_tile (R, kq, a, lda, b, bias, c, ldc, nr);                            \
  }
BF16_TILE_FUNC (1)
BF16_TILE_FUNC (2)
BF16_TILE_FUNC (3)
BF16_TILE_FUNC (4)
BF16_TILE_FUNC (5)
BF16_TILE_FUNC (6)
BF16_TILE_FUNC (7)
BF16_TILE_FUNC (8)
BF16_TILE_FUNC (9)
BF16_TILE_FUNC (10)
BF16_TILE_FUNC (11)
BF16_TILE_FUNC (12)

static const Bf16TileFunc bf16_tiles[SF_BF16_MR + 1] = { NULL, bf16_tile_1,
  bf16_tile_2, bf16_tile_3, bf16_tile_4, bf16_tile_5, bf16_tile_6, bf16_tile_7,
  bf16_tile_8, bf16_tile_9, bf16_tile_10, bf16_tile_11, bf16_tile_12 };

/* The bf16 bits of 16 floats (in the low halves of 32-bit lanes):
 * sf_f32_to_bf16 () sixteen at a time. */
BF16_TARGET static inline __attribute__ ((always_inline)) __m512i
round16 (__m512 v)
{
  const __m512i round = _mm512_set1_epi32 (0x7fff);
  const __m512i one = _mm512_set1_epi32 (1);
  const __m512i quiet = _mm512_set1_epi32 (0x40);
  __m512i u = _mm512_castps_si512 (v);
  __m512i lsb = _mm512_and_si512 (_mm512_srli_epi32 (u, 16), one);
  __m512i r = _mm512_srli_epi32 (
      _mm512_add_epi32 (u, _mm512_add_epi32 (round, lsb)), 16);
  __mmask16 nan = _mm512_cmp_ps_mask (v, v, _CMP_UNORD_Q);

  return _mm512_mask_or_epi32 (r, nan, _mm512_srli_epi32 (u, 16), quiet);
}

/* a[kp] = bf16 (scale · x[k]), zero past k */
BF16_TARGET static void
round_row (const float *x, guint16 *a, gint64 k, gint64 kp, float scale)
{
  const __m512 s = _mm512_set1_ps (scale);
  gint64 i = 0;

  for (; i + 16 <= k; i += 16)
    _mm256_storeu_si256 ((__m256i *)(a + i),
        _mm512_cvtepi32_epi16 (
            round16 (_mm512_mul_ps (_mm512_loadu_ps (x + i), s))));
  if (i < k) {
    __mmask16 tail = (__mmask16)((1u << (k - i)) - 1);
    __m512 v = _mm512_mul_ps (_mm512_maskz_loadu_ps (tail, x + i), s);
    _mm256_mask_storeu_epi16 (a + i, tail, _mm512_cvtepi32_epi16 (round16 (v)));
    i = k;
  }
  for (; i < kp; i++)
    a[i] = 0;
}

/* GELU of 16 lanes with the erf that bf16 rows need (core/vecmath.h),
 * else the formula of sf_op_activation (). */
BF16_TARGET static inline __attribute__ ((always_inline)) __m512
gelu_bf16 (__m512 v)
{
  __m512 t =
      sf_vec16_erf_bf16 (_mm512_mul_ps (v, _mm512_set1_ps ((float)M_SQRT1_2)));

  return _mm512_mul_ps (_mm512_mul_ps (_mm512_set1_ps (0.5f), v),
      _mm512_add_ps (_mm512_set1_ps (1.0f), t));
}

/* a[n] = bf16 (gelu (x[n])), n even: a feed-forward block's hidden row,
 * activated and rounded in one pass. */
BF16_TARGET static void
gelu_round_row (const float *x, guint16 *a, gint64 n)
{
  gint64 i = 0;

  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256 ((__m256i *)(a + i),
        _mm512_cvtepi32_epi16 (round16 (gelu_bf16 (_mm512_loadu_ps (x + i)))));
  if (i < n) {
    __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16 (a + i, tail,
        _mm512_cvtepi32_epi16 (
            round16 (gelu_bf16 (_mm512_maskz_loadu_ps (tail, x + i)))));
  }
}

void
sf_bf16_round_rows (guint16 *a, gint64 lda, const float *x, gint64 ldx,
    gint64 m, gint64 k, float scale)
{
  for (gint64 i = 0; i < m; i++)
    round_row (x + i * ldx, a + i * lda, k, (k + 1) / 2 * 2, scale);
}

/* The bf16 pairs (columns 2q, 2q + 1) of each of @n rows of src, row j
 * as the panels' column j: each row is rounded in one pass, then its
 * 32-bit pairs go to their steps of the panel. */
void
sf_bf16_panels_pack_rows (
    guint16 *dst, const float *src, gint64 ld, gint64 n, gint64 k)
{
  gint64 kp = (k + 1) / 2 * 2, kq = kp / 2;
  gint64 n_panels = (n + SF_PACKED_NR - 1) / SF_PACKED_NR;
  guint32 *words = (guint32 *)dst;
  guint16 row[SF_BF16_PACK_MAX_K];

  g_return_if_fail (kp <= SF_BF16_PACK_MAX_K);
  if (n % SF_PACKED_NR != 0) /* zero the last panel's missing columns */
    memset (dst + (n_panels - 1) * kp * SF_PACKED_NR, 0,
        (gsize)kp * SF_PACKED_NR * sizeof (guint16));
  for (gint64 j = 0; j < n; j++) {
    guint32 *panel = words + (j / SF_PACKED_NR) * kq * SF_PACKED_NR;

    round_row (src + j * ld, row, k, kp, 1.0f);
    for (gint64 q = 0; q < kq; q++) {
      guint32 pair;
      memcpy (&pair, row + 2 * q, sizeof pair);
      panel[q * SF_PACKED_NR + j % SF_PACKED_NR] = pair;
    }
  }
}

/* Panels of src [k, n] (rows @ld apart) read along its rows: steps 2q and
 * 2q + 1 of sixteen columns at a time make sixteen 32-bit pairs. */
BF16_TARGET void
sf_bf16_panels_pack_cols (
    guint16 *dst, const float *src, gint64 ld, gint64 n, gint64 k)
{
  gint64 kq = (k + 1) / 2;
  gint64 n_panels = (n + SF_PACKED_NR - 1) / SF_PACKED_NR;

  for (gint64 p = 0; p < n_panels; p++) {
    guint16 *panel = dst + p * kq * 2 * SF_PACKED_NR;

    for (int half = 0; half < 2; half++) {
      gint64 col = p * SF_PACKED_NR + 16 * half;
      gint64 cols = CLAMP (n - col, 0, 16);
      __mmask16 mask = (__mmask16)((1u << cols) - 1);

      for (gint64 q = 0; q < kq; q++) {
        __m512 lo = _mm512_maskz_loadu_ps (mask, src + 2 * q * ld + col);
        __m512 hi = 2 * q + 1 < k
            ? _mm512_maskz_loadu_ps (mask, src + (2 * q + 1) * ld + col)
            : _mm512_setzero_ps ();
        __m512i pairs = _mm512_or_si512 (
            round16 (lo), _mm512_slli_epi32 (round16 (hi), 16));
        _mm512_store_si512 (panel + (q * SF_PACKED_NR + 16 * half) * 2, pairs);
      }
    }
  }
}

void
sf_bf16_panels_gemm (float *c, gint64 ldc, const guint16 *a, gint64 lda,
    gint64 m, const guint16 *panels, gint64 kp, gint64 n)
{
  gint64 n_panels = (n + SF_PACKED_NR - 1) / SF_PACKED_NR;

  for (gint64 p = 0; p < n_panels; p++) {
    gint64 col = p * SF_PACKED_NR;
    int nr = (int)MIN (SF_PACKED_NR, n - col);
    const guint16 *b = panels + p * kp * SF_PACKED_NR;

    for (gint64 i = 0; i < m; i += SF_BF16_MR) {
      int mr = (int)MIN (SF_BF16_MR, m - i);
      bf16_tiles[mr](
          kp / 2, a + i * lda, lda, b, NULL, c + i * ldc + col, ldc, nr);
    }
  }
}

typedef struct
{
  const SfPackedWeight *w;
  const float *x;   /* [M, K] */
  const guint16 *a; /* [M, kp] */
  const float *bias;
  float *c;        /* [M, N], or NULL */
  guint16 *c_bf16; /* [M, N] when c is NULL */
  gint64 m;
  gint64 rows_per_block, m_blocks, panels_per_chunk;
  SfActivation act; /* applied to each tile row's block of a group */
} Bf16Args;

static void
round_rows (gint64 start, gint64 end, gpointer user_data)
{
  const Bf16Args *g = user_data;
  guint16 *a = (guint16 *)g->a;

  for (gint64 i = start; i < end; i++)
    round_row (g->x + i * g->w->k, a + i * g->w->kp, g->w->k, g->w->kp, 1.0f);
}

/* A tile row's output block through a group of panels, columns c0 to c1:
 * straight into the f32 output, or (bf16 output) through an f32 block in
 * L1 that is then activated and rounded. */
static void
run_group (
    const Bf16Args *g, gint64 i, int mr, gint64 g0, gint64 g1, float *block)
{
  const SfPackedWeight *w = g->w;
  gint64 c0 = g0 * SF_PACKED_NR, c1 = MIN (w->n, g1 * SF_PACKED_NR);
  float *c = g->c ? g->c + i * w->n + c0 : block;
  gint64 ldc = g->c ? w->n : c1 - c0;

  for (gint64 p = g0; p < g1; p++) {
    gint64 col = p * SF_PACKED_NR;
    int nr = (int)MIN (SF_PACKED_NR, w->n - col);
    const guint16 *b = (const guint16 *)(w->panels + p * w->panel_bytes);
    bf16_tiles[mr](w->kp / 2, g->a + i * w->kp, w->kp, b,
        g->bias ? g->bias + col : NULL, c + (col - c0), ldc, nr);
  }
  /* the rows just stored are still in L1 */
  if (g->c_bf16 != NULL && g->act == SF_ACTIVATION_GELU) {
    for (int r = 0; r < mr; r++)
      gelu_round_row (c + r * ldc, g->c_bf16 + (i + r) * w->n + c0, c1 - c0);
    return;
  }
  sf_activation_rows (c, ldc, mr, c1 - c0, g->act);
  if (g->c_bf16 != NULL)
    for (int r = 0; r < mr; r++)
      round_row (
          c + r * ldc, g->c_bf16 + (i + r) * w->n + c0, c1 - c0, c1 - c0, 1.0f);
}

static void
run_units (gint64 start, gint64 end, gpointer user_data)
{
  const Bf16Args *g = user_data;
  const SfPackedWeight *w = g->w;

  for (gint64 u = start; u < end; u++) {
    gint64 m0 = (u % g->m_blocks) * g->rows_per_block;
    gint64 m1 = MIN (g->m, m0 + g->rows_per_block);
    gint64 p0 = (u / g->m_blocks) * g->panels_per_chunk;
    gint64 p1 = MIN (w->n_panels, p0 + g->panels_per_chunk);

    gint64 group = MAX (1, SF_BF16_GROUP_BYTES / (gint64)w->panel_bytes);
    float *block = g->c
        ? NULL
        : sf_scratch_get (SF_SCRATCH_TILE,
            (gsize)SF_BF16_MR * group * SF_PACKED_NR * sizeof (float));

    for (gint64 g0 = p0; g0 < p1; g0 += group) {
      gint64 g1 = MIN (p1, g0 + group);
      for (gint64 i = m0; i < m1; i += SF_BF16_MR)
        run_group (g, i, (int)MIN (SF_BF16_MR, m1 - i), g0, g1, block);
    }
  }
}

void
sf_linear_bf16_run (const SfBf16Operands *io, gint64 m, const SfPackedWeight *w,
    const float *bias, SfActivation act)
{
  SfPackedSplit split;
  Bf16Args g = { w, io->x, io->x_bf16, bias, io->out, io->out_bf16, m, 0, 0, 0,
    act };

  g_return_if_fail ((io->x == NULL) != (io->x_bf16 == NULL));
  g_return_if_fail ((io->out == NULL) != (io->out_bf16 == NULL));
  g_return_if_fail (io->out_bf16 == NULL || w->n % 2 == 0);
  if (m == 0 || w->n == 0)
    return;
  if (g.a == NULL) {
    g.a =
        sf_scratch_get (SF_SCRATCH_LINEAR, (gsize)m * w->kp * sizeof (guint16));
    sf_parallel_for (m, MAX (1, 65536 / MAX (w->k, 1)), round_rows, &g);
  }

  sf_linear_packed_split (w, m, SF_BF16_MR, SF_BF16_ROWS_PER_BLOCK, &split);
  g.panels_per_chunk = split.panels_per_chunk;
  g.rows_per_block = split.rows_per_block;
  g.m_blocks = split.m_blocks;
  sf_parallel_for (split.chunks * split.m_blocks,
      MAX (1, SF_BF16_MIN_UNIT_WORK / MAX (split.unit_work, 1)), run_units, &g);
}

#else /* !SF_BF16_X86 */

void
sf_linear_bf16_run (const SfBf16Operands *io, gint64 m, const SfPackedWeight *w,
    const float *bias, SfActivation act)
{
  /* sf_linear_pack () packs nothing on a CPU without AVX512_BF16 */
  g_return_if_reached ();
}

/* callers check for AVX512_BF16 first */
void
sf_bf16_round_rows (guint16 *a, gint64 lda, const float *x, gint64 ldx,
    gint64 m, gint64 k, float scale)
{
  g_return_if_reached ();
}

void
sf_bf16_panels_pack_rows (
    guint16 *dst, const float *src, gint64 ld, gint64 n, gint64 k)
{
  g_return_if_reached ();
}

void
sf_bf16_panels_pack_cols (
    guint16 *dst, const float *src, gint64 ld, gint64 n, gint64 k)
{
  g_return_if_reached ();
}

void
sf_bf16_panels_gemm (float *c, gint64 ldc, const guint16 *a, gint64 lda,
    gint64 m, const guint16 *panels, gint64 kp, gint64 n)
{
  g_return_if_reached ();
}

#endif
