/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One result, tensor set or text buffer as one JSON object: the format
 * sfjsonsink writes and sfmqttsink publishes. */
#pragma once

#include <gst/gst.h>

#include "gstsftensors.h"

G_BEGIN_DECLS

typedef enum
{
  GST_SF_JSON_MODE_OTHER,
  GST_SF_JSON_MODE_TEXT,
  GST_SF_JSON_MODE_TENSORS,
} GstSfJsonMode;

/* What the buffers of the current caps hold. */
typedef struct
{
  GstSfJsonMode mode;
  GstSfTensorsInfo info;
} GstSfJsonFormat;

void gst_sf_json_format_init (GstSfJsonFormat *format);
void gst_sf_json_format_set_caps (GstSfJsonFormat *format, GstCaps *caps);
/* (transfer full) @buffer as one JSON object on one line, without a
 * newline; free with g_free(). NULL with GST_STREAM_ERROR_FORMAT when the
 * buffer does not hold the tensors its caps describe (or cJSON runs out of
 * memory). */
gchar *gst_sf_json_format_buffer (
    const GstSfJsonFormat *format, GstBuffer *buffer, GError **error);

/* (transfer full) the JSON object of a task element's @result as above:
 * @pts and @duration in seconds (null when invalid), then the result's
 * fields but its own "pts" and "duration". What the elements' bus messages
 * carry as "json". */
gchar *gst_sf_json_format_result (const GstStructure *result, GstClockTime pts,
    GstClockTime duration, GError **error);

G_END_DECLS
