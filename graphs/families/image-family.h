/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: helpers shared by the image families (ViT,
 * SegFormer). Not installed. */
#pragma once

#include "graphs/model-private.h"
#include "core/image/image.h"

G_BEGIN_DECLS

/* Sets model->image_processor from the folder's preprocessor_config.json,
 * or from @default_json (the HF processor's defaults for this family)
 * when the folder has none. */
gboolean sf_image_family_load_processor (
    SfModel *model, const char *default_json, GError **error);

/* A config field that is an integer ≥ 1 or a list of two of them
 * (image_size, patch_size): out[0] is the height, out[1] the width. */
gboolean sf_image_family_read_pair (const SfConfig *config, const char *key,
    gint64 def, gint64 out[2], GError **error);

/* Reads a list field of exactly @n integers ≥ @min into @out. */
gboolean sf_image_family_read_ints (const SfConfig *config, const char *key,
    gint64 n, gint64 min, gint64 *out, GError **error);

/* Checks pixel_values [B, C, H, W]: F32, 4-D, @channels channels and, when
 * @height > 0, exactly @height x @width. */
/* The same check on one item's shape [C, H, W]. */
gboolean sf_image_family_check_shape (const SfShape *in, gint64 channels,
    gint64 height, gint64 width, GError **error);
gboolean sf_image_family_check_input (const SfTensor *pixel_values,
    gint64 channels, gint64 height, gint64 width, GError **error);

G_END_DECLS
