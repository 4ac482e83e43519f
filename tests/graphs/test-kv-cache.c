/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decoders' self-attention cache: appended positions come back in
 * each row's view across growth, a reorder for beam search keeps every
 * row's history (duplicates included), and the position limit is an
 * error naming it. Each cached value encodes its row, layer, K/V and
 * position, so any misplaced copy shows. */
#include "graphs/kv-cache.h"
#include "core/error.h"

#include <string.h>

#define WIDTH 3

/* The value a sequence @seq holds at @pos, element @i. */
static float
value (guint seq, int layer, int is_v, gint64 pos, gint64 i)
{
  return (float)(seq * 100000 + layer * 10000 + is_v * 1000 + pos * 10 + i);
}

/* Appends @t positions to every row; row r is sequence @seqs[r]. */
static void
step (SfKvCache *c, int n_layers, const guint *seqs, guint rows, gint64 t)
{
  gint64 past;
  g_autoptr (GError) error = NULL;

  g_assert_true (sf_kv_cache_begin (c, rows, t, &error));
  g_assert_no_error (error);
  past = sf_kv_cache_length (c);
  for (int l = 0; l < n_layers; l++) {
    g_autoptr (SfTensor) k = sf_tensor_new_f32 (3, (gint64)rows, t, WIDTH);
    g_autoptr (SfTensor) v = sf_tensor_new_f32 (3, (gint64)rows, t, WIDTH);
    for (guint r = 0; r < rows; r++)
      for (gint64 p = 0; p < t; p++)
        for (gint64 i = 0; i < WIDTH; i++) {
          gint64 at = (r * t + p) * WIDTH + i;
          sf_tensor_f32 (k)[at] = value (seqs[r], l, 0, past + p, i);
          sf_tensor_f32 (v)[at] = value (seqs[r], l, 1, past + p, i);
        }
    sf_kv_cache_append (c, l, k, v);
  }
  sf_kv_cache_commit (c);
}

/* Every row's view holds its sequence's whole history. */
static void
check (SfKvCache *c, int n_layers, const guint *seqs)
{
  gint64 n = sf_kv_cache_length (c);

  for (int l = 0; l < n_layers; l++)
    for (guint r = 0; r < sf_kv_cache_rows (c); r++) {
      g_autoptr (SfTensor) k = NULL, v = NULL;
      sf_kv_cache_row (c, l, r, &k, &v);
      g_assert_cmpint (k->shape[1], ==, n);
      for (gint64 p = 0; p < n; p++)
        for (gint64 i = 0; i < WIDTH; i++) {
          g_assert_cmpfloat (sf_tensor_f32 (k)[p * WIDTH + i], ==,
              value (seqs[r], l, 0, p, i));
          g_assert_cmpfloat (sf_tensor_f32 (v)[p * WIDTH + i], ==,
              value (seqs[r], l, 1, p, i));
        }
    }
}

static void
test_grow_and_reorder (void)
{
  g_autoptr (SfKvCache) c =
      sf_kv_cache_new ("test decoder", 2, 4, WIDTH, 100, "n_positions");
  g_autoptr (GError) error = NULL;
  guint seqs[4] = { 0, 1 };
  /* row 0 continues row 1, rows 1 and 2 continue row 0, row 3 row 0 */
  const guint src[4] = { 1, 0, 0, 0 };
  guint next[4];

  step (c, 2, seqs, 2, 5); /* a prompt of 5 */
  check (c, 2, seqs);
  for (int i = 0; i < 20; i++) /* past the first allocation */
    step (c, 2, seqs, 2, 1);
  check (c, 2, seqs);

  g_assert_true (sf_kv_cache_reorder (c, src, 4, &error));
  g_assert_no_error (error);
  for (guint r = 0; r < 4; r++)
    next[r] = seqs[src[r]];
  memcpy (seqs, next, sizeof seqs);
  check (c, 2, seqs);
  /* the duplicates diverge from here on: new positions for sequences 1,
   * 0, 2 and 3 */
  seqs[2] = 2;
  seqs[3] = 3;
  step (c, 2, seqs, 4, 1);
  {
    g_autoptr (SfTensor) k = NULL, v = NULL;
    gint64 last = sf_kv_cache_length (c) - 1;
    for (guint r = 0; r < 4; r++) {
      g_clear_pointer (&k, sf_tensor_unref);
      g_clear_pointer (&v, sf_tensor_unref);
      sf_kv_cache_row (c, 1, r, &k, &v);
      g_assert_cmpfloat (
          sf_tensor_f32 (k)[last * WIDTH], ==, value (seqs[r], 1, 0, last, 0));
      /* the history is that of the row it continued */
      g_assert_cmpfloat (
          sf_tensor_f32 (v)[0], ==, value (r == 0 ? 1 : 0, 1, 1, 0, 0));
    }
  }

  /* back to one row: the second */
  g_assert_true (sf_kv_cache_reorder (c, (guint[]){ 1 }, 1, &error));
  g_assert_cmpuint (sf_kv_cache_rows (c), ==, 1);
  g_assert_false (sf_kv_cache_reorder (c, (guint[]){ 1 }, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

static void
test_limit (void)
{
  g_autoptr (SfKvCache) c =
      sf_kv_cache_new ("test decoder", 1, 2, WIDTH, 40, "n_positions");
  g_autoptr (GError) error = NULL;
  const guint seqs[2] = { 0, 1 };

  step (c, 1, seqs, 2, 39);
  step (c, 1, seqs, 2, 1);
  check (c, 1, seqs);
  g_assert_false (sf_kv_cache_begin (c, 2, 1, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "n_positions"));
  g_assert_nonnull (strstr (error->message, "40"));
  g_clear_error (&error);
  /* the live row count once positions are cached, and at most max_rows */
  g_assert_false (sf_kv_cache_begin (c, 1, 0, &error));
  g_clear_error (&error);
  g_assert_false (sf_kv_cache_reorder (c, (guint[]){ 0, 0, 0 }, 3, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/graphs/kv-cache/grow-and-reorder", test_grow_and_reorder);
  g_test_add_func ("/graphs/kv-cache/limit", test_limit);
  return g_test_run ();
}
