/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: video frames to and from the core image type.
 *
 * Private to the plugin, shared by sfimageencoder and sfsegmenter. The
 * encoder references each source frame from its tensors (GstSfTensorMeta
 * media); that buffer always carries a GstVideoMeta, so an element further
 * down can map the frame without knowing the encoder's caps.
 */
#pragma once

#include <gst/video/video.h>

#include "core/image/image.h"

G_BEGIN_DECLS

/* The raw formats both elements read. */
#define GST_SF_VIDEO_FORMATS                                                   \
  "{ RGB, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, NV12 }"

/* (transfer full) the frame as tight 8-bit RGB; NULL for a format outside
 * GST_SF_VIDEO_FORMATS. */
SfImage *gst_sf_video_frame_to_image (const GstVideoFrame *frame);

/* (transfer full) @buffer, or a shallow copy of it (same memory), that
 * carries a GstVideoMeta describing it as laid out by @info. */
GstBuffer *gst_sf_video_buffer_with_meta (
    GstBuffer *buffer, const GstVideoInfo *info);

/* Fills @info from the GstVideoMeta of @buffer. FALSE when there is none. */
gboolean gst_sf_video_info_from_meta (GstVideoInfo *info, GstBuffer *buffer);

G_END_DECLS
