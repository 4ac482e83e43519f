/* streamformer CLI: still images in, image-model results out. */
#pragma once

#include "core/image/image.h"
#include "graphs/model.h"

G_BEGIN_DECLS

/* (transfer full) the first frame of @path (PNG, JPEG, …) as RGB, decoded
 * with FFmpeg; NULL with an error naming the file otherwise. */
SfImage *sf_media_load_image (const char *path, GError **error);

/* `streamformer run MODEL --image F`: top-k labels (classifiers) or
 * per-class pixel fractions (segmenters), as text or one JSON object.
 * A segmenter also writes its label map to @mask_path (nullable) as a
 * binary PGM, one label index per pixel. Returns the exit code. */
int sf_run_image (SfModel *model, const char *path, int top_k, gboolean json,
    const char *mask_path);

G_END_DECLS
