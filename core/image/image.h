/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: images and the HF image processor.
 *
 * An SfImage is 8-bit RGB, interleaved (HWC), with a row stride. Video
 * frames in other layouts (RGBx, BGRx, I420, NV12, any stride) become an
 * SfImage through the sf_image_new_from_* helpers; YUV is BT.601 limited
 * range, as GStreamer's videoconvert reads SD video.
 *
 * An SfImageProcessor is a checkpoint's preprocessor_config.json: resize
 * (PIL-compatible nearest, bilinear or bicubic, antialiased when
 * downscaling), centre crop, rescale and normalise. As in the HF image
 * processors, resizing and cropping work on 8-bit pixels and only then
 * are values rescaled and normalised into a float [3, H, W] tensor.
 */
#pragma once

#include "core/io/config.h"
#include "core/tensor.h"

G_BEGIN_DECLS

typedef struct
{
  int width, height;
  gsize stride; /* bytes per row, ≥ 3 · width */
  guint8 *data; /* (height, stride) bytes: R, G, B per pixel */
} SfImage;

typedef enum
{
  SF_PIXEL_FORMAT_RGB,  /* 3 bytes: R G B */
  SF_PIXEL_FORMAT_RGBX, /* 4 bytes: R G B x (also RGBA) */
  SF_PIXEL_FORMAT_BGRX, /* 4 bytes: B G R x (also BGRA) */
  SF_PIXEL_FORMAT_XRGB, /* 4 bytes: x R G B (also ARGB) */
  SF_PIXEL_FORMAT_XBGR, /* 4 bytes: x B G R (also ABGR) */
} SfPixelFormat;

/* (transfer full) a zero-filled image with a tight stride (3 · width). */
SfImage *sf_image_new (int width, int height);
void sf_image_free (SfImage *image); /* accepts NULL */
/* (transfer full) a tight copy of packed pixels in @format. */
SfImage *sf_image_new_from_packed (const guint8 *data, int width, int height,
    gsize stride, SfPixelFormat format);
/* (transfer full) planar 4:2:0 (I420): Y, then U and V at half size,
 * rounded up. BT.601 limited range. */
SfImage *sf_image_new_from_i420 (const guint8 *y, gsize y_stride,
    const guint8 *u, gsize u_stride, const guint8 *v, gsize v_stride, int width,
    int height);
/* (transfer full) semi-planar 4:2:0 (NV12): Y, then interleaved U V. */
SfImage *sf_image_new_from_nv12 (const guint8 *y, gsize y_stride,
    const guint8 *uv, gsize uv_stride, int width, int height);

/* PIL's resampling filter numbers, as preprocessor_config.json stores them. */
typedef enum
{
  SF_RESAMPLE_NEAREST = 0,
  SF_RESAMPLE_BILINEAR = 2,
  SF_RESAMPLE_BICUBIC = 3,
} SfResample;

/* (transfer full) @src resized to @width x @height exactly as PIL's
 * Image.resize does on an RGB image (with reducing_gap=None): separable
 * filters whose support widens by the scale when downscaling, 8-bit
 * fixed-point coefficients, horizontal pass first. */
SfImage *sf_image_resize (
    const SfImage *src, int width, int height, SfResample resample);
/* (transfer full) the centred @width x @height window of @src, padded with
 * zeros where the window is larger (as HF's center_crop). */
SfImage *sf_image_center_crop (const SfImage *src, int width, int height);

/* The most pixels an image processor produces (64 Mi, e.g. 8192 x 8192):
 * a preprocessor_config.json whose size or crop_size asks for more is
 * refused at load, and a frame whose resize target (with shortest_edge,
 * it follows the frame's aspect ratio) exceeds it is refused when
 * processed. Sizes that large are corrupt or hostile, not models. */
#define SF_IMAGE_MAX_PIXELS ((gint64)1 << 26)

typedef enum
{
  SF_IMAGE_SIZE_EXACT,         /* size {height, width} */
  SF_IMAGE_SIZE_SHORTEST_EDGE, /* size {shortest_edge}: keep the aspect ratio */
} SfImageSizeMode;

/* preprocessor_config.json. Fields are read-only after loading. */
struct SfImageProcessor
{
  gboolean do_resize;
  SfImageSizeMode size_mode;
  int height, width; /* SF_IMAGE_SIZE_EXACT */
  int shortest_edge; /* SF_IMAGE_SIZE_SHORTEST_EDGE */
  SfResample resample;
  gboolean do_center_crop;
  int crop_height, crop_width;
  gboolean do_rescale;
  double rescale_factor;
  gboolean do_normalize;
  float image_mean[3], image_std[3];
  gboolean do_convert_rgb;
};
typedef struct SfImageProcessor SfImageProcessor;

/* (transfer full) reads @path (a preprocessor_config.json). Unsupported
 * settings (e.g. a resample filter other than 0, 2, 3) fail with
 * SF_ERROR_UNSUPPORTED naming the file and the field. */
SfImageProcessor *sf_image_processor_load (const char *path, GError **error);
SfImageProcessor *sf_image_processor_new_from_config (
    const SfConfig *config, GError **error);
void sf_image_processor_free (SfImageProcessor *proc); /* accepts NULL */

/* The [H, W] of pixel_values for an input of @width x @height (each
 * clamped to G_MAXINT; sf_image_processor_process refuses such sizes). */
void sf_image_processor_output_size (const SfImageProcessor *proc, int width,
    int height, int *out_width, int *out_height);
/* (transfer full) pixel_values [3, H, W] F32 for @image; NULL with an
 * error when the result would exceed SF_IMAGE_MAX_PIXELS. */
SfTensor *sf_image_processor_process (
    const SfImageProcessor *proc, const SfImage *image, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfImage, sf_image_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SfImageProcessor, sf_image_processor_free)

G_END_DECLS
