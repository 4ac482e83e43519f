/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decoding throughput through elements that share one checkpoint:
 * sftranscriber (Whisper) or sftextgenerator (GPT-2, BART, T5). N
 * streams, each a GstHarness pushed from its own thread (as N pipelines'
 * streaming threads would), batch-size N against 1, all in one process
 * and one run.
 *
 *   decode-throughput MODEL [--generate] [--streams 1,2,4,8] [--windows K]
 *       [--tokens M] [--timeout-ms T] [--rounds R]
 *
 * Whisper (the default): the encoder runs once, untimed: sfaudioencoder
 * turns 8 windows of 30 s noise into encoder states; every configuration
 * then replays those buffers (stream s, window k gets window (s + k) mod
 * 8) into "sftranscriber max-new-tokens=M timestamps=false", so only
 * decoding is timed. --generate: the items are 8 short prompts, one line
 * a buffer, into "sftextgenerator max-new-tokens=M", greedy.
 *
 * For each N in --streams: batch-size 1, then batch-size N (with
 * batch-timeout-ms T), K items per stream; R rounds run every
 * configuration once each, and each configuration's fastest round
 * counts. The checkpoint should never end an item early (the bench
 * scripts keep its end token away), so every item decodes exactly M
 * tokens.
 *
 * Prints one JSON object per configuration: streams, batch, windows
 * (items), tokens, seconds, items_per_s (per second of wall time),
 * items_per_cpu_s (per second of this process's CPU time) and ms_per_step
 * (wall time over the M·K token steps each stream waits through: the
 * time of one decoder step when the batch is full). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "bench-clock.h"

#define N_WINDOWS 8
#define RATE 16000
#define WINDOW_SECONDS 30

static const char *const prompts[N_WINDOWS] = { "The weather today is",
  "Once upon a time there was", "The market opened higher after",
  "In the beginning the committee", "My favourite colour is",
  "The train to the city leaves", "Scientists have found that the",
  "After the long winter the village" };

typedef struct
{
  GstHarness *h;
  GstBuffer **windows; /* N_WINDOWS encoder outputs */
  guint stream, count;
  gboolean failed;
} Stream;

/* The encoder's outputs for N_WINDOWS windows of noise, and their caps. */
static GstBuffer **
encode_windows (const gchar *model, GstCaps **caps)
{
  g_autofree gchar *launch =
      g_strdup_printf ("sfaudioencoder model=\"%s\"", model);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBuffer **out = g_new0 (GstBuffer *, N_WINDOWS);
  GRand *rand = g_rand_new_with_seed (1);
  gsize n = (gsize)RATE * WINDOW_SECONDS;

  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  for (guint w = 0; w < N_WINDOWS; w++) {
    GstBuffer *b = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
    GstMapInfo map;

    gst_buffer_map (b, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < n; i++)
      ((float *)map.data)[i] = (float)g_rand_double_range (rand, -0.1, 0.1);
    gst_buffer_unmap (b, &map);
    GST_BUFFER_PTS (b) = (GstClockTime)w * WINDOW_SECONDS * GST_SECOND;
    if (gst_harness_push (h, b) != GST_FLOW_OK)
      g_error ("decode-throughput: the encoder failed");
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  for (guint w = 0; w < N_WINDOWS; w++)
    out[w] = gst_harness_pull (h);
  *caps = gst_pad_get_current_caps (h->sinkpad);
  g_rand_free (rand);
  gst_harness_teardown (h);
  return out;
}

/* N_WINDOWS prompts, a line each, and their caps. */
static GstBuffer **
prompt_buffers (GstCaps **caps)
{
  GstBuffer **out = g_new0 (GstBuffer *, N_WINDOWS);

  for (guint w = 0; w < N_WINDOWS; w++) {
    g_autofree gchar *line = g_strconcat (prompts[w], "\n", NULL);

    out[w] = gst_buffer_new_memdup (line, strlen (line));
  }
  *caps = gst_caps_from_string ("text/x-raw, format=(string)utf8");
  return out;
}

static gpointer
push_windows (gpointer data)
{
  Stream *st = data;

  for (guint k = 0; k < st->count && !st->failed; k++) {
    GstBuffer *b = gst_buffer_copy (st->windows[(st->stream + k) % N_WINDOWS]);

    GST_BUFFER_PTS (b) = (GstClockTime)k * WINDOW_SECONDS * GST_SECOND;
    GST_BUFFER_DURATION (b) = WINDOW_SECONDS * GST_SECOND;
    if (gst_harness_push (st->h, b) != GST_FLOW_OK)
      st->failed = TRUE;
    while (gst_harness_buffers_in_queue (st->h) > 0)
      gst_buffer_unref (gst_harness_pull (st->h));
  }
  return NULL;
}

/* One configuration: @n streams of @windows windows each; returns the
 * wall seconds and sets *@cpu to the CPU seconds. */
static double
run_config (GstBuffer **encoded, GstCaps *caps, const gchar *model, guint n,
    guint batch, guint timeout, guint windows, guint tokens, double *cpu)
{
  Stream *streams = g_new0 (Stream, n);
  GThread **threads = g_new (GThread *, n);
  gint64 began;
  double elapsed, cpu0;

  for (guint s = 0; s < n; s++) {
    g_autofree gchar *launch = model
        ? g_strdup_printf ("sftextgenerator model=\"%s\" num-beams=1 "
                           "do-sample=false max-new-tokens=%u batch-size=%u "
                           "batch-timeout-ms=%u",
            model, tokens, batch, timeout)
        : g_strdup_printf ("sftranscriber timestamps=false max-new-tokens=%u "
                           "batch-size=%u batch-timeout-ms=%u",
            tokens, batch, timeout);

    streams[s].h = gst_harness_new_parse (launch);
    gst_harness_set_src_caps (streams[s].h, gst_caps_ref (caps));
    streams[s].windows = encoded;
    streams[s].stream = s;
    streams[s].count = windows;
  }
  began = g_get_monotonic_time ();
  cpu0 = bench_cpu_seconds ();
  for (guint s = 0; s < n; s++)
    threads[s] = g_thread_new ("sf-stream", push_windows, &streams[s]);
  for (guint s = 0; s < n; s++)
    g_thread_join (threads[s]);
  elapsed = (g_get_monotonic_time () - began) / 1e6;
  *cpu = bench_cpu_seconds () - cpu0;
  for (guint s = 0; s < n; s++) {
    if (streams[s].failed)
      g_error ("decode-throughput: stream %u failed", s);
    gst_harness_teardown (streams[s].h);
  }
  g_free (threads);
  g_free (streams);
  return elapsed;
}

int
main (int argc, char **argv)
{
  gchar *streams_list = NULL;
  gint windows = 2, tokens = 32, timeout = 50, rounds = 1;
  gboolean generate = FALSE;
  GOptionEntry entries[] = {
    { "generate", 0, 0, G_OPTION_ARG_NONE, &generate,
        "text generation (sftextgenerator) instead of Whisper", NULL },
    { "streams", 0, 0, G_OPTION_ARG_STRING, &streams_list,
        "stream counts, comma-separated (default 1,2,4,8)", NULL },
    { "windows", 0, 0, G_OPTION_ARG_INT, &windows, "windows per stream", NULL },
    { "tokens", 0, 0, G_OPTION_ARG_INT, &tokens, "max-new-tokens", NULL },
    { "timeout-ms", 0, 0, G_OPTION_ARG_INT, &timeout,
        "batch-timeout-ms of the batched runs", NULL },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds,
        "runs of each configuration (the fastest counts)", NULL },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("MODEL");
  GError *error = NULL;
  g_auto (GStrv) counts = NULL;
  GstBuffer **encoded;
  GstCaps *caps;
  const gchar *model = NULL; /* text generation's checkpoint */
  double cpu, *best, *best_cpu;
  guint n_counts;

  gst_init (&argc, &argv);
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2
      || windows < 1 || tokens < 1 || rounds < 1 || timeout < 0) {
    fprintf (stderr,
        "usage: decode-throughput MODEL [--generate] [--streams "
        "1,2,4,8] [--windows K] [--tokens M] ...\n");
    return 2;
  }
  counts = g_strsplit (streams_list ? streams_list : "1,2,4,8", ",", -1);
  encoded = generate ? prompt_buffers (&caps) : encode_windows (argv[1], &caps);
  if (generate)
    model = argv[1];

  /* untimed: the decoder's first allocations */
  run_config (encoded, caps, model, 1, 1, 0, 1, tokens, &cpu);

  /* every configuration once per round, so that a burst of other load
   * hits batched and unbatched runs alike; the fastest round counts */
  n_counts = g_strv_length (counts);
  best = g_new (double, 2 * n_counts);
  best_cpu = g_new0 (double, 2 * n_counts);
  for (guint i = 0; i < 2 * n_counts; i++)
    best[i] = G_MAXDOUBLE;
  for (gint r = 0; r < rounds; r++)
    for (guint i = 0; i < n_counts; i++) {
      guint n = (guint)atoi (counts[i]);

      for (guint j = 0; j < (n > 1 ? 2u : 1u); j++) {
        double t = run_config (encoded, caps, model, n, j == 0 ? 1 : n,
            (guint)timeout, (guint)windows, (guint)tokens, &cpu);

        if (t < best[2 * i + j]) {
          best[2 * i + j] = t;
          best_cpu[2 * i + j] = cpu;
        }
      }
    }
  for (guint i = 0; i < n_counts; i++) {
    guint n = (guint)atoi (counts[i]);

    for (guint j = 0; j < (n > 1 ? 2u : 1u); j++) {
      double t = best[2 * i + j];

      printf ("{\"streams\": %u, \"batch\": %u, \"windows\": %u, "
              "\"tokens\": %d, \"seconds\": %.3f, \"items_per_s\": %.3f, "
              "\"items_per_cpu_s\": %.3f, \"ms_per_step\": %.2f}\n",
          n, j == 0 ? 1 : n, n * windows, tokens, t, n * windows / t,
          n * windows / best_cpu[2 * i + j], t * 1000.0 / (windows * tokens));
    }
  }
  g_free (best);
  g_free (best_cpu);
  for (guint w = 0; w < N_WINDOWS; w++)
    gst_buffer_unref (encoded[w]);
  gst_caps_unref (caps);
  return 0;
}
