/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftextgenerator's generating and pushing (see
 * gstsftextgenerator-private.h).
 *
 * With batch-size 1 each text is generated on the streaming thread, its
 * pieces pushed as they are decoded when stream=true. Above 1 the texts
 * go to the model's shared generating queue, where prompts of every
 * stream of the process decode together; each text then comes back whole
 * and is pushed by its own stream's thread, in order. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsftextgenerator-private.h"

#define GST_CAT_DEFAULT gst_sf_text_generator_debug

/* The checkpoint's decoding settings with the properties' changes; the
 * prefix (nullable: the checkpoint's) and stream flag come back too. */
static SfGenerationConfig
current_config (GstSfTextGenerator *self, gchar **prefix, gboolean *stream)
{
  SfGenerationConfig cfg = *sf_text_generator_defaults (self->gen);
  GstSfGenerateSettings *s = &self->settings;

  GST_OBJECT_LOCK (self);
  if (s->max_new_tokens > 0)
    cfg.max_new_tokens = s->max_new_tokens;
  if (s->num_beams > 0)
    cfg.num_beams = s->num_beams;
  if (s->do_sample != GST_SF_SAMPLE_AUTO)
    cfg.do_sample = s->do_sample == GST_SF_SAMPLE_TRUE;
  if (s->temperature > 0)
    cfg.temperature = s->temperature;
  if (s->top_k >= 0)
    cfg.top_k = s->top_k;
  if (s->top_p > 0)
    cfg.top_p = s->top_p;
  if (s->repetition_penalty > 0)
    cfg.repetition_penalty = s->repetition_penalty;
  if (s->no_repeat_ngram_size >= 0)
    cfg.no_repeat_ngram_size = s->no_repeat_ngram_size;
  cfg.seed = s->seed;
  *prefix = g_strdup (s->prefix);
  *stream = s->stream;
  GST_OBJECT_UNLOCK (self);
  return cfg;
}

gboolean
gst_sf_text_generator_push_caps (GstSfTextGenerator *self)
{
  g_autoptr (GstCaps) caps = gst_pad_get_pad_template_caps (self->src.pad);

  if (gst_sf_src_has_caps (&self->src))
    return TRUE;
  return gst_sf_src_push_caps (&self->src, caps);
}

/* A text buffer stamped as @item's output. */
static GstBuffer *
text_buffer (
    GstSfTextGenerator *self, const GstSfTextItem *item, const gchar *text)
{
  gsize len = strlen (text);
  GstBuffer *buffer = gst_buffer_new_memdup (text, len);

  gst_sf_text_clock_stamp (&self->clock, item, buffer);
  return buffer;
}

typedef struct
{
  GstSfTextGenerator *self;
  const GstSfTextItem *item;
  GstFlowReturn ret;
} Streaming;

static gboolean
push_piece (const char *piece, gpointer data)
{
  Streaming *st = data;
  GstBuffer *buffer;

  if (st->ret != GST_FLOW_OK)
    return FALSE;
  buffer = text_buffer (st->self, st->item, piece);
  /* pieces share the text's time: it is one result, told as it grows */
  GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  st->ret = gst_pad_push (st->self->src.pad, buffer);
  return st->ret == GST_FLOW_OK;
}

static GValue *
ids_value (GValue *value, GArray *ids, gboolean wide)
{
  g_value_init (value, GST_TYPE_ARRAY);
  for (guint i = 0; i < ids->len; i++) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, G_TYPE_INT);
    g_value_set_int (&v,
        wide ? (gint)g_array_index (ids, gint64, i)
             : g_array_index (ids, gint32, i));
    gst_value_array_append_and_take_value (value, &v);
  }
  return value;
}

/* Pushes @out, @item's result: its text and a newline (only the newline
 * when its pieces went out already), with the result meta and message. */
static GstFlowReturn
push_result (GstSfTextGenerator *self, const GstSfTextItem *item,
    const SfTextGeneration *out, gboolean pieces_pushed)
{
  g_autofree gchar *line =
      g_strconcat (pieces_pushed ? "" : out->text, "\n", NULL);
  GstBuffer *buffer = text_buffer (self, item, line);
  GstStructure *result;
  GValue prompt_ids = G_VALUE_INIT, ids = G_VALUE_INIT;

  result = gst_structure_new ("sftextgenerator", "text", G_TYPE_STRING,
      item->text, "generated", G_TYPE_STRING, out->text, NULL);
  gst_structure_take_value (
      result, "prompt-ids", ids_value (&prompt_ids, out->prompt_ids, FALSE));
  gst_structure_take_value (result, "ids", ids_value (&ids, out->ids, TRUE));
  gst_sf_element_post_result (GST_ELEMENT (self), buffer, result);
  return gst_pad_push (self->src.pad, buffer);
}

static GstFlowReturn
generation_failed (GstSfTextGenerator *self, const GError *error)
{
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("Could not generate text: %s", error->message), (NULL));
  self->posted_error = TRUE;
  return GST_FLOW_ERROR;
}

/* One text on this thread, its pieces pushed as they come when asked. */
static GstFlowReturn
generate_one (GstSfTextGenerator *self, const GstSfTextItem *item)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTextGeneration) out = NULL;
  g_autofree gchar *prefix = NULL;
  gboolean stream;
  SfGenerationConfig cfg = current_config (self, &prefix, &stream);
  Streaming st = { self, item, GST_FLOW_OK };

  out = sf_text_generator_run (self->gen, item->text, prefix, &cfg,
      stream ? push_piece : NULL, &st, &error);
  if (st.ret != GST_FLOW_OK)
    return st.ret;
  if (out == NULL)
    return generation_failed (self, error);
  return push_result (self, item, out, stream);
}

/* All of @items through the shared queue, then their results in order. */
static GstFlowReturn
generate_batched (
    GstSfTextGenerator *self, GstSfBatcher *batcher, GArray *items)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) outs = NULL;
  g_autofree gchar *prefix = NULL;
  g_autofree GstSfBatchInput *inputs = g_new0 (GstSfBatchInput, items->len);
  gboolean stream, flushing = FALSE;
  SfGenerationConfig cfg = current_config (self, &prefix, &stream);
  GstFlowReturn ret = GST_FLOW_OK;

  for (guint i = 0; i < items->len; i++) {
    inputs[i].text = g_array_index (items, GstSfTextItem, i).text;
    inputs[i].prefix = prefix;
    inputs[i].generation = &cfg;
  }
  outs =
      gst_sf_batcher_run (batcher, inputs, items->len, NULL, &flushing, &error);
  if (flushing)
    return GST_FLOW_FLUSHING;
  if (outs == NULL)
    return generation_failed (self, error);
  for (guint i = 0; i < items->len && ret == GST_FLOW_OK; i++)
    ret = push_result (
        self, &g_array_index (items, GstSfTextItem, i), outs->pdata[i], FALSE);
  return ret;
}

GstFlowReturn
gst_sf_text_generator_process (GstSfTextGenerator *self, GArray *items)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstSfBatcher *batcher;

  if (items->len == 0)
    return GST_FLOW_OK;
  if (!gst_sf_text_generator_push_caps (self)) {
    g_array_set_size (items, 0);
    return gst_sf_src_caps_failure (&self->src);
  }
  /* the handle lives from start to stop, on this thread's side of them */
  GST_OBJECT_LOCK (self);
  batcher = self->batcher;
  GST_OBJECT_UNLOCK (self);
  if (batcher != NULL)
    ret = generate_batched (self, batcher, items);
  else
    for (guint i = 0; i < items->len && ret == GST_FLOW_OK; i++)
      ret = generate_one (self, &g_array_index (items, GstSfTextItem, i));
  g_array_set_size (items, 0);
  return ret;
}
