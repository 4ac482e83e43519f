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
 * before the element. A window starts every hop-ms; when hop-ms is below
 * window-ms the windows overlap. The defaults are the model's natural
 * input: Whisper's chunk_length (30 s), the audio that makes AST's
 * max_length fbank frames (25 ms frames every 10 ms: 1015 ms for 100
 * frames), and 5 s for wav2vec2; hop-ms defaults to window-ms. The output
 * framerate is one window per hop.
 *
 * Timestamps come from the stream: a window's pts is the pts of its first
 * sample and its duration is window-ms. Without input timestamps the
 * samples are counted from 0. At EOS, samples that no window has covered
 * yet make one last, shorter window. Whisper and AST pad it to their
 * fixed input as their HF feature extractors pad a short clip (Whisper
 * with silent samples, AST with padding frames), and it lasts window-ms;
 * wav2vec2, which takes any length, runs on the samples there are, so the
 * window lasts as long as they do. A tail under 100 ms is padded with
 * silence to 100 ms.
 *
 * Samples that are not finite (NaN, infinity) are replaced by silence,
 * with one element warning per stream. Empty buffers are ignored. The
 * element reports a latency of one window plus one hop (the time to
 * compute a window), so live pipelines render the results in sync.
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

#include <math.h>
#include <string.h>

#include "core/audio/audio.h"
#include "core/io/checkpoint.h"
#include "core/io/config.h"
#include "core/error.h"
#include "graphs/families/wav2vec2.h"
#include "graphs/families/whisper.h"
#include "gstsfaudioencoder.h"
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

GST_DEBUG_CATEGORY_STATIC (gst_sf_audio_encoder_debug);
#define GST_CAT_DEFAULT gst_sf_audio_encoder_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_WINDOW_MS 0
#define DEFAULT_HOP_MS 0

/* wav2vec2 takes any length; this is its default window. */
#define WAV2VEC2_WINDOW_MS 5000
/* AST's fbank frames are 25 ms long, 10 ms apart. */
#define AST_FRAME_MS 25
#define AST_SHIFT_MS 10
/* The front-ends need at least one 25 ms frame: a shorter tail at EOS is
 * padded with zeros up to 100 ms. */
#define MIN_MS 100

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_WINDOW_MS,
  PROP_HOP_MS,
};

typedef enum
{
  SAMPLE_F32,
  SAMPLE_S16,
} SampleFormat;

struct _GstSfAudioEncoder
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  gchar *model_path;
  guint window_ms;
  guint hop_ms;

  /* set up in start() */
  SfModel *model;
  const SfAudioFrontend *frontend;
  gint rate;
  gboolean pad_tail; /* FALSE: the last window runs at its own length */
  guint cur_window_ms, cur_hop_ms;
  gsize window;      /* samples */
  gsize hop;         /* samples */
  gsize min_samples; /* the shortest window the model takes */

  /* streaming state */
  SampleFormat format;
  gboolean have_format;
  GArray *samples; /* float; samples[0] is stream sample `base` */
  guint64 base;
  guint64 received;    /* samples appended since the stream began */
  guint64 next_window; /* stream sample where the next window starts */
  guint64 covered;     /* one past the last sample a window has seen */
  guint64 n_windows;
  GstClockTimeDiff pts0; /* pts of stream sample 0 */
  gboolean have_pts0;
  gboolean warned_nan;

  GstSfTensorsInfo out_info;
  gboolean have_caps;
  GstEvent *segment_event; /* waiting until caps are pushed */
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
static gboolean gst_sf_audio_encoder_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_sf_audio_encoder_sink_query (
    GstPad *pad, GstObject *parent, GstQuery *query);
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

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Hugging Face checkpoint folder (config.json, model.safetensors, "
          "preprocessor_config.json) of an audio model: Whisper, wav2vec2 "
          "or AST",
          DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_WINDOW_MS,
      g_param_spec_uint ("window-ms", "Window",
          "Length of each window of audio the model sees, in milliseconds "
          "(0 = the model's natural input: 30 s for Whisper, max_length "
          "frames for AST, 5 s for wav2vec2)",
          0, 3600 * 1000, DEFAULT_WINDOW_MS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_HOP_MS,
      g_param_spec_uint ("hop-ms", "Hop",
          "Time between the starts of consecutive windows, in milliseconds; "
          "below window-ms the windows overlap (0 = window-ms)",
          0, 3600 * 1000, DEFAULT_HOP_MS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (element_class,
      "Streamformer audio encoder", "Filter/Converter/Audio",
      "Runs a Hugging Face audio checkpoint (Whisper encoder, wav2vec2, "
      "AST) on windows of a mono audio stream, producing logits or "
      "encoder states as other/tensors",
      "Streamformer contributors");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_change_state);
}

static void
gst_sf_audio_encoder_init (GstSfAudioEncoder *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_chain));
  gst_pad_set_event_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_sink_event));
  gst_pad_set_query_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (
      self->srcpad, GST_DEBUG_FUNCPTR (gst_sf_audio_encoder_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->model_path = g_strdup (DEFAULT_MODEL);
  self->window_ms = DEFAULT_WINDOW_MS;
  self->hop_ms = DEFAULT_HOP_MS;
  self->samples = g_array_new (FALSE, FALSE, sizeof (float));
}

static void
gst_sf_audio_encoder_finalize (GObject *object)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (object);

  g_free (self->model_path);
  g_array_unref (self->samples);
  sf_model_unref (self->model);
  gst_clear_event (&self->segment_event);

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
    case PROP_WINDOW_MS: self->window_ms = g_value_get_uint (value); break;
    case PROP_HOP_MS: self->hop_ms = g_value_get_uint (value); break;
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
    case PROP_WINDOW_MS: g_value_set_uint (value, self->window_ms); break;
    case PROP_HOP_MS: g_value_set_uint (value, self->hop_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Forgets the stream: buffered samples, timestamps and caps. */
static void
gst_sf_audio_encoder_reset (GstSfAudioEncoder *self, gboolean full)
{
  g_array_set_size (self->samples, 0);
  self->base = 0;
  self->received = 0;
  self->next_window = 0;
  self->covered = 0;
  self->n_windows = 0;
  self->pts0 = 0;
  self->have_pts0 = FALSE;
  if (!full)
    return;
  self->have_format = FALSE;
  self->warned_nan = FALSE;
  self->have_caps = FALSE;
  gst_sf_tensors_info_init (&self->out_info);
  gst_clear_event (&self->segment_event);
}

/* The window the model was made for, in milliseconds. */
static guint
gst_sf_audio_encoder_natural_window (GstSfAudioEncoder *self)
{
  const SfConfig *cfg =
      sf_checkpoint_config (sf_model_checkpoint (self->model));
  const cJSON *max_length;

  switch (sf_audio_frontend_kind (self->frontend)) {
    case SF_AUDIO_FRONTEND_WHISPER_LOGMEL:
      return (
          guint)(sf_whisper_window_samples (self->model) * 1000 / self->rate);
    case SF_AUDIO_FRONTEND_KALDI_FBANK:
      max_length = sf_config_get (cfg, "max_length");
      /* enough samples for max_length frames: the last one starts
       * (max_length − 1) shifts in and is 25 ms long */
      if (cJSON_IsNumber (max_length) && max_length->valuedouble >= 1
          && max_length->valuedouble <= 360000)
        return ((guint)max_length->valuedouble - 1) * AST_SHIFT_MS
            + AST_FRAME_MS;
      return 1023 * AST_SHIFT_MS + AST_FRAME_MS;
    case SF_AUDIO_FRONTEND_WAVEFORM:
    default: return WAV2VEC2_WINDOW_MS;
  }
}

static gboolean
gst_sf_audio_encoder_start (GstSfAudioEncoder *self)
{
  gchar *path;
  guint window_ms, hop_ms, natural;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  window_ms = self->window_ms;
  hop_ms = self->hop_ms;
  GST_OBJECT_UNLOCK (self);

  self->model = gst_sf_model_load (GST_ELEMENT (self), path);
  if (self->model == NULL)
    goto load_failed;
  self->frontend = sf_model_audio_frontend (self->model);
  if (sf_model_modality (self->model) != SF_MODALITY_AUDIO
      || self->frontend == NULL)
    goto not_audio;
  self->rate = sf_audio_frontend_sample_rate (self->frontend);

  natural = gst_sf_audio_encoder_natural_window (self);
  if (window_ms == 0)
    window_ms = natural;
  if (window_ms > natural
      && sf_audio_frontend_kind (self->frontend)
          != SF_AUDIO_FRONTEND_WAVEFORM) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        ("window-ms=%u is longer than the %u ms model \"%s\" takes; using "
         "%u ms.",
            window_ms, natural, sf_model_name (self->model), natural),
        (NULL));
    window_ms = natural;
  }
  if (hop_ms == 0)
    hop_ms = window_ms;
  self->cur_window_ms = window_ms;
  self->cur_hop_ms = hop_ms;
  self->window = MAX (1, (gsize)window_ms * self->rate / 1000);
  self->hop = MAX (1, (gsize)hop_ms * self->rate / 1000);
  self->pad_tail =
      sf_audio_frontend_kind (self->frontend) != SF_AUDIO_FRONTEND_WAVEFORM;
  self->min_samples = MIN (self->window, (gsize)MIN_MS * self->rate / 1000);

  GST_INFO_OBJECT (self,
      "model %s (%s), %d Hz, window %u ms (%" G_GSIZE_FORMAT
      " samples), hop %u ms",
      sf_model_name (self->model), sf_model_architecture (self->model),
      self->rate, window_ms, self->window, hop_ms);

  gst_sf_audio_encoder_reset (self, TRUE);
  g_free (path);
  return TRUE;

load_failed : {
  g_free (path);
  return FALSE;
}
not_audio : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Model \"%s\" is not an audio model (architecture %s).", path,
          sf_model_architecture (self->model)),
      ("sfaudioencoder needs a Whisper, wav2vec2 or AST checkpoint with "
       "a preprocessor_config.json"));
  g_clear_pointer (&self->model, sf_model_unref);
  self->frontend = NULL;
  g_free (path);
  return FALSE;
}
}

static void
gst_sf_audio_encoder_stop (GstSfAudioEncoder *self)
{
  gst_sf_audio_encoder_reset (self, TRUE);
  self->frontend = NULL;
  g_clear_pointer (&self->model, sf_model_unref);
}

static GstStateChangeReturn
gst_sf_audio_encoder_change_state (
    GstElement *element, GstStateChange transition)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!gst_sf_audio_encoder_start (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    default: break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_sf_audio_encoder_stop (self);
      break;
    default: break;
  }
  return ret;
}

/* Pushes caps when they change, then any segment that waited for them. */
static gboolean
gst_sf_audio_encoder_push_caps (
    GstSfAudioEncoder *self, const GstSfTensorsInfo *info)
{
  if (!self->have_caps
      || !gst_sf_tensors_info_is_equal (info, &self->out_info)) {
    GstCaps *caps = gst_sf_tensors_info_to_caps (info);
    gboolean ok;

    GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, caps);
    ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
    gst_caps_unref (caps);
    if (!ok)
      return FALSE;
    self->out_info = *info;
    self->have_caps = TRUE;
  }
  if (self->segment_event != NULL)
    gst_pad_push_event (self->srcpad, g_steal_pointer (&self->segment_event));
  return TRUE;
}

static GstClockTime
gst_sf_audio_encoder_sample_time (GstSfAudioEncoder *self, guint64 index)
{
  GstClockTimeDiff t = self->pts0
      + (GstClockTimeDiff)gst_util_uint64_scale_int (
          index, GST_SECOND, self->rate);

  return t < 0 ? 0 : (GstClockTime)t;
}

/* Runs the model on @n samples starting at stream sample @start and
 * pushes the result as a window of @span samples. The front-ends of
 * Whisper and AST pad a short window to their fixed input themselves, as
 * the HF extractors do (Whisper pads the audio, AST the fbank frames). */
static GstFlowReturn
gst_sf_audio_encoder_encode (
    GstSfAudioEncoder *self, guint64 start, gsize n, gsize span)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTensor) features = NULL;
  g_autofree float *padded = NULL;
  gint64 shape[SF_TENSOR_MAX_DIMS] = { 1 };
  const float *data;
  gsize len = MAX (n, self->min_samples);
  SfAudioInput input = { 0 };
  SfAudioOutput output = { 0 };
  SfTensor *result;
  GstSfTensorsInfo info;
  GstBuffer *buffer;
  gint rn, rd, gcd;
  int d;

  g_assert (
      start >= self->base && start + n <= self->base + self->samples->len);
  data = &g_array_index (self->samples, float, start - self->base);
  if (len > n) {
    padded = g_new0 (float, len);
    memcpy (padded, data, n * sizeof (float));
    data = padded;
  }

  /* [mels, frames], [frames, mels] or [samples] */
  features = sf_audio_frontend_apply (self->frontend, data, len, &error);
  if (features == NULL)
    goto failed;
  for (d = 0; d < features->ndim; d++)
    shape[d + 1] = features->shape[d];
  input.features = sf_tensor_reshape (features, features->ndim + 1, shape);
  if (!sf_model_forward_audio (self->model, &input, FALSE, &output, &error)) {
    sf_tensor_unref (input.features);
    goto failed;
  }
  sf_tensor_unref (input.features);

  /* logits [1, labels] or [1, T, vocab]; else hidden states [1, T, H] */
  result = output.logits ? output.logits : output.last_hidden_state;
  if (result == NULL || result->dtype != SF_DTYPE_F32) {
    sf_audio_output_clear (&output);
    g_set_error (&error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "the model gave no float output");
    goto failed;
  }
  result = sf_tensor_ref (result);
  sf_audio_output_clear (&output);

  gst_sf_tensors_info_init (&info);
  info.num_tensors = 1;
  gcd = gst_util_greatest_common_divisor (1000, (gint)self->cur_hop_ms);
  rn = 1000 / gcd;
  rd = (gint)self->cur_hop_ms / gcd;
  info.rate_n = rn;
  info.rate_d = rd;
  if (!gst_sf_tensor_info_set_shape (&info.tensors[0],
          GST_SF_TENSOR_TYPE_FLOAT32, result->ndim, result->shape)) {
    sf_tensor_unref (result);
    g_set_error (&error, SF_ERROR, SF_ERROR_SHAPE,
        "the model's output has %d dimensions", result->ndim);
    goto failed;
  }
  if (!gst_sf_audio_encoder_push_caps (self, &info)) {
    sf_tensor_unref (result);
    goto not_negotiated;
  }

  buffer = gst_buffer_new ();
  gst_buffer_append_memory (buffer, gst_sf_memory_new_from_tensor (result));
  sf_tensor_unref (result);
  GST_BUFFER_PTS (buffer) = gst_sf_audio_encoder_sample_time (self, start);
  GST_BUFFER_DURATION (buffer) =
      gst_util_uint64_scale_int (MAX (span, len), GST_SECOND, self->rate);
  GST_BUFFER_OFFSET (buffer) = self->n_windows;
  if (self->n_windows == 0)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  self->n_windows++;
  gst_sf_buffer_add_model_meta (buffer, self->model, NULL, NULL);

  GST_LOG_OBJECT (self,
      "window %" G_GUINT64_FORMAT " at %" GST_TIME_FORMAT ", %" G_GSIZE_FORMAT
      " samples (%" G_GSIZE_FORMAT " to the model)",
      self->n_windows - 1, GST_TIME_ARGS (GST_BUFFER_PTS (buffer)), n, len);
  return gst_pad_push (self->srcpad, buffer);

failed : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("Could not run model \"%s\" on the audio: %s",
          sf_model_name (self->model), error->message),
      (NULL));
  return GST_FLOW_ERROR;
}
not_negotiated : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("downstream did not accept the tensor caps"));
  return GST_FLOW_NOT_NEGOTIATED;
}
}

/* Drops the buffered samples before stream sample @index. */
static void
gst_sf_audio_encoder_discard (GstSfAudioEncoder *self, guint64 index)
{
  guint64 end = self->base + self->samples->len;
  guint64 upto = MIN (index, end);

  if (upto <= self->base)
    return;
  g_array_remove_range (self->samples, 0, (guint)(upto - self->base));
  self->base = upto;
}

/* Encodes every complete window. */
static GstFlowReturn
gst_sf_audio_encoder_process (GstSfAudioEncoder *self)
{
  GstFlowReturn ret = GST_FLOW_OK;

  /* audio before the next window (hop-ms above window-ms) is not needed */
  gst_sf_audio_encoder_discard (self, self->next_window);
  while (ret == GST_FLOW_OK && self->next_window >= self->base
      && self->next_window + self->window <= self->base + self->samples->len) {
    ret = gst_sf_audio_encoder_encode (
        self, self->next_window, self->window, self->window);
    self->covered = self->next_window + self->window;
    self->next_window += self->hop;
    gst_sf_audio_encoder_discard (self, self->next_window);
  }
  return ret;
}

/* At EOS: one last window over the samples no window has seen. */
static GstFlowReturn
gst_sf_audio_encoder_drain (GstSfAudioEncoder *self)
{
  guint64 end = self->base + self->samples->len;
  gsize n, span;
  GstFlowReturn ret;

  if (self->model == NULL || end <= self->covered || self->next_window >= end
      || self->next_window < self->base)
    return GST_FLOW_OK;
  n = (gsize)(end - self->next_window);
  span = self->pad_tail ? self->window : n;
  ret = gst_sf_audio_encoder_encode (self, self->next_window, n, span);
  self->covered = end;
  self->next_window = end;
  gst_sf_audio_encoder_discard (self, end);
  return ret;
}

/* Follows the input timestamps: the first one fixes the time of sample
 * 0; later ones move it when they disagree with the sample count by more
 * than 40 ms (a gap or a resync upstream). */
static void
gst_sf_audio_encoder_track_pts (GstSfAudioEncoder *self, GstBuffer *buffer)
{
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstClockTimeDiff at, expected;

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return;
  at = (GstClockTimeDiff)gst_util_uint64_scale_int (
      self->received, GST_SECOND, self->rate);
  expected = self->pts0 + at;
  if (!self->have_pts0) {
    self->pts0 = (GstClockTimeDiff)pts - at;
    self->have_pts0 = TRUE;
  } else if (ABS ((GstClockTimeDiff)pts - expected) > 40 * GST_MSECOND) {
    GST_DEBUG_OBJECT (self,
        "timestamp %" GST_TIME_FORMAT " is %" GST_STIME_FORMAT
        " off the sample count; resyncing",
        GST_TIME_ARGS (pts), GST_STIME_ARGS ((GstClockTimeDiff)pts - expected));
    self->pts0 = (GstClockTimeDiff)pts - at;
  }
}

/* Appends @map's samples as floats; non-finite values become 0. */
static void
gst_sf_audio_encoder_append (GstSfAudioEncoder *self, const GstMapInfo *map)
{
  gsize n, i, bad = 0;
  guint old = self->samples->len;
  float *out;

  if (self->format == SAMPLE_S16) {
    const gint16 *in = (const gint16 *)map->data;

    n = map->size / sizeof (gint16);
    g_array_set_size (self->samples, old + n);
    out = &g_array_index (self->samples, float, old);
    for (i = 0; i < n; i++)
      out[i] = (float)GINT16_FROM_LE (in[i]) / 32768.0f;
  } else {
    n = map->size / sizeof (float);
    g_array_set_size (self->samples, old + n);
    out = &g_array_index (self->samples, float, old);
    memcpy (out, map->data, n * sizeof (float));
#if G_BYTE_ORDER == G_BIG_ENDIAN
    for (i = 0; i < n; i++) {
      guint32 v;

      memcpy (&v, &out[i], 4);
      v = GUINT32_SWAP_LE_BE (v);
      memcpy (&out[i], &v, 4);
    }
#endif
    for (i = 0; i < n; i++) {
      if (!isfinite (out[i])) {
        out[i] = 0.0f;
        bad++;
      }
    }
  }
  self->received += n;
  if (bad > 0 && !self->warned_nan) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        ("The audio holds samples that are not finite numbers."),
        ("%" G_GSIZE_FORMAT " NaN or infinite samples were replaced by "
         "silence",
            bad));
    self->warned_nan = TRUE;
  }
}

static GstFlowReturn
gst_sf_audio_encoder_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);
  GstMapInfo map;

  if (self->model == NULL)
    goto not_started;
  if (!self->have_format)
    goto no_format;
  if (gst_buffer_get_size (buffer) == 0) {
    GST_DEBUG_OBJECT (self, "ignoring an empty buffer");
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    goto map_failed;

  gst_sf_audio_encoder_track_pts (self, buffer);
  gst_sf_audio_encoder_append (self, &map);
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);

  return gst_sf_audio_encoder_process (self);

not_started : {
  GST_ELEMENT_ERROR (self, CORE, FAILED, (NULL), ("no model loaded"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
no_format : {
  GST_ELEMENT_ERROR (
      self, CORE, NEGOTIATION, (NULL), ("received audio before caps"));
  gst_buffer_unref (buffer);
  return GST_FLOW_NOT_NEGOTIATED;
}
map_failed : {
  GST_ELEMENT_ERROR (
      self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
}

/* Accepts F32LE or S16LE mono at the model's rate. A format change keeps
 * the buffered audio (it is held as floats); another rate is refused. */
static gboolean
gst_sf_audio_encoder_set_caps (GstSfAudioEncoder *self, GstCaps *caps)
{
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *format = gst_structure_get_string (s, "format");
  gint rate = 0, channels = 0;

  if (self->model == NULL)
    return FALSE;
  if (!gst_structure_get_int (s, "rate", &rate)
      || !gst_structure_get_int (s, "channels", &channels) || format == NULL)
    goto bad_caps;
  if (rate != self->rate || channels != 1)
    goto wrong_rate;
  if (strcmp (format, "F32LE") == 0)
    self->format = SAMPLE_F32;
  else if (strcmp (format, "S16LE") == 0)
    self->format = SAMPLE_S16;
  else
    goto bad_caps;
  self->have_format = TRUE;
  GST_DEBUG_OBJECT (self, "input %s at %d Hz", format, rate);
  return TRUE;

bad_caps : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("unsupported input caps %" GST_PTR_FORMAT, caps));
  return FALSE;
}
wrong_rate : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("Model \"%s\" takes mono audio at %d Hz, but the stream is %d "
       "channel(s) at %d Hz; put audioconvert ! audioresample before "
       "sfaudioencoder.",
          sf_model_name (self->model), self->rate, channels, rate),
      (NULL));
  return FALSE;
}
}

static gboolean
gst_sf_audio_encoder_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gboolean ok;

      gst_event_parse_caps (event, &caps);
      ok = gst_sf_audio_encoder_set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT: {
      const GstSegment *in;

      gst_event_parse_segment (event, &in);
      if (in->format != GST_FORMAT_TIME) {
        GstSegment segment;

        gst_segment_init (&segment, GST_FORMAT_TIME);
        gst_event_unref (event);
        event = gst_event_new_segment (&segment);
      }
      /* Forwarded with the first caps, which follow from the model. */
      gst_clear_event (&self->segment_event);
      self->segment_event = event;
      if (self->have_caps)
        return gst_sf_audio_encoder_push_caps (self, &self->out_info);
      return TRUE;
    }
    case GST_EVENT_FLUSH_STOP: gst_sf_audio_encoder_reset (self, FALSE); break;
    case GST_EVENT_EOS:
      gst_sf_audio_encoder_drain (self);
      if (self->segment_event != NULL) {
        /* no window came: downstream still needs caps and a segment */
        GstSfTensorsInfo info;
        gint64 shape[2] = { 1, 1 };

        gst_sf_tensors_info_init (&info);
        info.num_tensors = 1;
        gst_sf_tensor_info_set_shape (
            &info.tensors[0], GST_SF_TENSOR_TYPE_FLOAT32, 2, shape);
        if (!self->have_caps && self->model != NULL
            && sf_model_has_classifier (self->model)) {
          shape[1] = sf_model_num_labels (self->model);
          gst_sf_tensor_info_set_shape (
              &info.tensors[0], GST_SF_TENSOR_TYPE_FLOAT32, 2, shape);
        }
        gst_sf_audio_encoder_push_caps (
            self, self->have_caps ? &self->out_info : &info);
      }
      gst_sf_audio_encoder_reset (self, FALSE);
      break;
    default: break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_sf_audio_encoder_sink_query (
    GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS: {
      GstCaps *filter, *caps = gst_pad_get_pad_template_caps (pad);

      gst_query_parse_caps (query, &filter);
      if (self->model != NULL) {
        caps = gst_caps_make_writable (caps);
        gst_caps_set_simple (caps, "rate", G_TYPE_INT, self->rate, NULL);
      }
      if (filter != NULL) {
        GstCaps *tmp =
            gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);

        gst_caps_unref (caps);
        caps = tmp;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    default: return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_sf_audio_encoder_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfAudioEncoder *self = GST_SF_AUDIO_ENCODER (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_LATENCY: {
      gboolean live;
      GstClockTime min, max, ours;

      if (!gst_pad_peer_query (self->sinkpad, query))
        return FALSE;
      gst_query_parse_latency (query, &live, &min, &max);
      /* a window is complete one window after its pts, and computing it
       * may take up to a hop before the next one is due */
      ours =
          (GstClockTime)(self->cur_window_ms + self->cur_hop_ms) * GST_MSECOND;
      min += ours;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += ours;
      GST_DEBUG_OBJECT (self, "latency %" GST_TIME_FORMAT, GST_TIME_ARGS (min));
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    case GST_QUERY_CAPS: {
      GstCaps *filter, *caps;

      gst_query_parse_caps (query, &filter);
      caps = self->have_caps ? gst_sf_tensors_info_to_caps (&self->out_info)
                             : gst_pad_get_pad_template_caps (pad);
      if (filter != NULL) {
        GstCaps *tmp =
            gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);

        gst_caps_unref (caps);
        caps = tmp;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
    default: return gst_pad_query_default (pad, parent, query);
  }
}
