/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: packed linear weights (header and dispatch). */
#include "core/ops/linear-packed.h"
#include "core/ops/linear-bf16.h"
#include "core/ops/linear-f32.h"
#include "core/ops/linear-int8.h"
#include "core/cpu.h"
#include "core/threads.h"

#include <string.h>

#define SF_PACKED_MAGIC 0x53465057u /* "SFPW" */
#define SF_PACKED_ALIGN 64

/* the storage layout marker of packed weights (core/tensor.h) */
static const char packed_layout;

static gsize
align_up (gsize v)
{
  return (v + SF_PACKED_ALIGN - 1) / SF_PACKED_ALIGN * SF_PACKED_ALIGN;
}

SfTensor *
sf_linear_packed_alloc (const gint64 *shape, SfPrecision precision, gint64 n,
    gint64 k, gint64 kp, gsize panel_bytes, gboolean per_channel,
    SfPackedWeight **header)
{
  gint64 n_panels = (n + SF_PACKED_NR - 1) / SF_PACKED_NR;
  gsize head = align_up (sizeof (SfPackedWeight));
  gsize panels = align_up ((gsize)n_panels * panel_bytes);
  gsize extra = per_channel
      ? align_up ((gsize)n * sizeof (float)) + align_up ((gsize)n * 4)
      : 0;
  SfStorage *storage = sf_storage_new (head + panels + extra);
  guint8 *base = sf_storage_data (storage);
  SfPackedWeight *h = (SfPackedWeight *)base;
  SfTensor *t;

  h->magic = SF_PACKED_MAGIC;
  h->precision = precision;
  h->n = n;
  h->k = k;
  h->kp = kp;
  h->n_panels = n_panels;
  h->panel_bytes = panel_bytes;
  h->panels = base + head;
  if (per_channel) {
    h->scale = (const float *)(base + head + panels);
    h->colsum = (const gint32 *)(base + head + panels
        + align_up ((gsize)n * sizeof (float)));
  }
  sf_storage_set_layout (storage, &packed_layout);
  t = sf_tensor_new_view (storage, 0,
      precision == SF_PRECISION_BF16       ? SF_DTYPE_BF16
          : precision == SF_PRECISION_INT8 ? SF_DTYPE_I8
                                           : SF_DTYPE_F32,
      2, shape);
  sf_storage_unref (storage);
  *header = h;
  return t;
}

SfTensor *
sf_linear_packed_concat (SfTensor *const *parts, int n_parts)
{
  const SfPackedWeight *first =
      n_parts > 0 ? sf_linear_packed (parts[0]) : NULL;
  SfPackedWeight *h;
  gint64 n = 0, col = 0, shape[2];
  gsize offset = 0;
  SfTensor *t;

  if (first == NULL)
    return NULL;
  for (int i = 0; i < n_parts; i++) {
    const SfPackedWeight *p = sf_linear_packed (parts[i]);
    if (p == NULL || p->precision != first->precision || p->k != first->k
        || p->panel_bytes != first->panel_bytes || parts[i]->shape[0] != p->n
        || (i + 1 < n_parts && p->n % SF_PACKED_NR != 0))
      return NULL;
    n += p->n;
  }
  shape[0] = n;
  shape[1] = first->k;
  t = sf_linear_packed_alloc (shape, first->precision, n, first->k, first->kp,
      first->panel_bytes, first->scale != NULL, &h);
  for (int i = 0; i < n_parts; i++) {
    const SfPackedWeight *p = sf_linear_packed (parts[i]);
    gsize bytes = (gsize)p->n_panels * p->panel_bytes;

    memcpy ((guint8 *)h->panels + offset, p->panels, bytes);
    if (p->scale != NULL) {
      memcpy ((float *)h->scale + col, p->scale, p->n * sizeof (float));
      memcpy ((gint32 *)h->colsum + col, p->colsum, p->n * sizeof (gint32));
    }
    offset += bytes;
    col += p->n;
  }
  return t;
}

const char *
sf_linear_f32_kernel (void)
{
  if (sf_cpu_kernel_features () & SF_CPU_AVX512)
    return "AVX-512 f32 panels (chosen by cpuid)";
  if (sf_cpu_features () & SF_CPU_AVX512)
    return "OpenBLAS sgemm (AVX-512 hidden by SF_CPU_DISABLE)";
  return "OpenBLAS sgemm (no AVX-512 on this CPU)";
}

const SfPackedWeight *
sf_linear_packed (const SfTensor *w)
{
  const SfPackedWeight *h;

  if (w == NULL || w->data == NULL || w->storage == NULL)
    return NULL;
  if (sf_storage_layout (w->storage) != &packed_layout
      || sf_storage_size (w->storage) < sizeof (SfPackedWeight)
      || w->data != sf_storage_data (w->storage))
    return NULL;
  h = w->data;
  return h->magic == SF_PACKED_MAGIC ? h : NULL;
}

SfPrecision
sf_linear_weight_precision (const SfTensor *w)
{
  const SfPackedWeight *h = sf_linear_packed (w);

  return h ? h->precision : SF_PRECISION_F32;
}

SfTensor *
sf_linear_pack (SfTensor *w, gboolean trans_w, SfPrecision precision)
{
  g_return_val_if_fail (w != NULL, NULL);
  if (w->dtype != SF_DTYPE_F32 || w->ndim != 2 || sf_linear_packed (w) != NULL)
    return sf_tensor_ref (w);
  if (precision == SF_PRECISION_F32)
    return (sf_cpu_kernel_features () & SF_CPU_AVX512)
        ? sf_linear_f32_pack (w, trans_w)
        : sf_tensor_ref (w);
  if (sf_precision_missing (precision) != NULL)
    return sf_tensor_ref (w);
  if (precision == SF_PRECISION_BF16)
    return sf_linear_bf16_pack (w, trans_w);
  if (precision == SF_PRECISION_INT8)
    return sf_linear_int8_pack (w, trans_w);
  return sf_tensor_ref (w);
}

void
sf_linear_packed_split (const SfPackedWeight *w, gint64 m, gint64 mr,
    gint64 max_rows, SfPackedSplit *split)
{
  gint64 threads = MAX (sf_threads_get (), 1), row_target, rows;

  split->chunks = MIN (w->n_panels, 2 * threads);
  split->panels_per_chunk = (w->n_panels + split->chunks - 1) / split->chunks;
  split->chunks =
      (w->n_panels + split->panels_per_chunk - 1) / split->panels_per_chunk;
  row_target = (2 * threads + split->chunks - 1) / split->chunks;
  rows = (m + row_target - 1) / row_target;
  rows = (rows + mr - 1) / mr * mr;
  split->rows_per_block = CLAMP (rows, mr, max_rows);
  split->m_blocks = (m + split->rows_per_block - 1) / split->rows_per_block;
  split->unit_work =
      split->rows_per_block * split->panels_per_chunk * SF_PACKED_NR * w->kp;
}
