/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: linear layers and plain matrix products.
 *
 * Design decisions:
 * - A linear layer over x [..., K] is one sgemm over all rows at once,
 *   x viewed as [M, K]: one large call lets BLAS block and thread well.
 * - The bias goes into C before the call and BLAS runs with beta = 1, so C
 *   is written in one pass instead of a zeroing pass plus a bias pass.
 * - BLAS itself runs single-threaded (core/blas.c); the worker pool splits
 *   each product into column blocks of the output, one sgemm per thread.
 *   One pool for all ops means no BLAS threads spin on cores the pool
 *   needs right after a product.
 * - A product of 2 to 8 rows with nn.Linear weights (a decoder step over
 *   a few sequences) runs its own kernel: OpenBLAS's sgemm would first
 *   copy the weight into its packing buffer, about three passes over it,
 *   while every row's dot products can be made in one pass over each
 *   weight row (one output row goes to sgemv, core/blas.c). A row's
 *   results do not depend on the other rows, nor on their count.
 * - Weights follow nn.Linear: w [N, K], hence op(B) = wᵀ (core/tensor.h).
 *   HF's Conv1D (GPT-2) stores them [K, N]; sf_op_linear_in_out reads
 *   those in place, with op(B) = w, rather than copying a transpose.
 * - A weight packed at load (core/ops/linear-packed.h: f32 panels on
 *   AVX-512, bf16, int8) goes to its own kernels; OpenBLAS never sees one.
 *   Those kernels apply a following activation to each block of output
 *   they finish, while it is in cache (sf_op_linear_act): the same bits as
 *   a separate pass, without reading and writing the whole output again.
 */
#include "core/ops/linear.h"
#include "core/ops/activation.h"
#include "core/ops/linear-bf16.h"
#include "core/ops/linear-f32.h"
#include "core/ops/linear-int8.h"
#include "core/profile.h"
#include "core/blas.h"
#include "core/threads.h"

#include <string.h>

/* Multiply-adds below which a chunk is not worth a hand-off to the pool. */
#define SF_GEMM_MIN_CHUNK_WORK (1 << 18)
/* Columns per unit when splitting over N: a multiple of the SIMD kernels'
 * register block, so no chunk ends in a partial block. */
#define SF_GEMM_COL_BLOCK 16
/* Column chunks per pool thread: two still let a thread that finishes
 * early take over part of a delayed one's share. */
#define SF_GEMM_CHUNKS_PER_THREAD 2

/* C[M, N] = A[M, K] · op(B) (+ bias[N] on every row), split over the pool
 * along N (column blocks) or, when N is narrow, along M (rows). */
typedef struct
{
  gboolean trans_b;
  gint64 m, n, k;
  const float *a; /* [M, K], ld lda */
  gint64 lda;
  const float *b; /* [K, N] or, trans_b, [N, K]; ld ldb */
  gint64 ldb;
  const float *bias; /* [N] or NULL */
  float *c;          /* [M, N], ld ldc */
  gint64 ldc;
  gboolean split_n;
} GemmArgs;

/* Floats of overlapping rows copied at a time for BLAS (1 MiB). */
#define SF_ROWS_COPY_FLOATS (256 * 1024)

/* Rows a skinny product takes at most (accumulators in registers). */
#define SF_SKINNY_MAX_ROWS 8

/* One weight row's dot products with up to SF_SKINNY_MAX_ROWS rows of A:
 * rows past @m point at row 0 and their sums are dropped. */
#define SKINNY_ROWS(a, m, lda, rows)                                           \
  for (int r_ = 0; r_ < SF_SKINNY_MAX_ROWS; r_++)                              \
    rows[r_] = (a) + (r_ < (m) ? r_ : 0) * (lda);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SF_SKINNY_X86 1

__attribute__ ((target ("avx512f"))) static void
skinny_avx512 (int m, int n, int k, const float *a, int lda, const float *b,
    int ldb, float beta, float *c, int ldc)
{
  const float *rows[SF_SKINNY_MAX_ROWS];
  __mmask16 tail = (__mmask16)((1u << (k % 16)) - 1);
  int k16 = k - k % 16;

  SKINNY_ROWS (a, m, lda, rows);
  for (int j = 0; j < n; j++) {
    const float *w = b + (gsize)j * ldb;
    __m512 acc[SF_SKINNY_MAX_ROWS];

    for (int r = 0; r < SF_SKINNY_MAX_ROWS; r++)
      acc[r] = _mm512_setzero_ps ();
    for (int p = 0; p < k16; p += 16) {
      __m512 wv = _mm512_loadu_ps (w + p);
      for (int r = 0; r < SF_SKINNY_MAX_ROWS; r++)
        acc[r] = _mm512_fmadd_ps (_mm512_loadu_ps (rows[r] + p), wv, acc[r]);
    }
    if (tail) {
      __m512 wv = _mm512_maskz_loadu_ps (tail, w + k16);
      for (int r = 0; r < SF_SKINNY_MAX_ROWS; r++)
        acc[r] = _mm512_fmadd_ps (
            _mm512_maskz_loadu_ps (tail, rows[r] + k16), wv, acc[r]);
    }
    for (int r = 0; r < m; r++) {
      float *out = c + (gsize)r * ldc + j;
      float sum = _mm512_reduce_add_ps (acc[r]);
      *out = beta == 0.0f ? sum : sum + beta * *out;
    }
  }
}

__attribute__ ((target ("avx2,fma"))) static void
skinny_avx2 (int m, int n, int k, const float *a, int lda, const float *b,
    int ldb, float beta, float *c, int ldc)
{
  const float *rows[SF_SKINNY_MAX_ROWS];
  int k8 = k - k % 8;
  __m256i tail = _mm256_cmpgt_epi32 (
      _mm256_set1_epi32 (k % 8), _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));

  SKINNY_ROWS (a, m, lda, rows);
  for (int j = 0; j < n; j++) {
    const float *w = b + (gsize)j * ldb;
    __m256 acc[SF_SKINNY_MAX_ROWS];

    for (int r = 0; r < SF_SKINNY_MAX_ROWS; r++)
      acc[r] = _mm256_setzero_ps ();
    for (int p = 0; p < k8; p += 8) {
      __m256 wv = _mm256_loadu_ps (w + p);
      for (int r = 0; r < SF_SKINNY_MAX_ROWS; r++)
        acc[r] = _mm256_fmadd_ps (_mm256_loadu_ps (rows[r] + p), wv, acc[r]);
    }
    if (k8 < k) {
      __m256 wv = _mm256_maskload_ps (w + k8, tail);
      for (int r = 0; r < SF_SKINNY_MAX_ROWS; r++)
        acc[r] = _mm256_fmadd_ps (
            _mm256_maskload_ps (rows[r] + k8, tail), wv, acc[r]);
    }
    for (int r = 0; r < m; r++) {
      float *out = c + (gsize)r * ldc + j;
      __m128 h = _mm_add_ps (
          _mm256_castps256_ps128 (acc[r]), _mm256_extractf128_ps (acc[r], 1));
      float sum;

      h = _mm_add_ps (h, _mm_movehl_ps (h, h));
      h = _mm_add_ss (h, _mm_movehdup_ps (h));
      sum = _mm_cvtss_f32 (h);
      *out = beta == 0.0f ? sum : sum + beta * *out;
    }
  }
}
#endif

/* Plain C: eight partial sums per row, added pairwise at the end. */
static void
skinny_c (int m, int n, int k, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc)
{
  for (int j = 0; j < n; j++) {
    const float *w = b + (gsize)j * ldb;

    for (int r = 0; r < m; r++) {
      const float *x = a + (gsize)r * lda;
      float part[8] = { 0 }, sum;
      int p = 0;

      for (; p + 8 <= k; p += 8)
        for (int l = 0; l < 8; l++)
          part[l] += x[p + l] * w[p + l];
      for (int l = 0; p < k; p++, l++)
        part[l] += x[p] * w[p];
      sum = ((part[0] + part[1]) + (part[2] + part[3]))
          + ((part[4] + part[5]) + (part[6] + part[7]));
      c[(gsize)r * ldc + j] =
          beta == 0.0f ? sum : sum + beta * c[(gsize)r * ldc + j];
    }
  }
}

typedef void (*SkinnyFunc) (int m, int n, int k, const float *a, int lda,
    const float *b, int ldb, float beta, float *c, int ldc);

static SkinnyFunc
skinny_pick (void)
{
#ifdef SF_SKINNY_X86
  if (__builtin_cpu_supports ("avx512f"))
    return skinny_avx512;
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return skinny_avx2;
#endif
  return skinny_c;
}

/* C[m, n] = A[m, K] · B[n, K]ᵀ + beta · C, for 2 to SF_SKINNY_MAX_ROWS
 * rows: one pass over each row of B. */
static void
skinny (int m, int n, int k, const float *a, int lda, const float *b, int ldb,
    float beta, float *c, int ldc)
{
  skinny_pick () (m, n, k, a, lda, b, ldb, beta, c, ldc);
}

static void
gemm_part (const GemmArgs *g, gint64 m0, gint64 m1, gint64 n0, gint64 n1)
{
  const float *a = g->a + m0 * g->lda;
  const float *b = g->trans_b ? g->b + n0 * g->ldb : g->b + n0;
  float *c = g->c + m0 * g->ldc + n0;
  gint64 i;

  if (m1 <= m0 || n1 <= n0)
    return;
  if (g->bias != NULL) {
    for (i = 0; i < m1 - m0; i++)
      memcpy (c + i * g->ldc, g->bias + n0, (n1 - n0) * sizeof (float));
  }
  if (g->trans_b && m1 - m0 >= 2 && m1 - m0 <= SF_SKINNY_MAX_ROWS) {
    skinny ((int)(m1 - m0), (int)(n1 - n0), (int)g->k, a, (int)g->lda, b,
        (int)g->ldb, g->bias != NULL ? 1.0f : 0.0f, c, (int)g->ldc);
    return;
  }
  sf_blas_sgemm (FALSE, g->trans_b, (int)(m1 - m0), (int)(n1 - n0), (int)g->k,
      1.0f, a, (int)g->lda, b, (int)g->ldb, g->bias != NULL ? 1.0f : 0.0f, c,
      (int)g->ldc);
}

static void
gemm_chunk (gint64 start, gint64 end, gpointer user_data)
{
  const GemmArgs *g = user_data;

  if (g->split_n)
    gemm_part (g, 0, g->m, start * SF_GEMM_COL_BLOCK,
        MIN (end * SF_GEMM_COL_BLOCK, g->n));
  else
    gemm_part (g, start, end, 0, g->n);
}

static void
gemm_parallel (GemmArgs *g)
{
  gint64 col_units = (g->n + SF_GEMM_COL_BLOCK - 1) / SF_GEMM_COL_BLOCK;
  gint64 row_work = MAX (g->n * g->k, 1);

  if (g->m == 0 || g->n == 0)
    return;
  /* Column blocks share A and split B, the weight, which is usually the
   * larger operand; rows are the fallback for narrow outputs. */
  g->split_n = col_units >= sf_threads_get () || col_units >= g->m;
  if (g->split_n) {
    /* Every chunk's sgemm packs all of A again, which costs as much as a
     * few percent of the product per chunk for a BERT- or ViT-sized layer:
     * at most SF_GEMM_CHUNKS_PER_THREAD chunks per thread. */
    gint64 per_chunk =
        MAX (SF_GEMM_MIN_CHUNK_WORK / MAX (g->m * g->k * SF_GEMM_COL_BLOCK, 1),
            (col_units + SF_GEMM_CHUNKS_PER_THREAD * sf_threads_get () - 1)
                / (SF_GEMM_CHUNKS_PER_THREAD * sf_threads_get ()));
    sf_parallel_for (col_units, MAX (1, per_chunk), gemm_chunk, g);
  } else {
    sf_parallel_for (
        g->m, MAX (1, SF_GEMM_MIN_CHUNK_WORK / row_work), gemm_chunk, g);
  }
}

static gboolean
ranges_overlap (const SfTensor *a, const SfTensor *b)
{
  const char *a0 = a->data, *b0 = b->data;

  return a0 < b0 + sf_tensor_nbytes (b) && b0 < a0 + sf_tensor_nbytes (a);
}

/* sf_op_linear with a weight packed by sf_linear_pack (), then @act on
 * each block of the output as the kernel finishes it (a fusable one). */
static void
linear_packed (SfTensor *out, const SfTensor *x, const SfPackedWeight *w,
    const SfTensor *b, SfActivation act)
{
  gint64 m = 1;
  int d;

  /* bf16 rows in or out only for bf16 weights, K and N even */
  g_return_if_fail (x->dtype == SF_DTYPE_F32
      || (x->dtype == SF_DTYPE_BF16 && w->precision == SF_PRECISION_BF16
          && w->kp == w->k));
  g_return_if_fail (out->dtype == SF_DTYPE_F32
      || (out->dtype == SF_DTYPE_BF16 && w->precision == SF_PRECISION_BF16
          && w->n % 2 == 0));
  g_return_if_fail (x->ndim >= 1 && out->ndim == x->ndim);
  g_return_if_fail (sf_tensor_dim (x, -1) == w->k);
  g_return_if_fail (sf_tensor_dim (out, -1) == w->n);
  for (d = 0; d < x->ndim - 1; d++) {
    g_return_if_fail (out->shape[d] == x->shape[d]);
    m *= x->shape[d];
  }
  g_return_if_fail (b == NULL
      || (b->dtype == SF_DTYPE_F32 && b->ndim == 1 && b->shape[0] == w->n));
  g_return_if_fail (!ranges_overlap (out, x));

  if (w->precision == SF_PRECISION_F32)
    sf_linear_f32_run (sf_tensor_f32 (out), sf_tensor_f32 (x), w->k, m, w,
        b ? sf_tensor_f32 (b) : NULL, act);
  else if (w->precision == SF_PRECISION_BF16) {
    SfBf16Operands io = { NULL, NULL, NULL, NULL };

    if (x->dtype == SF_DTYPE_BF16)
      io.x_bf16 = x->data;
    else
      io.x = sf_tensor_f32 (x);
    if (out->dtype == SF_DTYPE_BF16)
      io.out_bf16 = out->data;
    else
      io.out = sf_tensor_f32 (out);
    sf_linear_bf16_run (&io, m, w, b ? sf_tensor_f32 (b) : NULL, act);
  } else
    sf_linear_int8_run (sf_tensor_f32 (out), sf_tensor_f32 (x), m, w,
        b ? sf_tensor_f32 (b) : NULL, act);
}

/* sf_op_linear with w [N, K] (@trans_w) or [K, N]. */
static void
linear (SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b,
    gboolean trans_w)
{
  gint64 k, n, m;
  int d;

  g_return_if_fail (out != NULL && x != NULL && w != NULL);
  {
    const SfPackedWeight *packed = sf_linear_packed (w);
    if (packed != NULL) {
      linear_packed (out, x, packed, b, SF_ACTIVATION_IDENTITY);
      return;
    }
  }
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32);
  g_return_if_fail (x->ndim >= 1 && w->ndim == 2 && out->ndim == x->ndim);
  k = sf_tensor_dim (x, -1);
  n = trans_w ? w->shape[0] : w->shape[1];
  g_return_if_fail ((trans_w ? w->shape[1] : w->shape[0]) == k);
  g_return_if_fail (sf_tensor_dim (out, -1) == n);
  for (d = 0; d < x->ndim - 1; d++)
    g_return_if_fail (out->shape[d] == x->shape[d]);
  g_return_if_fail (b == NULL
      || (b->dtype == SF_DTYPE_F32 && b->ndim == 1 && b->shape[0] == n));
  g_return_if_fail (!ranges_overlap (out, x));

  m = 1;
  for (d = 0; d < x->ndim - 1; d++)
    m *= x->shape[d];
  g_return_if_fail (m <= G_MAXINT && n <= G_MAXINT && k <= G_MAXINT);
  if (m == 0 || n == 0)
    return;

  {
    /* out[M, N] = x[M, K] · (w[N, K]ᵀ or w[K, N]) + b[N] */
    GemmArgs g = { trans_w, m, n, k, sf_tensor_f32 (x), MAX (k, 1),
      sf_tensor_f32 (w), MAX (trans_w ? k : n, 1), b ? sf_tensor_f32 (b) : NULL,
      sf_tensor_f32 (out), n, FALSE };
    gemm_parallel (&g);
  }
}

static void
op_linear (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b)
{
  linear (out, x, w, b, TRUE);
}

void
sf_op_linear (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b)
{
  gint64 prof = sf_profile_begin ();

  op_linear (out, x, w, b);
  sf_profile_end (SF_PROFILE_PRODUCTS, prof,
      2.0 * sf_tensor_numel (out) * sf_tensor_dim (x, -1));
}

void
sf_op_linear_act (SfTensor *out, const SfTensor *x, const SfTensor *w,
    const SfTensor *b, SfActivation act)
{
  const SfPackedWeight *packed = sf_linear_packed (w);
  gint64 prof;

  g_return_if_fail (out != NULL && x != NULL && w != NULL);
  if (packed == NULL || !sf_activation_fusable (act)) {
    sf_op_linear (out, x, w, b);
    sf_op_activation (out, out, act);
    return;
  }
  prof = sf_profile_begin ();
  linear_packed (out, x, packed, b, act);
  sf_profile_end (SF_PROFILE_PRODUCTS, prof,
      2.0 * sf_tensor_numel (out) * sf_tensor_dim (x, -1));
}

gboolean
sf_linear_hands_off_bf16 (
    const SfTensor *w1, SfActivation act, const SfTensor *w2)
{
  const SfPackedWeight *p1 = sf_linear_packed (w1);
  const SfPackedWeight *p2 = sf_linear_packed (w2);

  return p1 != NULL && p2 != NULL && p1->precision == SF_PRECISION_BF16
      && p2->precision == SF_PRECISION_BF16 && p1->n == p2->k && p1->n % 2 == 0
      && sf_activation_fusable (act);
}

void
sf_op_feed_forward (SfTensor *out, const SfTensor *x, const SfTensor *w1,
    const SfTensor *b1, SfActivation act, const SfTensor *w2,
    const SfTensor *b2)
{
  gint64 shape[SF_TENSOR_MAX_DIMS];
  g_autoptr (SfTensor) hidden = NULL;

  g_return_if_fail (out != NULL && x != NULL && w1 != NULL && w2 != NULL);
  g_return_if_fail (x->ndim >= 1 && w1->ndim == 2);
  for (int d = 0; d < x->ndim; d++)
    shape[d] = x->shape[d];
  shape[x->ndim - 1] = w1->shape[0];
  /* every element is written by the first product */
  hidden = sf_tensor_new_uninit (
      sf_linear_hands_off_bf16 (w1, act, w2) ? SF_DTYPE_BF16 : SF_DTYPE_F32,
      x->ndim, shape);
  sf_op_linear_act (hidden, x, w1, b1, act);
  sf_op_linear (out, hidden, w2, b2);
}

static void
op_linear_in_out (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b)
{
  linear (out, x, w, b, FALSE);
}

void
sf_op_linear_in_out (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b)
{
  gint64 prof = sf_profile_begin ();

  op_linear_in_out (out, x, w, b);
  sf_profile_end (SF_PROFILE_PRODUCTS, prof,
      2.0 * sf_tensor_numel (out) * sf_tensor_dim (x, -1));
}

static void
op_matmul (
    SfTensor *out, const SfTensor *a, const SfTensor *b, gboolean trans_b)
{
  gint64 m, k, n;

  g_return_if_fail (out != NULL && a != NULL && b != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && a->dtype == SF_DTYPE_F32
      && b->dtype == SF_DTYPE_F32);
  g_return_if_fail (out->ndim == 2 && a->ndim == 2 && b->ndim == 2);
  m = a->shape[0];
  k = a->shape[1];
  n = trans_b ? b->shape[0] : b->shape[1];
  g_return_if_fail ((trans_b ? b->shape[1] : b->shape[0]) == k);
  g_return_if_fail (out->shape[0] == m && out->shape[1] == n);
  g_return_if_fail (!ranges_overlap (out, a) && !ranges_overlap (out, b));
  g_return_if_fail (m <= G_MAXINT && n <= G_MAXINT && k <= G_MAXINT);

  {
    /* out[M, N] = a[M, K] · (b[K, N] or b[N, K]ᵀ) */
    GemmArgs g = { trans_b, m, n, k, sf_tensor_f32 (a), MAX (k, 1),
      sf_tensor_f32 (b), MAX (trans_b ? k : n, 1), NULL, sf_tensor_f32 (out),
      MAX (n, 1), FALSE };
    gemm_parallel (&g);
  }
}

void
sf_op_matmul (
    SfTensor *out, const SfTensor *a, const SfTensor *b, gboolean trans_b)
{
  gint64 prof = sf_profile_begin ();

  op_matmul (out, a, b, trans_b);
  sf_profile_end (SF_PROFILE_PRODUCTS, prof,
      2.0 * sf_tensor_numel (out) * sf_tensor_dim (a, -1));
}

static void
op_linear_rows (float *out, const float *x, gint64 m, gint64 lda,
    const SfTensor *w, const SfTensor *b)
{
  const SfPackedWeight *packed = sf_linear_packed (w);
  gint64 n = w->shape[0], k = w->shape[1];

  g_return_if_fail (w->ndim == 2 && lda >= 1);
  g_return_if_fail (b == NULL
      || (b->dtype == SF_DTYPE_F32 && b->ndim == 1 && b->shape[0] == n));
  if (m == 0 || n == 0)
    return;
  if (packed != NULL) {
    /* the reduced-precision kernels read contiguous rows */
    g_return_if_fail (packed->precision == SF_PRECISION_F32);
    sf_linear_f32_run (out, x, lda, m, packed, b ? sf_tensor_f32 (b) : NULL,
        SF_ACTIVATION_IDENTITY);
    return;
  }
  g_return_if_fail (w->dtype == SF_DTYPE_F32);
  g_return_if_fail (m <= G_MAXINT && n <= G_MAXINT && k <= G_MAXINT);
  if (lda >= k) {
    GemmArgs g = { TRUE, m, n, k, x, lda, sf_tensor_f32 (w), MAX (k, 1),
      b ? sf_tensor_f32 (b) : NULL, out, n, FALSE };
    gemm_parallel (&g);
    return;
  }
  {
    /* BLAS takes no overlapping rows: copy them a block at a time */
    gint64 block = MAX (1, SF_ROWS_COPY_FLOATS / k);
    float *rows = g_new (float, MIN (block, m) * k);

    for (gint64 i0 = 0; i0 < m; i0 += block) {
      gint64 nr = MIN (block, m - i0);
      GemmArgs g = { TRUE, nr, n, k, rows, k, sf_tensor_f32 (w), k,
        b ? sf_tensor_f32 (b) : NULL, out + i0 * n, n, FALSE };
      for (gint64 i = 0; i < nr; i++)
        memcpy (rows + i * k, x + (i0 + i) * lda, k * sizeof (float));
      gemm_parallel (&g);
    }
    g_free (rows);
  }
}

void
sf_op_linear_rows (float *out, const float *x, gint64 m, gint64 lda,
    const SfTensor *w, const SfTensor *b)
{
  gint64 prof = sf_profile_begin ();

  g_return_if_fail (out != NULL && x != NULL && w != NULL);
  op_linear_rows (out, x, m, lda, w, b);
  sf_profile_end (
      SF_PROFILE_PRODUCTS, prof, 2.0 * m * w->shape[0] * w->shape[1]);
}
