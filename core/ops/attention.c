/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: multi-head scaled dot-product attention.
 *
 * Design decisions:
 * - Heads are never copied out: head h of q [B, T, H] is the [T, D] matrix
 *   at column h·D with leading dimension H, which sgemm reads directly;
 *   the result goes to out the same way.
 * - The work unit is (batch, head, block of query rows), and units are
 *   spread over the worker pool; BLAS runs single-threaded inside each
 *   (core/blas.c), so nothing is oversubscribed. A block's scores stay
 *   within about 1 MiB, so they are still in cache for the softmax
 *   and the product with v.
 * - Excluded keys (padding, or later positions under causal) get weight
 *   exactly zero, like HF's large negative additive mask. A query row with
 *   no visible key at all averages its visible range uniformly, as HF's
 *   additive mask effectively does, so no NaN can appear.
 * - The softmax leaves each row's exponentials unscaled; the factor
 *   1 / sum goes onto the row's D outputs after the product with v, a
 *   pass over D values instead of S.
 * - An additive bias [heads, T, S] (T5's relative positions) is shared by
 *   the batch and added to the scores before masking; T5 also asks for no
 *   1/√D scaling, so the scale is a parameter of the biased variant.
 * - Causal masks are aligned to the end of the key sequence: with T queries
 *   and S ≥ T keys (a KV cache), query t sees keys ≤ t + S - T. For S = T
 *   this is the plain lower-triangular mask.
 * - Packed sequences (sf_op_attention_packed) are rows of one [N, H]
 *   matrix, sequence b at rows [offsets[b], offsets[b + 1]); each attends
 *   to itself alone, over its own length, so a batch of texts needs no
 *   padding and no [T, T] work over pads. The units are the same, with
 *   block counts from the longest sequence; blocks past a shorter
 *   sequence's end are skipped.
 * - On AVX-512 CPUs, with at least SF_ATTENTION_PANEL_MIN_ROWS queries,
 *   the two products run on the f32 panels of core/ops/linear-f32.h
 *   instead of OpenBLAS: a thread packs one head's keys and values into
 *   panels once for all its blocks of that head, where every sgemm call
 *   would pack them again. The scale goes into a copy of the block's
 *   queries, so the scores come out scaled.
 * - Decoding steps (a query or a few) read each key and value row where
 *   it lies, once per query, with AVX-512 dot products and axpys: sgemm
 *   would copy the whole cache into its packing buffer first, which was
 *   most of a Whisper step's cross-attention. Without AVX-512 they keep
 *   sgemm.
 * - q, k and v rows lie ld floats apart: H for separate tensors, 3H for
 *   the output of an encoder layer's fused q/k/v product, which the
 *   sf_op_attention_qkv forms read in place.
 * - At bf16 (the fused forms, no causal mask, AVX512_BF16) the panels
 *   are bf16 (core/ops/linear-bf16.h): keys, values, the scaled queries
 *   and the softmax weights are rounded, the sums and the softmax stay
 *   f32, as in the layer's linear products.
 * - Each thread's buffers come from its scratch slot (core/scratch.h),
 *   not from malloc on every call.
 */
#include "core/ops/attention.h"
#include "core/ops/linear-bf16.h"
#include "core/ops/linear-f32.h"
#include "core/profile.h"
#include "core/precision.h"
#include "core/scratch.h"
#include "core/blas.h"
#include "core/cpu.h"
#include "core/threads.h"
#include "core/vecmath.h"

#include <math.h>
#include <string.h>

/* @n rounded up to even: the steps of a bf16 operand */
#define EVEN(n) (((n) + 1) / 2 * 2)

/* Score floats per unit (1 MiB, within a core's L2), and the fewest query
 * rows per unit. */
#define SF_ATTENTION_BLOCK_SCORES 262144
#define SF_ATTENTION_MIN_ROWS 16
/* Query rows (of one sequence) from which the panels pay for packing. */
#define SF_ATTENTION_PANEL_MIN_ROWS 16

typedef struct
{
  float *out;            /* [B, T, H] */
  const float *q;        /* [B, T, H] */
  const float *k;        /* [B, S, H] */
  const float *v;        /* [B, S, H] */
  const guint8 *allowed; /* [B, S] 1 where a key may be seen, or NULL */
  const float *bias;     /* [heads, T, S] added to the scores, or NULL */
  const gint64 *offsets; /* packed: [B + 1] first rows, or NULL */
  gint64 t_len, s_len, hidden, head_dim; /* packed: the longest length */
  gint64 ld; /* floats from one row of q, k or v to the next: H, or 3H for
              * the rows of a fused product (q | k | v) */
  int n_heads;
  gboolean causal;
  gint64 causal_offset; /* S - T */
  gint64 block_rows;
  gint64 n_blocks; /* query-row blocks per (batch, head) */
  float scale;
  gboolean panels; /* the products on f32 panels (see above) */
  gboolean bf16;   /* ... on bf16 panels, with bf16 operands */
  gboolean direct; /* a few queries: the products read k and v directly */
} AttnArgs;

/* One thread's buffers for the panel products. */
typedef struct
{
  float *k_panels; /* keys as the N side of q · kᵀ: [S / 32][D][32] */
  float *v_panels; /* values as the N side of p · v: [D / 32][S][32] */
  float *q;        /* the block's queries times the scale, [rows, D] */
  /* at bf16: keys [S / 32][D / 2][32][2], values [D / 32][S / 2][32][2],
   * the block's scaled queries [rows, D] and weights [rows, S] */
  guint16 *k16, *v16, *q16, *p16;
  gint64 packed; /* the (batch, head) packed, -1 for none */
} PanelScratch;

#ifdef SF_HAVE_LIBMVEC
/* exp (x - max (x)) of x[0, n) in place with 16 lanes, the max and the
 * exponentials each one pass over the row; the tail goes through masked
 * loads (masked lanes read -inf, whose exp is 0). Returns the sum of the
 * exponentials, or 0, leaving x as it was, when every element is -inf. */
__attribute__ ((target ("avx512f"))) static float
exp_row_avx512 (float *x, gint64 n)
{
  const __m512 neg_inf = _mm512_set1_ps (-INFINITY);
  __m512 vmax = neg_inf, vsum = _mm512_setzero_ps (), shift;
  __mmask16 tail = (__mmask16)((1u << (n % 16)) - 1);
  gint64 body = n - n % 16, i;
  float m;

  for (i = 0; i < body; i += 16)
    vmax = _mm512_max_ps (vmax, _mm512_loadu_ps (x + i));
  if (tail)
    vmax = _mm512_max_ps (vmax, _mm512_mask_loadu_ps (neg_inf, tail, x + i));
  m = _mm512_reduce_max_ps (vmax);
  if (m == -INFINITY)
    return 0.0f;
  shift = _mm512_set1_ps (m);
  for (i = 0; i < body; i += 16) {
    __m512 e =
        sf_vec16_exp_low0 (_mm512_sub_ps (_mm512_loadu_ps (x + i), shift));
    _mm512_storeu_ps (x + i, e);
    vsum = _mm512_add_ps (vsum, e);
  }
  if (tail) {
    __m512 e = sf_vec16_exp_low0 (
        _mm512_sub_ps (_mm512_mask_loadu_ps (neg_inf, tail, x + i), shift));
    _mm512_mask_storeu_ps (x + i, tail, e);
    vsum = _mm512_add_ps (vsum, e);
  }
  return _mm512_reduce_add_ps (vsum);
}
#endif

/* exp (x - max (x)) of x[0, n) in place; returns the sum of the
 * exponentials, or 0 when every element is -inf. */
static float
exp_row (float *x, gint64 n)
{
  float m = -INFINITY;

#ifdef SF_HAVE_LIBMVEC
  if (__builtin_cpu_supports ("avx512f"))
    return exp_row_avx512 (x, n);
#endif
  for (gint64 i = 0; i < n; i++)
    m = x[i] > m ? x[i] : m;
  return m == -INFINITY ? 0.0f : sf_exp_shifted_sum (x, n, m);
}

/* The row's softmax weights up to a factor: exp (x - max) over the visible
 * keys, 0 elsewhere. Returns the factor (1 / the sum), which the caller
 * applies to the row's D outputs rather than to its S weights. */
static float
mask_row_softmax (
    const AttnArgs *args, float *row, gint64 n_cols, gint64 b, gint64 t)
{
  const guint8 *allowed =
      args->allowed ? args->allowed + b * args->s_len : NULL;
  gint64 limit = n_cols, s;
  float sum;

  if (args->causal)
    limit = CLAMP (t + args->causal_offset + 1, 0, n_cols);

  if (allowed != NULL) {
    for (s = 0; s < limit; s++)
      if (!allowed[s])
        row[s] = -INFINITY;
  }
  for (s = limit; s < n_cols; s++)
    row[s] = 0.0f;
  sum = exp_row (row, limit);
  if (sum == 0.0f) {
    /* No visible key: a uniform average over the visible range. */
    for (s = 0; s < limit; s++)
      row[s] = 1.0f;
    return limit > 0 ? 1.0f / (float)limit : 0.0f;
  }
  return 1.0f / sum;
}

#ifdef SF_HAVE_LIBMVEC
/* Head dimensions the direct products take: 16 vectors of 16 lanes. */
#define SF_ATTENTION_DIRECT_MAX_D 256
/* Rows ahead whose lines the direct products request: each head's rows lie
 * H floats apart, a page holds only a few of them, and the hardware's
 * stream prefetch stops at page ends. */
#define SF_ATTENTION_DIRECT_AHEAD 24

/* The lanes of a head's last vector of 16 */
__attribute__ ((target ("avx512f"), always_inline)) static inline __mmask16
head_tail_mask (gint64 d)
{
  return (__mmask16)(d % 16 ? (1u << (d % 16)) - 1 : 0xffff);
}

/* Asks for row @s + SF_ATTENTION_DIRECT_AHEAD of a head's @n rows, @ld
 * floats apart from @row (row @s), @nv vectors wide. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
prefetch_ahead (const float *row, gint64 ld, gint64 s, gint64 n, int nv)
{
  if (s + SF_ATTENTION_DIRECT_AHEAD < n)
    for (int v = 0; v < nv; v++)
      _mm_prefetch (
          (const char *)(row + SF_ATTENTION_DIRECT_AHEAD * ld + 16 * v),
          _MM_HINT_T0);
}

/* scores[r, s] = (scale · q_r) · k_s for a few query rows, each key row
 * read where it lies (ld apart). A decoding step's sgemm would first copy
 * every key into its packing buffer, one more pass over the cache than
 * the product itself. */
__attribute__ ((target ("avx512f"))) static void
scores_direct (float *scores, const float *q, const float *k, gint64 ld,
    gint64 rows, gint64 n_cols, gint64 d, float scale)
{
  int nv = (int)((d + 15) / 16);
  __mmask16 last = head_tail_mask (d);

  for (gint64 r = 0; r < rows; r++) {
    __m512 qv[SF_ATTENTION_DIRECT_MAX_D / 16];

    for (int v = 0; v < nv; v++)
      qv[v] = _mm512_mul_ps (_mm512_maskz_loadu_ps (v + 1 < nv ? 0xffff : last,
                                 q + r * ld + 16 * v),
          _mm512_set1_ps (scale));
    for (gint64 s = 0; s < n_cols; s++) {
      const float *ks = k + s * ld;
      __m512 acc = _mm512_setzero_ps ();

      prefetch_ahead (ks, ld, s, n_cols, nv);
      for (int v = 0; v < nv; v++)
        acc = _mm512_fmadd_ps (qv[v],
            _mm512_maskz_loadu_ps (v + 1 < nv ? 0xffff : last, ks + 16 * v),
            acc);
      scores[r * n_cols + s] = _mm512_reduce_add_ps (acc);
    }
  }
}

/* out[r, :] = Σ_s p[r, s] · v_s for a few rows, v read where it lies
 * (@ld_v apart); out's rows lie @ld_out apart. */
__attribute__ ((target ("avx512f"))) static void
values_direct (float *out, gint64 ld_out, const float *p, gint64 n_cols,
    const float *v, gint64 ld_v, gint64 rows, gint64 d)
{
  int nv = (int)((d + 15) / 16);
  __mmask16 last = head_tail_mask (d);

  for (gint64 r = 0; r < rows; r++) {
    __m512 acc[SF_ATTENTION_DIRECT_MAX_D / 16];

    for (int j = 0; j < nv; j++)
      acc[j] = _mm512_setzero_ps ();
    for (gint64 s = 0; s < n_cols; s++) {
      __m512 w = _mm512_set1_ps (p[r * n_cols + s]);
      const float *vs = v + s * ld_v;

      prefetch_ahead (vs, ld_v, s, n_cols, nv);
      for (int j = 0; j < nv; j++)
        acc[j] = _mm512_fmadd_ps (w,
            _mm512_maskz_loadu_ps (j + 1 < nv ? 0xffff : last, vs + 16 * j),
            acc[j]);
    }
    for (int j = 0; j < nv; j++)
      _mm512_mask_storeu_ps (
          out + r * ld_out + 16 * j, j + 1 < nv ? 0xffff : last, acc[j]);
  }
}
#endif

/* One unit: query rows [t0, t0 + rows) of head h in batch b (packed:
 * sequence b) whose keys are @s_len long. @scores holds at least
 * rows · S floats, @factors rows. With @ps, the products run on f32
 * panels. */
static void
attend_block (const AttnArgs *args, gint64 b, int h, gint64 t0, gint64 rows,
    gint64 s_len, float *scores, float *factors, PanelScratch *ps)
{
  gint64 hid = args->hidden, ld = args->ld, d = args->head_dim;
  gint64 item = b * args->n_heads + h; /* what the panels hold */
  /* first query and first key row of this item */
  gint64 q0 = args->offsets ? args->offsets[b] : b * args->t_len;
  gint64 k0 = args->offsets ? args->offsets[b] : b * args->s_len;
  const float *q = args->q + (q0 + t0) * ld + h * d; /* [rows, D], ld */
  const float *k = args->k + k0 * ld + h * d;        /* [S, D], ld */
  const float *v = args->v + k0 * ld + h * d;        /* [S, D], ld */
  float *out = args->out + (q0 + t0) * hid + h * d;  /* [rows, D], ld H */
  gint64 n_cols = s_len, r;

  /* Under causal masking no row of this block sees past its last row. */
  if (args->causal)
    n_cols = CLAMP (t0 + rows + args->causal_offset, 0, s_len);

  /* scores [rows, n_cols] = q · kᵀ · scale (1/√D unless biased) */
  if (ps != NULL && args->bf16) {
    if (ps->packed != item) {
      sf_bf16_panels_pack_rows (ps->k16, k, ld, s_len, d);
      sf_bf16_panels_pack_cols (ps->v16, v, ld, d, s_len);
      ps->packed = item;
    }
    sf_bf16_round_rows (ps->q16, EVEN (d), q, ld, rows, d, args->scale);
    sf_bf16_panels_gemm (
        scores, n_cols, ps->q16, EVEN (d), rows, ps->k16, EVEN (d), n_cols);
  } else if (ps != NULL) {
    if (ps->packed != item) {
      sf_f32_panels_pack (ps->k_panels, k, ld, TRUE, s_len, d, 0,
          (s_len + SF_PACKED_NR - 1) / SF_PACKED_NR);
      sf_f32_panels_pack (ps->v_panels, v, ld, FALSE, d, s_len, 0,
          (d + SF_PACKED_NR - 1) / SF_PACKED_NR);
      ps->packed = item;
    }
    for (r = 0; r < rows; r++)
      for (gint64 j = 0; j < d; j++)
        ps->q[r * d + j] = q[r * ld + j] * args->scale;
    if (n_cols > 0)
      sf_f32_panels_gemm (
          scores, n_cols, ps->q, d, rows, ps->k_panels, d, n_cols, d, NULL);
  } else if (args->direct) {
#ifdef SF_HAVE_LIBMVEC
    scores_direct (scores, q, k, ld, rows, n_cols, d, args->scale);
#endif
  } else if (n_cols > 0) {
    sf_blas_sgemm (FALSE, TRUE, (int)rows, (int)n_cols, (int)d, args->scale, q,
        (int)ld, k, (int)ld, 0.0f, scores, (int)n_cols);
  }

  for (r = 0; r < rows; r++) {
    float *row = scores + r * n_cols;

    if (args->bias != NULL) {
      const float *add = args->bias + (h * args->t_len + t0 + r) * args->s_len;
      for (gint64 s = 0; s < n_cols; s++)
        row[s] += add[s];
    }
    factors[r] = mask_row_softmax (args, row, n_cols, b, t0 + r);
  }

  /* out [rows, D] = p [rows, n_cols] · v [n_cols, D] */
  if (ps != NULL && args->bf16) {
    /* not causal: n_cols = s_len, the values' steps */
    sf_bf16_round_rows (
        ps->p16, EVEN (n_cols), scores, n_cols, rows, n_cols, 1.0f);
    sf_bf16_panels_gemm (
        out, hid, ps->p16, EVEN (n_cols), rows, ps->v16, EVEN (n_cols), d);
  } else if (ps != NULL)
    sf_f32_panels_gemm (out, hid, scores, MAX (n_cols, 1), rows, ps->v_panels,
        s_len, d, n_cols, NULL);
  else if (args->direct) {
#ifdef SF_HAVE_LIBMVEC
    values_direct (out, hid, scores, n_cols, v, ld, rows, d);
#endif
  } else
    sf_blas_sgemm (FALSE, FALSE, (int)rows, (int)d, (int)n_cols, 1.0f, scores,
        (int)MAX (n_cols, 1), v, (int)ld, 0.0f, out, (int)hid);
  for (r = 0; r < rows; r++)
    for (gint64 j = 0; j < d; j++)
      out[r * hid + j] *= factors[r];
}

/* Units [start, end) in (batch, head, block) order, on one thread. */
static void
attend_units (gint64 start, gint64 end, gpointer user_data)
{
  const AttnArgs *args = user_data;
  gint64 s_round =
      (args->s_len + SF_PACKED_NR - 1) / SF_PACKED_NR * SF_PACKED_NR;
  gint64 d_round =
      (args->head_dim + SF_PACKED_NR - 1) / SF_PACKED_NR * SF_PACKED_NR;
  /* scores, factors and, with panels, keys, values and queries: f32, or
   * bf16 with the weights as well */
  gboolean f32 = args->panels && !args->bf16;
  gsize sizes[9] = { args->block_rows * args->s_len * sizeof (float),
    args->block_rows * sizeof (float),
    f32 ? s_round * args->head_dim * sizeof (float) : 0,
    f32 ? d_round * args->s_len * sizeof (float) : 0,
    f32 ? args->block_rows * args->head_dim * sizeof (float) : 0,
    args->bf16 ? s_round * EVEN (args->head_dim) * sizeof (guint16) : 0,
    args->bf16 ? d_round * EVEN (args->s_len) * sizeof (guint16) : 0,
    args->bf16 ? args->block_rows * EVEN (args->head_dim) * sizeof (guint16)
               : 0,
    args->bf16 ? args->block_rows * EVEN (args->s_len) * sizeof (guint16) : 0 };
  gsize offsets[G_N_ELEMENTS (sizes)], total = 0;
  guint8 *base;
  float *scores, *factors;
  PanelScratch panels = { 0 }, *ps = NULL;
  gint64 u;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    offsets[i] = total;
    total += sf_scratch_align (sizes[i]);
  }
  base = sf_scratch_get (SF_SCRATCH_ATTENTION, total);
  scores = (float *)(base + offsets[0]);
  factors = (float *)(base + offsets[1]);
  panels.packed = -1;
  if (f32) {
    panels.k_panels = (float *)(base + offsets[2]);
    panels.v_panels = (float *)(base + offsets[3]);
    panels.q = (float *)(base + offsets[4]);
    ps = &panels;
  } else if (args->bf16) {
    panels.k16 = (guint16 *)(base + offsets[5]);
    panels.v16 = (guint16 *)(base + offsets[6]);
    panels.q16 = (guint16 *)(base + offsets[7]);
    panels.p16 = (guint16 *)(base + offsets[8]);
    ps = &panels;
  }
  for (u = start; u < end; u++) {
    gint64 blk = u % args->n_blocks;
    gint64 bh = u / args->n_blocks;
    gint64 b = bh / args->n_heads;
    gint64 t0 = blk * args->block_rows;
    gint64 len =
        args->offsets ? args->offsets[b + 1] - args->offsets[b] : args->t_len;

    if (t0 >= len) /* past the end of a shorter packed sequence */
      continue;
    attend_block (args, b, (int)(bh % args->n_heads), t0,
        MIN (args->block_rows, len - t0), args->offsets ? len : args->s_len,
        scores, factors, ps);
  }
}

static gboolean
use_panels (gint64 t_len)
{
  return t_len >= SF_ATTENTION_PANEL_MIN_ROWS
      && (sf_cpu_kernel_features () & SF_CPU_AVX512) != 0;
}

/* Fewer queries than the panels want: the direct products, where the CPU
 * has AVX-512 and the head fits in registers. */
static gboolean
use_direct (gint64 t_len, gint64 head_dim)
{
#ifdef SF_HAVE_LIBMVEC
  return !use_panels (t_len) && head_dim <= SF_ATTENTION_DIRECT_MAX_D
      && (sf_cpu_kernel_features () & SF_CPU_AVX512) != 0;
#else
  return FALSE;
#endif
}

/* Query rows per unit for @units_per_block units of up to @t_len rows:
 * as many as the score budget allows, fewer when that leaves too few
 * units to keep every thread busy. */
static gint64
block_rows (gint64 t_len, gint64 s_len, gint64 units_per_block)
{
  gint64 rows = CLAMP (SF_ATTENTION_BLOCK_SCORES / MAX (s_len, 1),
      SF_ATTENTION_MIN_ROWS, MAX (t_len, 1));

  while (rows > SF_ATTENTION_MIN_ROWS
      && units_per_block * ((t_len + rows - 1) / rows) < 2 * sf_threads_get ())
    rows = MAX (SF_ATTENTION_MIN_ROWS, rows / 2);
  return MIN (rows, t_len);
}

static gboolean
check_operand (const SfTensor *t, gint64 batch, gint64 hidden)
{
  g_return_val_if_fail (t != NULL && t->dtype == SF_DTYPE_F32, FALSE);
  g_return_val_if_fail (
      t->ndim == 3 && t->shape[0] == batch && t->shape[2] == hidden, FALSE);
  return TRUE;
}

static gboolean
overlaps (const SfTensor *a, const SfTensor *b)
{
  const char *a0 = a->data, *b0 = b->data;

  return a0 < b0 + sf_tensor_nbytes (b) && b0 < a0 + sf_tensor_nbytes (a);
}

/* Runs the units of a padded batch: @args has its operands, sizes, scale
 * and causal set; @mask (nullable) [B, S] excludes padding keys. */
static void
run_padded (AttnArgs *args, gint64 batch, const SfTensor *mask)
{
  guint8 *allowed = NULL;

  args->causal_offset = args->s_len - args->t_len;
  if (mask != NULL) {
    SfTensor *m = sf_tensor_to_f32 ((SfTensor *)mask);
    const float *mv = sf_tensor_f32 (m);
    gint64 n = batch * args->s_len;

    allowed = g_new (guint8, MAX (n, 1));
    for (gint64 i = 0; i < n; i++)
      allowed[i] = mv[i] != 0.0f;
    sf_tensor_unref (m);
    args->allowed = allowed;
  }
  args->panels = use_panels (args->t_len);
  args->bf16 = args->bf16 && args->panels;
  args->direct = use_direct (args->t_len, args->head_dim);
  args->block_rows =
      block_rows (args->t_len, args->s_len, batch * args->n_heads);
  args->n_blocks = (args->t_len + args->block_rows - 1) / args->block_rows;
  sf_parallel_for (
      batch * args->n_heads * args->n_blocks, 1, attend_units, args);
  g_free (allowed);
}

/* Runs the units of @n_seqs packed sequences (args->offsets set), the
 * longest @longest rows. */
static void
run_packed (AttnArgs *args, gint64 n_seqs, gint64 longest)
{
  args->t_len = args->s_len = longest; /* the budget of each unit's scores */
  args->panels = use_panels (longest);
  args->bf16 = args->bf16 && args->panels;
  args->direct = use_direct (longest, args->head_dim);
  args->block_rows = block_rows (longest, longest, n_seqs * args->n_heads);
  args->n_blocks = (longest + args->block_rows - 1) / args->block_rows;
  sf_parallel_for (
      n_seqs * args->n_heads * args->n_blocks, 1, attend_units, args);
}

/* The products with bf16 operands for @precision where the CPU has them;
 * never under a causal mask, whose rows see fewer keys than the values'
 * panels hold. */
static gboolean
use_bf16 (SfPrecision precision, gboolean causal, gint64 head_dim)
{
  return precision == SF_PRECISION_BF16 && !causal
      && head_dim <= SF_BF16_PACK_MAX_K
      && sf_precision_missing (SF_PRECISION_BF16) == NULL;
}

static gboolean
check_mask (const SfTensor *mask, gint64 batch, gint64 s_len)
{
  g_return_val_if_fail (mask == NULL
          || (mask->ndim == 2 && mask->shape[0] == batch
              && mask->shape[1] == s_len),
      FALSE);
  return TRUE;
}

/* The longest of @n_seqs sequences at @offsets over @rows rows, or -1 when
 * the offsets do not split [0, rows). */
static gint64
check_offsets (const gint64 *offsets, gint64 n_seqs, gint64 rows)
{
  gint64 longest = 0;

  g_return_val_if_fail (offsets != NULL && n_seqs >= 0, -1);
  g_return_val_if_fail (offsets[0] == 0 && offsets[n_seqs] == rows, -1);
  for (gint64 b = 0; b < n_seqs; b++) {
    g_return_val_if_fail (offsets[b + 1] >= offsets[b], -1);
    longest = MAX (longest, offsets[b + 1] - offsets[b]);
  }
  g_return_val_if_fail (longest <= G_MAXINT, -1);
  return longest;
}

/* The operands' heads: H = n_heads · D, with q, k and v rows @ld apart. */
static void
set_heads (AttnArgs *args, SfTensor *out, const float *q, const float *k,
    const float *v, gint64 hidden, gint64 ld, int n_heads)
{
  args->out = sf_tensor_f32 (out);
  args->q = q;
  args->k = k;
  args->v = v;
  args->hidden = hidden;
  args->ld = ld;
  args->n_heads = n_heads;
  args->head_dim = hidden / n_heads;
}

/* The heads of a fused product's rows qkv [.., 3H] (q | k | v), scaled
 * by 1/√D, the products at @precision where use_bf16 () allows. */
static void
set_fused_heads (AttnArgs *args, SfTensor *out, const SfTensor *qkv,
    gint64 hidden, int n_heads, gboolean causal, SfPrecision precision)
{
  const float *base = sf_tensor_f32 (qkv);

  set_heads (args, out, base, base + hidden, base + 2 * hidden, hidden,
      3 * hidden, n_heads);
  args->scale = 1.0f / sqrtf ((float)args->head_dim);
  args->causal = causal;
  args->bf16 = use_bf16 (precision, causal, args->head_dim);
}

void
sf_op_attention (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const SfTensor *mask, gboolean causal)
{
  g_return_if_fail (q != NULL && q->ndim == 3 && n_heads > 0);
  sf_op_attention_biased (out, q, k, v, n_heads, mask, causal, NULL,
      1.0f / sqrtf ((float)(q->shape[2] / n_heads)));
}

/* Flops of QKᵀ and P·V over all heads: 2 · 2 · B·T·S·H (causal counted
 * full). */
static double
attention_flops (gint64 batch, gint64 t_len, gint64 s_len, gint64 hidden)
{
  return 4.0 * (double)batch * (double)t_len * (double)s_len * (double)hidden;
}

static void
op_attention_biased (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const SfTensor *mask, gboolean causal,
    const SfTensor *bias, float scale)
{
  AttnArgs args = { 0 };
  gint64 batch, hidden;

  g_return_if_fail (q != NULL && q->ndim == 3);
  batch = q->shape[0];
  args.t_len = q->shape[1];
  hidden = q->shape[2];
  g_return_if_fail (check_operand (q, batch, hidden));
  g_return_if_fail (
      check_operand (out, batch, hidden) && out->shape[1] == args.t_len);
  g_return_if_fail (check_operand (k, batch, hidden));
  args.s_len = k->shape[1];
  g_return_if_fail (
      check_operand (v, batch, hidden) && v->shape[1] == args.s_len);
  g_return_if_fail (n_heads > 0 && hidden % n_heads == 0);
  g_return_if_fail (check_mask (mask, batch, args.s_len));
  g_return_if_fail (bias == NULL
      || (bias->dtype == SF_DTYPE_F32 && bias->ndim == 3
          && bias->shape[0] == n_heads && bias->shape[1] == args.t_len
          && bias->shape[2] == args.s_len));
  g_return_if_fail (
      !overlaps (out, q) && !overlaps (out, k) && !overlaps (out, v));
  g_return_if_fail (
      hidden <= G_MAXINT && args.s_len <= G_MAXINT && args.t_len <= G_MAXINT);

  if (batch == 0 || args.t_len == 0 || hidden == 0)
    return;
  set_heads (&args, out, sf_tensor_f32 (q), sf_tensor_f32 (k),
      sf_tensor_f32 (v), hidden, hidden, n_heads);
  args.scale = scale;
  args.bias = bias ? sf_tensor_f32 (bias) : NULL;
  args.causal = causal;
  run_padded (&args, batch, mask);
}

void
sf_op_attention_biased (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const SfTensor *mask, gboolean causal,
    const SfTensor *bias, float scale)
{
  gint64 prof = sf_profile_begin ();

  op_attention_biased (out, q, k, v, n_heads, mask, causal, bias, scale);
  sf_profile_end (SF_PROFILE_ATTENTION, prof,
      q != NULL && k != NULL && q->ndim == 3 && k->ndim == 3
          ? attention_flops (q->shape[0], q->shape[1], k->shape[1], q->shape[2])
          : 0);
}

static void
op_attention_qkv (SfTensor *out, const SfTensor *qkv, int n_heads,
    const SfTensor *mask, gboolean causal, SfPrecision precision)
{
  AttnArgs args = { 0 };
  gint64 batch, hidden;

  g_return_if_fail (qkv != NULL && qkv->dtype == SF_DTYPE_F32 && qkv->ndim == 3
      && qkv->shape[2] % 3 == 0);
  batch = qkv->shape[0];
  args.t_len = args.s_len = qkv->shape[1];
  hidden = qkv->shape[2] / 3;
  g_return_if_fail (
      check_operand (out, batch, hidden) && out->shape[1] == args.t_len);
  g_return_if_fail (n_heads > 0 && hidden % n_heads == 0);
  g_return_if_fail (check_mask (mask, batch, args.s_len));
  g_return_if_fail (!overlaps (out, qkv));
  g_return_if_fail (qkv->shape[2] <= G_MAXINT && args.t_len <= G_MAXINT);

  if (batch == 0 || args.t_len == 0 || hidden == 0)
    return;
  set_fused_heads (&args, out, qkv, hidden, n_heads, causal, precision);
  run_padded (&args, batch, mask);
}

void
sf_op_attention_qkv (SfTensor *out, const SfTensor *qkv, int n_heads,
    const SfTensor *mask, gboolean causal, SfPrecision precision)
{
  gint64 prof = sf_profile_begin ();

  op_attention_qkv (out, qkv, n_heads, mask, causal, precision);
  sf_profile_end (SF_PROFILE_ATTENTION, prof,
      qkv != NULL && qkv->ndim == 3 ? attention_flops (
          qkv->shape[0], qkv->shape[1], qkv->shape[1], qkv->shape[2] / 3)
                                    : 0);
}

/* Flops of QKᵀ and P·V over all heads of packed sequences, H wide:
 * 2 · 2 · Σ L²·H. */
static double
attention_packed_flops (const gint64 *offsets, gint64 n, gint64 hidden)
{
  double sum = 0;

  if (offsets == NULL)
    return 0;
  for (gint64 b = 0; b < n; b++) {
    double len = (double)(offsets[b + 1] - offsets[b]);
    sum += len * len;
  }
  return 4.0 * sum * (double)hidden;
}

static void
op_attention_packed (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const gint64 *offsets, gint64 n_seqs,
    gboolean causal)
{
  AttnArgs args = { 0 };
  gint64 hidden, longest;

  g_return_if_fail (q != NULL && q->ndim == 2 && q->dtype == SF_DTYPE_F32);
  hidden = q->shape[1];
  g_return_if_fail (out != NULL && out->dtype == SF_DTYPE_F32
      && sf_tensor_same_shape (out, q));
  g_return_if_fail (
      k != NULL && k->dtype == SF_DTYPE_F32 && sf_tensor_same_shape (k, q));
  g_return_if_fail (
      v != NULL && v->dtype == SF_DTYPE_F32 && sf_tensor_same_shape (v, q));
  g_return_if_fail (n_heads > 0 && hidden % n_heads == 0);
  longest = check_offsets (offsets, n_seqs, q->shape[0]);
  g_return_if_fail (longest >= 0);
  g_return_if_fail (
      !overlaps (out, q) && !overlaps (out, k) && !overlaps (out, v));
  g_return_if_fail (hidden <= G_MAXINT);

  if (n_seqs == 0 || longest == 0 || hidden == 0)
    return;
  set_heads (&args, out, sf_tensor_f32 (q), sf_tensor_f32 (k),
      sf_tensor_f32 (v), hidden, hidden, n_heads);
  args.offsets = offsets;
  args.scale = 1.0f / sqrtf ((float)args.head_dim);
  args.causal = causal;
  run_packed (&args, n_seqs, longest);
}

void
sf_op_attention_packed (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const gint64 *offsets, gint64 n_seqs,
    gboolean causal)
{
  gint64 prof = sf_profile_begin ();

  op_attention_packed (out, q, k, v, n_heads, offsets, n_seqs, causal);
  sf_profile_end (SF_PROFILE_ATTENTION, prof,
      q != NULL && q->ndim == 2
          ? attention_packed_flops (offsets, n_seqs, q->shape[1])
          : 0);
}

static void
op_attention_qkv_packed (SfTensor *out, const SfTensor *qkv, int n_heads,
    const gint64 *offsets, gint64 n_seqs, gboolean causal,
    SfPrecision precision)
{
  AttnArgs args = { 0 };
  gint64 hidden, longest;

  g_return_if_fail (qkv != NULL && qkv->ndim == 2 && qkv->dtype == SF_DTYPE_F32
      && qkv->shape[1] % 3 == 0);
  hidden = qkv->shape[1] / 3;
  g_return_if_fail (out != NULL && out->dtype == SF_DTYPE_F32 && out->ndim == 2
      && out->shape[0] == qkv->shape[0] && out->shape[1] == hidden);
  g_return_if_fail (n_heads > 0 && hidden % n_heads == 0);
  longest = check_offsets (offsets, n_seqs, qkv->shape[0]);
  g_return_if_fail (longest >= 0);
  g_return_if_fail (!overlaps (out, qkv));
  g_return_if_fail (qkv->shape[1] <= G_MAXINT);

  if (n_seqs == 0 || longest == 0 || hidden == 0)
    return;
  set_fused_heads (&args, out, qkv, hidden, n_heads, causal, precision);
  args.offsets = offsets;
  run_packed (&args, n_seqs, longest);
}

void
sf_op_attention_qkv_packed (SfTensor *out, const SfTensor *qkv, int n_heads,
    const gint64 *offsets, gint64 n_seqs, gboolean causal,
    SfPrecision precision)
{
  gint64 prof = sf_profile_begin ();

  op_attention_qkv_packed (
      out, qkv, n_heads, offsets, n_seqs, causal, precision);
  sf_profile_end (SF_PROFILE_ATTENTION, prof,
      qkv != NULL && qkv->ndim == 2
          ? attention_packed_flops (offsets, n_seqs, qkv->shape[1] / 3)
          : 0);
}
