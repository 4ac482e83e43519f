/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: measured processing latency (gstsflatency.h). */
#include <string.h>

#include "gstsflatency.h"

void
gst_sf_latency_init (GstSfLatency *lat)
{
  memset (lat, 0, sizeof *lat);
  g_mutex_init (&lat->lock);
  lat->reported = GST_CLOCK_TIME_NONE;
}

void
gst_sf_latency_clear (GstSfLatency *lat)
{
  g_mutex_clear (&lat->lock);
}

void
gst_sf_latency_reset (GstSfLatency *lat)
{
  g_mutex_lock (&lat->lock);
  lat->n = lat->next = 0;
  lat->reported = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&lat->lock);
}

void
gst_sf_latency_install_property (GObjectClass *klass, guint prop_id)
{
  g_object_class_install_property (klass, prop_id,
      g_param_spec_uint ("latency-ms", "Latency (ms)",
          "Processing latency to report in latency queries; 0 reports the "
          "longest of the last " G_STRINGIFY (
              GST_SF_LATENCY_WINDOW) " buffers' measured processing times plus "
                                     "a quarter, and posts a "
                                     "latency message when a buffer takes "
                                     "longer",
          0, 3600 * 1000, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
}

void
gst_sf_latency_set_pinned (GstSfLatency *lat, const GValue *value)
{
  g_mutex_lock (&lat->lock);
  lat->pinned_ms = g_value_get_uint (value);
  g_mutex_unlock (&lat->lock);
}

void
gst_sf_latency_get_pinned (GstSfLatency *lat, GValue *value)
{
  g_mutex_lock (&lat->lock);
  g_value_set_uint (value, lat->pinned_ms);
  g_mutex_unlock (&lat->lock);
}

static GstClockTime
measured_locked (const GstSfLatency *lat)
{
  GstClockTime longest = 0;

  for (guint i = 0; i < lat->n; i++)
    longest = MAX (longest, lat->recent[i]);
  return longest + longest / 4;
}

void
gst_sf_latency_record (
    GstSfLatency *lat, GstElement *element, GstClockTime took)
{
  gboolean grew;

  if (!GST_CLOCK_TIME_IS_VALID (took))
    return;
  g_mutex_lock (&lat->lock);
  lat->recent[lat->next] = took;
  lat->next = (lat->next + 1) % GST_SF_LATENCY_WINDOW;
  lat->n = MIN (lat->n + 1, GST_SF_LATENCY_WINDOW);
  grew = lat->pinned_ms == 0
      && (!GST_CLOCK_TIME_IS_VALID (lat->reported) || took > lat->reported);
  /* one message until the pipeline has asked again */
  if (grew)
    lat->reported = measured_locked (lat);
  g_mutex_unlock (&lat->lock);
  if (grew) {
    GST_DEBUG_OBJECT (element,
        "took %" GST_TIME_FORMAT ", more than "
        "reported: asking for a new latency",
        GST_TIME_ARGS (took));
    gst_element_post_message (
        element, gst_message_new_latency (GST_OBJECT (element)));
  }
}

GstClockTime
gst_sf_latency_current (GstSfLatency *lat, GstClockTime held)
{
  GstClockTime own;

  g_mutex_lock (&lat->lock);
  own =
      lat->pinned_ms > 0 ? lat->pinned_ms * GST_MSECOND : measured_locked (lat);
  lat->reported = own;
  g_mutex_unlock (&lat->lock);
  return own + (GST_CLOCK_TIME_IS_VALID (held) ? held : 0);
}

gboolean
gst_sf_latency_add_to_query (
    GstSfLatency *lat, GstElement *element, GstQuery *query, GstClockTime held)
{
  GstClockTime min, max, own;
  gboolean live;

  gst_query_parse_latency (query, &live, &min, &max);
  own = gst_sf_latency_current (lat, held);
  min += own;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += own;
  GST_DEBUG_OBJECT (element,
      "adding %" GST_TIME_FORMAT ": min %" GST_TIME_FORMAT
      " max %" GST_TIME_FORMAT,
      GST_TIME_ARGS (own), GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  gst_query_set_latency (query, live, min, max);
  return live;
}
