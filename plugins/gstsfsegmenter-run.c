/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfsegmenter's frames (see gstsfsegmenter-private.h):
 * each frame's logits become a label map at the frame's size, drawn as the
 * mode asks, with a result structure of the classes present. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfsegmenter-private.h"

#define GST_CAT_DEFAULT gst_sf_segmenter_debug

/* Pushes caps for @info (at the input's rate) when they change. */
static gboolean
push_caps (GstSfSegmenter *self, GstVideoInfo *info)
{
  g_autoptr (GstCaps) caps = NULL;

  GST_VIDEO_INFO_FPS_N (info) = self->rate_n;
  GST_VIDEO_INFO_FPS_D (info) = self->rate_d > 0 ? self->rate_d : 1;
  caps = gst_video_info_to_caps (info);
  return gst_sf_src_push_caps (&self->src, caps);
}

/* The result structure: classes present and their pixel fractions. */
static GstStructure *
make_result (GstSfSegmenter *self, GstBuffer *buffer, SfModel *model,
    const SfTensor *labels)
{
  GValue names = G_VALUE_INIT, fractions = G_VALUE_INIT;
  g_autofree double *fraction = g_new0 (double, self->n_labels);
  GstStructure *result;

  sf_segment_class_fractions (labels, (guint)self->n_labels, fraction);
  g_value_init (&names, GST_TYPE_ARRAY);
  g_value_init (&fractions, GST_TYPE_ARRAY);
  for (guint c = 0; c < self->n_labels; c++) {
    GValue v = G_VALUE_INIT;

    if (fraction[c] == 0.0)
      continue;
    g_value_init (&v, G_TYPE_STRING);
    g_value_take_string (&v, gst_sf_label_dup (model, c));
    gst_value_array_append_and_take_value (&names, &v);
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, fraction[c]);
    gst_value_array_append_and_take_value (&fractions, &v);
  }

  result = gst_structure_new ("sfsegmenter", "pts", G_TYPE_UINT64,
      GST_BUFFER_PTS (buffer), "duration", G_TYPE_UINT64,
      GST_BUFFER_DURATION (buffer), "width", G_TYPE_INT, (int)labels->shape[2],
      "height", G_TYPE_INT, (int)labels->shape[1], NULL);
  gst_structure_take_value (result, "labels", &names);
  gst_structure_take_value (result, "fractions", &fractions);
  return result;
}

/* (transfer full) label map [1, height, width] I32 for the logits in
 * @buffer, or NULL when it is too small for the caps. */
static SfTensor *
compute_labels (GstSfSegmenter *self, GstBuffer *buffer, int width, int height)
{
  gint64 shape[4] = { 1, self->n_labels, self->logit_h, self->logit_w };
  gsize nbytes = (gsize)(shape[1] * shape[2] * shape[3]) * sizeof (float);
  SfTensor *logits, *labels;
  GstMapInfo map;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return NULL;
  if (map.size < nbytes) {
    gst_buffer_unmap (buffer, &map);
    return NULL;
  }
  logits = sf_tensor_new_from_data (SF_DTYPE_F32, 4, shape, map.data);
  gst_buffer_unmap (buffer, &map);
  labels = sf_segment_labels (logits, width, height);
  sf_tensor_unref (logits);
  return labels;
}

GstFlowReturn
gst_sf_segmenter_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (parent);
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buffer);
  GstClockTime began = gst_util_get_timestamp ();
  GstVideoInfo in_info, out_info;
  GstBuffer *media, *out = NULL;
  GstStructure *result;
  SfTensor *labels;
  const gint32 *map;
  gdouble alpha;
  int width, height;

  if (self->n_labels == 0)
    goto not_negotiated;
  if (meta == NULL || meta->media == NULL)
    goto no_frame;
  media = meta->media;
  if (!gst_sf_video_info_from_meta (&in_info, media))
    goto no_frame;
  width = GST_VIDEO_INFO_WIDTH (&in_info);
  height = GST_VIDEO_INFO_HEIGHT (&in_info);

  labels = compute_labels (self, buffer, width, height);
  if (labels == NULL)
    goto bad_buffer;
  map = (const gint32 *)labels->data;
  result = make_result (self, buffer, gst_sf_buffer_get_model (buffer), labels);

  switch (self->cur_mode) {
    case GST_SF_SEGMENTER_MODE_OVERLAY:
      GST_OBJECT_LOCK (self);
      alpha = self->alpha;
      GST_OBJECT_UNLOCK (self);
      out = gst_sf_draw_overlay (
          &self->colours, alpha, media, &in_info, map, &out_info);
      break;
    case GST_SF_SEGMENTER_MODE_MASK:
      out = gst_sf_draw_mask (map, width, height, 0, &out_info);
      break;
    case GST_SF_SEGMENTER_MODE_MASK_SCALED:
      out = gst_sf_draw_mask (
          map, width, height, (guint)self->n_labels, &out_info);
      break;
    case GST_SF_SEGMENTER_MODE_LABELS:
      out = gst_buffer_copy (media);
      out_info = in_info;
      break;
  }
  sf_tensor_unref (labels);
  if (out == NULL) {
    gst_structure_free (result);
    goto draw_failed;
  }
  gst_buffer_copy_into (
      out, buffer, GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  gst_buffer_unref (buffer);

  gst_sf_element_post_result (GST_ELEMENT (self), out, result);

  if (!push_caps (self, &out_info)) {
    gst_buffer_unref (out);
    return gst_sf_src_caps_failure (&self->src);
  }
  gst_sf_latency_record (
      &self->latency, GST_ELEMENT (self), gst_util_get_timestamp () - began);
  return gst_pad_push (self->src.pad, out);

not_negotiated : {
  gst_buffer_unref (buffer);
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
      ("no tensor caps before the first buffer"));
  return GST_FLOW_NOT_NEGOTIATED;
}
no_frame : {
  gst_buffer_unref (buffer);
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sfsegmenter needs the video frame the logits were computed from; "
       "put it right after sfimageencoder."),
      ("the buffer has no GstSfTensorMeta referencing a frame with a "
       "GstVideoMeta"));
  return GST_FLOW_ERROR;
}
bad_buffer : {
  gst_buffer_unref (buffer);
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("buffer too small for %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
       "x%" G_GINT64_FORMAT " logits",
          self->n_labels, self->logit_h, self->logit_w));
  return GST_FLOW_ERROR;
}
draw_failed : {
  gst_buffer_unref (buffer);
  GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
      ("could not map the %dx%d %s frame", width, height,
          GST_VIDEO_INFO_NAME (&in_info)));
  return GST_FLOW_ERROR;
}
}
