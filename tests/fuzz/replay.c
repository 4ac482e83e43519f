/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a harness on files and folders of inputs without libFuzzer, so the
 * normal (gcc, optionally sanitized) test suite replays the seed corpus
 * and every input that once crashed. */
#include "tests/fuzz/fuzz-util.h"

#include <stdio.h>
#include <stdlib.h>

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *)a, *(char *const *)b);
}

static guint
replay_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize size;

  if (!g_file_get_contents (path, &data, &size, &error)) {
    fprintf (stderr, "%s\n", error->message);
    exit (1);
  }
  LLVMFuzzerTestOneInput ((const uint8_t *)data, size);
  return 1;
}

static guint
replay (const char *path)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GDir *dir;
  const char *name;
  guint n = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return 0; /* a harness without regression inputs yet */
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return replay_file (path);
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return 0;
  while ((name = g_dir_read_name (dir)))
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_paths);
  for (guint i = 0; i < names->len; i++)
    n += replay (names->pdata[i]);
  return n;
}

int
main (int argc, char **argv)
{
  guint n = 0;

  for (int i = 1; i < argc; i++)
    n += replay (argv[i]);
  printf ("replayed %u inputs\n", n);
  return 0;
}
