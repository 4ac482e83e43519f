/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the tensor type.
 *
 * An SfTensor is a dtype, a shape (row-major, outermost first) and a pointer
 * into a refcounted SfStorage. Storage is heap memory, a read-only mmap of a
 * safetensors file, or memory owned by someone else (a GstMemory) that is
 * released through a GDestroyNotify. Views share storage; nothing is copied
 * unless a dtype conversion is needed.
 *
 * Linear-layer convention (PyTorch nn.Linear and every HF checkpoint):
 *   a weight is stored [out, in] and the layer computes y = x · Wᵀ + b,
 *   i.e. cblas_sgemm (RowMajor, NoTrans, Trans). sf_op_linear() in
 *   core/ops/linear.h is the one place that implements it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SF_TENSOR_MAX_DIMS 8

typedef enum
{
  SF_DTYPE_F32,
  SF_DTYPE_F16,
  SF_DTYPE_BF16,
  SF_DTYPE_F64,
  SF_DTYPE_I64,
  SF_DTYPE_I32,
  SF_DTYPE_I16,
  SF_DTYPE_I8,
  SF_DTYPE_U8,
  SF_DTYPE_BOOL,
  SF_DTYPE_N_TYPES
} SfDtype;

gsize sf_dtype_size (SfDtype dtype);
/* Safetensors spelling: "F32", "BF16", "I64", … */
const char *sf_dtype_name (SfDtype dtype);
gboolean sf_dtype_from_name (const char *name, SfDtype *dtype);

typedef struct SfStorage SfStorage;

/* (transfer full) 64-byte aligned, zero-filled heap storage. */
SfStorage *sf_storage_new (gsize size);
/* (transfer full) wraps memory owned elsewhere; @notify (@owner) runs on the last unref. */
SfStorage *sf_storage_new_wrapped (
    gpointer data, gsize size, gpointer owner, GDestroyNotify notify);
SfStorage *sf_storage_ref (SfStorage *storage);
void sf_storage_unref (SfStorage *storage);
gpointer sf_storage_data (SfStorage *storage);
gsize sf_storage_size (SfStorage *storage);
/* A storage whose bytes are not a plain array of its tensors' dtype (a
 * weight packed into kernel panels) carries a marker of that layout: the
 * address of a static object of the module that wrote it. Data read from
 * a file never gets one, so a marker cannot be forged by external input.
 * NULL for plain storage. Such a storage's block goes back to the heap
 * when freed, not to the cache of activation blocks. */
void sf_storage_set_layout (SfStorage *storage, gconstpointer layout);
gconstpointer sf_storage_layout (SfStorage *storage);

typedef struct
{
  SfDtype dtype;
  int ndim;
  gint64 shape[SF_TENSOR_MAX_DIMS];
  gpointer data;      /* first element, inside storage */
  SfStorage *storage; /* owned reference */
  gint refcount;
} SfTensor;

/* (transfer full) a zero-filled heap tensor. */
SfTensor *sf_tensor_new (SfDtype dtype, int ndim, const gint64 *shape);
SfTensor *sf_tensor_new_f32 (int ndim, ...); /* dims as gint64 varargs */
/* (transfer full) a heap tensor whose contents are undefined, for the
 * output of an op that writes every element: a recycled activation block
 * is then not zero-filled first (a single-threaded pass over the block,
 * 1.5 ms per layer for AST's 15 MB feed-forward activations). */
SfTensor *sf_tensor_new_uninit (SfDtype dtype, int ndim, const gint64 *shape);
/* (transfer full) a view of @storage at byte @offset; takes its own ref on @storage. */
SfTensor *sf_tensor_new_view (SfStorage *storage, gsize offset, SfDtype dtype,
    int ndim, const gint64 *shape);
/* (transfer full) copies @data into a new heap tensor. */
SfTensor *sf_tensor_new_from_data (
    SfDtype dtype, int ndim, const gint64 *shape, gconstpointer data);
SfTensor *sf_tensor_ref (SfTensor *tensor);
void sf_tensor_unref (SfTensor *tensor); /* accepts NULL */

gint64 sf_tensor_numel (const SfTensor *tensor);
gsize sf_tensor_nbytes (const SfTensor *tensor);
/* Size of dimension @dim; negative counts from the end. */
gint64 sf_tensor_dim (const SfTensor *tensor, int dim);
gboolean sf_tensor_same_shape (const SfTensor *a, const SfTensor *b);
/* "[2, 17, 64]" — caller frees. */
char *sf_tensor_shape_string (const SfTensor *tensor);

static inline float *
sf_tensor_f32 (const SfTensor *tensor)
{
  return (float *)tensor->data;
}

static inline gint64 *
sf_tensor_i64 (const SfTensor *tensor)
{
  return (gint64 *)tensor->data;
}

/* (transfer full) a view with a new shape and the same element count. */
SfTensor *sf_tensor_reshape (SfTensor *tensor, int ndim, const gint64 *shape);
/* (transfer full) rows [start, start+count) of dimension 0, as a view. */
SfTensor *sf_tensor_slice0 (SfTensor *tensor, gint64 start, gint64 count);
/* (transfer full) a contiguous deep copy. */
SfTensor *sf_tensor_copy (const SfTensor *tensor);
/* (transfer full) the tensor as F32: a new ref when it already is, otherwise a
 * converted copy. Integer and float dtypes convert; BOOL and U8 too. */
SfTensor *sf_tensor_to_f32 (SfTensor *tensor);
/* The number of elements of a floating-point tensor that are NaN or
 * infinite as F32 (an F64 value beyond the float range counts too); 0
 * for other dtypes. *@first (nullable) gets the index of the first one,
 * or -1. One pass over the stored bits. */
gint64 sf_tensor_count_nonfinite (const SfTensor *tensor, gint64 *first);
/* Tells the kernel that @tensor's memory will not be read for a while, so
 * that it may reclaim the pages (whole pages inside the tensor only). The
 * contents never change: a later read brings them back from the mmapped
 * file, or from swap. A hint: nothing happens where it is not supported. */
void sf_tensor_release_pages (const SfTensor *tensor);
/* (transfer full) integers widened to I64 (a new ref when already I64);
 * NULL for floating dtypes. */
SfTensor *sf_tensor_to_i64 (SfTensor *tensor);

float sf_f16_to_f32 (guint16 h);
float sf_bf16_to_f32 (guint16 b);
guint16 sf_f32_to_f16 (float f);
guint16 sf_f32_to_bf16 (float f);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfTensor, sf_tensor_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfStorage, sf_storage_unref)

G_END_DECLS
