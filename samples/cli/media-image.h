/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer CLI: still images in, image-model results out. */
#pragma once

#include "core/image/image.h"
#include "graphs/task.h"

G_BEGIN_DECLS

/* (transfer full) the first frame of @path (PNG, JPEG, …) as RGB, decoded
 * with FFmpeg; NULL with an error naming the file otherwise. */
SfImage *sf_media_load_image (const char *path, GError **error);

/* `streamformer run MODEL --image F`: @task's output for the image:
 * top-k labels (classifiers), per-class pixel fractions (segmenters), the
 * embedding or per-patch states, as text or one JSON object. A segmenter
 * also writes its label map to @mask_path (nullable) as a binary PGM, one
 * label index per pixel. Returns the exit code. */
int sf_run_image (SfTask *task, const char *path, int top_k, gboolean json,
    const char *mask_path);

/* `--image F --text-file P` on CLIP: the softmax over logit_scale · cos of
 * the image embedding against each prompt's, labels the prompts. */
int sf_run_zero_shot (SfTask *image_task, SfTask *text_task, const char *path,
    GPtrArray *prompts, int top_k, gboolean json);

G_END_DECLS
