/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Audio pipelines as users build them, through gst_parse_launch():
 *  - the bundled keyword spotter (samples/models/kws-ast) on the 60
 *    labelled clips of tests/fixtures/kws-eval (named LABEL-N-WORD.wav),
 *    at least 95 % right;
 *  - a stream of eight of those clips with silence between them, in
 *    overlapping windows: the eight commands, in order, each within 0.5 s
 *    of where its clip is;
 *  - a live source rendered in sync for 10 s without late buffers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <gst/gst.h>

#include "sftest.h"

#define RATE 16000

static gchar *
kws_model (void)
{
  const gchar *src = g_getenv ("SF_SOURCE_DIR");

  g_assert_nonnull (src);
  return g_build_filename (src, "samples", "models", "kws-ast", NULL);
}

typedef struct
{
  double time; /* window centre, seconds */
  gchar *label;
  double score;
} Decision;

static void
decision_clear (gpointer data)
{
  g_free (((Decision *)data)->label);
}

/* Runs @launch to EOS (or for @seconds when > 0) and collects every
 * sfclassifier message. Fails on an error; counts warnings and QoS
 * messages. */
static GArray *
run_pipeline (
    const gchar *launch, double seconds, guint *n_warnings, guint *n_qos)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (Decision));
  GstBus *bus;
  gint64 deadline =
      seconds > 0 ? g_get_monotonic_time () + (gint64)(seconds * 1e6) : 0;
  gboolean done = FALSE;

  g_assert_no_error (error);
  g_array_set_clear_func (out, decision_clear);
  *n_warnings = *n_qos = 0;
  bus = gst_element_get_bus (pipeline);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  while (!done) {
    GstMessage *msg =
        gst_bus_timed_pop (bus, deadline ? 100 * GST_MSECOND : 60 * GST_SECOND);

    if (deadline && g_get_monotonic_time () >= deadline)
      done = TRUE;
    if (msg == NULL) {
      g_assert_true (deadline != 0);
      continue;
    }
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_EOS: done = TRUE; break;
      case GST_MESSAGE_ERROR: {
        gchar *dbg = NULL;

        gst_message_parse_error (msg, &error, &dbg);
        g_test_message ("error: %s (%s)", error->message, dbg);
        g_free (dbg);
        g_assert_no_error (error);
        break;
      }
      case GST_MESSAGE_WARNING: {
        gchar *dbg = NULL;

        gst_message_parse_warning (msg, &error, &dbg);
        g_test_message ("warning: %s (%s)", error->message, dbg);
        g_clear_error (&error);
        g_free (dbg);
        (*n_warnings)++;
        break;
      }
      case GST_MESSAGE_QOS: (*n_qos)++; break;
      case GST_MESSAGE_ELEMENT: {
        const GstStructure *s = gst_message_get_structure (msg);
        const GValue *labels, *scores;
        guint64 pts = 0, dur = 0;
        Decision d;

        if (!gst_structure_has_name (s, "sfclassifier"))
          break;
        labels = gst_structure_get_value (s, "labels");
        scores = gst_structure_get_value (s, "scores");
        g_assert_true (gst_structure_get_uint64 (s, "pts", &pts));
        g_assert_true (gst_structure_get_uint64 (s, "duration", &dur));
        g_assert_cmpuint (gst_value_array_get_size (labels), >=, 1);
        d.time = (pts + dur / 2) / (double)GST_SECOND;
        d.label = g_value_dup_string (gst_value_array_get_value (labels, 0));
        d.score = g_value_get_double (gst_value_array_get_value (scores, 0));
        g_array_append_val (out, d);
        break;
      }
      default: break;
    }
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return out;
}

static GPtrArray *
list_clips (void)
{
  g_autofree gchar *dir = sftest_fixture ("kws-eval");
  GDir *d = g_dir_open (dir, 0, NULL);
  GPtrArray *clips = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".wav"))
      g_ptr_array_add (clips, g_build_filename (dir, name, NULL));
  g_dir_close (d);
  g_ptr_array_sort (clips, (GCompareFunc)g_strcmp0);
  return clips;
}

/* The label a clip's file name starts with. (transfer full) */
static gchar *
clip_truth (const gchar *path)
{
  g_autofree gchar *base = g_path_get_basename (path);
  const gchar *dash = strchr (base, '-');

  g_assert_nonnull (dash);
  return g_strndup (base, dash - base);
}

static void
test_kws_accuracy (void)
{
  g_autofree gchar *model = kws_model ();
  g_autoptr (GPtrArray) clips = list_clips ();
  guint correct = 0, warnings, qos;

  g_assert_cmpuint (clips->len, >=, 60);
  for (guint i = 0; i < clips->len; i++) {
    const gchar *clip = g_ptr_array_index (clips, i);
    g_autofree gchar *truth = clip_truth (clip);
    g_autofree gchar *launch = g_strdup_printf (
        "filesrc location=\"%s\" ! wavparse ! audioconvert ! audioresample "
        "! sfaudioencoder model=\"%s\" window-ms=1000 ! sfclassifier top-k=1 "
        "! fakesink",
        clip, model);
    g_autoptr (GArray) got = run_pipeline (launch, 0, &warnings, &qos);

    g_assert_cmpuint (got->len, ==, 1);
    if (g_strcmp0 (g_array_index (got, Decision, 0).label, truth) == 0)
      correct++;
    else
      g_test_message (
          "miss: %s -> %s", clip, g_array_index (got, Decision, 0).label);
  }
  g_test_message (
      "kws accuracy through the pipeline: %u / %u", correct, clips->len);
  g_assert_cmpuint (correct * 100, >=, clips->len * 95);
}

/* Reads a 16 kHz mono 16-bit PCM WAV's samples (canonical layout). */
static GArray *
read_wav (const gchar *path)
{
  gchar *data = NULL;
  gsize size = 0, at = 12;
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (gint16));

  g_assert_true (g_file_get_contents (path, &data, &size, NULL));
  g_assert_true (size > 44 && memcmp (data, "RIFF", 4) == 0);
  while (at + 8 <= size) {
    guint32 len = GUINT32_FROM_LE (*(guint32 *)(data + at + 4));

    if (memcmp (data + at, "data", 4) == 0) {
      len = MIN (len, size - at - 8);
      g_array_append_vals (samples, data + at + 8, len / 2);
      break;
    }
    at += 8 + len + (len & 1);
  }
  g_free (data);
  g_assert_cmpuint (samples->len, >, 0);
  return samples;
}

static void
write_wav (const gchar *path, const GArray *s16)
{
  guint32 bytes = s16->len * 2;
  guint8 hdr[44];
  FILE *f;

  memcpy (hdr, "RIFF", 4);
  *(guint32 *)(hdr + 4) = GUINT32_TO_LE (36 + bytes);
  memcpy (hdr + 8, "WAVEfmt ", 8);
  *(guint32 *)(hdr + 16) = GUINT32_TO_LE (16);
  *(guint16 *)(hdr + 20) = GUINT16_TO_LE (1);
  *(guint16 *)(hdr + 22) = GUINT16_TO_LE (1);
  *(guint32 *)(hdr + 24) = GUINT32_TO_LE (RATE);
  *(guint32 *)(hdr + 28) = GUINT32_TO_LE (RATE * 2);
  *(guint16 *)(hdr + 32) = GUINT16_TO_LE (2);
  *(guint16 *)(hdr + 34) = GUINT16_TO_LE (16);
  memcpy (hdr + 36, "data", 4);
  *(guint32 *)(hdr + 40) = GUINT32_TO_LE (bytes);
  f = fopen (path, "wb");
  g_assert_nonnull (f);
  g_assert_cmpuint (fwrite (hdr, 1, 44, f), ==, 44);
  g_assert_cmpuint (fwrite (s16->data, 2, s16->len, f), ==, s16->len);
  fclose (f);
}

/* Eight commands, 1 s of silence before each, in 1 s windows every
 * 250 ms. Windows that hear part of a word may name another command, so a
 * command is a run of consecutive windows whose top label is not
 * _silence_; it is the best-scoring command of the run, at the centre of
 * that window. */
static void
test_kws_stream (void)
{
  static const gchar *const words[] = { "yes-1", "down-2", "left-3", "go-1",
    "stop-2", "up-3", "off-4", "right-5" };
  g_autofree gchar *model = kws_model ();
  g_autoptr (GPtrArray) clips = list_clips ();
  g_autoptr (GArray) stream = g_array_new (FALSE, TRUE, sizeof (gint16));
  g_autofree gchar *tmpdir = g_dir_make_tmp ("sfkws-XXXXXX", NULL);
  g_autofree gchar *wav = g_build_filename (tmpdir, "stream.wav", NULL);
  g_autofree gchar *launch = NULL;
  double truth[G_N_ELEMENTS (words)];
  g_autoptr (GArray) got = NULL;
  GPtrArray *events_label = g_ptr_array_new_with_free_func (g_free);
  GArray *events_time = g_array_new (FALSE, FALSE, sizeof (double));
  guint warnings, qos, i;
  double best = -1.0;

  g_assert_nonnull (tmpdir);
  for (i = 0; i < G_N_ELEMENTS (words); i++) {
    const gchar *clip = NULL;
    g_autoptr (GArray) s = NULL;

    for (guint c = 0; c < clips->len; c++) {
      g_autofree gchar *base = g_path_get_basename (clips->pdata[c]);

      if (g_str_has_prefix (base, words[i]))
        clip = clips->pdata[c];
    }
    g_assert_nonnull (clip);
    s = read_wav (clip);
    g_array_set_size (stream, stream->len + RATE); /* silence */
    truth[i] = (stream->len + s->len / 2.0) / RATE;
    g_array_append_vals (stream, s->data, s->len);
  }
  g_array_set_size (stream, stream->len + RATE);
  write_wav (wav, stream);

  launch = g_strdup_printf (
      "filesrc location=\"%s\" ! wavparse ! audioconvert ! audioresample "
      "! sfaudioencoder model=\"%s\" window-ms=1000 hop-ms=250 "
      "! sfclassifier top-k=1 ! fakesink",
      wav, model);
  got = run_pipeline (launch, 0, &warnings, &qos);
  g_assert_cmpuint (got->len, >=, (stream->len / RATE - 1) * 4);

  for (i = 0; i < got->len; i++) {
    const Decision *d = &g_array_index (got, Decision, i);
    gboolean in_run = strcmp (d->label, "_silence_") != 0;
    gboolean command = in_run && d->label[0] != '_';

    if (!in_run) {
      best = -1.0;
      continue;
    }
    if (best < 0) { /* a run begins */
      g_ptr_array_add (events_label, g_strdup ("_unknown_"));
      g_array_append_val (events_time, d->time);
      best = 0.0;
    }
    if (command && d->score > best) {
      best = d->score;
      g_free (events_label->pdata[events_label->len - 1]);
      events_label->pdata[events_label->len - 1] = g_strdup (d->label);
      g_array_index (events_time, double, events_time->len - 1) = d->time;
    }
  }
  for (i = 0; i < events_label->len; i++)
    g_test_message ("%.2f s: %s", g_array_index (events_time, double, i),
        (gchar *)events_label->pdata[i]);

  g_assert_cmpuint (events_label->len, ==, G_N_ELEMENTS (words));
  for (i = 0; i < G_N_ELEMENTS (words); i++) {
    g_autofree gchar *want =
        g_strndup (words[i], strchr (words[i], '-') - words[i]);

    g_assert_cmpstr (events_label->pdata[i], ==, want);
    g_assert_cmpfloat (
        fabs (g_array_index (events_time, double, i) - truth[i]), <=, 0.5);
  }

  g_ptr_array_unref (events_label);
  g_array_unref (events_time);
  g_unlink (wav);
  g_rmdir (tmpdir);
}

/* A live source in sync: no buffer reaches the sink late (the sink would
 * drop it and post QoS) and no element warns, over 10 s. */
static void
test_live (void)
{
  g_autofree gchar *model = kws_model ();
  g_autofree gchar *launch = g_strdup_printf (
      "audiotestsrc is-live=true wave=ticks ! audioconvert ! audioresample "
      "! sfaudioencoder model=\"%s\" window-ms=1000 hop-ms=250 "
      "! sfclassifier top-k=1 ! fakesink sync=true qos=true "
      "max-lateness=20000000",
      model);
  guint warnings, qos;
  g_autoptr (GArray) got = run_pipeline (launch, 10.0, &warnings, &qos);

  g_test_message ("%u windows, %u QoS messages", got->len, qos);
  /* 10 s minus the latency of one window and one hop */
  g_assert_cmpuint (got->len, >=, 30);
  g_assert_cmpuint (qos, ==, 0);
  g_assert_cmpuint (warnings, ==, 0);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/audio-pipeline/kws/accuracy", test_kws_accuracy);
  g_test_add_func ("/plugins/audio-pipeline/kws/stream", test_kws_stream);
  g_test_add_func ("/plugins/audio-pipeline/kws/live", test_live);
  return g_test_run ();
}
