/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Raw video frames into the image processor: every pixel layout the
 * elements accept (packed RGB/RGBx/BGRx/xRGB/xBGR, I420, NV12) at fuzzed
 * sizes and strides, through the fixtures' processors (ViT exact resize,
 * SegFormer, CLIP shortest-edge resize and centre crop).
 * Input: an 8-byte header (format, processor, width, height, row
 * padding, chroma padding), then pixel bytes, repeated to fill the frame. */
#include "core/image/image.h"
#include "tests/fuzz/fuzz-util.h"

#include <string.h>

#define MAX_SIDE 128

static const char *const fixtures[] = { "vit-tiny-cls", "segformer-tiny-seg",
  "clip-tiny" };
static SfImageProcessor *procs[G_N_ELEMENTS (fixtures)];

static void
load_processors (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++) {
    g_autofree char *path =
        sf_fuzz_fixture (fixtures[i], "preprocessor_config.json");
    g_autoptr (GError) error = NULL;

    if (procs[i])
      continue;
    procs[i] = sf_image_processor_load (path, &error);
    if (procs[i] == NULL)
      g_error ("%s", error->message); /* a broken fixture, not a finding */
  }
}

/* (transfer full) @size bytes of the pixel data, repeated or zeros. */
static guint8 *
fill (const uint8_t *data, size_t n, gsize size)
{
  guint8 *buf = g_malloc0 (size);

  if (n > 0)
    for (gsize i = 0; i < size; i++)
      buf[i] = data[i % n];
  return buf;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (SfImage) image = NULL;
  g_autoptr (SfTensor) out = NULL;
  g_autofree guint8 *pixels = NULL;
  const SfImageProcessor *proc;
  int format, width, height, w, h;
  gsize pad, cpad;

  if (size < 8)
    return 0;
  load_processors ();
  format = data[0] % 7;
  proc = procs[data[1] % G_N_ELEMENTS (procs)];
  width = 1 + (data[2] | data[3] << 8) % MAX_SIDE;
  height = 1 + (data[4] | data[5] << 8) % MAX_SIDE;
  pad = data[6] % 64;
  cpad = data[7] % 64;
  data += 8;
  size -= 8;

  if (format <= SF_PIXEL_FORMAT_XBGR) {
    gsize bpp = format == SF_PIXEL_FORMAT_RGB ? 3 : 4;
    gsize stride = bpp * width + pad;

    pixels = fill (data, size, stride * height);
    image = sf_image_new_from_packed (pixels, width, height, stride, format);
  } else {
    /* 4:2:0 chroma planes are half size, rounded up */
    gsize cw = (width + 1) / 2, ch = (height + 1) / 2;
    gsize y_stride = width + pad;
    gsize y_size = y_stride * height;

    if (format == 5) {
      gsize c_stride = cw + cpad;

      pixels = fill (data, size, y_size + 2 * c_stride * ch);
      image = sf_image_new_from_i420 (pixels, y_stride, pixels + y_size,
          c_stride, pixels + y_size + c_stride * ch, c_stride, width, height);
    } else {
      gsize uv_stride = 2 * cw + cpad;

      pixels = fill (data, size, y_size + uv_stride * ch);
      image = sf_image_new_from_nv12 (
          pixels, y_stride, pixels + y_size, uv_stride, width, height);
    }
  }
  if (image == NULL || image->width != width || image->height != height)
    abort ();
  sf_image_processor_output_size (proc, width, height, &w, &h);
  out = sf_image_processor_process (proc, image, NULL);
  /* the size the elements negotiate caps with must be the one produced */
  if (out == NULL || out->shape[1] != h || out->shape[2] != w)
    abort ();
  return 0;
}
