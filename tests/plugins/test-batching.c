/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* batch-size and batch-timeout-ms: elements that run one checkpoint share
 * one batching queue. Several harnesses, each pushed from its own thread
 * as separate streams would be, must each get their own results, in
 * order, with their own timestamps, equal to the reference outputs (text,
 * image) or to a batch-size 1 run (audio) within the case's tolerance. A
 * stream that goes to NULL while its item waits must not hang, nor break
 * the queue for the others. */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "gstsftensors.h"
#include "sftest.h"

#define TEXT_CAPS "text/x-raw, format=(string)utf8"
#define RATE 16000
/* Our preprocessing of image.K against the processor's (see
 * test-sfimageencoder.c). */
#define IMAGE_ATOL 2e-2
#define N_TEXT_STREAMS 4
#define N_IMAGE_STREAMS 3
#define N_AUDIO_STREAMS 2

/* A harness around @factory on @model with extra properties given as name
 * and value strings, NULL-terminated. */
static GstHarness *
batch_harness (const gchar *factory, const gchar *model, ...)
{
  GstElement *element = gst_element_factory_make (factory, NULL);
  const gchar *prop;
  GstHarness *h;
  va_list args;

  g_assert_nonnull (element);
  g_object_set (element, "model", model, NULL);
  va_start (args, model);
  while ((prop = va_arg (args, const gchar *)) != NULL)
    gst_util_set_object_arg (
        G_OBJECT (element), prop, va_arg (args, const gchar *));
  va_end (args);
  h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  return h;
}

static void
assert_buffer_close (GstBuffer *buffer, const float *want, gsize n, double atol,
    double rtol, const gchar *what)
{
  GstMapInfo map;

  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  g_assert_cmpuint (map.size, ==, n * sizeof (float));
  sftest_assert_close ((const float *)map.data, want, n, atol, rtol, what);
  gst_buffer_unmap (buffer, &map);
}

typedef struct
{
  GstHarness *h;
  guint stream;
  guint n_items; /* pushed */
  GstFlowReturn ret;
  SfTestCase *tc;
} Stream;

static void
run_streams (Stream *streams, guint n, GThreadFunc func)
{
  GThread *threads[8];

  g_assert_cmpuint (n, <=, G_N_ELEMENTS (threads));
  for (guint i = 0; i < n; i++)
    threads[i] = g_thread_new ("sf-stream", func, &streams[i]);
  for (guint i = 0; i < n; i++)
    g_thread_join (threads[i]);
}

/* ---- text ---- */

/* Text @k of stream @s: each stream reads the case texts from its own
 * starting point, so that every stream's results differ. */
static guint
text_index (SfTestCase *tc, guint s, guint k)
{
  return (s + k) % sftest_case_n_texts (tc);
}

/* One line per buffer, pts 100 s · stream + k; the last line has no
 * newline, so that EOS sends it while other streams' lines wait. */
static gpointer
push_texts (gpointer data)
{
  Stream *st = data;

  st->ret = GST_FLOW_OK;
  for (guint k = 0; k < st->n_items && st->ret == GST_FLOW_OK; k++) {
    gchar *line = g_strdup_printf ("%s%s",
        sftest_case_text (st->tc, text_index (st->tc, st->stream, k)),
        k + 1 < st->n_items ? "\n" : "");
    GstBuffer *buffer = gst_buffer_new_wrapped (line, strlen (line));

    GST_BUFFER_PTS (buffer) = (100 * st->stream + k) * GST_SECOND;
    st->ret = gst_harness_push (st->h, buffer);
  }
  if (st->ret == GST_FLOW_OK)
    g_assert_true (gst_harness_push_event (st->h, gst_event_new_eos ()));
  return NULL;
}

/* Four streams of 4, 3, 4 and 3 lines through passes of up to four. */
static void
test_text_streams (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits"); /* [N, K] */
  gint64 k_labels = sf_tensor_dim (logits, 1);
  guint n_texts = sftest_case_n_texts (tc);
  Stream streams[N_TEXT_STREAMS];

  for (guint s = 0; s < N_TEXT_STREAMS; s++) {
    streams[s] =
        (Stream){ batch_harness ("sftextencoder", tc->dir, "batch-size", "4",
                      "batch-timeout-ms", "200", NULL),
          s, n_texts - s % 2, GST_FLOW_OK, tc };
    gst_harness_set_src_caps_str (streams[s].h, TEXT_CAPS);
  }
  run_streams (streams, N_TEXT_STREAMS, push_texts);

  for (guint s = 0; s < N_TEXT_STREAMS; s++) {
    Stream *st = &streams[s];

    g_assert_cmpint (st->ret, ==, GST_FLOW_OK);
    g_assert_cmpuint (gst_harness_buffers_in_queue (st->h), ==, st->n_items);
    for (guint k = 0; k < st->n_items; k++) {
      GstBuffer *out = gst_harness_pull (st->h);
      guint i = text_index (tc, s, k);
      GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (out);

      g_assert_cmpuint (GST_BUFFER_PTS (out), ==, (100 * s + k) * GST_SECOND);
      g_assert_nonnull (meta);
      g_assert_cmpstr (meta->text, ==, sftest_case_text (tc, i));
      assert_buffer_close (out, sf_tensor_f32 (logits) + i * k_labels, k_labels,
          tc->atol, tc->rtol, "logits");
      gst_buffer_unref (out);
    }
    gst_harness_teardown (st->h);
  }
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

/* (transfer full) what a batch-size 1 element gives for @text alone. */
static GstBuffer *
encode_alone (SfTestCase *tc, const gchar *text)
{
  GstHarness *h = batch_harness (
      "sftextencoder", tc->dir, "pooling", "mean", "normalize", "true", NULL);
  gchar *line = g_strdup_printf ("%s\n", text);
  GstBuffer *out;

  gst_harness_set_src_caps_str (h, TEXT_CAPS);
  g_assert_cmpint (
      gst_harness_push (h, gst_buffer_new_wrapped (line, strlen (line))), ==,
      GST_FLOW_OK);
  out = gst_harness_pull (h);
  gst_harness_teardown (h);
  return out;
}

/* One stream, one buffer: the case texts twice over, with a long and a
 * one-word line among them, so that the lines run in several length
 * buckets. They come back in input order: the case texts as the
 * reference, the others as a batch-size 1 element gives them alone. */
static void
test_text_mixed_lengths (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-embed");
  SfTensor *want = sftest_case_tensor (tc, "mean_pooled_l2"); /* [N, H] */
  gint64 hidden = sf_tensor_dim (want, 1);
  guint n = sftest_case_n_texts (tc);
  GstHarness *h = batch_harness ("sftextencoder", tc->dir, "pooling", "mean",
      "normalize", "true", "batch-size", "8", NULL);
  GString *all = g_string_new (NULL);
  GString *longer = g_string_new (NULL);
  const gchar *extra[2];
  GstBuffer *alone[2];
  GstMapInfo map;

  for (guint i = 0; i < 6; i++)
    g_string_append_printf (longer, "%s ", sftest_case_text (tc, i % n));
  extra[0] = longer->str;
  extra[1] = "yes";
  for (guint e = 0; e < 2; e++)
    alone[e] = encode_alone (tc, extra[e]);

  gst_harness_set_src_caps_str (h, TEXT_CAPS);
  for (guint k = 0; k < 2 * n; k++) {
    g_string_append_printf (all, "%s\n", sftest_case_text (tc, k % n));
    if (k == 1 || k == n + 1)
      g_string_append_printf (all, "%s\n", extra[k == 1 ? 0 : 1]);
  }
  g_assert_cmpint (
      gst_harness_push (h, gst_buffer_new_memdup (all->str, all->len)), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 2 * n + 2);
  for (guint k = 0; k < 2 * n; k++) {
    GstBuffer *out = gst_harness_pull (h);

    assert_buffer_close (out, sf_tensor_f32 (want) + (k % n) * hidden, hidden,
        tc->atol, tc->rtol, "mean-pooled embedding");
    gst_buffer_unref (out);
    if (k == 1 || k == n + 1) {
      guint e = k == 1 ? 0 : 1;

      out = gst_harness_pull (h);
      g_assert_true (gst_buffer_map (alone[e], &map, GST_MAP_READ));
      assert_buffer_close (out, (const float *)map.data, hidden, tc->atol,
          tc->rtol, e == 0 ? "long line" : "one-word line");
      gst_buffer_unmap (alone[e], &map);
      gst_buffer_unref (out);
    }
  }
  for (guint e = 0; e < 2; e++)
    gst_buffer_unref (alone[e]);
  g_string_free (all, TRUE);
  g_string_free (longer, TRUE);
  gst_harness_teardown (h);
  sf_tensor_unref (want);
  sftest_case_free (tc);
}

/* ---- images ---- */

static const gchar *image_names[] = { "astronaut", "chelsea", "coffee" };

/* (transfer full) image.@name of @tc as an RGB buffer of *@width x
 * *@height, rows packed. */
static GstBuffer *
image_buffer (SfTestCase *tc, const gchar *name, int *width, int *height)
{
  g_autofree gchar *key = g_strdup_printf ("image.%s", name);
  SfTensor *t = sf_safetensors_get (tc->io, key); /* [H, W, 3] u8 */
  gsize stride, row;
  GstBuffer *buffer;
  GstMapInfo map;

  g_assert_nonnull (t);
  *height = (int)t->shape[0];
  *width = (int)t->shape[1];
  row = (gsize)*width * 3;
  stride = GST_ROUND_UP_4 (row);
  buffer = gst_buffer_new_allocate (NULL, stride * *height, NULL);
  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (int y = 0; y < *height; y++)
    memcpy (map.data + y * stride, (guint8 *)t->data + y * row, row);
  gst_buffer_unmap (buffer, &map);
  sf_tensor_unref (t);
  return buffer;
}

/* Stream s pushes the three images, from image s on, at 30 fps. */
static gpointer
push_images (gpointer data)
{
  Stream *st = data;

  st->ret = GST_FLOW_OK;
  for (guint k = 0; k < st->n_items && st->ret == GST_FLOW_OK; k++) {
    guint i = (st->stream + k) % G_N_ELEMENTS (image_names);
    int width, height;
    GstBuffer *buffer = image_buffer (st->tc, image_names[i], &width, &height);
    gchar *caps = g_strdup_printf (
        "video/x-raw,format=RGB,width=%d,height=%d,framerate=30/1", width,
        height);

    gst_harness_set_src_caps_str (st->h, caps);
    GST_BUFFER_PTS (buffer) = st->stream * GST_SECOND + k * GST_SECOND / 30;
    st->ret = gst_harness_push (st->h, buffer);
    g_free (caps);
  }
  return NULL;
}

static void
test_image_streams (void)
{
  SfTestCase *tc = sftest_case_open ("vit-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits"); /* [3, 5] */
  gint64 k_labels = sf_tensor_dim (logits, 1);
  Stream streams[N_IMAGE_STREAMS];

  for (guint s = 0; s < N_IMAGE_STREAMS; s++)
    streams[s] =
        (Stream){ batch_harness ("sfimageencoder", tc->dir, "batch-size", "3",
                      "batch-timeout-ms", "200", NULL),
          s, 3, GST_FLOW_OK, tc };
  run_streams (streams, N_IMAGE_STREAMS, push_images);

  for (guint s = 0; s < N_IMAGE_STREAMS; s++) {
    Stream *st = &streams[s];

    g_assert_cmpint (st->ret, ==, GST_FLOW_OK);
    g_assert_cmpuint (gst_harness_buffers_in_queue (st->h), ==, 3);
    for (guint k = 0; k < 3; k++) {
      GstBuffer *out = gst_harness_pull (st->h);
      guint i = (s + k) % G_N_ELEMENTS (image_names);

      g_assert_cmpuint (
          GST_BUFFER_PTS (out), ==, s * GST_SECOND + k * GST_SECOND / 30);
      assert_buffer_close (out, sf_tensor_f32 (logits) + i * k_labels, k_labels,
          IMAGE_ATOL, 0.0, image_names[i]);
      gst_buffer_unref (out);
    }
    gst_harness_teardown (st->h);
  }
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

/* ---- audio ---- */

static const gchar *audio_names[] = { "audio.speech1", "audio.speech3" };

static GstHarness *
audio_harness (const gchar *model, const gchar *batch_size)
{
  GstHarness *h = batch_harness ("sfaudioencoder", model, "batch-size",
      batch_size, "batch-timeout-ms", "200", NULL);

  gst_harness_set_src_caps_str (h,
      "audio/x-raw, format=(string)F32LE, rate=(int)16000, channels=(int)1, "
      "layout=(string)interleaved");
  return h;
}

/* Stream s pushes clip s in 3000-sample buffers, then EOS. */
static gpointer
push_audio (gpointer data)
{
  Stream *st = data;
  SfTensor *audio = sftest_case_tensor (st->tc, audio_names[st->stream]);
  gsize n = sf_tensor_numel (audio);

  st->ret = GST_FLOW_OK;
  for (gsize at = 0; at < n && st->ret == GST_FLOW_OK; at += 3000) {
    gsize len = MIN (3000, n - at);
    GstBuffer *b = gst_buffer_new_memdup (
        sf_tensor_f32 (audio) + at, len * sizeof (float));

    GST_BUFFER_PTS (b) = gst_util_uint64_scale_int (at, GST_SECOND, RATE);
    st->ret = gst_harness_push (st->h, b);
  }
  if (st->ret == GST_FLOW_OK)
    g_assert_true (gst_harness_push_event (st->h, gst_event_new_eos ()));
  sf_tensor_unref (audio);
  return NULL;
}

/* Two clips at once through passes of two windows: the first window of
 * each gives transformers' logits, and every window what a batch-size 1
 * run of the same clip gives. */
static void
test_audio_streams (void)
{
  SfTestCase *tc = sftest_case_open ("ast-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits"); /* [2, 5] */
  Stream streams[N_AUDIO_STREAMS], alone[N_AUDIO_STREAMS];

  for (guint s = 0; s < N_AUDIO_STREAMS; s++) {
    streams[s] = (Stream){ audio_harness (tc->dir, "2"), s, 0, 0, tc };
    alone[s] = (Stream){ audio_harness (tc->dir, "1"), s, 0, 0, tc };
    push_audio (&alone[s]);
  }
  run_streams (streams, N_AUDIO_STREAMS, push_audio);

  for (guint s = 0; s < N_AUDIO_STREAMS; s++) {
    guint n = gst_harness_buffers_in_queue (alone[s].h);

    g_assert_cmpint (streams[s].ret, ==, GST_FLOW_OK);
    g_assert_cmpuint (n, >=, 2);
    g_assert_cmpuint (gst_harness_buffers_in_queue (streams[s].h), ==, n);
    for (guint k = 0; k < n; k++) {
      GstBuffer *out = gst_harness_pull (streams[s].h);
      GstBuffer *ref = gst_harness_pull (alone[s].h);
      GstMapInfo map;

      g_assert_cmpuint (GST_BUFFER_PTS (out), ==, GST_BUFFER_PTS (ref));
      g_assert_cmpuint (
          GST_BUFFER_DURATION (out), ==, GST_BUFFER_DURATION (ref));
      g_assert_true (gst_buffer_map (ref, &map, GST_MAP_READ));
      assert_buffer_close (out, (const float *)map.data,
          map.size / sizeof (float), tc->atol, tc->rtol, "window");
      gst_buffer_unmap (ref, &map);
      if (k == 0)
        assert_buffer_close (out, sf_tensor_f32 (logits) + 5 * s, 5, tc->atol,
            tc->rtol, "logits");
      gst_buffer_unref (out);
      gst_buffer_unref (ref);
    }
    gst_harness_teardown (streams[s].h);
    gst_harness_teardown (alone[s].h);
  }
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

/* ---- teardown ---- */

static gpointer
push_one_line (gpointer data)
{
  Stream *st = data;

  st->ret =
      gst_harness_push (st->h, gst_buffer_new_memdup ("a lonely line\n", 14));
  return NULL;
}

/* A line waits for three more that never come (a one-minute timeout);
 * the element goes to NULL meanwhile: the push returns FLUSHING at once,
 * and another element on the same queue still runs. */
static void
test_null_while_waiting (void)
{
  g_autofree gchar *model = sftest_fixture ("bert-tiny-cls");
  Stream waiting = { batch_harness ("sftextencoder", model, "batch-size", "4",
      "batch-timeout-ms", "60000", NULL) };
  GstHarness *other =
      batch_harness ("sftextencoder", model, "batch-size", "4", NULL);
  gint64 began = g_get_monotonic_time ();
  GThread *thread;

  gst_harness_set_src_caps_str (waiting.h, TEXT_CAPS);
  gst_harness_set_src_caps_str (other, TEXT_CAPS);
  thread = g_thread_new ("sf-stream", push_one_line, &waiting);
  g_usleep (300 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (gst_element_set_state (waiting.h->element, GST_STATE_NULL),
      ==, GST_STATE_CHANGE_SUCCESS);
  g_thread_join (thread);
  g_assert_cmpint (waiting.ret, ==, GST_FLOW_FLUSHING);
  /* far less than the minute the line could have waited */
  g_assert_cmpint (g_get_monotonic_time () - began, <, 30 * G_TIME_SPAN_SECOND);
  g_assert_cmpuint (gst_harness_buffers_in_queue (waiting.h), ==, 0);

  g_assert_cmpint (
      gst_harness_push (other, gst_buffer_new_memdup ("still here\n", 11)), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (other), ==, 1);
  gst_harness_teardown (other);
  gst_harness_teardown (waiting.h);
}

static void
test_properties (void)
{
  const gchar *factories[] = { "sftextencoder", "sfimageencoder",
    "sfaudioencoder" };

  for (guint i = 0; i < G_N_ELEMENTS (factories); i++) {
    GstElement *e = gst_element_factory_make (factories[i], NULL);
    guint size, timeout;

    g_object_get (e, "batch-size", &size, "batch-timeout-ms", &timeout, NULL);
    g_assert_cmpuint (size, ==, 1);
    g_assert_cmpuint (timeout, ==, 0);
    gst_object_unref (e);
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugins/batching/properties", test_properties);
  g_test_add_func ("/plugins/batching/text/streams", test_text_streams);
  g_test_add_func (
      "/plugins/batching/text/mixed-lengths", test_text_mixed_lengths);
  g_test_add_func ("/plugins/batching/image/streams", test_image_streams);
  g_test_add_func ("/plugins/batching/audio/streams", test_audio_streams);
  g_test_add_func (
      "/plugins/batching/teardown/null-while-waiting", test_null_while_waiting);

  return g_test_run ();
}
