/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the test programs. */
#include "tests/common/test-util.h"

#include <glib/gstdio.h>

char *
sf_test_fixture (const char *case_name)
{
  const char *root = g_getenv ("SF_FIXTURES_DIR");
  g_assert_nonnull (root);
  return g_build_filename (root, case_name, NULL);
}

SfTensor *
sf_test_fixture_tensor (const char *case_name, const char *name)
{
  g_autofree char *dir = sf_test_fixture (case_name);
  g_autofree char *path = g_build_filename (dir, "io.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  SfSafetensors *io = sf_safetensors_open (path, &error);
  SfTensor *t;

  g_assert_no_error (error);
  t = sf_safetensors_get (io, name);
  g_assert_nonnull (t);
  sf_safetensors_unref (io);
  return t;
}

char *
sf_test_copy_fixture (const char *case_name)
{
  g_autofree char *src = sf_test_fixture (case_name);
  char *dst = g_dir_make_tmp ("sf-test-XXXXXX", NULL);
  g_autoptr (GDir) dir = g_dir_open (src, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir))) {
    g_autofree char *from = g_build_filename (src, name, NULL);
    g_autofree char *to = g_build_filename (dst, name, NULL);
    g_autofree char *data = NULL;
    gsize len;
    if (!g_file_test (from, G_FILE_TEST_IS_REGULAR))
      continue;
    g_assert_true (g_file_get_contents (from, &data, &len, NULL));
    g_assert_true (g_file_set_contents (to, data, len, NULL));
  }
  return dst;
}

void
sf_test_rewrite_safetensors (const char *dir, const char *file,
    SfTestTensorEdit edit, gpointer user_data)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autofree char *tmp = g_strconcat (path, ".new", NULL);
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GPtrArray) tensors =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);

  g_assert_nonnull (st);
  for (guint i = 0; i < sf_safetensors_n_tensors (st); i++) {
    const char *name = sf_safetensors_name (st, i);
    SfTensor *t = sf_safetensors_get (st, name);
    SfTensor *out = edit (name, t, user_data);
    sf_tensor_unref (t);
    if (out) {
      g_ptr_array_add (names, (gpointer)name);
      g_ptr_array_add (tensors, out);
    }
  }
  g_assert_true (
      sf_safetensors_write (tmp, names->len, (const char *const *)names->pdata,
          (SfTensor *const *)tensors->pdata, NULL));
  g_assert_cmpint (g_rename (tmp, path), ==, 0);
}

void
sf_test_write_file (const char *dir, const char *file, const char *contents)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
}

void
sf_test_remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d))) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      sf_test_remove_dir (path);
    else
      g_unlink (path);
  }
  g_rmdir (dir);
}

char *
sf_test_ids_string (const GArray *ids)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf (
        s, "%s%" G_GINT64_FORMAT, i ? " " : "", g_array_index (ids, gint64, i));
  return g_string_free (s, FALSE);
}
