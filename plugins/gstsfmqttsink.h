/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_SF_MQTT_SINK (gst_sf_mqtt_sink_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSfMqttSink, gst_sf_mqtt_sink, GST, SF_MQTT_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (sfmqttsink);

G_END_DECLS
