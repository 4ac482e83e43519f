/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-sftextgenerator
 * @title: sftextgenerator
 *
 * Generates text from each line (or buffer) of its input with a
 * Hugging Face checkpoint that generates: GPT-2 continues the prompt
 * (autocomplete), BART and T5 write a summary or translation of it.
 *
 * Decoding follows the checkpoint's generation_config.json (and, as
 * transformers' pipelines do, its task_specific_params: T5's
 * "summarize: " prefix, BART's beam settings); each property left at its
 * default keeps the checkpoint's value. Greedy decoding, beam search
 * (num-beams) and sampling (do-sample, temperature, top-k, top-p, with a
 * seed that makes runs repeatable) are supported, with
 * repetition-penalty and no-repeat-ngram-size.
 *
 * Each input text gives one output buffer holding the generated text and
 * a newline. With stream=true each new piece of text is pushed as its own
 * buffer as soon as it is decoded (an autocomplete UI shows words as they
 * come), and the newline ends the text. The final buffer of each text
 * carries a GstSfResultMeta, also posted as an element message:
 * "sftextgenerator" with text (the prompt), generated (the new text),
 * prompt-ids and ids (token ids, arrays of ints). sfjsonsink writes
 * `{"pts": …, "duration": …, "text": …, "generated": …, …}`. Empty lines
 * are skipped. With split=lines the streams of a funnel are kept apart as
 * in sftextencoder: a line never joins the text of two streams.
 *
 * With batch-size above 1, every sftextgenerator of the process that
 * names the same checkpoint and precision shares one queue: the texts of
 * all their streams (and consecutive lines of one stream) decode
 * together, each step running the next token of every unfinished text
 * as one row of one batch, each text with its own caches, settings and
 * limits, leaving the batch at its end token or limit. The thread that
 * fills a batch, or whose text has waited batch-timeout-ms, runs it; each
 * stream then pushes its own results, in order, with its own timestamps.
 * A batched text comes out whole (stream=true pushes pieces only with
 * batch-size 1). Greedy decoding only: texts asking for beams or sampling
 * decode one by one in the pass. The results equal batch-size 1's.
 *
 * Like every result, the message also has stream-id and source (strings:
 * the stream's id and the element it comes from, through a funnel too)
 * and json (string: the whole result as the JSON object sfjsonsink
 * writes), readable from Python without GstValueArray bindings.
 *
 * ## Example launch lines
 * |[
 * echo "The weather today is" | gst-launch-1.0 fdsrc ! sftextgenerator model=./gpt2 max-new-tokens=20 stream=true ! fdsink
 * ]| Continues the prompt, printing words as they are decoded.
 * |[
 * gst-launch-1.0 filesrc location=article.txt ! sftextgenerator model=./distilbart-cnn-12-6 split=buffer ! sfjsonsink
 * ]| Summarises the whole file with the checkpoint's beam search.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsfmodel.h"
#include "gstsftextgenerator-private.h"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("text/x-raw, format=utf8"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("text/x-raw, format=utf8"));

GST_DEBUG_CATEGORY (gst_sf_text_generator_debug);
#define GST_CAT_DEFAULT gst_sf_text_generator_debug

#define GST_TYPE_SF_SAMPLE_CHOICE (sample_choice_get_type ())
static GType
sample_choice_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_SAMPLE_AUTO, "As the checkpoint's generation config says",
        "auto" },
    { GST_SF_SAMPLE_FALSE, "Greedy or beam search", "false" },
    { GST_SF_SAMPLE_TRUE, "Sample from the distribution", "true" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfSampleChoice", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_PRECISION,
  PROP_SPLIT,
  PROP_MAX_NEW_TOKENS,
  PROP_NUM_BEAMS,
  PROP_DO_SAMPLE,
  PROP_TEMPERATURE,
  PROP_TOP_K,
  PROP_TOP_P,
  PROP_SEED,
  PROP_REPETITION_PENALTY,
  PROP_NO_REPEAT_NGRAM_SIZE,
  PROP_PREFIX,
  PROP_STREAM,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT_MS,
};

#define gst_sf_text_generator_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSfTextGenerator, gst_sf_text_generator,
    GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_sf_text_generator_debug, "sftextgenerator", 0,
        "Streamformer text generator"));
GST_ELEMENT_REGISTER_DEFINE (sftextgenerator, "sftextgenerator", GST_RANK_NONE,
    GST_TYPE_SF_TEXT_GENERATOR);

static void
gst_sf_text_generator_finalize (GObject *object)
{
  GstSfTextGenerator *self = GST_SF_TEXT_GENERATOR (object);

  g_free (self->model_path);
  g_free (self->settings.prefix);
  sf_text_generator_free (self->gen);
  gst_sf_line_splitter_clear (&self->lines);
  gst_sf_line_streams_clear (&self->streams);
  gst_sf_src_reset (&self->src);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_sf_text_generator_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSfTextGenerator *self = GST_SF_TEXT_GENERATOR (object);
  GstSfGenerateSettings *s = &self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_PRECISION: self->precision = g_value_get_enum (value); break;
    case PROP_SPLIT: self->split = g_value_get_enum (value); break;
    case PROP_MAX_NEW_TOKENS:
      s->max_new_tokens = g_value_get_uint (value);
      break;
    case PROP_NUM_BEAMS: s->num_beams = g_value_get_uint (value); break;
    case PROP_DO_SAMPLE: s->do_sample = g_value_get_enum (value); break;
    case PROP_TEMPERATURE: s->temperature = g_value_get_double (value); break;
    case PROP_TOP_K: s->top_k = g_value_get_int (value); break;
    case PROP_TOP_P: s->top_p = g_value_get_double (value); break;
    case PROP_SEED: s->seed = g_value_get_uint64 (value); break;
    case PROP_REPETITION_PENALTY:
      s->repetition_penalty = g_value_get_double (value);
      break;
    case PROP_NO_REPEAT_NGRAM_SIZE:
      s->no_repeat_ngram_size = g_value_get_int (value);
      break;
    case PROP_PREFIX:
      g_free (s->prefix);
      s->prefix = g_value_dup_string (value);
      break;
    case PROP_STREAM: s->stream = g_value_get_boolean (value); break;
    case PROP_BATCH_SIZE: self->batch_size = g_value_get_uint (value); break;
    case PROP_BATCH_TIMEOUT_MS:
      self->batch_timeout_ms = g_value_get_uint (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_text_generator_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSfTextGenerator *self = GST_SF_TEXT_GENERATOR (object);
  GstSfGenerateSettings *s = &self->settings;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string (value, self->model_path); break;
    case PROP_PRECISION: g_value_set_enum (value, self->precision); break;
    case PROP_SPLIT: g_value_set_enum (value, self->split); break;
    case PROP_MAX_NEW_TOKENS:
      g_value_set_uint (value, s->max_new_tokens);
      break;
    case PROP_NUM_BEAMS: g_value_set_uint (value, s->num_beams); break;
    case PROP_DO_SAMPLE: g_value_set_enum (value, s->do_sample); break;
    case PROP_TEMPERATURE: g_value_set_double (value, s->temperature); break;
    case PROP_TOP_K: g_value_set_int (value, s->top_k); break;
    case PROP_TOP_P: g_value_set_double (value, s->top_p); break;
    case PROP_SEED: g_value_set_uint64 (value, s->seed); break;
    case PROP_REPETITION_PENALTY:
      g_value_set_double (value, s->repetition_penalty);
      break;
    case PROP_NO_REPEAT_NGRAM_SIZE:
      g_value_set_int (value, s->no_repeat_ngram_size);
      break;
    case PROP_PREFIX: g_value_set_string (value, s->prefix); break;
    case PROP_STREAM: g_value_set_boolean (value, s->stream); break;
    case PROP_BATCH_SIZE: g_value_set_uint (value, self->batch_size); break;
    case PROP_BATCH_TIMEOUT_MS:
      g_value_set_uint (value, self->batch_timeout_ms);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sf_text_generator_reset (GstSfTextGenerator *self)
{
  gst_sf_line_splitter_reset (&self->lines);
  gst_sf_line_streams_reset (&self->streams);
  gst_sf_text_clock_reset (&self->clock);
  self->posted_error = FALSE;
  gst_sf_src_reset (&self->src);
}

static gboolean
gst_sf_text_generator_start (GstSfTextGenerator *self)
{
  g_autofree gchar *path = NULL;
  SfPrecision precision;
  guint batch_size, batch_timeout_ms;
  g_autoptr (SfModel) model = NULL;
  g_autoptr (GError) error = NULL;
  GstSfBatcher *batcher = NULL;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  precision = self->precision;
  batch_size = self->batch_size;
  batch_timeout_ms = self->batch_timeout_ms;
  self->cur_split = self->split;
  GST_OBJECT_UNLOCK (self);

  model = gst_sf_model_load (GST_ELEMENT (self), path, precision);
  if (model == NULL)
    return FALSE; /* gst_sf_model_load posted the error */
  self->gen = sf_text_generator_new (model, &error);
  if (self->gen == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Model \"%s\" (%s) cannot be used by sftextgenerator: %s", path,
            sf_model_architecture (model), error->message),
        ("sftextgenerator runs GPT-2, BART and T5 checkpoints"));
    return FALSE;
  }
  if (batch_size > 1) {
    /* the model generates: this cannot fail where the line above did not */
    batcher = gst_sf_batcher_new_generating (
        model, batch_size, batch_timeout_ms, &error);
    if (batcher == NULL) {
      GST_ELEMENT_ERROR (
          self, RESOURCE, SETTINGS, ("%s", error->message), (NULL));
      return FALSE;
    }
  }
  GST_OBJECT_LOCK (self);
  self->batcher = batcher;
  GST_OBJECT_UNLOCK (self);
  gst_sf_text_generator_reset (self);
  return TRUE;
}

/* Withdraws (or lets in again) this element's texts in the shared queue. */
static void
gst_sf_text_generator_set_flushing (GstSfTextGenerator *self, gboolean flushing)
{
  GST_OBJECT_LOCK (self);
  if (self->batcher != NULL)
    gst_sf_batcher_set_flushing (self->batcher, flushing);
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_sf_text_generator_change_state (
    GstElement *element, GstStateChange transition)
{
  GstSfTextGenerator *self = GST_SF_TEXT_GENERATOR (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED
      && !gst_sf_text_generator_start (self))
    return GST_STATE_CHANGE_FAILURE;
  /* A streaming thread waiting in the shared queue returns at once. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_sf_text_generator_set_flushing (self, TRUE);

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    gst_sf_text_generator_reset (self);
    GST_OBJECT_LOCK (self);
    g_clear_pointer (&self->batcher, gst_sf_batcher_free);
    GST_OBJECT_UNLOCK (self);
    g_clear_pointer (&self->gen, sf_text_generator_free);
  }
  return ret;
}

static GstFlowReturn
gst_sf_text_generator_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstSfTextGenerator *self = GST_SF_TEXT_GENERATOR (parent);
  g_autoptr (GArray) items = gst_sf_text_items_new ();

  if (!gst_sf_line_splitter_take (
          &self->lines, self->cur_split, buffer, items)) {
    GST_ELEMENT_ERROR (
        self, RESOURCE, READ, (NULL), ("could not map the input buffer"));
    return GST_FLOW_ERROR;
  }
  return gst_sf_text_generator_process (self, items);
}

/* gst_sf_text_generator_process as the line streams call it */
static GstFlowReturn
process_lines (gpointer element, GArray *items)
{
  return gst_sf_text_generator_process (element, items);
}

/* EOS: generates from what is left, then forwards EOS. */
static gboolean
gst_sf_text_generator_eos (GstSfTextGenerator *self, GstEvent *event)
{
  g_autoptr (GArray) items = gst_sf_text_items_new ();
  GstFlowReturn ret;

  /* the other streams' last lines, each after its stream-start */
  ret = gst_sf_line_streams_finish_all (
      &self->streams, items, self->src.pad, process_lines, self);
  if (ret == GST_FLOW_OK) {
    gst_sf_line_splitter_finish (&self->lines, items);
    ret = gst_sf_text_generator_process (self, items);
  }
  if (ret < GST_FLOW_EOS && ret != GST_FLOW_ERROR && ret != GST_FLOW_FLUSHING
      && !self->posted_error)
    GST_ELEMENT_FLOW_ERROR (self, ret);
  if (!gst_sf_text_generator_push_caps (self)) {
    gst_event_unref (event);
    return FALSE;
  }
  return gst_sf_src_push_eos (&self->src, event, ret) >= GST_FLOW_EOS;
}

static gboolean
gst_sf_text_generator_sink_event (
    GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstSfTextGenerator *self = GST_SF_TEXT_GENERATOR (parent);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      gst_event_unref (event);
      return gst_sf_text_generator_push_caps (self);
    case GST_EVENT_SEGMENT: return gst_sf_src_set_segment (&self->src, event);
    case GST_EVENT_STREAM_START:
      gst_sf_line_streams_switch (&self->streams, &self->lines, event);
      break;
    case GST_EVENT_FLUSH_START:
      gst_sf_text_generator_set_flushing (self, TRUE);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_sf_text_generator_set_flushing (self, FALSE);
      gst_sf_line_splitter_reset (&self->lines);
      gst_sf_line_streams_reset (&self->streams);
      self->clock.last_pts = GST_CLOCK_TIME_NONE;
      break;
    case GST_EVENT_EOS: return gst_sf_text_generator_eos (self, event);
    default: break;
  }
  return gst_pad_event_default (pad, parent, event);
}

static void
gst_sf_text_generator_class_init (GstSfTextGeneratorClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags live = rw | GST_PARAM_MUTABLE_PLAYING;

  gobject_class->finalize = gst_sf_text_generator_finalize;
  gobject_class->set_property = gst_sf_text_generator_set_property;
  gobject_class->get_property = gst_sf_text_generator_get_property;

  gst_sf_element_install_model_property (gobject_class, PROP_MODEL,
      "a generating text model (GPT-2, BART, T5) with a tokenizer");
  gst_sf_element_install_precision_property (gobject_class, PROP_PRECISION);
  g_object_class_install_property (gobject_class, PROP_SPLIT,
      g_param_spec_enum ("split", "Split",
          "How the input is cut into prompts: one per line, or one per "
          "buffer",
          GST_TYPE_SF_TEXT_SPLIT, GST_SF_TEXT_SPLIT_LINES, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_NEW_TOKENS,
      g_param_spec_uint ("max-new-tokens", "Max new tokens",
          "Most tokens to generate per prompt; 0 keeps the checkpoint's "
          "max_length / max_new_tokens",
          0, 1 << 20, 0, live));
  g_object_class_install_property (gobject_class, PROP_NUM_BEAMS,
      g_param_spec_uint ("num-beams", "Beams",
          "Beam search width; 1 is greedy; 0 keeps the checkpoint's", 0, 64, 0,
          live));
  g_object_class_install_property (gobject_class, PROP_DO_SAMPLE,
      g_param_spec_enum ("do-sample", "Sample",
          "Sample the next token instead of taking the most likely",
          GST_TYPE_SF_SAMPLE_CHOICE, GST_SF_SAMPLE_AUTO, live));
  g_object_class_install_property (gobject_class, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "Sampling temperature; 0 keeps the checkpoint's", 0, 100, 0, live));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_int ("top-k", "Top k",
          "Sample among the k most likely tokens; 0 turns it off, -1 keeps "
          "the checkpoint's",
          -1, G_MAXINT, -1, live));
  g_object_class_install_property (gobject_class, PROP_TOP_P,
      g_param_spec_double ("top-p", "Top p",
          "Sample among the most likely tokens whose probabilities add up "
          "to p; 0 keeps the checkpoint's",
          0, 1, 0, live));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Seed of the sampler: the same seed gives the same text", 0,
          G_MAXUINT64, 0, live));
  g_object_class_install_property (gobject_class, PROP_REPETITION_PENALTY,
      g_param_spec_double ("repetition-penalty", "Repetition penalty",
          "Penalty on tokens already in the text (1 is none); 0 keeps the "
          "checkpoint's",
          0, 100, 0, live));
  g_object_class_install_property (gobject_class, PROP_NO_REPEAT_NGRAM_SIZE,
      g_param_spec_int ("no-repeat-ngram-size", "No-repeat n-gram size",
          "Never repeat an n-gram of this size (0 allows all); -1 keeps the "
          "checkpoint's",
          -1, 64, -1, live));
  g_object_class_install_property (gobject_class, PROP_PREFIX,
      g_param_spec_string ("prefix", "Prefix",
          "Text put in front of every prompt; unset keeps the checkpoint's "
          "task prefix (T5: \"summarize: \")",
          NULL, live));
  g_object_class_install_property (gobject_class, PROP_STREAM,
      g_param_spec_boolean ("stream", "Stream",
          "Push each new piece of text as soon as it is decoded (greedy and "
          "sampling with batch-size 1; beam search and batched texts give "
          "their text at the end)",
          FALSE, live));
  gst_sf_batcher_install_properties (
      gobject_class, PROP_BATCH_SIZE, PROP_BATCH_TIMEOUT_MS);

  gst_element_class_set_static_metadata (element_class,
      "Streamformer text generator", "Filter/Text",
      "Continues, summarises or translates text with a Hugging Face "
      "generating model (GPT-2, BART, T5): greedy, beam search or sampling",
      "Streamformer contributors");
  gst_sf_element_class_set_message (element_class, "sftextgenerator",
      "text (string: the prompt), generated (string: the new text), "
      "prompt-ids, ids (GstValueArray of gint token ids)");
  gst_sf_element_class_set_example (element_class,
      "echo \"The weather today is\" | gst-launch-1.0 fdsrc ! sftextgenerator "
      "model=openai-community/gpt2 max-new-tokens=20 stream=true ! fdsink");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_sf_text_generator_change_state);
  gst_type_mark_as_plugin_api (GST_TYPE_SF_SAMPLE_CHOICE, 0);
}

static void
gst_sf_text_generator_init (GstSfTextGenerator *self)
{
  GstPad *srcpad;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_text_generator_chain));
  gst_pad_set_event_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_sf_text_generator_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (srcpad);
  gst_element_add_pad (GST_ELEMENT (self), srcpad);
  gst_sf_src_init (&self->src, srcpad);

  self->split = GST_SF_TEXT_SPLIT_LINES;
  self->batch_size = GST_SF_BATCH_SIZE_DEFAULT;
  self->batch_timeout_ms = GST_SF_BATCH_TIMEOUT_DEFAULT;
  self->settings.top_k = -1;
  self->settings.no_repeat_ngram_size = -1;
  gst_sf_line_streams_init (&self->streams);
  gst_sf_line_splitter_init (&self->lines, GST_SF_TEXT_MAX_LINE_BYTES);
}
