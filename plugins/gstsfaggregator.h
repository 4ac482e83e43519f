/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GstSfAggregator: the part of sffuse and sfsimilarity that is the same.
 *
 * Private to the plugin. Sink pads remember their tensor caps and the
 * running time of their buffers; the element sets `other/tensors` output
 * caps only when they change, keeps output timestamps increasing and
 * resets its state on start, stop and flush.
 */
#pragma once

#include <gst/base/gstaggregator.h>

#include "gstsfmodel.h"

G_BEGIN_DECLS

#define GST_SF_AGGREGATOR_CAPS GST_SF_TENSORS_MIME ", format = (string) static"

/* ---- pad ---- */

#define GST_TYPE_SF_AGGREGATOR_PAD (gst_sf_aggregator_pad_get_type ())
#define GST_SF_AGGREGATOR_PAD(obj)                                             \
  (G_TYPE_CHECK_INSTANCE_CAST (                                                \
      (obj), GST_TYPE_SF_AGGREGATOR_PAD, GstSfAggregatorPad))
#define GST_SF_AGGREGATOR_PAD_CLASS(klass)                                     \
  (G_TYPE_CHECK_CLASS_CAST (                                                   \
      (klass), GST_TYPE_SF_AGGREGATOR_PAD, GstSfAggregatorPadClass))
#define GST_SF_AGGREGATOR_PAD_GET_CLASS(obj)                                   \
  (G_TYPE_INSTANCE_GET_CLASS (                                                 \
      (obj), GST_TYPE_SF_AGGREGATOR_PAD, GstSfAggregatorPadClass))

typedef struct _GstSfAggregatorPad GstSfAggregatorPad;
typedef struct _GstSfAggregatorPadClass GstSfAggregatorPadClass;

struct _GstSfAggregatorPad
{
  GstAggregatorPad parent;

  GstSfTensorsInfo info; /* from the last caps */
  gboolean have_info;
  GstClockTime last_time; /* running time of the last buffer seen */
};

struct _GstSfAggregatorPadClass
{
  GstAggregatorPadClass parent_class;

  /* Drops the streaming state; chain up. */
  void (*reset) (GstSfAggregatorPad *pad);
};

GType gst_sf_aggregator_pad_get_type (void);
/* (subclasses' G_DECLARE_FINAL_TYPE chains up to these) */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstSfAggregatorPad, gst_object_unref)

/* The running time of @buf on @pad; a buffer without a pts counts as being
 * at the time of the pad's previous one. */
GstClockTime gst_sf_aggregator_pad_time (
    GstSfAggregatorPad *pad, GstBuffer *buf);

/* (transfer full) @buf's tensor as F32 rows [k, P], P being the innermost
 * dimension of the pad's caps; NULL when the caps are not one float32
 * tensor or the buffer's size disagrees with them. Copies the data. */
SfTensor *gst_sf_aggregator_pad_rows (GstSfAggregatorPad *pad, GstBuffer *buf);

/* ---- element ---- */

#define GST_TYPE_SF_AGGREGATOR (gst_sf_aggregator_get_type ())
#define GST_SF_AGGREGATOR(obj)                                                 \
  (G_TYPE_CHECK_INSTANCE_CAST ((obj), GST_TYPE_SF_AGGREGATOR, GstSfAggregator))
#define GST_SF_AGGREGATOR_CLASS(klass)                                         \
  (G_TYPE_CHECK_CLASS_CAST (                                                   \
      (klass), GST_TYPE_SF_AGGREGATOR, GstSfAggregatorClass))
#define GST_SF_AGGREGATOR_GET_CLASS(obj)                                       \
  (G_TYPE_INSTANCE_GET_CLASS (                                                 \
      (obj), GST_TYPE_SF_AGGREGATOR, GstSfAggregatorClass))

typedef struct _GstSfAggregator GstSfAggregator;
typedef struct _GstSfAggregatorClass GstSfAggregatorClass;

struct _GstSfAggregator
{
  GstAggregator parent;

  GstClockTime last_out; /* pts of the last output, or NONE */

  /*< private >*/
  GstSfTensorsInfo out_info; /* caps last set */
  gboolean have_out_caps;
};

struct _GstSfAggregatorClass
{
  GstAggregatorClass parent_class;

  /* Drops the subclass's streaming state (start, stop, flush). */
  void (*reset) (GstSfAggregator *self);
};

GType gst_sf_aggregator_get_type (void);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GstSfAggregator, gst_object_unref)

/* Sets the output caps when @info differs from the last ones. */
void gst_sf_aggregator_set_caps (
    GstSfAggregator *self, const GstSfTensorsInfo *info);

/* @t, or just after the last output when @t is not later than it. */
GstClockTime gst_sf_aggregator_next_pts (GstSfAggregator *self, GstClockTime t);

/* Stamps @out (transfer full) with @pts and pushes it. */
GstFlowReturn gst_sf_aggregator_push (
    GstSfAggregator *self, GstBuffer *out, GstClockTime pts);

G_END_DECLS
