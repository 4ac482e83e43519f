/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_TRANSCRIBER (gst_sf_transcriber_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfTranscriber, gst_sf_transcriber, GST, SF_TRANSCRIBER, GstElement)

GST_ELEMENT_REGISTER_DECLARE (sftranscriber);

G_END_DECLS
