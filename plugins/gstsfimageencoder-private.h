/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfimageencoder's state, shared by the element
 * (gstsfimageencoder.c: properties, states, frames) and its caps
 * (gstsfimageencoder-caps.c). Private to the plugin. */
#pragma once

#include <gst/base/gstbasetransform.h>

#include "gstsfbatcher.h"
#include "gstsfelement.h"
#include "gstsfimageencoder.h"
#include "gstsflatency.h"
#include "gstsfmodel.h"
#include "gstsfvideo.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_image_encoder_debug);

struct _GstSfImageEncoder
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *model_path;
  SfPrecision precision;
  guint interval;
  guint batch_size, batch_timeout_ms;

  /* between start() and stop(), under the object lock: caps queries run
   * in other threads and hold their own reference */
  SfTask *task;
  GstSfBatcher *batcher; /* batch-size > 1: the model's shared queue */

  /* streaming state */
  GstVideoInfo vinfo; /* negotiated input */
  gsize out_bytes;    /* of the negotiated output tensor */
  SfTensor *last;     /* last output [1, ...], reused between inferences */
  guint64 n_frames;   /* frames since the last (re)negotiation */
  GstSfLatency latency;
};

/* GstBaseTransform::transform_caps and ::set_caps. */
GstCaps *gst_sf_image_encoder_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter);
gboolean gst_sf_image_encoder_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps);

G_END_DECLS
