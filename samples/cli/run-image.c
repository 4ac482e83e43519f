/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run MODEL --image F`: the image task's output, printed as
 * its kind asks (run-print.h); a segmenter prints the fraction of pixels
 * of each class in the label map at the image's own size. With prompts
 * on CLIP, zero-shot labels. */
#include "samples/cli/media-image.h"
#include "core/io/json-number.h"
#include "graphs/post/segment.h"
#include "samples/cli/run-print.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static void
print_json (cJSON *obj)
{
  char *line = cJSON_PrintUnformatted (obj);
  printf ("%s\n", line);
  cJSON_free (line);
}

/* The label map [1, H, W] as a binary PGM: one byte (the label index,
 * 255 above 254) per pixel. */
static gboolean
write_mask (const SfTensor *labels, const char *path)
{
  gint64 h = labels->shape[1], w = labels->shape[2];
  const gint32 *src = (const gint32 *)labels->data;
  g_autofree guint8 *pixels = g_new (guint8, h * w);
  g_autofree char *header = g_strdup_printf (
      "P5\n%" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n255\n", w, h);
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) data = g_string_new (header);

  for (gint64 i = 0; i < h * w; i++)
    pixels[i] = (guint8)MIN (src[i], 255);
  g_string_append_len (data, (const char *)pixels, h * w);
  if (!g_file_set_contents (path, data->str, data->len, &error)) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return FALSE;
  }
  return TRUE;
}

static int
print_fractions (SfModel *model, const char *path, const SfTensor *logits,
    const SfImage *image, gboolean json, const char *mask_path)
{
  guint n = sf_model_num_labels (model);
  g_autoptr (SfTensor) labels =
      sf_segment_labels (logits, image->width, image->height);
  g_autofree double *fractions = g_new0 (double, n);

  if (mask_path != NULL && !write_mask (labels, mask_path))
    return 1;

  sf_segment_class_fractions (labels, n, fractions);
  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *classes = cJSON_AddObjectToObject (obj, "class_fractions");
    cJSON_AddStringToObject (obj, "image", path);
    cJSON_AddNumberToObject (obj, "width", image->width);
    cJSON_AddNumberToObject (obj, "height", image->height);
    for (guint c = 0; c < n; c++)
      if (fractions[c] > 0.0)
        cJSON_AddItemToObject (
            classes, sf_model_label (model, c), sf_json_number (fractions[c]));
    print_json (obj);
    return 0;
  }
  printf ("%s (%dx%d)\n", path, image->width, image->height);
  for (guint c = 0; c < n; c++)
    if (fractions[c] > 0.0)
      printf ("  %-20s %.4f\n", sf_model_label (model, c), fractions[c]);
  return 0;
}

/* (transfer full) the image at @path, or NULL after printing why. */
static SfImage *
load_image (const char *path)
{
  g_autoptr (GError) error = NULL;
  SfImage *image = sf_media_load_image (path, &error);

  if (image == NULL)
    fprintf (stderr, "streamformer: %s\n", error->message);
  return image;
}

/* (transfer full) the task's output [1, ...] for @image, or NULL after
 * printing why. */
static SfTensor *
run_one (SfTask *task, SfImage *image)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) out = sf_task_run_images (task, &image, 1, &error);

  if (out == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return NULL;
  }
  return sf_tensor_ref (out->pdata[0]);
}

int
sf_run_image (SfTask *task, const char *path, int top_k, gboolean json,
    const char *mask_path)
{
  SfRunPrint print = { "image", path, top_k, json };
  g_autoptr (SfImage) image = load_image (path);
  g_autoptr (SfTensor) out = NULL;

  if (image == NULL || (out = run_one (task, image)) == NULL)
    return 1;
  if (sf_task_kind (task) == SF_TASK_SEGMENT)
    return print_fractions (
        sf_task_model (task), path, out, image, json, mask_path);
  if (!sf_print_task_output (&print, task, out)) {
    fprintf (stderr, "streamformer: %s gives %s; nothing to print\n",
        sf_model_dir (sf_task_model (task)), sf_task_output_name (task));
    return 1;
  }
  return 0;
}

/* (transfer full) [N, P] from N items [1, P]. */
static SfTensor *
stack_rows (GPtrArray *rows)
{
  const SfTensor *first = rows->pdata[0];
  gint64 p = sf_tensor_numel (first);
  SfTensor *out = sf_tensor_new (SF_DTYPE_F32, 2, (gint64[]){ rows->len, p });

  for (guint i = 0; i < rows->len; i++)
    memcpy (sf_tensor_f32 (out) + i * p, sf_tensor_f32 (rows->pdata[i]),
        p * sizeof (float));
  return out;
}

int
sf_run_zero_shot (SfTask *image_task, SfTask *text_task, const char *path,
    GPtrArray *prompts, int top_k, gboolean json)
{
  SfRunPrint print = { "image", path, top_k, json };
  g_autoptr (GError) error = NULL;
  g_autoptr (SfImage) image = load_image (path);
  g_autoptr (SfTensor) embeds = NULL, texts = NULL, logits = NULL;
  g_autoptr (GPtrArray) rows = NULL;

  if (image == NULL || (embeds = run_one (image_task, image)) == NULL)
    return 1;
  rows = sf_task_run_texts (text_task, (const char *const *)prompts->pdata,
      prompts->len, NULL, &error);
  if (rows == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return 1;
  }
  /* CLIP's logits_per_image: logit_scale · cos, one per prompt. */
  texts = stack_rows (rows);
  logits = sf_model_similarity (sf_task_model (image_task), embeds, texts);
  sf_print_labels (&print, NULL, (const char *const *)prompts->pdata,
      sf_tensor_f32 (logits), prompts->len, SF_SCORE_SOFTMAX);
  return 0;
}
