/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the model-family tests (tests/common/test-graphs.h). */
#include "tests/common/test-graphs.h"
#include "tests/common/test-util.h"
#include "core/error.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

SfModel *
sf_test_load_model (const char *dir)
{
  g_autoptr (GError) error = NULL;
  SfModel *model = sf_model_load (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

SfModel *
sf_test_load_case (const char *case_name)
{
  g_autofree char *dir = sf_test_fixture (case_name);

  return sf_test_load_model (dir);
}

void
sf_test_assert_close (const char *what, const float *got, const float *want,
    gint64 n, double atol, double rtol)
{
  for (gint64 i = 0; i < n; i++)
    if (!(fabs (got[i] - want[i]) <= atol + rtol * fabs (want[i])))
      g_error ("%s, element %" G_GINT64_FORMAT ": %g, expected %g", what, i,
          got[i], want[i]);
}

void
sf_test_decoder_step (SfDecoder *dec, const SfTensor *ids, const SfTensor *full,
    const guint *rows, guint n_rows, gint64 pos, guint n_new, double atol,
    double rtol)
{
  gint64 t = ids->shape[1], v = full->shape[2];
  g_autofree gint64 *tokens = g_new (gint64, n_rows * n_new);
  g_autofree float *logits = g_new (float, n_rows *v);
  g_autoptr (GError) error = NULL;

  for (guint r = 0; r < n_rows; r++)
    memcpy (tokens + r * n_new, sf_tensor_i64 (ids) + rows[r] * t + pos,
        n_new * sizeof (gint64));
  g_assert_true (dec->step (dec->self, tokens, n_rows, n_new, logits, &error));
  g_assert_no_error (error);
  for (guint r = 0; r < n_rows; r++) {
    g_autofree char *what = g_strdup_printf ("row %u (sequence %u), position "
                                             "%" G_GINT64_FORMAT,
        r, rows[r], pos + n_new - 1);
    sf_test_assert_close (what, logits + r * v,
        sf_tensor_f32 (full) + (rows[r] * t + pos + n_new - 1) * v, v, atol,
        rtol);
  }
}

void
sf_test_assert_load_fails (const char *dir, const char *const *fragments)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = sf_model_load (dir, &error);

  g_assert_null (model);
  g_assert_nonnull (error);
  g_assert_true (error->domain == SF_ERROR);
  for (guint i = 0; fragments[i]; i++)
    if (strstr (error->message, fragments[i]) == NULL)
      g_error ("'%s' not in: %s", fragments[i], error->message);
}

void
sf_test_set_config (const char *dir, const char *key, const char *json)
{
  g_autofree char *path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *text = NULL, *out = NULL;
  cJSON *root;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  root = cJSON_Parse (text);
  g_assert_nonnull (root);
  cJSON_DeleteItemFromObjectCaseSensitive (root, key);
  if (json) {
    cJSON *value = cJSON_Parse (json);
    g_assert_nonnull (value);
    cJSON_AddItemToObject (root, key, value);
  }
  out = cJSON_Print (root);
  cJSON_Delete (root);
  sf_test_write_file (dir, "config.json", out);
}
