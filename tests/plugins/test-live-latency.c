/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A live 1080p camera at a frame rate this machine sustains, segmented with
 * an overlay, into a sink that syncs, drops what is more than 20 ms late
 * and sends QoS, as video sinks do. The model elements report the latency
 * they measure, so once the first frames have shown it:
 *  - no frame is lost to lateness (none dropped by QoS in sfimageencoder,
 *    none at the sink);
 *  - the latency the pipeline reports covers how late buffers really
 *    arrive at the sink.
 * And `latency-ms` pins what sfimageencoder reports. */
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "sftest-flow.h"
#include "sftest.h"

#define WARM_UP_FRAMES 4
#define MEASURED_FRAMES 16
/* the live rate asks for this fraction of what the machine can do */
#define LOAD 0.4

static gchar *
shapes_model (void)
{
  return g_build_filename (g_getenv ("SF_SOURCE_DIR"), "samples", "models",
      "shapes-segformer", NULL);
}

/* Seconds one 1080p frame takes through the model and the overlay, as
 * fast as they go (not live, not synced), after a first cold frame. */
static double
seconds_per_frame (void)
{
  g_autofree gchar *model = shapes_model ();
  g_autofree gchar *desc = g_strdup_printf (
      "videotestsrc num-buffers=4 "
      "! video/x-raw,width=1920,height=1080,framerate=30/1 "
      "! sfimageencoder name=enc model=\"%s\" ! sfsegmenter mode=overlay "
      "! fakesink name=out sync=false",
      model);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstMessage *msg;
  SfTestFlow flow;
  gint64 began = 0;
  double spf;

  g_assert_no_error (error);
  sftest_flow_watch (&flow, pipeline, "enc", "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  while (g_atomic_int_get (&flow.out) < 1)
    g_usleep (1000);
  began = g_get_monotonic_time ();
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      120 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  spf = (g_get_monotonic_time () - began) / 1e6 / 3;
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  sftest_flow_clear (&flow);
  return spf;
}

typedef struct
{
  GstElement *src; /* appsrc */
  guint period_ms, n_frames;
} Camera;

/* Pushes grey 1080p I420 frames at the camera's rate, then EOS. */
static gpointer
run_camera (gpointer data)
{
  Camera *cam = data;
  gsize size = 1920 * 1080 * 3 / 2;
  gint64 next = g_get_monotonic_time ();

  for (guint i = 0; i < cam->n_frames; i++) {
    GstBuffer *buf = gst_buffer_new_allocate (NULL, size, NULL);

    gst_buffer_memset (buf, 0, 0x80 + 8 * (i % 8), size);
    GST_BUFFER_DURATION (buf) = cam->period_ms * GST_MSECOND;
    g_assert_cmpint (
        gst_app_src_push_buffer (GST_APP_SRC (cam->src), buf), ==, GST_FLOW_OK);
    next += cam->period_ms * 1000;
    if (next > g_get_monotonic_time ())
      g_usleep (next - g_get_monotonic_time ());
  }
  gst_app_src_end_of_stream (GST_APP_SRC (cam->src));
  return NULL;
}

/* QoS drops so far, summed over the elements that reported them. */
static guint64
total_dropped (GHashTable *dropped)
{
  GHashTableIter it;
  gpointer value;
  guint64 sum = 0;

  g_hash_table_iter_init (&it, dropped);
  while (g_hash_table_iter_next (&it, NULL, &value))
    sum += *(guint64 *)value;
  return sum;
}

static void
test_no_late_frames (void)
{
  double spf = seconds_per_frame ();
  /* frames at rate 1000/period_ms, LOAD of the machine's throughput */
  guint period_ms = MAX (1, (guint)(spf * 1000 / LOAD + 0.5));
  g_autofree gchar *model = shapes_model ();
  /* a camera: frames stamped with the clock when they are captured, and
   * no latency of its own to hide the processing time behind */
  g_autofree gchar *desc = g_strdup_printf (
      "appsrc name=cam is-live=true format=time do-timestamp=true "
      "min-latency=0 caps=video/x-raw,format=I420,width=1920,height=1080,"
      "framerate=1000/%u "
      "! sfimageencoder name=enc model=\"%s\" ! sfsegmenter mode=overlay "
      "! fakesink name=out sync=true qos=true max-lateness=20000000",
      period_ms, model);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  g_autoptr (GHashTable) dropped =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GstBus *bus = gst_element_get_bus (pipeline);
  SfTestFlow flow;
  gint in_warm = -1, out_warm = 0;
  guint64 dropped_warm = 0;
  guint n_latency_msgs = 0;
  gboolean eos = FALSE, live;
  GstClockTime reported, measured;
  gint64 start = g_get_monotonic_time ();
  Camera cam;
  GThread *camera;

  g_assert_no_error (error);
  g_test_message ("%.0f ms per frame flat out: live at one frame per %u ms",
      spf * 1000, period_ms);
  sftest_flow_watch (&flow, pipeline, "enc", "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  cam.src = gst_bin_get_by_name (GST_BIN (pipeline), "cam");
  cam.period_ms = period_ms;
  cam.n_frames = WARM_UP_FRAMES + MEASURED_FRAMES;
  camera = g_thread_new ("camera", run_camera, &cam);

  while (!eos) {
    GstMessage *msg = gst_bus_timed_pop (bus, 10 * GST_MSECOND);

    /* a guard against a hang, not a timing check */
    g_assert_cmpint (g_get_monotonic_time () - start, <, 300 * G_USEC_PER_SEC);
    if (in_warm < 0 && g_atomic_int_get (&flow.out) >= WARM_UP_FRAMES) {
      in_warm = g_atomic_int_get (&flow.in);
      out_warm = g_atomic_int_get (&flow.out);
      dropped_warm = total_dropped (dropped);
      sftest_flow_reset_latency (&flow);
    }
    if (msg == NULL)
      continue;
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (msg, &error, NULL);
        g_assert_no_error (error);
        break;
      case GST_MESSAGE_EOS: eos = TRUE; break;
      case GST_MESSAGE_LATENCY:
        n_latency_msgs++;
        gst_bin_recalculate_latency (GST_BIN (pipeline));
        break;
      case GST_MESSAGE_QOS: {
        guint64 d = 0;

        gst_message_parse_qos_stats (msg, NULL, NULL, &d);
        g_hash_table_insert (dropped,
            g_strdup (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg))),
            g_memdup2 (&d, sizeof d));
        break;
      }
      default: break;
    }
    gst_message_unref (msg);
  }
  g_thread_join (camera);
  gst_object_unref (cam.src);
  live = sftest_pipeline_latency (pipeline, &reported);
  measured = sftest_flow_max_latency (&flow);
  g_test_message ("after %d frames: %d in, %d at the sink, %" G_GUINT64_FORMAT
                  " dropped by QoS (%" G_GUINT64_FORMAT " in the first); "
                  "%u latency messages; reported %" GST_TIME_FORMAT
                  ", measured at most %" GST_TIME_FORMAT,
      WARM_UP_FRAMES, flow.in, flow.out, total_dropped (dropped), dropped_warm,
      n_latency_msgs, GST_TIME_ARGS (reported), GST_TIME_ARGS (measured));
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);

  g_assert_true (live);
  g_assert_cmpint (in_warm, >=, WARM_UP_FRAMES);
  /* the elements said their latency grew at least once */
  g_assert_cmpuint (n_latency_msgs, >, 0);
  /* nothing lost after the warm-up */
  g_assert_cmpuint (total_dropped (dropped), ==, dropped_warm);
  g_assert_cmpint (flow.out - out_warm, ==, flow.in - in_warm);
  g_assert_cmpint (
      flow.in, ==, WARM_UP_FRAMES + MEASURED_FRAMES - (gint)dropped_warm);
  /* what the pipeline reports covers what the buffers show */
  g_assert_true (GST_CLOCK_TIME_IS_VALID (measured));
  g_assert_cmpuint (reported, >=, measured);

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  sftest_flow_clear (&flow);
}

/* latency-ms replaces the measured value in sfimageencoder's answer. */
static void
test_pinned_latency (void)
{
  g_autofree gchar *model = shapes_model ();
  g_autofree gchar *desc =
      g_strdup_printf ("videotestsrc is-live=true "
                       "! video/x-raw,width=320,height=240,framerate=30/1 "
                       "! sfimageencoder name=enc model=\"%s\" latency-ms=750 "
                       "! fakesink name=out sync=true",
          model);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *enc;
  GstClockTime with_pin, without_pin;
  guint ms = 0;

  g_assert_no_error (error);
  enc = gst_bin_get_by_name (GST_BIN (pipeline), "enc");
  g_object_get (enc, "latency-ms", &ms, NULL);
  g_assert_cmpuint (ms, ==, 750);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (
      gst_element_get_state (pipeline, NULL, NULL, GST_CLOCK_TIME_NONE), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_assert_true (sftest_pipeline_latency (pipeline, &with_pin));
  g_object_set (enc, "latency-ms", 0, NULL);
  g_assert_true (sftest_pipeline_latency (pipeline, &without_pin));
  g_test_message ("latency %" GST_TIME_FORMAT " pinned, %" GST_TIME_FORMAT
                  " measured",
      GST_TIME_ARGS (with_pin), GST_TIME_ARGS (without_pin));
  /* the source's own latency plus exactly the pinned value */
  g_assert_cmpuint (with_pin, >=, 750 * GST_MSECOND);
  g_assert_cmpuint (with_pin - 750 * GST_MSECOND, <, without_pin + 1);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (enc);
  gst_object_unref (pipeline);
}

/* sfaudioencoder: one window of audio plus the time to compute it, or
 * plus latency-ms; buffers arrive at the sink within what it reports. */
static void
test_audio_latency (void)
{
  g_autofree gchar *model = g_build_filename (
      g_getenv ("SF_SOURCE_DIR"), "samples", "models", "kws-ast", NULL);
  g_autofree gchar *desc = g_strdup_printf (
      "audiotestsrc is-live=true samplesperbuffer=1600 wave=pink-noise "
      "! audio/x-raw,format=F32LE,rate=16000,channels=1 "
      "! sfaudioencoder name=enc model=\"%s\" window-ms=1000 hop-ms=500 "
      "! fakesink name=out sync=true",
      model);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *enc;
  GstClockTime measured_latency, pinned_latency, late;
  SfTestFlow flow;
  gint64 start = g_get_monotonic_time ();

  g_assert_no_error (error);
  enc = gst_bin_get_by_name (GST_BIN (pipeline), "enc");
  sftest_flow_watch (&flow, pipeline, "enc", "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  while (g_atomic_int_get (&flow.out) < 4) {
    GstMessage *msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
        20 * GST_MSECOND, GST_MESSAGE_ERROR | GST_MESSAGE_LATENCY);

    if (msg != NULL) {
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_LATENCY)
        gst_bin_recalculate_latency (GST_BIN (pipeline));
      else
        g_assert_not_reached ();
      gst_message_unref (msg);
    }
    /* a guard against a hang, not a timing check */
    g_assert_cmpint (g_get_monotonic_time () - start, <, 120 * G_USEC_PER_SEC);
  }
  g_assert_true (sftest_pipeline_latency (pipeline, &measured_latency));
  late = sftest_flow_max_latency (&flow);
  g_object_set (enc, "latency-ms", 400, NULL);
  g_assert_true (sftest_pipeline_latency (pipeline, &pinned_latency));
  g_test_message ("latency %" GST_TIME_FORMAT " measured, %" GST_TIME_FORMAT
                  " with latency-ms=400; buffers at most %" GST_TIME_FORMAT
                  " behind",
      GST_TIME_ARGS (measured_latency), GST_TIME_ARGS (pinned_latency),
      GST_TIME_ARGS (late));
  gst_element_set_state (pipeline, GST_STATE_NULL);

  /* a window, then the compute time: more than the window alone */
  g_assert_cmpuint (measured_latency, >, GST_SECOND);
  /* the source's 100 ms buffers, a window and exactly the pinned value */
  g_assert_cmpuint (pinned_latency, >=, GST_SECOND + 400 * GST_MSECOND);
  g_assert_cmpuint (pinned_latency, <=, 1600 * GST_MSECOND);
  g_assert_true (GST_CLOCK_TIME_IS_VALID (late));

  sftest_flow_clear (&flow);
  gst_object_unref (enc);
  gst_object_unref (pipeline);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/plugins/live-latency/1080p-no-late-frames", test_no_late_frames);
  g_test_add_func ("/plugins/live-latency/pinned", test_pinned_latency);
  g_test_add_func ("/plugins/live-latency/audio", test_audio_latency);
  return g_test_run ();
}
