/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: semantic-segmentation post-processing.
 *
 * Mirrors SegformerImageProcessor.post_process_semantic_segmentation:
 * logits [B, L, h, w] are bilinearly upsampled (align_corners=False) to the
 * original image size and each pixel takes the label of its largest
 * logit (the first one on ties).
 */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* (transfer full) label map [B, height, width] I32 for @logits [B, L, h, w]. */
SfTensor *sf_segment_labels (const SfTensor *logits, int width, int height);

/* Fraction of pixels per class over a label map [.., H, W] (I32):
 * fractions[c] for c < n_classes; labels outside [0, n_classes) are not
 * counted. */
void sf_segment_class_fractions (
    const SfTensor *labels, guint n_classes, double *fractions);

G_END_DECLS
