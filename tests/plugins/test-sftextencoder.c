/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sftextencoder driven through GstHarness, checked against the reference
 * outputs of the bert-tiny-cls and bert-tiny-embed cases. */
#include <math.h>
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "core/precision.h"
#include "gstsftensors.h"
#include "sftest.h"

#define TEXT_CAPS "text/x-raw, format=(string)utf8"
/* sftextencoder cuts lines longer than this many bytes. */
#define LINE_CAP (1024 * 1024)

/* A harness around an sftextencoder on case @name, with extra properties
 * given as name and value strings, NULL-terminated. */
static GstHarness *
encoder_harness (const gchar *name, ...)
{
  GstElement *element = gst_element_factory_make ("sftextencoder", NULL);
  gchar *dir = sftest_fixture (name);
  const gchar *prop;
  GstHarness *h;
  va_list args;

  g_assert_nonnull (element);
  g_object_set (element, "model", dir, NULL);
  va_start (args, name);
  while ((prop = va_arg (args, const gchar *)) != NULL)
    gst_util_set_object_arg (
        G_OBJECT (element), prop, va_arg (args, const gchar *));
  va_end (args);
  g_free (dir);

  h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gst_harness_set_src_caps_str (h, TEXT_CAPS);
  return h;
}

static GstFlowReturn
push_text (GstHarness *h, const gchar *text, gsize len, GstClockTime pts)
{
  GstBuffer *buffer = gst_buffer_new_memdup (text, len);

  GST_BUFFER_PTS (buffer) = pts;
  return gst_harness_push (h, buffer);
}

static GstFlowReturn
push_string (GstHarness *h, const gchar *text)
{
  return push_text (h, text, strlen (text), GST_CLOCK_TIME_NONE);
}

/* The tensor caps on the harness' sink pad, parsed. */
static void
current_info (GstHarness *h, GstSfTensorsInfo *info)
{
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);

  g_assert_nonnull (caps);
  g_assert_true (gst_sf_tensors_info_from_caps (info, caps));
  gst_caps_unref (caps);
}

static gchar *
current_dims (GstHarness *h)
{
  GstSfTensorsInfo info;

  current_info (h, &info);
  g_assert_cmpuint (info.num_tensors, ==, 1);
  g_assert_cmpint (info.tensors[0].type, ==, GST_SF_TENSOR_TYPE_FLOAT32);
  return gst_sf_tensor_info_dims_string (&info.tensors[0]);
}

/* Compares @buffer's floats with row @row of @ref ([N, K] or [N, T, H]),
 * taking the first @n values of that row. */
static void
assert_row (GstBuffer *buffer, SfTensor *ref, gint64 row, gsize n,
    SfTestCase *tc, const gchar *what)
{
  gsize row_size = sf_tensor_numel (ref) / sf_tensor_dim (ref, 0);
  GstMapInfo map;

  g_assert_cmpuint (gst_buffer_n_memory (buffer), ==, 1);
  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  g_assert_cmpuint (map.size, ==, n * sizeof (float));
  sftest_assert_close ((const float *)map.data,
      sf_tensor_f32 (ref) + row * row_size, n, tc->atol, tc->rtol, what);
  gst_buffer_unmap (buffer, &map);
}

static const gchar *
meta_text (GstBuffer *buffer)
{
  GstSfTensorMeta *meta = gst_buffer_get_sf_tensor_meta (buffer);

  g_assert_nonnull (meta);
  g_assert_nonnull (meta->model_name);
  return meta->text;
}

/* All case texts in one buffer, one per line: one logits row each. */
static void
test_logits_lines (gconstpointer data)
{
  const gchar *name = data;
  SfTestCase *tc = sftest_case_open (name);
  SfTensor *logits = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness (name, NULL);
  GString *all = g_string_new (NULL);
  guint i, n = sftest_case_n_texts (tc);
  gchar *dims, *want;

  for (i = 0; i < n; i++)
    g_string_append_printf (all, "%s\n", sftest_case_text (tc, i));
  g_assert_cmpint (
      push_text (h, all->str, all->len, GST_CLOCK_TIME_NONE), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, n);

  dims = current_dims (h);
  want = g_strdup_printf ("%" G_GINT64_FORMAT ":1", sf_tensor_dim (logits, 1));
  g_assert_cmpstr (dims, ==, want);
  g_free (dims);
  g_free (want);

  for (i = 0; i < n; i++) {
    GstBuffer *out = gst_harness_pull (h);

    assert_row (out, logits, i, sf_tensor_dim (logits, 1), tc, "logits");
    g_assert_cmpstr (meta_text (out), ==, sftest_case_text (tc, i));
    /* No input timestamps: lines are counted, one second each. */
    g_assert_cmpuint (GST_BUFFER_PTS (out), ==, i * GST_SECOND);
    g_assert_cmpuint (GST_BUFFER_DURATION (out), ==, GST_SECOND);
    gst_buffer_unref (out);
  }

  g_string_free (all, TRUE);
  gst_harness_teardown (h);
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

/* The logits rows of all case texts from an encoder with @props (name,
 * value pairs, NULL-terminated), as one [n, labels] array. */
static float *
case_logits (SfTestCase *tc, const gchar *name, gsize labels, ...)
{
  GstElement *element = gst_element_factory_make ("sftextencoder", NULL);
  gchar *dir = sftest_fixture (name);
  guint i, n = sftest_case_n_texts (tc);
  float *rows = g_new (float, n *labels);
  const gchar *prop;
  GstHarness *h;
  va_list args;

  g_object_set (element, "model", dir, NULL);
  va_start (args, labels);
  while ((prop = va_arg (args, const gchar *)) != NULL)
    gst_util_set_object_arg (
        G_OBJECT (element), prop, va_arg (args, const gchar *));
  va_end (args);
  h = gst_harness_new_with_element (element, "sink", "src");
  gst_harness_set_src_caps_str (h, TEXT_CAPS);
  for (i = 0; i < n; i++) {
    gchar *line = g_strdup_printf ("%s\n", sftest_case_text (tc, i));
    GstBuffer *out;
    GstMapInfo map;

    g_assert_cmpint (push_string (h, line), ==, GST_FLOW_OK);
    out = gst_harness_pull (h);
    g_assert_true (gst_buffer_map (out, &map, GST_MAP_READ));
    g_assert_cmpuint (map.size, ==, labels * sizeof (float));
    memcpy (rows + i * labels, map.data, map.size);
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (out);
    g_free (line);
  }
  gst_harness_teardown (h);
  gst_object_unref (element);
  g_free (dir);
  return rows;
}

/* precision=bf16 and int8 stay within the tolerance the README states for
 * `verify --precision` (0.03 and 0.06 of the largest reference magnitude)
 * of transformers' logits, keep the top label, and differ from f32. */
static void
test_precision (gconstpointer data)
{
  const gchar *precision = data;
  double scale_tol = g_str_equal (precision, "bf16") ? 0.03 : 0.06;
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *ref = sftest_case_tensor (tc, "logits");
  gsize labels = sf_tensor_dim (ref, 1);
  guint n = sftest_case_n_texts (tc);
  float *got =
      case_logits (tc, "bert-tiny-cls", labels, "precision", precision, NULL);
  float *f32 = case_logits (tc, "bert-tiny-cls", labels, NULL);
  double max_ref = 0, max_err = 0, max_f32_diff = 0;

  for (gsize i = 0; i < n * labels; i++) {
    max_ref = MAX (max_ref, fabs (sf_tensor_f32 (ref)[i]));
    max_err = MAX (max_err, fabs (got[i] - sf_tensor_f32 (ref)[i]));
    max_f32_diff = MAX (max_f32_diff, fabs (got[i] - f32[i]));
  }
  g_assert_cmpfloat (max_err, <=, scale_tol * max_ref);
  for (guint i = 0; i < n; i++) {
    gsize top_got = 0, top_ref = 0;
    for (gsize j = 1; j < labels; j++) {
      if (got[i * labels + j] > got[i * labels + top_got])
        top_got = j;
      if (sf_tensor_f32 (ref)[i * labels + j]
          > sf_tensor_f32 (ref)[i * labels + top_ref])
        top_ref = j;
    }
    g_assert_cmpuint (top_got, ==, top_ref);
  }
  if (sf_precision_missing (g_str_equal (precision, "bf16") ? SF_PRECISION_BF16
                                                            : SF_PRECISION_INT8)
      == NULL)
    g_assert_cmpfloat (max_f32_diff, >, 0.0);
  g_free (f32);
  g_free (got);
  sf_tensor_unref (ref);
  sftest_case_free (tc);
}

/* Without the instructions: one warning that names them, then f32. */
static void
test_precision_fallback (void)
{
  GstElement *element = gst_element_factory_make ("sftextencoder", NULL);
  GstBus *bus = gst_bus_new ();
  gchar *dir = sftest_fixture ("bert-tiny-cls");
  GstMessage *msg;
  GError *warning = NULL;
  gint precision;

  g_setenv ("SF_CPU_DISABLE", "avx512_bf16", TRUE);
  g_object_set (element, "model", dir, NULL);
  gst_util_set_object_arg (G_OBJECT (element), "precision", "bf16");
  g_object_get (element, "precision", &precision, NULL);
  g_assert_cmpint (precision, ==, SF_PRECISION_BF16);
  gst_element_set_bus (element, bus);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), !=,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_parse_warning (msg, &warning, NULL);
  g_assert_nonnull (strstr (warning->message, "AVX512_BF16"));
  g_assert_nonnull (strstr (warning->message, "f32"));
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING));
  g_error_free (warning);
  gst_message_unref (msg);
  gst_element_set_state (element, GST_STATE_NULL);
  g_unsetenv ("SF_CPU_DISABLE");
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (element, NULL);
  gst_object_unref (element);
  gst_object_unref (bus);
  g_free (dir);

  {
    /* and the results are f32's, within the case's f32 tolerance */
    SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
    SfTensor *ref = sftest_case_tensor (tc, "logits");
    gsize labels = sf_tensor_dim (ref, 1);
    float *got;

    g_setenv ("SF_CPU_DISABLE", "avx512_bf16", TRUE);
    got = case_logits (tc, "bert-tiny-cls", labels, "precision", "bf16", NULL);
    g_unsetenv ("SF_CPU_DISABLE");
    sftest_assert_close (got, sf_tensor_f32 (ref),
        sftest_case_n_texts (tc) * labels, tc->atol, tc->rtol, "logits");
    g_free (got);
    sf_tensor_unref (ref);
    sftest_case_free (tc);
  }
}

static void
test_mean_pooled (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-embed");
  SfTensor *ref = sftest_case_tensor (tc, "mean_pooled_l2");
  GstHarness *h = encoder_harness (
      "bert-tiny-embed", "pooling", "mean", "normalize", "true", NULL);
  guint i, n = sftest_case_n_texts (tc);
  gchar *dims, *want;

  for (i = 0; i < n; i++) {
    gchar *line = g_strdup_printf ("%s\n", sftest_case_text (tc, i));

    g_assert_cmpint (push_string (h, line), ==, GST_FLOW_OK);
    g_free (line);
  }
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, n);

  dims = current_dims (h);
  want = g_strdup_printf ("%" G_GINT64_FORMAT ":1", sf_tensor_dim (ref, 1));
  g_assert_cmpstr (dims, ==, want);
  g_free (dims);
  g_free (want);

  for (i = 0; i < n; i++) {
    GstBuffer *out = gst_harness_pull (h);

    assert_row (out, ref, i, sf_tensor_dim (ref, 1), tc, "mean_pooled_l2");
    gst_buffer_unref (out);
  }

  gst_harness_teardown (h);
  sf_tensor_unref (ref);
  sftest_case_free (tc);
}

/* pooling=none: [1, T, H] per line, caps following T. The real tokens of
 * the padded reference batch are the first T rows of each item. */
static void
test_hidden_state_caps (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-embed");
  SfTensor *hidden = sftest_case_tensor (tc, "hidden_states.2");
  SfTensor *mask = sf_safetensors_get (tc->io, "attention_mask");
  SfTensor *mask64 = sf_tensor_to_i64 (mask);
  GstHarness *h = encoder_harness ("bert-tiny-embed", "pooling", "none", NULL);
  gint64 T = sf_tensor_dim (mask64, 1), H = sf_tensor_dim (hidden, 2);
  guint i, n = sftest_case_n_texts (tc);
  GstSfTensorsInfo info;

  for (i = 0; i < n; i++) {
    gchar *line = g_strdup_printf ("%s\n", sftest_case_text (tc, i));
    gint64 t, len = 0;
    GstBuffer *out;

    for (t = 0; t < T; t++)
      len += sf_tensor_i64 (mask64)[i * T + t];

    g_assert_cmpint (push_string (h, line), ==, GST_FLOW_OK);
    g_free (line);
    out = gst_harness_pull (h);

    current_info (h, &info);
    g_assert_cmpuint (info.tensors[0].ndim, ==, 3);
    g_assert_cmpuint (info.tensors[0].dims[0], ==, H);
    g_assert_cmpuint (info.tensors[0].dims[1], ==, len);
    g_assert_cmpuint (info.tensors[0].dims[2], ==, 1);
    assert_row (out, hidden, i, len * H, tc, "hidden_states.2");
    gst_buffer_unref (out);
  }

  gst_harness_teardown (h);
  sf_tensor_unref (mask64);
  sf_tensor_unref (mask);
  sf_tensor_unref (hidden);
  sftest_case_free (tc);
}

/* pooling=none with every line in one buffer, at batch-size 1 and
 * through the shared queue: the lines run together, and each output is
 * its own line's rows, [1, T, H] with its own T. */
static void
check_hidden_states_together (const gchar *batch_size)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-embed");
  SfTensor *hidden = sftest_case_tensor (tc, "hidden_states.2");
  SfTensor *mask = sf_safetensors_get (tc->io, "attention_mask");
  SfTensor *mask64 = sf_tensor_to_i64 (mask);
  GstHarness *h = encoder_harness (
      "bert-tiny-embed", "pooling", "none", "batch-size", batch_size, NULL);
  gint64 T = sf_tensor_dim (mask64, 1), H = sf_tensor_dim (hidden, 2);
  guint i, n = sftest_case_n_texts (tc);
  GString *all = g_string_new (NULL);

  for (i = 0; i < n; i++)
    g_string_append_printf (all, "%s\n", sftest_case_text (tc, i));
  g_assert_cmpint (push_string (h, all->str), ==, GST_FLOW_OK);
  g_string_free (all, TRUE);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, n);
  for (i = 0; i < n; i++) {
    GstBuffer *out = gst_harness_pull (h);
    gint64 t, len = 0;

    for (t = 0; t < T; t++)
      len += sf_tensor_i64 (mask64)[i * T + t];
    g_assert_cmpuint (gst_buffer_get_size (out), ==, len * H * sizeof (float));
    assert_row (out, hidden, i, len * H, tc, "hidden_states.2");
    gst_buffer_unref (out);
  }

  gst_harness_teardown (h);
  sf_tensor_unref (mask64);
  sf_tensor_unref (mask);
  sf_tensor_unref (hidden);
  sftest_case_free (tc);
}

static void
test_hidden_states_together (void)
{
  check_hidden_states_together ("1");
  check_hidden_states_together ("4");
}

static void
test_split_buffer (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness ("bert-tiny-cls", "split", "buffer", NULL);
  guint i, n = sftest_case_n_texts (tc);

  for (i = 0; i < n; i++) {
    const gchar *text = sftest_case_text (tc, i);
    GstBuffer *in = gst_buffer_new_memdup (text, strlen (text));
    GstBuffer *out;

    GST_BUFFER_PTS (in) = (i + 10) * GST_SECOND;
    GST_BUFFER_DURATION (in) = 500 * GST_MSECOND;
    g_assert_cmpint (gst_harness_push (h, in), ==, GST_FLOW_OK);
    out = gst_harness_pull (h);
    assert_row (out, logits, i, sf_tensor_dim (logits, 1), tc, "logits");
    g_assert_cmpuint (GST_BUFFER_PTS (out), ==, (i + 10) * GST_SECOND);
    g_assert_cmpuint (GST_BUFFER_DURATION (out), ==, 500 * GST_MSECOND);
    gst_buffer_unref (out);
  }

  gst_harness_teardown (h);
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

static void
test_line_across_buffers (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  const gchar *text = sftest_case_text (tc, 0);
  gsize half = strlen (text) / 2;
  GstBuffer *out;

  g_assert_cmpint (push_text (h, text, half, 2 * GST_SECOND), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  g_assert_cmpint (
      push_text (h, text + half, strlen (text) - half, 3 * GST_SECOND), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  g_assert_cmpint (push_string (h, "\n"), ==, GST_FLOW_OK);

  out = gst_harness_pull (h);
  assert_row (out, logits, 0, sf_tensor_dim (logits, 1), tc, "logits");
  g_assert_cmpstr (meta_text (out), ==, text);
  /* A line takes the pts of the buffer in which it began. */
  g_assert_cmpuint (GST_BUFFER_PTS (out), ==, 2 * GST_SECOND);
  gst_buffer_unref (out);

  gst_harness_teardown (h);
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

static void
test_eos_flushes_last_line (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  GstBuffer *out;

  g_assert_cmpint (push_string (h, sftest_case_text (tc, 1)), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  out = gst_harness_pull (h);
  assert_row (out, logits, 1, sf_tensor_dim (logits, 1), tc, "logits");
  gst_buffer_unref (out);

  gst_harness_teardown (h);
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

static void
test_empty_lines_skipped (void)
{
  SfTestCase *tc = sftest_case_open ("bert-tiny-cls");
  SfTensor *logits = sftest_case_tensor (tc, "logits");
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  gchar *input =
      g_strdup_printf ("\n\r\n%s\r\n  \n\n", sftest_case_text (tc, 2));
  GstBuffer *out;

  g_assert_cmpint (push_string (h, input), ==, GST_FLOW_OK);
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  out = gst_harness_pull (h);
  assert_row (out, logits, 2, sf_tensor_dim (logits, 1), tc, "logits");
  g_assert_cmpstr (meta_text (out), ==, sftest_case_text (tc, 2));
  gst_buffer_unref (out);

  g_free (input);
  gst_harness_teardown (h);
  sf_tensor_unref (logits);
  sftest_case_free (tc);
}

static void
assert_finite (GstBuffer *buffer, gsize n)
{
  GstMapInfo map;
  gsize i;

  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  g_assert_cmpuint (map.size, ==, n * sizeof (float));
  for (i = 0; i < n; i++)
    g_assert_true (isfinite (((const float *)map.data)[i]));
  gst_buffer_unmap (buffer, &map);
}

static void
test_invalid_utf8 (void)
{
  static const gchar bytes[] = "caf\xc3 \xff\xfe ok \x00 bin\x80\xc0\xaf";
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  GstBuffer *out;
  const gchar *text;

  g_assert_cmpint (
      push_text (h, bytes, sizeof (bytes) - 1, GST_CLOCK_TIME_NONE), ==,
      GST_FLOW_OK);
  g_assert_cmpint (push_string (h, "\n"), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  out = gst_harness_pull (h);
  assert_finite (out, 3);
  text = meta_text (out);
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_nonnull (strstr (text, "\xef\xbf\xbd")); /* U+FFFD */
  g_assert_nonnull (strstr (text, " bin")); /* text after the NUL kept */
  gst_buffer_unref (out);

  gst_harness_teardown (h);
}

static void
test_long_line_truncated (void)
{
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  GString *line = g_string_new (NULL);
  GstBuffer *out;
  guint i;

  for (i = 0; i < 10000; i++)
    g_string_append (line, i % 2 ? "movie " : "wonderful ");
  g_string_append_c (line, '\n');
  g_assert_cmpint (push_text (h, line->str, line->len, 0), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 1);
  out = gst_harness_pull (h);
  assert_finite (out, 3);
  gst_buffer_unref (out);

  g_string_free (line, TRUE);
  gst_harness_teardown (h);
}

/* Drains the harness: counts the outputs and their texts' bytes, checking
 * each text is whole UTF-8 and no longer than the line cap. */
static void
drain_texts (GstHarness *h, guint *n, gsize *bytes)
{
  GstBuffer *out;

  while ((out = gst_harness_try_pull (h)) != NULL) {
    const gchar *text = meta_text (out);
    gsize len = strlen (text);

    g_assert_cmpuint (len, <=, LINE_CAP);
    g_assert_true (g_utf8_validate (text, len, NULL));
    g_assert_null (strstr (text, "\xef\xbf\xbd")); /* cut at a boundary */
    assert_finite (out, 3);
    *bytes += len;
    (*n)++;
    gst_buffer_unref (out);
  }
}

/* Counts the messages of @type on @bus whose text contains @needle. */
static guint
count_messages (GstBus *bus, GstMessageType type, const gchar *needle)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, type)) != NULL) {
    GError *error = NULL;

    if (type == GST_MESSAGE_WARNING)
      gst_message_parse_warning (msg, &error, NULL);
    else
      gst_message_parse_error (msg, &error, NULL);
    g_test_message ("%s", error->message);
    if (needle == NULL || strstr (error->message, needle) != NULL)
      n++;
    g_error_free (error);
    gst_message_unref (msg);
  }
  return n;
}

/* 20 MiB without a newline, in 64 KiB buffers: the line is cut at the
 * 1 MiB cap (at UTF-8 boundaries) into about 20 texts that together are
 * the whole input, with one warning. Scanning each byte once keeps this
 * linear; a rescan of the pending line per buffer made it quadratic. */
static void
test_endless_line (void)
{
  static const gchar word[] = "h\xc3\xa9llo w\xc3\xb6rld "; /* 14 bytes */
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  GstBus *bus = gst_bus_new ();
  GString *chunk = g_string_new (NULL);
  gsize total = 0, bytes = 0, cap = LINE_CAP;
  guint n = 0;

  gst_element_set_bus (h->element, bus);
  while (chunk->len + sizeof (word) - 1 <= 64 * 1024)
    g_string_append (chunk, word);
  while (total < 20 * cap) {
    g_assert_cmpint (push_text (h, chunk->str, chunk->len, GST_CLOCK_TIME_NONE),
        ==, GST_FLOW_OK);
    total += chunk->len;
    drain_texts (h, &n, &bytes);
  }
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  drain_texts (h, &n, &bytes);

  g_assert_cmpuint (bytes, ==, total);
  g_assert_cmpuint (n, >=, (total + cap - 1) / cap);
  g_assert_cmpuint (n, <=, (total + cap - 4) / (cap - 3));
  g_assert_cmpuint (count_messages (bus, GST_MESSAGE_WARNING, "longer"), ==, 1);
  g_assert_cmpuint (count_messages (bus, GST_MESSAGE_ERROR, NULL), ==, 0);

  g_string_free (chunk, TRUE);
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

/* The last line fails at EOS (downstream refuses its caps): the failure is
 * an element error, and EOS still reaches downstream. */
static void
test_eos_error (void)
{
  GstHarness *h = encoder_harness ("bert-tiny-embed", "pooling", "none", NULL);
  GstBus *bus = gst_bus_new ();
  gboolean eos = FALSE;
  GstEvent *event;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_sink_caps_str (h,
      GST_SF_TENSORS_MIME ", format=(string)static, num_tensors=(int)1, "
                          "types=(string)float32, dimensions=(string)1:1:1");
  g_assert_cmpint (push_string (h, "no line break"), ==, GST_FLOW_OK);
  g_assert_false (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  while ((event = gst_harness_try_pull_event (h)) != NULL) {
    eos |= GST_EVENT_TYPE (event) == GST_EVENT_EOS;
    gst_event_unref (event);
  }
  g_assert_true (eos);
  g_assert_cmpuint (count_messages (bus, GST_MESSAGE_ERROR, NULL), ==, 1);

  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

static void
test_max_length (void)
{
  GstHarness *h = encoder_harness (
      "bert-tiny-embed", "pooling", "none", "max-length", "8", NULL);
  GstBuffer *out;
  gchar *dims;

  g_assert_cmpint (
      push_string (
          h, "one two three four five six seven eight nine ten eleven\n"),
      ==, GST_FLOW_OK);
  out = gst_harness_pull (h);
  dims = current_dims (h);
  g_assert_cmpstr (dims, ==, "64:8:1");
  g_free (dims);
  gst_buffer_unref (out);

  gst_harness_teardown (h);
}

static void
test_timestamps_increase (void)
{
  GstHarness *h = encoder_harness ("bert-tiny-cls", NULL);
  GstClockTime last = GST_CLOCK_TIME_NONE;
  guint i;

  /* Two lines end in each buffer, and the second buffer goes back in time. */
  g_assert_cmpint (
      push_text (h, "a b\nc d\n", 8, 5 * GST_SECOND), ==, GST_FLOW_OK);
  g_assert_cmpint (
      push_text (h, "e f\ng h\n", 8, 4 * GST_SECOND), ==, GST_FLOW_OK);
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 4);
  for (i = 0; i < 4; i++) {
    GstBuffer *out = gst_harness_pull (h);

    g_assert_true (GST_BUFFER_PTS_IS_VALID (out));
    if (i == 0)
      g_assert_cmpuint (GST_BUFFER_PTS (out), ==, 5 * GST_SECOND);
    else
      g_assert_cmpuint (GST_BUFFER_PTS (out), >, last);
    last = GST_BUFFER_PTS (out);
    gst_buffer_unref (out);
  }

  gst_harness_teardown (h);
}

/* Start fails and the bus gets an error that names the folder. */
static void
assert_start_fails (const gchar *path, const gchar *needle)
{
  GstElement *element = gst_element_factory_make ("sftextencoder", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  gst_element_set_bus (element, bus);
  g_object_set (element, "model", path, NULL);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, &debug);
  g_test_message ("error: %s (%s)", error->message, debug);
  g_assert_nonnull (strstr (error->message, needle));

  g_clear_error (&error);
  g_free (debug);
  gst_message_unref (msg);
  gst_element_set_state (element, GST_STATE_NULL);
  /* Queued messages hold the element, which holds the bus. */
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (element, NULL);
  gst_object_unref (element);
  gst_object_unref (bus);
}

static void
test_bad_model_path (void)
{
  assert_start_fails (
      "/nonexistent/streamformer-model", "/nonexistent/streamformer-model");
}

static void
test_no_model (void)
{
  GstElement *element = gst_element_factory_make ("sftextencoder", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;

  gst_element_set_bus (element, bus);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  gst_element_set_state (element, GST_STATE_NULL);
  /* Queued messages hold the element, which holds the bus. */
  gst_bus_set_flushing (bus, TRUE);
  gst_element_set_bus (element, NULL);
  gst_object_unref (element);
  gst_object_unref (bus);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func (
      "/plugins/sftextencoder/logits/bert", "bert-tiny-cls", test_logits_lines);
  g_test_add_data_func ("/plugins/sftextencoder/logits/distilbert",
      "distilbert-tiny-cls", test_logits_lines);
  g_test_add_data_func ("/plugins/sftextencoder/logits/roberta",
      "roberta-tiny-cls", test_logits_lines);
  g_test_add_data_func (
      "/plugins/sftextencoder/precision/bf16", "bf16", test_precision);
  g_test_add_data_func (
      "/plugins/sftextencoder/precision/int8", "int8", test_precision);
  g_test_add_func (
      "/plugins/sftextencoder/precision/fallback", test_precision_fallback);
  g_test_add_func (
      "/plugins/sftextencoder/pooling/mean-normalized", test_mean_pooled);
  g_test_add_func (
      "/plugins/sftextencoder/pooling/none-caps", test_hidden_state_caps);
  g_test_add_func ("/plugins/sftextencoder/pooling/none-together",
      test_hidden_states_together);
  g_test_add_func ("/plugins/sftextencoder/split/buffer", test_split_buffer);
  g_test_add_func (
      "/plugins/sftextencoder/split/across-buffers", test_line_across_buffers);
  g_test_add_func (
      "/plugins/sftextencoder/split/eos-flush", test_eos_flushes_last_line);
  g_test_add_func (
      "/plugins/sftextencoder/split/empty-lines", test_empty_lines_skipped);
  g_test_add_func (
      "/plugins/sftextencoder/input/invalid-utf8", test_invalid_utf8);
  g_test_add_func (
      "/plugins/sftextencoder/input/long-line", test_long_line_truncated);
  g_test_add_func (
      "/plugins/sftextencoder/input/endless-line", test_endless_line);
  g_test_add_func ("/plugins/sftextencoder/input/max-length", test_max_length);
  g_test_add_func ("/plugins/sftextencoder/errors/eos", test_eos_error);
  g_test_add_func (
      "/plugins/sftextencoder/timestamps/increasing", test_timestamps_increase);
  g_test_add_func (
      "/plugins/sftextencoder/errors/bad-model-path", test_bad_model_path);
  g_test_add_func ("/plugins/sftextencoder/errors/no-model", test_no_model);

  return g_test_run ();
}
