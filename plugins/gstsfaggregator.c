/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstSfAggregator: base class of sffuse and sfsimilarity. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfaggregator.h"

GST_DEBUG_CATEGORY_STATIC (gst_sf_aggregator_debug);
#define GST_CAT_DEFAULT gst_sf_aggregator_debug

G_DEFINE_TYPE (
    GstSfAggregatorPad, gst_sf_aggregator_pad, GST_TYPE_AGGREGATOR_PAD);

#define gst_sf_aggregator_parent_class parent_class
G_DEFINE_ABSTRACT_TYPE_WITH_CODE (GstSfAggregator, gst_sf_aggregator,
    GST_TYPE_AGGREGATOR,
    GST_DEBUG_CATEGORY_INIT (gst_sf_aggregator_debug, "sfaggregator", 0,
        "Streamformer tensor aggregators"));

/* ---- pad ---- */

static void
gst_sf_aggregator_pad_real_reset (GstSfAggregatorPad *pad)
{
  pad->last_time = 0;
}

static void
gst_sf_aggregator_pad_class_init (GstSfAggregatorPadClass *klass)
{
  klass->reset = gst_sf_aggregator_pad_real_reset;
}

static void
gst_sf_aggregator_pad_init (GstSfAggregatorPad *pad)
{
  gst_sf_tensors_info_init (&pad->info);
}

GstClockTime
gst_sf_aggregator_pad_time (GstSfAggregatorPad *pad, GstBuffer *buf)
{
  GstAggregatorPad *apad = GST_AGGREGATOR_PAD (pad);
  GstClockTime t = GST_CLOCK_TIME_NONE;

  if (GST_BUFFER_PTS_IS_VALID (buf))
    t = gst_segment_to_running_time (
        &apad->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (t))
    t = pad->last_time;
  pad->last_time = t;
  return t;
}

SfTensor *
gst_sf_aggregator_pad_rows (GstSfAggregatorPad *pad, GstBuffer *buf)
{
  const GstSfTensorInfo *t = &pad->info.tensors[0];
  guint64 numel = gst_sf_tensor_info_numel (t);
  GstMapInfo map;
  SfTensor *rows = NULL;

  if (!pad->have_info || pad->info.num_tensors != 1
      || t->type != GST_SF_TENSOR_TYPE_FLOAT32 || t->dims[0] == 0 || numel == 0
      || numel > G_MAXINT32)
    return NULL;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return NULL;
  if (map.size == numel * sizeof (float))
    rows = sf_tensor_new_from_data (SF_DTYPE_F32, 2,
        (gint64[]){ numel / t->dims[0], t->dims[0] }, map.data);
  gst_buffer_unmap (buf, &map);
  return rows;
}

/* ---- element ---- */

void
gst_sf_aggregator_set_caps (GstSfAggregator *self, const GstSfTensorsInfo *info)
{
  GstCaps *caps;

  if (self->have_out_caps
      && gst_sf_tensors_info_is_equal (info, &self->out_info))
    return;
  caps = gst_sf_tensors_info_to_caps (info);
  GST_DEBUG_OBJECT (self, "output caps %" GST_PTR_FORMAT, caps);
  gst_aggregator_set_src_caps (GST_AGGREGATOR (self), caps);
  gst_caps_unref (caps);
  self->out_info = *info;
  self->have_out_caps = TRUE;
}

GstClockTime
gst_sf_aggregator_next_pts (GstSfAggregator *self, GstClockTime t)
{
  if (GST_CLOCK_TIME_IS_VALID (self->last_out) && t <= self->last_out)
    return self->last_out + 1;
  return t;
}

GstFlowReturn
gst_sf_aggregator_push (GstSfAggregator *self, GstBuffer *out, GstClockTime pts)
{
  GstAggregator *agg = GST_AGGREGATOR (self);
  GstSegment *segment = &GST_AGGREGATOR_PAD (agg->srcpad)->segment;

  GST_BUFFER_PTS (out) = pts;
  self->last_out = pts;
  GST_OBJECT_LOCK (self);
  segment->position = pts;
  GST_OBJECT_UNLOCK (self);
  return gst_aggregator_finish_buffer (agg, out);
}

static void
gst_sf_aggregator_reset (GstSfAggregator *self)
{
  GstSfAggregatorClass *klass = GST_SF_AGGREGATOR_GET_CLASS (self);
  GList *l;

  self->last_out = GST_CLOCK_TIME_NONE;
  self->have_out_caps = FALSE;
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    GST_SF_AGGREGATOR_PAD_GET_CLASS (l->data)->reset (l->data);
  GST_OBJECT_UNLOCK (self);
  if (klass->reset)
    klass->reset (self);
}

static gboolean
gst_sf_aggregator_sink_event (
    GstAggregator *agg, GstAggregatorPad *apad, GstEvent *event)
{
  GstSfAggregatorPad *pad = GST_SF_AGGREGATOR_PAD (apad);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;

    gst_event_parse_caps (event, &caps);
    if (!gst_sf_tensors_info_from_caps (&pad->info, caps)) {
      GST_ELEMENT_ERROR (agg, STREAM, FORMAT, (NULL),
          ("could not parse tensor caps %" GST_PTR_FORMAT " on pad %s", caps,
              GST_PAD_NAME (pad)));
      gst_event_unref (event);
      return FALSE;
    }
    pad->have_info = TRUE;
  }
  return GST_AGGREGATOR_CLASS (parent_class)->sink_event (agg, apad, event);
}

/* Output caps are set from aggregate(), once the inputs are known. */
static gboolean
gst_sf_aggregator_negotiate (GstAggregator *agg)
{
  return TRUE;
}

static gboolean
gst_sf_aggregator_start (GstAggregator *agg)
{
  gst_sf_aggregator_reset (GST_SF_AGGREGATOR (agg));
  return TRUE;
}

static gboolean
gst_sf_aggregator_stop (GstAggregator *agg)
{
  gst_sf_aggregator_reset (GST_SF_AGGREGATOR (agg));
  return TRUE;
}

/* A flush starts the streams over but keeps the negotiated caps. */
static GstFlowReturn
gst_sf_aggregator_flush (GstAggregator *agg)
{
  GstSfAggregator *self = GST_SF_AGGREGATOR (agg);
  gboolean had_caps = self->have_out_caps;
  GstSfTensorsInfo info = self->out_info;

  gst_sf_aggregator_reset (self);
  self->have_out_caps = had_caps;
  self->out_info = info;
  return GST_FLOW_OK;
}

static void
gst_sf_aggregator_class_init (GstSfAggregatorClass *klass)
{
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  agg_class->sink_event = GST_DEBUG_FUNCPTR (gst_sf_aggregator_sink_event);
  agg_class->negotiate = GST_DEBUG_FUNCPTR (gst_sf_aggregator_negotiate);
  agg_class->start = GST_DEBUG_FUNCPTR (gst_sf_aggregator_start);
  agg_class->stop = GST_DEBUG_FUNCPTR (gst_sf_aggregator_stop);
  agg_class->flush = GST_DEBUG_FUNCPTR (gst_sf_aggregator_flush);
  agg_class->get_next_time = gst_aggregator_simple_get_next_time;

  gst_type_mark_as_plugin_api (GST_TYPE_SF_AGGREGATOR, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SF_AGGREGATOR_PAD, 0);
}

static void
gst_sf_aggregator_init (GstSfAggregator *self)
{
  self->last_out = GST_CLOCK_TIME_NONE;
  gst_sf_tensors_info_init (&self->out_info);
}
