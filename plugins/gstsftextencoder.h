/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_TEXT_ENCODER (gst_sf_text_encoder_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfTextEncoder, gst_sf_text_encoder, GST, SF_TEXT_ENCODER, GstElement)

GST_ELEMENT_REGISTER_DECLARE (sftextencoder);

G_END_DECLS
