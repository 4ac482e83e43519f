/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: one batching queue per model, shared by elements.
 *
 * Every element in the process that runs the same task (same checkpoint
 * folder, modality and options) with batch-size > 1 submits its items to
 * one queue, so that items of many streams go through one forward pass.
 * Decoding (sftranscriber on Whisper) has its own queue per checkpoint:
 * a pass there decodes its windows together until the last one ends.
 * Text generation (sftextgenerator) has one too: a pass decodes its
 * prompts together, greedy ones as one batch per step.
 *
 * There is no worker thread: a submitting streaming thread waits, and the
 * thread that fills a batch (batch-size items queued) or whose wait reaches
 * the first item's deadline (batch-timeout-ms after it was queued) takes
 * up to batch-size items from the head and runs them, one pass at a time
 * per queue. While a pass runs, new items queue up, so with a timeout of 0
 * a busy model still batches whatever arrived meanwhile. Each thread then
 * reads back its own outputs, in its own order, and pushes them itself:
 * no thread ever pushes another element's buffers.
 *
 * A thread never waits past its items' deadline unless a pass holding its
 * items is running, so a wait is bounded by batch-timeout-ms plus one
 * pass. Setting an element's handle flushing (flush, state change to
 * READY) withdraws its queued items at once; items already in a pass are
 * waited for, since the pass reads their inputs. When a batch of several
 * items fails, each item runs again alone, so one stream's bad input does
 * not fail the others.
 */
#pragma once

#include <gst/gst.h>

#include "graphs/families/whisper.h"
#include "graphs/task.h"
#include "graphs/textgen.h"

G_BEGIN_DECLS

/* One input, of the task's modality. Borrowed until the run returns. */
typedef struct
{
  const gchar *text;    /* text tasks */
  SfImage *image;       /* image tasks */
  const float *samples; /* audio tasks: mono at the task's rate */
  gsize n_samples;
  /* decoding queues (gst_sf_batcher_new_decoding): a Whisper window's
   * encoder states F32 [1, S, D] and its options (nullable) */
  const SfTensor *states;
  const SfWhisperOptions *whisper;
  /* generating queues (gst_sf_batcher_new_generating): @text is the
   * prompt; its prefix and settings (both nullable: the checkpoint's) */
  const char *prefix;
  const SfGenerationConfig *generation;
} GstSfBatchInput;

/* An element's handle on the shared queue of its task. */
typedef struct GstSfBatcher GstSfBatcher;

/* (transfer full) a handle on the queue of @task run with @options (the
 * queue is keyed by the model's folder, modality and options), taking at
 * most @batch_size items per pass and letting an item wait @timeout_ms for
 * others. */
GstSfBatcher *gst_sf_batcher_new (SfTask *task, const SfTaskOptions *options,
    guint batch_size, guint timeout_ms);
/* (transfer full) a handle on the decoding queue of @task's model
 * (Whisper): its items are windows' encoder states, and a pass decodes
 * them together (sf_whisper_generate_batch), each output the window's
 * token ids, I64 [1, n]. Separate from the model's encoding queue. */
GstSfBatcher *gst_sf_batcher_new_decoding (
    SfTask *task, guint batch_size, guint timeout_ms);
/* (transfer full) a handle on the text-generation queue of @model (GPT-2,
 * BART, T5), keyed by its folder and precision: a pass generates from its
 * prompts together (sf_text_generator_run_batch), each output an
 * SfTextGeneration. NULL with @error when @model does not generate text. */
GstSfBatcher *gst_sf_batcher_new_generating (
    SfModel *model, guint batch_size, guint timeout_ms, GError **error);
void gst_sf_batcher_free (GstSfBatcher *batcher); /* accepts NULL */

/* While flushing, queued items are withdrawn and runs return at once. */
void gst_sf_batcher_set_flushing (GstSfBatcher *batcher, gboolean flushing);

/* Runs @n inputs through the shared queue and returns (transfer full) @n
 * outputs in input order, or NULL with @error: tensors [1, ...] (F32; I64
 * ids for a decoding queue), or SfTextGeneration for a generating queue.
 * A run cut short by flushing sets *@flushing and no error. Sets
 * *@truncated (nullable) when a text may have been cut to max-length. */
GPtrArray *gst_sf_batcher_run (GstSfBatcher *batcher,
    const GstSfBatchInput *inputs, guint n, gboolean *truncated,
    gboolean *flushing, GError **error);

/* Element properties: batch-size and batch-timeout-ms. */
#define GST_SF_BATCH_SIZE_DEFAULT 1
#define GST_SF_BATCH_SIZE_MAX 256
#define GST_SF_BATCH_TIMEOUT_DEFAULT 0
void gst_sf_batcher_install_properties (
    GObjectClass *klass, guint size_prop, guint timeout_prop);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstSfBatcher, gst_sf_batcher_free)

G_END_DECLS
