/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pipelines in one process that share models through the process-wide
 * model cache: two identical image, text and audio pipelines each run at
 * the same time, every pipeline driven from its own thread, and the whole
 * set is started and stopped several times so that cache gets and
 * releases of the same checkpoint race. Every pipeline must reach EOS
 * without an error, and the two copies of a pipeline must post the same
 * results. Built for the normal suite and run under ThreadSanitizer by
 * ./tests/run.sh --tsan. */
#include <gst/gst.h>

#define N_KINDS 3
#define N_COPIES 2
#define DEFAULT_ROUNDS 3

typedef struct
{
  const gchar *desc;        /* gst_parse_launch() description */
  const gchar *result_name; /* element message that carries a result */
  GPtrArray *results;       /* serialized result structures, in order */
  gchar *error;             /* the first error message, or NULL */
} Run;

static gchar *
source_path (const gchar *rel)
{
  const gchar *src = g_getenv ("SF_SOURCE_DIR");

  g_assert_nonnull (src);
  return g_build_filename (src, rel, NULL);
}

/* Thread body: NULL → PLAYING, collect results until EOS, back to NULL.
 * Failures are recorded in @run and asserted on by the main thread. */
static gpointer
run_pipeline (gpointer data)
{
  Run *run = data;
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (run->desc, &error);
  GstBus *bus;
  gboolean done = FALSE;

  if (pipeline == NULL) {
    run->error = g_strdup (error->message);
    g_clear_error (&error);
    return NULL;
  }
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while (!done) {
    /* A guard against a hang, not a timing check: TSan is slow. */
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 300 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;

    if (msg == NULL) {
      run->error = g_strdup ("timed out waiting for EOS");
      break;
    }
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ELEMENT:
        s = gst_message_get_structure (msg);
        if (gst_structure_has_name (s, run->result_name)) {
          GstStructure *copy = gst_structure_copy (s);

          /* the result without what names the run's own stream */
          gst_structure_remove_fields (
              copy, "stream-id", "source", "json", NULL);
          g_ptr_array_add (run->results, gst_structure_to_string (copy));
          gst_structure_free (copy);
        }
        break;
      case GST_MESSAGE_ERROR: {
        gchar *debug = NULL;

        gst_message_parse_error (msg, &error, &debug);
        run->error =
            g_strdup_printf ("%s (%s)", error->message, debug ? debug : "");
        g_clear_error (&error);
        g_free (debug);
        done = TRUE;
        break;
      }
      default: done = TRUE; break;
    }
    gst_message_unref (msg);
  }
  if (gst_element_set_state (pipeline, GST_STATE_NULL)
          != GST_STATE_CHANGE_SUCCESS
      && run->error == NULL)
    run->error = g_strdup ("could not go back to NULL");
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return NULL;
}

static void
assert_same_results (GPtrArray *a, GPtrArray *b, const gchar *what)
{
  g_test_message ("%s: %u results", what, a->len);
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpstr (g_ptr_array_index (a, i), ==, g_ptr_array_index (b, i));
}

static void
test_concurrent_shared_models (void)
{
  g_autofree gchar *shapes = source_path ("samples/models/shapes-segformer");
  g_autofree gchar *kws = source_path ("samples/models/kws-ast");
  g_autofree gchar *bert = source_path ("tests/fixtures/bert-tiny-cls");
  g_autofree gchar *texts = source_path ("tests/plugins/texts.txt");
  const gchar *env = g_getenv ("SF_SHARED_MODEL_ROUNDS");
  guint n_rounds = env ? (guint)g_ascii_strtoull (env, NULL, 10) : 0;
  gchar *descs[N_KINDS];
  const gchar *result_names[N_KINDS] = { "sfsegmenter", "sfclassifier",
    "sfclassifier" };
  GPtrArray *first[N_KINDS] = { NULL };

  if (n_rounds == 0)
    n_rounds = DEFAULT_ROUNDS;
  descs[0] = g_strdup_printf (
      "videotestsrc num-buffers=3 pattern=smpte "
      "! video/x-raw,width=64,height=48,framerate=5/1 ! videoconvert "
      "! sfimageencoder model=\"%s\" ! sfsegmenter ! fakesink",
      shapes);
  descs[1] = g_strdup_printf (
      "filesrc location=\"%s\" ! sftextencoder model=\"%s\" split=lines "
      "! sfclassifier top-k=2 ! fakesink",
      texts, bert);
  /* 1.5 s of ticks: two one-second windows with a 500 ms hop */
  descs[2] = g_strdup_printf (
      "audiotestsrc num-buffers=15 samplesperbuffer=1600 wave=ticks "
      "! audio/x-raw,rate=16000 ! audioconvert ! audioresample "
      "! sfaudioencoder model=\"%s\" window-ms=1000 hop-ms=500 "
      "! sfclassifier top-k=1 ! fakesink",
      kws);

  for (guint round = 0; round < n_rounds; round++) {
    Run runs[N_KINDS][N_COPIES];
    GThread *threads[N_KINDS][N_COPIES];

    /* All six start at once: loads of one checkpoint race in the cache. */
    for (guint k = 0; k < N_KINDS; k++)
      for (guint c = 0; c < N_COPIES; c++) {
        runs[k][c] = (Run){ descs[k], result_names[k],
          g_ptr_array_new_with_free_func (g_free), NULL };
        threads[k][c] = g_thread_new ("sf-pipeline", run_pipeline, &runs[k][c]);
      }
    for (guint k = 0; k < N_KINDS; k++)
      for (guint c = 0; c < N_COPIES; c++)
        g_thread_join (threads[k][c]);

    for (guint k = 0; k < N_KINDS; k++) {
      for (guint c = 0; c < N_COPIES; c++) {
        if (runs[k][c].error)
          g_test_message ("%s: %s", descs[k], runs[k][c].error);
        g_assert_null (runs[k][c].error);
        g_assert_cmpuint (runs[k][c].results->len, >, 0);
      }
      assert_same_results (
          runs[k][0].results, runs[k][1].results, result_names[k]);
      /* and the same as the first round's, when the model was new */
      if (first[k] == NULL)
        first[k] = g_ptr_array_ref (runs[k][0].results);
      else
        assert_same_results (first[k], runs[k][0].results, result_names[k]);
      for (guint c = 0; c < N_COPIES; c++)
        g_ptr_array_unref (runs[k][c].results);
    }
  }

  for (guint k = 0; k < N_KINDS; k++) {
    g_ptr_array_unref (first[k]);
    g_free (descs[k]);
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/shared-model/concurrent-pipelines",
      test_concurrent_shared_models);

  return g_test_run ();
}
