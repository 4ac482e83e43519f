/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfsegmenter's state, shared by the element
 * (gstsfsegmenter.c: properties, states, caps and events) and its
 * handling of each frame (gstsfsegmenter-run.c). Private to the plugin. */
#pragma once

#include "graphs/post/segment.h"
#include "gstsfelement.h"
#include "gstsflatency.h"
#include "gstsfmodel.h"
#include "gstsfsegdraw.h"
#include "gstsfsegmenter.h"
#include "gstsfvideo.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_segmenter_debug);

struct _GstSfSegmenter
{
  GstElement parent;

  /* properties, under the object lock */
  GstSfSegmenterMode mode;
  gdouble alpha;
  gchar *palette;

  /* streaming state */
  GstSfSegmenterMode cur_mode;
  GstSfPalette colours;
  gint64 n_labels, logit_h, logit_w; /* from the sink caps */
  gint rate_n, rate_d;
  GstSfSrc src;
  GstSfLatency latency;  /* upsampling and drawing */
  GstCaps *refused_caps; /* posted once: a refused caps event comes back */
};

/* The sink pad's chain function: one frame with its logits. */
GstFlowReturn gst_sf_segmenter_chain (
    GstPad *pad, GstObject *parent, GstBuffer *buffer);

G_END_DECLS
