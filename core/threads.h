/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: threads.
 *
 * One process-wide worker pool (GThreadPool) does all of Streamformer's
 * threading: element-wise work, attention heads, and the column blocks of
 * every matrix product (OpenBLAS itself runs single-threaded, since its
 * spinning idle threads would take the cores our pool needs).
 * sf_parallel_for() splits [0, n) into contiguous chunks, runs them on the
 * pool and the calling thread, and returns when all are done.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*SfRangeFunc) (gint64 start, gint64 end, gpointer user_data);

/* Threads for all ops; 0 means one per online core (the default). */
void sf_threads_set (int n_threads);
int sf_threads_get (void);
/* Runs func over [0, n) in chunks; small n (< min_chunk · 2) runs inline. */
void sf_parallel_for (
    gint64 n, gint64 min_chunk, SfRangeFunc func, gpointer user_data);

G_END_DECLS
