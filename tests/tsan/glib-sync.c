/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD shim for ./tests/run.sh --tsan: tells ThreadSanitizer about
 * GLib's locks. GLib's GMutex and GCond are futex-based inside an
 * uninstrumented libglib, so TSan sees neither side of a lock and reports
 * every access guarded by GST_OBJECT_LOCK, a pad's stream lock or a
 * g_once_init_enter() as a race. Each call from outside libglib (ours,
 * GStreamer's) comes through the PLT to these wrappers, which forward to
 * GLib and add the acquire/release TSan needs. Built without TSan itself;
 * the annotations are weak, so programs without the runtime (sh, python)
 * load it harmlessly. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

void __tsan_acquire (void *addr) __attribute__ ((weak));
void __tsan_release (void *addr) __attribute__ ((weak));

#define ACQUIRE(p)                                                             \
  do {                                                                         \
    if (__tsan_acquire)                                                        \
      __tsan_acquire ((void *)(p));                                            \
  } while (0)
#define RELEASE(p)                                                             \
  do {                                                                         \
    if (__tsan_release)                                                        \
      __tsan_release ((void *)(p));                                            \
  } while (0)

/* The next definition of @name, GLib's, looked up once per wrapper. */
#define REAL(type, name)                                                       \
  static type real;                                                            \
  if (real == NULL)                                                            \
    real = (type)dlsym (RTLD_NEXT, name);

typedef void (*LockFunc) (gpointer);
typedef gboolean (*TryFunc) (gpointer);
typedef void (*WaitFunc) (GCond *, GMutex *);
typedef gboolean (*WaitUntilFunc) (GCond *, GMutex *, gint64);
typedef gboolean (*OnceEnterFunc) (volatile void *);
typedef void (*OnceLeaveFunc) (volatile void *, gsize);

#define LOCK_WRAPPERS(T, prefix)                                               \
  void prefix##_lock (T *m)                                                    \
  {                                                                            \
    REAL (LockFunc, #prefix "_lock");                                          \
    real (m);                                                                  \
    ACQUIRE (m);                                                               \
  }                                                                            \
  gboolean prefix##_trylock (T *m)                                             \
  {                                                                            \
    REAL (TryFunc, #prefix "_trylock");                                        \
    if (!real (m))                                                             \
      return FALSE;                                                            \
    ACQUIRE (m);                                                               \
    return TRUE;                                                               \
  }                                                                            \
  void prefix##_unlock (T *m)                                                  \
  {                                                                            \
    REAL (LockFunc, #prefix "_unlock");                                        \
    RELEASE (m);                                                               \
    real (m);                                                                  \
  }

LOCK_WRAPPERS (GMutex, g_mutex)
LOCK_WRAPPERS (GRecMutex, g_rec_mutex)

/* Readers and writers share one sync object: a reader/reader edge only
 * hides races, never invents one. */
#define RW_WRAPPERS(kind)                                                      \
  void g_rw_lock_##kind##_lock (GRWLock *l)                                    \
  {                                                                            \
    REAL (LockFunc, "g_rw_lock_" #kind "_lock");                               \
    real (l);                                                                  \
    ACQUIRE (l);                                                               \
  }                                                                            \
  void g_rw_lock_##kind##_unlock (GRWLock *l)                                  \
  {                                                                            \
    REAL (LockFunc, "g_rw_lock_" #kind "_unlock");                             \
    RELEASE (l);                                                               \
    real (l);                                                                  \
  }

RW_WRAPPERS (writer)
RW_WRAPPERS (reader)

/* Waiting gives the mutex up and takes it back. */
void
g_cond_wait (GCond *cond, GMutex *mutex)
{
  REAL (WaitFunc, "g_cond_wait");
  RELEASE (mutex);
  real (cond, mutex);
  ACQUIRE (mutex);
}

gboolean
g_cond_wait_until (GCond *cond, GMutex *mutex, gint64 end_time)
{
  gboolean ok;

  REAL (WaitUntilFunc, "g_cond_wait_until");
  RELEASE (mutex);
  ok = real (cond, mutex, end_time);
  ACQUIRE (mutex);
  return ok;
}

/* g_once_init_enter()'s fast path is an atomic load in the caller's own
 * (instrumented) code; the store it pairs with is inside libglib. */
gboolean (g_once_init_enter) (volatile void *location)
{
  gboolean run;

  REAL (OnceEnterFunc, "g_once_init_enter");
  run = real (location);
  if (!run)
    ACQUIRE (location);
  return run;
}

void (g_once_init_leave) (volatile void *location, gsize result)
{
  REAL (OnceLeaveFunc, "g_once_init_leave");
  RELEASE (location);
  real (location, result);
}

/* A GThreadPool hands each task over through GLib's own queue: release
 * the task's data on push, acquire it in a trampoline before the pool's
 * function runs. */
typedef struct
{
  GFunc func;
  gpointer user_data;
} PoolFunc;

static void
pool_trampoline (gpointer data, gpointer user_data)
{
  PoolFunc *pf = user_data;

  ACQUIRE (data);
  pf->func (data, pf->user_data);
}

typedef GThreadPool *(*PoolNewFunc) (
    GFunc, gpointer, gint, gboolean, GError **);
typedef gboolean (*PoolPushFunc) (GThreadPool *, gpointer, GError **);

GThreadPool *
g_thread_pool_new (GFunc func, gpointer user_data, gint max_threads,
    gboolean exclusive, GError **error)
{
  /* Never freed: pools are few and usually live as long as the process. */
  PoolFunc *pf = g_new (PoolFunc, 1);

  REAL (PoolNewFunc, "g_thread_pool_new");
  pf->func = func;
  pf->user_data = user_data;
  return real (pool_trampoline, pf, max_threads, exclusive, error);
}

gboolean
g_thread_pool_push (GThreadPool *pool, gpointer data, GError **error)
{
  REAL (PoolPushFunc, "g_thread_pool_push");
  RELEASE (data);
  return real (pool, data, error);
}

/* GStreamer's refcounts are atomics inside libgstreamer: whoever drops a
 * reference publishes its accesses, and whoever may free acquires all the
 * earlier ones, as a release/acquire decrement would. */
typedef void (*UnrefFunc) (gpointer);

void
gst_mini_object_unref (gpointer obj)
{
  REAL (UnrefFunc, "gst_mini_object_unref");
  RELEASE (obj);
  ACQUIRE (obj);
  real (obj);
}
