/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A live 1080p60 source, faster than segmentation can follow, built as a
 * user would: leaky queues in front of and behind the model, a sink that
 * syncs and sends QoS. For SF_OVERLOAD_SECONDS (default 4) it must:
 *  - shed load: fewer frames at the sink than the source was due to make
 *    (the leaky queue drops stale frames, sfimageencoder what QoS says is
 *    late; both counts are logged);
 *  - keep each buffer's latency at the sink (running time of arrival minus
 *    the buffer's running time) bounded;
 *  - keep every queue within its limits;
 *  - keep the live heap flat over the second half of the run (less than two
 *    frames of growth). */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <gst/gst.h>

#include "sftest-flow.h"
#include "sftest.h"

#define QUEUE_MAX 4
/* In front of the model: a frame waits at most this many inferences, and
 * the newest frames are kept, which is what bounds the latency. */
#define QUEUE_IN_MAX 2
#define WARM_UP_FRAMES 8
/* one RGB 1080p frame, the largest buffer in flight */
#define FRAME_KB (1920 * 1080 * 3 / 1024)

#if defined(__SANITIZE_ADDRESS__)
#define SF_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SF_TEST_ASAN 1
#endif
#endif

#ifdef SF_TEST_ASAN
/* from the sanitizer runtime; not every compiler ships its header */
extern size_t __sanitizer_get_current_allocated_bytes (void);
#endif

/* Memory this process holds, in kB: the live heap where the allocator
 * reports it, else VmRSS. RSS alone swings by a few frames without any
 * leak: glibc raises its mmap threshold after the first large free, so
 * later frames come from arenas it trims only at their top, and ASan
 * keeps freed blocks in a quarantine of up to 256 MB. */
static guint64
mem_kb (void)
{
#ifdef SF_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes () / 1024;
#elif defined(__GLIBC__) && __GLIBC_PREREQ(2, 33)
  struct mallinfo2 mi = mallinfo2 ();

  return (guint64)(mi.uordblks + mi.hblkhd) / 1024;
#else
  gchar *status = NULL, *line;
  guint64 kb = 0;

  g_assert_true (
      g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  kb = g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
  g_free (status);
  return kb;
#endif
}

static guint
queue_level (GstElement *pipeline, const gchar *name)
{
  GstElement *q = gst_bin_get_by_name (GST_BIN (pipeline), name);
  guint level = 0;

  g_object_get (q, "current-level-buffers", &level, NULL);
  gst_object_unref (q);
  return level;
}

static void
test_overload (void)
{
  const gchar *env = g_getenv ("SF_OVERLOAD_SECONDS");
  double seconds = env ? g_ascii_strtod (env, NULL) : 0;
  g_autofree gchar *model = g_build_filename (g_getenv ("SF_SOURCE_DIR"),
      "samples", "models", "shapes-segformer", NULL);
  g_autofree gchar *desc = g_strdup_printf (
      "videotestsrc is-live=true "
      "! video/x-raw,width=1920,height=1080,framerate=60/1 "
      "! queue name=qin leaky=downstream max-size-buffers=%d "
      "max-size-bytes=0 "
      "max-size-time=0 ! videoconvert "
      "! sfimageencoder name=enc model=\"%s\" ! sfsegmenter mode=overlay "
      "! queue name=qout leaky=downstream max-size-buffers=%d "
      "max-size-bytes=0 max-size-time=0 "
      "! fakesink name=out sync=true qos=true",
      QUEUE_IN_MAX, model, QUEUE_MAX);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstBus *bus;
  SfTestFlow c;
  guint n_qos = 0, max_in = 0, max_level = 0;
  guint64 dropped = 0, mem_q3 = G_MAXUINT64, mem_q4 = G_MAXUINT64;
  gint64 start, q3, q4, end;
  GstClockTime min_latency = 0, bound;
  gboolean live = FALSE;

  if (seconds <= 0)
    seconds = 4;
  g_assert_no_error (error);
  sftest_flow_watch (&c, pipeline, "enc", "out");
  bus = gst_element_get_bus (pipeline);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);

  /* the buffer pools and queues fill during the first frames: memory is
   * compared once they have, over the second half of the run after them.
   * How many frames are in flight varies from sample to sample, so each
   * quarter is represented by its lowest sample. */
  start = g_get_monotonic_time ();
  while (g_atomic_int_get (&c.out) < WARM_UP_FRAMES) {
    GstMessage *msg = gst_bus_timed_pop_filtered (
        bus, 20 * GST_MSECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);

    g_assert_null (msg);
    /* a guard against a hang, not a timing check */
    g_assert_cmpint (g_get_monotonic_time () - start, <, 120 * G_USEC_PER_SEC);
  }
  start = g_get_monotonic_time ();
  q3 = start + (gint64)(seconds * 0.5e6);
  q4 = start + (gint64)(seconds * 0.75e6);
  end = start + (gint64)(seconds * 1e6);
  while (g_get_monotonic_time () < end) {
    GstMessage *msg = gst_bus_timed_pop (bus, 20 * GST_MSECOND);
    gint64 now;

    max_in = MAX (max_in, queue_level (pipeline, "qin"));
    max_level = MAX (max_level, queue_level (pipeline, "qout"));
    now = g_get_monotonic_time ();
    if (now >= q4)
      mem_q4 = MIN (mem_q4, mem_kb ());
    else if (now >= q3)
      mem_q3 = MIN (mem_q3, mem_kb ());
    if (msg == NULL)
      continue;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR: {
        gchar *dbg = NULL;

        gst_message_parse_error (msg, &error, &dbg);
        g_test_message ("error: %s (%s)", error->message, dbg);
        g_free (dbg);
        g_assert_no_error (error);
        break;
      }
      case GST_MESSAGE_EOS: g_assert_not_reached (); break;
      case GST_MESSAGE_QOS:
        if (g_str_equal (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "enc")) {
          guint64 processed, d;

          gst_message_parse_qos_stats (msg, NULL, &processed, &d);
          dropped = MAX (dropped, d);
        }
        n_qos++;
        break;
      default: break;
    }
    gst_message_unref (msg);
  }
  live = sftest_pipeline_latency (pipeline, &min_latency);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);

  g_test_message ("%.1f s after %d frames: %d frames due from the source, "
                  "%d into sfimageencoder, %d at the sink, "
                  "%u QoS messages, %" G_GUINT64_FORMAT " dropped by "
                  "sfimageencoder",
      seconds, WARM_UP_FRAMES, (int)(seconds * 60), c.in, c.out, n_qos,
      dropped);
  g_test_message ("pipeline latency %" GST_TIME_FORMAT ", max buffer "
                  "latency at the sink %" GST_TIME_FORMAT,
      GST_TIME_ARGS (min_latency), GST_TIME_ARGS (c.max_latency));
  g_test_message (
      "queue levels at most %u / %d and %u / %d; memory %" G_GUINT64_FORMAT
      " kB in the third quarter, %" G_GUINT64_FORMAT " kB in the last",
      max_in, QUEUE_IN_MAX, max_level, QUEUE_MAX, mem_q3, mem_q4);

  g_assert_true (live);
  g_assert_cmpint (c.out, >, 0);
  /* overloaded: frames were dropped on the way; which element dropped
   * them depends on where the time goes */
  g_assert_cmpint (c.out, <=, c.in);
  g_assert_cmpfloat (c.out, <, (seconds * 60 + WARM_UP_FRAMES) * 0.9);
  /* generous: a few frames of queueing plus one inference behind the
   * latency the pipeline reports */
  bound = min_latency + 2 * GST_SECOND;
  g_assert_true (GST_CLOCK_TIME_IS_VALID (c.max_latency));
  g_assert_cmpuint (c.max_latency, <, bound);
  g_assert_cmpuint (max_in, <=, QUEUE_IN_MAX);
  g_assert_cmpuint (max_level, <=, QUEUE_MAX);
  g_assert_cmpuint (mem_q3, <, G_MAXUINT64);
  g_assert_cmpuint (mem_q4, <, G_MAXUINT64);
  /* a frame or two more at rest is not growth (the queue behind the model
   * fills as the reported latency grows); a leak of one frame per
   * inference would be several a quarter */
  g_assert_cmpuint (mem_q4, <, mem_q3 + 2 * FRAME_KB);

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  sftest_flow_clear (&c);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugins/overload/live-1080p60", test_overload);
  return g_test_run ();
}
