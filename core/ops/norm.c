/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-row ops over the last dimension (layer norm,
 * RMS norm, softmax, L2 normalisation).
 *
 * Design decisions:
 * - Rows are independent, so the worker pool splits over rows.
 * - Reductions keep eight partial sums: a fixed-width inner loop the
 *   compiler turns into vector adds without reassociation flags, and a
 *   pairwise-like summation order that loses less precision than one
 *   running float sum.
 * - Layer norm takes two passes (mean, then variance around it), as
 *   PyTorch does, which avoids the cancellation of E[x²] - E[x]².
 */
#include "core/ops/norm.h"
#include "core/profile.h"
#include "core/threads.h"
#include "core/vecmath.h"

#include <math.h>
#include <string.h>

/* Elements per worker range; a range always holds whole rows. */
#define SF_ROWS_CHUNK_ELEMS 16384

typedef struct
{
  float *out;         /* [rows, cols] */
  const float *x;     /* [rows, cols] */
  const float *gamma; /* [cols] or NULL */
  const float *beta;  /* [cols] or NULL */
  gint64 cols;
  float eps;
} RowArgs;

static float
row_sum (const float *x, gint64 n)
{
  float acc[8] = { 0 };
  float total = 0.0f;
  gint64 i = 0;
  int j;

  for (; i + 8 <= n; i += 8)
    for (j = 0; j < 8; j++)
      acc[j] += x[i + j];
  for (; i < n; i++)
    total += x[i];
  return total + ((acc[0] + acc[4]) + (acc[1] + acc[5]))
      + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* Σ (x - c)² */
static float
row_sum_sq_dev (const float *x, gint64 n, float c)
{
  float acc[8] = { 0 };
  float total = 0.0f;
  gint64 i = 0;
  int j;

  for (; i + 8 <= n; i += 8) {
    for (j = 0; j < 8; j++) {
      float d = x[i + j] - c;
      acc[j] += d * d;
    }
  }
  for (; i < n; i++) {
    float d = x[i] - c;
    total += d * d;
  }
  return total + ((acc[0] + acc[4]) + (acc[1] + acc[5]))
      + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static float
row_max (const float *x, gint64 n)
{
  float acc[8];
  float m = -INFINITY;
  gint64 i = 0;
  int j;

  for (j = 0; j < 8; j++)
    acc[j] = -INFINITY;
  for (; i + 8 <= n; i += 8)
    for (j = 0; j < 8; j++)
      acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (; i < n; i++)
    m = x[i] > m ? x[i] : m;
  for (j = 0; j < 8; j++)
    m = acc[j] > m ? acc[j] : m;
  return m;
}

static void
layer_norm_rows (gint64 start, gint64 end, gpointer user_data)
{
  RowArgs *args = user_data;
  gint64 n = args->cols, r, i;
  const float *g = args->gamma;
  const float *b = args->beta;

  for (r = start; r < end; r++) {
    const float *x = args->x + r * n;
    float *out = args->out + r * n;
    float mean = row_sum (x, n) / (float)n;
    float var = row_sum_sq_dev (x, n, mean) / (float)n;
    float inv = 1.0f / sqrtf (var + args->eps);

    if (g != NULL && b != NULL) {
      for (i = 0; i < n; i++)
        out[i] = (x[i] - mean) * inv * g[i] + b[i];
    } else if (g != NULL) {
      for (i = 0; i < n; i++)
        out[i] = (x[i] - mean) * inv * g[i];
    } else if (b != NULL) {
      for (i = 0; i < n; i++)
        out[i] = (x[i] - mean) * inv + b[i];
    } else {
      for (i = 0; i < n; i++)
        out[i] = (x[i] - mean) * inv;
    }
  }
}

/* T5LayerNorm: x / sqrt (mean (x²) + eps) · gamma, no mean, no bias. */
static void
rms_norm_rows (gint64 start, gint64 end, gpointer user_data)
{
  RowArgs *args = user_data;
  gint64 n = args->cols, r, i;
  const float *g = args->gamma;

  for (r = start; r < end; r++) {
    const float *x = args->x + r * n;
    float *out = args->out + r * n;
    float inv =
        1.0f / sqrtf (row_sum_sq_dev (x, n, 0.0f) / (float)n + args->eps);

    for (i = 0; i < n; i++)
      out[i] = x[i] * inv * g[i];
  }
}

static gboolean
check_rows (const SfTensor *out, const SfTensor *x)
{
  g_return_val_if_fail (out != NULL && x != NULL, FALSE);
  g_return_val_if_fail (
      out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32, FALSE);
  g_return_val_if_fail (x->ndim >= 1, FALSE);
  g_return_val_if_fail (sf_tensor_same_shape (out, x), FALSE);
  return TRUE;
}

static void
run_rows (const SfTensor *x, SfRangeFunc func, RowArgs *args)
{
  gint64 cols = sf_tensor_dim (x, -1);

  if (cols == 0)
    return;
  args->cols = cols;
  sf_parallel_for (sf_tensor_numel (x) / cols,
      MAX (1, SF_ROWS_CHUNK_ELEMS / cols), func, args);
}

static void
op_layer_norm (SfTensor *out, const SfTensor *x, const SfTensor *gamma,
    const SfTensor *beta, float eps)
{
  RowArgs args = { 0 };
  gint64 cols;

  if (!check_rows (out, x))
    return;
  cols = sf_tensor_dim (x, -1);
  g_return_if_fail (gamma == NULL
      || (gamma->dtype == SF_DTYPE_F32 && gamma->ndim == 1
          && gamma->shape[0] == cols));
  g_return_if_fail (beta == NULL
      || (beta->dtype == SF_DTYPE_F32 && beta->ndim == 1
          && beta->shape[0] == cols));
  g_return_if_fail (eps >= 0.0f);

  args.out = sf_tensor_f32 (out);
  args.x = sf_tensor_f32 (x);
  args.gamma = gamma ? sf_tensor_f32 (gamma) : NULL;
  args.beta = beta ? sf_tensor_f32 (beta) : NULL;
  args.eps = eps;
  run_rows (x, layer_norm_rows, &args);
}

void
sf_op_layer_norm (SfTensor *out, const SfTensor *x, const SfTensor *gamma,
    const SfTensor *beta, float eps)
{
  gint64 prof = sf_profile_begin ();

  op_layer_norm (out, x, gamma, beta, eps);
  sf_profile_end (SF_PROFILE_NORMS, prof, 0);
}

static void
softmax_rows (gint64 start, gint64 end, gpointer user_data)
{
  RowArgs *args = user_data;
  gint64 n = args->cols, r, i;

  for (r = start; r < end; r++) {
    const float *x = args->x + r * n;
    float *out = args->out + r * n;
    float m = row_max (x, n);
    float inv;

    if (m == -INFINITY) {
      /* Every entry is -inf (a fully masked row): spread the weight
       * evenly instead of producing 0/0. */
      for (i = 0; i < n; i++)
        out[i] = 1.0f / (float)n;
      continue;
    }
    if (out != x)
      memcpy (out, x, n * sizeof (float));
    inv = 1.0f / sf_exp_shifted_sum (out, n, m);
    for (i = 0; i < n; i++)
      out[i] *= inv;
  }
}

static void
op_softmax (SfTensor *out, const SfTensor *x)
{
  RowArgs args = { 0 };

  if (!check_rows (out, x))
    return;
  args.out = sf_tensor_f32 (out);
  args.x = sf_tensor_f32 (x);
  run_rows (x, softmax_rows, &args);
}

void
sf_op_softmax (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_softmax (out, x);
  sf_profile_end (SF_PROFILE_ACTIVATIONS, prof, 0);
}

static void
l2_normalize_rows (gint64 start, gint64 end, gpointer user_data)
{
  RowArgs *args = user_data;
  gint64 n = args->cols, r, i;

  for (r = start; r < end; r++) {
    const float *x = args->x + r * n;
    float *out = args->out + r * n;
    float norm = sqrtf (row_sum_sq_dev (x, n, 0.0f));
    float d = norm > args->eps ? norm : args->eps;

    for (i = 0; i < n; i++)
      out[i] = x[i] / d;
  }
}

static void
op_l2_normalize (SfTensor *out, const SfTensor *x)
{
  RowArgs args = { 0 };

  if (!check_rows (out, x))
    return;
  args.out = sf_tensor_f32 (out);
  args.x = sf_tensor_f32 (x);
  args.eps = 1e-12f;
  run_rows (x, l2_normalize_rows, &args);
}

void
sf_op_l2_normalize (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_l2_normalize (out, x);
  sf_profile_end (SF_PROFILE_NORMS, prof, 0);
}

static void
op_rms_norm (SfTensor *out, const SfTensor *x, const SfTensor *gamma, float eps)
{
  RowArgs args = { 0 };

  if (!check_rows (out, x))
    return;
  g_return_if_fail (gamma != NULL && gamma->dtype == SF_DTYPE_F32
      && gamma->ndim == 1 && gamma->shape[0] == sf_tensor_dim (x, -1));
  g_return_if_fail (eps >= 0.0f);
  args.out = sf_tensor_f32 (out);
  args.x = sf_tensor_f32 (x);
  args.gamma = sf_tensor_f32 (gamma);
  args.eps = eps;
  run_rows (x, rms_norm_rows, &args);
}

void
sf_op_rms_norm (
    SfTensor *out, const SfTensor *x, const SfTensor *gamma, float eps)
{
  gint64 prof = sf_profile_begin ();

  op_rms_norm (out, x, gamma, eps);
  sf_profile_end (SF_PROFILE_NORMS, prof, 0);
}
