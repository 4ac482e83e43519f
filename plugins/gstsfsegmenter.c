/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfsegmenter
 * @title: sfsegmenter
 *
 * Turns semantic-segmentation logits from sfimageencoder (dimensions
 * "w:h:labels:1", SegformerForSemanticSegmentation) into a label map at the
 * size of the frame they were computed from, as the HF post-processing
 * does: the logits are bilinearly upsampled (align_corners=False) and each
 * pixel takes its most likely label. The frame is found through the
 * GstSfTensorMeta of each buffer, which references it.
 *
 * - mode=overlay: the frame, as RGB at its own size, with each pixel
 *   blended (weight alpha) with the colour of its label.
 * - mode=mask: the label map as GRAY8 (label index per pixel, 255 for
 *   indices above 254), for programs to read: with a few classes it looks
 *   black in a viewer.
 * - mode=mask-scaled: the same map for viewing: label i of n as
 *   i × 255 / (n − 1), so the first label is black and the last white.
 * - mode=labels: the frame itself, untouched.
 *
 * In every mode the output buffer carries a GstSfResultMeta (written by
 * sfjsonsink), also posted as an element message named "sfsegmenter", with
 * the fields pts, duration, width, height, labels (the names of the classes
 * present, as a GstValueArray of strings) and fractions (the fraction of
 * pixels of each of those classes, doubles).
 *
 * Like every result, the message also has stream-id and source (strings:
 * the stream's id and the element it comes from, through a funnel too)
 * and json (string: the whole result as the JSON object sfjsonsink
 * writes), readable from Python without GstValueArray bindings.
 *
 * The palette is a comma-separated list of RGB colours in hex ("ff0000" or
 * "#ff0000"), one per label in label order; "none" leaves that label's
 * pixels uncoloured. Labels beyond the list take colours from a fixed
 * built-in palette of distinct colours.
 *
 * Latency queries are answered with upstream's latency plus the upsampling
 * and drawing time measured over the recent frames (plus a quarter), and
 * a latency message is posted when a frame takes longer.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=street.mp4 ! decodebin ! videoconvert ! sfimageencoder model=./segformer ! sfsegmenter mode=overlay alpha=0.5 ! videoconvert ! autovideosink
 * ]| Shows the video with each pixel tinted by its ADE20K class.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfsegmenter-private.h"

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_SF_TENSORS_MIME ", format = (string) static, "
                                             "num_tensors = (int) 1, "
                                             "types = (string) float32"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (
        "{ RGB, GRAY8, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, I420, "
        "NV12 }")));

GST_DEBUG_CATEGORY (gst_sf_segmenter_debug);
#define GST_CAT_DEFAULT gst_sf_segmenter_debug

#define DEFAULT_MODE GST_SF_SEGMENTER_MODE_OVERLAY
#define DEFAULT_ALPHA 0.5
#define DEFAULT_PALETTE NULL

enum
{
  PROP_0,
  PROP_MODE,
  PROP_ALPHA,
  PROP_PALETTE,
};

#define gst_sf_segmenter_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfSegmenter, gst_sf_segmenter, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (
        gst_sf_segmenter_debug, "sfsegmenter", 0, "Streamformer segmenter"));
GST_ELEMENT_REGISTER_DEFINE (
    sfsegmenter, "sfsegmenter", GST_RANK_NONE, GST_TYPE_SF_SEGMENTER);

static void
gst_sf_segmenter_finalize (GObject *object)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (object);

  g_free (self->palette);
  gst_sf_palette_clear (&self->colours);
  gst_sf_src_reset (&self->src);
  gst_sf_latency_clear (&self->latency);
  gst_clear_caps (&self->refused_caps);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_segmenter_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE: self->mode = g_value_get_enum (value); break;
    case PROP_ALPHA: self->alpha = g_value_get_double (value); break;
    case PROP_PALETTE:
      g_free (self->palette);
      self->palette = g_value_dup_string (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_segmenter_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE: g_value_set_enum (value, self->mode); break;
    case PROP_ALPHA: g_value_set_double (value, self->alpha); break;
    case PROP_PALETTE: g_value_set_string (value, self->palette); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_segmenter_reset (GstSfSegmenter *self)
{
  gst_sf_src_reset (&self->src);
  gst_clear_caps (&self->refused_caps);
  self->n_labels = 0;
}

static gboolean
gst_sf_segmenter_start (GstSfSegmenter *self)
{
  gchar *palette, *bad = NULL;
  gboolean ok;

  GST_OBJECT_LOCK (self);
  self->cur_mode = self->mode;
  palette = g_strdup (self->palette);
  GST_OBJECT_UNLOCK (self);

  ok = gst_sf_palette_parse (&self->colours, palette, &bad);
  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid palette entry \"%s\" in \"%s\": use RGB hex such as "
         "ff8000, or none.",
            bad, palette),
        (NULL));
    g_free (bad);
  }
  g_free (palette);
  gst_sf_segmenter_reset (self);
  return ok;
}

static GstStateChangeReturn
gst_sf_segmenter_change_state (GstElement *element, GstStateChange transition)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_sf_segmenter_start (self))
    return GST_STATE_CHANGE_FAILURE;

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    gst_sf_segmenter_reset (self);
    gst_sf_latency_reset (&self->latency);
  }
  return ret;
}

/* Reads the logits shape [1, labels, h, w] (or [labels, h, w]). */
static gboolean
gst_sf_segmenter_set_tensor_caps (GstSfSegmenter *self, GstCaps *caps)
{
  GstSfTensorsInfo info;
  const GstSfTensorInfo *t;
  gchar *dims;
  gboolean row;

  /* a refused caps event is sent again with every buffer: post once */
  if (self->refused_caps != NULL
      && gst_caps_is_equal (caps, self->refused_caps))
    return FALSE;
  gst_caps_replace (&self->refused_caps, caps);
  if (!gst_sf_tensors_info_from_caps (&info, caps))
    goto bad_caps;
  t = &info.tensors[0];
  if (info.num_tensors != 1 || t->type != GST_SF_TENSOR_TYPE_FLOAT32
      || t->ndim < 3 || (t->ndim == 4 && t->dims[3] != 1) || t->ndim > 4
      || t->dims[0] == 0 || t->dims[1] == 0 || t->dims[2] == 0
      || t->dims[2] > 65536 || t->dims[0] > G_MAXINT || t->dims[1] > G_MAXINT)
    goto bad_shape;

  gst_clear_caps (&self->refused_caps);
  self->logit_w = (gint64)t->dims[0];
  self->logit_h = (gint64)t->dims[1];
  self->n_labels = (gint64)t->dims[2];
  self->rate_n = info.rate_n;
  self->rate_d = info.rate_d;
  GST_DEBUG_OBJECT (self,
      "%" G_GINT64_FORMAT " labels at %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT,
      self->n_labels, self->logit_w, self->logit_h);
  return TRUE;

bad_caps : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("could not parse tensor caps %" GST_PTR_FORMAT, caps));
  return FALSE;
}
bad_shape : {
  dims = gst_sf_tensor_info_dims_string (t);
  /* labels:1 is one row of class scores: an image classifier's (ViT) */
  row = info.num_tensors == 1 && t->ndim >= 1
      && gst_sf_tensor_info_numel (t) == t->dims[0];
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("sfsegmenter needs one float32 tensor of segmentation logits "
       "(dimensions w:h:labels:1), got %s %s%s",
          gst_sf_tensor_type_name (t->type), dims,
          row ? " (one row of class scores, as from an image classification "
                "model); use sfclassifier for it, or a segmentation "
                "checkpoint such as SegFormer."
              : "."),
      (NULL));
  g_free (dims);
  return FALSE;
}
}

static gboolean
gst_sf_segmenter_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gboolean ok;

      /* Output caps follow the frames, not the tensors: pushed in chain. */
      gst_event_parse_caps (event, &caps);
      ok = gst_sf_segmenter_set_tensor_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT: return gst_sf_src_set_segment (&self->src, event);
    default: break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static void
gst_sf_segmenter_class_init (GstSfSegmenterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_sf_segmenter_finalize;
  gobject_class->set_property = gst_sf_segmenter_set_property;
  gobject_class->get_property = gst_sf_segmenter_get_property;

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "What the element outputs",
          GST_TYPE_SF_SEGMENTER_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ALPHA,
      g_param_spec_double ("alpha", "Alpha",
          "Weight of the label colour in the overlay (0 = the frame only, "
          "1 = the colours only)",
          0.0, 1.0, DEFAULT_ALPHA,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_PALETTE,
      g_param_spec_string ("palette", "Palette",
          "Overlay colours per label, comma-separated RGB hex (e.g. "
          "\"none,ff0000,00ff00\"; none = uncoloured); NULL = built-in "
          "distinct colours",
          DEFAULT_PALETTE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_static_metadata (element_class,
      "Streamformer segmenter", "Filter/Analyzer/Video",
      "Upsamples semantic-segmentation logits to the original frame and "
      "draws the label map as a colour overlay or a GRAY8 mask, reporting "
      "per-class pixel fractions",
      "Streamformer contributors");
  gst_sf_element_class_set_message (element_class, "sfsegmenter",
      "pts, duration (guint64 ns), width, height (gint: the label map's "
      "size), labels (GstValueArray of strings: the classes present), "
      "fractions (GstValueArray of doubles: each one's share of the pixels)");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 filesrc location=samples/media/shapes.mp4 ! decodebin ! "
      "videoconvert ! sfimageencoder model=samples/models/shapes-segformer ! "
      "sfsegmenter mode=overlay ! videoconvert ! autovideosink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_segmenter_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_SF_SEGMENTER_MODE, 0);
}

/* Latency queries: upstream's latency plus the drawing time. */
static gboolean
gst_sf_segmenter_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstSfSegmenter *self = GST_SF_SEGMENTER (parent);

  if (!gst_pad_query_default (pad, parent, query))
    return FALSE;
  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY)
    gst_sf_latency_add_to_query (&self->latency, GST_ELEMENT (self), query, 0);
  return TRUE;
}

static void
gst_sf_segmenter_init (GstSfSegmenter *self)
{
  GstPad *sinkpad, *srcpad;

  sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      sinkpad, GST_DEBUG_FUNCPTR (gst_sf_segmenter_chain));
  gst_pad_set_event_function (
      sinkpad, GST_DEBUG_FUNCPTR (gst_sf_segmenter_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), sinkpad);

  srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (srcpad);
  gst_pad_set_query_function (
      srcpad, GST_DEBUG_FUNCPTR (gst_sf_segmenter_src_query));
  gst_element_add_pad (GST_ELEMENT (self), srcpad);
  gst_sf_src_init (&self->src, srcpad);

  self->mode = DEFAULT_MODE;
  self->alpha = DEFAULT_ALPHA;
  self->palette = g_strdup (DEFAULT_PALETTE);
  gst_sf_latency_init (&self->latency);
}
