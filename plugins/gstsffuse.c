/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sffuse
 * @title: sffuse
 *
 * Aligns several `other/tensors` streams by running time and stacks them.
 *
 * Request any number of `sink_%u` pads. Each output buffer stacks one
 * buffer of every pad, in the order the pads were requested, as one
 * multi-tensor buffer: the tensors' GstMemory are shared, not copied, and
 * the caps list num_tensors, types and dimensions of all of them, with the
 * framerate of the slowest periodic input. Which buffers go together is
 * chosen by sync-mode, as NNStreamer's tensor_mux does:
 *
 * - slowest: each output is made at the running time T of the stream
 *   that is furthest ahead at the head of its queue, so the output runs
 *   at the rate of the slowest stream. Every pad contributes its latest
 *   buffer not later than T (its first buffer when it has none yet).
 * - basepad: T is the running time of each buffer of pad number base-pad,
 *   one output per buffer of that pad; the other pads contribute as above.
 * - nosync: timestamps are ignored; the next buffer of every pad goes out
 *   together, with the latest of their running times as pts.
 *
 * With max-lag-ms, an output whose buffers lie further than that from T is
 * dropped. Output timestamps always increase. The output ends as soon as
 * one input has ended and has no buffer left for the next output.
 *
 * To score image embeddings against text prompts (CLIP zero-shot), use
 * sfsimilarity.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder model=./vit ! f.sink_0 \
 *     pulsesrc ! audioconvert ! audioresample ! sfaudioencoder model=./ast ! f.sink_1 \
 *     sffuse name=f sync-mode=slowest max-lag-ms=500 ! sfjsonsink location=fused.jsonl
 * ]| Pairs every audio window with the latest camera frame not after it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "gstsffuse-private.h"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_SF_AGGREGATOR_CAPS));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS (GST_SF_AGGREGATOR_CAPS));

GST_DEBUG_CATEGORY (gst_sf_fuse_debug);
#define GST_CAT_DEFAULT gst_sf_fuse_debug

#define DEFAULT_SYNC_MODE GST_SF_FUSE_SYNC_SLOWEST
#define DEFAULT_BASE_PAD 0
#define DEFAULT_MAX_LAG_MS 0

enum
{
  PROP_0,
  PROP_SYNC_MODE,
  PROP_BASE_PAD,
  PROP_MAX_LAG_MS,
};

G_DEFINE_TYPE (GstSfFusePad, gst_sf_fuse_pad, GST_TYPE_SF_AGGREGATOR_PAD);

#define gst_sf_fuse_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfFuse, gst_sf_fuse, GST_TYPE_SF_AGGREGATOR,
    GST_DEBUG_CATEGORY_INIT (
        gst_sf_fuse_debug, "sffuse", 0, "Streamformer stream alignment"));
GST_ELEMENT_REGISTER_DEFINE (sffuse, "sffuse", GST_RANK_NONE, GST_TYPE_SF_FUSE);

GType
gst_sf_fuse_sync_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_FUSE_SYNC_SLOWEST,
        "Output at the rate of the slowest stream, pairing each pad's latest "
        "buffer",
        "slowest" },
    { GST_SF_FUSE_SYNC_BASEPAD, "One output per buffer of the base pad",
        "basepad" },
    { GST_SF_FUSE_SYNC_NOSYNC,
        "Ignore timestamps: the next buffer of every pad", "nosync" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfFuseSyncMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ---- pad ---- */

static void
gst_sf_fuse_pad_reset (GstSfAggregatorPad *apad)
{
  GstSfFusePad *pad = GST_SF_FUSE_PAD (apad);

  gst_clear_buffer (&pad->held);
  pad->held_time = GST_CLOCK_TIME_NONE;
  GST_SF_AGGREGATOR_PAD_CLASS (gst_sf_fuse_pad_parent_class)->reset (apad);
}

static void
gst_sf_fuse_pad_finalize (GObject *object)
{
  gst_clear_buffer (&GST_SF_FUSE_PAD (object)->held);
  G_OBJECT_CLASS (gst_sf_fuse_pad_parent_class)->finalize (object);
}

static void
gst_sf_fuse_pad_class_init (GstSfFusePadClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_sf_fuse_pad_finalize;
  GST_SF_AGGREGATOR_PAD_CLASS (klass)->reset = gst_sf_fuse_pad_reset;
}

static void
gst_sf_fuse_pad_init (GstSfFusePad *pad)
{
  pad->held_time = GST_CLOCK_TIME_NONE;
}

/* ---- element ---- */

static void
gst_sf_fuse_reset (GstSfAggregator *agg)
{
  GST_SF_FUSE (agg)->round_time = GST_CLOCK_TIME_NONE;
}

static gint
compare_pad_index (gconstpointer a, gconstpointer b)
{
  const GstSfFusePad *pa = *(GstSfFusePad *const *)a;
  const GstSfFusePad *pb = *(GstSfFusePad *const *)b;

  return pa->index < pb->index ? -1 : pa->index > pb->index;
}

/* (transfer full) the sink pads, each with a ref, in request order. */
static GPtrArray *
gst_sf_fuse_pads (GstSfFuse *self)
{
  GPtrArray *pads = g_ptr_array_new_with_free_func (gst_object_unref);
  GList *l;

  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    g_ptr_array_add (pads, gst_object_ref (l->data));
  GST_OBJECT_UNLOCK (self);
  g_ptr_array_sort (pads, compare_pad_index);
  return pads;
}

/* ---- GstAggregator ---- */

static GstFlowReturn
gst_sf_fuse_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstSfFuse *self = GST_SF_FUSE (agg);
  GPtrArray *pads = gst_sf_fuse_pads (self);
  GstSfFuseSyncMode sync;
  guint base, max_lag;
  GstFlowReturn ret;

  GST_OBJECT_LOCK (self);
  sync = self->sync_mode;
  base = self->base_pad;
  max_lag = self->max_lag_ms;
  GST_OBJECT_UNLOCK (self);

  if (pads->len == 0)
    ret = GST_FLOW_OK;
  else if (sync == GST_SF_FUSE_SYNC_NOSYNC)
    ret = gst_sf_fuse_concat_nosync (self, pads);
  else
    ret = gst_sf_fuse_concat_aligned (self, pads, timeout, sync, base, max_lag);
  g_ptr_array_unref (pads);
  return ret;
}

static GstAggregatorPad *
gst_sf_fuse_create_new_pad (GstAggregator *agg, GstPadTemplate *templ,
    const gchar *req_name, const GstCaps *caps)
{
  GstSfFuse *self = GST_SF_FUSE (agg);
  GstSfFusePad *pad;
  GstPad *old;
  gchar *name;
  guint index, serial;

  GST_OBJECT_LOCK (self);
  index = self->n_requested++;
  GST_OBJECT_UNLOCK (self);
  if (req_name != NULL && sscanf (req_name, "sink_%u", &serial) == 1)
    name = g_strdup_printf ("sink_%u", serial);
  else
    name = g_strdup_printf ("sink_%u", index);

  old = gst_element_get_static_pad (GST_ELEMENT (agg), name);
  if (old != NULL) {
    GST_WARNING_OBJECT (self, "pad %s already exists", name);
    gst_object_unref (old);
    g_free (name);
    return NULL;
  }
  pad = g_object_new (GST_TYPE_SF_FUSE_PAD, "name", name, "direction",
      GST_PAD_SINK, "template", templ, NULL);
  pad->index = index;
  g_free (name);
  return GST_AGGREGATOR_PAD (pad);
}

static void
gst_sf_fuse_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfFuse *self = GST_SF_FUSE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SYNC_MODE: self->sync_mode = g_value_get_enum (value); break;
    case PROP_BASE_PAD: self->base_pad = g_value_get_uint (value); break;
    case PROP_MAX_LAG_MS: self->max_lag_ms = g_value_get_uint (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_fuse_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfFuse *self = GST_SF_FUSE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SYNC_MODE: g_value_set_enum (value, self->sync_mode); break;
    case PROP_BASE_PAD: g_value_set_uint (value, self->base_pad); break;
    case PROP_MAX_LAG_MS: g_value_set_uint (value, self->max_lag_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_fuse_class_init (GstSfFuseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  gobject_class->set_property = gst_sf_fuse_set_property;
  gobject_class->get_property = gst_sf_fuse_get_property;

  g_object_class_install_property (gobject_class, PROP_SYNC_MODE,
      g_param_spec_enum ("sync-mode", "Sync mode",
          "Which buffers go together, by running time: slowest (at the "
          "slowest stream's rate), basepad (one output per buffer of "
          "base-pad) or nosync (the next buffer of every pad)",
          GST_TYPE_SF_FUSE_SYNC_MODE, DEFAULT_SYNC_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BASE_PAD,
      g_param_spec_uint ("base-pad", "Base pad",
          "With sync-mode=basepad, the sink pad (0 = the first requested) "
          "whose buffers set the output times",
          0, GST_SF_TENSORS_MAX - 1, DEFAULT_BASE_PAD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MAX_LAG_MS,
      g_param_spec_uint ("max-lag-ms", "Maximum lag (ms)",
          "Drop an output when one of its buffers is further than this from "
          "the output time (0 = no limit)",
          0, G_MAXUINT, DEFAULT_MAX_LAG_MS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &sink_template, GST_TYPE_SF_FUSE_PAD);
  gst_element_class_set_static_metadata (element_class,
      "Streamformer tensor fusion", "Filter/Tensor",
      "Aligns tensor streams by running time and stacks their tensors into "
      "one multi-tensor buffer",
      "Streamformer");
  gst_sf_element_class_set_example (element_class,
      "gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder model=./vit ! "
      "f.sink_0 pulsesrc ! audioconvert ! audioresample ! sfaudioencoder "
      "model=./ast ! f.sink_1 sffuse name=f sync-mode=slowest max-lag-ms=500 ! "
      "sfjsonsink location=fused.jsonl");

  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_sf_fuse_aggregate);
  agg_class->create_new_pad = GST_DEBUG_FUNCPTR (gst_sf_fuse_create_new_pad);
  GST_SF_AGGREGATOR_CLASS (klass)->reset = gst_sf_fuse_reset;

  gst_type_mark_as_plugin_api (GST_TYPE_SF_FUSE_SYNC_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SF_FUSE_PAD, 0);
}

static void
gst_sf_fuse_init (GstSfFuse *self)
{
  self->sync_mode = DEFAULT_SYNC_MODE;
  self->base_pad = DEFAULT_BASE_PAD;
  self->max_lag_ms = DEFAULT_MAX_LAG_MS;
  self->round_time = GST_CLOCK_TIME_NONE;
}
