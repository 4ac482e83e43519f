/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: embedding lookup (conventions in core/ops/ops.h).
 *
 * The one op that reads external data: token ids are checked, and a bad
 * one is reported as a GError. */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

/* out[T, H] = table[ids[t], :]. Fails (GError) when an id is out of range. */
gboolean sf_op_embedding (SfTensor *out, const SfTensor *table,
    const gint64 *ids, gint64 n_ids, GError **error);

G_END_DECLS
