/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: the glue every element shares (gstsfelement.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfelement.h"
#include "gstsfjson.h"
#include "gstsfmodel.h"

void
gst_sf_element_install_model_property (
    GObjectClass *klass, guint prop_id, const gchar *what)
{
  gchar *blurb = g_strdup_printf (
      "Hugging Face checkpoint folder (config.json, model.safetensors, …) "
      "or Hub id (ORG/NAME[@REVISION], found in the Hugging Face cache) of %s",
      what);

  /* The blurb must outlive the class: it is interned once per element. */
  g_object_class_install_property (klass, prop_id,
      g_param_spec_string ("model", "Model", g_intern_string (blurb), NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_free (blurb);
}

GType
gst_sf_precision_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { SF_PRECISION_F32, "32-bit floats throughout, as PyTorch runs them",
        "f32" },
    { SF_PRECISION_BF16,
        "Linear layers in bfloat16 with f32 sums (AVX512_BF16)", "bf16" },
    { SF_PRECISION_INT8,
        "Linear layers quantised to int8, weights per channel and "
        "activations per row (AVX512_VNNI)",
        "int8" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type))
    g_once_init_leave (
        &type, g_enum_register_static ("GstSfPrecision", values));
  return type;
}

void
gst_sf_element_install_precision_property (GObjectClass *klass, guint prop_id)
{
  g_object_class_install_property (klass, prop_id,
      g_param_spec_enum ("precision", "Precision",
          "Arithmetic of the model's linear layers: f32 gives PyTorch's "
          "results; bf16 and int8 run faster within the tolerance the README "
          "states. Elements naming the same model at different precisions "
          "load it once per precision. On a CPU without AVX512_BF16 or "
          "AVX512_VNNI: f32, with a warning",
          GST_TYPE_SF_PRECISION, GST_SF_DEFAULT_PRECISION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
}

static const gchar *
element_kind (GstElement *element)
{
  GstElementFactory *factory = gst_element_get_factory (element);

  return factory ? gst_plugin_feature_get_name (factory)
                 : GST_ELEMENT_NAME (element);
}

static const gchar *
modality_noun (SfModality modality)
{
  switch (modality) {
    case SF_MODALITY_TEXT: return "text";
    case SF_MODALITY_IMAGE: return "vision";
    case SF_MODALITY_AUDIO: return "audio";
  }
  return "suitable";
}

/* @name: the folder as the user gave it, for the message. */
static SfTask *
task_for (GstElement *element, SfModel *model, const gchar *name,
    const SfTaskOptions *options, const gchar *needs)
{
  g_autoptr (GError) error = NULL;
  SfTask *task = sf_task_new (model, options, &error);

  if (task == NULL) {
    /* Say first when the model is of another kind altogether. */
    g_autofree gchar *kind = sf_model_takes_input (model, options->input)
        ? g_strdup ("")
        : g_strdup_printf (
            "it is not a %s model; ", modality_noun (options->input));

    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
        ("Model \"%s\" (%s) cannot be used by %s: %s%s", name,
            sf_model_architecture (model), element_kind (element), kind,
            error->message),
        ("%s runs %s", element_kind (element), needs));
    return NULL;
  }
  {
    g_autofree gchar *what = sf_task_describe (task);
    GST_INFO_OBJECT (element, "model %s (%s): %s", sf_model_name (model),
        sf_model_architecture (model), what);
  }
  return task;
}

SfTask *
gst_sf_element_load_task (GstElement *element, const gchar *path,
    SfPrecision precision, const SfTaskOptions *options, const gchar *needs)
{
  g_autoptr (SfModel) model = gst_sf_model_load (element, path, precision);

  if (model == NULL)
    return NULL; /* gst_sf_model_load posted the error */
  return task_for (element, model, path, options, needs);
}

SfTask *
gst_sf_element_task_for_model (GstElement *element, SfModel *model,
    const SfTaskOptions *options, const gchar *needs)
{
  return task_for (element, model, sf_model_dir (model), options, needs);
}

SfTask *
gst_sf_element_get_task (GstElement *element, SfTask **slot)
{
  SfTask *task;

  GST_OBJECT_LOCK (element);
  task = *slot ? sf_task_ref (*slot) : NULL;
  GST_OBJECT_UNLOCK (element);
  return task;
}

void
gst_sf_element_set_task (GstElement *element, SfTask **slot, SfTask *task)
{
  SfTask *old;

  GST_OBJECT_LOCK (element);
  old = *slot;
  *slot = task;
  GST_OBJECT_UNLOCK (element);
  sf_task_unref (old);
}

void
gst_sf_src_init (GstSfSrc *src, GstPad *pad)
{
  src->pad = pad;
  src->caps = NULL;
  src->segment = NULL;
}

void
gst_sf_src_reset (GstSfSrc *src)
{
  gst_clear_caps (&src->caps);
  gst_clear_event (&src->segment);
}

gboolean
gst_sf_src_has_caps (const GstSfSrc *src)
{
  return src->caps != NULL;
}

gboolean
gst_sf_src_set_segment (GstSfSrc *src, GstEvent *event)
{
  const GstSegment *in;

  gst_event_parse_segment (event, &in);
  if (in->format != GST_FORMAT_TIME) {
    GstSegment segment;

    /* Byte segments (filesrc) become a time segment for the stamps. */
    gst_segment_init (&segment, GST_FORMAT_TIME);
    gst_event_unref (event);
    event = gst_event_new_segment (&segment);
  }
  gst_event_replace (&src->segment, NULL);
  if (src->caps == NULL) {
    src->segment = event;
    return TRUE;
  }
  return gst_pad_push_event (src->pad, event);
}

GstFlowReturn
gst_sf_src_push_eos (GstSfSrc *src, GstEvent *event, GstFlowReturn ret)
{
  if (ret == GST_FLOW_FLUSHING) {
    gst_event_unref (event);
    return ret;
  }
  if (!gst_pad_push_event (src->pad, event) && ret == GST_FLOW_OK)
    ret = GST_FLOW_ERROR;
  return ret;
}

gboolean
gst_sf_src_push_caps (GstSfSrc *src, GstCaps *caps)
{
  if (src->caps == NULL || !gst_caps_is_equal (src->caps, caps)) {
    GST_DEBUG_OBJECT (src->pad, "output caps %" GST_PTR_FORMAT, caps);
    if (!gst_pad_push_event (src->pad, gst_event_new_caps (caps)))
      return FALSE;
    gst_caps_replace (&src->caps, caps);
  }
  if (src->segment != NULL) {
    GstEvent *event = src->segment;

    src->segment = NULL;
    gst_pad_push_event (src->pad, event);
  }
  return TRUE;
}

gboolean
gst_sf_src_push_tensors (GstSfSrc *src, const GstSfTensorsInfo *info)
{
  GstCaps *caps = gst_sf_tensors_info_to_caps (info);
  gboolean ok = gst_sf_src_push_caps (src, caps);

  gst_caps_unref (caps);
  return ok;
}

GstFlowReturn
gst_sf_src_caps_failure (const GstSfSrc *src)
{
  return GST_PAD_IS_FLUSHING (src->pad) ? GST_FLOW_FLUSHING
                                        : GST_FLOW_NOT_NEGOTIATED;
}

gboolean
gst_sf_element_answer_caps (GstQuery *query, GstCaps *caps)
{
  GstCaps *filter;

  gst_query_parse_caps (query, &filter);
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

gboolean
gst_sf_src_query_caps (GstSfSrc *src, GstQuery *query, GstCaps *fixed)
{
  GstCaps *caps = gst_pad_get_current_caps (src->pad);

  if (caps == NULL && fixed != NULL)
    caps = gst_caps_ref (fixed);
  if (caps == NULL)
    caps = gst_pad_get_pad_template_caps (src->pad);
  return gst_sf_element_answer_caps (query, caps);
}

gboolean
gst_sf_tensors_info_set_f32 (GstSfTensorsInfo *info, const SfShape *shape)
{
  gst_sf_tensors_info_init (info);
  info->num_tensors = 1;
  return gst_sf_tensor_info_set_shape (&info->tensors[0],
      GST_SF_TENSOR_TYPE_FLOAT32, (guint)shape->ndim, shape->dims);
}

/* A GCopyFunc taking a reference. */
static gpointer
ref_object (gconstpointer object, gpointer unused)
{
  return gst_object_ref ((gpointer)object);
}

/* The input of @element a stream with @stream_id came through: its only
 * sink pad, else the one whose stream-start carries @stream_id (a funnel's
 * inputs); NULL at a source, or when no input matches. (transfer full) */
static GstPad *
input_of_stream (GstElement *element, const gchar *stream_id)
{
  GstPad *found = NULL;
  GList *pads, *l;

  GST_OBJECT_LOCK (element);
  pads = g_list_copy_deep (element->sinkpads, ref_object, NULL);
  GST_OBJECT_UNLOCK (element);
  if (pads != NULL && pads->next == NULL) {
    found = gst_object_ref (pads->data);
  } else if (stream_id != NULL) {
    /* the pads' own locks are taken without the element's */
    for (l = pads; l != NULL && found == NULL; l = l->next) {
      GstEvent *start =
          gst_pad_get_sticky_event (l->data, GST_EVENT_STREAM_START, 0);
      const gchar *id = NULL;

      if (start != NULL)
        gst_event_parse_stream_start (start, &id);
      if (g_strcmp0 (id, stream_id) == 0)
        found = gst_object_ref (l->data);
      gst_clear_event (&start);
    }
  }
  g_list_free_full (pads, gst_object_unref);
  return found;
}

/* (transfer full) the name of the element the stream @stream_id entering
 * @sinkpad comes from: upstream through single inputs and the matching
 * input of many-input elements, the last element reached. */
static gchar *
stream_source (GstPad *sinkpad, const gchar *stream_id)
{
  GstPad *pad = gst_object_ref (sinkpad);
  gchar *name = NULL;
  guint hops;

  /* Bounded, in case a pipeline loops. */
  for (hops = 0; hops < 256 && pad != NULL; hops++) {
    GstPad *peer = gst_pad_get_peer (pad);
    GstElement *up;

    gst_clear_object (&pad);
    if (peer == NULL)
      break;
    if (GST_IS_PROXY_PAD (peer) && !GST_IS_GHOST_PAD (peer)) {
      /* inside a bin: on through its ghost sink pad */
      pad = GST_PAD_CAST (gst_proxy_pad_get_internal (GST_PROXY_PAD (peer)));
      gst_object_unref (peer);
      continue;
    }
    up = gst_pad_get_parent_element (peer);
    gst_object_unref (peer);
    if (up == NULL)
      break;
    g_free (name);
    name = gst_element_get_name (up);
    pad = input_of_stream (up, stream_id);
    gst_object_unref (up);
  }
  gst_clear_object (&pad);
  return name;
}

/* (transfer full) the stream-start last on @element's first source pad
 * (@src) or sink pad. */
static GstEvent *
first_stream_start (GstElement *element, gboolean src)
{
  GList *pads;
  GstPad *pad = NULL;
  GstEvent *start = NULL;

  GST_OBJECT_LOCK (element);
  pads = src ? element->srcpads : element->sinkpads;
  if (pads != NULL)
    pad = gst_object_ref (pads->data);
  GST_OBJECT_UNLOCK (element);
  if (pad != NULL) {
    start = gst_pad_get_sticky_event (pad, GST_EVENT_STREAM_START, 0);
    gst_object_unref (pad);
  }
  return start;
}

void
gst_sf_element_set_stream (GstElement *element, GstStructure *result)
{
  GstPad *sinkpad = NULL;
  GstEvent *start;
  const gchar *id = NULL;
  gchar *source = NULL;

  /* The stream the output goes out in: the last stream-start pushed,
   * which an element that kept several streams apart pushes again before
   * another stream's last results; else the input's. */
  start = first_stream_start (element, TRUE);
  if (start == NULL)
    start = first_stream_start (element, FALSE);
  if (start != NULL)
    gst_event_parse_stream_start (start, &id);
  GST_OBJECT_LOCK (element);
  if (element->sinkpads != NULL)
    sinkpad = gst_object_ref (element->sinkpads->data);
  GST_OBJECT_UNLOCK (element);
  if (sinkpad != NULL) {
    source = stream_source (sinkpad, id);
    gst_object_unref (sinkpad);
  }
  gst_structure_set (result, "stream-id", G_TYPE_STRING, id, "source",
      G_TYPE_STRING, source, NULL);
  gst_clear_event (&start);
  g_free (source);
}

void
gst_sf_element_post_result (
    GstElement *element, GstBuffer *buffer, GstStructure *result)
{
  g_autoptr (GError) error = NULL;
  GstStructure *message;
  gchar *json;

  if (!gst_structure_has_field (result, "stream-id"))
    gst_sf_element_set_stream (element, result);
  json = gst_sf_json_format_result (
      result, GST_BUFFER_PTS (buffer), GST_BUFFER_DURATION (buffer), &error);
  if (json == NULL)
    GST_WARNING_OBJECT (element, "no JSON for the result: %s", error->message);
  message = gst_structure_copy (result);
  gst_structure_set (message, "json", G_TYPE_STRING, json, NULL);
  g_free (json);
  gst_element_post_message (
      element, gst_message_new_element (GST_OBJECT_CAST (element), message));
  gst_buffer_add_sf_result_meta (buffer, result);
}

gchar *
gst_sf_label_dup (const SfModel *model, guint index)
{
  if (model != NULL && index < sf_model_num_labels (model))
    return g_strdup (sf_model_label (model, index));
  return g_strdup_printf ("LABEL_%u", index);
}

GType
gst_sf_pooling_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { SF_POOLING_AUTO,
        "The checkpoint's own output: logits with a classifier head, CLIP's "
        "projected text embedding, else its sentence-transformers pooling, "
        "else the last hidden state",
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

void
gst_sf_element_class_set_message (
    GstElementClass *klass, const gchar *name, const gchar *fields)
{
  gchar *text = g_strdup_printf (
      "element message \"%s\": %s; stream-id (string: the stream-start's "
      "id, NULL without one); source (string: the element the stream comes "
      "from); json (string: the whole result as one JSON object, as "
      "sfjsonsink writes it, pts and duration in seconds)",
      name, fields);

  /* The text must outlive the class: interned once per element. */
  gst_element_class_add_static_metadata (
      klass, "message", g_intern_string (text));
  g_free (text);
}

void
gst_sf_element_class_set_example (GstElementClass *klass, const gchar *launch)
{
  gst_element_class_add_static_metadata (klass, "example", launch);
}
