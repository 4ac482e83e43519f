/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfaudioencoder
 * @title: sfaudioencoder
 *
 * Cuts mono audio into windows and runs a Hugging Face audio checkpoint on
 * each: the checkpoint's front-end (preprocessor_config.json), then its
 * encoder. Each window becomes one buffer of `other/tensors`:
 *
 * - AST (ASTForAudioClassification): logits, dimensions "labels:1", for
 *   sfclassifier;
 * - wav2vec2 with a CTC head: logits, dimensions "vocab:T:1", for
 *   sftranscriber (without a head: the hidden states "H:T:1");
 * - Whisper: the encoder's last hidden state, dimensions "H:T:1", which
 *   sftranscriber decodes.
 *
 * The input is audio/x-raw F32LE or S16LE, mono, at the front-end's sample
 * rate (16 kHz for all three families); put audioconvert and audioresample
 * before the element. Audio at another rate, or not mono, fails to
 * negotiate with one element error that says what the model needs and
 * what to add (also for a rate change mid-stream). A window starts every hop-ms; when hop-ms is below window-ms the
 * windows overlap. The defaults are the model's natural input, as its
 * preprocessor_config.json says: Whisper's chunk_length (30 s), the audio
 * that makes AST's max_length fbank frames (25 ms frames every 10 ms:
 * 1015 ms for 100 frames), and 5 s for wav2vec2; hop-ms defaults to
 * window-ms. A window-ms longer than the natural input of Whisper or AST
 * is cut to it, with a warning. The output framerate is one window per
 * hop; the output caps follow from the model and are sent as soon as the
 * input caps arrive.
 *
 * Batching: windows of one stream run up to four per pass. With
 * batch-size N > 1, every sfaudioencoder of the process with the same
 * model folder shares one queue, so windows of several streams
 * (microphones) run through one pass of up to N windows of equal length.
 * A window waits at most batch-timeout-ms for others (0: run at once what
 * is queued); each element gets its own results back, in order, with its
 * own timestamps. A flush or a state change to READY withdraws the
 * element's waiting windows.
 *
 * Timestamps come from the stream: a window's pts is the pts of its first
 * sample and its duration is window-ms. Without input timestamps the
 * samples are counted from 0. The first window is marked DISCONT, and so
 * is the first after a skipped one; a buffer's offset is its window's
 * number in the stream. At EOS, samples that no window has covered yet
 * make one last, shorter window. Whisper and AST pad it to their fixed
 * input as their HF feature extractors pad a short clip (Whisper with
 * silent samples, AST with padding frames), and it lasts window-ms;
 * wav2vec2, which takes any length, runs on the samples there are, so the
 * window lasts as long as they do (its caps say its own number of
 * frames). A window under 100 ms is padded with silence to 100 ms.
 *
 * Several streams through one funnel are kept apart: each stream-start
 * switches to that stream's own windows (its queued samples and timing),
 * so no window mixes the audio of two streams, and each output follows the
 * stream-start of its stream. At EOS the other streams' last windows are
 * run too, each after its stream-start event.
 *
 * A window that holds a sample that is not finite (NaN, infinity) is
 * skipped: it gives no buffer, and the element posts one warning per
 * stream saying so (its debug log names every skipped window). Silence in
 * its place would give ordinary-looking but meaningless results. Empty
 * buffers are ignored. The element reports a latency of one window plus
 * the time it takes to compute one: the longest of the recent windows
 * (plus a quarter), one hop until the first is measured, or latency-ms
 * when set; it posts a latency message when a window takes longer, so
 * live pipelines render the results in sync.
 *
 * Every output buffer carries a GstSfTensorMeta naming the model.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=commands.wav ! decodebin ! audioconvert ! audioresample ! sfaudioencoder model=samples/models/kws-ast window-ms=1000 hop-ms=250 ! sfclassifier top-k=1 ! fdsink
 * ]| Prints the most likely spoken command in every 1 s window, 4 windows
 * a second.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/audio/audio.h>

#include "gstsfelement.h"
#include "gstsfaudioencoder-private.h"
#include "gstsfmodel.h"

#define SINK_CAPS                                                              \
  "audio/x-raw, format = (string) { F32LE, S16LE }, "                          \
  "rate = (int) [ 1, 2147483647 ], channels = (int) 1, "                       \
  "layout = (string) interleaved"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (SINK_CAPS));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME
            ", format = (string) static, "
            "num_tensors = (int) 1, types = (string) float32, "
            "framerate = (fraction) [ 0/1, 2147483647/1 ]"));

GST_DEBUG_CATEGORY (gst_sf_audio_encoder_debug);
#define GST_CAT_DEFAULT gst_sf_audio_encoder_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_PRECISION,
  PROP_WINDOW_MS,
  PROP_HOP_MS,
  PROP_LATENCY_MS,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT_MS,
};

#define gst_sf_audio_encoder_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfAudioEncoder, gst_sf_audio_encoder,
    GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_sf_audio_encoder_debug, "sfaudioencoder", 0,
        "Streamformer audio encoder"));
GST_ELEMENT_REGISTER_DEFINE (
    sfaudioencoder, "sfaudioencoder", GST_RANK_NONE, GST_TYPE_SF_AUDIO_ENCODER);

static void gst_sf_audio_encoder_finalize (GObject *object);
static void gst_sf_audio_encoder_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sf_audio_encoder_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static GstStateChangeReturn gst_sf_audio_encoder_change_state (
    GstElement *element, GstStateChange transition);
static GstFlowReturn gst_sf_audio_encoder_chain (
    GstPad *pad, GstObject *parent, GstBuffer *buffer);
static GstFlowReturn gst_sf_audio_encoder_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_sf_audio_encoder_src_query (
    GstPad *pad, GstObject *parent, GstQuery *query);

static void
gst_sf_audio_encoder_class_init (GstSfAudioEncoderClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_sf_audio_encoder_finalize;
  gobject_class->set_property = gst_sf_audio_encoder_set_property;
  gobject_class->get_property = gst_sf_audio_encoder_get_property;

  gst_sf_element_install_model_property (gobject_class, PROP_MODEL,
      "an audio model with its preprocessor_config.json: Whisper, wav2vec2 "
      "or AST");
  gst_sf_element_install_precision_property (gobject_class, PROP_PRECISION);
  g_object_class_install_property (gobject_class, PROP_WINDOW_MS,
      g_param_spec_uint ("window-ms", "Window",
          "Length of each window of audio the model sees, in milliseconds "
          "(0 = the model's natural input: 30 s for Whisper, max_length "
          "frames for AST, 5 s for wav2vec2)",
          0, 3600 * 1000, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_HOP_MS,
      g_param_spec_uint ("hop-ms", "Hop",
          "Time between the starts of consecutive windows, in milliseconds; "
          "below window-ms the windows overlap (0 = window-ms)",
          0, 3600 * 1000, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  gst_sf_latency_install_property (gobject_class, PROP_LATENCY_MS);
  gst_sf_batcher_install_properties (
      gobject_class, PROP_BATCH_SIZE, PROP_BATCH_TIMEOUT_MS);

  gst_element_class_set_static_metadata (element_class,
      "Streamformer audio encoder", "Filter/Converter/Audio",
      "Runs a Hugging Face audio checkpoint (Whisper encoder, wav2vec2, "
      "AST) on windows of a mono audio stream, producing logits or "
      "encoder states as other/tensors",
      "Streamformer contributors");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 autoaudiosrc ! audioconvert ! audioresample ! "
      "sfaudioencoder model=samples/models/kws-ast hop-ms=250 ! sfclassifier "
      "top-k=1 ! sfjsonsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_change_state);
}

static void
gst_sf_audio_encoder_init (GstSfAudioEncoder *self)
{
  GstPad *srcpad;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_chain));
  gst_pad_set_event_full_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_sink_event));
  gst_pad_set_query_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (
      srcpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_src_query));
  gst_pad_use_fixed_caps (srcpad);
  gst_element_add_pad (GST_ELEMENT (self), srcpad);
  gst_sf_src_init (&self->src, srcpad);
  gst_sf_latency_init (&self->processing);
  self->batch_size = GST_SF_BATCH_SIZE_DEFAULT;
  self->batch_timeout_ms = GST_SF_BATCH_TIMEOUT_DEFAULT;
  gst_sf_audio_encoder_streams_init (self);
}

static void
gst_sf_audio_encoder_finalize (GObject *object)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (object);

  g_free (self->model_path);
  gst_sf_src_reset (&self->src);
  gst_clear_caps (&self->caps);
  sf_task_unref (self->task);
  gst_sf_batcher_free (self->batcher);
  gst_sf_audio_windows_clear (&self->windows);
  gst_sf_audio_encoder_streams_clear (self);
  gst_sf_latency_clear (&self->processing);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_audio_encoder_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_PRECISION: self->precision = g_value_get_enum (value); break;
    case PROP_WINDOW_MS: self->window_ms = g_value_get_uint (value); break;
    case PROP_HOP_MS: self->hop_ms = g_value_get_uint (value); break;
    case PROP_LATENCY_MS:
      gst_sf_latency_set_pinned (&self->processing, value);
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
gst_sf_audio_encoder_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string (value, self->model_path); break;
    case PROP_PRECISION: g_value_set_enum (value, self->precision); break;
    case PROP_WINDOW_MS: g_value_set_uint (value, self->window_ms); break;
    case PROP_HOP_MS: g_value_set_uint (value, self->hop_ms); break;
    case PROP_LATENCY_MS:
      gst_sf_latency_get_pinned (&self->processing, value);
      break;
    case PROP_BATCH_SIZE: g_value_set_uint (value, self->batch_size); break;
    case PROP_BATCH_TIMEOUT_MS:
      g_value_set_uint (value, self->batch_timeout_ms);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Loads the model and fixes the windows: the front-end's natural window
 * unless window-ms says otherwise, never longer for models that pad. */
static gboolean
gst_sf_audio_encoder_start (GstSfAudioEncoder *self)
{
  SfTaskOptions options = SF_TASK_OPTIONS_INIT (SF_MODALITY_AUDIO);
  g_autofree gchar *path = NULL;
  SfPrecision precision;
  g_autoptr (SfModel) model = NULL;
  SfTask *task;
  guint window_ms, hop_ms, batch_size, timeout_ms;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  precision = self->precision;
  window_ms = self->window_ms;
  hop_ms = self->hop_ms;
  batch_size = self->batch_size;
  timeout_ms = self->batch_timeout_ms;
  GST_OBJECT_UNLOCK (self);

  model = gst_sf_model_load (GST_ELEMENT (self), path, precision);
  if (model == NULL)
    return FALSE;
  if (!sf_model_takes_input (model, SF_MODALITY_AUDIO)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Model \"%s\" is not an audio model (architecture %s).", path,
            sf_model_architecture (model)),
        ("sfaudioencoder needs a Whisper, wav2vec2 or AST checkpoint with "
         "a preprocessor_config.json"));
    return FALSE;
  }
  task = gst_sf_element_task_for_model (GST_ELEMENT (self), model, &options,
      "Whisper, wav2vec2 or AST checkpoints");
  if (task == NULL)
    return FALSE;

  if (batch_size > 1)
    self->batcher = gst_sf_batcher_new (task, &options, batch_size, timeout_ms);
  if (!gst_sf_audio_encoder_configure (self, task, window_ms, hop_ms))
    return FALSE;
  self->have_format = FALSE;
  self->discont = TRUE;
  self->warned_nan = FALSE;
  return TRUE;
}

static void
gst_sf_audio_encoder_stop (GstSfAudioEncoder *self)
{
  gst_sf_src_reset (&self->src);
  gst_sf_audio_windows_clear (&self->windows);
  gst_sf_audio_encoder_streams_reset (self);
  gst_sf_latency_reset (&self->processing);
  g_clear_pointer (&self->batcher, gst_sf_batcher_free);
  gst_sf_element_set_task (GST_ELEMENT (self), &self->task, NULL);
  GST_OBJECT_LOCK (self);
  self->refused_rate = self->refused_channels = 0;
  gst_clear_caps (&self->caps);
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_sf_audio_encoder_change_state (
    GstElement *element, GstStateChange transition)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_sf_audio_encoder_start (self)) {
    gst_sf_audio_encoder_stop (self);
    return GST_STATE_CHANGE_FAILURE;
  }
  /* A streaming thread waiting in the shared queue returns at once. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && self->batcher)
    gst_sf_batcher_set_flushing (self->batcher, TRUE);
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_sf_audio_encoder_stop (self);
  return ret;
}

static GstFlowReturn
gst_sf_audio_encoder_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);

  if (self->task == NULL || !self->have_format) {
    gst_buffer_unref (buffer);
    GST_ELEMENT_ERROR (
        self, CORE, NEGOTIATION, (NULL), ("received audio before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (gst_buffer_get_size (buffer) == 0) {
    GST_DEBUG_OBJECT (self, "ignoring an empty buffer");
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }
  if (!gst_sf_audio_windows_push (&self->windows, buffer)) {
    GST_ELEMENT_ERROR (
        self, RESOURCE, READ, (NULL), ("could not read the input buffer"));
    return GST_FLOW_ERROR;
  }
  return gst_sf_audio_encoder_process (self, FALSE);
}

/* At EOS: the tail, then EOS; a failed push is returned upstream. */
static GstFlowReturn
gst_sf_audio_encoder_eos (GstSfAudioEncoder *self, GstEvent *event)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->task != NULL && self->have_format)
    ret = gst_sf_audio_encoder_finish_parked (self);
  if (self->task != NULL && self->have_format && ret == GST_FLOW_OK)
    ret = gst_sf_audio_encoder_process (self, TRUE);
  /* no window came: downstream still needs caps and the segment */
  if (self->caps != NULL && !gst_sf_src_has_caps (&self->src))
    gst_sf_src_push_caps (&self->src, self->caps);
  if (self->task != NULL)
    gst_sf_audio_windows_reset (&self->windows);
  self->discont = TRUE;
  return gst_sf_src_push_eos (&self->src, event, ret);
}

static GstFlowReturn
gst_sf_audio_encoder_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);
  gboolean ok;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      ok = gst_sf_audio_encoder_set_caps (self, caps);
      gst_event_unref (event);
      return ok ? GST_FLOW_OK : GST_FLOW_NOT_NEGOTIATED;
    }
    case GST_EVENT_SEGMENT:
      /* forwarded with the first caps */
      ok = gst_sf_src_set_segment (&self->src, event);
      return ok ? GST_FLOW_OK : GST_FLOW_ERROR;
    case GST_EVENT_STREAM_START:
      gst_sf_audio_encoder_switch_stream (self, event);
      self->warned_nan = FALSE;
      self->discont = TRUE;
      break;
    case GST_EVENT_FLUSH_START:
      if (self->batcher != NULL)
        gst_sf_batcher_set_flushing (self->batcher, TRUE);
      break;
    case GST_EVENT_FLUSH_STOP:
      if (self->batcher != NULL)
        gst_sf_batcher_set_flushing (self->batcher, FALSE);
      if (self->task != NULL)
        gst_sf_audio_windows_reset (&self->windows);
      g_hash_table_remove_all (self->parked);
      self->discont = TRUE;
      break;
    case GST_EVENT_EOS: return gst_sf_audio_encoder_eos (self, event);
    default: break;
  }
  return gst_pad_event_default (pad, parent, event) ? GST_FLOW_OK
                                                    : GST_FLOW_ERROR;
}

static gboolean
gst_sf_audio_encoder_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_LATENCY: {
      gboolean live;
      GstClockTime min, max, ours, held, hop;

      if (!gst_pad_peer_query (self->sinkpad, query))
        return FALSE;
      gst_query_parse_latency (query, &live, &min, &max);
      /* a window is complete one window after its pts, and computing it
       * may take up to a hop before the next one is due */
      GST_OBJECT_LOCK (self);
      held = self->held;
      hop = self->hop_time;
      GST_OBJECT_UNLOCK (self);
      ours = gst_sf_latency_current (&self->processing, 0);
      ours = held + (ours > 0 ? ours : hop);
      min += ours;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += ours;
      GST_DEBUG_OBJECT (self, "latency %" GST_TIME_FORMAT, GST_TIME_ARGS (min));
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    case GST_QUERY_CAPS: {
      GstCaps *caps;

      GST_OBJECT_LOCK (self);
      caps = self->caps ? gst_caps_ref (self->caps) : NULL;
      GST_OBJECT_UNLOCK (self);
      return gst_sf_element_answer_caps (
          query, caps ? caps : gst_pad_get_pad_template_caps (pad));
    }
    default: return gst_pad_query_default (pad, parent, query);
  }
}
