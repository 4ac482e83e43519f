/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/config: typed getters and errors that name file and field. */
#include "core/io/config.h"
#include "core/error.h"

#include <glib/gstdio.h>
#include <string.h>

static const char *json =
    "{\"hidden_size\": 64, \"layer_norm_eps\": 1e-12, \"hidden_act\": \"gelu\","
    " \"flag\": true, \"nothing\": null, \"frac\": 2.5, \"neg\": -3}";

static void
test_getters (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfConfig) c =
      sf_config_new_from_string (json, "config.json", &error);
  gint64 i;
  double d;
  const char *s;
  gboolean b;

  g_assert_no_error (error);
  g_assert_true (sf_config_int (c, "hidden_size", &i, &error));
  g_assert_cmpint (i, ==, 64);
  g_assert_true (sf_config_double (c, "layer_norm_eps", &d, &error));
  g_assert_cmpfloat (d, ==, 1e-12);
  g_assert_true (sf_config_string (c, "hidden_act", &s, &error));
  g_assert_cmpstr (s, ==, "gelu");
  g_assert_true (sf_config_bool_or (c, "flag", FALSE, &b, &error));
  g_assert_true (b);
  /* absent and null both take the default */
  g_assert_true (sf_config_int_or (c, "nothing", 7, &i, &error));
  g_assert_cmpint (i, ==, 7);
  g_assert_true (sf_config_string_or (c, "absent", "x", &s, &error));
  g_assert_cmpstr (s, ==, "x");
  g_assert_no_error (error);
}

static void
test_errors (void)
{
  g_autoptr (SfConfig) c =
      sf_config_new_from_string (json, "cfg/config.json", NULL);
  GError *error = NULL;
  gint64 i;
  const char *s;

  g_assert_false (sf_config_int (c, "missing_field", &i, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "cfg/config.json"));
  g_assert_nonnull (strstr (error->message, "missing_field"));
  g_clear_error (&error);

  g_assert_false (sf_config_int (c, "frac", &i, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "frac"));
  g_clear_error (&error);

  g_assert_false (sf_config_string (c, "hidden_size", &s, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_false (sf_config_int_min (c, "neg", 1, &i, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "at least 1"));
  g_clear_error (&error);
}

static void
test_invalid_json (void)
{
  GError *error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sf-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);

  g_assert_null (
      sf_config_new_from_string ("{\"a\": 1,\n \"b\": }", "x.json", &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "x.json"));
  g_assert_nonnull (strstr (error->message, "line 2"));
  g_clear_error (&error);

  g_assert_null (sf_config_new_from_string ("[1]", "y.json", &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_PARSE);
  g_clear_error (&error);

  /* binary garbage with a NUL byte */
  g_assert_true (g_file_set_contents (path, "{\"a\"\0: 1}", 9, NULL));
  g_assert_null (sf_config_load (path, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);
  g_unlink (path);
  g_rmdir (dir);

  g_assert_null (sf_config_load ("/nonexistent/config.json", &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/config/getters", test_getters);
  g_test_add_func ("/core/config/errors", test_errors);
  g_test_add_func ("/core/config/invalid-json", test_invalid_json);
  return g_test_run ();
}
