/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sftextencoder
 * @title: sftextencoder
 *
 * Tokenises text and runs a Hugging Face text encoder (BERT family) from a
 * checkpoint folder. Each line of input (or each buffer, with split=buffer)
 * becomes one buffer of `other/tensors`:
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
 * warning per stream. Lines longer than the model's position limit (or
 * max-length) are truncated with a debug warning. Empty lines are skipped.
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

#include "gstsfmodel.h"
#include "gstsftextencoder.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME
            ", format = (string) static, "
            "num_tensors = (int) 1, types = (string) float32, "
            "framerate = (fraction) [ 0/1, 2147483647/1 ]"));

GST_DEBUG_CATEGORY_STATIC (gst_sf_text_encoder_debug);
#define GST_CAT_DEFAULT gst_sf_text_encoder_debug

typedef enum
{
  GST_SF_TEXT_SPLIT_LINES,
  GST_SF_TEXT_SPLIT_BUFFER,
} GstSfTextSplit;

#define DEFAULT_MODEL NULL
#define DEFAULT_SPLIT GST_SF_TEXT_SPLIT_LINES
#define DEFAULT_MAX_LENGTH 0
#define DEFAULT_POOLING SF_POOLING_AUTO
#define DEFAULT_NORMALIZE FALSE

/* Lines encoded together in one padded batch (pooled outputs only). */
#define MAX_BATCH 16

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_SPLIT,
  PROP_MAX_LENGTH,
  PROP_POOLING,
  PROP_NORMALIZE,
};

/* One line (or buffer) of text waiting for the encoder. */
typedef struct
{
  gchar *text;
  GstClockTime pts;
  GstClockTime duration;
} TextItem;

struct _GstSfTextEncoder
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* properties, under the object lock */
  gchar *model_path;
  GstSfTextSplit split;
  guint max_length;
  SfPooling pooling;
  gboolean normalize;
  gboolean normalize_set;

  /* streaming state, set up in start() */
  SfModel *model;
  GstSfTextSplit cur_split;
  guint cur_max_length;
  gboolean want_logits;  /* classifier output */
  gboolean want_embeds;  /* projected text embeddings (CLIP) */
  SfPooling cur_pooling; /* CLS/MEAN, or NONE for the last hidden state */
  gboolean cur_normalize;

  GString *pending;         /* bytes of a line not yet ended */
  GstClockTime pending_pts; /* pts of the buffer in which it began */
  GstClockTime last_pts;
  guint64 n_lines;
  gboolean warned_utf8;

  GstSfTensorsInfo out_info; /* last caps pushed */
  gboolean have_caps;
  GstEvent *segment_event; /* waiting until caps are pushed */
};

GType
gst_sf_text_split_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_TEXT_SPLIT_LINES,
        "Each complete line is one text; input is accumulated across buffers",
        "lines" },
    { GST_SF_TEXT_SPLIT_BUFFER, "Each buffer is one text", "buffer" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfTextSplit", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_sf_pooling_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { SF_POOLING_AUTO,
        "The checkpoint's own output: logits with a classifier head, else "
        "its sentence-transformers pooling, else the last hidden state",
        "auto" },
    { SF_POOLING_NONE, "Per-token last hidden state [T, H]", "none" },
    { SF_POOLING_CLS, "Hidden state of the first token [H]", "cls" },
    { SF_POOLING_MEAN, "Attention-masked mean of the last hidden state [H]",
        "mean" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfPooling", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_sf_text_encoder_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfTextEncoder, gst_sf_text_encoder,
    GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_sf_text_encoder_debug, "sftextencoder", 0,
        "Streamformer text encoder"));
GST_ELEMENT_REGISTER_DEFINE (
    sftextencoder, "sftextencoder", GST_RANK_NONE, GST_TYPE_SF_TEXT_ENCODER);

static void gst_sf_text_encoder_finalize (GObject *object);
static void gst_sf_text_encoder_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sf_text_encoder_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static GstStateChangeReturn gst_sf_text_encoder_change_state (
    GstElement *element, GstStateChange transition);
static GstFlowReturn gst_sf_text_encoder_chain (
    GstPad *pad, GstObject *parent, GstBuffer *buffer);
static gboolean gst_sf_text_encoder_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event);
static gboolean gst_sf_text_encoder_src_query (
    GstPad *pad, GstObject *parent, GstQuery *query);

static void
gst_sf_text_encoder_class_init (GstSfTextEncoderClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_sf_text_encoder_finalize;
  gobject_class->set_property = gst_sf_text_encoder_set_property;
  gobject_class->get_property = gst_sf_text_encoder_get_property;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Hugging Face checkpoint folder (config.json, model.safetensors, "
          "tokenizer.json) of a text encoder",
          DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
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
          0, G_MAXINT, DEFAULT_MAX_LENGTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_POOLING,
      g_param_spec_enum ("pooling", "Pooling",
          "What each text becomes: the checkpoint's own output, the per-token "
          "hidden states, or a pooled sentence embedding",
          GST_TYPE_SF_POOLING, DEFAULT_POOLING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_NORMALIZE,
      g_param_spec_boolean ("normalize", "Normalize",
          "L2-normalise pooled embeddings. Unless set explicitly, "
          "pooling=auto follows the checkpoint's own setting",
          DEFAULT_NORMALIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (element_class,
      "Streamformer text encoder", "Filter/Converter/Text",
      "Tokenises text and runs a Hugging Face text encoder checkpoint "
      "(BERT, DistilBERT) on each line, producing logits, sentence "
      "embeddings or per-token hidden states as other/tensors",
      "Streamformer contributors");
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
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_text_encoder_chain));
  gst_pad_set_event_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_text_encoder_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (
      self->srcpad, GST_DEBUG_FUNCPTR (gst_sf_text_encoder_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->model_path = g_strdup (DEFAULT_MODEL);
  self->split = DEFAULT_SPLIT;
  self->max_length = DEFAULT_MAX_LENGTH;
  self->pooling = DEFAULT_POOLING;
  self->normalize = DEFAULT_NORMALIZE;
  self->normalize_set = FALSE;

  self->pending = g_string_new (NULL);
  self->pending_pts = GST_CLOCK_TIME_NONE;
  self->last_pts = GST_CLOCK_TIME_NONE;
}

static void
gst_sf_text_encoder_finalize (GObject *object)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (object);

  g_free (self->model_path);
  g_string_free (self->pending, TRUE);
  sf_model_unref (self->model);
  gst_clear_event (&self->segment_event);

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
    case PROP_SPLIT: self->split = g_value_get_enum (value); break;
    case PROP_MAX_LENGTH: self->max_length = g_value_get_uint (value); break;
    case PROP_POOLING: self->pooling = g_value_get_enum (value); break;
    case PROP_NORMALIZE:
      self->normalize = g_value_get_boolean (value);
      self->normalize_set = TRUE;
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
    case PROP_SPLIT: g_value_set_enum (value, self->split); break;
    case PROP_MAX_LENGTH: g_value_set_uint (value, self->max_length); break;
    case PROP_POOLING: g_value_set_enum (value, self->pooling); break;
    case PROP_NORMALIZE: g_value_set_boolean (value, self->normalize); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_text_encoder_reset (GstSfTextEncoder *self)
{
  g_string_truncate (self->pending, 0);
  self->pending_pts = GST_CLOCK_TIME_NONE;
  self->last_pts = GST_CLOCK_TIME_NONE;
  self->n_lines = 0;
  self->warned_utf8 = FALSE;
  self->have_caps = FALSE;
  gst_sf_tensors_info_init (&self->out_info);
  gst_clear_event (&self->segment_event);
}

static gboolean
gst_sf_text_encoder_start (GstSfTextEncoder *self)
{
  gchar *path;
  SfPooling pooling;
  gboolean normalize, normalize_set;
  guint max_positions;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  self->cur_split = self->split;
  self->cur_max_length = self->max_length;
  pooling = self->pooling;
  normalize = self->normalize;
  normalize_set = self->normalize_set;
  GST_OBJECT_UNLOCK (self);

  self->model = gst_sf_model_load (GST_ELEMENT (self), path);
  if (self->model == NULL)
    goto load_failed;

  if (!sf_model_takes_input (self->model, SF_MODALITY_TEXT)
      || sf_model_tokenizer (self->model) == NULL)
    goto not_text;

  /* 0 lets the model apply its own limit (which may be below the
   * position table, as with RoBERTa's padding offset). */
  max_positions =
      (guint)CLAMP (sf_model_max_positions (self->model), 0, G_MAXINT);
  if (max_positions > 0 && self->cur_max_length > max_positions)
    self->cur_max_length = 0;

  self->want_logits = FALSE;
  self->want_embeds = FALSE;
  if (pooling == SF_POOLING_AUTO) {
    if (sf_model_has_classifier (self->model)) {
      self->want_logits = TRUE;
      pooling = SF_POOLING_NONE;
    } else if (sf_model_projection_dim (self->model) > 0) {
      self->want_embeds = TRUE; /* already L2-normalised */
      pooling = SF_POOLING_NONE;
    } else {
      pooling = sf_model_default_pooling (self->model);
    }
    if (!normalize_set)
      normalize = sf_model_default_normalize (self->model);
  }
  if (pooling == SF_POOLING_AUTO)
    pooling = SF_POOLING_NONE;
  self->cur_pooling = pooling;
  self->cur_normalize =
      normalize && !self->want_logits && pooling != SF_POOLING_NONE;

  GST_INFO_OBJECT (self,
      "model %s (%s), output %s, normalize %d, "
      "max length %u",
      sf_model_name (self->model), sf_model_architecture (self->model),
      self->want_logits                ? "logits"
          : self->want_embeds          ? "text embeds"
          : pooling == SF_POOLING_NONE ? "last hidden state"
          : pooling == SF_POOLING_CLS  ? "cls"
                                       : "mean",
      self->cur_normalize, self->cur_max_length);

  gst_sf_text_encoder_reset (self);
  g_free (path);
  return TRUE;

load_failed : {
  g_free (path);
  return FALSE;
}
not_text : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Model \"%s\" is not a text model with a tokenizer "
       "(architecture %s).",
          path, sf_model_architecture (self->model)),
      ("sftextencoder needs a text encoder checkpoint"));
  g_clear_pointer (&self->model, sf_model_unref);
  g_free (path);
  return FALSE;
}
}

static void
gst_sf_text_encoder_stop (GstSfTextEncoder *self)
{
  gst_sf_text_encoder_reset (self);
  g_clear_pointer (&self->model, sf_model_unref);
}

static GstStateChangeReturn
gst_sf_text_encoder_change_state (
    GstElement *element, GstStateChange transition)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      if (!gst_sf_text_encoder_start (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    default: break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_sf_text_encoder_stop (self);
      break;
    default: break;
  }
  return ret;
}

/* Output caps for the current mode; FALSE while they depend on the text. */
static gboolean
gst_sf_text_encoder_fixed_info (GstSfTextEncoder *self, GstSfTensorsInfo *info)
{
  gint64 shape[2] = { 1, 0 };

  if (self->model == NULL)
    return FALSE;
  if (self->want_logits)
    shape[1] = sf_model_num_labels (self->model);
  else if (self->want_embeds)
    shape[1] = sf_model_projection_dim (self->model);
  else if (self->cur_pooling != SF_POOLING_NONE)
    shape[1] = sf_model_hidden_size (self->model);
  else
    return FALSE;

  gst_sf_tensors_info_init (info);
  info->num_tensors = 1;
  return gst_sf_tensor_info_set_shape (
      &info->tensors[0], GST_SF_TENSOR_TYPE_FLOAT32, 2, shape);
}

/* Pushes caps when they change, then any segment that waited for them. */
static gboolean
gst_sf_text_encoder_push_caps (
    GstSfTextEncoder *self, const GstSfTensorsInfo *info)
{
  if (!self->have_caps
      || !gst_sf_tensors_info_is_equal (info, &self->out_info)) {
    GstCaps *caps = gst_sf_tensors_info_to_caps (info);

    GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, caps);
    if (!gst_pad_push_event (self->srcpad, gst_event_new_caps (caps))) {
      gst_caps_unref (caps);
      return FALSE;
    }
    gst_caps_unref (caps);
    self->out_info = *info;
    self->have_caps = TRUE;
  }
  if (self->segment_event != NULL) {
    GstEvent *event = self->segment_event;

    self->segment_event = NULL;
    gst_pad_push_event (self->srcpad, event);
  }
  return TRUE;
}

static void
gst_sf_text_encoder_stamp (GstSfTextEncoder *self, GstClockTime in_pts,
    GstClockTime in_duration, GstClockTime *pts, GstClockTime *duration)
{
  if (GST_CLOCK_TIME_IS_VALID (in_pts)) {
    *pts = in_pts;
    *duration = in_duration;
  } else {
    *pts = self->n_lines * GST_SECOND;
    *duration = GST_SECOND;
  }
  if (GST_CLOCK_TIME_IS_VALID (self->last_pts) && *pts <= self->last_pts)
    *pts = self->last_pts + 1;
  self->last_pts = *pts;
  self->n_lines++;
}

static GstFlowReturn
gst_sf_text_encoder_push_tensor (
    GstSfTextEncoder *self, SfTensor *tensor, const TextItem *item)
{
  GstSfTensorsInfo info;
  GstBuffer *buffer;
  GstClockTime pts, duration;

  gst_sf_tensors_info_init (&info);
  info.num_tensors = 1;
  if (!gst_sf_tensor_info_set_shape (&info.tensors[0],
          GST_SF_TENSOR_TYPE_FLOAT32, tensor->ndim, tensor->shape))
    goto bad_shape;
  if (!gst_sf_text_encoder_push_caps (self, &info))
    goto not_negotiated;

  buffer = gst_buffer_new ();
  gst_buffer_append_memory (buffer, gst_sf_memory_new_from_tensor (tensor));
  gst_sf_text_encoder_stamp (self, item->pts, item->duration, &pts, &duration);
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = duration;
  GST_BUFFER_OFFSET (buffer) = self->n_lines - 1;
  gst_sf_buffer_add_model_meta (buffer, self->model, item->text, NULL);

  return gst_pad_push (self->srcpad, buffer);

bad_shape : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
      ("model output has %d dimensions", tensor->ndim));
  return GST_FLOW_ERROR;
}
not_negotiated : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("downstream did not accept the tensor caps"));
  return GST_FLOW_NOT_NEGOTIATED;
}
}

/* Encodes @n texts as one padded batch and pushes one buffer per text. */
static GstFlowReturn
gst_sf_text_encoder_encode (GstSfTextEncoder *self, TextItem *items, guint n)
{
  const gchar *texts[MAX_BATCH];
  SfTextInput input = { 0 };
  SfTextOutput output = { 0 };
  SfTensor *result = NULL, *result_f32 = NULL;
  gboolean truncated = FALSE;
  GError *error = NULL;
  GstFlowReturn ret = GST_FLOW_OK;
  guint i;

  g_assert (n > 0 && n <= MAX_BATCH);
  for (i = 0; i < n; i++)
    texts[i] = items[i].text;

  if (!sf_model_encode_texts (self->model, texts, NULL, n, self->cur_max_length,
          &input, &truncated, &error))
    goto failed;
  if (truncated)
    GST_WARNING_OBJECT (self, "text truncated to %u tokens",
        self->cur_max_length ? self->cur_max_length
                             : (guint)sf_model_max_positions (self->model));

  if (!sf_model_forward_text (self->model, &input, FALSE, &output, &error))
    goto failed;

  if (self->want_logits) {
    result = sf_tensor_ref (output.logits);
  } else if (self->want_embeds) {
    result = sf_tensor_ref (output.text_embeds);
  } else if (self->cur_pooling == SF_POOLING_NONE) {
    result = sf_tensor_ref (output.last_hidden_state);
  } else {
    result = sf_text_output_pool (
        &output, &input, self->cur_pooling, self->cur_normalize);
  }
  if (result == NULL)
    goto no_output;
  result_f32 = sf_tensor_to_f32 (result);
  if (result_f32 == NULL)
    goto no_output;

  /* result_f32: [B, num_labels], [B, H] or [B, T, H] */
  for (i = 0; i < n && ret == GST_FLOW_OK; i++) {
    SfTensor *row = sf_tensor_slice0 (result_f32, i, 1);

    ret = gst_sf_text_encoder_push_tensor (self, row, &items[i]);
    sf_tensor_unref (row);
  }

done:
  sf_tensor_unref (result_f32);
  sf_tensor_unref (result);
  sf_text_output_clear (&output);
  sf_text_input_clear (&input);
  return ret;

failed : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("Could not encode text with model \"%s\": %s",
          sf_model_name (self->model), error->message),
      (NULL));
  g_clear_error (&error);
  ret = GST_FLOW_ERROR;
  goto done;
}
no_output : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
      ("model \"%s\" produced no output for the requested pooling",
          sf_model_name (self->model)));
  ret = GST_FLOW_ERROR;
  goto done;
}
}

/* Takes ownership of the texts in @items. Batches pooled outputs; the
 * per-token output goes one text at a time, so T is that text's length. */
static GstFlowReturn
gst_sf_text_encoder_process (GstSfTextEncoder *self, GArray *items)
{
  GstFlowReturn ret = GST_FLOW_OK;
  guint batch = (self->want_logits || self->want_embeds
                    || self->cur_pooling != SF_POOLING_NONE)
      ? MAX_BATCH
      : 1;
  guint i, n;

  for (i = 0; i < items->len && ret == GST_FLOW_OK; i += n) {
    n = MIN (batch, items->len - i);
    ret = gst_sf_text_encoder_encode (
        self, &g_array_index (items, TextItem, i), n);
  }
  for (i = 0; i < items->len; i++)
    g_free (g_array_index (items, TextItem, i).text);
  g_array_set_size (items, 0);
  return ret;
}

/* Makes @len bytes of @data into a valid UTF-8 string: NUL bytes and
 * invalid sequences become U+FFFD. A trailing "\r" is dropped. Returns NULL
 * for an empty (or blank) text. */
static gchar *
gst_sf_text_encoder_clean (GstSfTextEncoder *self, const gchar *data, gsize len)
{
  const gchar *end;
  gchar *text, *p;

  if (len > 0 && data[len - 1] == '\r')
    len--;

  if (!g_utf8_validate_len (data, len, &end)) {
    gchar *tmp = g_memdup2 (data, len);
    gsize i;

    /* 0xFF never occurs in UTF-8, so make_valid replaces it too. */
    for (i = 0; i < len; i++) {
      if (tmp[i] == '\0')
        tmp[i] = (gchar)0xff;
    }
    text = g_utf8_make_valid (tmp, len);
    g_free (tmp);
    if (!self->warned_utf8) {
      GST_ELEMENT_WARNING (self, STREAM, DECODE,
          ("Input text is not valid UTF-8."),
          ("invalid bytes were replaced by U+FFFD"));
      self->warned_utf8 = TRUE;
    }
  } else {
    text = g_strndup (data, len);
  }

  for (p = text; *p != '\0'; p++) {
    if (!g_ascii_isspace (*p))
      return text;
  }
  GST_DEBUG_OBJECT (self, "skipping an empty line");
  g_free (text);
  return NULL;
}

static void
gst_sf_text_encoder_add_item (GstSfTextEncoder *self, GArray *items,
    const gchar *data, gsize len, GstClockTime pts, GstClockTime duration)
{
  TextItem item;

  item.text = gst_sf_text_encoder_clean (self, data, len);
  if (item.text == NULL)
    return;
  item.pts = pts;
  item.duration = duration;
  g_array_append_val (items, item);
}

/* Moves every complete line out of the pending bytes. At EOS (@flush) the
 * rest counts as a line too. */
static void
gst_sf_text_encoder_take_lines (GstSfTextEncoder *self, GArray *items,
    GstClockTime buffer_pts, gboolean flush)
{
  gsize start = 0, i;

  for (i = 0; i < self->pending->len; i++) {
    if (self->pending->str[i] != '\n')
      continue;
    gst_sf_text_encoder_add_item (self, items, self->pending->str + start,
        i - start, self->pending_pts, GST_CLOCK_TIME_NONE);
    start = i + 1;
    /* The next line begins in the buffer being read. */
    self->pending_pts = buffer_pts;
  }
  g_string_erase (self->pending, 0, start);

  if (flush && self->pending->len > 0) {
    gst_sf_text_encoder_add_item (self, items, self->pending->str,
        self->pending->len, self->pending_pts, GST_CLOCK_TIME_NONE);
    g_string_truncate (self->pending, 0);
  }
}

static GstFlowReturn
gst_sf_text_encoder_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (parent);
  GArray *items;
  GstMapInfo map;
  GstFlowReturn ret;

  if (self->model == NULL)
    goto not_started;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    goto map_failed;

  items = g_array_new (FALSE, FALSE, sizeof (TextItem));
  if (self->cur_split == GST_SF_TEXT_SPLIT_BUFFER) {
    gsize len = map.size;

    /* One text per buffer; a final line break is not part of it. */
    if (len > 0 && map.data[len - 1] == '\n')
      len--;
    gst_sf_text_encoder_add_item (self, items, (const gchar *)map.data, len,
        GST_BUFFER_PTS (buffer), GST_BUFFER_DURATION (buffer));
  } else {
    if (self->pending->len == 0)
      self->pending_pts = GST_BUFFER_PTS (buffer);
    g_string_append_len (self->pending, (const gchar *)map.data, map.size);
    gst_sf_text_encoder_take_lines (
        self, items, GST_BUFFER_PTS (buffer), FALSE);
  }
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);

  ret = gst_sf_text_encoder_process (self, items);
  g_array_unref (items);
  return ret;

not_started : {
  GST_ELEMENT_ERROR (self, CORE, FAILED, (NULL), ("no model loaded"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
map_failed : {
  GST_ELEMENT_ERROR (
      self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
  gst_buffer_unref (buffer);
  return GST_FLOW_ERROR;
}
}

static gboolean
gst_sf_text_encoder_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstSfTensorsInfo info;

      /* The output caps follow from the model, not from the text caps. */
      gst_event_unref (event);
      if (gst_sf_text_encoder_fixed_info (self, &info))
        return gst_sf_text_encoder_push_caps (self, &info);
      return TRUE;
    }
    case GST_EVENT_SEGMENT: {
      const GstSegment *in;
      GstSfTensorsInfo info;

      gst_event_parse_segment (event, &in);
      if (in->format != GST_FORMAT_TIME) {
        GstSegment segment;

        /* Byte segments (filesrc) become a time segment for the stamps. */
        gst_segment_init (&segment, GST_FORMAT_TIME);
        gst_event_unref (event);
        event = gst_event_new_segment (&segment);
      }
      gst_clear_event (&self->segment_event);
      self->segment_event = event;
      if (self->have_caps || gst_sf_text_encoder_fixed_info (self, &info))
        return gst_sf_text_encoder_push_caps (
            self, self->have_caps ? &self->out_info : &info);
      return TRUE;
    }
    case GST_EVENT_FLUSH_STOP:
      g_string_truncate (self->pending, 0);
      self->pending_pts = GST_CLOCK_TIME_NONE;
      self->last_pts = GST_CLOCK_TIME_NONE;
      break;
    case GST_EVENT_EOS: {
      GArray *items = g_array_new (FALSE, FALSE, sizeof (TextItem));

      if (self->model != NULL) {
        gst_sf_text_encoder_take_lines (self, items, GST_CLOCK_TIME_NONE, TRUE);
        gst_sf_text_encoder_process (self, items);
      }
      g_array_unref (items);
      break;
    }
    default: break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_sf_text_encoder_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfTextEncoder *self = GST_SF_TEXT_ENCODER (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS: {
      GstSfTensorsInfo info;
      GstCaps *filter, *caps;

      gst_query_parse_caps (query, &filter);
      if (self->have_caps)
        caps = gst_sf_tensors_info_to_caps (&self->out_info);
      else if (gst_sf_text_encoder_fixed_info (self, &info))
        caps = gst_sf_tensors_info_to_caps (&info);
      else
        caps = gst_pad_get_pad_template_caps (pad);
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
