/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: cutting a text stream into texts (gstsftextlines.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftextlines.h"

static void
item_clear (gpointer data)
{
  g_free (((GstSfTextItem *)data)->text);
}

GArray *
gst_sf_text_items_new (void)
{
  GArray *items = g_array_new (FALSE, FALSE, sizeof (GstSfTextItem));

  g_array_set_clear_func (items, item_clear);
  return items;
}

/* (transfer full) @len bytes as valid UTF-8, or NULL when blank. */
static gchar *
clean (const gchar *data, gsize len, gboolean *replaced)
{
  gchar *text, *p;

  if (len > 0 && data[len - 1] == '\r')
    len--;
  if (!g_utf8_validate_len (data, len, NULL)) {
    gchar *tmp = g_memdup2 (data, len);

    /* 0xFF never occurs in UTF-8, so make_valid replaces it too. */
    for (gsize i = 0; i < len; i++) {
      if (tmp[i] == '\0')
        tmp[i] = (gchar)0xff;
    }
    text = g_utf8_make_valid (tmp, len);
    g_free (tmp);
    *replaced = TRUE;
  } else {
    text = g_strndup (data, len);
  }
  for (p = text; *p != '\0'; p++) {
    if (!g_ascii_isspace (*p))
      return text;
  }
  g_free (text);
  return NULL;
}

void
gst_sf_text_items_add (GArray *items, const gchar *data, gsize len,
    GstClockTime pts, GstClockTime duration, gboolean *replaced)
{
  GstSfTextItem item;

  item.text = clean (data, len, replaced);
  if (item.text == NULL)
    return; /* empty lines are no texts */
  item.pts = pts;
  item.duration = duration;
  g_array_append_val (items, item);
}

void
gst_sf_line_splitter_init (GstSfLineSplitter *lines, gsize max_bytes)
{
  lines->pending = g_string_new (NULL);
  lines->max_bytes = MAX (max_bytes, 4); /* room for one UTF-8 character */
  gst_sf_line_splitter_reset (lines);
}

void
gst_sf_line_splitter_clear (GstSfLineSplitter *lines)
{
  g_string_free (lines->pending, TRUE);
  lines->pending = NULL;
}

void
gst_sf_line_splitter_reset (GstSfLineSplitter *lines)
{
  g_string_truncate (lines->pending, 0);
  lines->scanned = 0;
  lines->pending_pts = GST_CLOCK_TIME_NONE;
  lines->replaced = FALSE;
  lines->n_cut = 0;
}

/* Where to cut a line of more than max_bytes from @start: at max_bytes,
 * moved back to the start of a UTF-8 character. */
static gsize
cut_length (const GstSfLineSplitter *lines, gsize start)
{
  const guchar *p = (const guchar *)lines->pending->str + start;
  gsize n = lines->max_bytes;

  while (n > lines->max_bytes - 3 && (p[n] & 0xc0) == 0x80)
    n--;
  return n;
}

void
gst_sf_line_splitter_push (GstSfLineSplitter *lines, const gchar *data,
    gsize len, GstClockTime pts, GArray *items)
{
  GString *s = lines->pending;
  gsize start = 0;

  if (s->len == 0)
    lines->pending_pts = pts;
  g_string_append_len (s, data, len);

  for (;;) {
    /* A line of max_bytes may still end with the byte after it. */
    gsize limit = MIN (s->len, start + lines->max_bytes + 1);
    const gchar *nl = lines->scanned < limit
        ? memchr (s->str + lines->scanned, '\n', limit - lines->scanned)
        : NULL;
    gsize n;

    if (nl != NULL) {
      n = (gsize)(nl - (s->str + start));
      gst_sf_text_items_add (items, s->str + start, n, lines->pending_pts,
          GST_CLOCK_TIME_NONE, &lines->replaced);
      start += n + 1;
    } else if (s->len - start > lines->max_bytes) {
      n = cut_length (lines, start);
      gst_sf_text_items_add (items, s->str + start, n, lines->pending_pts,
          GST_CLOCK_TIME_NONE, &lines->replaced);
      start += n;
      lines->n_cut++;
    } else {
      lines->scanned = s->len;
      break;
    }
    lines->scanned = start;
    /* The next line begins in the buffer being read. */
    lines->pending_pts = pts;
  }
  /* Only the unfinished line moves: at most max_bytes plus this buffer. */
  if (start > 0) {
    g_string_erase (s, 0, start);
    lines->scanned -= start;
  }
}

void
gst_sf_line_splitter_finish (GstSfLineSplitter *lines, GArray *items)
{
  if (lines->pending->len > 0)
    gst_sf_text_items_add (items, lines->pending->str, lines->pending->len,
        lines->pending_pts, GST_CLOCK_TIME_NONE, &lines->replaced);
  g_string_truncate (lines->pending, 0);
  lines->scanned = 0;
}

gboolean
gst_sf_line_splitter_take (GstSfLineSplitter *lines, GstSfTextSplit split,
    GstBuffer *buffer, GArray *items)
{
  GstMapInfo map;
  gsize len;

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    gst_buffer_unref (buffer);
    return FALSE;
  }
  len = map.size;
  if (split == GST_SF_TEXT_SPLIT_BUFFER) {
    /* One text per buffer; a final line break is not part of it. */
    if (len > 0 && map.data[len - 1] == '\n')
      len--;
    gst_sf_text_items_add (items, (const gchar *)map.data, len,
        GST_BUFFER_PTS (buffer), GST_BUFFER_DURATION (buffer),
        &lines->replaced);
  } else {
    gst_sf_line_splitter_push (
        lines, (const gchar *)map.data, len, GST_BUFFER_PTS (buffer), items);
  }
  gst_buffer_unmap (buffer, &map);
  gst_buffer_unref (buffer);
  return TRUE;
}

void
gst_sf_text_clock_reset (GstSfTextClock *clock)
{
  clock->last_pts = GST_CLOCK_TIME_NONE;
  clock->n_texts = 0;
}

void
gst_sf_text_clock_stamp (
    GstSfTextClock *clock, const GstSfTextItem *item, GstBuffer *buffer)
{
  GstClockTime pts = item->pts, duration = item->duration;

  if (!GST_CLOCK_TIME_IS_VALID (pts)) {
    pts = clock->n_texts * GST_SECOND;
    duration = GST_SECOND;
  }
  if (GST_CLOCK_TIME_IS_VALID (clock->last_pts) && pts <= clock->last_pts)
    pts = clock->last_pts + 1;
  clock->last_pts = pts;
  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DURATION (buffer) = duration;
  GST_BUFFER_OFFSET (buffer) = clock->n_texts++;
}

GType
gst_sf_text_split_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_TEXT_SPLIT_LINES,
        "Each complete line is one text; input is accumulated across buffers",
        "lines" },
    { GST_SF_TEXT_SPLIT_BUFFER, "Each buffer is one text", "buffer" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfTextSplit", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* A stream's unfinished line while another stream is current. */
typedef struct
{
  GstSfLineSplitter lines;
  GstEvent *start;
} ParkedLines;

static void
parked_lines_free (gpointer data)
{
  ParkedLines *parked = data;

  gst_sf_line_splitter_clear (&parked->lines);
  gst_clear_event (&parked->start);
  g_free (parked);
}

void
gst_sf_line_streams_init (GstSfLineStreams *streams)
{
  streams->stream_id = NULL;
  streams->start = NULL;
  streams->parked = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, parked_lines_free);
}

void
gst_sf_line_streams_reset (GstSfLineStreams *streams)
{
  g_hash_table_remove_all (streams->parked);
  g_clear_pointer (&streams->stream_id, g_free);
  gst_clear_event (&streams->start);
}

void
gst_sf_line_streams_clear (GstSfLineStreams *streams)
{
  gst_sf_line_streams_reset (streams);
  g_clear_pointer (&streams->parked, g_hash_table_unref);
}

void
gst_sf_line_streams_switch (
    GstSfLineStreams *streams, GstSfLineSplitter *lines, GstEvent *event)
{
  const gchar *id = NULL;
  gpointer key, value;

  gst_event_parse_stream_start (event, &id);
  if (id == NULL)
    id = "";
  if (g_strcmp0 (id, streams->stream_id) != 0) {
    if (streams->stream_id != NULL && lines->pending->len > 0) {
      ParkedLines *parked = g_new0 (ParkedLines, 1);

      parked->lines = *lines; /* takes its buffer */
      parked->start = g_steal_pointer (&streams->start);
      g_hash_table_replace (
          streams->parked, g_strdup (streams->stream_id), parked);
      gst_sf_line_splitter_init (lines, lines->max_bytes);
    } else {
      gst_sf_line_splitter_reset (lines);
    }
    if (g_hash_table_steal_extended (streams->parked, id, &key, &value)) {
      ParkedLines *parked = value;

      gst_sf_line_splitter_clear (lines);
      *lines = parked->lines;
      gst_clear_event (&parked->start);
      g_free (parked);
      g_free (key);
    }
    g_free (streams->stream_id);
    streams->stream_id = g_strdup (id);
  }
  gst_event_replace (&streams->start, event);
}

gboolean
gst_sf_line_streams_finish_next (
    GstSfLineStreams *streams, GArray *items, GstEvent **start)
{
  GHashTableIter iter;
  gpointer key, value;
  ParkedLines *parked;

  g_hash_table_iter_init (&iter, streams->parked);
  if (!g_hash_table_iter_next (&iter, &key, &value))
    return FALSE;
  parked = value;
  gst_sf_line_splitter_finish (&parked->lines, items);
  *start = g_steal_pointer (&parked->start);
  g_hash_table_iter_remove (&iter);
  return TRUE;
}

GstFlowReturn
gst_sf_line_streams_finish_all (GstSfLineStreams *streams, GArray *items,
    GstPad *srcpad, GstSfLinesProcess process, gpointer element)
{
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean any = FALSE;
  GstEvent *start;

  while (ret == GST_FLOW_OK
      && gst_sf_line_streams_finish_next (streams, items, &start)) {
    if (start != NULL)
      gst_pad_push_event (srcpad, start);
    ret = process (element, items);
    any = TRUE;
  }
  if (any && streams->start != NULL)
    gst_pad_push_event (srcpad, gst_event_ref (streams->start));
  return ret;
}
