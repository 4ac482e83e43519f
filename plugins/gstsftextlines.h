/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: cutting a text stream into texts for sftextencoder.
 *
 * Private to the plugin. Bytes arrive in buffers of any size; lines end at
 * "\n" and may span buffers. The scan is linear: each byte is searched for
 * a newline once, however the stream is cut. A line longer than
 * GST_SF_TEXT_MAX_LINE_BYTES is cut there (at a UTF-8 boundary) and the
 * rest continues as the next text, so that a stream without newlines
 * neither grows without bound nor is tokenised as one huge text.
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* The split property of sftextencoder. */
typedef enum
{
  GST_SF_TEXT_SPLIT_LINES,
  GST_SF_TEXT_SPLIT_BUFFER,
} GstSfTextSplit;

#define GST_TYPE_SF_TEXT_SPLIT (gst_sf_text_split_get_type ())
GType gst_sf_text_split_get_type (void);

/* The longest line, in bytes, taken as one text: far more than any
 * encoder's token limit needs (512 tokens are a few KiB of text). */
#define GST_SF_TEXT_MAX_LINE_BYTES (1024 * 1024)

/* One text waiting for the encoder. */
typedef struct
{
  gchar *text; /* valid UTF-8, not blank */
  GstClockTime pts;
  GstClockTime duration;
} GstSfTextItem;

typedef struct
{
  GString *pending;         /* bytes of a line not yet ended */
  gsize scanned;            /* of pending, searched for "\n" already */
  GstClockTime pending_pts; /* of the buffer in which the line began */
  gsize max_bytes;
  gboolean replaced; /* invalid UTF-8 or NUL bytes were replaced */
  guint n_cut;       /* lines cut at max_bytes */
} GstSfLineSplitter;

void gst_sf_line_splitter_init (GstSfLineSplitter *lines, gsize max_bytes);
void gst_sf_line_splitter_clear (GstSfLineSplitter *lines);
/* Drops pending bytes and counters (flush, a new stream). */
void gst_sf_line_splitter_reset (GstSfLineSplitter *lines);

/* Appends @len bytes of a buffer stamped @pts and moves each line that is
 * now complete to @items (GstSfTextItem). */
void gst_sf_line_splitter_push (GstSfLineSplitter *lines, const gchar *data,
    gsize len, GstClockTime pts, GArray *items);
/* At the end of the stream the rest counts as a line too. */
void gst_sf_line_splitter_finish (GstSfLineSplitter *lines, GArray *items);

/* Appends @len bytes as one text unless blank; invalid UTF-8 and NUL bytes
 * become U+FFFD (setting *@replaced) and a final "\r" is dropped. */
void gst_sf_text_items_add (GArray *items, const gchar *data, gsize len,
    GstClockTime pts, GstClockTime duration, gboolean *replaced);
/* (transfer full) an empty array of GstSfTextItem that frees its texts. */
GArray *gst_sf_text_items_new (void);

/* Takes the texts of @buffer (transfer full) into @items: the whole
 * buffer as one text (its pts and duration), or the lines it completes.
 * FALSE when it cannot be mapped. */
gboolean gst_sf_line_splitter_take (GstSfLineSplitter *lines,
    GstSfTextSplit split, GstBuffer *buffer, GArray *items);

/* The streams a funnel interleaves, each announced by its stream-start:
 * the element's splitter holds the current stream's unfinished line, the
 * others wait here, parked by stream id, so that a line never continues in
 * another stream's text (sftextencoder, sftextgenerator). */
typedef struct
{
  gchar *stream_id;   /* the current stream's; NULL before one */
  GstEvent *start;    /* its stream-start */
  GHashTable *parked; /* stream id -> its splitter and stream-start */
} GstSfLineStreams;

void gst_sf_line_streams_init (GstSfLineStreams *streams);
void gst_sf_line_streams_clear (GstSfLineStreams *streams);
/* Forgets every stream (flush, stop). */
void gst_sf_line_streams_reset (GstSfLineStreams *streams);
/* At stream-start @event (transfer none): parks the line in @lines of the
 * stream before, if unfinished, and puts that stream's own in @lines. */
void gst_sf_line_streams_switch (
    GstSfLineStreams *streams, GstSfLineSplitter *lines, GstEvent *event);
/* At EOS: moves the last line of one parked stream into @items and gives
 * its stream-start (transfer full, nullable) in *@start, to be pushed
 * before its output; FALSE when none is left. */
gboolean gst_sf_line_streams_finish_next (
    GstSfLineStreams *streams, GArray *items, GstEvent **start);
/* Runs @process on the items of a batch; empties the array. */
typedef GstFlowReturn (*GstSfLinesProcess) (gpointer element, GArray *items);
/* At EOS: the last line of every parked stream through @process, each
 * after its stream-start pushed on @srcpad, then the current stream's
 * stream-start again; stops at the first flow return other than OK. */
GstFlowReturn gst_sf_line_streams_finish_all (GstSfLineStreams *streams,
    GArray *items, GstPad *srcpad, GstSfLinesProcess process, gpointer element);

/* Output timestamps (see sftextencoder's documentation). */
typedef struct
{
  GstClockTime last_pts;
  guint64 n_texts;
} GstSfTextClock;

void gst_sf_text_clock_reset (GstSfTextClock *clock);
/* Stamps @buffer, the output of @item: its pts, or the text count in
 * seconds without one, always after the last; its offset is the count. */
void gst_sf_text_clock_stamp (
    GstSfTextClock *clock, const GstSfTextItem *item, GstBuffer *buffer);

G_END_DECLS
