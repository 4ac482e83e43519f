/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: tensor and storage implementation. */
#include "core/tensor.h"
#include "core/threads.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SF_STORAGE_ALIGN 64

struct SfStorage
{
  gsize alloc_size; /* our heap block's padded size; 0 when wrapped */
  gint refcount;
  gpointer data;
  gsize size;
  gpointer owner;        /* wrapped storage: who owns data */
  GDestroyNotify notify; /* NULL: data is our aligned heap block */
  gconstpointer layout;  /* sf_storage_set_layout (); NULL: plain */
};

static const struct
{
  const char *name;
  gsize size;
} dtype_info[SF_DTYPE_N_TYPES] = {
  [SF_DTYPE_F32] = { "F32", 4 },
  [SF_DTYPE_F16] = { "F16", 2 },
  [SF_DTYPE_BF16] = { "BF16", 2 },
  [SF_DTYPE_F64] = { "F64", 8 },
  [SF_DTYPE_I64] = { "I64", 8 },
  [SF_DTYPE_I32] = { "I32", 4 },
  [SF_DTYPE_I16] = { "I16", 2 },
  [SF_DTYPE_I8] = { "I8", 1 },
  [SF_DTYPE_U8] = { "U8", 1 },
  [SF_DTYPE_BOOL] = { "BOOL", 1 },
};

gsize
sf_dtype_size (SfDtype dtype)
{
  g_return_val_if_fail (dtype < SF_DTYPE_N_TYPES, 0);
  return dtype_info[dtype].size;
}

const char *
sf_dtype_name (SfDtype dtype)
{
  g_return_val_if_fail (dtype < SF_DTYPE_N_TYPES, "?");
  return dtype_info[dtype].name;
}

gboolean
sf_dtype_from_name (const char *name, SfDtype *dtype)
{
  for (int i = 0; i < SF_DTYPE_N_TYPES; i++) {
    if (g_strcmp0 (name, dtype_info[i].name) == 0) {
      *dtype = (SfDtype)i;
      return TRUE;
    }
  }
  return FALSE;
}

/* ---- storage ---- */

/* Large heap blocks are recycled. A forward pass allocates the same
 * activation sizes every time, and glibc serves large blocks with fresh
 * mmaps, so without reuse every pass pays the page faults and the kernel's
 * zeroing again (a quarter of SegFormer's time at 512×512). Freed blocks of
 * at least SF_CACHE_MIN_BLOCK bytes are kept by size, up to
 * SF_CACHE_MAX_BYTES in all, and handed out again zero-filled. */
#define SF_CACHE_MIN_BLOCK ((gsize)64 * 1024)
#define SF_CACHE_MAX_BYTES ((gsize)256 * 1024 * 1024)

static GMutex cache_lock;
static GHashTable *cache; /* padded size → GSList of blocks, under cache_lock */
static gsize cache_bytes; /* total kept, under cache_lock */

static gpointer
block_take (gsize padded)
{
  gpointer block = NULL;
  GSList *list;

  if (padded < SF_CACHE_MIN_BLOCK)
    return NULL;
  g_mutex_lock (&cache_lock);
  if (cache
      && (list = g_hash_table_lookup (cache, GSIZE_TO_POINTER (padded)))) {
    block = list->data;
    list = g_slist_delete_link (list, list);
    if (list)
      g_hash_table_insert (cache, GSIZE_TO_POINTER (padded), list);
    else
      g_hash_table_remove (cache, GSIZE_TO_POINTER (padded));
    cache_bytes -= padded;
  }
  g_mutex_unlock (&cache_lock);
  return block;
}

/* TRUE when the cache took @block. */
static gboolean
block_keep (gpointer block, gsize padded)
{
  gboolean kept = FALSE;

  if (padded < SF_CACHE_MIN_BLOCK)
    return FALSE;
  g_mutex_lock (&cache_lock);
  if (cache_bytes + padded <= SF_CACHE_MAX_BYTES) {
    if (cache == NULL)
      cache = g_hash_table_new (g_direct_hash, g_direct_equal);
    g_hash_table_insert (cache, GSIZE_TO_POINTER (padded),
        g_slist_prepend (
            g_hash_table_lookup (cache, GSIZE_TO_POINTER (padded)), block));
    cache_bytes += padded;
    kept = TRUE;
  }
  g_mutex_unlock (&cache_lock);
  return kept;
}

/* Blocks of SF_HUGE_MIN_BLOCK bytes or more (packed weight matrices,
 * Whisper's cross-attention keys and values, the larger activations) start
 * on a 2 MiB boundary and ask for transparent huge pages before their
 * first touch. On 4 KiB pages a product that streams a packed weight pays
 * a TLB miss every few panels, and how badly depends on where the pages
 * fall: BERT-base f32 on one thread varied from 115 to 300 ms per pass
 * between processes, and ran at 113–122 ms with the advice. The advice is
 * only that: a kernel without huge pages, or one that ignores madvise,
 * leaves the block on small pages. */
#define SF_HUGE_MIN_BLOCK ((gsize)2 * 1024 * 1024)
#define SF_HUGE_PAGE ((gsize)2 * 1024 * 1024)

static gpointer
block_alloc (gsize padded, gboolean zero)
{
  gpointer block;

#ifdef MADV_HUGEPAGE
  if (padded >= SF_HUGE_MIN_BLOCK) {
    /* like every GLib allocation, this aborts only on memory exhaustion */
    block = g_aligned_alloc (1, padded, SF_HUGE_PAGE);
    (void)madvise (block, padded & ~(SF_HUGE_PAGE - 1), MADV_HUGEPAGE);
    if (zero)
      memset (block, 0, padded);
    return block;
  }
#endif
  if (zero)
    block = g_aligned_alloc0 (1, padded, SF_STORAGE_ALIGN);
  else
    block = g_aligned_alloc (1, padded, SF_STORAGE_ALIGN);
  return block;
}

static SfStorage *
storage_new (gsize size, gboolean zero)
{
  SfStorage *s = g_new0 (SfStorage, 1);
  gsize padded = (MAX (size, 1) + SF_STORAGE_ALIGN - 1) / SF_STORAGE_ALIGN
      * SF_STORAGE_ALIGN;

  s->refcount = 1;
  s->size = size;
  s->alloc_size = padded;
  s->data = block_take (padded);
  if (s->data == NULL)
    s->data = block_alloc (padded, zero);
  else if (zero)
    memset (s->data, 0, padded);
  return s;
}

SfStorage *
sf_storage_new (gsize size)
{
  return storage_new (size, TRUE);
}

SfStorage *
sf_storage_new_wrapped (
    gpointer data, gsize size, gpointer owner, GDestroyNotify notify)
{
  SfStorage *s = g_new0 (SfStorage, 1);

  s->refcount = 1;
  s->data = data;
  s->size = size;
  s->owner = owner;
  s->notify = notify;
  return s;
}

SfStorage *
sf_storage_ref (SfStorage *storage)
{
  g_return_val_if_fail (storage != NULL, NULL);
  g_atomic_int_inc (&storage->refcount);
  return storage;
}

void
sf_storage_unref (SfStorage *storage)
{
  if (storage == NULL || !g_atomic_int_dec_and_test (&storage->refcount))
    return;
  if (storage->notify)
    storage->notify (storage->owner);
  /* a packed weight (one with a layout) is long-lived and of a size no
   * activation shares: kept, it would only hold memory */
  else if (storage->layout != NULL
      || !block_keep (storage->data, storage->alloc_size))
    g_aligned_free (storage->data);
  g_free (storage);
}

gpointer
sf_storage_data (SfStorage *storage)
{
  return storage->data;
}

gsize
sf_storage_size (SfStorage *storage)
{
  return storage->size;
}

void
sf_storage_set_layout (SfStorage *storage, gconstpointer layout)
{
  storage->layout = layout;
}

gconstpointer
sf_storage_layout (SfStorage *storage)
{
  return storage->layout;
}

/* ---- tensors ---- */

static gint64
shape_numel (int ndim, const gint64 *shape)
{
  gint64 n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  return n;
}

SfTensor *
sf_tensor_new_view (SfStorage *storage, gsize offset, SfDtype dtype, int ndim,
    const gint64 *shape)
{
  SfTensor *t;

  g_return_val_if_fail (storage != NULL, NULL);
  g_return_val_if_fail (ndim >= 0 && ndim <= SF_TENSOR_MAX_DIMS, NULL);
  g_return_val_if_fail (
      offset + shape_numel (ndim, shape) * sf_dtype_size (dtype)
          <= storage->size,
      NULL);

  t = g_new0 (SfTensor, 1);
  t->refcount = 1;
  t->dtype = dtype;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    t->shape[i] = shape[i];
  t->storage = sf_storage_ref (storage);
  t->data = (guint8 *)storage->data + offset;
  return t;
}

static SfTensor *
tensor_new (SfDtype dtype, int ndim, const gint64 *shape, gboolean zero)
{
  g_autoptr (SfStorage) s = NULL;

  g_return_val_if_fail (ndim >= 0 && ndim <= SF_TENSOR_MAX_DIMS, NULL);
  for (int i = 0; i < ndim; i++)
    g_return_val_if_fail (shape[i] >= 0, NULL);
  s = storage_new (shape_numel (ndim, shape) * sf_dtype_size (dtype), zero);
  return sf_tensor_new_view (s, 0, dtype, ndim, shape);
}

SfTensor *
sf_tensor_new (SfDtype dtype, int ndim, const gint64 *shape)
{
  return tensor_new (dtype, ndim, shape, TRUE);
}

SfTensor *
sf_tensor_new_uninit (SfDtype dtype, int ndim, const gint64 *shape)
{
  return tensor_new (dtype, ndim, shape, FALSE);
}

SfTensor *
sf_tensor_new_f32 (int ndim, ...)
{
  gint64 shape[SF_TENSOR_MAX_DIMS];
  va_list ap;

  g_return_val_if_fail (ndim >= 0 && ndim <= SF_TENSOR_MAX_DIMS, NULL);
  va_start (ap, ndim);
  for (int i = 0; i < ndim; i++)
    shape[i] = va_arg (ap, gint64);
  va_end (ap);
  return sf_tensor_new (SF_DTYPE_F32, ndim, shape);
}

SfTensor *
sf_tensor_new_from_data (
    SfDtype dtype, int ndim, const gint64 *shape, gconstpointer data)
{
  SfTensor *t = sf_tensor_new (dtype, ndim, shape);
  if (t)
    memcpy (t->data, data, sf_tensor_nbytes (t));
  return t;
}

SfTensor *
sf_tensor_ref (SfTensor *tensor)
{
  g_return_val_if_fail (tensor != NULL, NULL);
  g_atomic_int_inc (&tensor->refcount);
  return tensor;
}

void
sf_tensor_unref (SfTensor *tensor)
{
  if (tensor == NULL || !g_atomic_int_dec_and_test (&tensor->refcount))
    return;
  sf_storage_unref (tensor->storage);
  g_free (tensor);
}

gint64
sf_tensor_numel (const SfTensor *tensor)
{
  return shape_numel (tensor->ndim, tensor->shape);
}

gsize
sf_tensor_nbytes (const SfTensor *tensor)
{
  return sf_tensor_numel (tensor) * sf_dtype_size (tensor->dtype);
}

gint64
sf_tensor_dim (const SfTensor *tensor, int dim)
{
  if (dim < 0)
    dim += tensor->ndim;
  g_return_val_if_fail (dim >= 0 && dim < tensor->ndim, 0);
  return tensor->shape[dim];
}

gboolean
sf_tensor_same_shape (const SfTensor *a, const SfTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

char *
sf_tensor_shape_string (const SfTensor *tensor)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < tensor->ndim; i++)
    g_string_append_printf (
        s, "%s%" G_GINT64_FORMAT, i ? ", " : "", tensor->shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

SfTensor *
sf_tensor_reshape (SfTensor *tensor, int ndim, const gint64 *shape)
{
  g_return_val_if_fail (
      shape_numel (ndim, shape) == sf_tensor_numel (tensor), NULL);
  return sf_tensor_new_view (tensor->storage,
      (guint8 *)tensor->data - (guint8 *)tensor->storage->data, tensor->dtype,
      ndim, shape);
}

SfTensor *
sf_tensor_slice0 (SfTensor *tensor, gint64 start, gint64 count)
{
  gint64 shape[SF_TENSOR_MAX_DIMS];
  gsize row_bytes;

  g_return_val_if_fail (tensor->ndim >= 1, NULL);
  g_return_val_if_fail (
      start >= 0 && count >= 0 && start + count <= tensor->shape[0], NULL);
  memcpy (shape, tensor->shape, sizeof (shape));
  shape[0] = count;
  row_bytes =
      tensor->shape[0] ? sf_tensor_nbytes (tensor) / tensor->shape[0] : 0;
  return sf_tensor_new_view (tensor->storage,
      (guint8 *)tensor->data - (guint8 *)tensor->storage->data
          + start * row_bytes,
      tensor->dtype, tensor->ndim, shape);
}

SfTensor *
sf_tensor_copy (const SfTensor *tensor)
{
  return sf_tensor_new_from_data (
      tensor->dtype, tensor->ndim, tensor->shape, tensor->data);
}

/* ---- half-precision conversion ---- */

float
sf_bf16_to_f32 (guint16 b)
{
  union
  {
    guint32 u;
    float f;
  } v = { .u = (guint32)b << 16 };
  return v.f;
}

guint16
sf_f32_to_bf16 (float f)
{
  union
  {
    float f;
    guint32 u;
  } v = { .f = f };
  if ((v.u & 0x7fffffff) > 0x7f800000) /* NaN stays NaN */
    return (v.u >> 16) | 0x40;
  /* round to nearest even */
  return (guint16)((v.u + 0x7fff + ((v.u >> 16) & 1)) >> 16);
}

float
sf_f16_to_f32 (guint16 h)
{
  guint32 sign = (guint32)(h & 0x8000) << 16;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  union
  {
    guint32 u;
    float f;
  } v;

  if (exp == 0) {
    /* zero or subnormal: mant · 2^-24 */
    float f = ldexpf ((float)mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    v.u = sign | 0x7f800000 | (mant << 13);
  else
    v.u = sign | ((exp + 112) << 23) | (mant << 13);
  return v.f;
}

guint16
sf_f32_to_f16 (float f)
{
  union
  {
    float f;
    guint32 u;
  } v = { .f = f };
  guint32 sign = (v.u >> 16) & 0x8000;
  guint32 a = v.u & 0x7fffffff;

  if (a >= 0x7f800000) /* inf or NaN */
    return sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0);
  if (a >= 0x477ff000) /* overflows half range */
    return sign | 0x7c00;
  if (a < 0x38800000) {                /* subnormal half (or zero) */
    float m = fabsf (f) * 16777216.0f; /* 2^24 */
    return sign | (guint16)nearbyintf (m);
  }
  /* normal: rebias exponent, round mantissa to nearest even */
  a += 0xc8000fff + ((a >> 13) & 1);
  return sign | (guint16)(a >> 13);
}

static double
element_as_double (const SfTensor *t, gint64 i)
{
  switch (t->dtype) {
    case SF_DTYPE_F32: return ((const float *)t->data)[i];
    case SF_DTYPE_F16: return sf_f16_to_f32 (((const guint16 *)t->data)[i]);
    case SF_DTYPE_BF16: return sf_bf16_to_f32 (((const guint16 *)t->data)[i]);
    case SF_DTYPE_F64: return ((const double *)t->data)[i];
    case SF_DTYPE_I64: return (double)((const gint64 *)t->data)[i];
    case SF_DTYPE_I32: return ((const gint32 *)t->data)[i];
    case SF_DTYPE_I16: return ((const gint16 *)t->data)[i];
    case SF_DTYPE_I8: return ((const gint8 *)t->data)[i];
    case SF_DTYPE_U8:
    case SF_DTYPE_BOOL: return ((const guint8 *)t->data)[i];
    default: return 0;
  }
}

SfTensor *
sf_tensor_to_f32 (SfTensor *tensor)
{
  SfTensor *out;
  float *dst;
  gint64 n = sf_tensor_numel (tensor);

  if (tensor->dtype == SF_DTYPE_F32)
    return sf_tensor_ref (tensor);
  out = sf_tensor_new (SF_DTYPE_F32, tensor->ndim, tensor->shape);
  dst = sf_tensor_f32 (out);
  if (tensor->dtype == SF_DTYPE_BF16) {
    const guint16 *src = tensor->data;
    for (gint64 i = 0; i < n; i++)
      dst[i] = sf_bf16_to_f32 (src[i]);
  } else if (tensor->dtype == SF_DTYPE_F16) {
    const guint16 *src = tensor->data;
    for (gint64 i = 0; i < n; i++)
      dst[i] = sf_f16_to_f32 (src[i]);
  } else {
    for (gint64 i = 0; i < n; i++)
      dst[i] = (float)element_as_double (tensor, i);
  }
  return out;
}

/* Exponent bits all set: Inf or NaN. */
#define F32_SPECIAL(bits) (((bits)&0x7f800000u) == 0x7f800000u)
#define F16_SPECIAL(bits) (((bits)&0x7c00u) == 0x7c00u)
#define BF16_SPECIAL(bits) (((bits)&0x7f80u) == 0x7f80u)

typedef struct
{
  const guint32 *bits;
  gssize count; /* atomic */
} CountJob;

static void
count_f32_range (gint64 start, gint64 end, gpointer data)
{
  CountJob *job = data;
  gssize count = 0;

  for (gint64 i = start; i < end; i++)
    count += F32_SPECIAL (job->bits[i]);
  if (count > 0)
    g_atomic_pointer_add (&job->count, count);
}

gint64
sf_tensor_count_nonfinite (const SfTensor *tensor, gint64 *first)
{
  gint64 n = sf_tensor_numel (tensor), count = 0, at = -1;

  g_return_val_if_fail (tensor != NULL, 0);
  /* branch-free counting keeps the common all-finite case at memory speed;
   * the first index is searched for only when there is one */
  switch (tensor->dtype) {
    case SF_DTYPE_F32: {
      const guint32 *p = tensor->data;
      /* a mapped checkpoint is read here for the first time: the page
       * faults dominate, and the threads take them in parallel */
      CountJob job = { p, 0 };
      sf_parallel_for (n, 1 << 18, count_f32_range, &job);
      count = job.count;
      for (gint64 i = 0; count > 0 && at < 0; i++)
        if (F32_SPECIAL (p[i]))
          at = i;
      break;
    }
    case SF_DTYPE_F16:
    case SF_DTYPE_BF16: {
      const guint16 *p = tensor->data;
      gboolean half = tensor->dtype == SF_DTYPE_F16;
      for (gint64 i = 0; i < n; i++)
        count += half ? F16_SPECIAL (p[i]) : BF16_SPECIAL (p[i]);
      for (gint64 i = 0; count > 0 && at < 0; i++)
        if (half ? F16_SPECIAL (p[i]) : BF16_SPECIAL (p[i]))
          at = i;
      break;
    }
    case SF_DTYPE_F64: {
      const double *p = tensor->data;
      for (gint64 i = 0; i < n; i++)
        if (!(fabs (p[i]) <= FLT_MAX) && (count++ == 0))
          at = i;
      break;
    }
    default: break;
  }
  if (first)
    *first = at;
  return count;
}

SfTensor *
sf_tensor_to_i64 (SfTensor *tensor)
{
  SfTensor *out;
  gint64 n = sf_tensor_numel (tensor);

  switch (tensor->dtype) {
    case SF_DTYPE_I64: return sf_tensor_ref (tensor);
    case SF_DTYPE_F32:
    case SF_DTYPE_F16:
    case SF_DTYPE_BF16:
    case SF_DTYPE_F64: return NULL;
    default: break;
  }
  out = sf_tensor_new (SF_DTYPE_I64, tensor->ndim, tensor->shape);
  for (gint64 i = 0; i < n; i++)
    sf_tensor_i64 (out)[i] = (gint64)element_as_double (tensor, i);
  return out;
}

void
sf_tensor_release_pages (const SfTensor *tensor)
{
#ifdef MADV_PAGEOUT
  gsize page = (gsize)sysconf (_SC_PAGESIZE);
  guintptr start, end;

  if (tensor == NULL || tensor->data == NULL || page == 0)
    return;
  start = ((guintptr)tensor->data + page - 1) / page * page;
  end = ((guintptr)tensor->data + sf_tensor_nbytes (tensor)) / page * page;
  if (end > start)
    (void)madvise ((void *)start, end - start, MADV_PAGEOUT);
#endif
}
