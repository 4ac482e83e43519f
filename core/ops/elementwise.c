/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: element-wise arithmetic (add, multiply, scale).
 *
 * Design decisions:
 * - Flat loops split into contiguous ranges for the worker pool, as in
 *   core/ops/activation.c.
 * - Outputs may alias inputs: each element is read before it is written.
 *   A broadcast operand must not overlap the output, since every row reads
 *   all of it.
 */
#include "core/ops/elementwise.h"
#include "core/profile.h"
#include "core/threads.h"

/* Elements per worker range. */
#define SF_ELEMWISE_CHUNK 16384

typedef struct
{
  float *out;
  const float *a;
  const float *b;
  gint64 b_len; /* b's length: the row length when broadcast */
  float factor;
} ElemwiseArgs;

static void
add_chunk (gint64 start, gint64 end, gpointer user_data)
{
  ElemwiseArgs *args = user_data;
  float *out = args->out;
  const float *a = args->a;
  const float *b = args->b;
  gint64 i;

  for (i = start; i < end; i++)
    out[i] = a[i] + b[i];
}

/* Ranges here are rows of length b_len. */
static void
add_rows_chunk (gint64 start, gint64 end, gpointer user_data)
{
  ElemwiseArgs *args = user_data;
  gint64 len = args->b_len, r, i;
  const float *b = args->b;

  for (r = start; r < end; r++) {
    float *out = args->out + r * len;
    const float *a = args->a + r * len;

    for (i = 0; i < len; i++)
      out[i] = a[i] + b[i];
  }
}

static void
op_add (SfTensor *out, const SfTensor *a, const SfTensor *b)
{
  ElemwiseArgs args = { 0 };
  gint64 n;

  g_return_if_fail (out != NULL && a != NULL && b != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && a->dtype == SF_DTYPE_F32
      && b->dtype == SF_DTYPE_F32);
  g_return_if_fail (sf_tensor_same_shape (out, a));

  n = sf_tensor_numel (a);
  args.out = sf_tensor_f32 (out);
  args.a = sf_tensor_f32 (a);
  args.b = sf_tensor_f32 (b);

  if (sf_tensor_same_shape (a, b)) {
    sf_parallel_for (n, SF_ELEMWISE_CHUNK, add_chunk, &args);
    return;
  }

  /* b [C] broadcast over the rows of a [..., C]. */
  g_return_if_fail (
      b->ndim == 1 && a->ndim >= 1 && b->shape[0] == sf_tensor_dim (a, -1));
  args.b_len = b->shape[0];
  /* b must not be part of out's rows when it is broadcast. */
  g_return_if_fail (args.b_len == 0 || args.b + args.b_len <= args.out
      || args.b >= args.out + n);
  if (args.b_len == 0)
    return;
  sf_parallel_for (n / args.b_len, MAX (1, SF_ELEMWISE_CHUNK / args.b_len),
      add_rows_chunk, &args);
}

void
sf_op_add (SfTensor *out, const SfTensor *a, const SfTensor *b)
{
  gint64 prof = sf_profile_begin ();

  op_add (out, a, b);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
scale_chunk (gint64 start, gint64 end, gpointer user_data)
{
  ElemwiseArgs *args = user_data;
  float *out = args->out;
  const float *x = args->a;
  float f = args->factor;
  gint64 i;

  for (i = start; i < end; i++)
    out[i] = x[i] * f;
}

static void
op_scale (SfTensor *out, const SfTensor *x, float factor)
{
  ElemwiseArgs args = { 0 };

  g_return_if_fail (out != NULL && x != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && x->dtype == SF_DTYPE_F32);
  g_return_if_fail (sf_tensor_same_shape (out, x));

  args.out = sf_tensor_f32 (out);
  args.a = sf_tensor_f32 (x);
  args.factor = factor;
  sf_parallel_for (sf_tensor_numel (x), SF_ELEMWISE_CHUNK, scale_chunk, &args);
}

void
sf_op_scale (SfTensor *out, const SfTensor *x, float factor)
{
  gint64 prof = sf_profile_begin ();

  op_scale (out, x, factor);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}

static void
mul_chunk (gint64 start, gint64 end, gpointer user_data)
{
  ElemwiseArgs *args = user_data;
  float *out = args->out;
  const float *a = args->a;
  const float *b = args->b;
  gint64 i;

  for (i = start; i < end; i++)
    out[i] = a[i] * b[i];
}

static void
op_mul (SfTensor *out, const SfTensor *a, const SfTensor *b)
{
  ElemwiseArgs args = { 0 };

  g_return_if_fail (out != NULL && a != NULL && b != NULL);
  g_return_if_fail (out->dtype == SF_DTYPE_F32 && a->dtype == SF_DTYPE_F32
      && b->dtype == SF_DTYPE_F32);
  g_return_if_fail (
      sf_tensor_same_shape (out, a) && sf_tensor_same_shape (a, b));

  args.out = sf_tensor_f32 (out);
  args.a = sf_tensor_f32 (a);
  args.b = sf_tensor_f32 (b);
  sf_parallel_for (sf_tensor_numel (a), SF_ELEMWISE_CHUNK, mul_chunk, &args);
}

void
sf_op_mul (SfTensor *out, const SfTensor *a, const SfTensor *b)
{
  gint64 prof = sf_profile_begin ();

  op_mul (out, a, b);
  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
}
