/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: the tensor, result and labels metas
 * (declared in gstsftensors.h).
 *
 * The meta types are looked up by name before they are registered. A test
 * program may compile this file next to the loaded plugin, and both copies
 * must end up sharing one GType instead of failing to register it twice.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftensors.h"

/* GstSfTensorMeta */

GType
gst_sf_tensor_meta_api_get_type (void)
{
  static GType type = 0;

  if (g_once_init_enter (&type)) {
    static const gchar *tags[] = { NULL };
    GType t = g_type_from_name ("GstSfTensorMetaAPI");

    if (t == 0)
      t = gst_meta_api_type_register ("GstSfTensorMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_sf_tensor_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstSfTensorMeta *tmeta = (GstSfTensorMeta *)meta;

  tmeta->model = NULL;
  tmeta->model_ref = NULL;
  tmeta->model_unref = NULL;
  tmeta->model_name = NULL;
  tmeta->text = NULL;
  tmeta->media = NULL;
  return TRUE;
}

static void
gst_sf_tensor_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstSfTensorMeta *tmeta = (GstSfTensorMeta *)meta;

  if (tmeta->model != NULL && tmeta->model_unref != NULL)
    tmeta->model_unref (tmeta->model);
  tmeta->model = NULL;
  g_clear_pointer (&tmeta->model_name, g_free);
  g_clear_pointer (&tmeta->text, g_free);
  gst_clear_buffer (&tmeta->media);
}

/* The meta describes where the tensors came from, not their bytes, so it
 * survives every transform unchanged. */
static gboolean
gst_sf_tensor_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstSfTensorMeta *tmeta = (GstSfTensorMeta *)meta;

  return gst_buffer_add_sf_tensor_meta (dest, tmeta->model, tmeta->model_ref,
             tmeta->model_unref, tmeta->model_name, tmeta->text, tmeta->media)
      != NULL;
}

const GstMetaInfo *
gst_sf_tensor_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi = gst_meta_get_info ("GstSfTensorMeta");

    if (mi == NULL)
      mi = gst_meta_register (GST_SF_TENSOR_META_API_TYPE, "GstSfTensorMeta",
          sizeof (GstSfTensorMeta), gst_sf_tensor_meta_init,
          gst_sf_tensor_meta_free, gst_sf_tensor_meta_transform);
    g_once_init_leave ((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

GstSfTensorMeta *
gst_buffer_add_sf_tensor_meta (GstBuffer *buffer, gpointer model,
    GBoxedCopyFunc model_ref, GDestroyNotify model_unref,
    const gchar *model_name, const gchar *text, GstBuffer *media)
{
  GstSfTensorMeta *tmeta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (model == NULL || (model_ref && model_unref), NULL);

  tmeta = (GstSfTensorMeta *)gst_buffer_add_meta (
      buffer, GST_SF_TENSOR_META_INFO, NULL);
  if (tmeta == NULL)
    return NULL;
  if (model != NULL) {
    tmeta->model = model_ref (model);
    tmeta->model_ref = model_ref;
    tmeta->model_unref = model_unref;
  }
  tmeta->model_name = g_strdup (model_name);
  tmeta->text = g_strdup (text);
  if (media != NULL)
    tmeta->media = gst_buffer_ref (media);
  return tmeta;
}

/* GstSfResultMeta */

GType
gst_sf_result_meta_api_get_type (void)
{
  static GType type = 0;

  if (g_once_init_enter (&type)) {
    static const gchar *tags[] = { NULL };
    GType t = g_type_from_name ("GstSfResultMetaAPI");

    if (t == 0)
      t = gst_meta_api_type_register ("GstSfResultMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_sf_result_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  ((GstSfResultMeta *)meta)->result = NULL;
  return TRUE;
}

static void
gst_sf_result_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstSfResultMeta *rmeta = (GstSfResultMeta *)meta;

  g_clear_pointer (&rmeta->result, gst_structure_free);
}

static gboolean
gst_sf_result_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstSfResultMeta *rmeta = (GstSfResultMeta *)meta;

  if (rmeta->result == NULL)
    return TRUE;
  return gst_buffer_add_sf_result_meta (
             dest, gst_structure_copy (rmeta->result))
      != NULL;
}

const GstMetaInfo *
gst_sf_result_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi = gst_meta_get_info ("GstSfResultMeta");

    if (mi == NULL)
      mi = gst_meta_register (GST_SF_RESULT_META_API_TYPE, "GstSfResultMeta",
          sizeof (GstSfResultMeta), gst_sf_result_meta_init,
          gst_sf_result_meta_free, gst_sf_result_meta_transform);
    g_once_init_leave ((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

GstSfResultMeta *
gst_buffer_add_sf_result_meta (GstBuffer *buffer, GstStructure *result)
{
  GstSfResultMeta *rmeta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (result != NULL, NULL);

  rmeta = (GstSfResultMeta *)gst_buffer_add_meta (
      buffer, GST_SF_RESULT_META_INFO, NULL);
  if (rmeta == NULL) {
    gst_structure_free (result);
    return NULL;
  }
  rmeta->result = result;
  return rmeta;
}

/* GstSfLabelsMeta */

GType
gst_sf_labels_meta_api_get_type (void)
{
  static GType type = 0;

  if (g_once_init_enter (&type)) {
    static const gchar *tags[] = { NULL };
    GType t = g_type_from_name ("GstSfLabelsMetaAPI");

    if (t == 0)
      t = gst_meta_api_type_register ("GstSfLabelsMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
gst_sf_labels_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstSfLabelsMeta *lmeta = (GstSfLabelsMeta *)meta;

  lmeta->labels = NULL;
  lmeta->n_labels = 0;
  return TRUE;
}

static void
gst_sf_labels_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstSfLabelsMeta *lmeta = (GstSfLabelsMeta *)meta;

  g_clear_pointer (&lmeta->labels, g_strfreev);
  lmeta->n_labels = 0;
}

static gboolean
gst_sf_labels_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstSfLabelsMeta *lmeta = (GstSfLabelsMeta *)meta;

  return gst_buffer_add_sf_labels_meta (
             dest, (const gchar *const *)lmeta->labels, lmeta->n_labels)
      != NULL;
}

const GstMetaInfo *
gst_sf_labels_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi = gst_meta_get_info ("GstSfLabelsMeta");

    if (mi == NULL)
      mi = gst_meta_register (GST_SF_LABELS_META_API_TYPE, "GstSfLabelsMeta",
          sizeof (GstSfLabelsMeta), gst_sf_labels_meta_init,
          gst_sf_labels_meta_free, gst_sf_labels_meta_transform);
    g_once_init_leave ((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

GstSfLabelsMeta *
gst_buffer_add_sf_labels_meta (
    GstBuffer *buffer, const gchar *const *labels, guint n)
{
  GstSfLabelsMeta *lmeta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (labels != NULL || n == 0, NULL);

  lmeta = (GstSfLabelsMeta *)gst_buffer_add_meta (
      buffer, GST_SF_LABELS_META_INFO, NULL);
  if (lmeta == NULL)
    return NULL;
  lmeta->labels = g_new0 (gchar *, n + 1);
  for (guint i = 0; i < n; i++)
    lmeta->labels[i] = g_strdup (labels[i]);
  lmeta->n_labels = n;
  return lmeta;
}
