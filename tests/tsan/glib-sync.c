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
#include <pthread.h>

#include <gst/gst.h>

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
 * earlier ones, as a release/acquire decrement would. The sync object sits
 * one byte into the object, an address no lock wrapper uses, so that the
 * frees below acquire refcount drops and nothing else (not the last
 * unlock of a GMutex that starts some other freed block). */
#define REFS(obj) ((char *)(obj) + 1)

typedef void (*UnrefFunc) (GstMiniObject *);

void
gst_mini_object_unref (GstMiniObject *obj)
{
  REAL (UnrefFunc, "gst_mini_object_unref");
  RELEASE (REFS (obj));
  ACQUIRE (REFS (obj));
  real (obj);
}

/* GObject's refcount is an atomic inside libgobject, and an element's last
 * reference is often dropped by a streaming thread (through a message
 * that names it as its source) after the application has set it to NULL
 * and let it go: gst_element_finalize() then destroys a state lock that
 * the application's thread used last. Every GstObject reference goes
 * through here from libgstreamer. */
typedef void (*ObjectUnrefFunc) (gpointer);

void
g_object_unref (gpointer obj)
{
  REAL (ObjectUnrefFunc, "g_object_unref");
  RELEASE (REFS (obj));
  ACQUIRE (REFS (obj));
  real (obj);
}

/* libgstreamer also drops references from inside itself, where no wrapper
 * sees it: GstBin's post_message() keeps one on each message it forwards
 * (an EOS it makes, say) and often drops the last one after the
 * application has read the message in its own thread. The object's memory
 * goes back through GLib, called through the PLT: acquire there what every
 * wrapped unref above released. TSan forgets the sync object when the
 * block is freed. */
typedef void (*SliceFreeFunc) (gsize, gpointer);
typedef void (*FreeFunc) (gpointer);

void
g_slice_free1 (gsize size, gpointer mem)
{
  REAL (SliceFreeFunc, "g_slice_free1");
  if (mem != NULL)
    ACQUIRE (REFS (mem));
  real (size, mem);
}

void
g_free (gpointer mem)
{
  REAL (FreeFunc, "g_free");
  if (mem != NULL)
    ACQUIRE (REFS (mem));
  real (mem);
}

/* A message an element posts from its streaming thread reaches the
 * application through GstBin's post_message(), which keeps a reference of
 * its own, reads the message after the application may have had it, and
 * drops that reference inside libgstreamer. When that drop is the last
 * one, the message's structure is freed with no wrapper on the way. Holding
 * a reference across the post makes the last drop either the
 * application's or this one, both through the wrapper above. */
typedef gboolean (*PostFunc) (GstElement *, GstMessage *);

gboolean
gst_element_post_message (GstElement *element, GstMessage *message)
{
  gboolean ok;

  REAL (PostFunc, "gst_element_post_message");
  if (message == NULL)
    return real (element, message);
  gst_mini_object_ref (GST_MINI_OBJECT_CAST (message));
  ok = real (element, message);
  gst_mini_object_unref (GST_MINI_OBJECT_CAST (message));
  return ok;
}

/* GLib's quark and interned-string tables sit behind one G_LOCK inside
 * libglib, which the lock wrappers cannot see: a new string is copied into
 * a shared block by the thread that adds it, and compared (strcmp) by
 * every later lookup, in any thread. A (visible) read-write lock around
 * each call from outside libglib gives TSan that order: lookups of
 * existing strings hold it for reading, so they do not order the many
 * threads that only look up (which would hide their races elsewhere);
 * only a call that may add a string holds it for writing. The real lock
 * is always taken inside this one. */
static pthread_rwlock_t quark_lock = PTHREAD_RWLOCK_INITIALIZER;

typedef GQuark (*QuarkFunc) (const gchar *);
typedef const gchar *(*InternFunc) (const gchar *);

static QuarkFunc
real_quark_try_string (void)
{
  REAL (QuarkFunc, "g_quark_try_string");
  return real;
}

GQuark
g_quark_try_string (const gchar *string)
{
  GQuark q;

  pthread_rwlock_rdlock (&quark_lock);
  q = real_quark_try_string () (string);
  pthread_rwlock_unlock (&quark_lock);
  return q;
}

/* Looks @string up for reading first; adds it (writing) when missing. */
#define ADD_WRAPPER(type, functype, name)                                      \
  type name (const gchar *string)                                              \
  {                                                                            \
    gboolean known;                                                            \
    type r = 0;                                                                \
                                                                               \
    REAL (functype, #name);                                                    \
    pthread_rwlock_rdlock (&quark_lock);                                       \
    known = string == NULL || real_quark_try_string () (string) != 0;          \
    if (known)                                                                 \
      r = real (string);                                                       \
    pthread_rwlock_unlock (&quark_lock);                                       \
    if (known)                                                                 \
      return r;                                                                \
    pthread_rwlock_wrlock (&quark_lock);                                       \
    r = real (string);                                                         \
    pthread_rwlock_unlock (&quark_lock);                                       \
    return r;                                                                  \
  }

ADD_WRAPPER (GQuark, QuarkFunc, g_quark_from_string)
ADD_WRAPPER (GQuark, QuarkFunc, g_quark_from_static_string)
ADD_WRAPPER (const gchar *, InternFunc, g_intern_string)
ADD_WRAPPER (const gchar *, InternFunc, g_intern_static_string)
