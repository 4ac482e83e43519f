/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftranscriber's state, shared by the element
 * (gstsftranscriber.c: properties, states, caps and events) and its
 * handling of each window (gstsftranscriber-run.c). Private to the
 * plugin. */
#pragma once

#include "gstsfelement.h"
#include "gstsflatency.h"
#include "gstsfmodel.h"
#include "gstsftranscriber-decode.h"
#include "gstsftranscriber.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_transcriber_debug);

struct _GstSfTranscriber
{
  GstElement parent;

  GstPad *sinkpad;
  GstSfSrc src;

  /* properties, under the object lock */
  guint max_new_tokens;
  gboolean timestamps;
  gchar *language;
  guint batch_size, batch_timeout_ms;

  GstSfTranscriberDecoder dec; /* of the model the buffers name */

  /* from the sink caps */
  GstSfTensorsInfo in_info;
  double hop; /* seconds between windows; 0 when unknown */

  GstClockTime last_pts;
  guint64 n_windows;
  GstSfLatency latency; /* decoding time per window */
};

/* Sets the decoder up for @model, with the batch settings in use. FALSE
 * after an element error. */
gboolean gst_sf_transcriber_use_model (GstSfTranscriber *self, SfModel *model);

/* Sends the text caps, then a segment that waited for them. */
gboolean gst_sf_transcriber_push_caps (GstSfTranscriber *self);

/* Pushes the buffers of the decoder's output, in order. */
GstFlowReturn gst_sf_transcriber_emit_pieces (
    GstSfTranscriber *self, GArray *pieces);

/* The sink pad's chain function: decodes the buffer's window. */
GstFlowReturn gst_sf_transcriber_chain (
    GstPad *pad, GstObject *parent, GstBuffer *buffer);

G_END_DECLS
