/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: safetensors reader and writer.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {..}}, then the data section; offsets are relative to it.
 * The whole header is checked at open time, so later lookups cannot fail on
 * a malformed file. Tensors are views into the read-only mapping, except
 * when a span is not aligned to its element size: then that one tensor is
 * copied, since unaligned float access is undefined behaviour in C.
 */
#include "core/io/safetensors.h"
#include "core/io/config.h"
#include "core/error.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_HEADER_BYTES (100 * 1024 * 1024)

typedef struct
{
  char *name;
  SfDtype dtype;
  int ndim;
  gint64 shape[SF_TENSOR_MAX_DIMS];
  guint64 begin, end; /* relative to the data section */
} Entry;

struct SfSafetensors
{
  gint refcount;
  char *path;
  GMappedFile *mapped;
  SfStorage *storage;   /* the whole mapping */
  gsize data_start;     /* 8 + N */
  GArray *entries;      /* Entry, file order */
  GHashTable *by_name;  /* name → index + 1 */
  GHashTable *metadata; /* string → string */
};

static void
entry_clear (gpointer p)
{
  g_free (((Entry *)p)->name);
}

static int
compare_begin (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *)a, *y = *(Entry *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static gboolean fail (GError **error, SfError code, const char *path,
    const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, SfError code, const char *path, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SF_ERROR, code, "%s: %s", path, msg);
  return FALSE;
}

static gboolean
parse_entry (
    SfSafetensors *st, const cJSON *item, guint64 data_size, GError **error)
{
  const char *name = item->string;
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive (item, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive (item, "shape");
  const cJSON *offsets =
      cJSON_GetObjectItemCaseSensitive (item, "data_offsets");
  const cJSON *dim;
  Entry e = { 0 };
  guint64 numel = 1;

  if (!cJSON_IsObject (item))
    return fail (error, SF_ERROR_PARSE, st->path,
        "header entry '%s' is not an object", name);
  if (!cJSON_IsString (dtype))
    return fail (error, SF_ERROR_PARSE, st->path,
        "tensor '%s': field 'dtype' is missing or not a string", name);
  if (!sf_dtype_from_name (dtype->valuestring, &e.dtype))
    return fail (error, SF_ERROR_UNSUPPORTED, st->path,
        "tensor '%s': dtype '%s' is not supported (F32, F16, BF16, F64, "
        "I64, I32, I16, I8, U8, BOOL are)",
        name, dtype->valuestring);
  if (!cJSON_IsArray (shape))
    return fail (error, SF_ERROR_PARSE, st->path,
        "tensor '%s': field 'shape' is missing or not an array", name);
  if (cJSON_GetArraySize (shape) > SF_TENSOR_MAX_DIMS)
    return fail (error, SF_ERROR_UNSUPPORTED, st->path,
        "tensor '%s': %d dimensions, at most %d are supported", name,
        cJSON_GetArraySize (shape), SF_TENSOR_MAX_DIMS);
  cJSON_ArrayForEach (dim, shape) {
    double v = cJSON_IsNumber (dim) ? dim->valuedouble : -1;
    /* range first: casting a double past 2^64 is undefined */
    if (v < 0 || v > 1e15 || v != (double)(guint64)v)
      return fail (error, SF_ERROR_PARSE, st->path,
          "tensor '%s': field 'shape' holds an invalid dimension", name);
    e.shape[e.ndim++] = (gint64)v;
    if (v != 0 && numel > G_MAXUINT64 / (guint64)v)
      return fail (error, SF_ERROR_INVALID, st->path,
          "tensor '%s': shape overflows", name);
    numel *= (guint64)v;
  }
  if (!cJSON_IsArray (offsets) || cJSON_GetArraySize (offsets) != 2
      || !cJSON_IsNumber (cJSON_GetArrayItem (offsets, 0))
      || !cJSON_IsNumber (cJSON_GetArrayItem (offsets, 1)))
    return fail (error, SF_ERROR_PARSE, st->path,
        "tensor '%s': field 'data_offsets' must be [begin, end]", name);
  {
    double b = cJSON_GetArrayItem (offsets, 0)->valuedouble;
    double en = cJSON_GetArrayItem (offsets, 1)->valuedouble;
    if (b < 0 || en < b || en >= 0x1p64 || b != (double)(guint64)b
        || en != (double)(guint64)en)
      return fail (error, SF_ERROR_INVALID, st->path,
          "tensor '%s': data_offsets [%.0f, %.0f] are invalid", name, b, en);
    e.begin = (guint64)b;
    e.end = (guint64)en;
  }
  if (e.end > data_size)
    return fail (error, SF_ERROR_INVALID, st->path,
        "tensor '%s': data_offsets end %" G_GUINT64_FORMAT " points past "
        "the end of the data (%" G_GUINT64_FORMAT " bytes; file truncated?)",
        name, e.end, data_size);
  if (numel > G_MAXUINT64 / sf_dtype_size (e.dtype)
      || e.end - e.begin != numel * sf_dtype_size (e.dtype))
    return fail (error, SF_ERROR_INVALID, st->path,
        "tensor '%s': shape × %s size is %" G_GUINT64_FORMAT " bytes but "
        "data_offsets span %" G_GUINT64_FORMAT,
        name, sf_dtype_name (e.dtype), numel * sf_dtype_size (e.dtype),
        e.end - e.begin);
  if (g_hash_table_contains (st->by_name, name))
    return fail (error, SF_ERROR_INVALID, st->path,
        "tensor '%s' appears twice in the header", name);
  e.name = g_strdup (name);
  g_array_append_val (st->entries, e);
  g_hash_table_insert (
      st->by_name, e.name, GUINT_TO_POINTER (st->entries->len));
  return TRUE;
}

static gboolean
parse_metadata (SfSafetensors *st, const cJSON *item, GError **error)
{
  const cJSON *kv;

  if (!cJSON_IsObject (item))
    return fail (
        error, SF_ERROR_PARSE, st->path, "'__metadata__' is not an object");
  cJSON_ArrayForEach (kv, item) {
    if (!cJSON_IsString (kv))
      return fail (error, SF_ERROR_PARSE, st->path,
          "'__metadata__' field '%s' is not a string", kv->string);
    g_hash_table_insert (
        st->metadata, g_strdup (kv->string), g_strdup (kv->valuestring));
  }
  return TRUE;
}

/* Spans must not overlap (they may touch). Empty tensors occupy nothing
 * and are left out; every other span is compared with the furthest end
 * seen so far, not only with its neighbour, so neither an empty span in
 * between nor a long span covering several later ones hides an overlap. */
static gboolean
check_overlaps (SfSafetensors *st, GError **error)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();
  const Entry *reach = NULL; /* the span with the furthest end so far */

  for (guint i = 0; i < st->entries->len; i++) {
    Entry *e = &g_array_index (st->entries, Entry, i);

    if (e->end > e->begin)
      g_ptr_array_add (sorted, e);
  }
  g_ptr_array_sort (sorted, compare_begin);
  for (guint i = 0; i < sorted->len; i++) {
    const Entry *cur = sorted->pdata[i];

    if (reach != NULL && cur->begin < reach->end)
      return fail (error, SF_ERROR_INVALID, st->path,
          "tensors '%s' [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") and "
          "'%s' [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") overlap",
          reach->name, reach->begin, reach->end, cur->name, cur->begin,
          cur->end);
    if (reach == NULL || cur->end > reach->end)
      reach = cur;
  }
  return TRUE;
}

static gboolean
parse_header (SfSafetensors *st, GError **error)
{
  const guint8 *bytes = (const guint8 *)g_mapped_file_get_contents (st->mapped);
  gsize size = g_mapped_file_get_length (st->mapped);
  guint64 header_len = 0;
  g_autoptr (cJSON) header = NULL;
  const cJSON *item;

  if (size < 8)
    return fail (error, SF_ERROR_PARSE, st->path,
        "file is %" G_GSIZE_FORMAT " bytes, too short for a safetensors "
        "header (truncated?)",
        size);
  for (int i = 7; i >= 0; i--)
    header_len = (header_len << 8) | bytes[i];
  if (header_len > MAX_HEADER_BYTES || header_len > size - 8)
    return fail (error, SF_ERROR_PARSE, st->path,
        "header length %" G_GUINT64_FORMAT
        " exceeds the file size %" G_GSIZE_FORMAT
        " (truncated or not a safetensors file)",
        header_len, size);
  st->data_start = 8 + header_len;
  header = cJSON_ParseWithLength ((const char *)bytes + 8, header_len);
  if (header == NULL || !cJSON_IsObject (header))
    return fail (error, SF_ERROR_PARSE, st->path,
        "the header is not a valid JSON object");

  cJSON_ArrayForEach (item, header) {
    if (g_strcmp0 (item->string, "__metadata__") == 0) {
      if (!parse_metadata (st, item, error))
        return FALSE;
    } else if (!parse_entry (st, item, size - st->data_start, error)) {
      return FALSE;
    }
  }
  return check_overlaps (st, error);
}

SfSafetensors *
sf_safetensors_open (const char *path, GError **error)
{
  SfSafetensors *st;
  GError *local = NULL;
  GMappedFile *mapped;

  mapped = g_mapped_file_new (path, FALSE, &local);
  if (mapped == NULL) {
    g_set_error (error, SF_ERROR,
        g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
            ? SF_ERROR_MISSING
            : SF_ERROR_IO,
        "%s: %s", path, local->message);
    g_error_free (local);
    return NULL;
  }

  st = g_new0 (SfSafetensors, 1);
  st->refcount = 1;
  st->path = g_strdup (path);
  st->mapped = mapped;
  st->entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_array_set_clear_func (st->entries, entry_clear);
  st->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->storage = sf_storage_new_wrapped (g_mapped_file_get_contents (mapped),
      g_mapped_file_get_length (mapped), g_mapped_file_ref (mapped),
      (GDestroyNotify)g_mapped_file_unref);

  if (!parse_header (st, error)) {
    sf_safetensors_unref (st);
    return NULL;
  }
  return st;
}

SfSafetensors *
sf_safetensors_ref (SfSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);
  g_atomic_int_inc (&st->refcount);
  return st;
}

void
sf_safetensors_unref (SfSafetensors *st)
{
  if (st == NULL || !g_atomic_int_dec_and_test (&st->refcount))
    return;
  g_hash_table_unref (st->by_name);
  g_array_unref (st->entries);
  g_hash_table_unref (st->metadata);
  sf_storage_unref (st->storage);
  g_mapped_file_unref (st->mapped);
  g_free (st->path);
  g_free (st);
}

const char *
sf_safetensors_path (const SfSafetensors *st)
{
  return st->path;
}

guint
sf_safetensors_n_tensors (const SfSafetensors *st)
{
  return st->entries->len;
}

const char *
sf_safetensors_name (const SfSafetensors *st, guint index)
{
  g_return_val_if_fail (index < st->entries->len, NULL);
  return g_array_index (st->entries, Entry, index).name;
}

gboolean
sf_safetensors_contains (const SfSafetensors *st, const char *name)
{
  return g_hash_table_contains (st->by_name, name);
}

SfTensor *
sf_safetensors_get (SfSafetensors *st, const char *name)
{
  guint idx = GPOINTER_TO_UINT (g_hash_table_lookup (st->by_name, name));
  const Entry *e;
  gsize offset;

  if (idx == 0)
    return NULL;
  e = &g_array_index (st->entries, Entry, idx - 1);
  offset = st->data_start + e->begin;
  if (offset % sf_dtype_size (e->dtype) != 0)
    return sf_tensor_new_from_data (e->dtype, e->ndim, e->shape,
        (const guint8 *)sf_storage_data (st->storage) + offset);
  return sf_tensor_new_view (st->storage, offset, e->dtype, e->ndim, e->shape);
}

const char *
sf_safetensors_metadata (const SfSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}

gboolean
sf_safetensors_write (const char *path, guint n, const char *const *names,
    SfTensor *const *tensors, GError **error)
{
  g_autoptr (cJSON) header = cJSON_CreateObject ();
  char *json;
  g_autoptr (GString) padded = NULL;
  guint64 offset = 0, len;
  FILE *f;
  gboolean ok = TRUE;

  for (guint i = 0; i < n; i++) {
    cJSON *entry = cJSON_AddObjectToObject (header, names[i]);
    cJSON *shape = cJSON_AddArrayToObject (entry, "shape");
    cJSON *offs = cJSON_AddArrayToObject (entry, "data_offsets");
    gsize nbytes = sf_tensor_nbytes (tensors[i]);

    cJSON_AddStringToObject (entry, "dtype", sf_dtype_name (tensors[i]->dtype));
    for (int d = 0; d < tensors[i]->ndim; d++)
      cJSON_AddItemToArray (
          shape, cJSON_CreateNumber ((double)tensors[i]->shape[d]));
    cJSON_AddItemToArray (offs, cJSON_CreateNumber ((double)offset));
    cJSON_AddItemToArray (offs, cJSON_CreateNumber ((double)(offset + nbytes)));
    offset += nbytes;
  }
  json = cJSON_PrintUnformatted (header);
  padded = g_string_new (json);
  cJSON_free (json);
  while (padded->len % 8 != 0)
    g_string_append_c (padded, ' ');

  f = fopen (path, "wb");
  if (f == NULL)
    return fail (error, SF_ERROR_IO, path, "cannot open for writing: %s",
        g_strerror (errno));
  len = GUINT64_TO_LE ((guint64)padded->len);
  ok &= fwrite (&len, 8, 1, f) == 1;
  ok &= fwrite (padded->str, 1, padded->len, f) == padded->len;
  for (guint i = 0; i < n && ok; i++) {
    gsize nbytes = sf_tensor_nbytes (tensors[i]);
    ok &= fwrite (tensors[i]->data, 1, nbytes, f) == nbytes;
  }
  ok &= fclose (f) == 0;
  if (!ok)
    return fail (
        error, SF_ERROR_IO, path, "write failed: %s", g_strerror (errno));
  return TRUE;
}
