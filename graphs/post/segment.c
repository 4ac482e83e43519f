/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: semantic-segmentation post-processing. */
#include "graphs/post/segment.h"
#include "core/ops/resize.h"

#include <string.h>

SfTensor *
sf_segment_labels (const SfTensor *logits, int width, int height)
{
  SfTensor *labels;

  g_return_val_if_fail (logits != NULL && logits->ndim == 4, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);
  labels = sf_tensor_new (
      SF_DTYPE_I32, 3, (gint64[]){ logits->shape[0], height, width });
  sf_op_resize_bilinear_argmax (labels, logits);
  return labels;
}

void
sf_segment_class_fractions (
    const SfTensor *labels, guint n_classes, double *fractions)
{
  const gint32 *l = labels->data;
  gint64 n = sf_tensor_numel (labels);
  g_autofree gint64 *counts = g_new0 (gint64, n_classes);

  g_return_if_fail (labels->dtype == SF_DTYPE_I32);
  for (gint64 i = 0; i < n; i++)
    if (l[i] >= 0 && (guint)l[i] < n_classes)
      counts[l[i]]++;
  for (guint c = 0; c < n_classes; c++)
    fractions[c] = n > 0 ? (double)counts[c] / n : 0.0;
}
