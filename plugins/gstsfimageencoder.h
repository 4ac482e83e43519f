/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_IMAGE_ENCODER (gst_sf_image_encoder_get_type ())
G_DECLARE_FINAL_TYPE (GstSfImageEncoder, gst_sf_image_encoder, GST,
    SF_IMAGE_ENCODER, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (sfimageencoder);

G_END_DECLS
