/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* safetensors: the 8-byte length, the JSON header and every tensor view.
 * The input is the whole file; every tensor it declares is fetched and
 * each of its bytes read, so a span the header check let through that
 * points outside the mapping shows up as an ASan report. */
#include "core/io/safetensors.h"
#include "tests/fuzz/fuzz-util.h"

/* keeps the byte reads from being optimised away */
volatile guint8 sf_fuzz_sink;

static void
touch (SfSafetensors *st, guint index)
{
  const char *name = sf_safetensors_name (st, index);
  g_autoptr (SfTensor) t = NULL;
  guint8 sum = 0;
  const guint8 *bytes;
  gsize nbytes;

  if (name == NULL || !sf_safetensors_contains (st, name))
    abort ();
  t = sf_safetensors_get (st, name);
  if (t == NULL)
    abort ();
  bytes = t->data;
  nbytes = sf_tensor_nbytes (t);
  for (gsize i = 0; i < nbytes; i++)
    sum += bytes[i];
  /* the dtype conversions every loader runs on weights */
  if (sf_tensor_numel (t) <= 4096) {
    g_autoptr (SfTensor) f = sf_tensor_to_f32 (t);
    g_autoptr (SfTensor) i = sf_tensor_to_i64 (t);
    g_autofree char *shape = sf_tensor_shape_string (t);

    gboolean is_float = t->dtype == SF_DTYPE_F32 || t->dtype == SF_DTYPE_F16
        || t->dtype == SF_DTYPE_BF16 || t->dtype == SF_DTYPE_F64;

    if (f == NULL || shape == NULL || (i == NULL) != is_float)
      abort ();
  }
  sf_fuzz_sink = sum;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autoptr (SfSafetensors) st = NULL;
  g_autoptr (GError) error = NULL;

  path = sf_fuzz_write (sf_fuzz_tmpdir (), "model.safetensors", data, size);
  st = sf_safetensors_open (path, &error);
  if (st == NULL) {
    if (error == NULL)
      abort ();
    return 0;
  }
  for (guint i = 0; i < sf_safetensors_n_tensors (st); i++)
    touch (st, i);
  sf_safetensors_metadata (st, "format");
  sf_safetensors_contains (st, "__metadata__");
  return 0;
}
