/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: tensor ops, one header per op file.
 *
 * Conventions shared by every op:
 * - The output comes first and is written, never allocated.
 * - Shapes are checked with g_return_val_if_fail: by the time graph code
 *   calls an op, the weights have been validated against the config at
 *   load time, so a mismatch is a programming error, not bad input. Ops
 *   that consume external data (token ids) return FALSE with a GError.
 * - BLAS is called from core/ only (through core/blas.h). Graph code
 *   composes ops and never loops over elements. Unless a header says
 *   otherwise, the output may alias the input (in place).
 *
 * This header includes them all.
 */
#pragma once

#include "core/ops/activation.h"
#include "core/ops/attention.h"
#include "core/ops/channel-norm.h"
#include "core/ops/conv.h"
#include "core/ops/elementwise.h"
#include "core/ops/embedding.h"
#include "core/ops/layout.h"
#include "core/ops/linear.h"
#include "core/ops/norm.h"
#include "core/ops/pool.h"
#include "core/ops/resize.h"
