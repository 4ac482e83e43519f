/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfclassifier
 * @title: sfclassifier
 *
 * Turns a tensor of classification logits into the top-k labels and their
 * scores. Labels come from the id2label table of the model named by the
 * buffer's GstSfTensorMeta, or are "LABEL_<i>" when no model is known. A
 * GstSfLabelsMeta with one name per value overrides both (sfsimilarity
 * names each value after its prompt text).
 *
 * The scores follow the checkpoint's problem type unless activation is set:
 * softmax for single-label classification, a sigmoid per label for
 * multi-label classification, and the raw values for regression. Labels
 * scoring below threshold are dropped; raw values (activation=none, or a
 * regression head) keep every label unless threshold is set.
 *
 * Each input buffer (one row of logits, e.g. dimensions "3:1") gives one
 * line of text such as "positive 0.9876, negative 0.0100". The same result
 * is attached as a GstSfResultMeta for sfjsonsink and posted on the bus as
 * an element message named "sfclassifier" with the fields pts (guint64,
 * GST_CLOCK_TIME_NONE when unknown), duration, labels (GstValueArray of
 * strings), scores (GstValueArray of doubles) and text (the classified text
 * when the encoder recorded it).
 *
 * Like every result, the message also has stream-id and source (strings:
 * the stream's id and the element it comes from, through a funnel too)
 * and json (string: the whole result as the JSON object sfjsonsink
 * writes), readable from Python without GstValueArray bindings.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=reviews.txt ! sftextencoder model=./sst2 ! sfclassifier top-k=2 ! fdsink
 * ]| Prints the two most likely labels of each line of reviews.txt.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>

#include "graphs/post/classify.h"
#include "gstsfclassifier.h"
#include "gstsfelement.h"
#include "gstsfmodel.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME ", format = (string) static"));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

GST_DEBUG_CATEGORY_STATIC (gst_sf_classifier_debug);
#define GST_CAT_DEFAULT gst_sf_classifier_debug

/* The activation property's values are graphs/classify.h's SfScoreFunction. */
typedef SfScoreFunction GstSfActivation;
#define GST_SF_ACTIVATION_AUTO SF_SCORE_AUTO
#define GST_SF_ACTIVATION_SOFTMAX SF_SCORE_SOFTMAX
#define GST_SF_ACTIVATION_SIGMOID SF_SCORE_SIGMOID
#define GST_SF_ACTIVATION_NONE SF_SCORE_NONE

#define DEFAULT_TOP_K 5
#define DEFAULT_THRESHOLD 0.0
#define DEFAULT_ACTIVATION GST_SF_ACTIVATION_AUTO

enum
{
  PROP_0,
  PROP_TOP_K,
  PROP_THRESHOLD,
  PROP_ACTIVATION,
};

struct _GstSfClassifier
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  guint top_k;
  gdouble threshold;
  gboolean threshold_set; /* else raw scores keep every label */
  GstSfActivation activation;

  /* from the sink caps */
  guint n_values;
  GstCaps *refused_caps; /* posted once: a refused caps event comes back */
};

GType
gst_sf_activation_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_ACTIVATION_AUTO,
        "Follow the checkpoint's problem_type: sigmoid for multi-label, "
        "none for regression, softmax otherwise",
        "auto" },
    { GST_SF_ACTIVATION_SOFTMAX, "Softmax over all labels", "softmax" },
    { GST_SF_ACTIVATION_SIGMOID, "Independent sigmoid per label", "sigmoid" },
    { GST_SF_ACTIVATION_NONE, "Raw logits", "none" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfActivation", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_sf_classifier_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfClassifier, gst_sf_classifier,
    GST_TYPE_BASE_TRANSFORM,
    GST_DEBUG_CATEGORY_INIT (
        gst_sf_classifier_debug, "sfclassifier", 0, "Streamformer classifier"));
GST_ELEMENT_REGISTER_DEFINE (
    sfclassifier, "sfclassifier", GST_RANK_NONE, GST_TYPE_SF_CLASSIFIER);

static void gst_sf_classifier_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sf_classifier_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static GstCaps *gst_sf_classifier_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter);
static gboolean gst_sf_classifier_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps);
static GstFlowReturn gst_sf_classifier_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *input, GstBuffer **outbuf);
static GstFlowReturn gst_sf_classifier_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf);
static gboolean gst_sf_classifier_stop (GstBaseTransform *trans);
static void gst_sf_classifier_finalize (GObject *object);

static void
gst_sf_classifier_class_init (GstSfClassifierClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_sf_classifier_set_property;
  gobject_class->get_property = gst_sf_classifier_get_property;
  gobject_class->finalize = gst_sf_classifier_finalize;

  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "Number of best labels reported per input, at most the number of "
          "labels (0 = all)",
          0, G_MAXINT, DEFAULT_TOP_K,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Labels whose score (after the activation) is below this value are "
          "dropped; when not set, raw scores (activation=none, regression) "
          "are all kept",
          -G_MAXDOUBLE, G_MAXDOUBLE, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ACTIVATION,
      g_param_spec_enum ("activation", "Activation", "How logits become scores",
          GST_TYPE_SF_ACTIVATION, DEFAULT_ACTIVATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class,
      "Streamformer classifier", "Filter/Analyzer",
      "Reports the top-k labels of classification logits, with softmax or "
      "sigmoid scores as the checkpoint implies, as text, as a result meta "
      "and as element messages",
      "Streamformer contributors");
  gst_sf_element_class_set_message (element_class, "sfclassifier",
      "pts (guint64 ns, GST_CLOCK_TIME_NONE when unknown), duration (guint64 "
      "ns), labels (GstValueArray of strings, best first), scores "
      "(GstValueArray of doubles), text (string: the classified text, when "
      "the encoder recorded it)");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 filesrc location=reviews.txt ! sftextencoder "
      "model=distilbert/distilbert-base-uncased-finetuned-sst-2-english ! "
      "sfclassifier top-k=2 ! sfjsonsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_sf_classifier_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_sf_classifier_set_caps);
  trans_class->prepare_output_buffer =
      GST_DEBUG_FUNCPTR (gst_sf_classifier_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_sf_classifier_transform);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sf_classifier_stop);
  trans_class->passthrough_on_same_caps = FALSE;

  gst_type_mark_as_plugin_api (GST_TYPE_SF_ACTIVATION, 0);
}

static void
gst_sf_classifier_init (GstSfClassifier *self)
{
  self->top_k = DEFAULT_TOP_K;
  self->threshold = DEFAULT_THRESHOLD;
  self->activation = DEFAULT_ACTIVATION;
}

static void
gst_sf_classifier_finalize (GObject *object)
{
  gst_clear_caps (&GST_SF_CLASSIFIER (object)->refused_caps);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* A new run may send the same wrong caps: it gets its error again. */
static gboolean
gst_sf_classifier_stop (GstBaseTransform *trans)
{
  gst_clear_caps (&GST_SF_CLASSIFIER (trans)->refused_caps);
  return TRUE;
}

static void
gst_sf_classifier_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfClassifier *self = GST_SF_CLASSIFIER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TOP_K: self->top_k = g_value_get_uint (value); break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      self->threshold_set = TRUE;
      break;
    case PROP_ACTIVATION: self->activation = g_value_get_enum (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_classifier_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfClassifier *self = GST_SF_CLASSIFIER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_TOP_K: g_value_set_uint (value, self->top_k); break;
    case PROP_THRESHOLD: g_value_set_double (value, self->threshold); break;
    case PROP_ACTIVATION: g_value_set_enum (value, self->activation); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstCaps *
gst_sf_classifier_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  GstCaps *result;

  if (direction == GST_PAD_SINK)
    result = gst_static_pad_template_get_caps (&src_template);
  else
    result = gst_static_pad_template_get_caps (&sink_template);

  if (filter != NULL) {
    GstCaps *tmp =
        gst_caps_intersect_full (filter, result, GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (result);
    result = tmp;
  }
  return result;
}

static gboolean
gst_sf_classifier_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstSfClassifier *self = GST_SF_CLASSIFIER (trans);
  GstSfTensorsInfo info;
  const GstSfTensorInfo *t;
  gchar *dims;
  const gchar *hint;

  /* a refused caps event is sent again with every buffer: post once */
  if (self->refused_caps != NULL
      && gst_caps_is_equal (incaps, self->refused_caps))
    return FALSE;
  gst_caps_replace (&self->refused_caps, incaps);
  if (!gst_sf_tensors_info_from_caps (&info, incaps))
    goto bad_caps;
  t = &info.tensors[0];
  if (t->type != GST_SF_TENSOR_TYPE_FLOAT32)
    goto bad_type;
  /* One row of scores: every dimension past the innermost is 1. */
  if (t->dims[0] == 0 || t->dims[0] > G_MAXINT
      || gst_sf_tensor_info_numel (t) != t->dims[0])
    goto bad_shape;

  self->n_values = (guint)t->dims[0];
  gst_clear_caps (&self->refused_caps);
  GST_DEBUG_OBJECT (self, "%u scores per buffer", self->n_values);
  return TRUE;

bad_caps : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("could not parse tensor caps %" GST_PTR_FORMAT, incaps));
  return FALSE;
}
bad_type : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sfclassifier needs float32 logits, got %s.",
          gst_sf_tensor_type_name (t->type)),
      (NULL));
  return FALSE;
}
bad_shape : {
  dims = gst_sf_tensor_info_dims_string (t);
  /* w:h:labels:1 is a segmentation head's; H:T:1 an encoder's states */
  hint = t->ndim == 4 && t->dims[3] == 1
      ? "per-pixel logits of a segmentation model); use sfsegmenter"
      : "one vector per token, as from a model without a classification "
        "head); set pooling=mean (or cls) on sftextencoder for one vector "
        "per text, or use a classification checkpoint "
        "(…ForSequenceClassification)";
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sfclassifier needs one row of logits per buffer, got dimensions "
       "%s (%s.",
          dims, hint),
      (NULL));
  g_free (dims);
  return FALSE;
}
}

/* The text length is known only after the transform, which appends it. */
static GstFlowReturn
gst_sf_classifier_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *input, GstBuffer **outbuf)
{
  *outbuf = gst_buffer_new ();
  gst_buffer_copy_into (*outbuf, input,
      GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_sf_classifier_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  GstSfClassifier *self = GST_SF_CLASSIFIER (trans);
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (inbuf);
  GstSfLabelsMeta *names = gst_buffer_get_sf_labels_meta (inbuf);
  SfModel *model = gst_sf_buffer_get_model (inbuf);
  GstSfActivation activation;
  GstStructure *result;
  GValue labels = G_VALUE_INIT, scores = G_VALUE_INIT;
  GString *line;
  SfLabelScore *ranked;
  GstMapInfo map;
  guint top_k, i, n = self->n_values, shown;
  gdouble threshold;
  gchar *text;
  gsize len;

  GST_OBJECT_LOCK (self);
  top_k = self->top_k;
  threshold = self->threshold;
  /* a threshold of 0 would drop every negative raw logit */
  if (!self->threshold_set
      && sf_score_function_resolve (model, self->activation) == SF_SCORE_NONE)
    threshold = -INFINITY;
  activation = self->activation;
  GST_OBJECT_UNLOCK (self);

  if (names != NULL && names->n_labels != n)
    names = NULL;
  if (model != NULL && names == NULL && sf_model_num_labels (model) != n)
    goto label_mismatch;

  if (!gst_buffer_map (inbuf, &map, GST_MAP_READ))
    goto map_failed;
  if (map.size < (gsize)n * sizeof (float)) {
    gst_buffer_unmap (inbuf, &map);
    goto too_small;
  }
  ranked = g_new (SfLabelScore, n);
  shown = sf_classify (
      model, (const float *)map.data, n, activation, top_k, threshold, ranked);
  gst_buffer_unmap (inbuf, &map);

  g_value_init (&labels, GST_TYPE_ARRAY);
  g_value_init (&scores, GST_TYPE_ARRAY);
  line = g_string_new (NULL);
  for (i = 0; i < shown; i++) {
    GValue v = G_VALUE_INIT;
    gchar *label = names ? g_strdup (names->labels[ranked[i].index])
                         : gst_sf_label_dup (model, ranked[i].index);

    g_string_append_printf (
        line, "%s%s %.4f", i ? ", " : "", label, ranked[i].score);

    g_value_init (&v, G_TYPE_STRING);
    g_value_take_string (&v, label);
    gst_value_array_append_and_take_value (&labels, &v);
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, ranked[i].score);
    gst_value_array_append_and_take_value (&scores, &v);
  }
  g_string_append_c (line, '\n');

  result = gst_structure_new ("sfclassifier", "pts", G_TYPE_UINT64,
      GST_BUFFER_PTS (inbuf), "duration", G_TYPE_UINT64,
      GST_BUFFER_DURATION (inbuf), NULL);
  gst_structure_take_value (result, "labels", &labels);
  gst_structure_take_value (result, "scores", &scores);
  if (meta != NULL && meta->text != NULL)
    gst_structure_set (result, "text", G_TYPE_STRING, meta->text, NULL);

  gst_sf_element_post_result (GST_ELEMENT (self), outbuf, result);

  len = line->len;
  text = g_string_free (line, FALSE);
  gst_buffer_append_memory (
      outbuf, gst_memory_new_wrapped (0, text, len, 0, len, text, g_free));

  g_free (ranked);
  return GST_FLOW_OK;

label_mismatch : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("Model \"%s\" has %u labels but the tensor holds %u values.",
          sf_model_name (model), sf_model_num_labels (model), n),
      ("is the encoder producing logits (pooling=auto on a checkpoint "
       "with a classifier head)?"));
  return GST_FLOW_ERROR;
}
map_failed : {
  GST_ELEMENT_ERROR (
      self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
  return GST_FLOW_ERROR;
}
too_small : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("buffer of %" G_GSIZE_FORMAT " bytes is too small for %u floats",
          map.size, n));
  return GST_FLOW_ERROR;
}
}
