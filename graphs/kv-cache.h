/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the self-attention key/value cache of a decoder.
 *
 * Every layer keeps the keys and the values of each live sequence ("row")
 * in one buffer [slots, capacity, width]: a row's cached positions are one
 * contiguous [1, n, width] view that attention reads in place. Rows map
 * to slots, so a reorder for beam search hands a surviving row's slot to
 * the first row that continues it and copies only for duplicates.
 * Positions grow by doubling up to the decoder's position limit, slots as
 * rows are asked for, up to the most live rows.
 *
 * A step: sf_kv_cache_begin() for its rows and new positions, then per
 * layer sf_kv_cache_append() and sf_kv_cache_attend() (or
 * sf_kv_cache_row() views), and sf_kv_cache_commit() once every layer has
 * run.
 */
#pragma once

#include <glib.h>

#include "core/tensor.h"

G_BEGIN_DECLS

typedef struct SfKvCache SfKvCache;

/* A cache of @n_layers layers of @width floats a position, for up to
 * @max_rows rows and @limit positions. @owner ("GPT-2 decoder") and
 * @limit_name ("n_positions") name them in errors. (transfer full) */
SfKvCache *sf_kv_cache_new (const char *owner, int n_layers, guint max_rows,
    gint64 width, gint64 limit, const char *limit_name);
void sf_kv_cache_free (SfKvCache *cache); /* accepts NULL */

gint64 sf_kv_cache_length (const SfKvCache *cache); /* positions cached */
guint sf_kv_cache_rows (const SfKvCache *cache);    /* live rows */

/* Starts a step of @t new positions for @rows rows: once positions are
 * cached, @rows must be the live row count. An error naming the limit
 * when the positions would pass it. */
gboolean sf_kv_cache_begin (
    SfKvCache *cache, guint rows, gint64 t, GError **error);
/* Writes the step's new keys @k and values @v of @layer (rows × t
 * positions of width floats, row-major, e.g. [rows, t, width]). */
void sf_kv_cache_append (
    SfKvCache *cache, int layer, const SfTensor *k, const SfTensor *v);
/* (transfer full) views [1, length + t, width] of row @r's keys and
 * values in @layer, the step's new positions included. */
void sf_kv_cache_row (const SfKvCache *cache, int layer, guint r,
    SfTensor **keys, SfTensor **values);
/* Causal attention of every row's new positions: @q and @ctx hold rows ×
 * t positions of width floats (row-major); each row attends over its
 * cached and new keys of @layer with @n_heads heads, the position @bias
 * [heads, t, length + t] (nullable) and @scale (sf_op_attention_biased). */
void sf_kv_cache_attend (const SfKvCache *cache, int layer, const SfTensor *q,
    SfTensor *ctx, int n_heads, const SfTensor *bias, float scale);
/* Ends the step: its positions are cached. */
void sf_kv_cache_commit (SfKvCache *cache);

/* Row i continues what row @src[i] was, for @n rows (rows may repeat or
 * vanish). Before anything is cached, row 0 may be repeated. */
gboolean sf_kv_cache_reorder (
    SfKvCache *cache, const guint *src, guint n, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfKvCache, sf_kv_cache_free)

G_END_DECLS
