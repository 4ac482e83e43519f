/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sffuse: timestamp alignment of a 30 fps and a 4 Hz tensor stream with
 * every sync-mode, max-lag-ms, and the element's interface. */
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#define N_VIDEO 1000
#define VIDEO_PERIOD (GST_SECOND / 30)
#define AUDIO_PERIOD (GST_SECOND / 4)

/* Queues @n buffers of one float32 [1, @width] tensor each on appsrc
 * @name; value 0 of buffer i is i, its pts i·@period. */
static void
queue_stream (GstElement *pipeline, const gchar *name, guint n,
    GstClockTime period, guint width)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), name);

  for (guint i = 0; i < n; i++) {
    float *values = g_new0 (float, width);
    GstBuffer *buf;

    values[0] = (float)i;
    buf = gst_buffer_new_wrapped (values, width * sizeof (float));
    GST_BUFFER_PTS (buf) = i * period;
    GST_BUFFER_DURATION (buf) = period;
    g_assert_cmpint (
        gst_app_src_push_buffer (GST_APP_SRC (src), buf), ==, GST_FLOW_OK);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
}

static float
first_value (GstBuffer *buf, guint index)
{
  GstMemory *mem = gst_buffer_peek_memory (buf, index);
  GstMapInfo map;
  float v;

  g_assert_true (gst_memory_map (mem, &map, GST_MAP_READ));
  memcpy (&v, map.data, sizeof (float));
  gst_memory_unmap (mem, &map);
  return v;
}

static const gchar *const sync_modes[] = { "slowest", "basepad", "nosync" };

/* @data: an index into sync_modes; basepad runs on the video pad. */
static void
test_concat (gconstpointer data)
{
  guint mode = GPOINTER_TO_UINT (data);
  gboolean basepad = mode == 1, nosync = mode == 2;
  guint n_audio = N_VIDEO * 4 / 30 + 1, n_out = 0;
  GstClockTime last = GST_CLOCK_TIME_NONE;
  GError *error = NULL;
  gchar *desc = g_strdup_printf (
      "appsrc name=video format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)8:1,"
      "framerate=30/1\" ! f.sink_0 "
      "appsrc name=audio format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)3:1,"
      "framerate=4/1\" ! f.sink_1 "
      "sffuse name=f sync-mode=%s base-pad=0 "
      "! appsink name=out sync=false",
      sync_modes[mode]);
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstSample *sample;

  g_assert_no_error (error);
  queue_stream (pipeline, "video", N_VIDEO, VIDEO_PERIOD, 8);
  queue_stream (pipeline, "audio", n_audio, AUDIO_PERIOD, 3);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);

  while ((sample = gst_app_sink_try_pull_sample (
              GST_APP_SINK (sink), 120 * GST_SECOND))
      != NULL) {
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstClockTime pts = GST_BUFFER_PTS (buf), tv, ta;
    const GstStructure *s =
        gst_caps_get_structure (gst_sample_get_caps (sample), 0);
    gint num = 0;

    g_assert_true (gst_structure_get_int (s, "num_tensors", &num));
    g_assert_cmpint (num, ==, 2);
    g_assert_cmpstr (gst_structure_get_string (s, "dimensions"), ==, "8:1,3:1");
    g_assert_cmpuint (gst_buffer_n_memory (buf), ==, 2);
    g_assert_cmpuint (gst_buffer_get_size (buf), ==, (8 + 3) * sizeof (float));
    g_assert_true (GST_CLOCK_TIME_IS_VALID (pts));
    if (GST_CLOCK_TIME_IS_VALID (last))
      g_assert_cmpuint (pts, >, last);
    last = pts;

    tv = (GstClockTime)first_value (buf, 0) * VIDEO_PERIOD;
    ta = (GstClockTime)first_value (buf, 1) * AUDIO_PERIOD;
    if (nosync) {
      /* buffers pair up in order, whatever their times */
      g_assert_cmpfloat (first_value (buf, 0), ==, first_value (buf, 1));
      g_assert_cmpuint (pts, ==, MAX (tv, ta));
    } else if (basepad) {
      /* every video frame, with the latest audio window not after it */
      g_assert_cmpuint (pts, ==, tv);
      g_assert_cmpuint (ta, <=, tv);
      g_assert_cmpuint (tv - ta, <, AUDIO_PERIOD);
    } else {
      /* the slow stream sets the time; the video frame is the latest one
       * not after it */
      g_assert_cmpuint (pts, ==, ta);
      g_assert_cmpuint (tv, <=, ta);
      g_assert_cmpuint (ta - tv, <, VIDEO_PERIOD);
    }
    n_out++;
    gst_sample_unref (sample);
  }
  g_assert_true (gst_app_sink_is_eos (GST_APP_SINK (sink)));
  /* one output per buffer of the timing stream that the other covers */
  if (nosync) {
    g_assert_cmpuint (n_out, ==, n_audio);
  } else if (basepad) {
    g_assert_cmpuint (n_out, >=, N_VIDEO - 3);
    g_assert_cmpuint (n_out, <=, N_VIDEO);
  } else {
    g_assert_cmpuint (n_out, >=, n_audio - 2);
    g_assert_cmpuint (n_out, <=, n_audio);
  }

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (desc);
}

/* max-lag-ms: the 4 Hz stream pauses from 1 s to 3 s; video frames in the
 * pause would pair with a window up to 2 s old, so they are dropped, and
 * every output that remains pairs buffers at most 300 ms apart. */
static void
test_max_lag (void)
{
  const guint n_video = 120; /* 4 s at 30 fps */
  GstElement *pipeline, *sink, *audio;
  GstClockTime before_gap = 0, after_gap = 0;
  GError *error = NULL;
  GstSample *sample;
  guint n_out = 0;

  pipeline = gst_parse_launch (
      "appsrc name=video format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)8:1,"
      "framerate=30/1\" ! f.sink_0 "
      "appsrc name=audio format=time max-bytes=0 caps=\"other/tensors,"
      "format=static,num_tensors=1,types=float32,dimensions=(string)3:1,"
      "framerate=4/1\" ! f.sink_1 "
      "sffuse name=f sync-mode=basepad base-pad=0 "
      "max-lag-ms=300 ! appsink name=out sync=false",
      &error);
  g_assert_no_error (error);
  queue_stream (pipeline, "video", n_video, VIDEO_PERIOD, 8);
  audio = gst_bin_get_by_name (GST_BIN (pipeline), "audio");
  for (guint i = 0; i < 16; i++) {
    float *values;
    GstBuffer *buf;

    if (i >= 4 && i < 12) /* no windows from 1 s to 3 s */
      continue;
    values = g_new0 (float, 3);
    values[0] = (float)i;
    buf = gst_buffer_new_wrapped (values, 3 * sizeof (float));
    GST_BUFFER_PTS (buf) = i * AUDIO_PERIOD;
    GST_BUFFER_DURATION (buf) = AUDIO_PERIOD;
    g_assert_cmpint (
        gst_app_src_push_buffer (GST_APP_SRC (audio), buf), ==, GST_FLOW_OK);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (audio));
  gst_object_unref (audio);

  sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  while ((sample = gst_app_sink_try_pull_sample (
              GST_APP_SINK (sink), 60 * GST_SECOND))
      != NULL) {
    GstBuffer *buf = gst_sample_get_buffer (sample);
    GstClockTime tv = (GstClockTime)first_value (buf, 0) * VIDEO_PERIOD;
    GstClockTime ta = (GstClockTime)first_value (buf, 1) * AUDIO_PERIOD;

    g_assert_cmpuint (ta, <=, tv);
    g_assert_cmpuint (tv - ta, <=, 300 * GST_MSECOND);
    if (tv < GST_SECOND + 300 * GST_MSECOND)
      before_gap++;
    else
      after_gap++;
    n_out++;
    gst_sample_unref (sample);
  }
  /* frames on both sides of the pause came through, those inside did not */
  g_assert_cmpuint (before_gap, >, 0);
  g_assert_cmpuint (after_gap, >, 0);
  g_assert_cmpuint (n_out, <, n_video - 40);

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

/* sffuse only stacks: no mode property, and only sink_%u request pads
 * (scoring moved to sfsimilarity). */
static void
test_interface (void)
{
  GstElement *fuse = gst_element_factory_make ("sffuse", NULL);
  GstElementClass *klass;
  GstPadTemplate *templ;
  GError *error = NULL;
  GstElement *pipeline;

  g_assert_nonnull (fuse);
  klass = GST_ELEMENT_GET_CLASS (fuse);
  g_assert_null (
      g_object_class_find_property (G_OBJECT_GET_CLASS (fuse), "mode"));
  g_assert_nonnull (
      g_object_class_find_property (G_OBJECT_GET_CLASS (fuse), "sync-mode"));
  templ = gst_element_class_get_pad_template (klass, "sink_%u");
  g_assert_nonnull (templ);
  g_assert_cmpint (GST_PAD_TEMPLATE_PRESENCE (templ), ==, GST_PAD_REQUEST);
  g_assert_null (gst_element_class_get_pad_template (klass, "text"));
  g_assert_null (gst_element_class_get_pad_template (klass, "image"));
  gst_object_unref (fuse);

  /* the old spelling is refused, not silently ignored */
  pipeline = gst_parse_launch ("sffuse mode=similarity ! fakesink", &error);
  g_assert_error (error, GST_PARSE_ERROR, GST_PARSE_ERROR_NO_SUCH_PROPERTY);
  g_clear_error (&error);
  gst_clear_object (&pipeline);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/sffuse/interface", test_interface);
  for (guint i = 0; i < G_N_ELEMENTS (sync_modes); i++) {
    gchar *path = g_strconcat ("/plugins/sffuse/concat/", sync_modes[i], NULL);
    g_test_add_data_func (path, GUINT_TO_POINTER (i), test_concat);
    g_free (path);
  }
  g_test_add_func ("/plugins/sffuse/concat/max-lag", test_max_lag);
  return g_test_run ();
}
