/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_JSON_SINK (gst_sf_json_sink_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfJsonSink, gst_sf_json_sink, GST, SF_JSON_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (sfjsonsink);

G_END_DECLS
