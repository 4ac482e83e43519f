/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tests/fuzz/fuzz-util.h"
#include "core/threads.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *tmpdir;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
    gpointer user_data)
{
  /* Expected failures travel as GErrors; a critical or error means a
   * g_return_if_fail() tripped on data that came from a file. */
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
    for (gsize i = 0; i < n_fields; i++)
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        fprintf (
            stderr, "fatal log message: %s\n", (const char *)fields[i].value);
    abort ();
  }
  return G_LOG_WRITER_HANDLED;
}

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir) {
    while ((name = g_dir_read_name (dir))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR)
          && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
    g_dir_close (dir);
  }
  g_rmdir (path);
}

static void
cleanup (void)
{
  if (tmpdir)
    remove_tree (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
}

void
sf_fuzz_init (void)
{
  static gsize done;

  if (!g_once_init_enter (&done))
    return;
  g_log_set_writer_func (log_writer, NULL, NULL);
  /* one thread: reproducible runs, and fuzzers run side by side */
  sf_threads_set (1);
  tmpdir = g_dir_make_tmp ("sf-fuzz-XXXXXX", NULL);
  if (tmpdir == NULL)
    abort ();
  atexit (cleanup);
  g_once_init_leave (&done, 1);
}

const char *
sf_fuzz_tmpdir (void)
{
  sf_fuzz_init ();
  return tmpdir;
}

char *
sf_fuzz_fixture (const char *fixture, const char *file)
{
  const char *root = g_getenv ("SF_FIXTURES_DIR");

  return g_build_filename (
      root ? root : SF_FUZZ_FIXTURES_DIR, fixture, file, NULL);
}

char *
sf_fuzz_write (const char *dir, const char *name, const void *data, size_t size)
{
  char *path = g_build_filename (dir, name, NULL);
  /* plain stdio: g_file_set_contents() syncs to disk on every call */
  FILE *f = fopen (path, "wb");

  if (f == NULL || fwrite (data, 1, size, f) != size || fclose (f) != 0)
    abort ();
  return path;
}

GPtrArray *
sf_fuzz_split (const uint8_t *data, size_t size, guint max)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func (g_free);
  size_t start = 0;

  for (size_t i = 0; i <= size; i++) {
    if (i == size || (data[i] == 0 && parts->len + 1 < max)) {
      g_ptr_array_add (
          parts, g_strndup ((const char *)data + start, i - start));
      start = i + 1;
    }
  }
  return parts;
}
