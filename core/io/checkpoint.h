/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: a Hugging Face checkpoint folder.
 *
 * Opens config.json and the weights, either model.safetensors or the shards
 * listed in model.safetensors.index.json, and looks tensors up by their HF
 * name across shards. Tokenizer and processor files are left to their own
 * loaders; sf_checkpoint_file() builds their paths.
 */
#pragma once

#include "core/io/config.h"
#include "core/io/safetensors.h"

G_BEGIN_DECLS

typedef struct SfCheckpoint SfCheckpoint;

/* (transfer full) @model is a folder or a Hub id (resolved by
 * sf_checkpoint_resolve()); the folder must hold config.json and the
 * weights. */
SfCheckpoint *sf_checkpoint_open (const char *model, GError **error);
void sf_checkpoint_free (SfCheckpoint *ckpt); /* accepts NULL */

/* The canonical absolute path of the folder (the model-cache key). */
const char *sf_checkpoint_dir (const SfCheckpoint *ckpt);
const SfConfig *sf_checkpoint_config (const SfCheckpoint *ckpt);
/* (transfer full) path of @name inside the folder; NULL when it does not exist. */
char *sf_checkpoint_file (const SfCheckpoint *ckpt, const char *name);

/* (transfer full) a zero-copy view in the stored dtype, or NULL when absent. */
SfTensor *sf_checkpoint_tensor (SfCheckpoint *ckpt, const char *name);
/* The file holding @name (for error messages), or NULL. */
const char *sf_checkpoint_tensor_file (SfCheckpoint *ckpt, const char *name);
/* All tensor names across shards. (transfer container) */
GPtrArray *sf_checkpoint_tensor_names (SfCheckpoint *ckpt);
/* Count of stored elements per dtype, for `inspect`. */
void sf_checkpoint_dtype_counts (
    SfCheckpoint *ckpt, gint64 counts[SF_DTYPE_N_TYPES]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfCheckpoint, sf_checkpoint_free)

G_END_DECLS
