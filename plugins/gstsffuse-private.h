/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sffuse's state, shared by the element
 * (gstsffuse.c: pads, properties, aggregation) and the gathering of each
 * output (gstsffuse-concat.c). Private to the plugin. */
#pragma once

#include "gstsfelement.h"
#include "gstsffuse.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_sf_fuse_debug);

typedef enum
{
  GST_SF_FUSE_SYNC_SLOWEST,
  GST_SF_FUSE_SYNC_BASEPAD,
  GST_SF_FUSE_SYNC_NOSYNC,
} GstSfFuseSyncMode;

struct _GstSfFusePad
{
  GstSfAggregatorPad parent;

  guint index;            /* request order */
  GstBuffer *held;        /* latest buffer taken */
  GstClockTime held_time; /* its running time */
};

struct _GstSfFuse
{
  GstSfAggregator parent;

  /* properties, under the object lock */
  GstSfFuseSyncMode sync_mode;
  guint base_pad;
  guint max_lag_ms;

  /* streaming state */
  guint n_requested;       /* pads requested so far */
  GstClockTime round_time; /* T of the output being gathered, or NONE */
};

/* sync-mode=nosync: one output from the next buffer of every pad, once
 * each has one (EOS when a pad without one is at EOS). */
GstFlowReturn gst_sf_fuse_concat_nosync (GstSfFuse *self, GPtrArray *pads);
/* sync-mode=slowest or basepad: the output at the round's time T (fixed
 * when the round starts, kept in self->round_time), each pad's latest
 * buffer not later than T; @max_lag_ms as the max-lag-ms property; @timeout as
 * GstAggregator::aggregate gives it. */
GstFlowReturn gst_sf_fuse_concat_aligned (GstSfFuse *self, GPtrArray *pads,
    gboolean timeout, GstSfFuseSyncMode sync, guint base, guint max_lag_ms);

G_END_DECLS
