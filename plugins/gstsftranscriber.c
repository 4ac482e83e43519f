/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sftranscriber
 * @title: sftranscriber
 *
 * Turns what sfaudioencoder made of each audio window into text. The
 * model named by the buffers' GstSfTensorMeta decides how:
 *
 * - wav2vec2 with a CTC head: greedy CTC decoding of the logits
 *   ("vocab:T:1") with the checkpoint's vocab.json. Every word keeps the
 *   frames it spans, so it has its own start and end.
 * - Whisper: greedy autoregressive decoding of the encoder states
 *   ("H:T:1") with the decoder's KV caches, as generation_config.json
 *   says (forced or prefix ids, suppressed tokens, max_length). When the
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
 * the repeat may be dropped with it). graphs/transcript.h has the rules.
 *
 * Each output buffer is one segment of text/x-raw (UTF-8, ending in a
 * newline), with the segment's start as pts and its length as duration:
 * for CTC the new words of one window, for Whisper one segment. The same
 * result is attached as a GstSfResultMeta for sfjsonsink and posted as an
 * element message named "sftranscriber" with the fields pts, duration
 * (guint64 nanoseconds), start, end (gdouble seconds) and text.
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

#include "core/error.h"
#include "graphs/post/ctc.h"
#include "graphs/post/transcript.h"
#include "graphs/families/wav2vec2.h"
#include "graphs/families/whisper.h"
#include "gstsfmodel.h"
#include "gstsftranscriber.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME ", format = (string) static, "
                                             "num_tensors = (int) 1, "
                                             "types = (string) float32"));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

GST_DEBUG_CATEGORY_STATIC (gst_sf_transcriber_debug);
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
};

typedef enum
{
  DECODER_NONE,
  DECODER_CTC,
  DECODER_WHISPER,
} DecoderKind;

struct _GstSfTranscriber
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  guint max_new_tokens;
  gboolean timestamps;
  gchar *language;

  /* the decoder of the model the buffers name */
  SfModel *model;
  DecoderKind kind;
  SfCtcDecoder *ctc;
  SfTranscript *transcript;

  /* from the sink caps */
  GstSfTensorsInfo in_info;
  double hop; /* seconds between windows; 0 when unknown */

  gboolean src_caps_pushed;
  GstEvent *segment_event; /* waiting until caps are pushed */
  GstClockTime last_pts;
  guint64 n_windows;
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
static GstFlowReturn gst_sf_transcriber_chain (
    GstPad *pad, GstObject *parent, GstBuffer *buffer);
static gboolean gst_sf_transcriber_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event);

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

  gst_element_class_set_static_metadata (element_class,
      "Streamformer transcriber", "Filter/Converter/Audio/Text",
      "Transcribes sfaudioencoder's output: CTC decoding for wav2vec2, "
      "greedy Whisper decoding with segment timestamps",
      "Streamformer contributors");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_transcriber_change_state);
}

static void
gst_sf_transcriber_init (GstSfTranscriber *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_transcriber_chain));
  gst_pad_set_event_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_transcriber_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->max_new_tokens = DEFAULT_MAX_NEW_TOKENS;
  self->timestamps = DEFAULT_TIMESTAMPS;
  self->language = g_strdup (DEFAULT_LANGUAGE);
  self->last_pts = GST_CLOCK_TIME_NONE;
}

static void
gst_sf_transcriber_clear_decoder (GstSfTranscriber *self)
{
  g_clear_pointer (&self->ctc, sf_ctc_decoder_free);
  g_clear_pointer (&self->transcript, sf_transcript_free);
  g_clear_pointer (&self->model, sf_model_unref);
  self->kind = DECODER_NONE;
}

static void
gst_sf_transcriber_finalize (GObject *object)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (object);

  gst_sf_transcriber_clear_decoder (self);
  g_free (self->language);
  gst_clear_event (&self->segment_event);

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
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_transcriber_reset (GstSfTranscriber *self)
{
  if (self->transcript != NULL)
    sf_transcript_reset (self->transcript);
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->n_windows = 0;
}

static GstStateChangeReturn
gst_sf_transcriber_change_state (GstElement *element, GstStateChange transition)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (element);
  GstStateChangeReturn ret;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_sf_transcriber_clear_decoder (self);
      gst_sf_transcriber_reset (self);
      self->src_caps_pushed = FALSE;
      gst_clear_event (&self->segment_event);
      break;
    default: break;
  }
  return ret;
}

/* Sets up the decoder for @model (the one the buffers name). */
static gboolean
gst_sf_transcriber_use_model (GstSfTranscriber *self, SfModel *model)
{
  g_autoptr (GError) error = NULL;

  if (model == self->model)
    return TRUE;
  gst_sf_transcriber_clear_decoder (self);

  if (sf_whisper_check (model)) {
    self->kind = DECODER_WHISPER;
    self->transcript = sf_transcript_new (SF_TRANSCRIPT_SEGMENTS);
  } else if (sf_wav2vec2_is_ctc (model)) {
    self->ctc = sf_ctc_decoder_new (model, &error);
    if (self->ctc == NULL)
      goto failed;
    self->kind = DECODER_CTC;
    self->transcript = sf_transcript_new (SF_TRANSCRIPT_WORDS);
  } else {
    goto unsupported;
  }
  self->model = sf_model_ref (model);
  GST_INFO_OBJECT (self, "decoding %s with %s", sf_model_name (model),
      self->kind == DECODER_CTC ? "CTC" : "Whisper");
  return TRUE;

failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Cannot transcribe with model \"%s\": %s", sf_model_name (model),
          error->message),
      (NULL));
  return FALSE;
}
unsupported : {
  GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
      ("Model \"%s\" (%s) is neither Whisper nor a CTC model; sftranscriber "
       "cannot decode its output.",
          sf_model_name (model), sf_model_architecture (model)),
      ("use sfclassifier for classifiers"));
  return FALSE;
}
}

static gboolean
gst_sf_transcriber_push_caps (GstSfTranscriber *self)
{
  if (!self->src_caps_pushed) {
    GstCaps *caps = gst_static_pad_template_get_caps (&src_template);
    gboolean ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));

    gst_caps_unref (caps);
    if (!ok)
      return FALSE;
    self->src_caps_pushed = TRUE;
  }
  if (self->segment_event != NULL)
    gst_pad_push_event (self->srcpad, g_steal_pointer (&self->segment_event));
  return TRUE;
}

/* Pushes one piece of text as a buffer, a result meta and a message. */
static GstFlowReturn
gst_sf_transcriber_emit (
    GstSfTranscriber *self, double start, double end, const char *text)
{
  GstClockTime pts = (GstClockTime)(MAX (start, 0.0) * GST_SECOND + 0.5);
  GstClockTime duration =
      (GstClockTime)(MAX (end - MAX (start, 0.0), 0.0) * GST_SECOND + 0.5);
  GstStructure *result;
  GstBuffer *buffer;
  gchar *line;
  gsize len;

  if (!gst_sf_transcriber_push_caps (self))
    return GST_FLOW_NOT_NEGOTIATED;
  /* pts never go back, even for a segment that starts early */
  if (GST_CLOCK_TIME_IS_VALID (self->last_pts) && pts < self->last_pts)
    pts = self->last_pts;
  self->last_pts = pts;

  result = gst_structure_new ("sftranscriber", "pts", G_TYPE_UINT64, pts,
      "duration", G_TYPE_UINT64, duration, "start", G_TYPE_DOUBLE, start, "end",
      G_TYPE_DOUBLE, end, "text", G_TYPE_STRING, text, NULL);
  gst_element_post_message (GST_ELEMENT_CAST (self),
      gst_message_new_element (
          GST_OBJECT_CAST (self), gst_structure_copy (result)));

  line = g_strdup_printf ("%s\n", text);
  len = strlen (line);
  buffer = gst_buffer_new_wrapped (line, len);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = duration;
  gst_buffer_add_sf_result_meta (buffer, result);
  GST_DEBUG_OBJECT (self, "%.2f–%.2f s: %s", start, end, text);
  return gst_pad_push (self->srcpad, buffer);
}

/* Pushes what the transcript made final: Whisper segments one by one,
 * CTC words as one line. */
static GstFlowReturn
gst_sf_transcriber_emit_pieces (GstSfTranscriber *self, GArray *pieces)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GString *line;
  const SfTranscriptPiece *p;
  guint i;

  if (pieces->len == 0)
    return GST_FLOW_OK;
  if (self->kind == DECODER_WHISPER) {
    for (i = 0; i < pieces->len && ret == GST_FLOW_OK; i++) {
      p = &g_array_index (pieces, SfTranscriptPiece, i);
      ret = gst_sf_transcriber_emit (self, p->start, p->end, p->text);
    }
    return ret;
  }
  line = g_string_new (NULL);
  for (i = 0; i < pieces->len; i++) {
    p = &g_array_index (pieces, SfTranscriptPiece, i);
    g_string_append_printf (line, "%s%s", i ? " " : "", p->text);
  }
  ret = gst_sf_transcriber_emit (self,
      g_array_index (pieces, SfTranscriptPiece, 0).start,
      g_array_index (pieces, SfTranscriptPiece, pieces->len - 1).end,
      line->str);
  g_string_free (line, TRUE);
  return ret;
}

/* CTC: the words of logits [T, V] at @start, each frame @frame seconds. */
static gboolean
gst_sf_transcriber_ctc_words (GstSfTranscriber *self, const float *logits,
    gint64 frames, gint64 vocab, double start, double frame, GArray *pieces,
    GError **error)
{
  g_autofree gint64 *ids = g_new (gint64, MAX (frames, 1));
  g_autoptr (GArray) words = NULL;

  if (vocab != (gint64)sf_ctc_decoder_vocab_size (self->ctc)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "the logits have %" G_GINT64_FORMAT " entries per frame but the "
        "vocabulary has %u tokens",
        vocab, sf_ctc_decoder_vocab_size (self->ctc));
    return FALSE;
  }
  sf_ctc_greedy_ids (logits, frames, vocab, ids);
  words = sf_ctc_decoder_words (self->ctc, ids, frames, error);
  if (words == NULL)
    return FALSE;
  for (guint i = 0; i < words->len; i++) {
    const SfCtcWord *w = &g_array_index (words, SfCtcWord, i);
    SfTranscriptPiece p;

    p.start = start + w->start_frame * frame;
    p.end = start + w->end_frame * frame;
    p.text = g_strdup (w->text);
    g_array_append_val (pieces, p);
  }
  return TRUE;
}

/* Whisper: greedy decoding of encoder states [S, D], as segments. */
static gboolean
gst_sf_transcriber_whisper_segments (GstSfTranscriber *self,
    const float *states, gint64 s, gint64 d, double start, double duration,
    GArray *pieces, GError **error)
{
  SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
  g_autoptr (SfTensor) enc = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) segments = sf_whisper_segment_array_new ();
  g_autofree gchar *language = NULL;
  gboolean timestamps;

  GST_OBJECT_LOCK (self);
  opts.max_new_tokens = self->max_new_tokens;
  timestamps = self->timestamps;
  language = g_strdup (self->language);
  GST_OBJECT_UNLOCK (self);
  opts.timestamps = timestamps && sf_whisper_has_timestamps (self->model);
  opts.language = language;

  enc = sf_tensor_new_from_data (
      SF_DTYPE_F32, 3, (const gint64[]){ 1, s, d }, states);
  if (!sf_whisper_generate (self->model, enc, &opts, ids, error)
      || !sf_whisper_segments (self->model, (const gint64 *)ids->data, ids->len,
          duration, segments, error))
    return FALSE;
  for (guint i = 0; i < segments->len; i++) {
    const SfWhisperSegment *seg =
        &g_array_index (segments, SfWhisperSegment, i);
    SfTranscriptPiece p;

    p.start = start + seg->start;
    p.end = start + seg->end;
    p.text = g_strstrip (g_strdup (seg->text ? seg->text : ""));
    g_array_append_val (pieces, p);
  }
  return TRUE;
}

static GstFlowReturn
gst_sf_transcriber_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (parent);
  const GstSfTensorInfo *t = &self->in_info.tensors[0];
  SfModel *model = gst_sf_buffer_get_model (buffer);
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) pieces = sf_transcript_piece_array_new ();
  g_autoptr (GArray) out = sf_transcript_piece_array_new ();
  GstFlowReturn ret;
  GstMapInfo map;
  gint64 inner, rows;
  double start, duration;
  gboolean ok;

  if (model == NULL)
    goto no_model;
  if (!gst_sf_transcriber_use_model (self, model)) {
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  if (self->in_info.num_tensors != 1 || t->ndim < 2)
    goto bad_shape;
  /* [1, T, inner] */
  inner = (gint64)t->dims[0];
  rows = (gint64)t->dims[1];
  if (inner < 1 || rows < 1 || gst_sf_tensor_info_numel (t) != inner * rows)
    goto bad_shape;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    goto map_failed;
  if (map.size < (gsize)(inner * rows) * sizeof (float)) {
    gst_buffer_unmap (buffer, &map);
    goto bad_shape;
  }

  /* window times in seconds; without timestamps, windows are counted */
  duration = GST_BUFFER_DURATION_IS_VALID (buffer)
      ? (double)GST_BUFFER_DURATION (buffer) / GST_SECOND
      : (self->hop > 0 ? self->hop : 1.0);
  start = GST_BUFFER_PTS_IS_VALID (buffer)
      ? (double)GST_BUFFER_PTS (buffer) / GST_SECOND
      : self->n_windows * (self->hop > 0 ? self->hop : duration);
  self->n_windows++;

  if (self->kind == DECODER_CTC)
    ok = gst_sf_transcriber_ctc_words (self, (const float *)map.data, rows,
        inner, start, duration / rows, pieces, &error);
  else
    ok = gst_sf_transcriber_whisper_segments (self, (const float *)map.data,
        rows, inner, start, duration, pieces, &error);
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);
  if (!ok)
    goto failed;

  sf_transcript_push (self->transcript, start, duration, self->hop,
      (const SfTranscriptPiece *)pieces->data, pieces->len, out);
  ret = gst_sf_transcriber_emit_pieces (self, out);
  return ret;

no_model : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sftranscriber needs tensors from sfaudioencoder."),
      ("the buffer carries no model meta"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
bad_shape : {
  gchar *dims = gst_sf_tensor_info_dims_string (t);

  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sftranscriber needs one window of frames per buffer (dimensions "
       "\"inner:T:1\"), got \"%s\".",
          dims),
      (NULL));
  g_free (dims);
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
map_failed : {
  GST_ELEMENT_ERROR (
      self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
failed : {
  GST_ELEMENT_ERROR (self, STREAM, DECODE,
      ("Could not transcribe with model \"%s\": %s",
          sf_model_name (self->model), error->message),
      (NULL));
  return GST_FLOW_ERROR;
}
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

static gboolean
gst_sf_transcriber_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfTranscriber *self = GST_SF_TRANSCRIBER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_sf_transcriber_set_caps (self, caps);
      gst_event_unref (event);
      return ok && gst_sf_transcriber_push_caps (self);
    }
    case GST_EVENT_SEGMENT:
      gst_clear_event (&self->segment_event);
      self->segment_event = event;
      if (self->src_caps_pushed)
        return gst_sf_transcriber_push_caps (self);
      return TRUE;
    case GST_EVENT_FLUSH_STOP: gst_sf_transcriber_reset (self); break;
    case GST_EVENT_EOS:
      if (self->transcript != NULL) {
        g_autoptr (GArray) out = sf_transcript_piece_array_new ();

        sf_transcript_flush (self->transcript, out);
        gst_sf_transcriber_emit_pieces (self, out);
      }
      gst_sf_transcriber_reset (self);
      break;
    default: break;
  }
  return gst_pad_event_default (pad, parent, event);
}
