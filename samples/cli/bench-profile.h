/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench --profile`: where a pass's time goes, per op group. */
#pragma once

#include <cjson/cJSON.h>
#include <glib.h>

G_BEGIN_DECLS

/* Clears the counters and turns accounting on (call before the first
 * timed pass) or off (after the last one). */
void sf_bench_profile_enable (gboolean enabled);

/* The report over @passes timed passes whose mean wall time was @mean_ms:
 * per group ms per pass, share of the pass, and for products and attention
 * GFLOP/s and the fraction of this machine's sgemm rate (a 1024³ product
 * through the same ops at the same thread count, measured here). */
void sf_bench_profile_print (int passes, double mean_ms);
/* The same as a JSON object. (transfer full) */
cJSON *sf_bench_profile_json (int passes, double mean_ms);

/* The kernels a pass runs on: the OpenBLAS core and the f32 linear
 * kernel, as text lines or as fields of @root. */
void sf_bench_print_kernels (void);
void sf_bench_json_kernels (cJSON *root);

G_END_DECLS
