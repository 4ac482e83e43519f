/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: the glue every element shares.
 *
 * Private to the plugin. Elements are GStreamer glue only: what a
 * checkpoint does is decided by the task layer (graphs/task.h). What is
 * left in common lives here, once:
 *
 *  - the `model` property, and loading a model with the task the element
 *    runs, with one element error when the model cannot do it;
 *  - an output pad whose caps the element makes itself, with the segment
 *    held back until the first caps (byte segments become time segments);
 *  - posting a result as an element message and a GstSfResultMeta.
 */
#pragma once

#include <gst/gst.h>

#include "graphs/task.h"
#include "gstsftensors.h"

G_BEGIN_DECLS

/* Installs the `model` property (a checkpoint folder) as @prop_id, its
 * blurb naming the checkpoints the element runs (@what). */
void gst_sf_element_install_model_property (
    GObjectClass *klass, guint prop_id, const gchar *what);

/* The enum type of the `precision` property: SfPrecision's values. */
#define GST_TYPE_SF_PRECISION (gst_sf_precision_get_type ())
GType gst_sf_precision_get_type (void);
#define GST_SF_DEFAULT_PRECISION SF_PRECISION_F32

/* Installs the `precision` property (f32, bf16, int8) as @prop_id. */
void gst_sf_element_install_precision_property (
    GObjectClass *klass, guint prop_id);

/* (transfer full) the task of the model in folder @path at @precision
 * (gst_sf_model_load ()) for @options,
 * or NULL after posting one element error: the model did not load, or it
 * cannot run here (the message names the folder, the model's
 * architecture, and what the element runs: @needs). */
SfTask *gst_sf_element_load_task (GstElement *element, const gchar *path,
    SfPrecision precision, const SfTaskOptions *options, const gchar *needs);

/* The same for a model already loaded (the one a buffer's meta names):
 * the message names the model's folder. */
SfTask *gst_sf_element_task_for_model (GstElement *element, SfModel *model,
    const SfTaskOptions *options, const gchar *needs);

/* (transfer full) the element's current task, read under its object lock
 * from *@slot; NULL when stopped. Threads other than the streaming thread
 * (caps queries) hold this reference while they use the task. */
SfTask *gst_sf_element_get_task (GstElement *element, SfTask **slot);
/* Swaps *@slot for @task (transfer full, nullable) under the object lock. */
void gst_sf_element_set_task (GstElement *element, SfTask **slot, SfTask *task);

/* ---- a source pad whose caps the element makes ---- */

typedef struct
{
  GstPad *pad;
  GstCaps *caps;     /* last pushed; NULL before the first */
  GstEvent *segment; /* waiting for the first caps */
} GstSfSrc;

void gst_sf_src_init (GstSfSrc *src, GstPad *pad);
/* Forgets the caps and any held segment (stop, flush). */
void gst_sf_src_reset (GstSfSrc *src);
/* Takes @event (a SEGMENT): held until caps are pushed, else pushed now.
 * A segment in another format becomes a time segment, since outputs carry
 * timestamps. */
gboolean gst_sf_src_set_segment (GstSfSrc *src, GstEvent *event);
/* Pushes @caps (transfer none) if they differ from the last, then a held
 * segment. FALSE when downstream refused the caps. */
gboolean gst_sf_src_push_caps (GstSfSrc *src, GstCaps *caps);
/* The same for other/tensors caps made from @info. */
gboolean gst_sf_src_push_tensors (GstSfSrc *src, const GstSfTensorsInfo *info);
/* Forwards @event (an EOS, transfer full) after the element's last output,
 * whose flow was @ret, and returns the flow upstream should see: a
 * flushing stream drops the EOS, and a refused EOS is an error. */
GstFlowReturn gst_sf_src_push_eos (
    GstSfSrc *src, GstEvent *event, GstFlowReturn ret);
/* Why caps could not be pushed: FLUSHING while the pad shuts down (a state
 * change or a flush raced the push), which is no error; NOT_NEGOTIATED
 * when downstream refused them. */
GstFlowReturn gst_sf_src_caps_failure (const GstSfSrc *src);
/* TRUE once caps went out. */
gboolean gst_sf_src_has_caps (const GstSfSrc *src);

/* Answers a CAPS @query with @caps (transfer full) cut to its filter. */
gboolean gst_sf_element_answer_caps (GstQuery *query, GstCaps *caps);

/* Answers a CAPS @query on the pad: its current caps, else @fixed
 * (nullable: the caps the element will push), else the template. */
gboolean gst_sf_src_query_caps (GstSfSrc *src, GstQuery *query, GstCaps *fixed);

/* Fills a one-tensor @info with F32 @shape (outermost first). */
gboolean gst_sf_tensors_info_set_f32 (
    GstSfTensorsInfo *info, const SfShape *shape);

/* Adds @launch, a gst-launch-1.0 line using the element, to its metadata:
 * gst-inspect-1.0 shows it as "Example". */
void gst_sf_element_class_set_example (
    GstElementClass *klass, const gchar *launch);

/* Adds the element message the element posts to its metadata, shown by
 * gst-inspect-1.0 as "message": structure @name, its own @fields (name
 * and type of each), then the fields every result has (stream-id, source,
 * json). */
void gst_sf_element_class_set_message (
    GstElementClass *klass, const gchar *name, const gchar *fields);

/* ---- results ---- */

/* Posts @result (transfer full) as an element message from @element and
 * attaches it to @buffer as a GstSfResultMeta. Unless it has them already,
 * the result gets the stream's identity first (gst_sf_element_set_stream).
 * The message's structure is the result plus "json" (string): the whole
 * result as the JSON object sfjsonsink writes (gst_sf_json_format_result),
 * for applications without GstValueArray bindings. */

/* Sets "stream-id" (string, NULL without a stream-start) and "source"
 * (string) in @result, for the stream @element's output is in: the
 * stream-start last pushed from its source pad (else its sink pad's).
 * The source is the name of the element the stream comes from: walking
 * upstream from the sink pad through each element's single input, and at
 * an element with several inputs (funnel) through the one whose
 * stream-start carries the same stream id, the last element reached, e.g.
 * the audiotestsrc or filesrc (through decoders and demuxers), or a
 * many-input element none of whose inputs carries the id. Stable as long
 * as the elements keep their names: name the sources in the pipeline. */
void gst_sf_element_set_stream (GstElement *element, GstStructure *result);
void gst_sf_element_post_result (
    GstElement *element, GstBuffer *buffer, GstStructure *result);

/* The GEnum of SfPooling ("auto", "none", "cls", "mean") for element
 * properties. */
#define GST_TYPE_SF_POOLING (gst_sf_pooling_get_type ())
GType gst_sf_pooling_get_type (void);

/* (transfer full) the name of label @index: the model's id2label entry
 * (sf_model_label), or "LABEL_<index>" without a model or past its
 * labels. */
gchar *gst_sf_label_dup (const SfModel *model, guint index);

G_END_DECLS
