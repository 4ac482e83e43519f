/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two streams into one element through funnel: results name their stream
 * and source, sftextencoder does not join a line of one stream with the
 * other's, and sfaudioencoder's windows do not mix their audio. The
 * sources are bins "a" and "b" whose pads the test pushes from, so the
 * interleaving is exactly the one written here. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <gst/gst.h>

#include "sftest.h"

typedef struct
{
  GstElement *pipeline;
  GstPad *pads[2]; /* the sources' pads, into the funnel */
  GstBus *bus;
} Funnel;

/* funnel ! @chain ! fakesink, fed by the bins "a" and "b". */
static void
funnel_start (Funnel *f, const gchar *chain)
{
  gchar *desc = g_strdup_printf (
      "funnel name=f ! %s ! fakesink sync=false async=false", chain);
  GstElement *funnel;
  GError *error = NULL;

  f->pipeline = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  funnel = gst_bin_get_by_name (GST_BIN (f->pipeline), "f");
  for (guint i = 0; i < 2; i++) {
    GstElement *bin = gst_bin_new (i == 0 ? "a" : "b");
    GstPad *sink = gst_element_request_pad_simple (funnel, "sink_%u");

    f->pads[i] = gst_pad_new ("src", GST_PAD_SRC);
    gst_element_add_pad (bin, f->pads[i]);
    gst_bin_add (GST_BIN (f->pipeline), bin);
    g_assert_cmpint (gst_pad_link (f->pads[i], sink), ==, GST_PAD_LINK_OK);
    gst_object_unref (sink);
  }
  gst_object_unref (funnel);
  f->bus = gst_element_get_bus (f->pipeline);
  g_assert_cmpint (gst_element_set_state (f->pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_free (desc);
}

/* Starts stream @i ("stream-a", "stream-b") with @caps. */
static void
funnel_begin (Funnel *f, guint i, const gchar *caps)
{
  GstSegment segment;
  GstCaps *c = gst_caps_from_string (caps);

  gst_segment_init (&segment, GST_FORMAT_TIME);
  g_assert_true (gst_pad_push_event (f->pads[i],
      gst_event_new_stream_start (i == 0 ? "stream-a" : "stream-b")));
  g_assert_true (gst_pad_push_event (f->pads[i], gst_event_new_caps (c)));
  g_assert_true (
      gst_pad_push_event (f->pads[i], gst_event_new_segment (&segment)));
  gst_caps_unref (c);
}

static void
funnel_push (
    Funnel *f, guint i, gconstpointer data, gsize size, GstClockTime pts)
{
  GstBuffer *buffer = gst_buffer_new_memdup (data, size);

  GST_BUFFER_PTS (buffer) = pts;
  g_assert_cmpint (gst_pad_push (f->pads[i], buffer), ==, GST_FLOW_OK);
}

/* Ends both streams and returns the JSON of each result @element posted,
 * in order. (transfer full) */
static GPtrArray *
funnel_finish (Funnel *f, const gchar *element)
{
  GPtrArray *results =
      g_ptr_array_new_with_free_func ((GDestroyNotify)cJSON_Delete);
  GstMessage *msg;

  for (guint i = 0; i < 2; i++)
    gst_pad_push_event (f->pads[i], gst_event_new_eos ());
  while ((msg = gst_bus_timed_pop_filtered (f->bus, 60 * GST_SECOND,
              GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR))
      != NULL) {
    const GstStructure *s = gst_message_get_structure (msg);

    g_assert_cmpint (GST_MESSAGE_TYPE (msg), !=, GST_MESSAGE_ERROR);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      gst_message_unref (msg);
      break;
    }
    if (gst_structure_has_name (s, element)) {
      cJSON *obj = cJSON_Parse (gst_structure_get_string (s, "json"));

      g_assert_nonnull (obj);
      /* the message's own fields agree with its JSON */
      g_assert_cmpstr (gst_structure_get_string (s, "source"), ==,
          cJSON_GetStringValue (cJSON_GetObjectItem (obj, "source")));
      g_ptr_array_add (results, obj);
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  gst_object_unref (f->bus);
  gst_object_unref (f->pipeline);
  return results;
}

static const gchar *
field (cJSON *obj, const gchar *name)
{
  return cJSON_GetStringValue (cJSON_GetObjectItem (obj, name));
}

/* Partial lines of the two streams interleave: each line stays whole and
 * is credited to its own stream, by sftextencoder (@generator FALSE) or
 * sftextgenerator. */
static void
test_text_lines (gconstpointer generator)
{
  gchar *model = sftest_fixture (generator ? "gpt2-tiny-lm" : "bert-tiny-cls");
  gchar *chain = generator
      ? g_strdup_printf ("sftextgenerator model=\"%s\" max-new-tokens=2", model)
      : g_strdup_printf (
          "sftextencoder model=\"%s\" split=lines ! sfclassifier", model);
  const gchar *caps = "text/x-raw, format=(string)utf8";
  GPtrArray *results;
  gboolean seen[2] = { FALSE, FALSE };
  Funnel f;

  funnel_start (&f, chain);
  funnel_begin (&f, 0, caps);
  funnel_begin (&f, 1, caps);
  funnel_push (&f, 0, "good mor", 8, 0);
  funnel_push (&f, 1, "bad wea", 7, 0);
  funnel_push (&f, 0, "ning\nsee y", 10, GST_SECOND);
  funnel_push (&f, 1, "ther\n", 5, GST_SECOND);
  funnel_push (&f, 0, "ou", 2, 2 * GST_SECOND); /* ended by EOS */
  results = funnel_finish (&f, generator ? "sftextgenerator" : "sfclassifier");

  g_assert_cmpuint (results->len, ==, 3);
  for (guint i = 0; i < results->len; i++) {
    cJSON *obj = results->pdata[i];
    const gchar *text = field (obj, "text"), *source = field (obj, "source");

    if (g_str_equal (text, "bad weather")) {
      g_assert_cmpstr (source, ==, "b");
      g_assert_cmpstr (field (obj, "stream-id"), ==, "stream-b");
      seen[1] = TRUE;
    } else {
      g_assert_true (
          g_str_equal (text, "good morning") || g_str_equal (text, "see you"));
      g_assert_cmpstr (source, ==, "a");
      g_assert_cmpstr (field (obj, "stream-id"), ==, "stream-a");
      seen[0] = TRUE;
    }
  }
  g_assert_true (seen[0] && seen[1]);
  g_ptr_array_unref (results);
  g_free (chain);
  g_free (model);
}

/* The first score of each result of @results from @source. */
static GArray *
scores_of (GPtrArray *results, const gchar *source)
{
  GArray *scores = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; i < results->len; i++) {
    cJSON *obj = results->pdata[i];
    double v;

    if (g_strcmp0 (field (obj, "source"), source) != 0)
      continue;
    v = cJSON_GetNumberValue (
        cJSON_GetArrayItem (cJSON_GetObjectItem (obj, "scores"), 0));
    g_array_append_val (scores, v);
  }
  return scores;
}

#define RATE 16000
#define HALF (RATE / 4) /* half of a 500 ms window */

/* A tone into stream a, silence into stream b, half a window at a time
 * and interleaved: each stream's windows hold only its own audio, so
 * stream a scores as the tone alone does. */
static void
test_audio_windows (void)
{
  gchar *model = sftest_fixture ("ast-tiny-cls");
  gchar *chain = g_strdup_printf (
      "sfaudioencoder model=\"%s\" window-ms=500 ! sfclassifier top-k=1 "
      "activation=none",
      model);
  const gchar *caps = "audio/x-raw, format=(string)F32LE, rate=(int)16000, "
                      "channels=(int)1, layout=(string)interleaved";
  float *tone = g_new (float, 2 * HALF), *silence = g_new0 (float, HALF);
  GPtrArray *alone, *mixed;
  GArray *want, *got, *quiet;
  Funnel f;

  for (guint i = 0; i < 2 * HALF; i++)
    tone[i] = 0.5f * sinf (2.0f * (float)G_PI * 440.0f * i / RATE);

  /* the tone alone */
  funnel_start (&f, chain);
  funnel_begin (&f, 0, caps);
  funnel_push (&f, 0, tone, 2 * HALF * sizeof (float), 0);
  alone = funnel_finish (&f, "sfclassifier");

  /* interleaved with silence */
  funnel_start (&f, chain);
  funnel_begin (&f, 0, caps);
  funnel_begin (&f, 1, caps);
  funnel_push (&f, 0, tone, HALF * sizeof (float), 0);
  funnel_push (&f, 1, silence, HALF * sizeof (float), 0);
  funnel_push (&f, 0, tone + HALF, HALF * sizeof (float), GST_SECOND / 4);
  funnel_push (&f, 1, silence, HALF * sizeof (float), GST_SECOND / 4);
  mixed = funnel_finish (&f, "sfclassifier");

  want = scores_of (alone, "a");
  got = scores_of (mixed, "a");
  quiet = scores_of (mixed, "b");
  g_assert_cmpuint (want->len, ==, 1);
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_cmpuint (quiet->len, ==, 1);
  g_assert_cmpfloat_with_epsilon (
      g_array_index (got, double, 0), g_array_index (want, double, 0), 1e-5);
  g_array_unref (want);
  g_array_unref (got);
  g_array_unref (quiet);
  g_ptr_array_unref (alone);
  g_ptr_array_unref (mixed);
  g_free (tone);
  g_free (silence);
  g_free (chain);
  g_free (model);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/plugins/funnel/text-lines/encoder",
      GINT_TO_POINTER (FALSE), test_text_lines);
  g_test_add_data_func ("/plugins/funnel/text-lines/generator",
      GINT_TO_POINTER (TRUE), test_text_lines);
  g_test_add_func ("/plugins/funnel/audio-windows", test_audio_windows);
  return g_test_run ();
}
