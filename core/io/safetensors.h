/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: safetensors files.
 *
 * The reader mmaps the file read-only and validates it completely before
 * handing out anything: the 8-byte header length, the JSON header, every
 * dtype name, shape × dtype size against each byte span, spans inside the
 * data section and not overlapping. Tensors are views into the mapping.
 */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

typedef struct SfSafetensors SfSafetensors;

/* (transfer full) */
SfSafetensors *sf_safetensors_open (const char *path, GError **error);
SfSafetensors *sf_safetensors_ref (SfSafetensors *st);
void sf_safetensors_unref (SfSafetensors *st); /* accepts NULL */

const char *sf_safetensors_path (const SfSafetensors *st);
guint sf_safetensors_n_tensors (const SfSafetensors *st);
/* Names in file order. */
const char *sf_safetensors_name (const SfSafetensors *st, guint index);
gboolean sf_safetensors_contains (const SfSafetensors *st, const char *name);
/* (transfer full) a zero-copy view in the file's own dtype, or NULL when absent. */
SfTensor *sf_safetensors_get (SfSafetensors *st, const char *name);
/* The `__metadata__` string map entry, or NULL. */
const char *sf_safetensors_metadata (const SfSafetensors *st, const char *key);

/* Writes @n tensors under @names to @path (for `verify --dump` and tests). */
gboolean sf_safetensors_write (const char *path, guint n,
    const char *const *names, SfTensor *const *tensors, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfSafetensors, sf_safetensors_unref)

G_END_DECLS
