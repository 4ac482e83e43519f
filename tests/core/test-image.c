/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for core/image.h: pixel-format conversion, PIL-compatible resizing
 * and the preprocessor_config.json image processor. References are
 * written here from the definitions (PIL's filters, BT.601); the fixture
 * cases (streamformer verify) compare with PIL's own output as well. */
#include "core/image/image.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

static SfImage *
random_image (GRand *rand, int w, int h)
{
  SfImage *img = sf_image_new (w, h);
  for (gsize i = 0; i < img->stride * h; i++)
    img->data[i] = (guint8)g_rand_int_range (rand, 0, 256);
  return img;
}

static void
test_packed_formats (void)
{
  /* 2x2 pixels, stride padded to 11 bytes (3-byte) / 12 (4-byte) */
  guint8 rgb[2 * 11] = { 0 }, rgbx[2 * 12] = { 0 }, bgrx[2 * 12] = { 0 };
  g_autoptr (SfImage) a = NULL, b = NULL, c = NULL;

  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 2; x++) {
      guint8 r = 10 + y * 2 + x, g = 100 + x, bl = 200 + y;
      memcpy (rgb + y * 11 + 3 * x, (guint8[]){ r, g, bl }, 3);
      memcpy (rgbx + y * 12 + 4 * x, (guint8[]){ r, g, bl, 255 }, 4);
      memcpy (bgrx + y * 12 + 4 * x, (guint8[]){ bl, g, r, 255 }, 4);
    }
  a = sf_image_new_from_packed (rgb, 2, 2, 11, SF_PIXEL_FORMAT_RGB);
  b = sf_image_new_from_packed (rgbx, 2, 2, 12, SF_PIXEL_FORMAT_RGBX);
  c = sf_image_new_from_packed (bgrx, 2, 2, 12, SF_PIXEL_FORMAT_BGRX);
  for (int y = 0; y < 2; y++) {
    g_assert_cmpmem (a->data + y * a->stride, 6, rgb + y * 11, 6);
    g_assert_cmpmem (b->data + y * b->stride, 6, a->data + y * a->stride, 6);
    g_assert_cmpmem (c->data + y * c->stride, 6, a->data + y * a->stride, 6);
  }
}

/* BT.601 limited range in double precision. */
static void
yuv_reference (int y, int u, int v, double *rgb)
{
  double yy = 1.164383 * (y - 16);
  rgb[0] = yy + 1.596027 * (v - 128);
  rgb[1] = yy - 0.391762 * (u - 128) - 0.812968 * (v - 128);
  rgb[2] = yy + 2.017232 * (u - 128);
  for (int i = 0; i < 3; i++)
    rgb[i] = CLAMP (rgb[i], 0.0, 255.0);
}

static void
test_yuv (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  const int w = 7, h = 5, cw = 4, ch = 3; /* odd size: chroma rounds up */
  guint8 y[5 * 9], u[3 * 5], v[3 * 6], uv[3 * 10];
  g_autoptr (SfImage) i420 = NULL, nv12 = NULL;

  for (gsize i = 0; i < sizeof y; i++)
    y[i] = (guint8)g_rand_int_range (rand, 0, 256);
  for (int r = 0; r < ch; r++)
    for (int x = 0; x < cw; x++) {
      u[r * 5 + x] = (guint8)g_rand_int_range (rand, 0, 256);
      v[r * 6 + x] = (guint8)g_rand_int_range (rand, 0, 256);
      uv[r * 10 + 2 * x] = u[r * 5 + x];
      uv[r * 10 + 2 * x + 1] = v[r * 6 + x];
    }
  i420 = sf_image_new_from_i420 (y, 9, u, 5, v, 6, w, h);
  nv12 = sf_image_new_from_nv12 (y, 9, uv, 10, w, h);
  for (int r = 0; r < h; r++)
    for (int x = 0; x < w; x++) {
      double ref[3];
      yuv_reference (
          y[r * 9 + x], u[(r / 2) * 5 + x / 2], v[(r / 2) * 6 + x / 2], ref);
      for (int c = 0; c < 3; c++) {
        g_assert_cmpfloat (
            fabs (i420->data[r * i420->stride + 3 * x + c] - ref[c]), <=, 1.0);
        g_assert_cmpint (nv12->data[r * nv12->stride + 3 * x + c], ==,
            i420->data[r * i420->stride + 3 * x + c]);
      }
    }
  /* black and white of limited range */
  y[0] = 16;
  y[1] = 235;
  u[0] = v[0] = 128;
  sf_image_free (i420);
  i420 = sf_image_new_from_i420 (y, 9, u, 5, v, 6, w, h);
  g_assert_cmpmem (i420->data, 6, ((guint8[]){ 0, 0, 0, 255, 255, 255 }), 6);
}

static void
test_resize_identity_and_constant (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (5);
  g_autoptr (SfImage) img = random_image (rand, 13, 9);
  g_autoptr (SfImage) same = sf_image_resize (img, 13, 9, SF_RESAMPLE_BICUBIC);
  g_autoptr (SfImage) flat = sf_image_new (31, 17);
  SfResample filters[] = { SF_RESAMPLE_NEAREST, SF_RESAMPLE_BILINEAR,
    SF_RESAMPLE_BICUBIC };

  g_assert_cmpmem (same->data, same->stride * 9, img->data, img->stride * 9);
  memset (flat->data, 77, flat->stride * 17);
  /* normalised weights keep a flat image flat, up or down */
  for (guint f = 0; f < G_N_ELEMENTS (filters); f++) {
    g_autoptr (SfImage) up = sf_image_resize (flat, 64, 40, filters[f]);
    g_autoptr (SfImage) down = sf_image_resize (flat, 5, 3, filters[f]);
    for (gsize i = 0; i < up->stride * 40; i++)
      g_assert_cmpint (up->data[i], ==, 77);
    for (gsize i = 0; i < down->stride * 3; i++)
      g_assert_cmpint (down->data[i], ==, 77);
  }
}

/* Halving the width with PIL's bilinear filter: the triangle stretched by
 * 2 gives taps 1/8, 3/8, 3/8, 1/8 (renormalised at the borders), and the
 * result rounds half up. */
static void
test_resize_bilinear_half (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (9);
  g_autoptr (SfImage) img = random_image (rand, 16, 3);
  g_autoptr (SfImage) half = sf_image_resize (img, 8, 3, SF_RESAMPLE_BILINEAR);
  const double w4[] = { 1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8 };

  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 8; x++)
      for (int c = 0; c < 3; c++) {
        double sum = 0.0, norm = 0.0;
        for (int t = 0; t < 4; t++) {
          int sx = 2 * x - 1 + t;
          if (sx < 0 || sx >= 16)
            continue;
          sum += w4[t] * img->data[y * img->stride + 3 * sx + c];
          norm += w4[t];
        }
        g_assert_cmpint (half->data[y * half->stride + 3 * x + c], ==,
            (int)floor (sum / norm + 0.5));
      }
}

static void
test_resize_nearest (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (13);
  g_autoptr (SfImage) img = random_image (rand, 12, 6);
  g_autoptr (SfImage) small = sf_image_resize (img, 4, 3, SF_RESAMPLE_NEAREST);

  /* output pixel x samples the input at floor ((x + 0.5) · 3) */
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      g_assert_cmpmem (small->data + y * small->stride + 3 * x, 3,
          img->data + (2 * y + 1) * img->stride + 3 * (3 * x + 1), 3);
}

static void
test_center_crop (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (17);
  g_autoptr (SfImage) img = random_image (rand, 10, 7);
  g_autoptr (SfImage) crop = sf_image_center_crop (img, 4, 4);

  /* top = (7 - 4) // 2 = 1, left = (10 - 4) // 2 = 3 */
  for (int y = 0; y < 4; y++)
    g_assert_cmpmem (crop->data + y * crop->stride, 12,
        img->data + (y + 1) * img->stride + 9, 12);
}

static SfImageProcessor *
processor (const char *json, GError **error)
{
  g_autoptr (SfConfig) cfg =
      sf_config_new_from_string (json, "preprocessor_config.json", error);
  return cfg ? sf_image_processor_new_from_config (cfg, error) : NULL;
}

static void
test_processor_apply (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfImageProcessor) p =
      processor ("{\"do_resize\": false, "
                 "\"rescale_factor\": 0.00392156862745098, \"image_mean\": "
                 "[0.5, 0.25, 0], "
                 "\"image_std\": [0.5, 0.5, 2]}",
          &error);
  g_autoptr (SfImage) img = sf_image_new (2, 1);
  g_autoptr (SfTensor) px = NULL;

  g_assert_no_error (error);
  memcpy (img->data, (guint8[]){ 255, 0, 51, 0, 255, 102 }, 6);
  px = sf_image_processor_process (p, img, &error);
  g_assert_no_error (error);
  g_assert_cmpint (px->ndim, ==, 3);
  g_assert_cmpint (px->shape[0], ==, 3);
  g_assert_cmpint (px->shape[1], ==, 1);
  g_assert_cmpint (px->shape[2], ==, 2);
  /* channel planes: (v / 255 - mean) / std */
  g_assert_cmpfloat_with_epsilon (sf_tensor_f32 (px)[0], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (sf_tensor_f32 (px)[1], -1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (sf_tensor_f32 (px)[2], -0.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (sf_tensor_f32 (px)[3], 1.5, 1e-6);
  g_assert_cmpfloat_with_epsilon (sf_tensor_f32 (px)[4], 0.1, 1e-6);
  g_assert_cmpfloat_with_epsilon (sf_tensor_f32 (px)[5], 0.2, 1e-6);
}

static void
test_processor_shortest_edge (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfImageProcessor) p = processor (
      "{\"size\": {\"shortest_edge\": "
      "224}, \"do_center_crop\": true, \"crop_size\": {\"height\": 224, "
      "\"width\": 224}, \"resample\": 3}",
      &error);
  g_autoptr (SfImage) img = sf_image_new (640, 480);
  g_autoptr (SfTensor) px = NULL;
  int w, h;

  g_assert_no_error (error);
  g_assert_cmpint (p->resample, ==, SF_RESAMPLE_BICUBIC);
  p->do_center_crop = FALSE;
  sf_image_processor_output_size (p, 640, 480, &w, &h);
  g_assert_cmpint (w, ==, 298); /* int (224 · 640 / 480) */
  g_assert_cmpint (h, ==, 224);
  p->do_center_crop = TRUE;
  px = sf_image_processor_process (p, img, &error);
  g_assert_no_error (error);
  g_assert_cmpint (px->shape[1], ==, 224);
  g_assert_cmpint (px->shape[2], ==, 224);
}

static void
test_processor_errors (void)
{
  const char *bad[][2] = {
    { "{\"resample\": 1, \"size\": {\"height\": 4, \"width\": 4}}",
        "resample" },
    { "{\"resample\": \"bilinear\", \"size\": {\"height\": 4, \"width\": 4}}",
        "resample" },
    { "{\"size\": {\"height\": 0, \"width\": 4}}", "size.height" },
    { "{\"size\": {\"longest_edge\": 4}}", "size" },
    { "{\"do_resize\": true}", "size" },
    { "{\"do_resize\": false, \"image_std\": [1, 0, 1]}", "image_std" },
    { "{\"do_resize\": false, \"image_mean\": [1, 2]}", "image_mean" },
    { "{\"do_resize\": false, \"do_center_crop\": true}", "crop_size" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (SfImageProcessor) p = processor (bad[i][0], &error);
    g_assert_null (p);
    g_assert_nonnull (error);
    g_assert_true (error->domain == SF_ERROR);
    g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
    g_assert_nonnull (strstr (error->message, bad[i][1]));
  }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (SfImageProcessor) p =
        processor ("{\"resample\": 5, \"size\": "
                   "{\"height\": 4, \"width\": 4}}",
            &error);
    g_assert_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED);
  }
}

/* Sizes up to 65536 per side passed validation, but nothing bounded the
 * pixel count: 65536 x 65536 asked for 12.9 GB and g_malloc aborted. */
static void
test_processor_size_limits (void)
{
  const char *bad[][2] = {
    { "{\"size\": 65536}", "'size'" },
    { "{\"size\": {\"height\": 20000, \"width\": 20000}}", "'size'" },
    { "{\"size\": {\"shortest_edge\": 65536}}", "size.shortest_edge" },
    { "{\"do_resize\": false, \"do_center_crop\": true, \"crop_size\": "
      "65536}",
        "crop_size" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (SfImageProcessor) p = NULL;
  g_autoptr (SfImage) thin = sf_image_new (1, 40000);
  g_autoptr (SfTensor) px = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (SfImageProcessor) q = processor (bad[i][0], &error);

    g_assert_null (q);
    g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "preprocessor_config.json"));
    g_assert_nonnull (strstr (error->message, bad[i][1]));
    g_assert_nonnull (strstr (error->message, "limit"));
    g_clear_error (&error);
  }

  /* within the limit at load, but a thin frame keeps its aspect ratio:
   * 4096 x 163840000 pixels */
  p = processor ("{\"size\": {\"shortest_edge\": 4096}}", &error);
  g_assert_no_error (error);
  px = sf_image_processor_process (p, thin, &error);
  g_assert_null (px);
  g_assert_error (error, SF_ERROR, SF_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "1x40000 frame"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/image/formats/packed", test_packed_formats);
  g_test_add_func ("/core/image/formats/yuv", test_yuv);
  g_test_add_func ("/core/image/resize/identity-constant",
      test_resize_identity_and_constant);
  g_test_add_func (
      "/core/image/resize/bilinear-half", test_resize_bilinear_half);
  g_test_add_func ("/core/image/resize/nearest", test_resize_nearest);
  g_test_add_func ("/core/image/center-crop", test_center_crop);
  g_test_add_func ("/core/image/processor/apply", test_processor_apply);
  g_test_add_func (
      "/core/image/processor/shortest-edge", test_processor_shortest_edge);
  g_test_add_func ("/core/image/processor/errors", test_processor_errors);
  g_test_add_func (
      "/core/image/processor/size-limits", test_processor_size_limits);
  return g_test_run ();
}
