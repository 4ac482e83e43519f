/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftextgenerator's state, shared by the element
 * (gstsftextgenerator.c: properties, states, events) and the generating
 * and pushing of its results (gstsftextgenerator-run.c). Private to the
 * plugin. */
#pragma once

#include "graphs/textgen.h"
#include "gstsfbatcher.h"
#include "gstsfelement.h"
#include "gstsftextgenerator.h"
#include "gstsftextlines.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_text_generator_debug);

/* do-sample: the checkpoint's choice, or the user's */
typedef enum
{
  GST_SF_SAMPLE_AUTO,
  GST_SF_SAMPLE_FALSE,
  GST_SF_SAMPLE_TRUE,
} GstSfSampleChoice;

/* What the properties ask for; 0 (-1 for top-k and the n-gram size) and
 * NULL keep the checkpoint's value. */
typedef struct
{
  guint max_new_tokens, num_beams;
  GstSfSampleChoice do_sample;
  gdouble temperature, top_p, repetition_penalty;
  gint top_k, no_repeat_ngram_size;
  guint64 seed;
  gchar *prefix;
  gboolean stream;
} GstSfGenerateSettings;

struct _GstSfTextGenerator
{
  GstElement parent;

  GstPad *sinkpad;
  GstSfSrc src;

  /* properties, under the object lock */
  gchar *model_path;
  SfPrecision precision;
  GstSfTextSplit split;
  GstSfGenerateSettings settings;
  guint batch_size, batch_timeout_ms;

  /* between READY and PAUSED */
  SfTextGenerator *gen;
  /* batch-size > 1: the model's shared generating queue; set and cleared
   * under the object lock */
  GstSfBatcher *batcher;
  GstSfTextSplit cur_split;
  GstSfLineSplitter lines;  /* of the current stream */
  GstSfLineStreams streams; /* the others' (funnel) */
  GstSfTextClock clock;
  gboolean posted_error;
};

/* Pushes the src caps unless they are already set. */
gboolean gst_sf_text_generator_push_caps (GstSfTextGenerator *self);

/* Generates from each of @items (GstSfTextItem) in turn, or through the
 * shared queue, and pushes the results in order; empties @items. */
GstFlowReturn gst_sf_text_generator_process (
    GstSfTextGenerator *self, GArray *items);

G_END_DECLS
