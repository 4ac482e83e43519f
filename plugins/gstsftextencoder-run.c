/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftextencoder's encoding and pushing (see
 * gstsftextencoder-private.h): texts go through the task, alone or in
 * passes of up to MAX_BATCH, or through the model's shared queue with
 * batch-size > 1, and each output is pushed with caps of its shape. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftextencoder-private.h"

#define GST_CAT_DEFAULT gst_sf_text_encoder_debug

/* (transfer full) the output caps unless they depend on the text. */
GstCaps *
gst_sf_text_encoder_fixed_caps (GstSfTextEncoder *self)
{
  g_autoptr (SfTask) task =
      gst_sf_element_get_task (GST_ELEMENT (self), &self->task);
  g_autoptr (GError) error = NULL;
  GstSfTensorsInfo info;
  SfShape shape;

  if (task == NULL || sf_task_shape_varies (task))
    return NULL;
  if (!sf_task_text_shape (task, 1, &shape, &error)
      || !gst_sf_tensors_info_set_f32 (&info, &shape))
    return NULL; /* the first text will fail with a clear error */
  return gst_sf_tensors_info_to_caps (&info);
}

/* Pushes @tensor [1, ...] as the output of @item, with caps of its shape. */
static GstFlowReturn
gst_sf_text_encoder_push (
    GstSfTextEncoder *self, SfTensor *tensor, const GstSfTextItem *item)
{
  SfShape shape = { tensor->ndim };
  GstSfTensorsInfo info;
  GstBuffer *buffer;

  memcpy (shape.dims, tensor->shape, tensor->ndim * sizeof (gint64));
  if (!gst_sf_tensors_info_set_f32 (&info, &shape)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
        ("model output has %d dimensions", tensor->ndim));
    self->posted_error = TRUE;
    return GST_FLOW_ERROR;
  }
  if (!gst_sf_src_push_tensors (&self->src, &info)) {
    if (gst_sf_src_caps_failure (&self->src) == GST_FLOW_FLUSHING)
      return GST_FLOW_FLUSHING;
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("downstream did not accept the tensor caps"));
    self->posted_error = TRUE;
    return GST_FLOW_NOT_NEGOTIATED;
  }

  buffer = gst_buffer_new ();
  gst_buffer_append_memory (buffer, gst_sf_memory_new_from_tensor (tensor));
  gst_sf_text_clock_stamp (&self->clock, item, buffer);
  gst_sf_buffer_add_model_meta (
      buffer, sf_task_model (self->task), item->text, NULL);
  return gst_pad_push (self->src.pad, buffer);
}

/* (transfer full) the outputs of @n texts, through the shared queue when
 * there is one; NULL and *@flushing when a flush withdrew them. */
static GPtrArray *
gst_sf_text_encoder_run (GstSfTextEncoder *self, const GstSfTextItem *items,
    guint n, gboolean *truncated, gboolean *flushing, GError **error)
{
  g_autofree const gchar **texts = g_new (const gchar *, n);
  g_autofree GstSfBatchInput *inputs = NULL;

  *flushing = FALSE;
  for (guint i = 0; i < n; i++)
    texts[i] = items[i].text;
  if (self->batcher == NULL)
    return sf_task_run_texts (self->task, texts, n, truncated, error);
  inputs = g_new0 (GstSfBatchInput, n);
  for (guint i = 0; i < n; i++)
    inputs[i].text = texts[i];
  return gst_sf_batcher_run (
      self->batcher, inputs, n, truncated, flushing, error);
}

/* Runs @n texts as one batch and pushes one buffer per text. */
static GstFlowReturn
gst_sf_text_encoder_encode (
    GstSfTextEncoder *self, const GstSfTextItem *items, guint n)
{
  g_autoptr (GPtrArray) outputs = NULL;
  g_autoptr (GError) error = NULL;
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean truncated = FALSE, flushing;
  GstClockTime began;

  began = gst_util_get_timestamp ();
  outputs =
      gst_sf_text_encoder_run (self, items, n, &truncated, &flushing, &error);
  gst_sf_latency_record (
      &self->latency, GST_ELEMENT (self), gst_util_get_timestamp () - began);
  if (flushing)
    return GST_FLOW_FLUSHING;
  if (outputs == NULL) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Could not encode text with model \"%s\": %s",
            sf_model_name (sf_task_model (self->task)), error->message),
        (NULL));
    self->posted_error = TRUE;
    return GST_FLOW_ERROR;
  }
  if (truncated)
    GST_WARNING_OBJECT (self, "text truncated to %s",
        self->cur_max_length ? "max-length" : "the model's position limit");
  for (guint i = 0; i < n && ret == GST_FLOW_OK; i++)
    ret = gst_sf_text_encoder_push (self, outputs->pdata[i], &items[i]);
  return ret;
}

/* Encodes and pushes @items in batches, then empties the array. */
GstFlowReturn
gst_sf_text_encoder_process (GstSfTextEncoder *self, GArray *items)
{
  GstFlowReturn ret = GST_FLOW_OK;
  guint step;

  if (self->lines.replaced && !self->warned_utf8) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("Input text is not valid UTF-8."),
        ("invalid bytes were replaced by U+FFFD"));
    self->warned_utf8 = TRUE;
  }
  if (self->lines.n_cut > 0 && !self->warned_cut) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("A line is longer than %u bytes; it was cut into several texts.",
            (guint)GST_SF_TEXT_MAX_LINE_BYTES),
        ("is the input text with line breaks? split=buffer takes each "
         "buffer as one text"));
    self->warned_cut = TRUE;
  }
  /* The shared queue cuts the batches itself. */
  step = self->batcher ? MAX (items->len, 1) : self->batch;
  for (guint i = 0; i < items->len && ret == GST_FLOW_OK; i += step) {
    ret = gst_sf_text_encoder_encode (self,
        &g_array_index (items, GstSfTextItem, i), MIN (step, items->len - i));
  }
  g_array_set_size (items, 0);
  return ret;
}
