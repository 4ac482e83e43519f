/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_SEGMENTER (gst_sf_segmenter_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfSegmenter, gst_sf_segmenter, GST, SF_SEGMENTER, GstElement)

#define GST_TYPE_SF_SEGMENTER_MODE (gst_sf_segmenter_mode_get_type ())
GType gst_sf_segmenter_mode_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (sfsegmenter);

G_END_DECLS
