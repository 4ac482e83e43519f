/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: sftranscriber's decoding
 * (gstsftranscriber-decode.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "core/error.h"
#include "gstsfelement.h"
#include "gstsftranscriber-decode.h"

GST_DEBUG_CATEGORY_EXTERN (gst_sf_transcriber_debug);
#define GST_CAT_DEFAULT gst_sf_transcriber_debug

/* CTC: the words of @logits [T, V] at @start, each frame @frame seconds. */
static gboolean
ctc_words (SfCtcDecoder *ctc, const float *logits, gint64 frames, gint64 vocab,
    double start, double frame, GArray *pieces, GError **error)
{
  g_autofree gint64 *ids = NULL;
  g_autoptr (GArray) words = NULL;

  if (vocab != (gint64)sf_ctc_decoder_vocab_size (ctc)) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "the logits have %" G_GINT64_FORMAT " entries per frame but the "
        "vocabulary has %u tokens",
        vocab, sf_ctc_decoder_vocab_size (ctc));
    return FALSE;
  }
  ids = g_new (gint64, MAX (frames, 1));
  sf_ctc_greedy_ids (logits, frames, vocab, ids);
  words = sf_ctc_decoder_words (ctc, ids, frames, error);
  if (words == NULL)
    return FALSE;
  for (guint i = 0; i < words->len; i++) {
    const SfCtcWord *w = &g_array_index (words, SfCtcWord, i);
    SfTranscriptPiece p;

    p.start = start + w->start_frame * frame;
    p.end = start + w->end_frame * frame;
    p.text = g_strdup (w->text);
    g_array_append_val (pieces, p);
  }
  return TRUE;
}

/* Whisper: the token ids of @enc [1, S, D], alone or through the shared
 * decoding queue. */
static gboolean
whisper_ids (GstSfTranscriberDecoder *dec, const SfWhisperOptions *options,
    const SfTensor *enc, GArray *ids, GError **error)
{
  GstSfBatchInput input = { .states = enc, .whisper = options };
  g_autoptr (GPtrArray) outs = NULL;
  gboolean flushing = FALSE;

  if (dec->batcher == NULL)
    return sf_whisper_generate (
        sf_task_model (dec->task), enc, options, ids, error);
  outs = gst_sf_batcher_run (dec->batcher, &input, 1, NULL, &flushing, error);
  dec->flushed = flushing;
  if (outs == NULL)
    return FALSE;
  g_array_append_vals (ids, sf_tensor_i64 (outs->pdata[0]),
      (guint)sf_tensor_numel (outs->pdata[0]));
  return TRUE;
}

/* Whisper: decoding of encoder states [S, D], as segments. */
static gboolean
whisper_segments (GstSfTranscriberDecoder *dec, const SfWhisperOptions *options,
    const float *states, gint64 s, gint64 d, double start, double duration,
    GArray *pieces, GError **error)
{
  SfModel *model = sf_task_model (dec->task);
  g_autoptr (SfTensor) enc = sf_tensor_new_from_data (
      SF_DTYPE_F32, 3, (const gint64[]){ 1, s, d }, states);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (GArray) segments = sf_whisper_segment_array_new ();

  if (!whisper_ids (dec, options, enc, ids, error)
      || !sf_whisper_segments (model, (const gint64 *)ids->data, ids->len,
          duration, segments, error))
    return FALSE;
  for (guint i = 0; i < segments->len; i++) {
    const SfWhisperSegment *seg =
        &g_array_index (segments, SfWhisperSegment, i);
    SfTranscriptPiece p;

    /* timestamps may run past the audio the window held (its padding) */
    p.start = start + MIN (seg->start, duration);
    p.end = start + MIN (seg->end, duration);
    p.text = g_strstrip (g_strdup (seg->text ? seg->text : ""));
    g_array_append_val (pieces, p);
  }
  return TRUE;
}

/* Copies @pieces to @out: Whisper segments one by one, CTC words as one
 * line from the first word's start to the last one's end. */
static void
to_lines (GstSfTranscriberDecoder *dec, GArray *pieces, GArray *out)
{
  SfTranscriptPiece line;
  GString *text;

  if (pieces->len == 0)
    return;
  if (dec->ctc == NULL) {
    for (guint i = 0; i < pieces->len; i++) {
      line = g_array_index (pieces, SfTranscriptPiece, i);
      line.text = g_strdup (line.text);
      g_array_append_val (out, line);
    }
    return;
  }
  text = g_string_new (NULL);
  for (guint i = 0; i < pieces->len; i++)
    g_string_append_printf (text, "%s%s", i ? " " : "",
        g_array_index (pieces, SfTranscriptPiece, i).text);
  line.start = g_array_index (pieces, SfTranscriptPiece, 0).start;
  line.end = g_array_index (pieces, SfTranscriptPiece, pieces->len - 1).end;
  line.text = g_string_free (text, FALSE);
  g_array_append_val (out, line);
}

void
gst_sf_transcriber_decoder_clear (GstSfTranscriberDecoder *dec)
{
  g_clear_pointer (&dec->batcher, gst_sf_batcher_free);
  g_clear_pointer (&dec->ctc, sf_ctc_decoder_free);
  g_clear_pointer (&dec->transcript, sf_transcript_free);
  g_clear_pointer (&dec->task, sf_task_unref);
}

gboolean
gst_sf_transcriber_decoder_use (GstSfTranscriberDecoder *dec,
    GstElement *element, SfModel *model, guint batch_size, guint timeout_ms)
{
  SfTaskOptions options = SF_TASK_OPTIONS_INIT (SF_MODALITY_AUDIO);
  GError *error = NULL;
  GstSfBatcher *batcher;

  if (dec->task != NULL && sf_task_model (dec->task) == model)
    return TRUE;
  GST_OBJECT_LOCK (element);
  gst_sf_transcriber_decoder_clear (dec);
  GST_OBJECT_UNLOCK (element);
  dec->task = gst_sf_element_task_for_model (
      element, model, &options, "Whisper or wav2vec2 CTC checkpoints");
  if (dec->task == NULL)
    return FALSE;

  switch (sf_task_kind (dec->task)) {
    case SF_TASK_TRANSCRIBE:
      dec->transcript = sf_transcript_new (SF_TRANSCRIPT_SEGMENTS);
      break;
    case SF_TASK_CTC:
      dec->ctc = sf_ctc_decoder_new (model, &error);
      if (dec->ctc == NULL)
        goto failed;
      dec->transcript = sf_transcript_new (SF_TRANSCRIPT_WORDS);
      break;
    default: goto unsupported;
  }
  GST_INFO_OBJECT (element, "decoding %s with %s", sf_model_name (model),
      dec->ctc != NULL ? "CTC" : "Whisper");
  /* CTC decoding is a cheap argmax: only Whisper windows batch. */
  if (dec->ctc == NULL && batch_size > 1) {
    batcher = gst_sf_batcher_new_decoding (dec->task, batch_size, timeout_ms);
    GST_OBJECT_LOCK (element);
    dec->batcher = batcher;
    GST_OBJECT_UNLOCK (element);
  }
  return TRUE;

failed:
  GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
      ("Cannot transcribe with model \"%s\": %s", sf_model_name (model),
          error->message),
      (NULL));
  g_error_free (error);
  gst_sf_transcriber_decoder_clear (dec);
  return FALSE;
unsupported:
  GST_ELEMENT_ERROR (element, STREAM, WRONG_TYPE,
      ("Model \"%s\" (%s) is neither Whisper nor a CTC model; sftranscriber "
       "cannot decode its output.",
          sf_model_name (model), sf_model_architecture (model)),
      ("its task is %s; use sfclassifier for classifiers",
          sf_task_kind_name (sf_task_kind (dec->task))));
  gst_sf_transcriber_decoder_clear (dec);
  return FALSE;
}

gboolean
gst_sf_transcriber_decoder_window (GstSfTranscriberDecoder *dec,
    const SfWhisperOptions *options, const float *data, gint64 frames,
    gint64 inner, double start, double duration, double hop, GArray *out,
    GError **error)
{
  g_autoptr (GArray) pieces = sf_transcript_piece_array_new ();
  g_autoptr (GArray) final = sf_transcript_piece_array_new ();
  gboolean ok;

  if (dec->ctc != NULL)
    ok = ctc_words (
        dec->ctc, data, frames, inner, start, duration / frames, pieces, error);
  else
    ok = whisper_segments (
        dec, options, data, frames, inner, start, duration, pieces, error);
  if (!ok)
    return FALSE;
  sf_transcript_push (dec->transcript, start, duration, hop,
      (const SfTranscriptPiece *)pieces->data, pieces->len, final);
  to_lines (dec, final, out);
  return TRUE;
}

void
gst_sf_transcriber_decoder_flush (GstSfTranscriberDecoder *dec, GArray *out)
{
  g_autoptr (GArray) final = sf_transcript_piece_array_new ();

  sf_transcript_flush (dec->transcript, final);
  to_lines (dec, final, out);
}
