/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftranscriber's decoding, one window at a time
 * (or, through the shared queue, several streams' windows at once).
 *
 * Private to the plugin. The task of the model the buffers name decides
 * the decoder: greedy CTC for a CTC task, Whisper generation (as its
 * generation_config.json says) for a transcribe task. Each window's words or segments (times in stream
 * seconds) go through graphs/post/transcript.h, which drops what
 * overlapping windows repeat.
 */
#pragma once

#include <gst/gst.h>

#include "graphs/families/whisper.h"
#include "graphs/post/ctc.h"
#include "graphs/post/transcript.h"
#include "graphs/task.h"
#include "gstsfbatcher.h"

G_BEGIN_DECLS

typedef struct
{
  SfTask *task;             /* of the model the buffers name */
  SfCtcDecoder *ctc;        /* CTC tasks; NULL for Whisper */
  SfTranscript *transcript; /* words (CTC) or segments (Whisper) */
  /* Whisper with batch-size > 1: the model's shared decoding queue; set
   * and cleared under the element's object lock */
  GstSfBatcher *batcher;
  gboolean flushed; /* the last window was withdrawn by a flush */
} GstSfTranscriberDecoder;

/* Sets @dec up for @model unless it already is, with a handle on the
 * model's shared decoding queue when @batch_size > 1 (Whisper only). FALSE
 * after posting an element error on @element: the model is not CTC or
 * Whisper. Takes @element's object lock to change dec->batcher. */
gboolean gst_sf_transcriber_decoder_use (GstSfTranscriberDecoder *dec,
    GstElement *element, SfModel *model, guint batch_size, guint timeout_ms);
void gst_sf_transcriber_decoder_clear (GstSfTranscriberDecoder *dec);

/* Decodes one window, @data [1, T, inner] (CTC logits or Whisper encoder
 * states) at @start lasting @duration seconds, the next one @hop seconds
 * later (0: unknown), and appends to @out the text that became final, one
 * item per output buffer: each Whisper segment, or the new CTC words as
 * one line. @options: Whisper only. With a batcher, the window decodes
 * together with other streams' windows; FALSE without an error and
 * dec->flushed set when a flush withdrew it. */
gboolean gst_sf_transcriber_decoder_window (GstSfTranscriberDecoder *dec,
    const SfWhisperOptions *options, const float *data, gint64 frames,
    gint64 inner, double start, double duration, double hop, GArray *out,
    GError **error);

/* At the end of a stream: appends to @out what is left, as above. */
void gst_sf_transcriber_decoder_flush (
    GstSfTranscriberDecoder *dec, GArray *out);

G_END_DECLS
