/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sfsimilarity
 * @title: sfsimilarity
 *
 * Zero-shot scoring, CLIP style: each image embedding against the latest
 * set of text prompt embeddings.
 *
 * The element has two sink pads, both always present and both to be
 * linked:
 *
 * - `text` takes text embeddings (sftextencoder on a CLIP checkpoint), one
 *   or more rows of P float32 values per buffer: one tensor [k, P], caps
 *   dimensions "P:k".
 * - `image` takes image embeddings of the same size P (sfimageencoder),
 *   one or more rows per buffer.
 *
 * Each image row is scored against the active prompt set: cosine
 * similarity times the model's exp (logit_scale) when the buffers name a
 * model with one (CLIP), giving one float32 row of logits per image row,
 * dimensions "N:1" for N prompts, with the image buffer's timestamps
 * (output timestamps always increase). The prompt texts (from the text
 * encoder's GstSfTensorMeta, else "PROMPT_<i>") ride along in a
 * GstSfLabelsMeta, so sfclassifier names its labels after them.
 *
 * Prompt sets: text buffers accumulate into a pending set, which replaces
 * the active set (so prompts can change while playing) when the text pad
 * gets EOS or a GAP event, or when a text buffer flagged DISCONT starts the
 * next set. Images that arrive before the first set is complete wait for
 * it; when none can come (the text stream ended empty, or a live timeout),
 * they are dropped with a warning. The output ends with the image stream.
 *
 * Input that is not one float32 tensor per buffer, or image rows of another
 * size than the prompts', stops the stream with an error.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder model=./clip ! s.image \
 *     filesrc location=prompts.txt ! sftextencoder model=./clip split=lines ! s.text \
 *     sfsimilarity name=s ! sfclassifier top-k=1 ! sfjsonsink location=labels.jsonl
 * ]| Labels every camera frame with the best-matching line of prompts.txt.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "core/ops/layout.h"
#include "gstsfelement.h"
#include "gstsfsimilarity.h"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_SF_AGGREGATOR_CAPS));

static GstStaticPadTemplate text_template = GST_STATIC_PAD_TEMPLATE ("text",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_SF_AGGREGATOR_CAPS));

static GstStaticPadTemplate image_template = GST_STATIC_PAD_TEMPLATE ("image",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_SF_AGGREGATOR_CAPS));

GST_DEBUG_CATEGORY_STATIC (gst_sf_similarity_debug);
#define GST_CAT_DEFAULT gst_sf_similarity_debug

struct _GstSfSimilarity
{
  GstSfAggregator parent;

  GstSfAggregatorPad *text, *image; /* (transfer none) the sink pads */

  GPtrArray *pending;       /* SfTensor [k, P] per text buffer */
  GPtrArray *pending_texts; /* gchar*, one per row */
  SfTensor *prompts;        /* [N, P] active set, or NULL */
  GPtrArray *prompt_texts;  /* gchar*, N */
  SfModel *text_model;      /* named by the text buffers, nullable */
  gboolean warned_no_prompts;
};

#define gst_sf_similarity_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfSimilarity, gst_sf_similarity,
    GST_TYPE_SF_AGGREGATOR,
    GST_DEBUG_CATEGORY_INIT (gst_sf_similarity_debug, "sfsimilarity", 0,
        "Streamformer zero-shot similarity"));
GST_ELEMENT_REGISTER_DEFINE (
    sfsimilarity, "sfsimilarity", GST_RANK_NONE, GST_TYPE_SF_SIMILARITY);

static void
gst_sf_similarity_reset (GstSfAggregator *agg)
{
  GstSfSimilarity *self = GST_SF_SIMILARITY (agg);

  g_ptr_array_set_size (self->pending, 0);
  g_ptr_array_set_size (self->pending_texts, 0);
  g_ptr_array_set_size (self->prompt_texts, 0);
  g_clear_pointer (&self->prompts, sf_tensor_unref);
  g_clear_pointer (&self->text_model, sf_model_unref);
  self->warned_no_prompts = FALSE;
}

/* Makes the pending set the active one. */
static void
gst_sf_similarity_promote (GstSfSimilarity *self)
{
  gint64 p, n = 0;
  GPtrArray *texts;
  SfTensor *set;

  if (self->pending->len == 0)
    return;
  p = sf_tensor_dim (self->pending->pdata[0], 1);
  for (guint i = 0; i < self->pending->len; i++)
    n += sf_tensor_dim (self->pending->pdata[i], 0);
  set = sf_tensor_new_f32 (2, n, p);
  sf_op_concat (
      set, (SfTensor *const *)self->pending->pdata, self->pending->len, 0);
  g_clear_pointer (&self->prompts, sf_tensor_unref);
  self->prompts = set;
  texts = self->prompt_texts;
  self->prompt_texts = self->pending_texts;
  self->pending_texts = texts;
  g_ptr_array_set_size (self->pending_texts, 0);
  g_ptr_array_set_size (self->pending, 0);
  GST_INFO_OBJECT (self, "%" G_GINT64_FORMAT " prompts active", n);
}

/* Adds one text buffer to the pending set. GstAggregator queues a GAP
 * event as an empty GAP buffer, in order with the others: it completes
 * the set. */
static gboolean
gst_sf_similarity_add_text (GstSfSimilarity *self, GstBuffer *buf)
{
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buf);
  SfModel *model = gst_sf_buffer_get_model (buf);
  SfTensor *rows;

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP)
      && gst_buffer_get_size (buf) == 0) {
    gst_sf_similarity_promote (self);
    return TRUE;
  }
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT))
    gst_sf_similarity_promote (self);
  rows = gst_sf_aggregator_pad_rows (self->text, buf);
  if (rows == NULL
      || (self->pending->len > 0
          && sf_tensor_dim (self->pending->pdata[0], 1)
              != sf_tensor_dim (rows, 1))) {
    g_clear_pointer (&rows, sf_tensor_unref);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("text buffers must hold one float32 tensor of rows of one size"));
    return FALSE;
  }
  for (gint64 r = 0; r < sf_tensor_dim (rows, 0); r++)
    g_ptr_array_add (self->pending_texts,
        meta && meta->text
            ? g_strdup (meta->text)
            : g_strdup_printf ("PROMPT_%u", self->pending_texts->len));
  g_ptr_array_add (self->pending, rows);
  if (model != NULL && model != self->text_model) {
    g_clear_pointer (&self->text_model, sf_model_unref);
    self->text_model = sf_model_ref (model);
  }
  return TRUE;
}

/* Scores one image buffer against the active prompts; one output per row. */
static GstFlowReturn
gst_sf_similarity_score (GstSfSimilarity *self, GstBuffer *buf)
{
  GstSfAggregator *agg = GST_SF_AGGREGATOR (self);
  GstSfAggregatorPad *pad = self->image;
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buf);
  SfModel *model = gst_sf_buffer_get_model (buf);
  g_autoptr (SfTensor) rows = gst_sf_aggregator_pad_rows (pad, buf);
  g_autoptr (SfTensor) logits = NULL;
  GstClockTime t = gst_sf_aggregator_pad_time (pad, buf);
  GstSfTensorsInfo info;
  GstFlowReturn ret = GST_FLOW_OK;
  gint64 n = sf_tensor_dim (self->prompts, 0);

  if (rows == NULL
      || sf_tensor_dim (rows, 1) != sf_tensor_dim (self->prompts, 1)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
        ("image buffers must hold one float32 tensor of rows of the text "
         "embeddings' size (%" G_GINT64_FORMAT " values)",
            sf_tensor_dim (self->prompts, 1)));
    return GST_FLOW_ERROR;
  }
  if (model == NULL)
    model = self->text_model;
  logits = sf_model_similarity (model, rows, self->prompts); /* [k, N] */

  gst_sf_tensors_info_init (&info);
  info.num_tensors = 1;
  gst_sf_tensor_info_set_shape (
      &info.tensors[0], GST_SF_TENSOR_TYPE_FLOAT32, 2, (gint64[]){ 1, n });
  info.rate_n = pad->info.rate_n;
  info.rate_d = pad->info.rate_d;
  gst_sf_aggregator_set_caps (agg, &info);

  for (gint64 r = 0; r < sf_tensor_dim (logits, 0) && ret == GST_FLOW_OK; r++) {
    g_autoptr (SfTensor) row = sf_tensor_slice0 (logits, r, 1);
    GstBuffer *out = gst_buffer_new ();

    gst_buffer_append_memory (out, gst_sf_memory_new_from_tensor (row));
    gst_sf_buffer_add_model_meta (out, model, NULL, meta ? meta->media : NULL);
    gst_buffer_add_sf_labels_meta (
        out, (const gchar *const *)self->prompt_texts->pdata, (guint)n);
    GST_BUFFER_DURATION (out) = GST_BUFFER_DURATION (buf);
    ret =
        gst_sf_aggregator_push (agg, out, gst_sf_aggregator_next_pts (agg, t));
  }
  return ret;
}

static GstFlowReturn
gst_sf_similarity_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstSfSimilarity *self = GST_SF_SIMILARITY (agg);
  GstAggregatorPad *text = GST_AGGREGATOR_PAD (self->text);
  GstAggregatorPad *image = GST_AGGREGATOR_PAD (self->image);
  GstBuffer *buf;
  GstFlowReturn ret;

  while ((buf = gst_aggregator_pad_pop_buffer (text))) {
    gboolean ok = gst_sf_similarity_add_text (self, buf);
    gst_buffer_unref (buf);
    if (!ok)
      return GST_FLOW_ERROR;
  }
  if (gst_aggregator_pad_is_eos (text))
    gst_sf_similarity_promote (self);

  if (!gst_aggregator_pad_has_buffer (image))
    return gst_aggregator_pad_is_eos (image) ? GST_FLOW_EOS : GST_FLOW_OK;
  if (self->prompts == NULL) {
    if (gst_aggregator_pad_is_eos (text) || timeout) {
      if (!self->warned_no_prompts)
        GST_ELEMENT_WARNING (self, STREAM, FAILED,
            ("No text prompts to score images against; dropping images."),
            ("the text pad %s", timeout ? "is late" : "ended without any"));
      self->warned_no_prompts = TRUE;
      gst_aggregator_pad_drop_buffer (image);
    }
    return GST_FLOW_OK;
  }
  buf = gst_aggregator_pad_pop_buffer (image);
  ret = gst_sf_similarity_score (self, buf);
  gst_buffer_unref (buf);
  return ret;
}

static void
gst_sf_similarity_finalize (GObject *object)
{
  GstSfSimilarity *self = GST_SF_SIMILARITY (object);

  gst_sf_similarity_reset (GST_SF_AGGREGATOR (self));
  g_ptr_array_unref (self->pending);
  g_ptr_array_unref (self->pending_texts);
  g_ptr_array_unref (self->prompt_texts);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_similarity_class_init (GstSfSimilarityClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = gst_sf_similarity_finalize;

  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &text_template, GST_TYPE_SF_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &image_template, GST_TYPE_SF_AGGREGATOR_PAD);
  gst_element_class_set_static_metadata (element_class,
      "Streamformer zero-shot similarity", "Filter/Tensor",
      "Scores each image embedding against the latest set of text prompt "
      "embeddings (CLIP zero-shot): logit_scale times cosine similarity, "
      "labelled with the prompt texts",
      "Streamformer");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder "
      "model=openai/clip-vit-base-patch32 ! s.image filesrc "
      "location=prompts.txt ! sftextencoder model=openai/clip-vit-base-patch32 "
      "split=lines ! s.text sfsimilarity name=s ! sfclassifier top-k=1 ! "
      "sfjsonsink");

  GST_AGGREGATOR_CLASS (klass)->aggregate =
      GST_DEBUG_FUNCPTR (gst_sf_similarity_aggregate);
  GST_SF_AGGREGATOR_CLASS (klass)->reset = gst_sf_similarity_reset;
}

static GstSfAggregatorPad *
add_sink_pad (GstSfSimilarity *self, GstStaticPadTemplate *static_templ)
{
  GstPadTemplate *templ = gst_static_pad_template_get (static_templ);
  GstPad *pad = g_object_new (GST_TYPE_SF_AGGREGATOR_PAD, "name",
      static_templ->name_template, "direction", GST_PAD_SINK, "template", templ,
      NULL);

  gst_object_unref (templ);
  gst_element_add_pad (GST_ELEMENT (self), pad);
  return GST_SF_AGGREGATOR_PAD (pad);
}

static void
gst_sf_similarity_init (GstSfSimilarity *self)
{
  self->pending =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  self->pending_texts = g_ptr_array_new_with_free_func (g_free);
  self->prompt_texts = g_ptr_array_new_with_free_func (g_free);
  self->text = add_sink_pad (self, &text_template);
  self->image = add_sink_pad (self, &image_template);
}
