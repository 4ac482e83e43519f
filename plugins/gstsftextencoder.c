/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sftextencoder
 * @title: sftextencoder
 *
 * Tokenises text and runs a Hugging Face text encoder (BERT, DistilBERT,
 * RoBERTa, XLM-RoBERTa, CLIP text) from a checkpoint folder. Each line of
 * input (or each buffer, with split=buffer) becomes one buffer of
 * `other/tensors`:
 *
 * - logits, dimensions "num_labels:1", when the checkpoint has a
 *   classification head and pooling is auto;
 * - the projected, L2-normalised text embedding, dimensions "P:1", for a
 *   CLIP checkpoint with pooling=auto (what sfsimilarity takes);
 * - a sentence embedding, dimensions "H:1", with pooling=cls or mean, or
 *   with pooling=auto when the checkpoint names its own pooling
 *   (sentence-transformers);
 * - the last hidden state, dimensions "H:T:1", with pooling=none. T is the
 *   token count of each line, so the caps are renegotiated when it changes.
 *
 * Every output buffer carries a GstSfTensorMeta naming the model and the
 * line's text, which sfclassifier and sfjsonsink use.
 *
 * Timestamps: with split=buffer an output takes its input's pts and
 * duration. With split=lines a line takes the pts of the buffer in which it
 * began, without a duration. When the input has no timestamps, the element
 * counts lines instead: line n gets pts n seconds and a duration of one
 * second. Output pts always increase: a line that would not be later than
 * the previous one is moved 1 ns after it.
 *
 * Invalid UTF-8 (and NUL bytes) are replaced by U+FFFD, with one element
 * warning per stream. Texts over the model's token limit (or max-length)
 * are truncated with a debug warning. Empty lines are skipped. A line of
 * more than 1 MiB (1048576 bytes, far more than any token limit needs) is
 * cut there, at a UTF-8 boundary, with one element warning per stream;
 * the rest continues as the next text, so a stream without newlines runs
 * in bounded memory.
 *
 * Several streams through one funnel are kept apart: each stream-start
 * switches to that stream's own unfinished line, so a line never joins the
 * text of two streams. At EOS the unfinished lines of the other streams
 * are encoded too, each after its stream-start event.
 *
 * What each text becomes follows from the checkpoint and the pooling,
 * normalize and max-length properties exactly as in `streamformer run`.
 * Fixed output caps are pushed before the first text.
 *
 * Batching: with batch-size 1 (the default) the element runs on its own
 * and encodes the lines of one buffer together, up to 16 per pass. With
 * batch-size N > 1, every sftextencoder of the process with the same model
 * folder, pooling, normalize and max-length shares one queue: the lines of
 * all their streams go through passes of up to N texts. BERT, RoBERTa,
 * XLM-RoBERTa, DistilBERT and CLIP run the texts of a pass packed, without
 * padding: every layer but attention runs on their real tokens only, and
 * attention on each text's own length, so per-token outputs
 * (pooling=none) batch too. Other models sort the texts into buckets of
 * similar token counts, padded with attention masks. An item waits at most
 * batch-timeout-ms for others (0: run at once what is queued). Each
 * element gets its own outputs back, in order, with its own
 * timestamps. A flush or a state change to READY withdraws the element's
 * waiting lines at once without touching the other streams.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=reviews.txt ! sftextencoder model=./sst2 ! sfclassifier top-k=2 ! sfjsonsink location=labels.jsonl
 * ]| Classifies each line of reviews.txt and writes one JSON object per line.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftextencoder-private.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME
            ", format = (string) static, "
            "num_tensors = (int) 1, types = (string) float32, "
            "framerate = (fraction) [ 0/1, 2147483647/1 ]"));

GST_DEBUG_CATEGORY (gst_sf_text_encoder_debug);
#define GST_CAT_DEFAULT gst_sf_text_encoder_debug

#define DEFAULT_SPLIT GST_SF_TEXT_SPLIT_LINES
#define DEFAULT_NORMALIZE FALSE

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_PRECISION,
  PROP_SPLIT,
  PROP_MAX_LENGTH,
  PROP_POOLING,
  PROP_NORMALIZE,
  PROP_LATENCY_MS,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT_MS,
};

#define gst_sf_text_encoder_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfTextEncoder, gst_sf_text_encoder,
    GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_sf_text_encoder_debug, "sftextencoder", 0,
        "Streamformer text encoder"));
GST_ELEMENT_REGISTER_DEFINE (
    sftextencoder, "sftextencoder", GST_RANK_NONE, GST_TYPE_SF_TEXT_ENCODER);

static void
gst_sf_text_encoder_finalize (GObject *object)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (object);

  g_free (self->model_path);
  gst_sf_line_splitter_clear (&self->lines);
  gst_sf_line_streams_clear (&self->streams);
  sf_task_unref (self->task);
  gst_sf_batcher_free (self->batcher);
  gst_sf_src_reset (&self->src);
  gst_sf_latency_clear (&self->latency);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_text_encoder_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_PRECISION: self->precision = g_value_get_enum (value); break;
    case PROP_SPLIT: self->split = g_value_get_enum (value); break;
    case PROP_MAX_LENGTH:
      self->options.max_length = g_value_get_uint (value);
      break;
    case PROP_POOLING: self->options.pooling = g_value_get_enum (value); break;
    case PROP_NORMALIZE:
      self->options.normalize = g_value_get_boolean (value);
      break;
    case PROP_LATENCY_MS:
      gst_sf_latency_set_pinned (&self->latency, value);
      break;
    case PROP_BATCH_SIZE: self->batch_size = g_value_get_uint (value); break;
    case PROP_BATCH_TIMEOUT_MS:
      self->batch_timeout_ms = g_value_get_uint (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_text_encoder_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string (value, self->model_path); break;
    case PROP_PRECISION: g_value_set_enum (value, self->precision); break;
    case PROP_SPLIT: g_value_set_enum (value, self->split); break;
    case PROP_MAX_LENGTH:
      g_value_set_uint (value, self->options.max_length);
      break;
    case PROP_POOLING: g_value_set_enum (value, self->options.pooling); break;
    case PROP_NORMALIZE:
      g_value_set_boolean (value, self->options.normalize == 1);
      break;
    case PROP_LATENCY_MS:
      gst_sf_latency_get_pinned (&self->latency, value);
      break;
    case PROP_BATCH_SIZE: g_value_set_uint (value, self->batch_size); break;
    case PROP_BATCH_TIMEOUT_MS:
      g_value_set_uint (value, self->batch_timeout_ms);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_text_encoder_reset (GstSfTextEncoder *self)
{
  gst_sf_line_splitter_reset (&self->lines);
  gst_sf_line_streams_reset (&self->streams);
  gst_sf_text_clock_reset (&self->clock);
  self->warned_utf8 = self->warned_cut = FALSE;
  self->posted_error = FALSE;
  gst_sf_src_reset (&self->src);
}

static gboolean
gst_sf_text_encoder_start (GstSfTextEncoder *self)
{
  g_autofree gchar *path = NULL;
  SfPrecision precision;
  SfTaskOptions options;
  SfTask *task;
  guint batch_size, timeout_ms;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  precision = self->precision;
  self->cur_split = self->split;
  options = self->options;
  batch_size = self->batch_size;
  timeout_ms = self->batch_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  self->cur_max_length = options.max_length;

  task =
      gst_sf_element_load_task (GST_ELEMENT (self), path, precision, &options,
          "text encoders (BERT family, RoBERTa, CLIP text) with a tokenizer");
  if (task == NULL)
    return FALSE;
  /* Per-token outputs go one text at a time (T is each text's length)
   * unless the model runs texts packed, where no text is padded. */
  self->batch = sf_task_shape_varies (task)
          && !sf_model_takes_packed_text (sf_task_model (task))
      ? 1
      : MAX_BATCH;
  gst_sf_batcher_free (self->batcher);
  self->batcher = NULL;
  if (batch_size > 1)
    self->batcher = gst_sf_batcher_new (task, &options, batch_size, timeout_ms);
  gst_sf_text_encoder_reset (self);
  gst_sf_element_set_task (GST_ELEMENT (self), &self->task, task);
  return TRUE;
}

static GstStateChangeReturn
gst_sf_text_encoder_change_state (
    GstElement *element, GstStateChange transition)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_sf_text_encoder_start (self))
    return GST_STATE_CHANGE_FAILURE;

  /* A streaming thread waiting in the shared queue returns at once. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && self->batcher)
    gst_sf_batcher_set_flushing (self->batcher, TRUE);

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    gst_sf_batcher_free (self->batcher);
    self->batcher = NULL;
    gst_sf_text_encoder_reset (self);
    gst_sf_latency_reset (&self->latency);
    gst_sf_element_set_task (element, &self->task, NULL);
  }
  return ret;
}

static GstFlowReturn
gst_sf_text_encoder_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (parent);
  g_autoptr (GArray) items = NULL;

  if (self->task == NULL) {
    GST_ELEMENT_ERROR (self, CORE, FAILED, (NULL), ("no model loaded"));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  items = gst_sf_text_items_new ();
  if (!gst_sf_line_splitter_take (
          &self->lines, self->cur_split, buffer, items)) {
    GST_ELEMENT_ERROR (
        self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
    return GST_FLOW_ERROR;
  }
  return gst_sf_text_encoder_process (self, items);
}

/* gst_sf_text_encoder_process as the line streams call it */
static GstFlowReturn
process_lines (gpointer element, GArray *items)
{
  return gst_sf_text_encoder_process (element, items);
}

/* EOS: encodes what is left. Events carry no flow return, so a failure is
 * reported here; EOS still goes downstream so that the pipeline ends. */
static gboolean
gst_sf_text_encoder_eos (GstSfTextEncoder *self, GstEvent *event)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->task != NULL) {
    g_autoptr (GArray) items = gst_sf_text_items_new ();

    ret = gst_sf_line_streams_finish_all (
        &self->streams, items, self->src.pad, process_lines, self);
    if (ret == GST_FLOW_OK) {
      gst_sf_line_splitter_finish (&self->lines, items);
      ret = gst_sf_text_encoder_process (self, items);
    }
  }
  /* Whoever returns ERROR posts it; not-linked/negotiated need one. */
  if (ret < GST_FLOW_EOS && ret != GST_FLOW_ERROR && ret != GST_FLOW_FLUSHING
      && !self->posted_error)
    GST_ELEMENT_FLOW_ERROR (self, ret);
  return gst_sf_src_push_eos (&self->src, event, ret) >= GST_FLOW_EOS;
}

static gboolean
gst_sf_text_encoder_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      g_autoptr (GstCaps) caps = gst_sf_text_encoder_fixed_caps (self);

      /* The output caps follow from the model, not from the text caps. */
      gst_event_unref (event);
      return caps == NULL || gst_sf_src_push_caps (&self->src, caps);
    }
    case GST_EVENT_SEGMENT: return gst_sf_src_set_segment (&self->src, event);
    case GST_EVENT_FLUSH_START:
      if (self->batcher)
        gst_sf_batcher_set_flushing (self->batcher, TRUE);
      break;
    case GST_EVENT_STREAM_START:
      gst_sf_line_streams_switch (&self->streams, &self->lines, event);
      break;
    case GST_EVENT_FLUSH_STOP:
      if (self->batcher)
        gst_sf_batcher_set_flushing (self->batcher, FALSE);
      gst_sf_line_splitter_reset (&self->lines);
      gst_sf_line_streams_reset (&self->streams);
      self->clock.last_pts = GST_CLOCK_TIME_NONE;
      break;
    case GST_EVENT_EOS: return gst_sf_text_encoder_eos (self, event);
    default: break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_sf_text_encoder_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (parent);
  g_autoptr (GstCaps) caps = NULL;

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    if (!gst_pad_query_default (pad, parent, query))
      return FALSE;
    gst_sf_latency_add_to_query (&self->latency, GST_ELEMENT (self), query, 0);
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) != GST_QUERY_CAPS)
    return gst_pad_query_default (pad, parent, query);
  caps = gst_sf_text_encoder_fixed_caps (self);
  return gst_sf_src_query_caps (&self->src, query, caps);
}

static void
gst_sf_text_encoder_class_init (GstSfTextEncoderClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_sf_text_encoder_finalize;
  gobject_class->set_property = gst_sf_text_encoder_set_property;
  gobject_class->get_property = gst_sf_text_encoder_get_property;

  gst_sf_element_install_model_property (gobject_class, PROP_MODEL,
      "a text encoder (with tokenizer.json or vocab files)");
  gst_sf_element_install_precision_property (gobject_class, PROP_PRECISION);
  g_object_class_install_property (gobject_class, PROP_SPLIT,
      g_param_spec_enum ("split", "Split",
          "How the input stream is cut into texts", GST_TYPE_SF_TEXT_SPLIT,
          DEFAULT_SPLIT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_LENGTH,
      g_param_spec_uint ("max-length", "Maximum length",
          "Tokens per text, special tokens included; longer texts are "
          "truncated (0 = the model's position limit)",
          0, G_MAXINT, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POOLING,
      g_param_spec_enum ("pooling", "Pooling",
          "What each text becomes: the checkpoint's own output, the per-token "
          "hidden states, or a pooled sentence embedding",
          GST_TYPE_SF_POOLING, SF_POOLING_AUTO,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_NORMALIZE,
      g_param_spec_boolean ("normalize", "Normalize",
          "L2-normalise pooled embeddings. Unless set explicitly, "
          "pooling=auto follows the checkpoint's own setting",
          DEFAULT_NORMALIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  gst_sf_latency_install_property (gobject_class, PROP_LATENCY_MS);
  gst_sf_batcher_install_properties (
      gobject_class, PROP_BATCH_SIZE, PROP_BATCH_TIMEOUT_MS);

  gst_element_class_set_static_metadata (element_class,
      "Streamformer text encoder", "Filter/Converter/Text",
      "Tokenises text and runs a Hugging Face text encoder checkpoint "
      "(BERT, DistilBERT, RoBERTa, XLM-RoBERTa, CLIP text) on each line, "
      "producing logits, sentence embeddings or per-token hidden states as "
      "other/tensors",
      "Streamformer contributors");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 filesrc location=messages.txt ! sftextencoder "
      "model=sentence-transformers/all-MiniLM-L6-v2 ! sfjsonsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_text_encoder_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_SF_TEXT_SPLIT, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SF_POOLING, 0);
}

static void
gst_sf_text_encoder_init (GstSfTextEncoder *self)
{
  GstPad *sinkpad, *srcpad;

  sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      sinkpad, GST_DEBUG_FUNCPTR (gst_sf_text_encoder_chain));
  gst_pad_set_event_function (
      sinkpad, GST_DEBUG_FUNCPTR (gst_sf_text_encoder_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), sinkpad);

  srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (
      srcpad, GST_DEBUG_FUNCPTR (gst_sf_text_encoder_src_query));
  gst_pad_use_fixed_caps (srcpad);
  gst_element_add_pad (GST_ELEMENT (self), srcpad);
  gst_sf_src_init (&self->src, srcpad);

  self->split = DEFAULT_SPLIT;
  self->batch_size = GST_SF_BATCH_SIZE_DEFAULT;
  self->batch_timeout_ms = GST_SF_BATCH_TIMEOUT_DEFAULT;
  self->options = (SfTaskOptions)SF_TASK_OPTIONS_INIT (SF_MODALITY_TEXT);
  gst_sf_line_splitter_init (&self->lines, GST_SF_TEXT_MAX_LINE_BYTES);
  gst_sf_line_streams_init (&self->streams);
  gst_sf_text_clock_reset (&self->clock);
  gst_sf_latency_init (&self->latency);
}
