/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sfaudioencoder's state, shared by the element
 * (gstsfaudioencoder.c: pads, events, queries) and the running of its
 * windows (gstsfaudioencoder-run.c). Private to the plugin. */
#pragma once

#include "gstsfaudioencoder.h"
#include "gstsfaudiowindows.h"
#include "gstsfbatcher.h"
#include "gstsfelement.h"
#include "gstsflatency.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_audio_encoder_debug);

struct _GstSfAudioEncoder
{
  GstElement parent;

  GstPad *sinkpad;
  GstSfSrc src;

  /* properties, under the object lock */
  gchar *model_path;
  SfPrecision precision;
  guint window_ms;
  guint hop_ms;
  guint batch_size, batch_timeout_ms;

  /* set in start(); task and caps under the object lock for queries */
  SfTask *task;
  GstCaps *caps;           /* of a whole window */
  GstClockTime held;       /* one window: how long data waits for its end */
  GstClockTime hop_time;   /* the compute time assumed before measuring */
  GstSfLatency processing; /* measured per batch of windows */
  GstSfAudioWindows windows;
  GstSfBatcher *batcher; /* batch-size > 1: the model's shared queue */

  /* streaming state */
  gboolean have_format;
  /* the last format refused with an error (0: none), under the object lock */
  gint refused_rate, refused_channels;
  gboolean discont;    /* the next buffer follows a gap */
  gboolean warned_nan; /* this stream */
  GstAudioInfo info;   /* the input's, once have_format */

  /* streams through a funnel (gstsfaudioencoder-streams.c) */
  gchar *stream_id;       /* of the current windows; NULL before one */
  GstEvent *stream_start; /* its stream-start */
  GHashTable *parked;     /* stream id -> the windows of another stream */
};

/* Takes @task (transfer full) and fixes the windows: the front-end's
 * natural window unless @window_ms says otherwise (0: natural), never
 * longer for models that pad; hops of @hop_ms (0: the window). Sets the
 * latency and the caps of a whole window. FALSE after an element error. */
gboolean gst_sf_audio_encoder_configure (
    GstSfAudioEncoder *self, SfTask *task, guint window_ms, guint hop_ms);

/* Streams apart: the table of parked streams (init, clear), forgetting
 * them (a flush, stop). */
void gst_sf_audio_encoder_streams_init (GstSfAudioEncoder *self);
void gst_sf_audio_encoder_streams_clear (GstSfAudioEncoder *self);
void gst_sf_audio_encoder_streams_reset (GstSfAudioEncoder *self);
/* At a stream-start (@event, transfer none): that stream's windows become
 * the current ones, those of the stream before are parked. */
void gst_sf_audio_encoder_switch_stream (
    GstSfAudioEncoder *self, GstEvent *event);
/* At EOS, before the current stream's tail: each parked stream's windows
 * and tail, after its stream-start; then the current stream-start again. */
GstFlowReturn gst_sf_audio_encoder_finish_parked (GstSfAudioEncoder *self);

/* The sink pad's caps (gstsfaudioencoder-caps.c): accepts F32LE or S16LE
 * mono at the model's rate and sends the output caps; a caps or
 * accept-caps query answers with the model's rate. FALSE after an element
 * error that says what the model needs. */
gboolean gst_sf_audio_encoder_set_caps (GstSfAudioEncoder *self, GstCaps *caps);
gboolean gst_sf_audio_encoder_sink_query (
    GstPad *pad, GstObject *parent, GstQuery *query);

/* Runs and pushes every complete window; with @eos, then the tail. */
GstFlowReturn gst_sf_audio_encoder_process (
    GstSfAudioEncoder *self, gboolean eos);

G_END_DECLS
