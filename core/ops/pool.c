/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: pooling over the sequence (masked mean, first token),
 * padded or packed.
 *
 * Masks arrive in whatever dtype the producer used (HF uses int64; other
 * producers use int32, float or bool), so they are read element by element
 * as float weights.
 */
#include "core/ops/pool.h"
#include "core/profile.h"

#include <string.h>

/* Element @i of a mask tensor as a float weight. */
static float
mask_weight (const SfTensor *mask, gint64 i)
{
  switch (mask->dtype) {
    case SF_DTYPE_F32: return ((const float *)mask->data)[i];
    case SF_DTYPE_F64: return (float)((const double *)mask->data)[i];
    case SF_DTYPE_F16: return sf_f16_to_f32 (((const guint16 *)mask->data)[i]);
    case SF_DTYPE_BF16:
      return sf_bf16_to_f32 (((const guint16 *)mask->data)[i]);
    case SF_DTYPE_I64: return (float)((const gint64 *)mask->data)[i];
    case SF_DTYPE_I32: return (float)((const gint32 *)mask->data)[i];
    case SF_DTYPE_I16: return (float)((const gint16 *)mask->data)[i];
    case SF_DTYPE_I8: return (float)((const gint8 *)mask->data)[i];
    case SF_DTYPE_U8:
    case SF_DTYPE_BOOL: return (float)((const guint8 *)mask->data)[i];
    default: return 0.0f;
  }
}
static void
op_mean_pool (SfTensor *out, const SfTensor *x, const SfTensor *mask)
{
  gint64 batch, seq, hidden, b, t, i;
  const float *src;
  float *dst;

  g_return_if_fail (out != NULL && x != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32);
  g_return_if_fail (x->ndim == 3 && out->ndim == 2);
  batch = x->shape[0];
  seq = x->shape[1];
  hidden = x->shape[2];
  g_return_if_fail (out->shape[0] == batch && out->shape[1] == hidden);
  g_return_if_fail (mask == NULL
      || (mask->ndim == 2 && mask->shape[0] == batch && mask->shape[1] == seq));
  g_return_if_fail (out->data != x->data);

  src = sf_tensor_f32 (x);
  dst = sf_tensor_f32 (out);
  for (b = 0; b < batch; b++) {
    float *o = dst + b * hidden;
    float total = 0.0f;
    float denom;

    /* o [H] = Σ_t x[b, t, :] · mask[b, t] */
    for (i = 0; i < hidden; i++)
      o[i] = 0.0f;
    for (t = 0; t < seq; t++) {
      const float *row = src + (b * seq + t) * hidden;
      float w = mask ? mask_weight (mask, b * seq + t) : 1.0f;

      total += w;
      if (w == 0.0f)
        continue;
      for (i = 0; i < hidden; i++)
        o[i] += row[i] * w;
    }
    denom = total > 1e-9f ? total : 1e-9f;
    for (i = 0; i < hidden; i++)
      o[i] /= denom;
  }
}

void
sf_op_mean_pool (SfTensor *out, const SfTensor *x, const SfTensor *mask)
{
  gint64 prof = sf_profile_begin ();

  op_mean_pool (out, x, mask);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_first_token (SfTensor *out, const SfTensor *x)
{
  gint64 batch, seq, hidden, b;

  g_return_if_fail (out != NULL && x != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32);
  g_return_if_fail (x->ndim == 3 && out->ndim == 2);
  batch = x->shape[0];
  seq = x->shape[1];
  hidden = x->shape[2];
  g_return_if_fail (seq >= 1);
  g_return_if_fail (out->shape[0] == batch && out->shape[1] == hidden);

  /* memmove: out may be a view into x. */
  for (b = 0; b < batch; b++)
    memmove (sf_tensor_f32 (out) + b * hidden,
        sf_tensor_f32 (x) + b * seq * hidden, hidden * sizeof (float));
}

void
sf_op_first_token (SfTensor *out, const SfTensor *x)
{
  gint64 prof = sf_profile_begin ();

  op_first_token (out, x);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

/* Shapes of a packed pooling: out [B, H], x [N, H], offsets ascending from
 * 0 to N. */
static gboolean
check_segments (const SfTensor *out, const SfTensor *x, const gint64 *offsets,
    gint64 n_seqs)
{
  g_return_val_if_fail (out != NULL && x != NULL && offsets != NULL, FALSE);
  g_return_val_if_fail (
      out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32, FALSE);
  g_return_val_if_fail (x->ndim == 2 && out->ndim == 2, FALSE);
  g_return_val_if_fail (
      out->shape[0] == n_seqs && out->shape[1] == x->shape[1], FALSE);
  g_return_val_if_fail (
      offsets[0] == 0 && offsets[n_seqs] == x->shape[0], FALSE);
  for (gint64 b = 0; b < n_seqs; b++)
    g_return_val_if_fail (offsets[b + 1] >= offsets[b], FALSE);
  g_return_val_if_fail (out->data != x->data, FALSE);
  return TRUE;
}

static void
op_segment_mean (
    SfTensor *out, const SfTensor *x, const gint64 *offsets, gint64 n_seqs)
{
  gint64 hidden;

  if (!check_segments (out, x, offsets, n_seqs))
    return;
  hidden = x->shape[1];
  for (gint64 b = 0; b < n_seqs; b++) {
    float *o = sf_tensor_f32 (out) + b * hidden;
    gint64 len = offsets[b + 1] - offsets[b];

    /* o [H] = Σ_t x[t, :] / len, summed in order as sf_op_mean_pool does */
    memset (o, 0, hidden * sizeof (float));
    for (gint64 t = offsets[b]; t < offsets[b + 1]; t++) {
      const float *row = sf_tensor_f32 (x) + t * hidden;

      for (gint64 i = 0; i < hidden; i++)
        o[i] += row[i];
    }
    for (gint64 i = 0; len > 0 && i < hidden; i++)
      o[i] /= (float)len;
  }
}

void
sf_op_segment_mean (
    SfTensor *out, const SfTensor *x, const gint64 *offsets, gint64 n_seqs)
{
  gint64 prof = sf_profile_begin ();

  op_segment_mean (out, x, offsets, n_seqs);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
op_segment_first (
    SfTensor *out, const SfTensor *x, const gint64 *offsets, gint64 n_seqs)
{
  gint64 hidden;

  if (!check_segments (out, x, offsets, n_seqs))
    return;
  hidden = x->shape[1];
  for (gint64 b = 0; b < n_seqs; b++) {
    float *o = sf_tensor_f32 (out) + b * hidden;

    if (offsets[b + 1] > offsets[b])
      memcpy (
          o, sf_tensor_f32 (x) + offsets[b] * hidden, hidden * sizeof (float));
    else
      memset (o, 0, hidden * sizeof (float));
  }
}

void
sf_op_segment_first (
    SfTensor *out, const SfTensor *x, const gint64 *offsets, gint64 n_seqs)
{
  gint64 prof = sf_profile_begin ();

  op_segment_first (out, x, offsets, n_seqs);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}
