/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: int8 linear layers with AVX512_VNNI.
 *
 * Design decisions:
 * - vpdpbusd multiplies four unsigned bytes by four signed bytes and adds
 *   the four products to an s32 lane, without saturation. Activations are
 *   therefore u8 with a zero point (their full range, no reduced range
 *   needed) and weights s8, symmetric per output channel; the weight is
 *   packed in groups of four along K (core/ops/linear-packed.h) at load,
 *   with each column's sum of quantised values, so the zero point comes
 *   out as one product per output: Σ (qx - zp) qw = Σ qx qw - zp Σ qw.
 * - The tile and the work split are those of the bf16 kernel
 *   (core/ops/linear-bf16.c): 12 rows by 32 columns in 24 zmm accumulators
 *   over the whole of K, one dequantising store at the end.
 * - Weights use ±127, never -128, so that the quantisation is symmetric.
 * - A row holding NaN or infinity gets a NaN scale and gives NaN outputs,
 *   as the f32 product would.
 */
#include "core/ops/linear-int8.h"
#include "core/scratch.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SF_INT8_X86 1
#define INT8_TARGET                                                            \
  __attribute__ ((target ("avx512f,avx512bw,avx512vl,avx512vnni")))
#endif

#define SF_INT8_MR 12
/* as SF_BF16_ROWS_PER_BLOCK */
#define SF_INT8_ROWS_PER_BLOCK (32 * SF_INT8_MR)
#define SF_INT8_MIN_UNIT_WORK (1 << 18)

static void
pack_panels (gint64 start, gint64 end, gpointer user_data)
{
  const SfPackJob *args = user_data;
  const SfPackedWeight *h = args->h;
  const float *src = sf_tensor_f32 (args->w);
  float *scale = (float *)h->scale;
  gint32 *colsum = (gint32 *)h->colsum;
  gint64 n = h->n, k = h->k;

  for (gint64 p = start; p < end; p++) {
    gint8 *dst = (gint8 *)(h->panels + p * h->panel_bytes);
    for (gint64 c = 0; c < SF_PACKED_NR && p * SF_PACKED_NR + c < n; c++) {
      gint64 col = p * SF_PACKED_NR + c;
      float amax = 0.0f, s;
      gint32 sum = 0;

      for (gint64 kk = 0; kk < k; kk++) {
        float v = args->trans_w ? src[col * k + kk] : src[kk * n + col];
        amax = MAX (amax, fabsf (v));
      }
      s = amax > 0.0f && isfinite (amax) ? amax / 127.0f : 1.0f;
      for (gint64 kk = 0; kk < k; kk++) {
        float v = args->trans_w ? src[col * k + kk] : src[kk * n + col];
        float q = CLAMP (rintf (v / s), -127.0f, 127.0f);
        gint8 qi = isnan (q) ? 0 : (gint8)q;
        dst[((kk / 4) * SF_PACKED_NR + c) * 4 + kk % 4] = qi;
        sum += qi;
      }
      scale[col] = s;
      colsum[col] = sum;
    }
  }
}

SfTensor *
sf_linear_int8_pack (SfTensor *w, gboolean trans_w)
{
  gint64 n, k, kp;
  SfPackedWeight *h;
  SfTensor *t;
  SfPackJob args;

  g_return_val_if_fail (w != NULL && w->dtype == SF_DTYPE_F32, NULL);
  g_return_val_if_fail (w->ndim == 2, NULL);
  n = trans_w ? w->shape[0] : w->shape[1];
  k = trans_w ? w->shape[1] : w->shape[0];
  if (k > SF_INT8_MAX_K)
    return sf_tensor_ref (w);
  kp = (k + 3) / 4 * 4;
  /* the panels come zero-filled, which is the padding */
  t = sf_linear_packed_alloc (w->shape, SF_PRECISION_INT8, n, k, kp,
      (gsize)kp * SF_PACKED_NR, TRUE, &h);
  args.w = w;
  args.h = h;
  args.trans_w = trans_w;
  sf_parallel_for (h->n_panels, 1, pack_panels, &args);
  return t;
}

#ifdef SF_INT8_X86

typedef struct
{
  const SfPackedWeight *w;
  const float *x;   /* [M, K] */
  guint8 *a;        /* [M, kp] quantised rows */
  float *row_scale; /* [M] */
  gint32 *row_zp;   /* [M] */
  const float *bias;
  float *c; /* [M, N] */
  gint64 m;
  gint64 rows_per_block, m_blocks, panels_per_chunk;
  SfActivation act; /* applied to each unit's block */
} Int8Args;

typedef void (*Int8TileFunc) (const Int8Args *g, gint64 row, gint64 panel);

/* acc += Σ4 u8 (a) · s8 (b), per s32 lane. Written out because GCC 12
 * copies the accumulator around _mm512_dpbusd_epi32, spilling a full
 * tile's worth of them to the stack. */
INT8_TARGET static inline __attribute__ ((always_inline)) __m512i
dpbusd (__m512i acc, __m512i a, __m512i b)
{
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
  return acc;
}

/* The micro-kernel: rows [row, row + mr) by one panel, inlined with a
 * constant @mr into one function per row count. */
INT8_TARGET static inline __attribute__ ((always_inline)) void
int8_tile (const int mr, const Int8Args *g, gint64 row, gint64 panel)
{
  const SfPackedWeight *w = g->w;
  gint64 col = panel * SF_PACKED_NR, kq = w->kp / 4, lda = w->kp;
  int nr = (int)MIN (SF_PACKED_NR, w->n - col);
  const guint8 *a = g->a + row * lda;
  const guint8 *b = w->panels + panel * w->panel_bytes;
  float *c = g->c + row * w->n + col;
  __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xffff
      : nr > 16           ? (__mmask16)((1u << (nr - 16)) - 1)
                          : 0;
  __m512i acc0[SF_INT8_MR], acc1[SF_INT8_MR];
  __m512i sum0, sum1;
  __m512 s0, s1, bias0, bias1;

#pragma GCC unroll 12
  for (int i = 0; i < SF_INT8_MR; i++) {
    if (i < mr) {
      acc0[i] = _mm512_setzero_si512 ();
      acc1[i] = _mm512_setzero_si512 ();
    }
  }
  for (gint64 q = 0; q < kq; q++) {
    __m512i b0 = _mm512_load_si512 (b + q * 128);
    __m512i b1 = _mm512_load_si512 (b + q * 128 + 64);
#pragma GCC unroll 12
    for (int i = 0; i < SF_INT8_MR; i++) {
      if (i < mr) {
        gint32 quad;
        __m512i av;
        memcpy (&quad, a + i * lda + 4 * q, sizeof quad);
        av = _mm512_set1_epi32 (quad);
        acc0[i] = dpbusd (acc0[i], av, b0);
        acc1[i] = dpbusd (acc1[i], av, b1);
      }
    }
  }
  sum0 = _mm512_maskz_loadu_epi32 (m0, w->colsum + col);
  sum1 = _mm512_maskz_loadu_epi32 (m1, w->colsum + col + 16);
  s0 = _mm512_maskz_loadu_ps (m0, w->scale + col);
  s1 = _mm512_maskz_loadu_ps (m1, w->scale + col + 16);
  bias0 = g->bias ? _mm512_maskz_loadu_ps (m0, g->bias + col)
                  : _mm512_setzero_ps ();
  bias1 = g->bias ? _mm512_maskz_loadu_ps (m1, g->bias + col + 16)
                  : _mm512_setzero_ps ();
#pragma GCC unroll 12
  for (int i = 0; i < SF_INT8_MR; i++) {
    if (i < mr) {
      __m512i zp = _mm512_set1_epi32 (g->row_zp[row + i]);
      __m512 rs = _mm512_set1_ps (g->row_scale[row + i]);
      __m512 v0 = _mm512_cvtepi32_ps (
          _mm512_sub_epi32 (acc0[i], _mm512_mullo_epi32 (zp, sum0)));
      __m512 v1 = _mm512_cvtepi32_ps (
          _mm512_sub_epi32 (acc1[i], _mm512_mullo_epi32 (zp, sum1)));
      _mm512_mask_storeu_ps (c + i * w->n, m0,
          _mm512_fmadd_ps (v0, _mm512_mul_ps (rs, s0), bias0));
      _mm512_mask_storeu_ps (c + i * w->n + 16, m1,
          _mm512_fmadd_ps (v1, _mm512_mul_ps (rs, s1), bias1));
    }
  }
}

#define INT8_TILE_FUNC(R)                                                      \
  INT8_TARGET static void int8_tile_##R (                                      \
      const Int8Args *g, gint64 row, gint64 panel)                             \
  {                                                                            \
    int8_tile (R, g, row, panel);                                              \
  }
INT8_TILE_FUNC (1)
INT8_TILE_FUNC (2)
INT8_TILE_FUNC (3)
INT8_TILE_FUNC (4)
INT8_TILE_FUNC (5)
INT8_TILE_FUNC (6)
INT8_TILE_FUNC (7)
INT8_TILE_FUNC (8)
INT8_TILE_FUNC (9)
INT8_TILE_FUNC (10)
INT8_TILE_FUNC (11)
INT8_TILE_FUNC (12)

static const Int8TileFunc int8_tiles[SF_INT8_MR + 1] = { NULL, int8_tile_1,
  int8_tile_2, int8_tile_3, int8_tile_4, int8_tile_5, int8_tile_6, int8_tile_7,
  int8_tile_8, int8_tile_9, int8_tile_10, int8_tile_11, int8_tile_12 };

/* Quantises one row as linear-int8.h says: a[kp] (zero past k). */
INT8_TARGET static void
quantise_row (const float *x, guint8 *a, gint64 k, gint64 kp, float *scale_out,
    gint32 *zp_out)
{
  __m512 vmin = _mm512_setzero_ps (), vmax = _mm512_setzero_ps ();
  float lo, hi, scale, zp;
  gboolean finite = TRUE;
  gint64 i = 0;

  for (; i + 16 <= k; i += 16) {
    __m512 v = _mm512_loadu_ps (x + i);
    vmin = _mm512_min_ps (vmin, v);
    vmax = _mm512_max_ps (vmax, v);
    if (_mm512_cmp_ps_mask (
            _mm512_sub_ps (v, v), _mm512_setzero_ps (), _CMP_NEQ_UQ))
      finite = FALSE;
  }
  lo = _mm512_reduce_min_ps (vmin);
  hi = _mm512_reduce_max_ps (vmax);
  for (; i < k; i++) {
    lo = MIN (lo, x[i]);
    hi = MAX (hi, x[i]);
    if (!isfinite (x[i]))
      finite = FALSE;
  }
  if (!finite) {
    *scale_out = NAN;
    *zp_out = 0;
    memset (a, 0, kp);
    return;
  }
  scale = (hi - lo) / 255.0f;
  if (scale == 0.0f)
    scale = 1.0f;
  zp = CLAMP (rintf (-lo / scale), 0.0f, 255.0f);
  *scale_out = scale;
  *zp_out = (gint32)zp;
  {
    const __m512 vs = _mm512_set1_ps (scale), vz = _mm512_set1_ps (zp);
    const __m512 v0 = _mm512_setzero_ps (), v255 = _mm512_set1_ps (255.0f);
    for (i = 0; i + 16 <= k; i += 16) {
      __m512 q =
          _mm512_roundscale_ps (_mm512_div_ps (_mm512_loadu_ps (x + i), vs),
              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm512_min_ps (_mm512_max_ps (_mm512_add_ps (q, vz), v0), v255);
      _mm_storeu_si128 (
          (__m128i *)(a + i), _mm512_cvtepi32_epi8 (_mm512_cvtps_epi32 (q)));
    }
  }
  for (; i < k; i++)
    a[i] = (guint8)CLAMP (rintf (x[i] / scale) + zp, 0.0f, 255.0f);
  for (; i < kp; i++)
    a[i] = 0;
}

static void
quantise_rows (gint64 start, gint64 end, gpointer user_data)
{
  const Int8Args *g = user_data;

  for (gint64 i = start; i < end; i++)
    quantise_row (g->x + i * g->w->k, g->a + i * g->w->kp, g->w->k, g->w->kp,
        &g->row_scale[i], &g->row_zp[i]);
}

static void
run_units (gint64 start, gint64 end, gpointer user_data)
{
  const Int8Args *g = user_data;

  for (gint64 u = start; u < end; u++) {
    gint64 m0 = (u % g->m_blocks) * g->rows_per_block;
    gint64 m1 = MIN (g->m, m0 + g->rows_per_block);
    gint64 p0 = (u / g->m_blocks) * g->panels_per_chunk;
    gint64 p1 = MIN (g->w->n_panels, p0 + g->panels_per_chunk);

    gint64 col = p0 * SF_PACKED_NR;

    for (gint64 p = p0; p < p1; p++)
      for (gint64 i = m0; i < m1; i += SF_INT8_MR)
        int8_tiles[MIN (SF_INT8_MR, m1 - i)](g, i, p);
    sf_activation_rows (g->c + m0 * g->w->n + col, g->w->n, m1 - m0,
        MIN (g->w->n, p1 * SF_PACKED_NR) - col, g->act);
  }
}

void
sf_linear_int8_run (float *out, const float *x, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act)
{
  SfPackedSplit split;
  Int8Args g = { w, x, NULL, NULL, NULL, bias, out, m, 0, 0, 0, act };

  if (m == 0 || w->n == 0)
    return;
  {
    /* the quantised rows, then their scales and zero points */
    gsize a_bytes = sf_scratch_align ((gsize)m * w->kp);
    gsize scale_bytes = sf_scratch_align ((gsize)m * sizeof (float));
    guint8 *base = sf_scratch_get (
        SF_SCRATCH_LINEAR, a_bytes + scale_bytes + m * sizeof (gint32));

    g.a = base;
    g.row_scale = (float *)(base + a_bytes);
    g.row_zp = (gint32 *)(base + a_bytes + scale_bytes);
  }
  sf_parallel_for (m, MAX (1, 65536 / MAX (w->k, 1)), quantise_rows, &g);

  sf_linear_packed_split (w, m, SF_INT8_MR, SF_INT8_ROWS_PER_BLOCK, &split);
  g.panels_per_chunk = split.panels_per_chunk;
  g.rows_per_block = split.rows_per_block;
  g.m_blocks = split.m_blocks;
  sf_parallel_for (split.chunks * split.m_blocks,
      MAX (1, SF_INT8_MIN_UNIT_WORK / MAX (split.unit_work, 1)), run_units, &g);
}

#else /* !SF_INT8_X86 */

void
sf_linear_int8_run (float *out, const float *x, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act)
{
  /* sf_linear_pack () packs nothing on a CPU without AVX512_VNNI */
  g_return_if_reached ();
}

#endif
