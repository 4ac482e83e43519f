/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sffuse's gathering of one output (see
 * gstsffuse-private.h): which buffer of each pad goes into it under each
 * sync mode, and the stacked buffer built from them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsffuse-private.h"

#define GST_CAT_DEFAULT gst_sf_fuse_debug

/* Builds the stacked buffer from every pad's held buffer and pushes it. */
static GstFlowReturn
gst_sf_fuse_concat_push (GstSfFuse *self, GPtrArray *pads, GstClockTime t)
{
  GstBuffer *out = gst_buffer_new ();
  GstSfTensorsInfo info;

  gst_sf_tensors_info_init (&info);
  for (guint i = 0; i < pads->len; i++) {
    GstSfFusePad *pad = pads->pdata[i];

    if (!pad->parent.have_info
        || !gst_sf_tensors_append (out, &info, pad->held, &pad->parent.info))
      goto bad_layout;
  }
  gst_sf_aggregator_set_caps (GST_SF_AGGREGATOR (self), &info);
  return gst_sf_aggregator_push (GST_SF_AGGREGATOR (self), out, t);

bad_layout : {
  gst_buffer_unref (out);
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("a buffer's memory count disagrees with its caps, or more than %d "
       "tensors in all",
          GST_SF_TENSORS_MAX));
  return GST_FLOW_ERROR;
}
}

/* Takes @pad's head into its held buffer. */
static void
gst_sf_fuse_take (GstSfFusePad *pad, GstClockTime t)
{
  GstBuffer *buf = gst_aggregator_pad_pop_buffer (GST_AGGREGATOR_PAD (pad));

  gst_clear_buffer (&pad->held);
  pad->held = buf;
  pad->held_time = t;
}

GstFlowReturn
gst_sf_fuse_concat_nosync (GstSfFuse *self, GPtrArray *pads)
{
  GstClockTime t = 0;

  for (guint i = 0; i < pads->len; i++) {
    GstAggregatorPad *apad = pads->pdata[i];
    if (!gst_aggregator_pad_has_buffer (apad))
      return gst_aggregator_pad_is_eos (apad) ? GST_FLOW_EOS : GST_FLOW_OK;
  }
  for (guint i = 0; i < pads->len; i++) {
    GstSfFusePad *pad = pads->pdata[i];
    GstBuffer *head = gst_aggregator_pad_peek_buffer (GST_AGGREGATOR_PAD (pad));
    GstClockTime ht =
        gst_sf_aggregator_pad_time (GST_SF_AGGREGATOR_PAD (pad), head);

    gst_buffer_unref (head);
    gst_sf_fuse_take (pad, ht);
    t = MAX (t, ht);
  }
  t = gst_sf_aggregator_next_pts (GST_SF_AGGREGATOR (self), t);
  return gst_sf_fuse_concat_push (self, pads, t);
}

/* The time of the output to gather next, or NONE when it cannot be known
 * yet; *eos when an input has ended. */
static GstClockTime
gst_sf_fuse_round_time (GstSfFuse *self, GPtrArray *pads,
    GstSfFuseSyncMode sync, guint base, gboolean *eos)
{
  GstClockTime t = GST_CLOCK_TIME_NONE;

  *eos = FALSE;
  for (guint i = 0; i < pads->len; i++) {
    GstSfFusePad *pad = pads->pdata[i];
    GstAggregatorPad *apad = GST_AGGREGATOR_PAD (pad);
    GstBuffer *head;
    GstClockTime ht;

    if (gst_aggregator_pad_is_eos (apad)) {
      *eos = TRUE;
      return GST_CLOCK_TIME_NONE;
    }
    if (sync == GST_SF_FUSE_SYNC_BASEPAD && i != base)
      continue;
    head = gst_aggregator_pad_peek_buffer (apad);
    if (head == NULL)
      return GST_CLOCK_TIME_NONE;
    ht = gst_sf_aggregator_pad_time (GST_SF_AGGREGATOR_PAD (pad), head);
    gst_buffer_unref (head);
    if (!GST_CLOCK_TIME_IS_VALID (t) || ht > t)
      t = ht;
  }
  return t;
}

GstFlowReturn
gst_sf_fuse_concat_aligned (GstSfFuse *self, GPtrArray *pads, gboolean timeout,
    GstSfFuseSyncMode sync, guint base, guint max_lag_ms)
{
  GstClockTime t = self->round_time;
  gboolean settled = TRUE, eos;

  if (!GST_CLOCK_TIME_IS_VALID (t)) {
    if (sync == GST_SF_FUSE_SYNC_BASEPAD && base >= pads->len)
      goto no_base_pad;
    t = gst_sf_fuse_round_time (self, pads, sync, base, &eos);
    if (eos)
      return GST_FLOW_EOS;
    if (!GST_CLOCK_TIME_IS_VALID (t))
      return GST_FLOW_OK;
    self->round_time = t;
  }

  /* Every pad takes its buffers up to T; a pad is settled when no
   * queued buffer can be a later one at or before T. */
  for (guint i = 0; i < pads->len; i++) {
    GstSfFusePad *pad = pads->pdata[i];
    GstAggregatorPad *apad = GST_AGGREGATOR_PAD (pad);
    GstClockTime ht = GST_CLOCK_TIME_NONE;
    GstBuffer *head;

    while ((head = gst_aggregator_pad_peek_buffer (apad)) != NULL) {
      ht = gst_sf_aggregator_pad_time (GST_SF_AGGREGATOR_PAD (pad), head);
      gst_buffer_unref (head);
      if (ht > t)
        break;
      gst_sf_fuse_take (pad, ht);
      ht = GST_CLOCK_TIME_NONE;
    }
    if (pad->held != NULL && pad->held_time == t)
      continue;
    if (GST_CLOCK_TIME_IS_VALID (ht)) { /* a later buffer is queued */
      if (pad->held == NULL)            /* the stream starts after T */
        gst_sf_fuse_take (pad, ht);
      continue;
    }
    if (gst_aggregator_pad_is_eos (apad)) {
      self->round_time = GST_CLOCK_TIME_NONE;
      return GST_FLOW_EOS;
    }
    if (!timeout || pad->held == NULL)
      settled = FALSE;
  }
  if (!settled)
    return GST_FLOW_OK;

  self->round_time = GST_CLOCK_TIME_NONE;
  if (gst_sf_aggregator_next_pts (GST_SF_AGGREGATOR (self), t) != t) {
    GST_DEBUG_OBJECT (self,
        "dropping output at %" GST_TIME_FORMAT ", not after the previous one",
        GST_TIME_ARGS (t));
    return GST_FLOW_OK;
  }
  if (max_lag_ms > 0) {
    for (guint i = 0; i < pads->len; i++) {
      GstSfFusePad *pad = pads->pdata[i];
      GstClockTimeDiff lag = GST_CLOCK_DIFF (pad->held_time, t);
      if (ABS (lag) > (GstClockTimeDiff)max_lag_ms * GST_MSECOND) {
        GST_DEBUG_OBJECT (pad,
            "dropping output at %" GST_TIME_FORMAT
            ": this pad's buffer is %" G_GINT64_FORMAT " ms away",
            GST_TIME_ARGS (t), lag / GST_MSECOND);
        return GST_FLOW_OK;
      }
    }
  }
  return gst_sf_fuse_concat_push (self, pads, t);

no_base_pad : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("base-pad is %u but there are only %u sink pads.", base, pads->len),
      (NULL));
  return GST_FLOW_ERROR;
}
}
