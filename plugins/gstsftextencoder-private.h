/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftextencoder's state, shared by the element
 * (gstsftextencoder.c: properties, states, events) and the encoding and
 * pushing of its texts (gstsftextencoder-run.c). Private to the plugin. */
#pragma once

#include "gstsfbatcher.h"
#include "gstsfelement.h"
#include "gstsflatency.h"
#include "gstsfmodel.h"
#include "gstsftextencoder.h"
#include "gstsftextlines.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_text_encoder_debug);

/* Texts encoded together in one pass when the element runs on its own
 * (batch-size 1). */
#define MAX_BATCH 16

struct _GstSfTextEncoder
{
  GstElement parent;

  /* properties, under the object lock */
  gchar *model_path;
  SfPrecision precision;
  GstSfTextSplit split;
  SfTaskOptions options; /* normalize -1 until set */
  guint batch_size, batch_timeout_ms;

  SfTask *task; /* set in start() under the object lock: caps queries */
  /* streaming state */
  GstSfTextSplit cur_split;
  guint cur_max_length;
  guint batch;
  GstSfBatcher *batcher;    /* batch-size > 1: the model's shared queue */
  GstSfLineSplitter lines;  /* of the current stream */
  GstSfLineStreams streams; /* the others' (funnel) */
  GstSfTextClock clock;
  gboolean warned_utf8, warned_cut;
  gboolean posted_error; /* an element error already says what failed */
  GstSfSrc src;
  GstSfLatency latency; /* encoding time per batch */
};

/* (transfer full) the output caps unless they depend on the text. */
GstCaps *gst_sf_text_encoder_fixed_caps (GstSfTextEncoder *self);

/* Encodes and pushes @items in batches, then empties the array. */
GstFlowReturn gst_sf_text_encoder_process (
    GstSfTextEncoder *self, GArray *items);

G_END_DECLS
