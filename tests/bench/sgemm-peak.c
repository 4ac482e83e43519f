/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sgemm-peak: what the BLAS kernels Streamformer picks reach on this machine.
 *
 *   sgemm-peak [--threads 1,2] [--iters N] [--json]
 *
 * Goes through core/blas.h, so it loads OpenBLAS and chooses its kernels
 * exactly as `streamformer` does. Times one square product (the machine's
 * practical sgemm peak), the products one BERT-base block makes for a
 * 128-token sequence (and a 16-token one) and those of a ViT-base block
 * (197 tokens), all in the linear-layer layout (row-major, the weight
 * [N, K] transposed), four ways per thread count:
 *   openblas      one sgemm call, threaded by OpenBLAS itself: the peak;
 *   sf_op_linear  the same product through core/ops/linear.h, threaded
 *                 by Streamformer's pool over single-threaded BLAS calls;
 *   packed        sf_op_linear on the weight packed once by
 *                 sf_linear_pack () at f32, as the model graphs load it
 *                 (Streamformer's own AVX-512 kernel; the same as
 *                 sf_op_linear where the CPU has no AVX-512);
 *   packed-cold   the same, each product on another of enough packed
 *                 copies that its weight comes from memory, as in a
 *                 model's pass (the others find theirs in cache).
 * It prints the best GFLOP/s of each (not the median: this is a ceiling).
 */

#include "core/blas.h"
#include "core/ops/ops.h"
#include "core/threads.h"

#define DEFAULT_ITERS 10

typedef struct
{
  const char *name;
  int m, n, k;
} GemmShape;

static const GemmShape shapes[] = {
  { "square", 1024, 1024, 1024 },
  /* x [128, 768] · W [3072, 768]ᵀ: the feed-forward up-projection */
  { "ffn-up", 128, 3072, 768 },
  /* x [128, 3072] · W [768, 3072]ᵀ: the feed-forward down-projection */
  { "ffn-down", 128, 768, 3072 },
  /* x [128, 768] · W [768, 768]ᵀ: query, key, value, attention output */
  { "attn-proj", 128, 768, 768 },
  /* the same for a 16-token line */
  { "ffn-up-16", 16, 3072, 768 },
  { "ffn-down-16", 16, 768, 3072 },
  /* ViT-base/16 at 224: 197 tokens, q/k/v as one product */
  { "vit-qkv", 197, 2304, 768 },
  { "vit-ffn-up", 197, 3072, 768 },
  { "vit-ffn-down", 197, 768, 3072 },
};

typedef enum
{
  PATH_OPENBLAS,
  PATH_OP_LINEAR,
  PATH_PACKED,
  PATH_PACKED_COLD,
} GemmPath;

static const char *const path_names[] = { "openblas", "sf_op_linear", "packed",
  "packed-cold" };

/* The cold path cycles through copies of the weight that together pass
 * this size, so each product reads its weight from memory, as each layer
 * of a model's pass does. */
#define COLD_BYTES (96 << 20)

static void
fill_random (SfTensor *t, GRand *rand)
{
  float *data = sf_tensor_f32 (t);
  gint64 i, n = sf_tensor_numel (t);

  for (i = 0; i < n; i++)
    data[i] = (float)g_rand_double_range (rand, -1.0, 1.0);
}

/* Best GFLOP/s over @iters products of @shape (after one warm-up). */
static double
time_shape (const GemmShape *shape, GemmPath path, int iters, GRand *rand)
{
  SfTensor *x = sf_tensor_new_f32 (2, (gint64)shape->m, (gint64)shape->k);
  SfTensor *y = sf_tensor_new_f32 (2, (gint64)shape->m, (gint64)shape->n);
  gsize weight_bytes = (gsize)shape->n * shape->k * sizeof (float);
  int n_weights =
      path == PATH_PACKED_COLD ? (int)(COLD_BYTES / weight_bytes) + 2 : 1;
  SfTensor **w = g_new0 (SfTensor *, n_weights);
  double flops = 2.0 * shape->m * shape->n * shape->k;
  double best = 0;
  int i;

  fill_random (x, rand);
  for (i = 0; i < n_weights; i++) {
    w[i] = sf_tensor_new_f32 (2, (gint64)shape->n, (gint64)shape->k);
    fill_random (w[i], rand);
    if (path >= PATH_PACKED) {
      SfTensor *packed = sf_linear_pack (w[i], TRUE, SF_PRECISION_F32);
      sf_tensor_unref (w[i]);
      w[i] = packed;
    }
  }
  for (i = 0; i <= iters; i++) {
    SfTensor *wi = w[i % n_weights];
    gint64 start = g_get_monotonic_time ();
    double seconds;

    /* y [M, N] = x [M, K] · w [N, K]ᵀ */
    if (path == PATH_OPENBLAS)
      sf_blas_sgemm (FALSE, TRUE, shape->m, shape->n, shape->k, 1.0f,
          sf_tensor_f32 (x), shape->k, sf_tensor_f32 (wi), shape->k, 0.0f,
          sf_tensor_f32 (y), shape->n);
    else
      sf_op_linear (y, x, wi, NULL);
    seconds = (g_get_monotonic_time () - start) / 1e6;
    if (i > 0 && seconds > 0 && flops / seconds / 1e9 > best)
      best = flops / seconds / 1e9;
  }
  sf_tensor_unref (x);
  for (i = 0; i < n_weights; i++)
    sf_tensor_unref (w[i]);
  g_free (w);
  sf_tensor_unref (y);
  return best;
}

int
main (int argc, char **argv)
{
  char *threads_arg = NULL;
  int iters = DEFAULT_ITERS;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_STRING, &threads_arg,
        "Comma-separated thread counts (default 1,2)", "LIST" },
    { "iters", 'n', 0, G_OPTION_ARG_INT, &iters,
        "Timed products per shape and path (default 10)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per line",
        NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- sgemm GFLOP/s");
  GError *error = NULL;
  char **counts;
  GRand *rand;
  guint s, t;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("sgemm-peak: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  if (iters < 1) {
    g_printerr ("sgemm-peak: --iters must be >= 1\n");
    return 2;
  }
  if (!sf_blas_init (&error)) {
    g_printerr ("sgemm-peak: %s\n", error->message);
    g_error_free (error);
    return 1;
  }

  counts = g_strsplit (threads_arg ? threads_arg : "1,2", ",", -1);
  rand = g_rand_new_with_seed (1);
  if (!json) {
    g_print ("blas kernel %s (chosen by %s); best GFLOP/s\n",
        sf_blas_corename (), sf_blas_core_source ());
    g_print ("%-11s %-14s %-3s %9s  %12s  %9s  %11s\n", "shape", "MxNxK", "thr",
        "openblas", "sf_op_linear", "packed", "packed-cold");
  }
  for (t = 0; counts[t] != NULL; t++) {
    char *end;
    gint64 n_threads = g_ascii_strtoll (counts[t], &end, 10);

    if (end == counts[t] || *end != '\0' || n_threads < 1) {
      g_printerr ("sgemm-peak: bad thread count '%s'\n", counts[t]);
      g_strfreev (counts);
      g_rand_free (rand);
      g_free (threads_arg);
      return 2;
    }
    for (s = 0; s < G_N_ELEMENTS (shapes); s++) {
      double gflops[4];
      int p;

      for (p = PATH_OPENBLAS; p <= PATH_PACKED_COLD; p++) {
        /* the pool first, then BLAS's own threads, so neither setting
         * undoes the other */
        sf_threads_set (p == PATH_OPENBLAS ? 1 : (int)n_threads);
        sf_blas_set_threads (p == PATH_OPENBLAS ? (int)n_threads : 1);
        gflops[p] = time_shape (&shapes[s], p, iters, rand);
        if (json)
          g_print ("{\"shape\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,"
                   "\"path\":\"%s\",\"threads\":%d,\"blas_core\":\"%s\","
                   "\"gflops\":%.2f}\n",
              shapes[s].name, shapes[s].m, shapes[s].n, shapes[s].k,
              path_names[p], (int)n_threads, sf_blas_corename (), gflops[p]);
      }
      if (!json)
        g_print ("%-11s %4dx%4dx%4d %2d  %9.1f  %12.1f  %9.1f  %11.1f\n",
            shapes[s].name, shapes[s].m, shapes[s].n, shapes[s].k,
            (int)n_threads, gflops[PATH_OPENBLAS], gflops[PATH_OP_LINEAR],
            gflops[PATH_PACKED], gflops[PATH_PACKED_COLD]);
    }
  }
  g_strfreev (counts);
  g_rand_free (rand);
  g_free (threads_arg);
  return 0;
}
