/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer CLI: decoding a still image (PNG, JPEG, anything FFmpeg
 * reads) into an 8-bit RGB SfImage: the first frame of the file's first
 * video stream, converted with libswscale. */
#include "samples/cli/media-image.h"
#include "core/error.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include <string.h>

static SfImage *
frame_to_image (const AVFrame *frame, const char *path, GError **error)
{
  struct SwsContext *sws;
  SfImage *image;
  guint8 *dst[4] = { NULL };
  int dst_stride[4] = { 0 };

  sws = sws_getContext (frame->width, frame->height, frame->format,
      frame->width, frame->height, AV_PIX_FMT_RGB24,
      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
  if (sws == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: cannot convert pixel format %s to RGB", path,
        av_get_pix_fmt_name (frame->format));
    return NULL;
  }
  image = sf_image_new (frame->width, frame->height);
  dst[0] = image->data;
  dst_stride[0] = (int)image->stride;
  sws_scale (sws, (const guint8 *const *)frame->data, frame->linesize, 0,
      frame->height, dst, dst_stride);
  sws_freeContext (sws);
  return image;
}

SfImage *
sf_media_load_image (const char *path, GError **error)
{
  AVFormatContext *fmt = NULL;
  AVCodecContext *dec = NULL;
  const AVCodec *codec = NULL;
  AVPacket *pkt = av_packet_alloc ();
  AVFrame *frame = av_frame_alloc ();
  SfImage *image = NULL;
  int stream, ret;

  if (avformat_open_input (&fmt, path, NULL, NULL) < 0
      || avformat_find_stream_info (fmt, NULL) < 0) {
    g_set_error (
        error, SF_ERROR, SF_ERROR_IO, "%s: not a readable image file", path);
    goto out;
  }
  stream = av_find_best_stream (fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (stream < 0 || codec == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: holds no image that FFmpeg can decode", path);
    goto out;
  }
  dec = avcodec_alloc_context3 (codec);
  if (dec == NULL
      || avcodec_parameters_to_context (dec, fmt->streams[stream]->codecpar) < 0
      || avcodec_open2 (dec, codec, NULL) < 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: cannot open the %s decoder", path, codec->name);
    goto out;
  }
  /* feed packets until the first frame comes out, then drain */
  while ((ret = av_read_frame (fmt, pkt)) >= 0) {
    if (pkt->stream_index == stream) {
      avcodec_send_packet (dec, pkt);
      if (avcodec_receive_frame (dec, frame) == 0) {
        av_packet_unref (pkt);
        image = frame_to_image (frame, path, error);
        goto out;
      }
    }
    av_packet_unref (pkt);
  }
  avcodec_send_packet (dec, NULL);
  if (avcodec_receive_frame (dec, frame) == 0)
    image = frame_to_image (frame, path, error);
  else
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: the image data could not be decoded", path);

out:
  av_frame_free (&frame);
  av_packet_free (&pkt);
  avcodec_free_context (&dec);
  avformat_close_input (&fmt);
  return image;
}
