/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: glue between loaded models and GStreamer. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "core/error.h"
#include "gstsfmodel.h"

SfModel *
gst_sf_model_load (
    GstElement *element, const gchar *path, SfPrecision precision)
{
  GError *error = NULL;
  SfModel *model;
  gchar *text, *warning = NULL;

  g_return_val_if_fail (GST_IS_ELEMENT (element), NULL);

  if (path == NULL || *path == '\0') {
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND, ("No model given."),
        ("Set the \"model\" property to a checkpoint folder or a Hub id."));
    return NULL;
  }

  precision = sf_precision_resolve (precision, &warning);
  if (warning != NULL) {
    GST_ELEMENT_WARNING (
        element, LIBRARY, SETTINGS, ("%s", warning), ("model \"%s\"", path));
    g_free (warning);
  }
  model = sf_model_cache_get_with_precision (path, precision, &error);
  if (model != NULL)
    return model;

  /* The message of an SF_ERROR names the file and the field; say which
   * model it was when it does not already show the folder. */
  if (strstr (error->message, path) != NULL)
    text = g_strdup_printf ("Could not load model: %s", error->message);
  else
    text = g_strdup_printf (
        "Could not load model \"%s\": %s", path, error->message);

  if (error->domain == SF_ERROR && error->code == SF_ERROR_MISSING)
    GST_ELEMENT_ERROR (element, RESOURCE, NOT_FOUND, ("%s", text), (NULL));
  else if (error->domain == SF_ERROR && error->code == SF_ERROR_IO)
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ, ("%s", text), (NULL));
  else
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS, ("%s", text), (NULL));
  g_free (text);
  g_clear_error (&error);
  return NULL;
}

GstSfTensorMeta *
gst_sf_buffer_add_model_meta (
    GstBuffer *buffer, SfModel *model, const gchar *text, GstBuffer *media)
{
  return gst_buffer_add_sf_tensor_meta (buffer, model,
      (GBoxedCopyFunc)sf_model_ref, (GDestroyNotify)sf_model_unref,
      model ? sf_model_name (model) : NULL, text, media);
}

SfModel *
gst_sf_buffer_get_model (GstBuffer *buffer)
{
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buffer);

  /* Only a handle whose unref is ours is an SfModel. */
  if (meta == NULL || meta->model == NULL
      || meta->model_unref != (GDestroyNotify)sf_model_unref)
    return NULL;
  return (SfModel *)meta->model;
}

GstMemory *
gst_sf_memory_new_from_tensor (SfTensor *tensor)
{
  gsize nbytes;

  g_return_val_if_fail (tensor != NULL, NULL);

  nbytes = sf_tensor_nbytes (tensor);
  return gst_memory_new_wrapped (GST_MEMORY_FLAG_READONLY, tensor->data, nbytes,
      0, nbytes, sf_tensor_ref (tensor), (GDestroyNotify)sf_tensor_unref);
}
