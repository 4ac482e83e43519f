/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench --profile`: per-op-group time of the timed passes.
 *
 * The ops record their own wall time into core/profile.h's counters; this
 * file turns those into a table. Time spent outside any op (graph glue:
 * reshapes, small copies, allocation) shows as "outside ops", so the groups
 * plus that line add up to the mean pass. The sgemm peak is measured here
 * and not taken from a file, so the fraction holds for this machine, this
 * thread count and these BLAS kernels.
 */
#include "samples/cli/bench-profile.h"

#include "core/blas.h"
#include "core/ops/ops.h"
#include "core/profile.h"
#include "core/threads.h"

#define PROFILE_PEAK_N 1024
#define PROFILE_PEAK_REPS 4

/* GFLOP/s of the fastest of a few [N, N] · [N, N] products. */
static double
profile_sgemm_peak (void)
{
  g_autoptr (SfTensor) a =
      sf_tensor_new_f32 (2, (gint64)PROFILE_PEAK_N, (gint64)PROFILE_PEAK_N);
  g_autoptr (SfTensor) b =
      sf_tensor_new_f32 (2, (gint64)PROFILE_PEAK_N, (gint64)PROFILE_PEAK_N);
  g_autoptr (SfTensor) c =
      sf_tensor_new_f32 (2, (gint64)PROFILE_PEAK_N, (gint64)PROFILE_PEAK_N);
  double best = G_MAXDOUBLE, flops;
  float *pa = sf_tensor_f32 (a), *pb = sf_tensor_f32 (b);

  for (gint64 i = 0; i < sf_tensor_numel (a); i++) {
    pa[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    pb[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
  }
  for (int r = 0; r <= PROFILE_PEAK_REPS; r++) {
    gint64 start = g_get_monotonic_time ();

    sf_op_matmul (c, a, b, FALSE);
    if (r > 0) /* the first one warms the pool and the caches */
      best = MIN (best, (g_get_monotonic_time () - start) / 1e6);
  }
  flops = 2.0 * PROFILE_PEAK_N * (double)PROFILE_PEAK_N * PROFILE_PEAK_N;
  return flops / MAX (best, 1e-9) / 1e9;
}

void
sf_bench_profile_enable (gboolean enabled)
{
  sf_profile_set_enabled (enabled);
}

/* Fills per-group stats and returns the mean time outside every op. */
static double
profile_collect (
    SfProfileStats stats[SF_PROFILE_N_GROUPS], int passes, double mean_ms)
{
  double inside_ms = 0;

  for (int g = 0; g < SF_PROFILE_N_GROUPS; g++) {
    sf_profile_get (g, &stats[g]);
    inside_ms += stats[g].seconds * 1000.0 / passes;
  }
  return mean_ms - inside_ms;
}

void
sf_bench_profile_print (int passes, double mean_ms)
{
  SfProfileStats stats[SF_PROFILE_N_GROUPS];
  double outside_ms = profile_collect (stats, passes, mean_ms);
  double peak = profile_sgemm_peak ();

  g_print ("profile       per pass, mean of %d passes; sgemm peak %.1f "
           "GFLOP/s (%d³, %d threads)\n",
      passes, peak, PROFILE_PEAK_N, sf_threads_get ());
  g_print ("  %-12s %9s %7s %8s %9s %8s\n", "group", "ms", "share", "calls",
      "GFLOP/s", "of peak");
  for (int g = 0; g < SF_PROFILE_N_GROUPS; g++) {
    double ms = stats[g].seconds * 1000.0 / passes;

    g_print ("  %-12s %9.2f %6.1f%% %8.0f", sf_profile_group_name (g), ms,
        100.0 * ms / mean_ms, (double)stats[g].calls / passes);
    if (stats[g].flops > 0 && stats[g].seconds > 0) {
      double rate = stats[g].flops / stats[g].seconds / 1e9;
      g_print (" %9.1f %7.0f%%", rate, 100.0 * rate / peak);
    }
    g_print ("\n");
  }
  g_print ("  %-12s %9.2f %6.1f%%\n", "outside ops", outside_ms,
      100.0 * outside_ms / mean_ms);
  g_print ("  %-12s %9.2f %6.1f%%\n", "total", mean_ms, 100.0);
}

cJSON *
sf_bench_profile_json (int passes, double mean_ms)
{
  SfProfileStats stats[SF_PROFILE_N_GROUPS];
  double outside_ms = profile_collect (stats, passes, mean_ms);
  double peak = profile_sgemm_peak ();
  cJSON *root = cJSON_CreateObject ();
  cJSON *groups = cJSON_AddObjectToObject (root, "groups");

  cJSON_AddNumberToObject (root, "passes", passes);
  cJSON_AddNumberToObject (root, "mean_ms", mean_ms);
  cJSON_AddNumberToObject (root, "outside_ops_ms", outside_ms);
  cJSON_AddNumberToObject (root, "sgemm_peak_gflops", peak);
  for (int g = 0; g < SF_PROFILE_N_GROUPS; g++) {
    cJSON *item = cJSON_AddObjectToObject (groups, sf_profile_group_name (g));
    double ms = stats[g].seconds * 1000.0 / passes;

    cJSON_AddNumberToObject (item, "ms", ms);
    cJSON_AddNumberToObject (item, "calls", (double)stats[g].calls / passes);
    cJSON_AddNumberToObject (item, "gflop", stats[g].flops / passes / 1e9);
    if (stats[g].flops > 0 && stats[g].seconds > 0) {
      double rate = stats[g].flops / stats[g].seconds / 1e9;
      cJSON_AddNumberToObject (item, "gflops", rate);
      cJSON_AddNumberToObject (item, "of_peak", rate / peak);
    } else {
      cJSON_AddNullToObject (item, "gflops");
      cJSON_AddNullToObject (item, "of_peak");
    }
  }
  return root;
}

void
sf_bench_print_kernels (void)
{
  g_print ("blas kernel   %s (chosen by %s)\n", sf_blas_corename (),
      sf_blas_core_source ());
  g_print ("linear kernel %s\n", sf_linear_f32_kernel ());
}

void
sf_bench_json_kernels (cJSON *root)
{
  cJSON_AddStringToObject (root, "blas_core", sf_blas_corename ());
  cJSON_AddStringToObject (root, "blas_core_source", sf_blas_core_source ());
  cJSON_AddStringToObject (root, "linear_kernel", sf_linear_f32_kernel ());
}
