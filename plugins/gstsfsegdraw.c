/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: drawing a label map (gstsfsegdraw.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsfsegdraw.h"
#include "gstsfsegmenter.h"
#include "gstsfvideo.h"

/* Distinct colours (0xRRGGBB) for labels the palette does not name. */
static const guint32 builtin_palette[] = {
  0xe6194b,
  0x3cb44b,
  0xffe119,
  0x4363d8,
  0xf58231,
  0x911eb4,
  0x42d4f4,
  0xf032e6,
  0xbfef45,
  0xfabed4,
  0x469990,
  0xdcbeff,
  0x9a6324,
  0xfffac8,
  0x800000,
  0xaaffc3,
  0x808000,
  0xffd8b1,
  0x000075,
  0xa9a9a9,
};

gboolean
gst_sf_palette_parse (GstSfPalette *out, const gchar *palette, gchar **bad)
{
  gchar **items;
  guint i, n;

  g_clear_pointer (&out->colours, g_free);
  out->n_colours = 0;
  if (palette == NULL || *palette == '\0')
    return TRUE;

  items = g_strsplit (palette, ",", -1);
  n = g_strv_length (items);
  out->colours = g_new (guint32, n);
  for (i = 0; i < n; i++) {
    const gchar *item = g_strstrip (items[i]);
    guint64 v;

    if (*item == '#')
      item++;
    if (g_ascii_strcasecmp (item, "none") == 0) {
      out->colours[i] = GST_SF_NO_COLOUR;
    } else if (strlen (item) == 6
        && g_ascii_string_to_unsigned (item, 16, 0, 0xffffff, &v, NULL)) {
      out->colours[i] = (guint32)v;
    } else {
      *bad = g_strdup (items[i]);
      g_strfreev (items);
      g_clear_pointer (&out->colours, g_free);
      return FALSE;
    }
  }
  out->n_colours = n;
  g_strfreev (items);
  return TRUE;
}

static guint32
label_colour (const GstSfPalette *palette, guint label)
{
  if (label < palette->n_colours)
    return palette->colours[label];
  return builtin_palette[label % G_N_ELEMENTS (builtin_palette)];
}

void
gst_sf_palette_clear (GstSfPalette *palette)
{
  g_clear_pointer (&palette->colours, g_free);
  palette->n_colours = 0;
}

GstBuffer *
gst_sf_draw_overlay (const GstSfPalette *palette, gdouble alpha,
    GstBuffer *media, const GstVideoInfo *in_info, const gint32 *labels,
    GstVideoInfo *out_info)
{
  GstVideoFrame in, out;
  GstBuffer *buffer;
  SfImage *image;
  int x, y, a, width = GST_VIDEO_INFO_WIDTH (in_info);
  int height = GST_VIDEO_INFO_HEIGHT (in_info);

  a = (int)(alpha * 256.0 + 0.5); /* 8-bit fixed point weight */

  if (!gst_video_frame_map (&in, (GstVideoInfo *)in_info, media, GST_MAP_READ))
    return NULL;
  image = gst_sf_video_frame_to_image (&in);
  gst_video_frame_unmap (&in);
  if (image == NULL)
    return NULL;

  gst_video_info_set_format (out_info, GST_VIDEO_FORMAT_RGB, width, height);
  buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (out_info), NULL);
  gst_video_frame_map (&out, out_info, buffer, GST_MAP_WRITE);
  for (y = 0; y < height; y++) {
    const guint8 *src = image->data + (gsize)y * image->stride;
    guint8 *dst = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&out, 0)
        + (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE (&out, 0);
    const gint32 *row = labels + (gsize)y * width;

    for (x = 0; x < width; x++) {
      guint32 colour = label_colour (palette, (guint)row[x]);
      int k;

      for (k = 0; k < 3; k++) {
        int p = src[3 * x + k];

        if (colour != GST_SF_NO_COLOUR) {
          int c = (colour >> (16 - 8 * k)) & 0xff;
          p = (p * (256 - a) + c * a + 128) >> 8;
        }
        dst[3 * x + k] = (guint8)p;
      }
    }
  }
  gst_video_frame_unmap (&out);
  sf_image_free (image);
  return buffer;
}

GstBuffer *
gst_sf_draw_mask (const gint32 *labels, int width, int height, guint n_labels,
    GstVideoInfo *out_info)
{
  guint8 level[256];
  GstVideoFrame out;
  GstBuffer *buffer;
  int x, y;

  for (x = 0; x < 256; x++)
    level[x] = n_labels < 2
        ? (guint8)x
        : (guint8)((MIN ((guint)x, n_labels - 1) * 255 + (n_labels - 1) / 2)
            / (n_labels - 1));

  gst_video_info_set_format (out_info, GST_VIDEO_FORMAT_GRAY8, width, height);
  buffer = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (out_info), NULL);
  gst_video_frame_map (&out, out_info, buffer, GST_MAP_WRITE);
  for (y = 0; y < height; y++) {
    guint8 *dst = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&out, 0)
        + (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE (&out, 0);
    const gint32 *row = labels + (gsize)y * width;

    for (x = 0; x < width; x++)
      dst[x] = level[CLAMP (row[x], 0, 255)];
  }
  gst_video_frame_unmap (&out);
  return buffer;
}

GType
gst_sf_segmenter_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SF_SEGMENTER_MODE_OVERLAY,
        "The frame (RGB) with label colours blended in", "overlay" },
    { GST_SF_SEGMENTER_MODE_MASK,
        "The label map (GRAY8): each pixel its label index, so near black "
        "in a viewer",
        "mask" },
    { GST_SF_SEGMENTER_MODE_MASK_SCALED,
        "The label map (GRAY8) for viewing: label indices spread over "
        "0-255 (first label black, last white)",
        "mask-scaled" },
    { GST_SF_SEGMENTER_MODE_LABELS,
        "The frame untouched, with class fractions in the result", "labels" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSfSegmenterMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}
