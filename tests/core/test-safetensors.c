/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/safetensors: round trips, the fixtures, and every kind of
 * malformed file, each of which must give an error naming the file. */
#include "core/error.h"
#include "core/io/safetensors.h"

#include <stdlib.h>
#include <string.h>

static char *tmpdir;

/* Writes an 8-byte length, @header and @data_len bytes of data. */
static char *
write_raw (
    const char *name, const char *header, gsize data_len, guint64 claimed_len)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  GByteArray *bytes = g_byte_array_new ();
  guint64 len = GUINT64_TO_LE (claimed_len ? claimed_len : strlen (header));
  guint8 *zeros = g_malloc0 (data_len + 1);

  g_byte_array_append (bytes, (guint8 *)&len, 8);
  g_byte_array_append (bytes, (const guint8 *)header, strlen (header));
  g_byte_array_append (bytes, zeros, data_len);
  g_assert_true (
      g_file_set_contents (path, (char *)bytes->data, bytes->len, NULL));
  g_byte_array_unref (bytes);
  g_free (zeros);
  return path;
}

static void
expect_error (const char *name, const char *header, gsize data_len,
    guint64 claimed, int code, const char *fragment)
{
  g_autofree char *path = write_raw (name, header, data_len, claimed);
  g_autoptr (GError) error = NULL;
  SfSafetensors *st = sf_safetensors_open (path, &error);

  g_assert_null (st);
  g_assert_error (error, SF_ERROR, code);
  g_assert_nonnull (strstr (error->message, path));
  if (fragment && !strstr (error->message, fragment))
    g_error ("'%s' not in: %s", fragment, error->message);
}

static void
test_round_trip (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "rt.safetensors", NULL);
  g_autoptr (SfTensor) a = sf_tensor_new_f32 (2, (gint64)2, (gint64)3);
  g_autoptr (SfTensor) b = sf_tensor_new (SF_DTYPE_I64, 1, (gint64[]){ 5 });
  g_autoptr (SfTensor) c = sf_tensor_new (SF_DTYPE_BF16, 1, (gint64[]){ 3 });
  const char *names[] = { "a.weight", "b", "c" };
  SfTensor *tensors[] = { a, b, c };
  g_autoptr (GError) error = NULL;
  g_autoptr (SfSafetensors) st = NULL;
  g_autoptr (SfTensor) ra = NULL, rb = NULL, rc = NULL;

  for (int i = 0; i < 6; i++)
    sf_tensor_f32 (a)[i] = i * 0.5f;
  for (int i = 0; i < 5; i++)
    sf_tensor_i64 (b)[i] = -i;
  ((guint16 *)c->data)[1] = 0x3f80;

  g_assert_true (sf_safetensors_write (path, 3, names, tensors, &error));
  g_assert_no_error (error);
  st = sf_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sf_safetensors_n_tensors (st), ==, 3);
  g_assert_cmpstr (sf_safetensors_name (st, 0), ==, "a.weight");
  ra = sf_safetensors_get (st, "a.weight");
  rb = sf_safetensors_get (st, "b");
  rc = sf_safetensors_get (st, "c");
  g_assert_true (sf_tensor_same_shape (ra, a));
  g_assert_cmpmem (ra->data, 24, a->data, 24);
  g_assert_cmpint (rb->dtype, ==, SF_DTYPE_I64);
  g_assert_cmpint (sf_tensor_i64 (rb)[4], ==, -4);
  g_assert_cmpint (rc->dtype, ==, SF_DTYPE_BF16);
  g_assert_null (sf_safetensors_get (st, "missing"));
}

static void
test_fixture (void)
{
  g_autofree char *path = g_build_filename (
      g_getenv ("SF_FIXTURES_DIR"), "bert-tiny-cls", "model.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, &error);
  g_autoptr (SfTensor) emb = NULL;

  g_assert_no_error (error);
  emb = sf_safetensors_get (st, "bert.embeddings.word_embeddings.weight");
  g_assert_nonnull (emb);
  g_assert_cmpint (emb->ndim, ==, 2);
  g_assert_cmpint (emb->shape[0], ==, 1200);
  g_assert_cmpint (emb->shape[1], ==, 64);
}

static void
test_truncated_fixture (void)
{
  g_autofree char *src = g_build_filename (
      g_getenv ("SF_FIXTURES_DIR"), "bert-tiny-cls", "model.safetensors", NULL);
  g_autofree char *dst =
      g_build_filename (tmpdir, "truncated.safetensors", NULL);
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (src, &data, &len, NULL));
  g_assert_true (g_file_set_contents (dst, data, len / 2, NULL));
  g_assert_null (sf_safetensors_open (dst, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, dst));
  g_assert_nonnull (strstr (error->message, "past the end"));
}

static void
test_bad_files (void)
{
  expect_error ("nolen.st", "", 0, 0, SF_ERROR_PARSE, "JSON object");
  expect_error (
      "hugelen.st", "{}", 0, 1000, SF_ERROR_PARSE, "exceeds the file size");
  expect_error ("badjson.st", "{\"a\": {", 0, 0, SF_ERROR_PARSE, "JSON");
  expect_error ("notobj.st", "[1, 2]  ", 0, 0, SF_ERROR_PARSE, "JSON object");
  expect_error ("dtype.st",
      "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
      0, SF_ERROR_UNSUPPORTED, "F8_E4M3");
  expect_error ("span.st",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16,
      0, SF_ERROR_INVALID, "span");
  expect_error ("past.st",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, 0,
      SF_ERROR_INVALID, "past the end");
  expect_error ("overlap.st",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
      16, 0, SF_ERROR_INVALID, "overlap");
  /* an empty tensor sorted between two overlapping ones must not hide
   * the overlap */
  expect_error ("overlap-empty.st",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
      16, 0, SF_ERROR_INVALID, "overlap");
  expect_error ("shape.st",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, 0,
      SF_ERROR_PARSE, "shape");
  expect_error ("offsets.st",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, 0,
      SF_ERROR_INVALID, "data_offsets");
  expect_error ("nodtype.st", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
      4, 0, SF_ERROR_PARSE, "dtype");
  expect_error ("meta.st", "{\"__metadata__\":{\"format\":1}}", 0, 0,
      SF_ERROR_PARSE, "__metadata__");
  expect_error ("dup.st",
      "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
      "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
      2, 0, SF_ERROR_INVALID, "twice");
}

static void
test_short_file (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "short.st", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, "abc", 3, NULL));
  g_assert_null (sf_safetensors_open (path, &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "too short"));
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (
      sf_safetensors_open ("/nonexistent/model.safetensors", &error));
  g_assert_error (error, SF_ERROR, SF_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.safetensors"));
}

static void
test_unaligned (void)
{
  /* a header whose length is not a multiple of 4 leaves F32 data unaligned */
  g_autofree char *path = write_raw ("unaligned.st",
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, &error);
  g_autoptr (SfTensor) w = NULL;

  g_assert_no_error (error);
  w = sf_safetensors_get (st, "w");
  g_assert_cmpuint ((guintptr)w->data % 4, ==, 0);
  g_assert_cmpfloat (sf_tensor_f32 (w)[1], ==, 0.0f);
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("sf-test-XXXXXX", NULL);
  g_test_add_func ("/core/safetensors/round-trip", test_round_trip);
  g_test_add_func ("/core/safetensors/fixture", test_fixture);
  g_test_add_func ("/core/safetensors/truncated", test_truncated_fixture);
  g_test_add_func ("/core/safetensors/bad-files", test_bad_files);
  g_test_add_func ("/core/safetensors/short-file", test_short_file);
  g_test_add_func ("/core/safetensors/missing-file", test_missing_file);
  g_test_add_func ("/core/safetensors/unaligned", test_unaligned);
  rc = g_test_run ();
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      rc = 1;
  }
  g_free (tmpdir);
  return rc;
}
