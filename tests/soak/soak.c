/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Soak test: three live pipelines (video segmentation at 30 fps, keyword
 * spotting, one text line per 100 ms) in this one process, so that its
 * resident memory and open file descriptors measure all three together.
 * Samples VmRSS and the fd count every second into a CSV, then judges:
 * after the warm-up, the median RSS of the last window may exceed that of
 * the first window by less than --max-growth percent, and the fd count
 * must not change at all.
 *
 * Exit status: 0 PASS, 1 FAIL, 2 pipeline error or bad arguments.
 */
#include <gst/gst.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  double t;
  long rss_kib;
  int fds;
} Sample;

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *appsrc;
  GArray *samples;
  FILE *csv;
  gint64 start_us;
  int seconds;
  gboolean error;
  guint64 n_lines;
  gint video_frames, audio_results, text_results; /* atomics */
  guint64 qos_dropped;
  guint warnings;
} Soak;

static const char *const texts[] = {
  "I loved this movie, it was wonderful!",
  "The service was terrible and slow.",
  "Meeting moved to 3pm on Tuesday.",
  "naïve café résumé — déjà vu",
};

static long
read_rss_kib (void)
{
  FILE *f = fopen ("/proc/self/status", "r");
  char line[256];
  long kib = -1;

  if (!f)
    return -1;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose (f);
  return kib;
}

static int
count_fds (void)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *e;
  int n = 0;

  if (!d)
    return -1;
  while ((e = readdir (d)))
    if (e->d_name[0] != '.')
      n++;
  closedir (d);
  /* The directory stream itself holds one while we count. */
  return n - 1;
}

static gboolean
on_sample (gpointer data)
{
  Soak *s = data;
  Sample x;

  x.t = (g_get_monotonic_time () - s->start_us) / 1e6;
  x.rss_kib = read_rss_kib ();
  x.fds = count_fds ();
  g_array_append_val (s->samples, x);
  fprintf (s->csv, "%.1f,%ld,%d,%d,%d,%d\n", x.t, x.rss_kib, x.fds,
      g_atomic_int_get (&s->video_frames), g_atomic_int_get (&s->audio_results),
      g_atomic_int_get (&s->text_results));
  fflush (s->csv);
  if (x.t >= s->seconds) {
    g_main_loop_quit (s->loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* Live text: one line every 100 ms, timestamped by appsrc on arrival. */
static gboolean
on_text (gpointer data)
{
  Soak *s = data;
  gchar *line =
      g_strdup_printf ("%s\n", texts[s->n_lines++ % G_N_ELEMENTS (texts)]);
  GstBuffer *buf = gst_buffer_new_wrapped (line, strlen (line));
  GstFlowReturn ret;

  g_signal_emit_by_name (s->appsrc, "push-buffer", buf, &ret);
  gst_buffer_unref (buf);
  return ret == GST_FLOW_OK ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_handoff (GstElement *sink, GstBuffer *buf, GstPad *pad, gpointer counter)
{
  g_atomic_int_inc ((gint *)counter);
}

static gboolean
on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  Soak *s = data;
  GError *err = NULL;
  gchar *dbg = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("soak: error from %s: %s\n%s\n",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
          dbg ? dbg : "");
      s->error = TRUE;
      g_main_loop_quit (s->loop);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &err, &dbg);
      g_printerr ("soak: warning from %s: %s\n",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
      s->warnings++;
      break;
    case GST_MESSAGE_EOS:
      /* Live sources never end: an EOS means a branch stopped early. */
      g_printerr ("soak: unexpected end of stream\n");
      s->error = TRUE;
      g_main_loop_quit (s->loop);
      break;
    case GST_MESSAGE_QOS:
      /* Only the video sink posts QoS; its counters are cumulative. */
      gst_message_parse_qos_stats (msg, NULL, NULL, &s->qos_dropped);
      break;
    default: break;
  }
  g_clear_error (&err);
  g_free (dbg);
  return G_SOURCE_CONTINUE;
}

static int
cmp_long (const void *a, const void *b)
{
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

static double
median_rss (const Sample *v, guint n, double from, double to)
{
  long *r = g_new (long, n);
  guint k = 0;
  double m;

  for (guint i = 0; i < n; i++)
    if (v[i].t >= from && v[i].t < to)
      r[k++] = v[i].rss_kib;
  if (k == 0) {
    g_free (r);
    return NAN;
  }
  qsort (r, k, sizeof *r, cmp_long);
  m = k % 2 ? r[k / 2] : (r[k / 2 - 1] + r[k / 2]) / 2.0;
  g_free (r);
  return m;
}

int
main (int argc, char **argv)
{
  Soak s = { 0 };
  gint seconds = 600, warmup = -1, window = -1;
  gdouble max_growth = 2.0;
  gchar *csv = NULL, *video_model = NULL, *audio_model = NULL,
        *text_model = NULL;
  GOptionEntry entries[] = {
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Run time", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup,
        "Ignored start (default min(60, S/3))", "S" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window,
        "Median window at each end (default min(30, rest/3))", "S" },
    { "max-growth", 0, 0, G_OPTION_ARG_DOUBLE, &max_growth,
        "RSS growth limit in percent", "P" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Samples file", "FILE" },
    { "video-model", 0, 0, G_OPTION_ARG_FILENAME, &video_model,
        "SegFormer checkpoint", "DIR" },
    { "audio-model", 0, 0, G_OPTION_ARG_FILENAME, &audio_model,
        "Audio classification checkpoint", "DIR" },
    { "text-model", 0, 0, G_OPTION_ARG_FILENAME, &text_model,
        "Text classification checkpoint", "DIR" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("- soak three live pipelines");
  GError *err = NULL;
  gchar *desc;
  GstElement *sink;
  GstBus *bus;
  Sample *v;
  guint n, fd_min = G_MAXUINT, fd_max = 0;
  double rss_start, rss_end, growth, fps;
  gboolean pass;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || seconds < 3 || !csv
      || !video_model || !audio_model || !text_model) {
    g_printerr ("soak: %s\n",
        err ? err->message
            : "need --csv and the three --*-model "
              "options, and --seconds >= 3");
    return 2;
  }
  g_option_context_free (ctx);
  if (warmup < 0)
    warmup = MIN (60, seconds / 3);
  if (window <= 0)
    window = MAX (1, MIN (30, (seconds - warmup) / 3));

  desc = g_strdup_printf (
      "videotestsrc is-live=true pattern=ball"
      " ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert"
      " ! sfimageencoder model=\"%s\" ! sfsegmenter mode=overlay"
      " ! fakesink name=video sync=true qos=true signal-handoffs=true "
      "audiotestsrc is-live=true wave=pink-noise volume=0.3"
      " ! audioconvert ! audioresample"
      " ! sfaudioencoder model=\"%s\" window-ms=1000 hop-ms=250"
      " ! sfclassifier ! fakesink name=audio sync=true signal-handoffs=true "
      "appsrc name=text is-live=true format=time do-timestamp=true"
      " caps=text/x-raw,format=utf8"
      " ! sftextencoder model=\"%s\" split=lines ! sfclassifier"
      " ! fakesink name=textsink signal-handoffs=true",
      video_model, audio_model, text_model);
  s.pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (!s.pipeline) {
    g_printerr ("soak: %s\n", err->message);
    return 2;
  }
  s.csv = fopen (csv, "w");
  if (!s.csv) {
    g_printerr ("soak: cannot write %s\n", csv);
    return 2;
  }
  fprintf (s.csv, "t,rss_kib,fds,video_frames,audio_results,text_results\n");

  sink = gst_bin_get_by_name (GST_BIN (s.pipeline), "video");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &s.video_frames);
  gst_object_unref (sink);
  sink = gst_bin_get_by_name (GST_BIN (s.pipeline), "audio");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &s.audio_results);
  gst_object_unref (sink);
  sink = gst_bin_get_by_name (GST_BIN (s.pipeline), "textsink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), &s.text_results);
  gst_object_unref (sink);
  s.appsrc = gst_bin_get_by_name (GST_BIN (s.pipeline), "text");

  s.loop = g_main_loop_new (NULL, FALSE);
  s.samples = g_array_new (FALSE, FALSE, sizeof (Sample));
  s.seconds = seconds;
  bus = gst_element_get_bus (s.pipeline);
  gst_bus_add_watch (bus, on_bus, &s);

  if (gst_element_set_state (s.pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    g_printerr ("soak: the pipeline does not start\n");
    s.error = TRUE;
  } else {
    s.start_us = g_get_monotonic_time ();
    g_timeout_add (100, on_text, &s);
    g_timeout_add (1000, on_sample, &s);
    g_main_loop_run (s.loop);
  }
  gst_element_set_state (s.pipeline, GST_STATE_NULL);
  fclose (s.csv);

  v = (Sample *)s.samples->data;
  n = s.samples->len;
  for (guint i = 0; i < n; i++) {
    if (v[i].t < warmup)
      continue;
    fd_min = MIN (fd_min, (guint)v[i].fds);
    fd_max = MAX (fd_max, (guint)v[i].fds);
  }
  rss_start = median_rss (v, n, warmup, warmup + window);
  rss_end = median_rss (v, n, seconds - window, seconds + 1);
  growth = 100.0 * (rss_end - rss_start) / rss_start;
  fps = n ? g_atomic_int_get (&s.video_frames) / v[n - 1].t : 0;
  pass =
      !s.error && isfinite (growth) && growth < max_growth && fd_min == fd_max;

  g_print ("soak: %d s, warm-up %d s, %d s median windows\n", seconds, warmup,
      window);
  g_print ("soak: RSS %.1f MiB -> %.1f MiB (%+.2f%%, limit %.1f%%)\n",
      rss_start / 1024, rss_end / 1024, growth, max_growth);
  g_print ("soak: fds %u..%u after warm-up\n", fd_min, fd_max);
  g_print (
      "soak: video %d frames rendered (%.1f fps of 30), %" G_GUINT64_FORMAT
      " dropped by QoS; keyword windows %d; text lines %d of %" G_GUINT64_FORMAT
      " pushed; %u warnings\n",
      g_atomic_int_get (&s.video_frames), fps, s.qos_dropped,
      g_atomic_int_get (&s.audio_results), g_atomic_int_get (&s.text_results),
      s.n_lines, s.warnings);
  g_print ("%s\n", s.error ? "FAIL (pipeline error)" : pass ? "PASS" : "FAIL");

  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (s.appsrc);
  gst_object_unref (s.pipeline);
  g_main_loop_unref (s.loop);
  g_array_free (s.samples, TRUE);
  g_free (csv);
  g_free (video_model);
  g_free (audio_model);
  g_free (text_model);
  return s.error ? 2 : pass ? 0 : 1;
}
