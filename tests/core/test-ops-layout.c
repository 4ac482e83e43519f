/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/ops/layout.h: every element must land where an index loop
 * written here puts it. Layout ops copy values, so the comparison is
 * exact. */
#include "core/ops/layout.h"
#include "tests/common/test-ops-util.h"

#include <string.h>

static void
test_transpose (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (3);
  g_autoptr (SfTensor) x =
      sf_test_random_tensor (rand, -1.0, 1.0, 3, (gint64[]){ 2, 37, 70 });
  g_autoptr (SfTensor) t =
      sf_tensor_new_f32 (3, (gint64)2, (gint64)70, (gint64)37);

  sf_op_transpose_last2 (t, x);
  for (gint64 n = 0; n < 2; n++)
    for (gint64 i = 0; i < 37; i++)
      for (gint64 j = 0; j < 70; j++)
        g_assert_cmpfloat (sf_tensor_f32 (t)[(n * 70 + j) * 37 + i], ==,
            sf_tensor_f32 (x)[(n * 37 + i) * 70 + j]);
}

/* Concatenates three [2, r_i, 3] I32 or F32 tensors along @dim (the r_i
 * sit on that axis) and compares with an element-by-element gather. */
static void
check_concat (SfDtype dtype, int dim)
{
  const gint64 sizes[] = { 3, 1, 2 };
  gint64 total = 6, shape[3] = { 2, 4, 3 };
  g_autoptr (SfTensor) out = NULL;
  SfTensor *in[3];
  gsize es = sf_dtype_size (dtype);

  for (int i = 0; i < 3; i++) {
    gint64 s[3] = { 2, 4, 3 };
    s[dim] = sizes[i];
    in[i] = sf_tensor_new (dtype, 3, s);
    for (gint64 e = 0; e < sf_tensor_numel (in[i]); e++) {
      if (dtype == SF_DTYPE_I32)
        ((gint32 *)in[i]->data)[e] = (gint32)(1000 * i + e);
      else
        sf_tensor_f32 (in[i])[e] = (float)(1000 * i + e) + 0.5f;
    }
  }
  shape[dim] = total;
  out = sf_tensor_new (dtype, 3, shape);
  sf_op_concat (out, in, 3, dim);

  for (gint64 a = 0; a < shape[0]; a++)
    for (gint64 b = 0; b < shape[1]; b++)
      for (gint64 c = 0; c < shape[2]; c++) {
        gint64 idx[3] = { a, b, c }, s[3] = { 2, 4, 3 };
        int i = 0;
        gint64 src;
        /* which input holds this position along dim, and where */
        while (idx[dim] >= sizes[i])
          idx[dim] -= sizes[i++];
        s[dim] = sizes[i];
        src = (idx[0] * s[1] + idx[1]) * s[2] + idx[2];
        g_assert_cmpmem (
            (guint8 *)out->data + ((a * shape[1] + b) * shape[2] + c) * es, es,
            (guint8 *)in[i]->data + src * es, es);
      }
  for (int i = 0; i < 3; i++)
    sf_tensor_unref (in[i]);
}

/* Splits a [2, 6, 3] F32 tensor along @dim into pieces of 3, 1 and 2 and
 * concatenates them back: the round trip must be exact. */
static void
check_split (int dim)
{
  const gint64 sizes[] = { 3, 1, 2 };
  gint64 shape[3] = { 2, 6, 3 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (5 + dim);
  g_autoptr (SfTensor) x = NULL, back = NULL;
  SfTensor *parts[3];

  shape[dim] = 6;
  x = sf_test_random_tensor (rand, -1.0, 1.0, 3, shape);
  back = sf_tensor_new (SF_DTYPE_F32, 3, shape);
  for (int i = 0; i < 3; i++) {
    gint64 s[3] = { shape[0], shape[1], shape[2] };
    s[dim] = sizes[i];
    parts[i] = sf_tensor_new (SF_DTYPE_F32, 3, s);
  }
  sf_op_split (parts, 3, x, dim);
  sf_op_concat (back, parts, 3, dim);
  g_assert_cmpmem (
      back->data, sf_tensor_nbytes (back), x->data, sf_tensor_nbytes (x));
  /* the first piece starts where x does along dim */
  g_assert_cmpfloat (sf_tensor_f32 (parts[0])[0], ==, sf_tensor_f32 (x)[0]);
  for (int i = 0; i < 3; i++)
    sf_tensor_unref (parts[i]);
}

static void
test_split (void)
{
  for (int dim = 0; dim < 3; dim++)
    check_split (dim);
}

static void
test_concat (void)
{
  for (int dim = 0; dim < 3; dim++) {
    check_concat (SF_DTYPE_F32, dim);
    check_concat (SF_DTYPE_I32, dim);
  }
}

static void
test_copy_reshaped (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  g_autoptr (SfTensor) x =
      sf_test_random_tensor (rand, -1.0, 1.0, 3, (gint64[]){ 2, 3, 4 });
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)6, (gint64)4);
  g_autoptr (SfTensor) ids =
      sf_tensor_new (SF_DTYPE_I64, 2, (gint64[]){ 3, 5 });
  g_autoptr (SfTensor) ids_out =
      sf_tensor_new (SF_DTYPE_I64, 1, (gint64[]){ 15 });

  sf_op_copy (out, x);
  for (gint64 i = 0; i < 24; i++)
    g_assert_cmpfloat (sf_tensor_f32 (out)[i], ==, sf_tensor_f32 (x)[i]);

  for (gint64 i = 0; i < 15; i++)
    sf_tensor_i64 (ids)[i] = G_MAXINT64 - i;
  sf_op_copy (ids_out, ids);
  for (gint64 i = 0; i < 15; i++)
    g_assert_cmpint (sf_tensor_i64 (ids_out)[i], ==, G_MAXINT64 - i);

  /* onto itself: nothing changes */
  sf_op_copy (x, x);
  for (gint64 i = 0; i < 24; i++)
    g_assert_cmpfloat (sf_tensor_f32 (out)[i], ==, sf_tensor_f32 (x)[i]);
}

static void
test_copy_large (void)
{
  /* several of the blocks the copy is split into, and a partial one */
  const gint64 n = 3 * (1 << 18) + 123;
  g_autoptr (SfTensor) x = sf_tensor_new_f32 (1, n);
  g_autoptr (SfTensor) out = sf_tensor_new_f32 (2, (gint64)1, n);

  for (gint64 i = 0; i < n; i++)
    sf_tensor_f32 (x)[i] = (float)i;
  sf_op_copy (out, x);
  for (gint64 i = 0; i < n; i++)
    if (sf_tensor_f32 (out)[i] != (float)i)
      g_error ("element %" G_GINT64_FORMAT " is %g", i, sf_tensor_f32 (out)[i]);
}

static void
test_copy_overlapping (void)
{
  g_autoptr (SfTensor) buf = sf_tensor_new_f32 (2, (gint64)10, (gint64)4);
  g_autoptr (SfTensor) lo = sf_tensor_slice0 (buf, 0, 8);
  g_autoptr (SfTensor) hi = sf_tensor_slice0 (buf, 2, 8);

  for (gint64 i = 0; i < 40; i++)
    sf_tensor_f32 (buf)[i] = (float)i;
  /* rows 0..7 move to rows 2..9, as memmove would */
  sf_op_copy (hi, lo);
  for (gint64 i = 0; i < 40; i++)
    g_assert_cmpfloat (sf_tensor_f32 (buf)[i], ==, (i < 8 ? i : i - 8));
  /* and back down: rows 0..7 hold the original values again */
  sf_op_copy (lo, hi);
  for (gint64 i = 0; i < 32; i++)
    g_assert_cmpfloat (sf_tensor_f32 (buf)[i], ==, i);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ops/layout/transpose", test_transpose);
  g_test_add_func ("/core/ops/layout/concat", test_concat);
  g_test_add_func ("/core/ops/layout/split", test_split);
  g_test_add_func ("/core/ops/layout/copy/reshaped", test_copy_reshaped);
  g_test_add_func ("/core/ops/layout/copy/large", test_copy_large);
  g_test_add_func ("/core/ops/layout/copy/overlapping", test_copy_overlapping);
  return g_test_run ();
}
