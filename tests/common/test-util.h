/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the test programs: scratch copies of fixture cases. */
#pragma once

#include "core/io/safetensors.h"

G_BEGIN_DECLS

/* (transfer full) path of a fixture case folder. */
char *sf_test_fixture (const char *case_name);
/* (transfer full) tensor @name of the case's io.safetensors; fails the
 * test when it is missing. */
SfTensor *sf_test_fixture_tensor (const char *case_name, const char *name);
/* (transfer full) a fresh temp folder holding a copy of the case's files. */
char *sf_test_copy_fixture (const char *case_name);
/* Rewrites @dir/@file after editing: every tensor passes through @edit,
 * which returns the tensor to store (transfer full) or NULL to drop it. */
typedef SfTensor *(*SfTestTensorEdit) (
    const char *name, SfTensor *t, gpointer user_data);
void sf_test_rewrite_safetensors (const char *dir, const char *file,
    SfTestTensorEdit edit, gpointer user_data);
/* Replaces @dir/@file with @contents. */
void sf_test_write_file (
    const char *dir, const char *file, const char *contents);
/* Removes a temp folder made by sf_test_copy_fixture (recursively). */
void sf_test_remove_dir (const char *dir);
/* (transfer full) gint64 token ids as "1 2 3", for comparing runs. */
char *sf_test_ids_string (const GArray *ids);

G_END_DECLS
