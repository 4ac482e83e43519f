/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: other/tensors caps: tensor infos to and from caps,
 * and stacking one tensors buffer onto another. The metas are in
 * gstsfmetas.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftensors.h"

static const struct
{
  const gchar *name;
  gsize size;
} tensor_types[] = {
  [GST_SF_TENSOR_TYPE_INT32] = { "int32", 4 },
  [GST_SF_TENSOR_TYPE_UINT32] = { "uint32", 4 },
  [GST_SF_TENSOR_TYPE_INT16] = { "int16", 2 },
  [GST_SF_TENSOR_TYPE_UINT16] = { "uint16", 2 },
  [GST_SF_TENSOR_TYPE_INT8] = { "int8", 1 },
  [GST_SF_TENSOR_TYPE_UINT8] = { "uint8", 1 },
  [GST_SF_TENSOR_TYPE_FLOAT64] = { "float64", 8 },
  [GST_SF_TENSOR_TYPE_FLOAT32] = { "float32", 4 },
  [GST_SF_TENSOR_TYPE_INT64] = { "int64", 8 },
  [GST_SF_TENSOR_TYPE_UINT64] = { "uint64", 8 },
  [GST_SF_TENSOR_TYPE_FLOAT16] = { "float16", 2 },
};

const gchar *
gst_sf_tensor_type_name (GstSfTensorType type)
{
  if (type >= GST_SF_TENSOR_TYPE_UNKNOWN)
    return "unknown";
  return tensor_types[type].name;
}

GstSfTensorType
gst_sf_tensor_type_from_name (const gchar *name)
{
  guint i;

  if (name == NULL)
    return GST_SF_TENSOR_TYPE_UNKNOWN;
  for (i = 0; i < GST_SF_TENSOR_TYPE_UNKNOWN; i++) {
    if (g_ascii_strcasecmp (name, tensor_types[i].name) == 0)
      return (GstSfTensorType)i;
  }
  return GST_SF_TENSOR_TYPE_UNKNOWN;
}

gsize
gst_sf_tensor_type_size (GstSfTensorType type)
{
  if (type >= GST_SF_TENSOR_TYPE_UNKNOWN)
    return 0;
  return tensor_types[type].size;
}

gboolean
gst_sf_tensor_info_set_shape (GstSfTensorInfo *info, GstSfTensorType type,
    guint ndim, const gint64 *shape)
{
  guint i;

  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (shape != NULL || ndim == 0, FALSE);

  if (ndim == 0 || ndim > GST_SF_TENSOR_MAX_DIMS)
    return FALSE;
  memset (info, 0, sizeof (*info));
  info->type = type;
  info->ndim = ndim;
  for (i = 0; i < ndim; i++) {
    if (shape[ndim - 1 - i] < 0)
      return FALSE;
    info->dims[i] = (guint64)shape[ndim - 1 - i];
  }
  return TRUE;
}

guint64
gst_sf_tensor_info_numel (const GstSfTensorInfo *info)
{
  guint64 n = 1;
  guint i;

  g_return_val_if_fail (info != NULL, 0);

  if (info->ndim == 0)
    return 0;
  for (i = 0; i < info->ndim; i++)
    n *= info->dims[i];
  return n;
}

gsize
gst_sf_tensor_info_nbytes (const GstSfTensorInfo *info)
{
  return gst_sf_tensor_info_numel (info) * gst_sf_tensor_type_size (info->type);
}

gchar *
gst_sf_tensor_info_dims_string (const GstSfTensorInfo *info)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < info->ndim; i++)
    g_string_append_printf (
        s, "%s%" G_GUINT64_FORMAT, i ? ":" : "", info->dims[i]);
  return g_string_free (s, FALSE);
}

void
gst_sf_tensors_info_init (GstSfTensorsInfo *info)
{
  g_return_if_fail (info != NULL);

  memset (info, 0, sizeof (*info));
  info->rate_n = 0;
  info->rate_d = 1;
}

gboolean
gst_sf_tensors_info_is_equal (
    const GstSfTensorsInfo *a, const GstSfTensorsInfo *b)
{
  guint i, d;

  if (a->num_tensors != b->num_tensors)
    return FALSE;
  if ((gint64)a->rate_n * b->rate_d != (gint64)b->rate_n * a->rate_d)
    return FALSE;
  for (i = 0; i < a->num_tensors; i++) {
    const GstSfTensorInfo *ta = &a->tensors[i], *tb = &b->tensors[i];

    if (ta->type != tb->type || ta->ndim != tb->ndim)
      return FALSE;
    for (d = 0; d < ta->ndim; d++) {
      if (ta->dims[d] != tb->dims[d])
        return FALSE;
    }
  }
  return TRUE;
}

GstCaps *
gst_sf_tensors_info_to_caps (const GstSfTensorsInfo *info)
{
  GString *types, *dims;
  GstCaps *caps;
  guint i;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (
      info->num_tensors > 0 && info->num_tensors <= GST_SF_TENSORS_MAX, NULL);

  types = g_string_new (NULL);
  dims = g_string_new (NULL);
  for (i = 0; i < info->num_tensors; i++) {
    gchar *d = gst_sf_tensor_info_dims_string (&info->tensors[i]);

    g_string_append_printf (types, "%s%s", i ? "," : "",
        gst_sf_tensor_type_name (info->tensors[i].type));
    g_string_append_printf (dims, "%s%s", i ? "," : "", d);
    g_free (d);
  }

  caps = gst_caps_new_simple (GST_SF_TENSORS_MIME, "format", G_TYPE_STRING,
      "static", "num_tensors", G_TYPE_INT, (gint)info->num_tensors, "types",
      G_TYPE_STRING, types->str, "dimensions", G_TYPE_STRING, dims->str,
      "framerate", GST_TYPE_FRACTION, info->rate_n,
      info->rate_d > 0 ? info->rate_d : 1, NULL);

  g_string_free (types, TRUE);
  g_string_free (dims, TRUE);
  return caps;
}

/* "64:17:1" → dims innermost first. */
static gboolean
parse_dims (GstSfTensorInfo *info, const gchar *str)
{
  gchar **parts = g_strsplit (str, ":", -1);
  guint n = g_strv_length (parts), i;
  gboolean ok = n > 0 && n <= GST_SF_TENSOR_MAX_DIMS;

  for (i = 0; ok && i < n; i++) {
    const gchar *p = g_strstrip (parts[i]);
    guint64 v;

    if (!g_ascii_string_to_unsigned (p, 10, 0, G_MAXINT64, &v, NULL))
      ok = FALSE;
    else
      info->dims[i] = v;
  }
  if (ok)
    info->ndim = n;
  g_strfreev (parts);
  return ok;
}

gboolean
gst_sf_tensors_info_from_caps (GstSfTensorsInfo *info, const GstCaps *caps)
{
  const GstStructure *s;
  const gchar *format, *types, *dims;
  gchar **type_list = NULL, **dim_list = NULL;
  gint num = 0;
  guint i;
  gboolean ok = FALSE;

  g_return_val_if_fail (info != NULL, FALSE);
  g_return_val_if_fail (caps != NULL, FALSE);

  gst_sf_tensors_info_init (info);
  if (!gst_caps_is_fixed (caps))
    return FALSE;
  s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, GST_SF_TENSORS_MIME))
    return FALSE;

  format = gst_structure_get_string (s, "format");
  if (format != NULL && strcmp (format, "static") != 0)
    return FALSE;
  types = gst_structure_get_string (s, "types");
  dims = gst_structure_get_string (s, "dimensions");
  if (types == NULL || dims == NULL)
    return FALSE;

  type_list = g_strsplit (types, ",", -1);
  dim_list = g_strsplit (dims, ",", -1);
  if (!gst_structure_get_int (s, "num_tensors", &num))
    num = g_strv_length (type_list);
  if (num <= 0 || num > GST_SF_TENSORS_MAX
      || g_strv_length (type_list) != (guint)num
      || g_strv_length (dim_list) != (guint)num)
    goto done;

  for (i = 0; i < (guint)num; i++) {
    GstSfTensorInfo *t = &info->tensors[i];

    t->type = gst_sf_tensor_type_from_name (g_strstrip (type_list[i]));
    if (t->type == GST_SF_TENSOR_TYPE_UNKNOWN || !parse_dims (t, dim_list[i]))
      goto done;
  }
  info->num_tensors = num;
  if (!gst_structure_get_fraction (
          s, "framerate", &info->rate_n, &info->rate_d)) {
    info->rate_n = 0;
    info->rate_d = 1;
  }
  ok = TRUE;

done:
  g_strfreev (type_list);
  g_strfreev (dim_list);
  if (!ok)
    gst_sf_tensors_info_init (info);
  return ok;
}

gboolean
gst_sf_tensors_append (GstBuffer *dst, GstSfTensorsInfo *dst_info,
    GstBuffer *src, const GstSfTensorsInfo *src_info)
{
  guint n = gst_buffer_n_memory (src);

  g_return_val_if_fail (dst_info != NULL && src_info != NULL, FALSE);

  if (src_info->num_tensors != n
      || dst_info->num_tensors + n > GST_SF_TENSORS_MAX)
    return FALSE;
  for (guint m = 0; m < n; m++) {
    dst_info->tensors[dst_info->num_tensors++] = src_info->tensors[m];
    gst_buffer_append_memory (dst, gst_buffer_get_memory (src, m));
  }
  /* a stack of periodic streams comes out at the slowest one's rate */
  if (src_info->rate_n > 0
      && (dst_info->rate_n == 0
          || (gint64)src_info->rate_n * dst_info->rate_d
              < (gint64)dst_info->rate_n * src_info->rate_d)) {
    dst_info->rate_n = src_info->rate_n;
    dst_info->rate_d = src_info->rate_d;
  }
  return TRUE;
}
