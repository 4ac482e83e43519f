/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_TEXT_GENERATOR (gst_sf_text_generator_get_type ())
G_DECLARE_FINAL_TYPE (GstSfTextGenerator, gst_sf_text_generator, GST,
    SF_TEXT_GENERATOR, GstElement)

GST_ELEMENT_REGISTER_DECLARE (sftextgenerator);

G_END_DECLS
