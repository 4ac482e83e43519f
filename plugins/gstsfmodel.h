/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: glue between loaded models and GStreamer.
 *
 * Private to the plugin. Elements load models through here so that every
 * load failure turns into the same kind of element error, and so that
 * tensors cross into GstMemory (and back) in one place.
 */
#pragma once

#include <gst/gst.h>

#include "graphs/model.h"
#include "gstsftensors.h"

G_BEGIN_DECLS

/* (transfer full) the model in folder @path at @precision, shared through
 * the model cache. A precision this CPU cannot run posts one element
 * warning naming what is missing and loads f32. On failure posts an
 * element error on @element that names @path and the GError's message,
 * and returns NULL. */
SfModel *gst_sf_model_load (
    GstElement *element, const gchar *path, SfPrecision precision);

/* Adds a GstSfTensorMeta that holds a ref on @model. */
GstSfTensorMeta *gst_sf_buffer_add_model_meta (
    GstBuffer *buffer, SfModel *model, const gchar *text, GstBuffer *media);
/* (transfer none) the model named by @buffer's tensor meta, or NULL. */
SfModel *gst_sf_buffer_get_model (GstBuffer *buffer);

/* (transfer full) a read-only GstMemory over @tensor's bytes, with no copy:
 * the memory keeps a ref on @tensor. @tensor must be contiguous. */
GstMemory *gst_sf_memory_new_from_tensor (SfTensor *tensor);

G_END_DECLS
