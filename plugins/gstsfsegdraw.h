/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer plugin: drawing a label map for sfsegmenter.
 *
 * Private to the plugin. The label map itself comes from
 * graphs/post/segment.h; this only turns it into pixels: a colour overlay
 * on the original frame, or a GRAY8 mask.
 */
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

/* What sfsegmenter outputs (its mode property). */
typedef enum
{
  GST_SF_SEGMENTER_MODE_OVERLAY,
  GST_SF_SEGMENTER_MODE_MASK,
  GST_SF_SEGMENTER_MODE_LABELS,
  GST_SF_SEGMENTER_MODE_MASK_SCALED,
} GstSfSegmenterMode;

/* GST_TYPE_SF_SEGMENTER_MODE is in gstsfsegmenter.h. */

/* Colours (0xRRGGBB) per label; GST_SF_NO_COLOUR leaves a pixel as it is.
 * Labels past the list take a fixed built-in palette. */
#define GST_SF_NO_COLOUR G_MAXUINT32

typedef struct
{
  guint32 *colours;
  guint n_colours;
} GstSfPalette;

/* Parses a comma-separated list of "rrggbb" (or "#rrggbb", or "none") into
 * @palette; NULL or "" is the built-in palette. FALSE, with the bad entry
 * in @bad (transfer full), on a malformed entry. */
gboolean gst_sf_palette_parse (
    GstSfPalette *palette, const gchar *spec, gchar **bad);
void gst_sf_palette_clear (GstSfPalette *palette);

/* (transfer full) the frame @media (laid out as @in_info) as RGB, each
 * pixel blended with weight @alpha with the colour of its label in
 * @labels [height, width]; @out_info describes it. NULL when the frame
 * cannot be mapped. */
GstBuffer *gst_sf_draw_overlay (const GstSfPalette *palette, gdouble alpha,
    GstBuffer *media, const GstVideoInfo *in_info, const gint32 *labels,
    GstVideoInfo *out_info);

/* (transfer full) @labels [height, width] as GRAY8: the label indices
 * (255 above 254) when @n_labels is 0, else spread over 0–255 for viewing
 * (label i of n_labels as i × 255 / (n_labels − 1), rounded). */
GstBuffer *gst_sf_draw_mask (const gint32 *labels, int width, int height,
    guint n_labels, GstVideoInfo *out_info);

G_END_DECLS
