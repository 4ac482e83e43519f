/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfimageencoder's caps (see
 * gstsfimageencoder-private.h). The tensor caps follow from the model and
 * the frame size: a size the model cannot take is refused with an element
 * error that says why, and a new size starts the outputs afresh. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfimageencoder-private.h"

#define GST_CAT_DEFAULT gst_sf_image_encoder_debug

/* (transfer full) tensor caps for frames of @vinfo, or NULL after posting
 * an error when the model cannot take them. */
static GstCaps *
output_caps (GstSfImageEncoder *self, SfTask *task, const GstVideoInfo *vinfo)
{
  g_autoptr (GError) error = NULL;
  GstSfTensorsInfo info;
  SfShape shape;

  if (!sf_task_image_shape (task, GST_VIDEO_INFO_WIDTH (vinfo),
          GST_VIDEO_INFO_HEIGHT (vinfo), &shape, &error)
      || !gst_sf_tensors_info_set_f32 (&info, &shape)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("Model \"%s\" cannot take %dx%d frames: %s",
            sf_model_dir (sf_task_model (task)), GST_VIDEO_INFO_WIDTH (vinfo),
            GST_VIDEO_INFO_HEIGHT (vinfo),
            error ? error->message : "too many dimensions"),
        (NULL));
    return NULL;
  }
  info.rate_n = GST_VIDEO_INFO_FPS_N (vinfo);
  info.rate_d = GST_VIDEO_INFO_FPS_D (vinfo);
  return gst_sf_tensors_info_to_caps (&info);
}

GstCaps *
gst_sf_image_encoder_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);
  g_autoptr (SfTask) task =
      gst_sf_element_get_task (GST_ELEMENT (self), &self->task);
  GstCaps *result = NULL;
  GstVideoInfo vinfo;

  if (direction == GST_PAD_SRC) {
    result =
        gst_pad_get_pad_template_caps (GST_BASE_TRANSFORM_SINK_PAD (trans));
  } else if (task != NULL && gst_caps_is_fixed (caps)
      && gst_video_info_from_caps (&vinfo, caps)) {
    result = output_caps (self, task, &vinfo);
    if (result == NULL)
      result = gst_caps_new_empty ();
  } else {
    result = gst_pad_get_pad_template_caps (GST_BASE_TRANSFORM_SRC_PAD (trans));
  }

  if (filter != NULL) {
    GstCaps *tmp =
        gst_caps_intersect_full (filter, result, GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (result);
    result = tmp;
  }
  GST_DEBUG_OBJECT (self, "%s caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
      direction == GST_PAD_SINK ? "sink" : "src", caps, result);
  return result;
}

gboolean
gst_sf_image_encoder_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);
  GstSfTensorsInfo info;
  GstVideoInfo vinfo;

  if (!gst_video_info_from_caps (&vinfo, incaps)
      || !gst_sf_tensors_info_from_caps (&info, outcaps)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("could not parse caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT, incaps,
            outcaps));
    return FALSE;
  }

  /* A new resolution may change the output shape: start afresh. */
  self->vinfo = vinfo;
  self->out_bytes = gst_sf_tensor_info_nbytes (&info.tensors[0]);
  self->n_frames = 0;
  g_clear_pointer (&self->last, sf_tensor_unref);
  GST_DEBUG_OBJECT (self, "frames %dx%d %s, output %" GST_PTR_FORMAT,
      GST_VIDEO_INFO_WIDTH (&vinfo), GST_VIDEO_INFO_HEIGHT (&vinfo),
      GST_VIDEO_INFO_NAME (&vinfo), outcaps);
  return TRUE;
}
