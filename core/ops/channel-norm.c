/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: per-channel normalisation of [B, C, ...] maps (batch
 * norm, group norm) and weight norm.
 *
 * Design decisions:
 * - Batch norm runs in eval mode only, folded into one scale and shift per
 *   channel as PyTorch does.
 * - Group norm sums in double per group: a group of a speech feature
 *   encoder spans a whole clip (up to millions of values).
 * - The channels-last frame norm splits the clip into fixed blocks of
 *   frames: one pass of shifted double sums per block, added in block
 *   order, then one pass that normalises, both on every thread.
 * - Weight norm runs once, at load time; it is written for clarity.
 */
#include "core/ops/channel-norm.h"
#include "core/profile.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

typedef struct
{
  const float *x;
  float *out;
  float *scale, *shift; /* [C] folded: y = x · scale + shift */
  gint64 c, plane;
} BnArgs;

static void
bn_planes (gint64 start, gint64 end, gpointer data)
{
  const BnArgs *a = data;
  for (gint64 pl = start; pl < end; pl++) {
    gint64 c = pl % a->c;
    const float *src = a->x + pl * a->plane;
    float *dst = a->out + pl * a->plane;
    for (gint64 i = 0; i < a->plane; i++)
      dst[i] = src[i] * a->scale[c] + a->shift[c];
  }
}

static void
op_batch_norm (SfTensor *out, const SfTensor *x, const SfTensor *mean,
    const SfTensor *var, const SfTensor *gamma, const SfTensor *beta, float eps)
{
  gint64 c, plane = 1;
  g_autofree float *inv = NULL, *m = NULL;
  BnArgs a;

  g_return_if_fail (out && x && mean && var);
  g_return_if_fail (x->ndim >= 2 && sf_tensor_same_shape (out, x));
  c = x->shape[1];
  for (int d = 2; d < x->ndim; d++)
    plane *= x->shape[d];
  g_return_if_fail (sf_tensor_numel (mean) == c && sf_tensor_numel (var) == c);
  g_return_if_fail (gamma == NULL || sf_tensor_numel (gamma) == c);
  g_return_if_fail (beta == NULL || sf_tensor_numel (beta) == c);
  /* PyTorch's eval-mode folding: y = x · s + t with
   * s = gamma / sqrt (var + eps) and t = beta - mean · s */
  inv = g_new (float, c);
  m = g_new (float, c);
  for (gint64 i = 0; i < c; i++) {
    float g = gamma ? sf_tensor_f32 (gamma)[i] : 1.0f;
    float bt = beta ? sf_tensor_f32 (beta)[i] : 0.0f;
    inv[i] = g / sqrtf (sf_tensor_f32 (var)[i] + eps);
    m[i] = bt - sf_tensor_f32 (mean)[i] * inv[i];
  }
  a = (BnArgs){ .x = sf_tensor_f32 (x),
    .out = sf_tensor_f32 (out),
    .scale = inv,
    .shift = m,
    .c = c,
    .plane = plane };
  sf_parallel_for (
      sf_tensor_numel (x) / plane, MAX (1, 16384 / plane), bn_planes, &a);
}

void
sf_op_batch_norm (SfTensor *out, const SfTensor *x, const SfTensor *mean,
    const SfTensor *var, const SfTensor *gamma, const SfTensor *beta, float eps)
{
  gint64 prof = sf_profile_begin ();

  op_batch_norm (out, x, mean, var, gamma, beta, eps);
  sf_profile_end (SF_PROFILE_NORMS, prof, 0);
}

typedef struct
{
  float *out;
  const float *x;
  const float *gamma, *beta; /* [C] or NULL */
  gint64 channels, per_group,
      plane; /* channels per group; positions per channel */
  gint64 groups;
  float eps;
} GroupNormArgs;

static void
group_norm_range (gint64 start, gint64 end, gpointer data)
{
  const GroupNormArgs *a = data;
  gint64 n = a->per_group * a->plane;

  for (gint64 bg = start; bg < end; bg++) {
    const float *x = a->x + bg * n;
    float *y = a->out + bg * n;
    gint64 c0 = (bg % a->groups) * a->per_group;
    double mean = 0.0, var = 0.0;
    float inv;

    for (gint64 i = 0; i < n; i++)
      mean += x[i];
    mean /= n;
    for (gint64 i = 0; i < n; i++) {
      double d = x[i] - mean;
      var += d * d;
    }
    inv = (float)(1.0 / sqrt (var / n + a->eps));
    for (gint64 c = 0; c < a->per_group; c++) {
      float g = a->gamma ? a->gamma[c0 + c] : 1.0f;
      float bt = a->beta ? a->beta[c0 + c] : 0.0f;
      const float *xc = x + c * a->plane;
      float *yc = y + c * a->plane;
      for (gint64 i = 0; i < a->plane; i++)
        yc[i] = ((float)(xc[i] - mean) * inv) * g + bt;
    }
  }
}

static void
op_group_norm (SfTensor *out, const SfTensor *x, int groups,
    const SfTensor *gamma, const SfTensor *beta, float eps)
{
  gint64 batch, channels, plane = 1;
  GroupNormArgs a;

  g_return_if_fail (out && x && groups >= 1);
  g_return_if_fail (x->dtype == SF_DTYPE_F32 && out->dtype == SF_DTYPE_F32
      && x->ndim >= 2 && sf_tensor_same_shape (out, x));
  batch = x->shape[0];
  channels = x->shape[1];
  for (int d = 2; d < x->ndim; d++)
    plane *= x->shape[d];
  g_return_if_fail (channels % groups == 0);
  g_return_if_fail ((gamma == NULL) == (beta == NULL));
  g_return_if_fail (gamma == NULL
      || (sf_tensor_numel (gamma) == channels
          && sf_tensor_numel (beta) == channels));

  a = (GroupNormArgs){ .out = sf_tensor_f32 (out),
    .x = sf_tensor_f32 (x),
    .gamma = gamma ? sf_tensor_f32 (gamma) : NULL,
    .beta = beta ? sf_tensor_f32 (beta) : NULL,
    .channels = channels,
    .per_group = channels / groups,
    .plane = plane,
    .groups = groups,
    .eps = eps };
  sf_parallel_for (batch * groups, 1, group_norm_range, &a);
}

void
sf_op_group_norm (SfTensor *out, const SfTensor *x, int groups,
    const SfTensor *gamma, const SfTensor *beta, float eps)
{
  gint64 prof = sf_profile_begin ();

  op_group_norm (out, x, groups, gamma, beta, eps);
  sf_profile_end (SF_PROFILE_NORMS, prof, 0);
}

/* Frames per unit of the frame norm: fixed, so the partial sums and their
 * order of addition do not depend on the number of threads. */
#define SF_FRAME_BLOCK 128

typedef struct
{
  const float *x; /* [B, T, C] */
  float *out;
  const float *gamma, *beta;
  gint64 frames, channels, blocks;
  /* per (batch, block): channel sums of x − shift and of its square */
  double *sum, *sq;
  /* per (batch, channel): the first frame (the shift), the mean about
   * it, 1/σ */
  float *shift, *mean, *inv;
  float eps;
} FrameNormArgs;

/* Unit @u's batch item and frames [t0, t1). */
static void
frame_block (
    const FrameNormArgs *a, gint64 u, gint64 *b, gint64 *t0, gint64 *t1)
{
  *b = u / a->blocks;
  *t0 = (u % a->blocks) * SF_FRAME_BLOCK;
  *t1 = MIN (a->frames, *t0 + SF_FRAME_BLOCK);
}

/* Units: (batch, block of frames). The sums are taken about the first
 * frame's value, so a large mean does not cancel the variance away; each
 * unit reads its frames once, whole rows at a time. */
static void
frame_sums_range (gint64 start, gint64 end, gpointer data)
{
  const FrameNormArgs *a = data;
  gint64 c_n = a->channels;

  for (gint64 u = start; u < end; u++) {
    gint64 b, t0, t1;

    frame_block (a, u, &b, &t0, &t1);
    const float *x = a->x + b * a->frames * c_n;
    const float *shift = a->shift + b * c_n;
    double *sum = a->sum + u * c_n, *sq = a->sq + u * c_n;

    for (gint64 c = 0; c < c_n; c++)
      sum[c] = sq[c] = 0.0;
    for (gint64 t = t0; t < t1; t++)
      for (gint64 c = 0; c < c_n; c++) {
        double d = (double)x[t * c_n + c] - shift[c];
        sum[c] += d;
        sq[c] += d * d;
      }
  }
}

static void
frame_apply_range (gint64 start, gint64 end, gpointer data)
{
  const FrameNormArgs *a = data;
  gint64 c_n = a->channels;

  for (gint64 u = start; u < end; u++) {
    gint64 b, t0, t1;

    frame_block (a, u, &b, &t0, &t1);
    const float *shift = a->shift + b * c_n, *mean = a->mean + b * c_n;
    const float *inv = a->inv + b * c_n;

    for (gint64 t = t0; t < t1; t++) {
      const float *x = a->x + (b * a->frames + t) * c_n;
      float *y = a->out + (b * a->frames + t) * c_n;
      for (gint64 c = 0; c < c_n; c++) {
        float g = a->gamma ? a->gamma[c] : 1.0f;
        float bt = a->beta ? a->beta[c] : 0.0f;
        y[c] = (((x[c] - shift[c]) - mean[c]) * inv[c]) * g + bt;
      }
    }
  }
}

static void
op_channel_norm_frames (SfTensor *out, const SfTensor *x, const SfTensor *gamma,
    const SfTensor *beta, float eps)
{
  FrameNormArgs a;
  gint64 batch, units;

  g_return_if_fail (out && x && x->dtype == SF_DTYPE_F32 && x->ndim == 3);
  g_return_if_fail (
      out->dtype == SF_DTYPE_F32 && sf_tensor_same_shape (out, x));
  g_return_if_fail (gamma == NULL || sf_tensor_numel (gamma) == x->shape[2]);
  g_return_if_fail (beta == NULL || sf_tensor_numel (beta) == x->shape[2]);
  if (sf_tensor_numel (x) == 0)
    return;
  batch = x->shape[0];
  a = (FrameNormArgs){ .x = sf_tensor_f32 (x),
    .out = sf_tensor_f32 (out),
    .gamma = gamma ? sf_tensor_f32 (gamma) : NULL,
    .beta = beta ? sf_tensor_f32 (beta) : NULL,
    .frames = x->shape[1],
    .channels = x->shape[2],
    .blocks = (x->shape[1] + SF_FRAME_BLOCK - 1) / SF_FRAME_BLOCK,
    .eps = eps };
  units = batch * a.blocks;
  a.sum = g_new (double, units *a.channels);
  a.sq = g_new (double, units *a.channels);
  a.shift = g_new (float, batch *a.channels * 3);
  a.mean = a.shift + batch * a.channels;
  a.inv = a.mean + batch * a.channels;
  for (gint64 b = 0; b < batch; b++)
    memcpy (a.shift + b * a.channels, a.x + b * a.frames * a.channels,
        (gsize)a.channels * sizeof (float));
  sf_parallel_for (units, 1, frame_sums_range, &a);
  for (gint64 b = 0; b < batch; b++)
    for (gint64 c = 0; c < a.channels; c++) {
      double s = 0.0, q = 0.0, m, var;
      for (gint64 k = 0; k < a.blocks; k++) {
        s += a.sum[(b * a.blocks + k) * a.channels + c];
        q += a.sq[(b * a.blocks + k) * a.channels + c];
      }
      m = s / a.frames;
      var = MAX (q / a.frames - m * m, 0.0);
      a.mean[b * a.channels + c] = (float)m;
      a.inv[b * a.channels + c] = (float)(1.0 / sqrt (var + a.eps));
    }
  /* the output may be the input: every sum is taken before any write */
  sf_parallel_for (units, 1, frame_apply_range, &a);
  g_free (a.sum);
  g_free (a.sq);
  g_free (a.shift);
}

void
sf_op_channel_norm_frames (SfTensor *out, const SfTensor *x,
    const SfTensor *gamma, const SfTensor *beta, float eps)
{
  gint64 prof = sf_profile_begin ();

  op_channel_norm_frames (out, x, gamma, beta, eps);
  sf_profile_end (SF_PROFILE_NORMS, prof, 0);
}

static void
op_weight_norm (SfTensor *out, const SfTensor *g, const SfTensor *v, int dim)
{
  gint64 outer = 1, inner = 1, len;
  const float *vd, *gd;
  float *od;

  g_return_if_fail (out && g && v);
  g_return_if_fail (v->dtype == SF_DTYPE_F32 && g->dtype == SF_DTYPE_F32
      && out->dtype == SF_DTYPE_F32 && sf_tensor_same_shape (out, v));
  g_return_if_fail (dim >= 0 && dim < v->ndim);
  len = v->shape[dim];
  g_return_if_fail (sf_tensor_numel (g) == len);
  for (int d = 0; d < dim; d++)
    outer *= v->shape[d];
  for (int d = dim + 1; d < v->ndim; d++)
    inner *= v->shape[d];
  vd = sf_tensor_f32 (v);
  gd = sf_tensor_f32 (g);
  od = sf_tensor_f32 (out);

  /* v viewed as (outer, len, inner); one norm per index along len */
  for (gint64 j = 0; j < len; j++) {
    double sum = 0.0;
    float scale;
    for (gint64 o = 0; o < outer; o++)
      for (gint64 i = 0; i < inner; i++) {
        double e = vd[(o * len + j) * inner + i];
        sum += e * e;
      }
    scale = sum > 0.0 ? (float)(gd[j] / sqrt (sum)) : 0.0f;
    for (gint64 o = 0; o < outer; o++)
      for (gint64 i = 0; i < inner; i++)
        od[(o * len + j) * inner + i] = vd[(o * len + j) * inner + i] * scale;
  }
}

void
sf_op_weight_norm (SfTensor *out, const SfTensor *g, const SfTensor *v, int dim)
{
  gint64 prof = sf_profile_begin ();

  op_weight_norm (out, g, v, dim);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}
