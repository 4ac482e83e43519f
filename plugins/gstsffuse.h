/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstsfaggregator.h"

G_BEGIN_DECLS

#define GST_TYPE_SF_FUSE (gst_sf_fuse_get_type ())
G_DECLARE_FINAL_TYPE (GstSfFuse, gst_sf_fuse, GST, SF_FUSE, GstSfAggregator)

#define GST_TYPE_SF_FUSE_PAD (gst_sf_fuse_pad_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfFusePad, gst_sf_fuse_pad, GST, SF_FUSE_PAD, GstSfAggregatorPad)

#define GST_TYPE_SF_FUSE_SYNC_MODE (gst_sf_fuse_sync_mode_get_type ())
GType gst_sf_fuse_sync_mode_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (sffuse);

G_END_DECLS
