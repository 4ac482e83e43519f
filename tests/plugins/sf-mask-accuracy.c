/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sf-mask-accuracy MIN PREDICTED EXPECTED: pixel accuracy of a label map
 * against a reference one. Both are 8-bit grayscale images (PGM, PNG, …)
 * of the same size holding a label index per pixel, decoded through
 * GStreamer. Prints the accuracy; exits 0 iff it is at least MIN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

typedef struct
{
  int width, height;
  guint8 *pixels; /* [height, width] */
} Gray;

static gboolean
load_gray (const char *path, Gray *out)
{
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin "
                                 "! videoconvert ! video/x-raw,format=GRAY8 "
                                 "! appsink name=sink sync=false",
      path);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &error);
  GstElement *sink;
  GstSample *sample;
  gboolean ok = FALSE;

  g_free (desc);
  if (pipeline == NULL) {
    fprintf (stderr, "%s: %s\n", path, error->message);
    g_clear_error (&error);
    return FALSE;
  }
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  sample = gst_app_sink_pull_sample (GST_APP_SINK (sink));
  if (sample != NULL) {
    GstVideoInfo info;
    GstVideoFrame frame;

    if (gst_video_info_from_caps (&info, gst_sample_get_caps (sample))
        && gst_video_frame_map (
            &frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ)) {
      out->width = GST_VIDEO_INFO_WIDTH (&info);
      out->height = GST_VIDEO_INFO_HEIGHT (&info);
      out->pixels = g_new (guint8, (gsize)out->width * out->height);
      for (int y = 0; y < out->height; y++)
        memcpy (out->pixels + (gsize)y * out->width,
            (guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
                + (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
            out->width);
      gst_video_frame_unmap (&frame);
      ok = TRUE;
    }
    gst_sample_unref (sample);
  }
  if (!ok)
    fprintf (stderr, "%s: could not decode a grayscale image\n", path);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return ok;
}

int
main (int argc, char **argv)
{
  Gray pred = { 0 }, want = { 0 };
  double min, accuracy;
  gsize i, n, same = 0;
  int rc = 1;

  gst_init (&argc, &argv);
  if (argc != 4) {
    fprintf (stderr, "usage: %s MIN PREDICTED EXPECTED\n", argv[0]);
    return 2;
  }
  min = g_ascii_strtod (argv[1], NULL);
  if (!load_gray (argv[2], &pred) || !load_gray (argv[3], &want))
    goto out;
  if (pred.width != want.width || pred.height != want.height) {
    fprintf (stderr, "%s is %dx%d but %s is %dx%d\n", argv[2], pred.width,
        pred.height, argv[3], want.width, want.height);
    goto out;
  }
  n = (gsize)pred.width * pred.height;
  for (i = 0; i < n; i++)
    same += pred.pixels[i] == want.pixels[i];
  accuracy = n ? (double)same / (double)n : 0.0;
  printf ("%s pixel_accuracy=%.4f min=%.4f %s\n", argv[2], accuracy, min,
      accuracy >= min ? "PASS" : "FAIL");
  rc = accuracy >= min ? 0 : 1;

out:
  g_free (pred.pixels);
  g_free (want.pixels);
  gst_deinit ();
  return rc;
}
