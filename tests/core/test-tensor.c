/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/tensor: storage, views, dtype conversion. */
#include "core/tensor.h"

#include <math.h>
#include <sys/mman.h>

static void
test_new_and_views (void)
{
  g_autoptr (SfTensor) t =
      sf_tensor_new_f32 (3, (gint64)2, (gint64)3, (gint64)4);
  g_autoptr (SfTensor) r = NULL, s = NULL;

  g_assert_cmpint (sf_tensor_numel (t), ==, 24);
  g_assert_cmpuint (sf_tensor_nbytes (t), ==, 96);
  g_assert_cmpint (sf_tensor_dim (t, -1), ==, 4);
  for (int i = 0; i < 24; i++)
    g_assert_cmpfloat (sf_tensor_f32 (t)[i], ==, 0.0f);
  for (int i = 0; i < 24; i++)
    sf_tensor_f32 (t)[i] = i;

  r = sf_tensor_reshape (t, 2, (gint64[]){ 6, 4 });
  g_assert_true (r->data == t->data);
  g_assert_cmpint (r->shape[0], ==, 6);

  s = sf_tensor_slice0 (t, 1, 1);
  g_assert_cmpint (s->shape[0], ==, 1);
  g_assert_cmpfloat (sf_tensor_f32 (s)[0], ==, 12.0f);
  {
    g_autofree char *str = sf_tensor_shape_string (s);
    g_assert_cmpstr (str, ==, "[1, 3, 4]");
  }
}

/* Large blocks are recycled: sf_tensor_new () still hands them out
 * zero-filled, sf_tensor_new_uninit () as they are, aligned and sized. */
static void
test_recycled_blocks (void)
{
  const gint64 n = 256 * 1024; /* 1 MiB, above the recycling threshold */

  for (int round = 0; round < 2; round++) {
    g_autoptr (SfTensor) u = sf_tensor_new_uninit (SF_DTYPE_F32, 1, &n);

    g_assert_cmpint (sf_tensor_numel (u), ==, n);
    g_assert_cmpint (u->dtype, ==, SF_DTYPE_F32);
    g_assert_cmpuint ((guintptr)u->data % 64, ==, 0);
    for (gint64 i = 0; i < n; i++)
      sf_tensor_f32 (u)[i] = 7.0f;
  }
  {
    g_autoptr (SfTensor) z = sf_tensor_new (SF_DTYPE_F32, 1, &n);

    for (gint64 i = 0; i < n; i++)
      g_assert_cmpfloat (sf_tensor_f32 (z)[i], ==, 0.0f);
  }
}

/* Blocks of 2 MiB or more start on a 2 MiB boundary (for huge pages), and
 * come back zeroed whether fresh or recycled. */
static void
test_huge_blocks (void)
{
  const gint64 sizes[] = { 3 * 256 * 1024, 3 * 256 * 1024, 5 * 256 * 1024 };

  for (guint k = 0; k < G_N_ELEMENTS (sizes); k++) {
    const gint64 n = sizes[k];
    g_autoptr (SfTensor) z = sf_tensor_new (SF_DTYPE_F32, 1, &n);

#ifdef MADV_HUGEPAGE
    g_assert_cmpuint ((guintptr)z->data % (2 * 1024 * 1024), ==, 0);
#endif
    for (gint64 i = 0; i < n; i++)
      g_assert_cmpfloat (sf_tensor_f32 (z)[i], ==, 0.0f);
    for (gint64 i = 0; i < n; i++)
      sf_tensor_f32 (z)[i] = 7.0f; /* the next, recycled, must not see it */
  }
}

static int wrapped_freed;

static void
on_wrapped_free (gpointer owner)
{
  wrapped_freed++;
  g_free (owner);
}

static void
test_wrapped_storage (void)
{
  float *data = g_new0 (float, 8);
  SfStorage *st = sf_storage_new_wrapped (data, 32, data, on_wrapped_free);
  SfTensor *a = sf_tensor_new_view (st, 16, SF_DTYPE_F32, 1, (gint64[]){ 4 });

  wrapped_freed = 0;
  sf_storage_unref (st);
  g_assert_cmpint (wrapped_freed, ==, 0); /* the view keeps it alive */
  g_assert_true (a->data == data + 4);
  sf_tensor_unref (a);
  g_assert_cmpint (wrapped_freed, ==, 1);
}

static void
test_half_conversion (void)
{
  /* exactly representable values round-trip through both half formats */
  const float values[] = { 0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 0.000061035156f,
    5.9604645e-08f, 0.333251953125f, INFINITY };
  for (guint i = 0; i < G_N_ELEMENTS (values); i++) {
    g_assert_cmpfloat (
        sf_f16_to_f32 (sf_f32_to_f16 (values[i])), ==, values[i]);
  }
  g_assert_cmpfloat (sf_bf16_to_f32 (sf_f32_to_bf16 (1.0f)), ==, 1.0f);
  g_assert_cmpfloat (sf_bf16_to_f32 (sf_f32_to_bf16 (-3.0f)), ==, -3.0f);
  /* known encodings */
  g_assert_cmphex (sf_f32_to_f16 (1.0f), ==, 0x3c00);
  g_assert_cmphex (sf_f32_to_f16 (-2.0f), ==, 0xc000);
  g_assert_cmphex (sf_f32_to_bf16 (1.0f), ==, 0x3f80);
  g_assert_true (isnan (sf_f16_to_f32 (sf_f32_to_f16 (NAN))));
  /* rounding to nearest: 1 + 2^-11 is halfway, ties to even (1.0) */
  g_assert_cmphex (sf_f32_to_f16 (1.0f + 1.0f / 2048), ==, 0x3c00);
  g_assert_cmphex (sf_f32_to_f16 (1.0f + 3.0f / 2048), ==, 0x3c02);
}

static void
test_to_f32 (void)
{
  guint16 h[3] = { 0x3c00, 0xc000, 0x3800 }; /* 1, -2, 0.5 */
  gint64 i[3] = { 5, -7, 0 };
  g_autoptr (SfTensor) th =
      sf_tensor_new_from_data (SF_DTYPE_F16, 1, (gint64[]){ 3 }, h);
  g_autoptr (SfTensor) ti =
      sf_tensor_new_from_data (SF_DTYPE_I64, 1, (gint64[]){ 3 }, i);
  g_autoptr (SfTensor) fh = sf_tensor_to_f32 (th);
  g_autoptr (SfTensor) fi = sf_tensor_to_f32 (ti);
  g_autoptr (SfTensor) same = sf_tensor_to_f32 (fh);
  g_autoptr (SfTensor) back = sf_tensor_to_i64 (ti);

  g_assert_cmpfloat (sf_tensor_f32 (fh)[0], ==, 1.0f);
  g_assert_cmpfloat (sf_tensor_f32 (fh)[1], ==, -2.0f);
  g_assert_cmpfloat (sf_tensor_f32 (fh)[2], ==, 0.5f);
  g_assert_cmpfloat (sf_tensor_f32 (fi)[1], ==, -7.0f);
  g_assert_true (same == fh);
  g_assert_true (back == ti);
  g_assert_null (sf_tensor_to_i64 (fh));
}

static void
test_dtype_names (void)
{
  SfDtype d;
  for (int i = 0; i < SF_DTYPE_N_TYPES; i++) {
    g_assert_true (sf_dtype_from_name (sf_dtype_name (i), &d));
    g_assert_cmpint (d, ==, i);
  }
  g_assert_false (sf_dtype_from_name ("F8_E4M3", &d));
  g_assert_cmpuint (sf_dtype_size (SF_DTYPE_BF16), ==, 2);
}

/* Non-finite counts in every float dtype the weights may be stored in. */
static void
test_count_nonfinite (void)
{
  gint64 shape[1] = { 6 }, first = 0;
  g_autoptr (SfTensor) f32 = sf_tensor_new (SF_DTYPE_F32, 1, shape);
  g_autoptr (SfTensor) f16 = sf_tensor_new (SF_DTYPE_F16, 1, shape);
  g_autoptr (SfTensor) bf16 = sf_tensor_new (SF_DTYPE_BF16, 1, shape);
  g_autoptr (SfTensor) f64 = sf_tensor_new (SF_DTYPE_F64, 1, shape);
  g_autoptr (SfTensor) i64 = sf_tensor_new (SF_DTYPE_I64, 1, shape);
  float *a = sf_tensor_f32 (f32);
  guint16 *h = f16->data, *b = bf16->data;
  double *d = f64->data;

  g_assert_cmpint (sf_tensor_count_nonfinite (f32, &first), ==, 0);
  g_assert_cmpint (first, ==, -1);
  a[2] = -INFINITY;
  a[4] = NAN;
  a[5] = 3.0e38f;
  g_assert_cmpint (sf_tensor_count_nonfinite (f32, &first), ==, 2);
  g_assert_cmpint (first, ==, 2);

  h[1] = sf_f32_to_f16 (NAN);
  h[3] = 0x7bff; /* the largest finite half */
  g_assert_cmpint (sf_tensor_count_nonfinite (f16, &first), ==, 1);
  g_assert_cmpint (first, ==, 1);

  b[0] = sf_f32_to_bf16 (INFINITY);
  b[5] = sf_f32_to_bf16 (-1.0e38f);
  g_assert_cmpint (sf_tensor_count_nonfinite (bf16, &first), ==, 1);
  g_assert_cmpint (first, ==, 0);

  /* finite as a double, but not as the float it is converted to */
  d[4] = 1.0e300;
  d[1] = 1.0e30;
  g_assert_cmpint (sf_tensor_count_nonfinite (f64, &first), ==, 1);
  g_assert_cmpint (first, ==, 4);

  g_assert_cmpint (sf_tensor_count_nonfinite (i64, NULL), ==, 0);
}

/* Releasing the pages of a tensor is a hint: the contents stay. */
static void
test_release_pages (void)
{
  g_autoptr (SfTensor) t = sf_tensor_new_f32 (1, (gint64)(1 << 20));
  g_autoptr (SfTensor) view = NULL;

  for (gint64 i = 0; i < (1 << 20); i++)
    sf_tensor_f32 (t)[i] = (float)i;
  view = sf_tensor_slice0 (t, 1000, 300000);
  sf_tensor_release_pages (view);
  sf_tensor_release_pages (t);
  for (gint64 i = 0; i < (1 << 20); i++)
    g_assert_cmpfloat (sf_tensor_f32 (t)[i], ==, (float)i);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/tensor/new-and-views", test_new_and_views);
  g_test_add_func ("/core/tensor/recycled-blocks", test_recycled_blocks);
  g_test_add_func ("/core/tensor/huge-blocks", test_huge_blocks);
  g_test_add_func ("/core/tensor/wrapped-storage", test_wrapped_storage);
  g_test_add_func ("/core/tensor/half-conversion", test_half_conversion);
  g_test_add_func ("/core/tensor/to-f32", test_to_f32);
  g_test_add_func ("/core/tensor/dtype-names", test_dtype_names);
  g_test_add_func ("/core/tensor/count-nonfinite", test_count_nonfinite);
  g_test_add_func ("/core/tensor/release-pages", test_release_pages);
  return g_test_run ();
}
