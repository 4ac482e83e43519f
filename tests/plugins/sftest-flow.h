/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Live-pipeline measurements for the element tests: buffers into an
 * element, buffers at a sink, and how late each arrives there. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct
{
  gint in, out; /* buffers into the watched element, at the sink */
  GMutex lock;
  GstSegment segment;       /* the sink's */
  GstClockTime max_latency; /* NONE before the first buffer */
} SfTestFlow;

/* Counts buffers into element @in_name's sink pad and at sink @sink_name,
 * measuring at the sink how far behind the clock each buffer's running
 * time is when it arrives. */
void sftest_flow_watch (SfTestFlow *flow, GstElement *pipeline,
    const gchar *in_name, const gchar *sink_name);
/* Forgets the latency measured so far (after a warm-up). */
void sftest_flow_reset_latency (SfTestFlow *flow);
GstClockTime sftest_flow_max_latency (SfTestFlow *flow);
void sftest_flow_clear (SfTestFlow *flow);

/* The pipeline's answer to a latency query: TRUE when live. */
gboolean sftest_pipeline_latency (GstElement *pipeline, GstClockTime *min);

G_END_DECLS
