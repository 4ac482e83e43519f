/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfimageencoder
 * @title: sfimageencoder
 *
 * Runs a Hugging Face vision checkpoint (ViT, SegFormer, CLIP vision) on
 * each video frame, after the checkpoint's own preprocessing
 * (preprocessor_config.json: resize, crop, rescale, normalise). Each frame
 * becomes one buffer of `other/tensors` holding one float32 tensor:
 *
 * - classification logits, dimensions "labels:1" (ViTForImageClassification);
 * - segmentation logits, dimensions "w:h:labels:1", at the model's output
 *   resolution (SegformerForSemanticSegmentation); sfsegmenter upsamples
 *   them to the frame size;
 * - the projected image embedding, dimensions "P:1" (CLIP);
 * - otherwise the pooled output "H:1", or the last hidden state "H:N:1".
 *
 * Every output buffer carries a GstSfTensorMeta that names the model and
 * references the source frame (with a GstVideoMeta describing its layout),
 * so sfsegmenter can draw on the original frame at its original size.
 *
 * The output caps follow from the model and the frame size after the
 * checkpoint's preprocessing; the task layer works them out without
 * running the model (as `streamformer run` does), and they are
 * renegotiated when the input resolution changes.
 *
 * With inference-interval=N the model runs on every Nth frame only; the
 * frames in between reuse the last result (and still reference their own
 * frame). Quality of service is enabled: when a downstream sink reports
 * that the pipeline runs late (sink qos=true, as video sinks have by
 * default), frames that would already be too late are dropped before the
 * model runs, so a live pipeline does not build up latency. Dropped frames
 * are reported in QoS messages on the bus.
 *
 * Latency queries are answered with the inference time measured over the
 * recent frames (plus a quarter as headroom), and a latency message is
 * posted when a frame takes longer, so a live pipeline schedules frames
 * for when their results can be ready; `latency-ms` pins the value.
 *
 * Batching: with batch-size N > 1, every sfimageencoder of the process
 * with the same model folder shares one queue, so frames of several
 * streams (cameras) run through one forward pass of up to N frames. A
 * frame waits at most batch-timeout-ms for others (0: run at once what is
 * queued); results go back to each element with its own timestamps, in
 * order. QoS still drops late frames before they are queued, and a flush
 * or a state change to READY withdraws the element's waiting frame.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder model=./vit ! sfclassifier top-k=3 ! sfjsonsink
 * ]| Prints the three most likely ImageNet labels of every camera frame.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "core/error.h"
#include "gstsfimageencoder-private.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (GST_SF_VIDEO_FORMATS)));

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME ", format = (string) static, "
                                             "num_tensors = (int) 1, "
                                             "types = (string) float32"));

GST_DEBUG_CATEGORY (gst_sf_image_encoder_debug);
#define GST_CAT_DEFAULT gst_sf_image_encoder_debug

#define DEFAULT_INFERENCE_INTERVAL 1

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_PRECISION,
  PROP_INFERENCE_INTERVAL,
  PROP_LATENCY_MS,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT_MS,
};

#define gst_sf_image_encoder_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfImageEncoder, gst_sf_image_encoder,
    GST_TYPE_BASE_TRANSFORM,
    GST_DEBUG_CATEGORY_INIT (gst_sf_image_encoder_debug, "sfimageencoder", 0,
        "Streamformer image encoder"));
GST_ELEMENT_REGISTER_DEFINE (
    sfimageencoder, "sfimageencoder", GST_RANK_NONE, GST_TYPE_SF_IMAGE_ENCODER);

static void
gst_sf_image_encoder_finalize (GObject *object)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (object);

  g_free (self->model_path);
  sf_tensor_unref (self->last);
  sf_task_unref (self->task);
  gst_sf_batcher_free (self->batcher);
  gst_sf_latency_clear (&self->latency);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_image_encoder_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_PRECISION: self->precision = g_value_get_enum (value); break;
    case PROP_INFERENCE_INTERVAL:
      self->interval = g_value_get_uint (value);
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
gst_sf_image_encoder_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string (value, self->model_path); break;
    case PROP_PRECISION: g_value_set_enum (value, self->precision); break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->interval);
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

static gboolean
gst_sf_image_encoder_start (GstBaseTransform *trans)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);
  SfTaskOptions options = SF_TASK_OPTIONS_INIT (SF_MODALITY_IMAGE);
  g_autofree gchar *path = NULL;
  SfPrecision precision;
  SfTask *task;
  guint batch_size, timeout_ms;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  precision = self->precision;
  batch_size = self->batch_size;
  timeout_ms = self->batch_timeout_ms;
  GST_OBJECT_UNLOCK (self);

  task = gst_sf_element_load_task (GST_ELEMENT (self), path, precision,
      &options, "image checkpoints such as ViT, SegFormer or CLIP");
  if (task == NULL)
    return FALSE;
  self->n_frames = 0;
  self->out_bytes = 0;
  g_clear_pointer (&self->last, sf_tensor_unref);
  gst_video_info_init (&self->vinfo);
  if (batch_size > 1)
    self->batcher = gst_sf_batcher_new (task, &options, batch_size, timeout_ms);
  gst_sf_element_set_task (GST_ELEMENT (self), &self->task, task);
  return TRUE;
}

static gboolean
gst_sf_image_encoder_stop (GstBaseTransform *trans)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);

  g_clear_pointer (&self->last, sf_tensor_unref);
  g_clear_pointer (&self->batcher, gst_sf_batcher_free);
  gst_sf_latency_reset (&self->latency);
  /* A caps query still running keeps its own reference. */
  gst_sf_element_set_task (GST_ELEMENT (self), &self->task, NULL);
  return TRUE;
}

/* The tensors are appended in transform(); only timestamps are copied. */
static GstFlowReturn
gst_sf_image_encoder_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *input, GstBuffer **outbuf)
{
  *outbuf = gst_buffer_new ();
  gst_buffer_copy_into (*outbuf, input,
      GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
  return GST_FLOW_OK;
}

/* (transfer full) the task's output [1, ...] for the frame in @inbuf,
 * through the shared queue when there is one; NULL and *@flushing when a
 * flush withdrew it. */
static SfTensor *
encode_frame (GstSfImageEncoder *self, SfTask *task, GstBuffer *inbuf,
    gboolean *flushing, GError **error)
{
  g_autoptr (SfImage) image = NULL;
  g_autoptr (GPtrArray) outputs = NULL;
  GstVideoFrame frame;

  if (!gst_video_frame_map (&frame, &self->vinfo, inbuf, GST_MAP_READ)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "could not map a %dx%d %s frame", GST_VIDEO_INFO_WIDTH (&self->vinfo),
        GST_VIDEO_INFO_HEIGHT (&self->vinfo),
        GST_VIDEO_INFO_NAME (&self->vinfo));
    return NULL;
  }
  image = gst_sf_video_frame_to_image (&frame);
  gst_video_frame_unmap (&frame);
  if (image == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "unsupported frame format %s", GST_VIDEO_INFO_NAME (&self->vinfo));
    return NULL;
  }
  *flushing = FALSE;
  if (self->batcher != NULL) {
    GstSfBatchInput input = { .image = image };

    outputs =
        gst_sf_batcher_run (self->batcher, &input, 1, NULL, flushing, error);
  } else {
    outputs = sf_task_run_images (task, &image, 1, error);
  }
  if (outputs == NULL)
    return NULL;
  return sf_tensor_ref (outputs->pdata[0]);
}

static GstFlowReturn
gst_sf_image_encoder_transform (
    GstBaseTransform *trans, GstBuffer *inbuf, GstBuffer *outbuf)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);
  g_autoptr (SfTask) task =
      gst_sf_element_get_task (GST_ELEMENT (self), &self->task);
  g_autoptr (GError) error = NULL;
  GstBuffer *media;
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  GST_OBJECT_UNLOCK (self);

  if (task == NULL) {
    GST_ELEMENT_ERROR (self, CORE, FAILED, (NULL), ("no model loaded"));
    return GST_FLOW_ERROR;
  }
  if (self->last == NULL || self->n_frames % interval == 0) {
    GstClockTime began = gst_util_get_timestamp ();
    gboolean flushing;
    SfTensor *out = encode_frame (self, task, inbuf, &flushing, &error);

    if (out == NULL && flushing)
      return GST_FLOW_FLUSHING;
    if (out == NULL) {
      GST_ELEMENT_ERROR (self, STREAM, FAILED,
          ("Model \"%s\" failed on a frame: %s",
              sf_model_dir (sf_task_model (task)), error->message),
          (NULL));
      return GST_FLOW_ERROR;
    }
    if (sf_tensor_nbytes (out) != self->out_bytes) {
      sf_tensor_unref (out);
      GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
          ("the output shape differs from the negotiated one"));
      return GST_FLOW_ERROR;
    }
    sf_tensor_unref (self->last);
    self->last = out;
    gst_sf_latency_record (
        &self->latency, GST_ELEMENT (self), gst_util_get_timestamp () - began);
  }
  self->n_frames++;

  gst_buffer_append_memory (outbuf, gst_sf_memory_new_from_tensor (self->last));
  media = gst_sf_video_buffer_with_meta (inbuf, &self->vinfo);
  gst_sf_buffer_add_model_meta (outbuf, sf_task_model (task), NULL, media);
  gst_buffer_unref (media);
  return GST_FLOW_OK;
}

/* Latency queries: upstream's latency plus the inference time. */
static gboolean
gst_sf_image_encoder_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);

  if (!GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query))
    return FALSE;
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    gst_sf_latency_add_to_query (&self->latency, GST_ELEMENT (self), query, 0);
  return TRUE;
}

static gboolean
gst_sf_image_encoder_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (trans);

  /* A frame waiting in the shared queue is withdrawn while flushing. */
  if (self->batcher != NULL
      && (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_START
          || GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP))
    gst_sf_batcher_set_flushing (
        self->batcher, GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_START);
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static GstStateChangeReturn
gst_sf_image_encoder_change_state (
    GstElement *element, GstStateChange transition)
{
  GstSfImageEncoder *self = GST_SF_IMAGE_ENCODER (element);

  /* A streaming thread waiting in the shared queue returns at once. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && self->batcher)
    gst_sf_batcher_set_flushing (self->batcher, TRUE);
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static void
gst_sf_image_encoder_class_init (GstSfImageEncoderClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->finalize = gst_sf_image_encoder_finalize;
  gobject_class->set_property = gst_sf_image_encoder_set_property;
  gobject_class->get_property = gst_sf_image_encoder_get_property;

  gst_sf_element_install_model_property (gobject_class, PROP_MODEL,
      "a vision model (with preprocessor_config.json)");
  gst_sf_element_install_precision_property (gobject_class, PROP_PRECISION);
  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the model on every Nth frame and reuse its result for the "
          "frames in between",
          1, G_MAXINT, DEFAULT_INFERENCE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  gst_sf_latency_install_property (gobject_class, PROP_LATENCY_MS);
  gst_sf_batcher_install_properties (
      gobject_class, PROP_BATCH_SIZE, PROP_BATCH_TIMEOUT_MS);

  gst_element_class_set_static_metadata (element_class,
      "Streamformer image encoder", "Filter/Converter/Video",
      "Preprocesses video frames as the checkpoint's image processor does "
      "and runs a Hugging Face vision model (ViT, SegFormer, CLIP), "
      "producing logits or embeddings as other/tensors",
      "Streamformer contributors");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder "
      "model=google/vit-base-patch16-224 ! sfclassifier top-k=3 ! sfjsonsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_image_encoder_change_state);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_sf_image_encoder_start);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_sf_image_encoder_sink_event);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sf_image_encoder_stop);
  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_sf_image_encoder_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_sf_image_encoder_set_caps);
  trans_class->prepare_output_buffer =
      GST_DEBUG_FUNCPTR (gst_sf_image_encoder_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_sf_image_encoder_transform);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_sf_image_encoder_query);
  trans_class->passthrough_on_same_caps = FALSE;
}

static void
gst_sf_image_encoder_init (GstSfImageEncoder *self)
{
  self->interval = DEFAULT_INFERENCE_INTERVAL;
  self->batch_size = GST_SF_BATCH_SIZE_DEFAULT;
  self->batch_timeout_ms = GST_SF_BATCH_TIMEOUT_DEFAULT;
  gst_sf_latency_init (&self->latency);
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
