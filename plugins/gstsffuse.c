/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sffuse
 * @title: sffuse
 *
 * Aligns several `other/tensors` streams by running time and fuses them.
 *
 * ## mode=concat
 *
 * Request any number of `sink_%u` pads. Each output buffer stacks one
 * buffer of every pad, in the order the pads were requested, as one
 * multi-tensor buffer: the tensors' GstMemory are shared, not copied, and
 * the caps list num_tensors, types and dimensions of all of them. Which
 * buffers go together is chosen by sync-mode, as NNStreamer's tensor_mux
 * does:
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
 * ## mode=similarity
 *
 * Request a `text` and an `image` pad. The text pad takes text embeddings
 * (sftextencoder on a CLIP checkpoint), one or more rows of P values per
 * buffer; the image pad takes image embeddings of the same size P
 * (sfimageencoder). Each image row is scored against the active prompt
 * set: cosine similarity times the model's exp (logit_scale) when the
 * buffers name a model with one (CLIP), giving one float32 row of logits
 * per image, dimensions "N:1" for N prompts, with the image's timestamps.
 * The prompt texts (from the text encoder's GstSfTensorMeta) ride along in
 * a GstSfLabelsMeta, so sfclassifier names its labels after them.
 *
 * Prompt sets: text buffers accumulate into a pending set, which replaces
 * the active set (so prompts can change while playing) when the text pad
 * gets EOS or a GAP event, or when a text buffer flagged DISCONT starts the
 * next set. Images that arrive before the first set is complete wait for
 * it; when none can come (the text stream ended empty, or a live timeout),
 * they are dropped. The output ends with the image stream.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! sfimageencoder model=./clip ! f.image \
 *     filesrc location=prompts.txt ! sftextencoder model=./clip split=lines ! f.text \
 *     sffuse name=f mode=similarity ! sfclassifier top-k=1 ! sfjsonsink location=labels.jsonl
 * ]| Labels every camera frame with the best-matching line of prompts.txt.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include "core/ops/layout.h"
#include "gstsffuse.h"
#include "gstsfmodel.h"

#define TENSORS_CAPS GST_SF_TENSORS_MIME ", format = (string) static"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (TENSORS_CAPS));

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS (TENSORS_CAPS));

static GstStaticPadTemplate text_template = GST_STATIC_PAD_TEMPLATE (
    "text", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS (TENSORS_CAPS));

static GstStaticPadTemplate image_template = GST_STATIC_PAD_TEMPLATE (
    "image", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS (TENSORS_CAPS));

GST_DEBUG_CATEGORY_STATIC (gst_sf_fuse_debug);
#define GST_CAT_DEFAULT gst_sf_fuse_debug

typedef enum
{
  GST_SF_FUSE_MODE_CONCAT,
  GST_SF_FUSE_MODE_SIMILARITY,
} GstSfFuseMode;

typedef enum
{
  GST_SF_FUSE_SYNC_SLOWEST,
  GST_SF_FUSE_SYNC_BASEPAD,
  GST_SF_FUSE_SYNC_NOSYNC,
} GstSfFuseSyncMode;

#define DEFAULT_MODE GST_SF_FUSE_MODE_CONCAT
#define DEFAULT_SYNC_MODE GST_SF_FUSE_SYNC_SLOWEST
#define DEFAULT_BASE_PAD 0
#define DEFAULT_MAX_LAG_MS 0

enum
{
  PROP_0,
  PROP_MODE,
  PROP_SYNC_MODE,
  PROP_BASE_PAD,
  PROP_MAX_LAG_MS,
};

struct _GstSfFusePad
{
  GstAggregatorPad parent;

  guint index;           /* request order */
  GstSfTensorsInfo info; /* from the caps */
  gboolean have_info;
  GstBuffer *held;        /* latest buffer taken (concat) */
  GstClockTime held_time; /* its running time */
  GstClockTime last_time; /* running time of the last buffer seen */
};

struct _GstSfFuse
{
  GstAggregator parent;

  /* properties, under the object lock */
  GstSfFuseMode mode;
  GstSfFuseSyncMode sync_mode;
  guint base_pad;
  guint max_lag_ms;

  /* streaming state */
  guint n_requested;         /* pads requested so far */
  GstClockTime round_time;   /* T of the output being gathered, or NONE */
  GstClockTime last_out;     /* pts of the last output */
  GstSfTensorsInfo out_info; /* caps last set */
  gboolean have_out_caps;

  /* similarity: the prompt sets */
  GPtrArray *pending;       /* SfTensor [k, P] per text buffer */
  GPtrArray *pending_texts; /* gchar*, one per row */
  SfTensor *prompts;        /* [N, P] active set, or NULL */
  GPtrArray *prompt_texts;  /* gchar*, N */
  SfModel *text_model;      /* named by the text buffers, nullable */
  gboolean warned_no_prompts;
};

G_DEFINE_TYPE (GstSfFusePad, gst_sf_fuse_pad, GST_TYPE_AGGREGATOR_PAD);

#define gst_sf_fuse_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfFuse, gst_sf_fuse, GST_TYPE_AGGREGATOR,
    GST_DEBUG_CATEGORY_INIT (gst_sf_fuse_debug, "sffuse", 0,
        "Streamformer stream alignment and fusion"));
GST_ELEMENT_REGISTER_DEFINE (sffuse, "sffuse", GST_RANK_NONE, GST_TYPE_SF_FUSE);

GType
gst_sf_fuse_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_FUSE_MODE_CONCAT,
        "Stack the aligned tensors of every sink_%u pad into one buffer",
        "concat" },
    { GST_SF_FUSE_MODE_SIMILARITY,
        "Score each image embedding against the text embeddings (CLIP "
        "zero-shot)",
        "similarity" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfFuseMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

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
gst_sf_fuse_pad_reset (GstSfFusePad *pad)
{
  gst_clear_buffer (&pad->held);
  pad->held_time = GST_CLOCK_TIME_NONE;
  pad->last_time = 0;
}

static void
gst_sf_fuse_pad_finalize (GObject *object)
{
  gst_sf_fuse_pad_reset (GST_SF_FUSE_PAD (object));
  G_OBJECT_CLASS (gst_sf_fuse_pad_parent_class)->finalize (object);
}

static void
gst_sf_fuse_pad_class_init (GstSfFusePadClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_sf_fuse_pad_finalize;
}

static void
gst_sf_fuse_pad_init (GstSfFusePad *pad)
{
  pad->held_time = GST_CLOCK_TIME_NONE;
}

/* The running time of @buf on @pad; a buffer without pts counts as being
 * at the time of the pad's previous one. */
static GstClockTime
gst_sf_fuse_pad_time (GstSfFusePad *pad, GstBuffer *buf)
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

/* ---- element ---- */

static void
gst_sf_fuse_clear_prompts (GstSfFuse *self)
{
  g_ptr_array_set_size (self->pending, 0);
  g_ptr_array_set_size (self->pending_texts, 0);
  g_ptr_array_set_size (self->prompt_texts, 0);
  g_clear_pointer (&self->prompts, sf_tensor_unref);
  g_clear_pointer (&self->text_model, sf_model_unref);
}

static void
gst_sf_fuse_reset (GstSfFuse *self)
{
  GList *l;

  self->round_time = GST_CLOCK_TIME_NONE;
  self->last_out = GST_CLOCK_TIME_NONE;
  self->have_out_caps = FALSE;
  self->warned_no_prompts = FALSE;
  gst_sf_fuse_clear_prompts (self);
  GST_OBJECT_LOCK (self);
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next)
    gst_sf_fuse_pad_reset (GST_SF_FUSE_PAD (l->data));
  GST_OBJECT_UNLOCK (self);
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

/* Sets the output caps when @info differs from the last ones. */
static void
gst_sf_fuse_update_caps (GstSfFuse *self, const GstSfTensorsInfo *info)
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

static GstFlowReturn
gst_sf_fuse_push (GstSfFuse *self, GstBuffer *out, GstClockTime pts)
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

/* ---- mode=concat ---- */

/* Builds the stacked buffer from every pad's held buffer and pushes it. */
static GstFlowReturn
gst_sf_fuse_concat_push (GstSfFuse *self, GPtrArray *pads, GstClockTime t)
{
  GstSfTensorsInfo info;
  GstBuffer *out;
  gint rate_n = 0, rate_d = 1;

  gst_sf_tensors_info_init (&info);
  out = gst_buffer_new ();
  for (guint i = 0; i < pads->len; i++) {
    GstSfFusePad *pad = pads->pdata[i];
    guint n = gst_buffer_n_memory (pad->held);

    if (!pad->have_info || pad->info.num_tensors != n
        || info.num_tensors + n > GST_SF_TENSORS_MAX)
      goto bad_layout;
    for (guint m = 0; m < n; m++) {
      info.tensors[info.num_tensors++] = pad->info.tensors[m];
      gst_buffer_append_memory (out, gst_buffer_get_memory (pad->held, m));
    }
    /* the output runs at the rate of the slowest periodic input */
    if (pad->info.rate_n > 0
        && (rate_n == 0
            || (gint64)pad->info.rate_n * rate_d
                < (gint64)rate_n * pad->info.rate_d)) {
      rate_n = pad->info.rate_n;
      rate_d = pad->info.rate_d;
    }
  }
  info.rate_n = rate_n;
  info.rate_d = rate_d;
  gst_sf_fuse_update_caps (self, &info);
  return gst_sf_fuse_push (self, out, t);

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

static GstFlowReturn
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
    GstClockTime ht = gst_sf_fuse_pad_time (pad, head);

    gst_buffer_unref (head);
    gst_sf_fuse_take (pad, ht);
    t = MAX (t, ht);
  }
  if (GST_CLOCK_TIME_IS_VALID (self->last_out) && t <= self->last_out)
    t = self->last_out + 1;
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
    ht = gst_sf_fuse_pad_time (pad, head);
    gst_buffer_unref (head);
    if (!GST_CLOCK_TIME_IS_VALID (t) || ht > t)
      t = ht;
  }
  return t;
}

static GstFlowReturn
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
      ht = gst_sf_fuse_pad_time (pad, head);
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
  if (GST_CLOCK_TIME_IS_VALID (self->last_out) && t <= self->last_out) {
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

/* ---- mode=similarity ---- */

/* (transfer full) @buf's tensor as [k, P] F32 rows, P being the caps'
 * innermost dimension; NULL when it is not one float32 tensor. */
static SfTensor *
gst_sf_fuse_rows (GstSfFusePad *pad, GstBuffer *buf)
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

/* Makes the pending set the active one. */
static void
gst_sf_fuse_promote (GstSfFuse *self)
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

/* Adds one text buffer to the pending set (a GAP buffer completes it). */
static gboolean
gst_sf_fuse_add_text (GstSfFuse *self, GstSfFusePad *pad, GstBuffer *buf)
{
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buf);
  SfModel *model = gst_sf_buffer_get_model (buf);
  SfTensor *rows;

  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_GAP)
      && gst_buffer_get_size (buf) == 0) {
    gst_sf_fuse_promote (self);
    return TRUE;
  }
  if (GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT))
    gst_sf_fuse_promote (self);
  rows = gst_sf_fuse_rows (pad, buf);
  if (rows == NULL
      || (self->pending->len > 0
          && sf_tensor_dim (self->pending->pdata[0], 1)
              != sf_tensor_dim (rows, 1))) {
    sf_tensor_unref (rows);
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
gst_sf_fuse_score (GstSfFuse *self, GstSfFusePad *pad, GstBuffer *buf)
{
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buf);
  SfModel *model = gst_sf_buffer_get_model (buf);
  g_autoptr (SfTensor) rows = gst_sf_fuse_rows (pad, buf);
  g_autoptr (SfTensor) logits = NULL;
  GstClockTime t = gst_sf_fuse_pad_time (pad, buf);
  GstSfTensorsInfo info;
  GstFlowReturn ret = GST_FLOW_OK;
  gint64 n = sf_tensor_dim (self->prompts, 0);

  if (rows == NULL
      || sf_tensor_dim (rows, 1) != sf_tensor_dim (self->prompts, 1))
    goto bad_size;
  if (model == NULL)
    model = self->text_model;
  logits = sf_model_similarity (model, rows, self->prompts); /* [k, N] */

  gst_sf_tensors_info_init (&info);
  info.num_tensors = 1;
  gst_sf_tensor_info_set_shape (
      &info.tensors[0], GST_SF_TENSOR_TYPE_FLOAT32, 2, (gint64[]){ 1, n });
  info.rate_n = pad->info.rate_n;
  info.rate_d = pad->info.rate_d;
  gst_sf_fuse_update_caps (self, &info);

  for (gint64 r = 0; r < sf_tensor_dim (logits, 0) && ret == GST_FLOW_OK; r++) {
    g_autoptr (SfTensor) row = sf_tensor_slice0 (logits, r, 1);
    GstBuffer *out = gst_buffer_new ();
    GstClockTime pts = t;

    gst_buffer_append_memory (out, gst_sf_memory_new_from_tensor (row));
    gst_sf_buffer_add_model_meta (out, model, NULL, meta ? meta->media : NULL);
    gst_buffer_add_sf_labels_meta (
        out, (const gchar *const *)self->prompt_texts->pdata, (guint)n);
    GST_BUFFER_DURATION (out) = GST_BUFFER_DURATION (buf);
    if (GST_CLOCK_TIME_IS_VALID (self->last_out) && pts <= self->last_out)
      pts = self->last_out + 1;
    ret = gst_sf_fuse_push (self, out, pts);
  }
  return ret;

bad_size : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, (NULL),
      ("image buffers must hold one float32 tensor of rows of the text "
       "embeddings' size"));
  return GST_FLOW_ERROR;
}
}

static GstFlowReturn
gst_sf_fuse_similarity (GstSfFuse *self, GPtrArray *pads, gboolean timeout)
{
  GstSfFusePad *text = NULL, *image = NULL;
  GstBuffer *buf;
  GstFlowReturn ret;

  for (guint i = 0; i < pads->len; i++) {
    const gchar *name = GST_PAD_NAME (pads->pdata[i]);
    if (g_strcmp0 (name, "text") == 0)
      text = pads->pdata[i];
    else if (g_strcmp0 (name, "image") == 0)
      image = pads->pdata[i];
  }
  if (text == NULL || image == NULL)
    goto missing_pads;

  while ((buf = gst_aggregator_pad_pop_buffer (GST_AGGREGATOR_PAD (text)))) {
    gboolean ok = gst_sf_fuse_add_text (self, text, buf);
    gst_buffer_unref (buf);
    if (!ok)
      return GST_FLOW_ERROR;
  }
  if (gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (text)))
    gst_sf_fuse_promote (self);

  if (!gst_aggregator_pad_has_buffer (GST_AGGREGATOR_PAD (image)))
    return gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (image)) ? GST_FLOW_EOS
                                                                  : GST_FLOW_OK;
  if (self->prompts == NULL) {
    if (gst_aggregator_pad_is_eos (GST_AGGREGATOR_PAD (text)) || timeout) {
      if (!self->warned_no_prompts)
        GST_ELEMENT_WARNING (self, STREAM, FAILED,
            ("No text prompts to score images against; dropping images."),
            ("the text pad %s", timeout ? "is late" : "ended without any"));
      self->warned_no_prompts = TRUE;
      gst_aggregator_pad_drop_buffer (GST_AGGREGATOR_PAD (image));
    }
    return GST_FLOW_OK;
  }
  buf = gst_aggregator_pad_pop_buffer (GST_AGGREGATOR_PAD (image));
  ret = gst_sf_fuse_score (self, image, buf);
  gst_buffer_unref (buf);
  return ret;

missing_pads : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("mode=similarity needs a \"text\" and an \"image\" pad."), (NULL));
  return GST_FLOW_ERROR;
}
}

/* ---- GstAggregator ---- */

static GstFlowReturn
gst_sf_fuse_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstSfFuse *self = GST_SF_FUSE (agg);
  GPtrArray *pads = gst_sf_fuse_pads (self);
  GstSfFuseMode mode;
  GstSfFuseSyncMode sync;
  guint base, max_lag;
  GstFlowReturn ret;

  GST_OBJECT_LOCK (self);
  mode = self->mode;
  sync = self->sync_mode;
  base = self->base_pad;
  max_lag = self->max_lag_ms;
  GST_OBJECT_UNLOCK (self);

  if (pads->len == 0)
    ret = GST_FLOW_OK;
  else if (mode == GST_SF_FUSE_MODE_SIMILARITY)
    ret = gst_sf_fuse_similarity (self, pads, timeout);
  else if (sync == GST_SF_FUSE_SYNC_NOSYNC)
    ret = gst_sf_fuse_concat_nosync (self, pads);
  else
    ret = gst_sf_fuse_concat_aligned (self, pads, timeout, sync, base, max_lag);
  g_ptr_array_unref (pads);
  return ret;
}

static gboolean
gst_sf_fuse_sink_event (
    GstAggregator *agg, GstAggregatorPad *apad, GstEvent *event)
{
  GstSfFusePad *pad = GST_SF_FUSE_PAD (apad);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;

    gst_event_parse_caps (event, &caps);
    if (!gst_sf_tensors_info_from_caps (&pad->info, caps)) {
      GST_ELEMENT_ERROR (agg, STREAM, FORMAT, (NULL),
          ("could not parse tensor caps %" GST_PTR_FORMAT, caps));
      gst_event_unref (event);
      return FALSE;
    }
    pad->have_info = TRUE;
  }
  return GST_AGGREGATOR_CLASS (parent_class)->sink_event (agg, apad, event);
}

static GstAggregatorPad *
gst_sf_fuse_create_new_pad (GstAggregator *agg, GstPadTemplate *templ,
    const gchar *req_name, const GstCaps *caps)
{
  GstSfFuse *self = GST_SF_FUSE (agg);
  const gchar *tname = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);
  GstSfFusePad *pad;
  GstPad *old;
  gchar *name;
  guint index, serial;

  GST_OBJECT_LOCK (self);
  index = self->n_requested++;
  GST_OBJECT_UNLOCK (self);
  if (g_strcmp0 (tname, "sink_%u") != 0)
    name = g_strdup (tname); /* text, image: one each */
  else if (req_name != NULL && sscanf (req_name, "sink_%u", &serial) == 1)
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

/* Output caps are set from aggregate(), once the inputs are known. */
static gboolean
gst_sf_fuse_negotiate (GstAggregator *agg)
{
  return TRUE;
}

static gboolean
gst_sf_fuse_start (GstAggregator *agg)
{
  gst_sf_fuse_reset (GST_SF_FUSE (agg));
  return TRUE;
}

static gboolean
gst_sf_fuse_stop (GstAggregator *agg)
{
  gst_sf_fuse_reset (GST_SF_FUSE (agg));
  return TRUE;
}

static GstFlowReturn
gst_sf_fuse_flush (GstAggregator *agg)
{
  GstSfFuse *self = GST_SF_FUSE (agg);
  gboolean had_caps = self->have_out_caps;
  GstSfTensorsInfo info = self->out_info;

  gst_sf_fuse_reset (self);
  self->have_out_caps = had_caps;
  self->out_info = info;
  return GST_FLOW_OK;
}

static void
gst_sf_fuse_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfFuse *self = GST_SF_FUSE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODE: self->mode = g_value_get_enum (value); break;
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
    case PROP_MODE: g_value_set_enum (value, self->mode); break;
    case PROP_SYNC_MODE: g_value_set_enum (value, self->sync_mode); break;
    case PROP_BASE_PAD: g_value_set_uint (value, self->base_pad); break;
    case PROP_MAX_LAG_MS: g_value_set_uint (value, self->max_lag_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_fuse_finalize (GObject *object)
{
  GstSfFuse *self = GST_SF_FUSE (object);

  gst_sf_fuse_clear_prompts (self);
  g_ptr_array_unref (self->pending);
  g_ptr_array_unref (self->pending_texts);
  g_ptr_array_unref (self->prompt_texts);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_fuse_class_init (GstSfFuseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  gobject_class->set_property = gst_sf_fuse_set_property;
  gobject_class->get_property = gst_sf_fuse_get_property;
  gobject_class->finalize = gst_sf_fuse_finalize;

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "How aligned buffers are fused: concat stacks the tensors of every "
          "sink_%u pad into one buffer; similarity scores each image "
          "embedding (image pad) against the prompt embeddings (text pad)",
          GST_TYPE_SF_FUSE_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_SYNC_MODE,
      g_param_spec_enum ("sync-mode", "Sync mode",
          "Which buffers of mode=concat go together, by running time: "
          "slowest (at the slowest stream's rate), basepad (one output per "
          "buffer of base-pad) or nosync (the next buffer of every pad)",
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
          "Drop an output of mode=concat when one of its buffers is further "
          "than this from the output time (0 = no limit)",
          0, G_MAXUINT, DEFAULT_MAX_LAG_MS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &sink_template, GST_TYPE_SF_FUSE_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &text_template, GST_TYPE_SF_FUSE_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &image_template, GST_TYPE_SF_FUSE_PAD);
  gst_element_class_set_static_metadata (element_class,
      "Streamformer tensor fusion", "Filter/Tensor",
      "Aligns tensor streams by running time and stacks them, or scores "
      "image embeddings against text prompts (CLIP zero-shot)",
      "Streamformer");

  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_sf_fuse_aggregate);
  agg_class->sink_event = GST_DEBUG_FUNCPTR (gst_sf_fuse_sink_event);
  agg_class->create_new_pad = GST_DEBUG_FUNCPTR (gst_sf_fuse_create_new_pad);
  agg_class->negotiate = GST_DEBUG_FUNCPTR (gst_sf_fuse_negotiate);
  agg_class->start = GST_DEBUG_FUNCPTR (gst_sf_fuse_start);
  agg_class->stop = GST_DEBUG_FUNCPTR (gst_sf_fuse_stop);
  agg_class->flush = GST_DEBUG_FUNCPTR (gst_sf_fuse_flush);
  agg_class->get_next_time = gst_aggregator_simple_get_next_time;

  gst_type_mark_as_plugin_api (GST_TYPE_SF_FUSE_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SF_FUSE_SYNC_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SF_FUSE_PAD, 0);
}

static void
gst_sf_fuse_init (GstSfFuse *self)
{
  self->mode = DEFAULT_MODE;
  self->sync_mode = DEFAULT_SYNC_MODE;
  self->base_pad = DEFAULT_BASE_PAD;
  self->max_lag_ms = DEFAULT_MAX_LAG_MS;
  self->round_time = GST_CLOCK_TIME_NONE;
  self->last_out = GST_CLOCK_TIME_NONE;
  self->pending =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  self->pending_texts = g_ptr_array_new_with_free_func (g_free);
  self->prompt_texts = g_ptr_array_new_with_free_func (g_free);
}
