/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: video frames to and from the core image type. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfvideo.h"

SfImage *
gst_sf_video_frame_to_image (const GstVideoFrame *frame)
{
  int width = GST_VIDEO_FRAME_WIDTH (frame);
  int height = GST_VIDEO_FRAME_HEIGHT (frame);
  const guint8 *p0 = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gsize s0 = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  SfPixelFormat packed;

  switch (GST_VIDEO_FRAME_FORMAT (frame)) {
    case GST_VIDEO_FORMAT_RGB: packed = SF_PIXEL_FORMAT_RGB; break;
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_RGBA: packed = SF_PIXEL_FORMAT_RGBX; break;
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_BGRA: packed = SF_PIXEL_FORMAT_BGRX; break;
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_ARGB: packed = SF_PIXEL_FORMAT_XRGB; break;
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_ABGR: packed = SF_PIXEL_FORMAT_XBGR; break;
    case GST_VIDEO_FORMAT_I420:
      return sf_image_new_from_i420 (p0, s0,
          GST_VIDEO_FRAME_PLANE_DATA (frame, 1),
          GST_VIDEO_FRAME_PLANE_STRIDE (frame, 1),
          GST_VIDEO_FRAME_PLANE_DATA (frame, 2),
          GST_VIDEO_FRAME_PLANE_STRIDE (frame, 2), width, height);
    case GST_VIDEO_FORMAT_NV12:
      return sf_image_new_from_nv12 (p0, s0,
          GST_VIDEO_FRAME_PLANE_DATA (frame, 1),
          GST_VIDEO_FRAME_PLANE_STRIDE (frame, 1), width, height);
    default: return NULL;
  }
  return sf_image_new_from_packed (p0, width, height, s0, packed);
}

GstBuffer *
gst_sf_video_buffer_with_meta (GstBuffer *buffer, const GstVideoInfo *info)
{
  GstBuffer *copy;

  if (gst_buffer_get_video_meta (buffer) != NULL)
    return gst_buffer_ref (buffer);

  /* A shallow copy: the frame's memory is shared, only the metas are new. */
  copy = gst_buffer_copy (buffer);
  gst_buffer_add_video_meta_full (copy, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_INFO_FORMAT (info), GST_VIDEO_INFO_WIDTH (info),
      GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_N_PLANES (info),
      (gsize *)info->offset, (gint *)info->stride);
  return copy;
}

gboolean
gst_sf_video_info_from_meta (GstVideoInfo *info, GstBuffer *buffer)
{
  GstVideoMeta *meta = gst_buffer_get_video_meta (buffer);
  guint i;

  if (meta == NULL
      || !gst_video_info_set_format (
          info, meta->format, meta->width, meta->height))
    return FALSE;
  for (i = 0; i < meta->n_planes && i < GST_VIDEO_MAX_PLANES; i++) {
    info->offset[i] = meta->offset[i];
    info->stride[i] = meta->stride[i];
  }
  info->size = gst_buffer_get_size (buffer);
  return TRUE;
}
