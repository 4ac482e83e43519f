/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: f32 linear layers on weights packed at load.
 *
 * Design decisions:
 * - OpenBLAS's sgemm copies its B operand, the weight, into a packing
 *   buffer on every call: a pass over the whole weight that costs about a
 *   sixth of a BERT-base pass at 128 tokens, and most of a short line's.
 *   Here the weight is packed once, at load, into the panels of
 *   core/ops/linear-packed.h (32 columns, one K step after another), and
 *   the activations are read where they are.
 * - The micro-kernel holds a tile of SF_F32_MR rows by SF_PACKED_NR
 *   columns in 24 zmm accumulators over the whole of K: each step loads
 *   the panel's two weight vectors and broadcasts one value of each row.
 *   Bias and the store happen once, with masks for the last columns.
 * - Every output is one FMA chain over K in order, whatever the number of
 *   rows or threads: a row's results depend on that row alone, so padded
 *   and packed batches give the same numbers as one text alone.
 * - The pool split is the one the bf16 and int8 kernels use
 *   (sf_linear_packed_split): column chunks of whole panels, then row
 *   blocks whose activations stay in L2 while a panel is reused.
 * - The kernels carry target attributes and run only when cpuid reports
 *   AVX-512 (sf_linear_pack () packs nothing otherwise); OpenBLAS stays
 *   the f32 path everywhere else.
 */
#include "core/ops/linear-f32.h"
#include "core/threads.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SF_F32_X86 1
#define F32_TARGET __attribute__ ((target ("avx512f,avx512bw,avx512vl")))
#endif

#define SF_F32_MR 12
/* Rows of one pool unit, a multiple of the tile: the unit's activations,
 * rows · K floats, stay in a 1 MiB L2 beside the panel in use while each
 * panel of the chunk passes, and each panel is read again from L3 once
 * per unit: for K = 3072, 36 rows rather than 12. */
#define SF_F32_BLOCK_BYTES (512 * 1024)
#define SF_F32_MIN_UNIT_WORK (1 << 18)

void
sf_f32_panels_pack (float *dst, const float *src, gint64 ld, gboolean trans,
    gint64 n, gint64 k, gint64 p0, gint64 p1)
{
  for (gint64 p = p0; p < p1; p++) {
    float *panel = dst + p * k * SF_PACKED_NR;
    gint64 cols = MIN (SF_PACKED_NR, n - p * SF_PACKED_NR);

    if (cols < SF_PACKED_NR) /* zero columns past n */
      memset (panel, 0, (gsize)k * SF_PACKED_NR * sizeof (float));
    if (trans) {
      for (gint64 c = 0; c < cols; c++) {
        const float *row = src + (p * SF_PACKED_NR + c) * ld;
        for (gint64 kk = 0; kk < k; kk++)
          panel[kk * SF_PACKED_NR + c] = row[kk];
      }
    } else {
      for (gint64 kk = 0; kk < k; kk++)
        memcpy (panel + kk * SF_PACKED_NR, src + kk * ld + p * SF_PACKED_NR,
            (gsize)cols * sizeof (float));
    }
  }
}

static void
pack_panels (gint64 start, gint64 end, gpointer user_data)
{
  const SfPackJob *args = user_data;
  const SfPackedWeight *h = args->h;

  sf_f32_panels_pack ((float *)h->panels, sf_tensor_f32 (args->w),
      args->trans_w ? h->k : h->n, args->trans_w, h->n, h->k, start, end);
}

SfTensor *
sf_linear_f32_pack (const SfTensor *w, gboolean trans_w)
{
  SfPackedWeight *h;
  SfTensor *t;
  SfPackJob args;
  gint64 n, k;

  g_return_val_if_fail (w != NULL && w->dtype == SF_DTYPE_F32, NULL);
  g_return_val_if_fail (w->ndim == 2, NULL);
  n = trans_w ? w->shape[0] : w->shape[1];
  k = trans_w ? w->shape[1] : w->shape[0];
  t = sf_linear_packed_alloc (w->shape, SF_PRECISION_F32, n, k, k,
      (gsize)k * SF_PACKED_NR * sizeof (float), FALSE, &h);
  args.w = w;
  args.h = h;
  args.trans_w = trans_w;
  sf_parallel_for (h->n_panels, 1, pack_panels, &args);
  return t;
}

#ifdef SF_F32_X86

typedef void (*F32TileFunc) (gint64 k, const float *a, gint64 lda,
    const float *b, const float *bias, float *c, gint64 ldc, int nr,
    const char *prefetch);

/* c[mr, nr] = a[mr, k] · b (one panel) + bias: the micro-kernel, inlined
 * with a constant @mr into one function per row count. With @prefetch
 * (the next panel), each K step also asks for that step's two lines of
 * it into L2: the first tile of a panel reads the weight from memory,
 * and without that request it would wait on each line in turn. */
F32_TARGET static inline __attribute__ ((always_inline)) void
f32_tile (const int mr, gint64 k, const float *a, gint64 lda, const float *b,
    const float *bias, float *c, gint64 ldc, int nr, const char *prefetch)
{
  __m512 acc0[SF_F32_MR], acc1[SF_F32_MR];
  __mmask16 m0 = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xffff
      : nr > 16           ? (__mmask16)((1u << (nr - 16)) - 1)
                          : 0;
  __m512 bias0, bias1;

#pragma GCC unroll 12
  for (int i = 0; i < SF_F32_MR; i++) {
    if (i < mr) {
      acc0[i] = _mm512_setzero_ps ();
      acc1[i] = _mm512_setzero_ps ();
    }
  }
  for (gint64 q = 0; q < k; q++) {
    __m512 b0 = _mm512_load_ps (b + q * SF_PACKED_NR);
    __m512 b1 = _mm512_load_ps (b + q * SF_PACKED_NR + 16);
    if (prefetch != NULL) {
      _mm_prefetch (prefetch + q * SF_PACKED_NR * sizeof (float), _MM_HINT_T1);
      _mm_prefetch (
          prefetch + q * SF_PACKED_NR * sizeof (float) + 64, _MM_HINT_T1);
    }
#pragma GCC unroll 12
    for (int i = 0; i < SF_F32_MR; i++) {
      if (i < mr) {
        __m512 av = _mm512_set1_ps (a[i * lda + q]);
        acc0[i] = _mm512_fmadd_ps (av, b0, acc0[i]);
        acc1[i] = _mm512_fmadd_ps (av, b1, acc1[i]);
      }
    }
  }
  bias0 = bias ? _mm512_maskz_loadu_ps (m0, bias) : _mm512_setzero_ps ();
  bias1 = bias ? _mm512_maskz_loadu_ps (m1, bias + 16) : _mm512_setzero_ps ();
#pragma GCC unroll 12
  for (int i = 0; i < SF_F32_MR; i++) {
    if (i < mr) {
      _mm512_mask_storeu_ps (c + i * ldc, m0, _mm512_add_ps (acc0[i], bias0));
      _mm512_mask_storeu_ps (
          c + i * ldc + 16, m1, _mm512_add_ps (acc1[i], bias1));
    }
  }
}

#define F32_TILE_FUNC(R)                                                       \
  F32_TARGET static void f32_tile_##R (gint64 k, const float *a, gint64 lda,   \
      const float *b, const float *bias, float *c, gint64 ldc, int nr,         \
      const char *prefetch)                                                    \
  {                                                                            \
    f32_tile (R, k, a, lda, b, bias, c, ldc, nr, prefetch);                    \
  }
F32_TILE_FUNC (1)
F32_TILE_FUNC (2)
F32_TILE_FUNC (3)
F32_TILE_FUNC (4)
F32_TILE_FUNC (5)
F32_TILE_FUNC (6)
F32_TILE_FUNC (7)
F32_TILE_FUNC (8)
F32_TILE_FUNC (9)
F32_TILE_FUNC (10)
F32_TILE_FUNC (11)
F32_TILE_FUNC (12)

static const F32TileFunc f32_tiles[SF_F32_MR + 1] = { NULL, f32_tile_1,
  f32_tile_2, f32_tile_3, f32_tile_4, f32_tile_5, f32_tile_6, f32_tile_7,
  f32_tile_8, f32_tile_9, f32_tile_10, f32_tile_11, f32_tile_12 };

typedef struct
{
  const SfPackedWeight *w;
  const float *x; /* [M, K], rows lda apart */
  gint64 lda;
  const float *bias;
  float *c; /* [M, N] */
  gint64 m;
  gint64 rows_per_block, m_blocks, panels_per_chunk;
  SfActivation act; /* applied to each unit's block */
} F32Args;

void
sf_f32_panels_gemm (float *c, gint64 ldc, const float *a, gint64 lda, gint64 m,
    const float *panels, gint64 panel_k, gint64 n, gint64 k, const float *bias)
{
  gint64 n_panels = (n + SF_PACKED_NR - 1) / SF_PACKED_NR;

  for (gint64 p = 0; p < n_panels; p++) {
    gint64 col = p * SF_PACKED_NR;
    int nr = (int)MIN (SF_PACKED_NR, n - col);
    const float *b = panels + p * panel_k * SF_PACKED_NR;
    /* the first tile fetches the next panel */
    const char *next =
        p + 1 < n_panels ? (const char *)(b + panel_k * SF_PACKED_NR) : NULL;
    for (gint64 i = 0; i < m; i += SF_F32_MR) {
      int mr = (int)MIN (SF_F32_MR, m - i);
      f32_tiles[mr](k, a + i * lda, lda, b, bias ? bias + col : NULL,
          c + i * ldc + col, ldc, nr, i == 0 ? next : NULL);
    }
  }
}

static void
run_units (gint64 start, gint64 end, gpointer user_data)
{
  const F32Args *g = user_data;
  const SfPackedWeight *w = g->w;

  for (gint64 u = start; u < end; u++) {
    gint64 m0 = (u % g->m_blocks) * g->rows_per_block;
    gint64 m1 = MIN (g->m, m0 + g->rows_per_block);
    gint64 p0 = (u / g->m_blocks) * g->panels_per_chunk;
    gint64 p1 = MIN (w->n_panels, p0 + g->panels_per_chunk);
    gint64 col = p0 * SF_PACKED_NR;

    gint64 cols = MIN (w->n, p1 * SF_PACKED_NR) - col;

    sf_f32_panels_gemm (g->c + m0 * w->n + col, w->n, g->x + m0 * g->lda,
        g->lda, m1 - m0, (const float *)(w->panels + p0 * w->panel_bytes), w->k,
        cols, w->k, g->bias ? g->bias + col : NULL);
    sf_activation_rows (g->c + m0 * w->n + col, w->n, m1 - m0, cols, g->act);
  }
}

void
sf_linear_f32_run (float *out, const float *x, gint64 lda, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act)
{
  SfPackedSplit split;
  F32Args g = { w, x, lda, bias, out, m, 0, 0, 0, act };
  gint64 max_rows = (gint64)SF_F32_BLOCK_BYTES
      / (MAX (w->k, 1) * (gint64)sizeof (float)) / SF_F32_MR * SF_F32_MR;

  if (m == 0 || w->n == 0)
    return;
  sf_linear_packed_split (
      w, m, SF_F32_MR, CLAMP (max_rows, SF_F32_MR, 8 * SF_F32_MR), &split);
  g.panels_per_chunk = split.panels_per_chunk;
  g.rows_per_block = split.rows_per_block;
  g.m_blocks = split.m_blocks;
  sf_parallel_for (split.chunks * split.m_blocks,
      MAX (1, SF_F32_MIN_UNIT_WORK / MAX (split.unit_work, 1)), run_units, &g);
}

#else /* !SF_F32_X86 */

void
sf_f32_panels_gemm (float *c, gint64 ldc, const float *a, gint64 lda, gint64 m,
    const float *panels, gint64 panel_k, gint64 n, gint64 k, const float *bias)
{
  /* callers check for AVX-512 first */
  g_return_if_reached ();
}

void
sf_linear_f32_run (float *out, const float *x, gint64 lda, gint64 m,
    const SfPackedWeight *w, const float *bias, SfActivation act)
{
  /* sf_linear_pack () packs nothing for f32 on a CPU without AVX-512 */
  g_return_if_reached ();
}

#endif
