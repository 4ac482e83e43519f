/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer CLI: decoding audio with FFmpeg and running audio models.
 *
 * The first audio stream is decoded with libavcodec and converted by
 * libswresample to mono float at the front-end's sample rate (channels
 * mixed down as swresample does), then the checkpoint's task (graphs/task.h,
 * the one sfaudioencoder runs) runs on the whole clip: labels for an AST
 * classifier, the greedy CTC transcript for wav2vec2; Whisper goes through
 * run-whisper.c.
 */
#include "samples/cli/media-audio.h"
#include "samples/cli/run-whisper.h"
#include "core/error.h"
#include "graphs/post/classify.h"
#include "graphs/post/ctc.h"
#include "graphs/task.h"

#include <cjson/cJSON.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include <stdio.h>

/* At most an hour of audio in one call. */
#define MEDIA_MAX_SECONDS 3600

typedef struct
{
  AVFormatContext *fmt;
  AVCodecContext *dec;
  SwrContext *swr;
  AVPacket *pkt;
  AVFrame *frame;
  GArray *samples; /* float */
  gsize max_samples;
} AudioDecode;

static void
audio_decode_clear (AudioDecode *d)
{
  swr_free (&d->swr);
  avcodec_free_context (&d->dec);
  avformat_close_input (&d->fmt);
  av_packet_free (&d->pkt);
  av_frame_free (&d->frame);
  if (d->samples)
    g_array_unref (d->samples);
}

static gboolean
av_fail (int ret, const char *path, const char *what, GError **error)
{
  char msg[AV_ERROR_MAX_STRING_SIZE] = { 0 };
  av_strerror (ret, msg, sizeof (msg));
  g_set_error (error, SF_ERROR, SF_ERROR_IO, "%s: %s: %s", path, what, msg);
  return FALSE;
}

/* Converts one decoded frame (or, with @frame NULL, what swresample still
 * holds) and appends it. */
static gboolean
append_converted (
    AudioDecode *d, const AVFrame *frame, const char *path, GError **error)
{
  int in = frame ? frame->nb_samples : 0;
  int cap = swr_get_out_samples (d->swr, in);
  int got;
  guint old = d->samples->len;
  guint8 *out;

  if (cap < 0)
    return av_fail (cap, path, "resampling", error);
  g_array_set_size (d->samples, old + cap);
  out = (guint8 *)&g_array_index (d->samples, float, old);
  got = swr_convert (d->swr, &out, cap,
      frame ? (const guint8 **)frame->extended_data : NULL, in);
  if (got < 0)
    return av_fail (got, path, "resampling", error);
  g_array_set_size (d->samples, old + got);
  if (d->samples->len > d->max_samples) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: longer than %d s; split it first", path, MEDIA_MAX_SECONDS);
    return FALSE;
  }
  return TRUE;
}

/* Sends @pkt (NULL flushes) and converts every frame it yields. */
static gboolean
decode_packet (
    AudioDecode *d, const AVPacket *pkt, const char *path, GError **error)
{
  int ret = avcodec_send_packet (d->dec, pkt);

  if (ret < 0 && ret != AVERROR_EOF)
    return av_fail (ret, path, "decoding", error);
  while ((ret = avcodec_receive_frame (d->dec, d->frame)) >= 0) {
    gboolean ok = append_converted (d, d->frame, path, error);
    av_frame_unref (d->frame);
    if (!ok)
      return FALSE;
  }
  if (ret != AVERROR (EAGAIN) && ret != AVERROR_EOF)
    return av_fail (ret, path, "decoding", error);
  return TRUE;
}

static gboolean
open_decoder (
    AudioDecode *d, const char *path, int rate, int *stream, GError **error)
{
  const AVCodec *codec = NULL;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  int ret;

  if ((ret = avformat_open_input (&d->fmt, path, NULL, NULL)) < 0)
    return av_fail (ret, path, "cannot open", error);
  if ((ret = avformat_find_stream_info (d->fmt, NULL)) < 0)
    return av_fail (ret, path, "cannot read stream info", error);
  *stream = av_find_best_stream (d->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (*stream < 0 || codec == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: no decodable audio stream", path);
    return FALSE;
  }
  d->dec = avcodec_alloc_context3 (codec);
  if (d->dec == NULL
      || avcodec_parameters_to_context (
             d->dec, d->fmt->streams[*stream]->codecpar)
          < 0
      || (ret = avcodec_open2 (d->dec, codec, NULL)) < 0)
    return av_fail (ret ? ret : AVERROR (EINVAL), path,
        "cannot open the audio decoder", error);
  if (d->dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
    av_channel_layout_default (
        &d->dec->ch_layout, d->dec->ch_layout.nb_channels);
  ret = swr_alloc_set_opts2 (&d->swr, &mono, AV_SAMPLE_FMT_FLT, rate,
      &d->dec->ch_layout, d->dec->sample_fmt, d->dec->sample_rate, 0, NULL);
  if (ret < 0 || (ret = swr_init (d->swr)) < 0)
    return av_fail (ret, path, "cannot set up resampling", error);
  return TRUE;
}

float *
sf_media_load_audio (
    const char *path, int sample_rate, gsize *n_samples, GError **error)
{
  AudioDecode d = { 0 };
  int stream = -1, ret = 0;
  gboolean ok;
  float *out = NULL;

  d.samples = g_array_new (FALSE, FALSE, sizeof (float));
  d.max_samples = (gsize)sample_rate * MEDIA_MAX_SECONDS;
  d.pkt = av_packet_alloc ();
  d.frame = av_frame_alloc ();
  ok = open_decoder (&d, path, sample_rate, &stream, error);
  while (ok && (ret = av_read_frame (d.fmt, d.pkt)) >= 0) {
    if (d.pkt->stream_index == stream)
      ok = decode_packet (&d, d.pkt, path, error);
    av_packet_unref (d.pkt);
  }
  if (ok && ret != AVERROR_EOF)
    ok = av_fail (ret, path, "reading", error);
  if (ok)
    ok = decode_packet (&d, NULL, path, error)
        && append_converted (&d, NULL, path, error);
  if (ok && d.samples->len == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: the audio stream holds no samples", path);
    ok = FALSE;
  }
  if (ok) {
    *n_samples = d.samples->len;
    out = (float *)g_array_free (g_steal_pointer (&d.samples), FALSE);
  }
  audio_decode_clear (&d);
  return out;
}

static void
print_json (cJSON *obj)
{
  char *line = cJSON_PrintUnformatted (obj);
  printf ("%s\n", line);
  cJSON_free (line);
}

static int
print_labels (SfModel *model, const char *path, const SfTensor *logits,
    int top_k, gboolean json)
{
  guint n = sf_model_num_labels (model);
  g_autofree SfLabelScore *scores = g_new (SfLabelScore, n);
  guint k = sf_classify (
      model, sf_tensor_f32 (logits), n, SF_SCORE_AUTO, top_k, 0.0f, scores);

  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *labels = cJSON_AddArrayToObject (obj, "labels");
    cJSON *values = cJSON_AddArrayToObject (obj, "scores");
    cJSON_AddStringToObject (obj, "audio", path);
    for (guint i = 0; i < k; i++) {
      cJSON_AddItemToArray (labels, cJSON_CreateString (scores[i].label));
      cJSON_AddItemToArray (values, cJSON_CreateNumber (scores[i].score));
    }
    print_json (obj);
    return 0;
  }
  printf ("%s\n", path);
  for (guint i = 0; i < k; i++)
    printf ("  %-20s %.4f\n", scores[i].label, scores[i].score);
  return 0;
}

static int
print_transcript (SfModel *model, const char *path, const SfTensor *logits,
    gboolean json, GError **error)
{
  g_autoptr (SfCtcDecoder) ctc = sf_ctc_decoder_new (model, error);
  gint64 t = sf_tensor_dim (logits, 1), v = sf_tensor_dim (logits, 2);
  g_autofree gint64 *ids = g_new (gint64, t);
  g_autofree char *text = NULL;

  if (ctc == NULL)
    return 1;
  sf_ctc_greedy_ids (sf_tensor_f32 (logits), t, v, ids);
  text = sf_ctc_decoder_decode (ctc, ids, t, error);
  if (text == NULL)
    return 1;
  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON_AddStringToObject (obj, "audio", path);
    cJSON_AddStringToObject (obj, "text", text);
    print_json (obj);
  } else {
    printf ("%s\n", text);
  }
  return 0;
}

int
sf_run_audio (SfModel *model, const char *path, int top_k, gboolean json)
{
  SfTaskOptions options = SF_TASK_OPTIONS_INIT (SF_MODALITY_AUDIO);
  GError *error = NULL;
  SfTask *task = sf_task_new (model, &options, &error);
  GPtrArray *outs = NULL;
  float *samples = NULL;
  SfTaskKind kind;
  gsize n = 0;
  int rc = 1;

  if (task == NULL)
    goto out;
  samples = sf_media_load_audio (path, sf_task_audio_rate (task), &n, &error);
  if (samples == NULL)
    goto out;
  kind = sf_task_kind (task);
  if (kind == SF_TASK_TRANSCRIBE) { /* windows, generation and segments */
    rc = sf_run_whisper (task, samples, n, json);
    goto out;
  }
  if (kind != SF_TASK_CLASSIFY && kind != SF_TASK_CTC) {
    g_set_error (&error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: `run` has no task for %s model (%s)", sf_model_dir (model),
        sf_model_kind (model), sf_model_architecture (model));
    goto out;
  }
  /* the whole clip as one window, as the task runs it for sfaudioencoder */
  outs = sf_task_run_audio (
      task, (const float *const[]){ samples }, &n, 1, &error);
  if (outs == NULL)
    goto out;
  if (kind == SF_TASK_CLASSIFY) /* [1, labels] */
    rc = print_labels (model, path, outs->pdata[0], top_k, json);
  else /* [1, T, vocab] */
    rc = print_transcript (model, path, outs->pdata[0], json, &error);

out:
  if (error) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    rc = 1;
  }
  g_free (samples);
  g_clear_pointer (&outs, g_ptr_array_unref);
  sf_task_unref (task);
  g_clear_error (&error);
  return rc;
}
