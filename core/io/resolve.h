/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: what a `model=` value names.
 *
 * Users type what they type for transformers: a folder, or a Hub id
 * (`org/name` or `name`, optionally `@revision`). sf_checkpoint_resolve()
 * turns either into a checkpoint folder, trying in order:
 *   1. the value as a folder path;
 *   2. the Hugging Face Hub cache, as huggingface_hub lays it out
 *      (`models--org--name/refs/<rev>` → `snapshots/<commit>/`), in every
 *      root of sf_hub_cache_roots(); a bare `name` tries `models--name`, then
 *      the one `models--<org>--name` entry there is;
 *   3. `models/<name>` under the working directory, where earlier versions
 *      of samples/fetch-model.sh put downloads.
 * `name@rev` reads `refs/<rev>`, or takes `snapshots/<rev>` when @rev is a
 * commit hash; without it the revision is `main`. Snapshot files are
 * symlinks into `blobs/`; every reader follows them.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* (transfer full) the folder @model names. When there is none, the error
 * (SF_ERROR_MISSING) lists every place looked in and how to fetch it; a
 * cache entry whose ref names a missing snapshot is SF_ERROR_INVALID and
 * names the ref file. */
char *sf_checkpoint_resolve (const char *model, GError **error);

/* (transfer full) the Hub cache roots, in the order they are searched:
 * $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * $HOME/.cache/huggingface/hub (each only when its variable is set, the
 * last always; duplicates dropped). The first is where huggingface_hub, and
 * samples/fetch-model.sh, write. */
GPtrArray *sf_hub_cache_roots (void);

/* (transfer full) the Hub id of a cache snapshot folder
 * (`…/models--org--name/snapshots/<commit>` → `org/name`), or NULL. */
char *sf_hub_snapshot_repo_id (const char *dir);

G_END_DECLS
