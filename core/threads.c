/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the process-wide worker pool.
 *
 * Design decisions:
 * - One exclusive GThreadPool of (threads - 1) workers; the calling thread
 *   is the last worker, so sf_parallel_for() never idles the caller.
 * - Each call owns a small refcounted job. Chunks are claimed with an atomic
 *   counter by whoever runs first (pool workers or the caller), so a call
 *   finishes even when every worker is busy with other callers' jobs, and
 *   calls from several threads at once do not interfere.
 * - A call made from inside a pool worker runs inline: nesting never waits
 *   on the pool it is running on.
 * - A worker that finishes a job stays awake for SF_SPIN_US, polling a
 *   one-slot handoff, before it goes back to the pool's queue. A forward
 *   pass issues one call after another, and a sleeping worker woken
 *   through the queue starts tens of microseconds late on every call.
 *   The handoff is only a hint: the caller runs every unclaimed chunk
 *   itself, and takes back a job no worker picked up.
 * - BLAS runs single-threaded on whichever thread calls it (core/blas.c),
 *   and the ops split their products over this pool, so the thread count
 *   set here is also the number of threads doing BLAS work.
 */
#include "core/threads.h"

#define SF_CHUNKS_PER_THREAD 4
#define SF_SPIN_US 100

typedef struct
{
  gint refcount;
  gint next_chunk; /* next chunk to claim (atomic) */
  gint n_chunks;
  gint64 n;
  SfRangeFunc func;
  gpointer user_data;
  GMutex lock;
  GCond done_cond;
  gint n_done; /* chunks finished, under lock */
} SfJob;

static GMutex pool_lock;
static GThreadPool *pool;      /* written under pool_lock */
static gint pool_workers;      /* its worker count (atomic) */
static gint n_threads_setting; /* 0 until set or first read (atomic) */
static GPrivate in_worker;
static gpointer handoff; /* SfJob * offered to a spinning worker (atomic) */
static gint n_spinning;  /* workers polling @handoff (atomic) */

static int
default_threads (void)
{
  return MAX (1, (int)g_get_num_processors ());
}

static void
job_unref (SfJob *job)
{
  if (g_atomic_int_dec_and_test (&job->refcount)) {
    g_mutex_clear (&job->lock);
    g_cond_clear (&job->done_cond);
    g_free (job);
  }
}

/* Claims and runs chunks until none is left. */
static void
job_run_chunks (SfJob *job)
{
  gint done = 0;

  for (;;) {
    gint c = g_atomic_int_add (&job->next_chunk, 1);
    gint64 start, end;

    if (c >= job->n_chunks)
      break;
    start = job->n * c / job->n_chunks;
    end = job->n * (c + 1) / job->n_chunks;
    job->func (start, end, job->user_data);
    done++;
  }
  if (done > 0) {
    g_mutex_lock (&job->lock);
    job->n_done += done;
    if (job->n_done == job->n_chunks)
      g_cond_broadcast (&job->done_cond);
    g_mutex_unlock (&job->lock);
  }
}

/* The job in the handoff slot, now owned by the caller, or NULL. */
static SfJob *
handoff_take (void)
{
  SfJob *job = g_atomic_pointer_get (&handoff);

  if (job && g_atomic_pointer_compare_and_exchange (&handoff, job, NULL))
    return job;
  return NULL;
}

static void
pool_worker (gpointer data, gpointer user_data)
{
  SfJob *job = data;
  gint64 deadline;

  g_private_set (&in_worker, GINT_TO_POINTER (1));
  job_run_chunks (job);
  job_unref (job);

  /* stay awake briefly for the next call of the same pass */
  g_atomic_int_inc (&n_spinning);
  deadline = g_get_monotonic_time () + SF_SPIN_US;
  while (g_get_monotonic_time () < deadline) {
    if ((job = handoff_take ()) != NULL) {
      job_run_chunks (job);
      job_unref (job);
      deadline = g_get_monotonic_time () + SF_SPIN_US;
    } else {
      /* yield, not pause: on a loaded machine the caller may need this
       * very core */
      g_thread_yield ();
    }
  }
  g_atomic_int_add (&n_spinning, -1);
  /* a job offered just as we stopped polling */
  if ((job = handoff_take ()) != NULL) {
    job_run_chunks (job);
    job_unref (job);
  }
}

/* The pool, created or resized to @n_threads - 1 workers. */
static GThreadPool *
pool_get (int n_threads)
{
  int workers = MAX (1, n_threads - 1);
  GThreadPool *p;

  /* Fast path: the pool exists with the wanted size. */
  if (g_atomic_int_get (&pool_workers) == workers)
    return g_atomic_pointer_get (&pool);

  g_mutex_lock (&pool_lock);
  if (pool == NULL) {
    g_atomic_pointer_set (
        &pool, g_thread_pool_new (pool_worker, NULL, workers, TRUE, NULL));
  } else if (g_thread_pool_get_max_threads (pool) != workers) {
    g_thread_pool_set_max_threads (pool, workers, NULL);
  }
  g_atomic_int_set (&pool_workers, workers);
  p = pool;
  g_mutex_unlock (&pool_lock);
  return p;
}

void
sf_threads_set (int n)
{
  if (n <= 0)
    n = default_threads ();
  g_atomic_int_set (&n_threads_setting, n);
  if (n > 1)
    pool_get (n);
}

int
sf_threads_get (void)
{
  int n = g_atomic_int_get (&n_threads_setting);

  if (n <= 0) {
    n = default_threads ();
    g_atomic_int_compare_and_exchange (&n_threads_setting, 0, n);
    n = g_atomic_int_get (&n_threads_setting);
  }
  return n;
}

void
sf_parallel_for (
    gint64 n, gint64 min_chunk, SfRangeFunc func, gpointer user_data)
{
  GThreadPool *p;
  SfJob *job;
  gint64 n_chunks;
  int n_threads, i;

  g_return_if_fail (func != NULL);
  if (n <= 0)
    return;
  if (min_chunk < 1)
    min_chunk = 1;

  n_threads = sf_threads_get ();
  if (n_threads <= 1 || n < min_chunk * 2
      || g_private_get (&in_worker) != NULL) {
    func (0, n, user_data);
    return;
  }

  /* A few chunks per thread: whoever is free takes the next one, so a
   * thread delayed by other work on its core does not hold up the call. */
  n_chunks = MIN ((gint64)n_threads * SF_CHUNKS_PER_THREAD, n / min_chunk);
  p = pool_get (n_threads);

  job = g_new0 (SfJob, 1);
  job->refcount = 1;
  job->n_chunks = (gint)n_chunks;
  job->n = n;
  job->func = func;
  job->user_data = user_data;
  g_mutex_init (&job->lock);
  g_cond_init (&job->done_cond);

  /* One task per helper thread, offered first to a worker that is still
   * awake; the caller takes part as well. */
  for (i = 1; i < MIN (n_chunks, n_threads); i++) {
    g_atomic_int_inc (&job->refcount);
    if (g_atomic_int_get (&n_spinning) > 0
        && g_atomic_pointer_compare_and_exchange (&handoff, NULL, job))
      continue;
    g_thread_pool_push (p, job, NULL);
  }
  job_run_chunks (job);

  g_mutex_lock (&job->lock);
  while (job->n_done < job->n_chunks)
    g_cond_wait (&job->done_cond, &job->lock);
  g_mutex_unlock (&job->lock);
  /* an offer nobody took: its reference comes back to us */
  if (g_atomic_pointer_compare_and_exchange (&handoff, job, NULL))
    job_unref (job);
  job_unref (job);
}
