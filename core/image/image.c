/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: images, pixel-format conversion and the image
 * processor of preprocessor_config.json.
 *
 * Design decisions:
 * - YUV → RGB uses BT.601 limited-range coefficients in 8.8 fixed point
 *   with rounding, as videoconvert does for SD video; chroma is taken from
 *   the 2x2 block a pixel belongs to (no chroma interpolation).
 * - Rescale and normalise follow the HF processors' dtypes: the 8-bit value
 *   times rescale_factor in double, stored as float, then (v - mean) / std
 *   in float.
 */
#include "core/image/image.h"
#include "core/profile.h"
#include "core/error.h"
#include "core/threads.h"

#include <math.h>
#include <string.h>

SfImage *
sf_image_new (int width, int height)
{
  SfImage *image;

  g_return_val_if_fail (width > 0 && height > 0, NULL);
  image = g_new0 (SfImage, 1);
  image->width = width;
  image->height = height;
  image->stride = 3 * (gsize)width;
  image->data = g_malloc0 (image->stride * height);
  return image;
}

void
sf_image_free (SfImage *image)
{
  if (image == NULL)
    return;
  g_free (image->data);
  g_free (image);
}

SfImage *
sf_image_new_from_packed (const guint8 *data, int width, int height,
    gsize stride, SfPixelFormat format)
{
  /* byte offsets of R, G, B inside a pixel, and the pixel size */
  static const int layout[][4] = {
    [SF_PIXEL_FORMAT_RGB] = { 0, 1, 2, 3 },
    [SF_PIXEL_FORMAT_RGBX] = { 0, 1, 2, 4 },
    [SF_PIXEL_FORMAT_BGRX] = { 2, 1, 0, 4 },
    [SF_PIXEL_FORMAT_XRGB] = { 1, 2, 3, 4 },
    [SF_PIXEL_FORMAT_XBGR] = { 3, 2, 1, 4 },
  };
  const int *l;
  SfImage *image;

  g_return_val_if_fail (data != NULL && format <= SF_PIXEL_FORMAT_XBGR, NULL);
  l = layout[format];
  g_return_val_if_fail (stride >= (gsize)l[3] * width, NULL);
  image = sf_image_new (width, height);
  for (int y = 0; y < height; y++) {
    const guint8 *in = data + y * stride;
    guint8 *out = image->data + y * image->stride;
    if (format == SF_PIXEL_FORMAT_RGB) {
      memcpy (out, in, 3 * (gsize)width);
      continue;
    }
    for (int x = 0; x < width; x++, in += l[3], out += 3) {
      out[0] = in[l[0]];
      out[1] = in[l[1]];
      out[2] = in[l[2]];
    }
  }
  return image;
}

static inline guint8
clamp8 (int v)
{
  return v < 0 ? 0 : v > 255 ? 255 : (guint8)v;
}

/* BT.601 limited range, coefficients · 256:
 *   R = 1.164 (Y-16) + 1.596 (V-128)
 *   G = 1.164 (Y-16) - 0.391 (U-128) - 0.813 (V-128)
 *   B = 1.164 (Y-16) + 2.018 (U-128) */
static inline void
yuv_to_rgb (int y, int u, int v, guint8 *rgb)
{
  int c = 298 * (y - 16), d = u - 128, e = v - 128;
  rgb[0] = clamp8 ((c + 409 * e + 128) >> 8);
  rgb[1] = clamp8 ((c - 100 * d - 208 * e + 128) >> 8);
  rgb[2] = clamp8 ((c + 516 * d + 128) >> 8);
}

typedef struct
{
  SfImage *image;
  const guint8 *y, *u, *v;
  gsize y_stride, u_stride, v_stride;
  int uv_step; /* bytes between chroma samples: 1 (I420) or 2 (NV12) */
} YuvArgs;

static void
yuv_rows (gint64 start, gint64 end, gpointer data)
{
  const YuvArgs *a = data;

  for (gint64 row = start; row < end; row++) {
    const guint8 *yp = a->y + row * a->y_stride;
    const guint8 *up = a->u + (row / 2) * a->u_stride;
    const guint8 *vp = a->v + (row / 2) * a->v_stride;
    guint8 *out = a->image->data + row * a->image->stride;
    for (int x = 0; x < a->image->width; x++)
      yuv_to_rgb (yp[x], up[(x / 2) * a->uv_step], vp[(x / 2) * a->uv_step],
          out + 3 * x);
  }
}

SfImage *
sf_image_new_from_i420 (const guint8 *y, gsize y_stride, const guint8 *u,
    gsize u_stride, const guint8 *v, gsize v_stride, int width, int height)
{
  YuvArgs a = { .y = y,
    .u = u,
    .v = v,
    .y_stride = y_stride,
    .u_stride = u_stride,
    .v_stride = v_stride,
    .uv_step = 1 };

  g_return_val_if_fail (y && u && v, NULL);
  a.image = sf_image_new (width, height);
  sf_parallel_for (height, 32, yuv_rows, &a);
  return a.image;
}

SfImage *
sf_image_new_from_nv12 (const guint8 *y, gsize y_stride, const guint8 *uv,
    gsize uv_stride, int width, int height)
{
  YuvArgs a = { .y = y,
    .u = uv,
    .v = uv + 1,
    .y_stride = y_stride,
    .u_stride = uv_stride,
    .v_stride = uv_stride,
    .uv_step = 2 };

  g_return_val_if_fail (y && uv, NULL);
  a.image = sf_image_new (width, height);
  sf_parallel_for (height, 32, yuv_rows, &a);
  return a.image;
}

/* ---- preprocessor_config.json ---- */

static gboolean
read_positive (const SfConfig *cfg, const char *field, const cJSON *item,
    int *out, GError **error)
{
  if (!cJSON_IsNumber (item) || item->valuedouble != floor (item->valuedouble)
      || item->valuedouble < 1 || item->valuedouble > 65536) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field '%s' must be a positive integer", sf_config_origin (cfg),
        field);
    return FALSE;
  }
  *out = (int)item->valuedouble;
  return TRUE;
}

/* FALSE with an error naming @field when @h x @w pixels are too many. */
static gboolean
check_pixels (
    const SfConfig *cfg, const char *field, gint64 h, gint64 w, GError **error)
{
  if (h * w <= SF_IMAGE_MAX_PIXELS) /* each side is at most 65536 */
    return TRUE;
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field '%s' asks for %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
      " pixels, more than the limit of %" G_GINT64_FORMAT,
      sf_config_origin (cfg), field, h, w, SF_IMAGE_MAX_PIXELS);
  return FALSE;
}

/* `size`: {"height", "width"}, {"shortest_edge"}, or a bare number (square,
 * or the shortest edge when a centre crop follows, as CLIP's old configs). */
static gboolean
read_size (SfImageProcessor *p, const SfConfig *cfg, GError **error)
{
  const cJSON *size = sf_config_get (cfg, "size");
  const cJSON *h, *w, *s;

  if (size == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: field 'size' is missing while do_resize is set",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (cJSON_IsNumber (size)) {
    if (!read_positive (cfg, "size", size, &p->height, error)
        || !check_pixels (cfg, "size", p->height, p->height, error))
      return FALSE;
    p->width = p->shortest_edge = p->height;
    p->size_mode =
        p->do_center_crop ? SF_IMAGE_SIZE_SHORTEST_EDGE : SF_IMAGE_SIZE_EXACT;
    return TRUE;
  }
  h = cJSON_GetObjectItemCaseSensitive (size, "height");
  w = cJSON_GetObjectItemCaseSensitive (size, "width");
  s = cJSON_GetObjectItemCaseSensitive (size, "shortest_edge");
  if (cJSON_IsObject (size) && h && w) {
    p->size_mode = SF_IMAGE_SIZE_EXACT;
    return read_positive (cfg, "size.height", h, &p->height, error)
        && read_positive (cfg, "size.width", w, &p->width, error)
        && check_pixels (cfg, "size", p->height, p->width, error);
  }
  if (cJSON_IsObject (size) && s) {
    if (cJSON_GetObjectItemCaseSensitive (size, "longest_edge")) {
      g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
          "%s: field 'size.longest_edge' is not supported",
          sf_config_origin (cfg));
      return FALSE;
    }
    p->size_mode = SF_IMAGE_SIZE_SHORTEST_EDGE;
    return read_positive (
               cfg, "size.shortest_edge", s, &p->shortest_edge, error)
        && check_pixels (cfg, "size.shortest_edge", p->shortest_edge,
            p->shortest_edge, error);
  }
  g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
      "%s: field 'size' must be {height, width} or {shortest_edge}",
      sf_config_origin (cfg));
  return FALSE;
}

static gboolean
read_crop (SfImageProcessor *p, const SfConfig *cfg, GError **error)
{
  const cJSON *crop = sf_config_get (cfg, "crop_size");

  if (crop == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: field 'crop_size' is missing while do_center_crop is set",
        sf_config_origin (cfg));
    return FALSE;
  }
  if (cJSON_IsNumber (crop)) {
    if (!read_positive (cfg, "crop_size", crop, &p->crop_height, error))
      return FALSE;
    p->crop_width = p->crop_height;
    return check_pixels (
        cfg, "crop_size", p->crop_height, p->crop_width, error);
  }
  return read_positive (cfg, "crop_size.height",
             cJSON_GetObjectItemCaseSensitive (crop, "height"), &p->crop_height,
             error)
      && read_positive (cfg, "crop_size.width",
          cJSON_GetObjectItemCaseSensitive (crop, "width"), &p->crop_width,
          error)
      && check_pixels (cfg, "crop_size", p->crop_height, p->crop_width, error);
}

/* image_mean / image_std: three numbers (one per channel) or one for all. */
static gboolean
read_triple (const SfConfig *cfg, const char *field, const float *def,
    float *out, gboolean positive, GError **error)
{
  const cJSON *item = sf_config_get (cfg, field);

  memcpy (out, def, 3 * sizeof (float));
  if (item == NULL)
    return TRUE;
  if (cJSON_IsNumber (item)) {
    out[0] = out[1] = out[2] = (float)item->valuedouble;
  } else if (cJSON_IsArray (item) && cJSON_GetArraySize (item) == 3) {
    for (int i = 0; i < 3; i++) {
      const cJSON *v = cJSON_GetArrayItem (item, i);
      if (!cJSON_IsNumber (v))
        goto bad;
      out[i] = (float)v->valuedouble;
    }
  } else {
    goto bad;
  }
  for (int i = 0; i < 3; i++)
    if (!isfinite (out[i]) || (positive && out[i] <= 0.0f))
      goto bad;
  return TRUE;

bad:
  g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
      "%s: field '%s' must be a number or a list of 3 %snumbers",
      sf_config_origin (cfg), field, positive ? "positive " : "");
  return FALSE;
}

SfImageProcessor *
sf_image_processor_new_from_config (const SfConfig *cfg, GError **error)
{
  static const float zero[3] = { 0, 0, 0 }, one[3] = { 1, 1, 1 };
  g_autoptr (SfImageProcessor) p = g_new0 (SfImageProcessor, 1);
  const char *type = NULL;
  gint64 resample;

  if (!sf_config_string_or (cfg, "image_processor_type", "", &type, error)
      || !sf_config_bool_or (cfg, "do_resize", TRUE, &p->do_resize, error)
      || !sf_config_bool_or (
          cfg, "do_center_crop", FALSE, &p->do_center_crop, error)
      || !sf_config_bool_or (cfg, "do_rescale", TRUE, &p->do_rescale, error)
      || !sf_config_double_or (
          cfg, "rescale_factor", 1.0 / 255.0, &p->rescale_factor, error)
      || !sf_config_bool_or (cfg, "do_normalize", TRUE, &p->do_normalize, error)
      || !sf_config_bool_or (
          cfg, "do_convert_rgb", TRUE, &p->do_convert_rgb, error)
      /* CLIP's processor defaults to bicubic, the others to bilinear */
      || !sf_config_int_or (
          cfg, "resample", strstr (type, "CLIP") ? 3 : 2, &resample, error)
      || !read_triple (cfg, "image_mean", zero, p->image_mean, FALSE, error)
      || !read_triple (cfg, "image_std", one, p->image_std, TRUE, error))
    return NULL;
  if (resample != SF_RESAMPLE_NEAREST && resample != SF_RESAMPLE_BILINEAR
      && resample != SF_RESAMPLE_BICUBIC) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: field 'resample' is %" G_GINT64_FORMAT "; supported filters "
        "are 0 (nearest), 2 (bilinear) and 3 (bicubic)",
        sf_config_origin (cfg), resample);
    return NULL;
  }
  p->resample = (SfResample)resample;
  if (!isfinite (p->rescale_factor)) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: field 'rescale_factor' must be finite", sf_config_origin (cfg));
    return NULL;
  }
  if ((p->do_center_crop && !read_crop (p, cfg, error))
      || (p->do_resize && !read_size (p, cfg, error)))
    return NULL;
  return g_steal_pointer (&p);
}

SfImageProcessor *
sf_image_processor_load (const char *path, GError **error)
{
  g_autoptr (SfConfig) cfg = sf_config_load (path, error);
  return cfg ? sf_image_processor_new_from_config (cfg, error) : NULL;
}

void
sf_image_processor_free (SfImageProcessor *proc)
{
  g_free (proc);
}

/* The resize target of HF's get_resize_output_image_size; in 64 bits,
 * since a thin frame with shortest_edge gets a long side beyond int. */
static void
resize_size (const SfImageProcessor *p, gint64 width, gint64 height, gint64 *w,
    gint64 *h)
{
  if (p->size_mode == SF_IMAGE_SIZE_EXACT) {
    *w = p->width;
    *h = p->height;
  } else if (width <= height) {
    *w = p->shortest_edge;
    *h = p->shortest_edge * height / width;
  } else {
    *h = p->shortest_edge;
    *w = p->shortest_edge * width / height;
  }
  *w = MAX (*w, 1);
  *h = MAX (*h, 1);
}

/* The size of the resized frame (before any crop) and of the output. */
static void
output_size (const SfImageProcessor *proc, gint64 width, gint64 height,
    gint64 *rw, gint64 *rh, gint64 *ow, gint64 *oh)
{
  *rw = width;
  *rh = height;
  if (proc->do_resize)
    resize_size (proc, width, height, rw, rh);
  *ow = *rw;
  *oh = *rh;
  if (proc->do_center_crop) {
    *ow = proc->crop_width;
    *oh = proc->crop_height;
  }
}

void
sf_image_processor_output_size (const SfImageProcessor *proc, int width,
    int height, int *out_width, int *out_height)
{
  gint64 rw, rh, ow, oh;

  output_size (proc, width, height, &rw, &rh, &ow, &oh);
  *out_width = (int)MIN (ow, G_MAXINT);
  *out_height = (int)MIN (oh, G_MAXINT);
}

typedef struct
{
  const SfImage *image;
  float *out; /* [3, H, W] */
  float scale;
  double factor;
  gboolean rescale, normalize;
  float mean[3], std[3];
} NormArgs;

static void
normalize_rows (gint64 start, gint64 end, gpointer data)
{
  const NormArgs *a = data;
  gsize plane = (gsize)a->image->width * a->image->height;

  for (gint64 y = start; y < end; y++) {
    const guint8 *in = a->image->data + y * a->image->stride;
    for (int x = 0; x < a->image->width; x++) {
      for (int c = 0; c < 3; c++) {
        float v = a->rescale ? (float)(in[3 * x + c] * a->factor)
                             : (float)in[3 * x + c];
        if (a->normalize)
          v = (v - a->mean[c]) / a->std[c];
        a->out[c * plane + y * a->image->width + x] = v;
      }
    }
  }
}

static SfTensor *
image_processor_process (
    const SfImageProcessor *proc, const SfImage *image, GError **error)
{
  g_autoptr (SfImage) resized = NULL, cropped = NULL;
  const SfImage *cur = image;
  gint64 rw, rh, ow, oh;
  NormArgs a;
  SfTensor *out;

  g_return_val_if_fail (proc != NULL && image != NULL, NULL);
  output_size (proc, image->width, image->height, &rw, &rh, &ow, &oh);
  /* each side fits in 2^31 before the product: the frame's are ints and
   * shortest_edge is at most 65536 */
  if (rw > G_MAXINT || rh > G_MAXINT || rw * rh > SF_IMAGE_MAX_PIXELS
      || ow * oh > SF_IMAGE_MAX_PIXELS) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "image processor: a %dx%d frame would be resized to %" G_GINT64_FORMAT
        "x%" G_GINT64_FORMAT
        " pixels, more than the limit of %" G_GINT64_FORMAT,
        image->width, image->height, rw, rh, SF_IMAGE_MAX_PIXELS);
    return NULL;
  }
  if (proc->do_resize) {
    resized = sf_image_resize (cur, (int)rw, (int)rh, proc->resample);
    cur = resized;
  }
  if (proc->do_center_crop) {
    cropped = sf_image_center_crop (cur, proc->crop_width, proc->crop_height);
    cur = cropped;
  }
  out =
      sf_tensor_new_f32 (3, (gint64)3, (gint64)cur->height, (gint64)cur->width);
  a = (NormArgs){ .image = cur,
    .out = sf_tensor_f32 (out),
    .factor = proc->rescale_factor,
    .rescale = proc->do_rescale,
    .normalize = proc->do_normalize };
  memcpy (a.mean, proc->image_mean, sizeof a.mean);
  memcpy (a.std, proc->image_std, sizeof a.std);
  sf_parallel_for (cur->height, 16, normalize_rows, &a);
  return out;
}

SfTensor *
sf_image_processor_process (
    const SfImageProcessor *proc, const SfImage *image, GError **error)
{
  gint64 prof = sf_profile_begin ();
  SfTensor *ret = image_processor_process (proc, image, error);

  sf_profile_end (SF_PROFILE_FRONT_END, prof, 0);
  return ret;
}
