/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: the shared batching queues (see gstsfbatcher.h).
 *
 * A registry maps a task key to its queue; handles hold references and
 * the last one removes the queue, as the model cache does. A queue's lock
 * guards its pending jobs, its running flag and its handles' flushing
 * flags. Jobs live in the submitting thread's memory; a pass writes their
 * results outside the lock and marks them done under it. */
#include "gstsfbatcher.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_sf_batcher_debug);
#define GST_CAT_DEFAULT gst_sf_batcher_debug

/* What a pass of the queue runs. */
typedef enum
{
  QUEUE_TASK,      /* the task's forward pass over its inputs */
  QUEUE_DECODING,  /* Whisper windows decoded together */
  QUEUE_GENERATING /* prompts of a text generator decoded together */
} QueueKind;

typedef struct
{
  gint refcount; /* under registry_lock */
  gchar *key;
  QueueKind kind;
  SfTask *task;         /* QUEUE_TASK and QUEUE_DECODING */
  SfTextGenerator *gen; /* QUEUE_GENERATING */
  GMutex lock;
  GCond cond;     /* a pass ended, items arrived, or a handle flushes */
  GQueue pending; /* of Job, oldest first */
  gboolean running;
} BatchQueue;

struct GstSfBatcher
{
  BatchQueue *queue;
  guint batch_size;
  gint64 timeout; /* µs */
  gboolean flushing;
};

typedef struct
{
  const GstSfBatchInput *input;
  GstSfBatcher *owner;
  gint64 deadline; /* monotonic µs */
  gpointer output; /* freed with output_free () */
  GError *error;
  gboolean truncated, cancelled, done;
} Job;

static GMutex registry_lock;
static GHashTable *registry; /* key → BatchQueue */

/* How a queue's outputs are freed. */
static GDestroyNotify
output_free (const BatchQueue *queue)
{
  return queue->kind == QUEUE_GENERATING
      ? (GDestroyNotify)sf_text_generation_free
      : (GDestroyNotify)sf_tensor_unref;
}

/* The queue named @key (transfer full) of @kind, for @task or (taking it)
 * @gen. */
static BatchQueue *
queue_get (gchar *key, QueueKind kind, SfTask *task, SfTextGenerator *gen)
{
  BatchQueue *queue;

  g_mutex_lock (&registry_lock);
  if (registry == NULL) {
    registry = g_hash_table_new (g_str_hash, g_str_equal);
    GST_DEBUG_CATEGORY_INIT (gst_sf_batcher_debug, "sfbatcher", 0,
        "Streamformer shared batching queues");
  }
  queue = g_hash_table_lookup (registry, key);
  if (queue == NULL) {
    queue = g_new0 (BatchQueue, 1);
    queue->key = g_steal_pointer (&key);
    queue->kind = kind;
    queue->task = task ? sf_task_ref (task) : NULL;
    queue->gen = g_steal_pointer (&gen);
    g_mutex_init (&queue->lock);
    g_cond_init (&queue->cond);
    g_queue_init (&queue->pending);
    g_hash_table_insert (registry, queue->key, queue);
  }
  queue->refcount++;
  g_mutex_unlock (&registry_lock);
  g_free (key);
  sf_text_generator_free (gen);
  return queue;
}

static void
queue_unref (BatchQueue *queue)
{
  g_mutex_lock (&registry_lock);
  if (--queue->refcount > 0) {
    g_mutex_unlock (&registry_lock);
    return;
  }
  g_hash_table_remove (registry, queue->key);
  g_mutex_unlock (&registry_lock);
  /* No handle is left, so no thread waits and nothing is pending. */
  if (queue->task != NULL)
    sf_task_unref (queue->task);
  sf_text_generator_free (queue->gen);
  g_mutex_clear (&queue->lock);
  g_cond_clear (&queue->cond);
  g_free (queue->key);
  g_free (queue);
}

static GstSfBatcher *
batcher_new (BatchQueue *queue, guint batch_size, guint timeout_ms)
{
  GstSfBatcher *batcher = g_new0 (GstSfBatcher, 1);

  batcher->queue = queue;
  batcher->batch_size = MAX (batch_size, 1);
  batcher->timeout = (gint64)timeout_ms * G_TIME_SPAN_MILLISECOND;
  return batcher;
}

GstSfBatcher *
gst_sf_batcher_new (SfTask *task, const SfTaskOptions *options,
    guint batch_size, guint timeout_ms)
{
  SfModel *model = sf_task_model (task);
  gchar *key = g_strdup_printf ("%s|%s|%d|%d|%d|%u", sf_model_dir (model),
      sf_precision_name (sf_model_precision (model)), (int)sf_task_input (task),
      (int)options->pooling, options->normalize, options->max_length);

  return batcher_new (
      queue_get (key, QUEUE_TASK, task, NULL), batch_size, timeout_ms);
}

GstSfBatcher *
gst_sf_batcher_new_decoding (SfTask *task, guint batch_size, guint timeout_ms)
{
  SfModel *model = sf_task_model (task);
  gchar *key = g_strdup_printf ("%s|%s|decoding", sf_model_dir (model),
      sf_precision_name (sf_model_precision (model)));

  return batcher_new (
      queue_get (key, QUEUE_DECODING, task, NULL), batch_size, timeout_ms);
}

GstSfBatcher *
gst_sf_batcher_new_generating (
    SfModel *model, guint batch_size, guint timeout_ms, GError **error)
{
  /* the queue keeps the first handle's generator; it reads the model's
   * own settings only, so every handle's would be the same */
  SfTextGenerator *gen = sf_text_generator_new (model, error);
  gchar *key;

  if (gen == NULL)
    return NULL;
  key = g_strdup_printf ("%s|%s|generating", sf_model_dir (model),
      sf_precision_name (sf_model_precision (model)));
  return batcher_new (
      queue_get (key, QUEUE_GENERATING, NULL, gen), batch_size, timeout_ms);
}

void
gst_sf_batcher_free (GstSfBatcher *batcher)
{
  if (batcher == NULL)
    return;
  queue_unref (batcher->queue);
  g_free (batcher);
}

void
gst_sf_batcher_set_flushing (GstSfBatcher *batcher, gboolean flushing)
{
  BatchQueue *queue = batcher->queue;

  g_mutex_lock (&queue->lock);
  batcher->flushing = flushing;
  g_cond_broadcast (&queue->cond);
  g_mutex_unlock (&queue->lock);
}

/* (transfer full) each window's token ids, I64 [1, n], or NULL. */
static GPtrArray *
run_decoding (SfTask *task, Job **jobs, guint n, GError **error)
{
  g_autofree const SfTensor **states = g_new (const SfTensor *, n);
  g_autofree const SfWhisperOptions **options =
      g_new (const SfWhisperOptions *, n);
  g_autofree GArray **ids = g_new (GArray *, n);
  GPtrArray *outs = NULL;

  for (guint i = 0; i < n; i++) {
    states[i] = jobs[i]->input->states;
    options[i] = jobs[i]->input->whisper;
    ids[i] = g_array_new (FALSE, FALSE, sizeof (gint64));
  }
  if (sf_whisper_generate_batch (
          sf_task_model (task), states, options, n, ids, error)) {
    outs = g_ptr_array_new_full (n, (GDestroyNotify)sf_tensor_unref);
    for (guint i = 0; i < n; i++)
      g_ptr_array_add (outs,
          sf_tensor_new_from_data (SF_DTYPE_I64, 2,
              (const gint64[]){ 1, ids[i]->len }, ids[i]->data));
  }
  for (guint i = 0; i < n; i++)
    g_array_unref (ids[i]);
  return outs;
}

/* (transfer full) each prompt's SfTextGeneration, or NULL. */
static GPtrArray *
run_generating (SfTextGenerator *gen, Job **jobs, guint n, GError **error)
{
  g_autofree SfTextPrompt *prompts = g_new (SfTextPrompt, n);
  GPtrArray *outs =
      g_ptr_array_new_full (n, (GDestroyNotify)sf_text_generation_free);

  for (guint i = 0; i < n; i++)
    prompts[i] = (SfTextPrompt){ jobs[i]->input->text, jobs[i]->input->prefix,
      jobs[i]->input->generation };
  g_ptr_array_set_size (outs, n);
  if (!sf_text_generator_run_batch (
          gen, prompts, n, (SfTextGeneration **)outs->pdata, error))
    g_clear_pointer (&outs, g_ptr_array_unref);
  return outs;
}

/* (transfer full) the outputs of @jobs as one pass, or NULL. */
static GPtrArray *
run_pass (
    BatchQueue *queue, Job **jobs, guint n, gboolean *truncated, GError **error)
{
  SfTask *task = queue->task;

  if (queue->kind == QUEUE_DECODING)
    return run_decoding (task, jobs, n, error);
  if (queue->kind == QUEUE_GENERATING)
    return run_generating (queue->gen, jobs, n, error);
  switch (sf_task_input (task)) {
    case SF_MODALITY_TEXT: {
      g_autofree const char **texts = g_new (const char *, n);

      for (guint i = 0; i < n; i++)
        texts[i] = jobs[i]->input->text;
      return sf_task_run_texts (task, texts, n, truncated, error);
    }
    case SF_MODALITY_IMAGE: {
      g_autofree SfImage **images = g_new (SfImage *, n);

      for (guint i = 0; i < n; i++)
        images[i] = jobs[i]->input->image;
      return sf_task_run_images (task, images, n, error);
    }
    case SF_MODALITY_AUDIO: {
      g_autofree const float **windows = g_new (const float *, n);
      g_autofree gsize *lengths = g_new (gsize, n);

      for (guint i = 0; i < n; i++) {
        windows[i] = jobs[i]->input->samples;
        lengths[i] = jobs[i]->input->n_samples;
      }
      return sf_task_run_audio (task, windows, lengths, n, error);
    }
    default: break;
  }
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NOT_IMPLEMENTED,
      "the task takes no input that can be batched");
  return NULL;
}

/* Runs @jobs (outside the queue lock) and stores each one's result. A
 * failed batch runs again item by item, so that only the bad ones fail. */
static void
run_jobs (BatchQueue *queue, Job **jobs, guint n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) outs = NULL;
  gboolean truncated = FALSE;

  outs = run_pass (queue, jobs, n, &truncated, &error);
  if (outs == NULL && n > 1) {
    for (guint i = 0; i < n; i++)
      run_jobs (queue, jobs + i, 1);
    return;
  }
  for (guint i = 0; i < n; i++) {
    jobs[i]->truncated = truncated;
    if (outs != NULL)
      jobs[i]->output = g_steal_pointer (&outs->pdata[i]);
    else
      jobs[i]->error = g_error_copy (error);
  }
}

/* The earliest deadline of the pending jobs (queue lock held). */
static gint64
earliest_deadline (BatchQueue *queue)
{
  gint64 first = G_MAXINT64;

  for (GList *l = queue->pending.head; l != NULL; l = l->next)
    first = MIN (first, ((Job *)l->data)->deadline);
  return first;
}

/* Withdraws @batcher's pending jobs (queue lock held). */
static void
withdraw (BatchQueue *queue, GstSfBatcher *batcher)
{
  GList *l = queue->pending.head;

  while (l != NULL) {
    GList *next = l->next;
    Job *job = l->data;

    if (job->owner == batcher) {
      job->cancelled = job->done = TRUE;
      g_queue_delete_link (&queue->pending, l);
    }
    l = next;
  }
}

static gboolean
all_done (const Job *jobs, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (!jobs[i].done)
      return FALSE;
  }
  return TRUE;
}

/* Takes up to batch-size jobs from the head and runs them (queue lock
 * held on entry and exit, released during the pass). */
static void
take_and_run (BatchQueue *queue, guint batch_size)
{
  guint n = MIN (batch_size, queue->pending.length);
  g_autofree Job **batch = g_new (Job *, n);
  gint64 began;

  for (guint i = 0; i < n; i++)
    batch[i] = g_queue_pop_head (&queue->pending);
  queue->running = TRUE;
  GST_LOG ("%s: a pass of %u items, %u left queued", queue->key, n,
      queue->pending.length);
  g_mutex_unlock (&queue->lock);
  began = g_get_monotonic_time ();
  run_jobs (queue, batch, n);
  GST_LOG ("%s: the pass of %u items took %.1f ms", queue->key, n,
      (g_get_monotonic_time () - began) / 1000.0);
  g_mutex_lock (&queue->lock);
  for (guint i = 0; i < n; i++)
    batch[i]->done = TRUE;
  queue->running = FALSE;
  g_cond_broadcast (&queue->cond);
}

/* (transfer full) the outputs of @jobs in order, or NULL. */
static GPtrArray *
collect (BatchQueue *queue, Job *jobs, guint n, gboolean *truncated,
    gboolean *flushing, GError **error)
{
  g_autoptr (GPtrArray) outs = g_ptr_array_new_full (n, output_free (queue));
  gboolean ok = TRUE;

  for (guint i = 0; i < n; i++) {
    Job *job = &jobs[i];

    if (job->cancelled)
      *flushing = TRUE;
    else if (job->error != NULL && ok)
      g_propagate_error (error, g_steal_pointer (&job->error));
    ok = ok && !job->cancelled && job->output != NULL;
    if (job->truncated && truncated != NULL)
      *truncated = TRUE;
    g_ptr_array_add (outs, job->output);
    g_clear_error (&job->error);
  }
  if (!ok && !*flushing && error != NULL && *error == NULL)
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_FAILED,
        "the model gave no output");
  if (!ok)
    return NULL;
  return g_steal_pointer (&outs);
}

GPtrArray *
gst_sf_batcher_run (GstSfBatcher *batcher, const GstSfBatchInput *inputs,
    guint n, gboolean *truncated, gboolean *flushing, GError **error)
{
  BatchQueue *queue = batcher->queue;
  g_autofree Job *jobs = g_new0 (Job, n);
  gint64 deadline = g_get_monotonic_time () + batcher->timeout;

  *flushing = FALSE;
  if (truncated != NULL)
    *truncated = FALSE;
  g_mutex_lock (&queue->lock);
  for (guint i = 0; i < n; i++) {
    jobs[i] = (Job){ &inputs[i], batcher, deadline };
    if (batcher->flushing)
      jobs[i].cancelled = jobs[i].done = TRUE;
    else
      g_queue_push_tail (&queue->pending, &jobs[i]);
  }
  g_cond_broadcast (&queue->cond);
  while (!all_done (jobs, n)) {
    gint64 first;

    if (batcher->flushing) { /* wait only for jobs already in a pass */
      withdraw (queue, batcher);
      if (!all_done (jobs, n))
        g_cond_wait (&queue->cond, &queue->lock);
      continue;
    }
    if (queue->running || queue->pending.length == 0) {
      g_cond_wait (&queue->cond, &queue->lock);
      continue;
    }
    first = earliest_deadline (queue);
    if (queue->pending.length >= batcher->batch_size
        || first <= g_get_monotonic_time ())
      take_and_run (queue, batcher->batch_size);
    else
      g_cond_wait_until (&queue->cond, &queue->lock, first);
  }
  g_mutex_unlock (&queue->lock);
  return collect (queue, jobs, n, truncated, flushing, error);
}

void
gst_sf_batcher_install_properties (
    GObjectClass *klass, guint size_prop, guint timeout_prop)
{
  g_object_class_install_property (klass, size_prop,
      g_param_spec_uint ("batch-size", "Batch size",
          "The most items one forward pass may take. Above 1, every element "
          "of the process that runs the same model, task and options shares "
          "one queue, so items of several streams run together "
          "(1 = the element runs on its own)",
          1, GST_SF_BATCH_SIZE_MAX, GST_SF_BATCH_SIZE_DEFAULT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass, timeout_prop,
      g_param_spec_uint ("batch-timeout-ms", "Batch timeout",
          "How long, in milliseconds, the first queued item may wait for "
          "others to fill a batch (0 = never wait: run what is queued; "
          "items still gather while a pass runs)",
          0, 60000, GST_SF_BATCH_TIMEOUT_DEFAULT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
}
