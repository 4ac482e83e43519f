/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sftextgenerator driven through GstHarness: greedy continuations and
 * summaries must give transformers' greedy ids (gpt2-tiny-lm, t5-tiny-gen,
 * bart-tiny-sum), streaming must give the same text in pieces, empty
 * lines are skipped, sampling repeats with a seed, and a checkpoint that
 * does not generate is one clear error at start. */
#include <string.h>

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include "gstsftensors.h"
#include "sftest.h"

#define TEXT_CAPS "text/x-raw, format=(string)utf8"

/* A harness around an sftextgenerator on case @name, with properties
 * given as name and value strings, NULL-terminated. */
static GstHarness *
generator_harness (const gchar *name, ...)
{
  GstElement *element = gst_element_factory_make ("sftextgenerator", NULL);
  g_autofree gchar *dir = sftest_fixture (name);
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
  h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gst_harness_set_src_caps_str (h, TEXT_CAPS);
  return h;
}

static void
push_string (GstHarness *h, const gchar *text)
{
  g_assert_cmpint (
      gst_harness_push (h, gst_buffer_new_memdup (text, strlen (text))), ==,
      GST_FLOW_OK);
}

static gchar *
buffer_text (GstBuffer *b)
{
  GstMapInfo map;
  gchar *text;

  g_assert_true (gst_buffer_map (b, &map, GST_MAP_READ));
  text = g_strndup ((const gchar *)map.data, map.size);
  gst_buffer_unmap (b, &map);
  return text;
}

/* The result meta's "ids" must be @want[@skip..] (an array of ids). */
static void
assert_ids (GstBuffer *b, const cJSON *want, guint skip)
{
  GstSfResultMeta *meta = gst_buffer_get_sf_result_meta (b);
  const GValue *ids;
  guint n;

  g_assert_nonnull (meta);
  ids = gst_structure_get_value (meta->result, "ids");
  g_assert_nonnull (ids);
  n = gst_value_array_get_size (ids);
  g_assert_cmpuint (n, ==, cJSON_GetArraySize (want) - skip);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_value_get_int (gst_value_array_get_value (ids, i)), ==,
        (gint)cJSON_GetNumberValue (cJSON_GetArrayItem (want, i + skip)));
}

/* Each prompt, continued greedily for 16 tokens, gives the reference's
 * greedy ids after the prompt's own. */
static void
test_gpt2_greedy (void)
{
  SfTestCase *tc = sftest_case_open ("gpt2-tiny-lm");
  const cJSON *prompts = cJSON_GetObjectItem (tc->json, "prompts");
  const cJSON *greedy = cJSON_GetObjectItem (tc->json, "greedy_ids");
  GstHarness *h = generator_harness ("gpt2-tiny-lm", "max-new-tokens", "16",
      "num-beams", "1", "do-sample", "false", NULL);
  guint n = cJSON_GetArraySize (prompts);

  for (guint i = 0; i < n; i++) {
    g_autofree gchar *line = g_strdup_printf (
        "%s\n", cJSON_GetStringValue (cJSON_GetArrayItem (prompts, i)));
    g_autoptr (SfTensor) prompt_ids = NULL;
    g_autofree gchar *key = g_strdup_printf ("input_ids.%u", i);
    g_autofree gchar *text = NULL;
    GstSfResultMeta *meta;
    GstBuffer *b;

    push_string (h, line);
    b = gst_harness_pull (h);
    prompt_ids = sftest_case_tensor (tc, key);
    assert_ids (
        b, cJSON_GetArrayItem (greedy, i), (guint)sf_tensor_numel (prompt_ids));
    meta = gst_buffer_get_sf_result_meta (b);
    g_assert_cmpstr (gst_structure_get_string (meta->result, "text"), ==,
        cJSON_GetStringValue (cJSON_GetArrayItem (prompts, i)));
    /* the buffer is the generated text and a newline */
    text = buffer_text (b);
    g_assert_true (g_str_has_suffix (text, "\n"));
    text[strlen (text) - 1] = '\0';
    g_assert_cmpstr (
        text, ==, gst_structure_get_string (meta->result, "generated"));
    gst_buffer_unref (b);
  }
  g_assert_cmpuint (gst_harness_buffers_in_queue (h), ==, 0);
  gst_harness_teardown (h);
  sftest_case_free (tc);
}

/* Encoder-decoders: the texts (with their task prefixes) summarised or
 * translated greedily give the reference ids after the decoder start, at
 * @precision too (the tiny cases keep their choices at bf16 and int8;
 * README, "Precision"). */
static void
check_seq2seq (
    const gchar *name, const gchar *max_new_tokens, const gchar *precision)
{
  SfTestCase *tc = sftest_case_open (name);
  const cJSON *texts = cJSON_GetObjectItem (tc->json, "texts");
  const cJSON *greedy = cJSON_GetObjectItem (tc->json, "greedy_ids");
  GstHarness *h = generator_harness (name, "max-new-tokens", max_new_tokens,
      "num-beams", "1", "do-sample", "false", "prefix", "", "precision",
      precision, NULL);

  for (guint i = 0; i < (guint)cJSON_GetArraySize (texts); i++) {
    g_autofree gchar *line = g_strdup_printf (
        "%s\n", cJSON_GetStringValue (cJSON_GetArrayItem (texts, i)));
    GstBuffer *b;

    push_string (h, line);
    b = gst_harness_pull (h);
    assert_ids (b, cJSON_GetArrayItem (greedy, i), 1);
    gst_buffer_unref (b);
  }
  gst_harness_teardown (h);
  sftest_case_free (tc);
}

static void
test_t5_greedy (gconstpointer precision)
{
  check_seq2seq ("t5-tiny-gen", "16", precision);
}

static void
test_bart_greedy (gconstpointer precision)
{
  check_seq2seq ("bart-tiny-sum", "16", precision);
}

/* stream=true: the pieces, in order, are the text stream=false gives;
 * the newline that ends the text carries the result. Empty lines give
 * nothing. */
static void
test_stream (void)
{
  GstHarness *whole = generator_harness (
      "gpt2-tiny-lm", "max-new-tokens", "12", "do-sample", "false", NULL);
  GstHarness *parts = generator_harness ("gpt2-tiny-lm", "max-new-tokens", "12",
      "do-sample", "false", "stream", "true", NULL);
  g_autoptr (GString) joined = g_string_new (NULL);
  g_autofree gchar *want = NULL;
  guint n_pieces = 0;
  GstBuffer *b;

  push_string (whole, "Once upon a time\n");
  b = gst_harness_pull (whole);
  want = buffer_text (b);
  gst_buffer_unref (b);

  push_string (parts, "\n\nOnce upon a time\n\n");
  g_assert_true (gst_harness_push_event (parts, gst_event_new_eos ()));
  while ((b = gst_harness_try_pull (parts)) != NULL) {
    g_autofree gchar *piece = buffer_text (b);
    gboolean last = g_str_equal (piece, "\n");

    g_assert_cmpint (last, ==, gst_buffer_get_sf_result_meta (b) != NULL);
    g_string_append (joined, piece);
    n_pieces += !last;
    gst_buffer_unref (b);
  }
  g_test_message ("%u pieces: %s", n_pieces, joined->str);
  g_assert_cmpuint (n_pieces, >, 1);
  g_assert_cmpstr (joined->str, ==, want);
  gst_harness_teardown (whole);
  gst_harness_teardown (parts);
}

/* Sampling: one seed gives one text; the ids stay in the vocabulary. */
static void
test_sample_seed (void)
{
  g_autofree gchar *a = NULL, *b = NULL;

  for (guint run = 0; run < 2; run++) {
    GstHarness *h = generator_harness ("gpt2-tiny-lm", "max-new-tokens", "10",
        "do-sample", "true", "seed", "42", "top-k", "20", NULL);
    GstBuffer *buf;

    push_string (h, "Machine learning is\n");
    buf = gst_harness_pull (h);
    if (run == 0)
      a = buffer_text (buf);
    else
      b = buffer_text (buf);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
  g_assert_cmpstr (a, ==, b);
}

/* An encoder-only checkpoint: one error at start that says so. */
static void
test_not_generative (void)
{
  GstElement *element = gst_element_factory_make ("sftextgenerator", NULL);
  g_autofree gchar *dir = sftest_fixture ("bert-tiny-cls");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  guint n_errors = 0;

  gst_element_set_bus (element, bus);
  g_object_set (element, "model", dir, NULL);
  g_assert_cmpint (gst_element_set_state (element, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_FAILURE);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR)) != NULL) {
    if (n_errors++ == 0)
      gst_message_parse_error (msg, &error, NULL);
    gst_message_unref (msg);
  }
  g_assert_cmpuint (n_errors, ==, 1);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "does not generate text"));
  g_error_free (error);
  gst_element_set_state (element, GST_STATE_NULL);
  gst_element_set_bus (element, NULL);
  gst_object_unref (bus);
  gst_object_unref (element);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugins/sftextgenerator/gpt2/greedy", test_gpt2_greedy);
  g_test_add_data_func (
      "/plugins/sftextgenerator/t5/greedy", "f32", test_t5_greedy);
  g_test_add_data_func (
      "/plugins/sftextgenerator/t5/greedy-bf16", "bf16", test_t5_greedy);
  g_test_add_data_func (
      "/plugins/sftextgenerator/t5/greedy-int8", "int8", test_t5_greedy);
  g_test_add_data_func (
      "/plugins/sftextgenerator/bart/greedy", "f32", test_bart_greedy);
  g_test_add_data_func (
      "/plugins/sftextgenerator/bart/greedy-bf16", "bf16", test_bart_greedy);
  g_test_add_data_func (
      "/plugins/sftextgenerator/bart/greedy-int8", "int8", test_bart_greedy);
  g_test_add_func ("/plugins/sftextgenerator/stream", test_stream);
  g_test_add_func ("/plugins/sftextgenerator/sample/seed", test_sample_seed);
  g_test_add_func (
      "/plugins/sftextgenerator/model/not-generative", test_not_generative);
  return g_test_run ();
}
