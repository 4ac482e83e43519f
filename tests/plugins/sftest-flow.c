/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live-pipeline measurements for the element tests (sftest-flow.h). */
#include <string.h>

#include "sftest-flow.h"

static GstPadProbeReturn
count_in (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  g_atomic_int_inc (&((SfTestFlow *)data)->in);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
measure_out (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  SfTestFlow *f = data;
  GstElement *sink = GST_PAD_PARENT (pad);

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      g_mutex_lock (&f->lock);
      gst_event_copy_segment (ev, &f->segment);
      g_mutex_unlock (&f->lock);
    }
  } else {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstClock *clock = gst_element_get_clock (sink);
    GstClockTime now, rt;

    g_atomic_int_inc (&f->out);
    if (clock == NULL)
      return GST_PAD_PROBE_OK;
    now = gst_clock_get_time (clock) - gst_element_get_base_time (sink);
    gst_object_unref (clock);
    g_mutex_lock (&f->lock);
    rt = gst_segment_to_running_time (
        &f->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
    if (GST_CLOCK_TIME_IS_VALID (rt) && now > rt
        && (!GST_CLOCK_TIME_IS_VALID (f->max_latency)
            || now - rt > f->max_latency))
      f->max_latency = now - rt;
    g_mutex_unlock (&f->lock);
  }
  return GST_PAD_PROBE_OK;
}

static void
add_probe (GstElement *pipeline, const gchar *name, GstPadProbeType type,
    GstPadProbeCallback cb, SfTestFlow *flow)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);
  GstPad *pad;

  g_assert_nonnull (e);
  pad = gst_element_get_static_pad (e, "sink");
  gst_pad_add_probe (pad, type, cb, flow, NULL);
  gst_object_unref (pad);
  gst_object_unref (e);
}

void
sftest_flow_watch (SfTestFlow *flow, GstElement *pipeline, const gchar *in_name,
    const gchar *sink_name)
{
  memset (flow, 0, sizeof *flow);
  g_mutex_init (&flow->lock);
  flow->max_latency = GST_CLOCK_TIME_NONE;
  gst_segment_init (&flow->segment, GST_FORMAT_TIME);
  add_probe (pipeline, in_name, GST_PAD_PROBE_TYPE_BUFFER, count_in, flow);
  add_probe (pipeline, sink_name,
      GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      measure_out, flow);
}

void
sftest_flow_reset_latency (SfTestFlow *flow)
{
  g_mutex_lock (&flow->lock);
  flow->max_latency = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&flow->lock);
}

GstClockTime
sftest_flow_max_latency (SfTestFlow *flow)
{
  GstClockTime t;

  g_mutex_lock (&flow->lock);
  t = flow->max_latency;
  g_mutex_unlock (&flow->lock);
  return t;
}

void
sftest_flow_clear (SfTestFlow *flow)
{
  g_mutex_clear (&flow->lock);
}

gboolean
sftest_pipeline_latency (GstElement *pipeline, GstClockTime *min)
{
  GstQuery *q = gst_query_new_latency ();
  gboolean live = FALSE;

  *min = 0;
  if (gst_element_query (pipeline, q))
    gst_query_parse_latency (q, &live, min, NULL);
  gst_query_unref (q);
  return live;
}
