/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: the processing latency an element that runs a model
 * reports.
 *
 * Live pipelines schedule every frame for its running time plus the
 * latency the elements report. An element whose inference takes longer
 * than it says makes each buffer late at the sink, and QoS then drops
 * frames the machine could have shown. Each such element records how long
 * each buffer took (arrival to push) and answers latency queries with the
 * longest of the recent ones, with a quarter more as headroom, plus what
 * the element holds back by design (an audio window). When a buffer takes
 * longer than the reported value it posts a latency message, so the
 * pipeline asks again. The `latency-ms` property pins the value instead.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_SF_LATENCY_WINDOW 64

typedef struct
{
  GMutex lock;
  GstClockTime recent[GST_SF_LATENCY_WINDOW]; /* ring of processing times */
  guint n, next;
  GstClockTime reported; /* last answered; NONE before the first query */
  guint pinned_ms;       /* latency-ms; 0 = measure */
} GstSfLatency;

void gst_sf_latency_init (GstSfLatency *lat);
void gst_sf_latency_clear (GstSfLatency *lat);
/* Forgets the measurements (stop). */
void gst_sf_latency_reset (GstSfLatency *lat);

/* Installs `latency-ms` as @prop_id. */
void gst_sf_latency_install_property (GObjectClass *klass, guint prop_id);
void gst_sf_latency_set_pinned (GstSfLatency *lat, const GValue *value);
void gst_sf_latency_get_pinned (GstSfLatency *lat, GValue *value);

/* Records that one buffer took @took to process; when that exceeds what
 * the element last reported, posts a latency message from @element. */
void gst_sf_latency_record (
    GstSfLatency *lat, GstElement *element, GstClockTime took);

/* The latency to report: the pinned value, else the longest recent
 * processing time with headroom; @held is added either way (time the
 * element holds data back by design). Remembers it as reported. */
GstClockTime gst_sf_latency_current (GstSfLatency *lat, GstClockTime held);

/* Adds the element's latency to an answered LATENCY query (the upstream
 * part, from the default handler). TRUE when the query is live. */
gboolean gst_sf_latency_add_to_query (
    GstSfLatency *lat, GstElement *element, GstQuery *query, GstClockTime held);

G_END_DECLS
