/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sftranscriber
 * @title: sftranscriber
 *
 * Turns what sfaudioencoder made of each audio window into text. The
 * task of the model named by the buffers' GstSfTensorMeta decides how,
 * as it decides what sfaudioencoder and `streamformer run` do:
 *
 * - wav2vec2 with a CTC head: greedy CTC decoding of the logits
 *   ("vocab:T:1") with the checkpoint's vocab.json. Every word keeps the
 *   frames it spans, so it has its own start and end.
 * - Whisper: autoregressive decoding of the encoder states ("H:T:1")
 *   with the decoder's KV caches, as generation_config.json says (forced
 *   or prefix ids, suppressed tokens, max_length; greedy, or beam search
 *   when it sets num_beams, or sampling with do_sample). When the
 *   vocabulary has timestamp tokens and timestamps is TRUE, the model
 *   predicts segments with their times; otherwise a window's text is one
 *   segment spanning the window.
 *
 * Windows may overlap (sfaudioencoder hop-ms below window-ms; the
 * element reads the hop from the caps framerate). Each word or segment is
 * emitted once: the window that owns the middle of a word's time emits
 * it, where a window owns the time up to the middle of its overlap with
 * the next one. For Whisper text without word times, the leading words of
 * a window's text that repeat the end of the text already emitted are
 * dropped (compared without case and punctuation; one cut word before
 * the repeat may be dropped with it). graphs/post/transcript.h has the
 * rules.
 *
 * Each output buffer is one segment of text/x-raw (UTF-8, ending in a
 * newline), with the segment's start as pts and its length as duration:
 * for CTC the new words of one window, for Whisper one segment. The same
 * result is attached as a GstSfResultMeta for sfjsonsink and posted as an
 * element message named "sftranscriber" with the fields pts, duration
 * (guint64 nanoseconds), start, end (gdouble seconds) and text.
 *
 * Like every result, the message also has stream-id and source (strings:
 * the stream's id and the element it comes from, through a funnel too)
 * and json (string: the whole result as the JSON object sfjsonsink
 * writes), readable from Python without GstValueArray bindings.
 *
 * With batch-size above 1, every sftranscriber of the process decoding
 * the same Whisper checkpoint shares one queue: windows of several
 * streams decode together, each decoder step running the next token of
 * every unfinished window as one row of one batch (each window with its
 * own caches, prompt, options and end; a window that ends leaves the
 * batch). The thread that fills a batch, or whose window has waited
 * batch-timeout-ms, runs it; each stream then pushes its own segments,
 * in order, with its own timestamps. Greedy decoding only: a checkpoint
 * that asks for beams or sampling decodes its windows one by one.
 * CTC checkpoints ignore batch-size (their decoding is a cheap argmax).
 *
 * Latency queries are answered with upstream's latency plus the decoding
 * time measured over the recent windows (plus a quarter), or latency-ms
 * when set; a latency message is posted when a window takes longer.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=talk.ogg ! decodebin ! audioconvert ! audioresample ! sfaudioencoder model=./wav2vec2-base-960h window-ms=10000 hop-ms=8000 ! sftranscriber ! fdsink
 * ]| Prints the transcript of talk.ogg, one line per 8 s of speech.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftranscriber-private.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME ", format = (string) static, "
                                             "num_tensors = (int) 1, "
                                             "types = (string) float32"));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

GST_DEBUG_CATEGORY (gst_sf_transcriber_debug);
#define GST_CAT_DEFAULT gst_sf_transcriber_debug

#define DEFAULT_MAX_NEW_TOKENS 0
#define DEFAULT_TIMESTAMPS TRUE
#define DEFAULT_LANGUAGE NULL

enum
{
  PROP_0,
  PROP_MAX_NEW_TOKENS,
  PROP_TIMESTAMPS,
  PROP_LANGUAGE,
  PROP_LATENCY_MS,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT_MS,
};

#define gst_sf_transcriber_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfTranscriber, gst_sf_transcriber, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_sf_transcriber_debug, "sftranscriber", 0,
        "Streamformer transcriber"));
GST_ELEMENT_REGISTER_DEFINE (
    sftranscriber, "sftranscriber", GST_RANK_NONE, GST_TYPE_SF_TRANSCRIBER);

static void gst_sf_transcriber_finalize (GObject *object);
static void gst_sf_transcriber_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sf_transcriber_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static GstStateChangeReturn gst_sf_transcriber_change_state (
    GstElement *element, GstStateChange transition);
static GstFlowReturn gst_sf_transcriber_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_sf_transcriber_src_query (
    GstPad *pad, GstObject *parent, GstQuery *query);

static void
gst_sf_transcriber_class_init (GstSfTranscriberClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_sf_transcriber_finalize;
  gobject_class->set_property = gst_sf_transcriber_set_property;
  gobject_class->get_property = gst_sf_transcriber_get_property;

  g_object_class_install_property (gobject_class, PROP_MAX_NEW_TOKENS,
      g_param_spec_uint ("max-new-tokens", "Maximum new tokens",
          "Whisper: tokens generated per window at most (0 = up to "
          "generation_config.json's max_length)",
          0, G_MAXINT, DEFAULT_MAX_NEW_TOKENS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TIMESTAMPS,
      g_param_spec_boolean ("timestamps", "Timestamps",
          "Whisper: predict segment timestamps when the vocabulary has "
          "timestamp tokens",
          DEFAULT_TIMESTAMPS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_LANGUAGE,
      g_param_spec_string ("language", "Language",
          "Whisper: the spoken language, as \"en\" or \"<|en|>\" (NULL = "
          "the checkpoint's forced language, else detected)",
          DEFAULT_LANGUAGE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  gst_sf_latency_install_property (gobject_class, PROP_LATENCY_MS);
  gst_sf_batcher_install_properties (
      gobject_class, PROP_BATCH_SIZE, PROP_BATCH_TIMEOUT_MS);

  gst_element_class_set_static_metadata (element_class,
      "Streamformer transcriber", "Filter/Converter/Audio/Text",
      "Transcribes sfaudioencoder's output: CTC decoding for wav2vec2, "
      "Whisper decoding with segment timestamps",
      "Streamformer contributors");
  gst_sf_element_class_set_message (element_class, "sftranscriber",
      "pts, duration (guint64 ns), start, end (gdouble seconds), text "
      "(string)");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 filesrc location=talk.ogg ! decodebin ! audioconvert ! "
      "audioresample ! sfaudioencoder model=openai/whisper-tiny ! "
      "sftranscriber ! fdsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_transcriber_change_state);
}

static void
gst_sf_transcriber_init (GstSfTranscriber *self)
{
  GstPad *srcpad;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_transcriber_chain));
  gst_pad_set_event_full_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_transcriber_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (srcpad);
  gst_pad_set_query_function (
      srcpad, GST_DEBUG_FUNCPTR (gst_sf_transcriber_src_query));
  gst_element_add_pad (GST_ELEMENT (self), srcpad);
  gst_sf_src_init (&self->src, srcpad);

  self->max_new_tokens = DEFAULT_MAX_NEW_TOKENS;
  self->timestamps = DEFAULT_TIMESTAMPS;
  self->language = g_strdup (DEFAULT_LANGUAGE);
  self->batch_size = GST_SF_BATCH_SIZE_DEFAULT;
  self->batch_timeout_ms = GST_SF_BATCH_TIMEOUT_DEFAULT;
  self->last_pts = GST_CLOCK_TIME_NONE;
  gst_sf_latency_init (&self->latency);
}

static void
gst_sf_transcriber_finalize (GObject *object)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (object);

  gst_sf_transcriber_decoder_clear (&self->dec);
  g_free (self->language);
  gst_sf_src_reset (&self->src);
  gst_sf_latency_clear (&self->latency);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_transcriber_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MAX_NEW_TOKENS:
      self->max_new_tokens = g_value_get_uint (value);
      break;
    case PROP_TIMESTAMPS: self->timestamps = g_value_get_boolean (value); break;
    case PROP_LANGUAGE:
      g_free (self->language);
      self->language = g_value_dup_string (value);
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
gst_sf_transcriber_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MAX_NEW_TOKENS:
      g_value_set_uint (value, self->max_new_tokens);
      break;
    case PROP_TIMESTAMPS: g_value_set_boolean (value, self->timestamps); break;
    case PROP_LANGUAGE: g_value_set_string (value, self->language); break;
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
gst_sf_transcriber_reset (GstSfTranscriber *self)
{
  if (self->dec.transcript != NULL)
    sf_transcript_reset (self->dec.transcript);
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->n_windows = 0;
}

/* Withdraws (or lets in again) this element's windows in the shared
 * queue. */
static void
gst_sf_transcriber_set_flushing (GstSfTranscriber *self, gboolean flushing)
{
  GST_OBJECT_LOCK (self);
  if (self->dec.batcher != NULL)
    gst_sf_batcher_set_flushing (self->dec.batcher, flushing);
  GST_OBJECT_UNLOCK (self);
}

/* Sets the decoder up for @model, with the batch settings in use. */
gboolean
gst_sf_transcriber_use_model (GstSfTranscriber *self, SfModel *model)
{
  guint batch_size, batch_timeout_ms;

  GST_OBJECT_LOCK (self);
  batch_size = self->batch_size;
  batch_timeout_ms = self->batch_timeout_ms;
  GST_OBJECT_UNLOCK (self);
  return gst_sf_transcriber_decoder_use (
      &self->dec, GST_ELEMENT (self), model, batch_size, batch_timeout_ms);
}

static GstStateChangeReturn
gst_sf_transcriber_change_state (GstElement *element, GstStateChange transition)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (element);
  GstStateChangeReturn ret;

  /* A streaming thread waiting in the shared queue returns at once. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_sf_transcriber_set_flushing (self, TRUE);
  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    GST_OBJECT_LOCK (self);
    gst_sf_transcriber_decoder_clear (&self->dec);
    GST_OBJECT_UNLOCK (self);
    gst_sf_transcriber_reset (self);
    gst_sf_src_reset (&self->src);
    gst_sf_latency_reset (&self->latency);
  }
  return ret;
}

/* Latency queries: upstream's latency plus the decoding time. */
static gboolean
gst_sf_transcriber_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (parent);

  if (!gst_pad_query_default (pad, parent, query))
    return FALSE;
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    gst_sf_latency_add_to_query (&self->latency, GST_ELEMENT (self), query, 0);
  return TRUE;
}

static gboolean
gst_sf_transcriber_set_caps (GstSfTranscriber *self, GstCaps *caps)
{
  if (!gst_sf_tensors_info_from_caps (&self->in_info, caps)
      || self->in_info.num_tensors != 1
      || self->in_info.tensors[0].type != GST_SF_TENSOR_TYPE_FLOAT32) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("sftranscriber needs one float32 tensor per buffer, got "
         "%" GST_PTR_FORMAT,
            caps));
    return FALSE;
  }
  self->hop = self->in_info.rate_n > 0
      ? (double)self->in_info.rate_d / self->in_info.rate_n
      : 0.0;
  GST_DEBUG_OBJECT (self, "windows every %.3f s", self->hop);
  return TRUE;
}

/* At EOS: what the transcript still holds, then EOS; a failed push is
 * returned upstream. */
static GstFlowReturn
gst_sf_transcriber_eos (GstSfTranscriber *self, GstEvent *event)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->dec.transcript != NULL) {
    g_autoptr (GArray) out = sf_transcript_piece_array_new ();

    gst_sf_transcriber_decoder_flush (&self->dec, out);
    ret = gst_sf_transcriber_emit_pieces (self, out);
  }
  gst_sf_transcriber_reset (self);
  return gst_sf_src_push_eos (&self->src, event, ret);
}

static GstFlowReturn
gst_sf_transcriber_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (parent);
  gboolean ok;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      ok = gst_sf_transcriber_set_caps (self, caps);
      gst_event_unref (event);
      if (!ok)
        return GST_FLOW_NOT_NEGOTIATED;
      return gst_sf_transcriber_push_caps (self)
          ? GST_FLOW_OK
          : gst_sf_src_caps_failure (&self->src);
    }
    case GST_EVENT_SEGMENT: /* forwarded with the caps */
      return gst_sf_src_set_segment (&self->src, event) ? GST_FLOW_OK
                                                        : GST_FLOW_ERROR;
    case GST_EVENT_FLUSH_START:
      gst_sf_transcriber_set_flushing (self, TRUE);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_sf_transcriber_set_flushing (self, FALSE);
      gst_sf_transcriber_reset (self);
      break;
    case GST_EVENT_EOS: return gst_sf_transcriber_eos (self, event);
    default: break;
  }
  return gst_pad_event_default (pad, parent, event) ? GST_FLOW_OK
                                                    : GST_FLOW_ERROR;
}
