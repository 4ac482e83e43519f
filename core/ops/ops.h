/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: tensor ops, one header per op file.
 *
 * Conventions shared by every op:
 * - The output comes first and is written, never allocated.
 * - Ops run on tensors the library built and validated (weights are
 *   checked against the config when a model loads), so a wrong shape or
 *   dtype is a programming error: a g_return_if_fail precondition, and the
 *   op returns void. The one op that reads external data (token ids,
 *   sf_op_embedding) returns FALSE with a GError instead.
 * - Products go through core/blas.h, and only from these files. Whoever
 *   runs them checks once that BLAS loads (sf_blas_init(); sf_model_load()
 *   does), so no op has a failure path for it.
 * - Graph code composes ops and never loops over elements. Unless a header
 *   says otherwise, the output may alias the input (in place).
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
#include "core/ops/linear-packed.h"
#include "core/ops/norm.h"
#include "core/ops/pool.h"
#include "core/ops/resize.h"
