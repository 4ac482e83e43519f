/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Items per second through sftextencoder or sfimageencoder elements that
 * share one model: N streams, each a GstHarness pushed from its own
 * thread (as N pipelines' streaming threads would), all in one process.
 *
 *   batch-throughput MODEL --kind text|image [--streams N] [--batch B]
 *       [--timeout-ms T] [--items K] [--lines FILE] [--per-buffer L]
 *
 * Text: stream s sends lines of FILE from line s·K on, L lines per buffer
 * (default 1). Image: 224x224 RGB noise frames. One untimed item per
 * stream first (the model loads once, through the model cache). Prints
 * one JSON object: streams, batch, items, seconds, items_per_s, and
 * items_per_cpu_s (per second of this process's CPU time, which a busy
 * shared machine hands out unevenly). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "bench-clock.h"

typedef struct
{
  GstHarness *h;
  gboolean image;
  gchar **lines; /* text: NULL-terminated */
  guint n_lines, first, items, per_buffer;
  gboolean failed;
} Stream;

static GstBuffer *
noise_frame (guint seed)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 224 * 224 * 3, NULL);
  GRand *rand = g_rand_new_with_seed (seed);
  GstMapInfo map;

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8)g_rand_int_range (rand, 0, 256);
  gst_buffer_unmap (buffer, &map);
  g_rand_free (rand);
  return buffer;
}

/* Pushes @count items from item @at on. */
static void
push_items (Stream *st, guint at, guint count)
{
  for (guint k = at; k < at + count && !st->failed;) {
    GstBuffer *buffer;

    if (st->image) {
      buffer = noise_frame (st->first + k);
      k++;
    } else {
      GString *text = g_string_new (NULL);

      for (guint j = 0; j < st->per_buffer && k < at + count; j++, k++)
        g_string_append_printf (
            text, "%s\n", st->lines[(st->first + k) % st->n_lines]);
      buffer = gst_buffer_new_wrapped (text->str, text->len);
      g_string_free (text, FALSE);
    }
    if (gst_harness_push (st->h, buffer) != GST_FLOW_OK)
      st->failed = TRUE;
  }
  /* drop the outputs as they come */
  while (gst_harness_buffers_in_queue (st->h) > 0)
    gst_buffer_unref (gst_harness_pull (st->h));
}

static gpointer
warm (gpointer data)
{
  push_items (data, 0, 1);
  return NULL;
}

static gpointer
timed (gpointer data)
{
  Stream *st = data;

  push_items (st, 1, st->items);
  return NULL;
}

static void
run_all (Stream *streams, guint n, GThreadFunc func)
{
  GThread **threads = g_new (GThread *, n);

  for (guint s = 0; s < n; s++)
    threads[s] = g_thread_new ("sf-stream", func, &streams[s]);
  for (guint s = 0; s < n; s++)
    g_thread_join (threads[s]);
  g_free (threads);
}

int
main (int argc, char **argv)
{
  gchar *kind = NULL, *lines_path = NULL;
  gint streams_n = 1, batch = 1, timeout = 0, items = 16, per_buffer = 1;
  GOptionEntry entries[] = {
    { "kind", 0, 0, G_OPTION_ARG_STRING, &kind, "text or image", NULL },
    { "streams", 0, 0, G_OPTION_ARG_INT, &streams_n, "streams", NULL },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "batch-size", NULL },
    { "timeout-ms", 0, 0, G_OPTION_ARG_INT, &timeout, "batch-timeout-ms",
        NULL },
    { "items", 0, 0, G_OPTION_ARG_INT, &items, "timed items per stream", NULL },
    { "lines", 0, 0, G_OPTION_ARG_FILENAME, &lines_path, "text lines", NULL },
    { "per-buffer", 0, 0, G_OPTION_ARG_INT, &per_buffer, "lines per buffer",
        NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("MODEL");
  GError *error = NULL;
  gchar *contents = NULL;
  gchar **lines = NULL;
  Stream *streams;
  gboolean image, failed = FALSE;
  gint64 began, elapsed;
  double cpu;
  gchar bs[16], to[16];

  gst_init (&argc, &argv);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || kind == NULL || streams_n < 1 || batch < 1 || items < 1
      || per_buffer < 1) {
    fprintf (stderr, "usage: batch-throughput MODEL --kind text|image ...\n");
    return 2;
  }
  image = strcmp (kind, "image") == 0;
  if (!image) {
    if (lines_path == NULL
        || !g_file_get_contents (lines_path, &contents, NULL, &error)) {
      fprintf (stderr, "batch-throughput: text needs --lines FILE\n");
      return 2;
    }
    g_strchomp (contents);
    lines = g_strsplit (contents, "\n", -1);
  }
  g_snprintf (bs, sizeof bs, "%d", batch);
  g_snprintf (to, sizeof to, "%d", timeout);

  streams = g_new0 (Stream, streams_n);
  for (gint s = 0; s < streams_n; s++) {
    GstElement *e = gst_element_factory_make (
        image ? "sfimageencoder" : "sftextencoder", NULL);

    if (e == NULL) {
      fprintf (stderr, "batch-throughput: the plugin is not found\n");
      return 1;
    }
    g_object_set (e, "model", argv[1], NULL);
    gst_util_set_object_arg (G_OBJECT (e), "batch-size", bs);
    gst_util_set_object_arg (G_OBJECT (e), "batch-timeout-ms", to);
    streams[s].h = gst_harness_new_with_element (e, "sink", "src");
    gst_object_unref (e);
    gst_harness_set_src_caps_str (streams[s].h,
        image ? "video/x-raw,format=RGB,width=224,height=224,framerate=30/1"
              : "text/x-raw,format=utf8");
    streams[s].image = image;
    streams[s].lines = lines;
    streams[s].n_lines = lines ? g_strv_length (lines) : 0;
    streams[s].first = (guint)s * (guint)(items + 1);
    streams[s].items = (guint)items;
    streams[s].per_buffer = (guint)per_buffer;
  }

  run_all (streams, streams_n, warm);
  began = g_get_monotonic_time ();
  cpu = bench_cpu_seconds ();
  run_all (streams, streams_n, timed);
  elapsed = g_get_monotonic_time () - began;
  cpu = bench_cpu_seconds () - cpu;

  for (gint s = 0; s < streams_n; s++) {
    failed = failed || streams[s].failed;
    gst_harness_teardown (streams[s].h);
  }
  printf ("{\"kind\": \"%s\", \"streams\": %d, \"batch\": %d, "
          "\"per_buffer\": %d, \"items\": %d, \"seconds\": %.3f, "
          "\"items_per_s\": %.2f, \"items_per_cpu_s\": %.2f}\n",
      kind, streams_n, batch, per_buffer, streams_n * items, elapsed / 1e6,
      streams_n * items / (elapsed / 1e6), streams_n * items / cpu);
  g_free (streams);
  g_strfreev (lines);
  g_free (contents);
  return failed ? 1 : 0;
}
