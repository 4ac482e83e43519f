/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared plumbing of the libFuzzer harnesses: the files a checkpoint
 * folder holds are what a download brings in, so each harness writes the
 * fuzzed bytes to a private scratch folder and loads them through the
 * same path-based entry points the elements use. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Once per process: drops log chatter, turns criticals (a precondition
 * that external input broke) into aborts, makes the scratch folder. */
void sf_fuzz_init (void);
/* The per-process scratch folder, removed at exit. */
const char *sf_fuzz_tmpdir (void);
/* (transfer full) @file inside tests/fixtures/@fixture. */
char *sf_fuzz_fixture (const char *fixture, const char *file);
/* (transfer full) writes @size bytes to @dir/@name, returns the path. */
char *sf_fuzz_write (
    const char *dir, const char *name, const void *data, size_t size);
/* (transfer full) the input cut at its first @max - 1 NUL bytes: an array
 * of NUL-terminated copies (the last part keeps the rest). */
GPtrArray *sf_fuzz_split (const uint8_t *data, size_t size, guint max);

G_END_DECLS
