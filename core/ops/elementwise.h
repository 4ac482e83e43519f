/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: element-wise arithmetic (conventions in
 * core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* out = a + b, same shapes; or b broadcast over rows when b is 1-D of the last dim. */
void sf_op_add (SfTensor *out, const SfTensor *a, const SfTensor *b);
/* out = a · b element-wise, same shapes (gated feed-forwards). */
void sf_op_mul (SfTensor *out, const SfTensor *a, const SfTensor *b);
/* out = x · factor. */
void sf_op_scale (SfTensor *out, const SfTensor *x, float factor);

G_END_DECLS
