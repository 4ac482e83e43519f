/* `streamformer run MODEL --image F`: an image classifier prints its
 * top-k labels; a segmenter prints the fraction of pixels of each class
 * in the label map at the image's own size. */
#include "samples/cli/media-image.h"
#include "graphs/post/classify.h"
#include "graphs/post/segment.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static void
print_json (cJSON *obj)
{
  char *line = cJSON_PrintUnformatted (obj);
  printf ("%s\n", line);
  cJSON_free (line);
}

static void
print_classes (SfModel *model, const char *path, const SfTensor *logits,
    int top_k, gboolean json)
{
  guint n = sf_model_num_labels (model);
  g_autofree SfLabelScore *scores = g_new (SfLabelScore, n);
  guint k = sf_classify (
      model, sf_tensor_f32 (logits), n, SF_SCORE_AUTO, top_k, 0.0f, scores);

  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *labels = cJSON_AddArrayToObject (obj, "labels");
    cJSON *values = cJSON_AddArrayToObject (obj, "scores");
    cJSON_AddStringToObject (obj, "image", path);
    for (guint i = 0; i < k; i++) {
      cJSON_AddItemToArray (labels, cJSON_CreateString (scores[i].label));
      cJSON_AddItemToArray (values, cJSON_CreateNumber (scores[i].score));
    }
    print_json (obj);
    return;
  }
  printf ("%s\n", path);
  for (guint i = 0; i < k; i++)
    printf ("  %-20s %.4f\n", scores[i].label, scores[i].score);
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
        cJSON_AddNumberToObject (
            classes, sf_model_label (model, c), fractions[c]);
    print_json (obj);
    return 0;
  }
  printf ("%s (%dx%d)\n", path, image->width, image->height);
  for (guint c = 0; c < n; c++)
    if (fractions[c] > 0.0)
      printf ("  %-20s %.4f\n", sf_model_label (model, c), fractions[c]);
  return 0;
}

int
sf_run_image (SfModel *model, const char *path, int top_k, gboolean json,
    const char *mask_path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfImage) image = sf_media_load_image (path, &error);
  g_autoptr (SfTensor) px = NULL, batch = NULL;
  const SfImageProcessor *proc = sf_model_image_processor (model);
  SfImageInput input = { 0 };
  SfImageOutput output;
  int rc = 0;

  if (image == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return 1;
  }
  px = sf_image_processor_process (proc, image, &error);
  if (px == NULL) {
    fprintf (stderr, "streamformer: %s: %s\n", path, error->message);
    return 1;
  }
  batch = sf_tensor_reshape (
      px, 4, (gint64[]){ 1, px->shape[0], px->shape[1], px->shape[2] });
  input.pixel_values = batch;
  if (!sf_model_forward_image (model, &input, FALSE, &output, &error)) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return 1;
  }
  if (output.logits && output.logits->ndim == 4)
    rc = print_fractions (model, path, output.logits, image, json, mask_path);
  else if (output.logits)
    print_classes (model, path, output.logits, top_k, json);
  else {
    fprintf (stderr,
        "streamformer: %s has no classification or "
        "segmentation head; nothing to print\n",
        sf_model_dir (model));
    rc = 1;
  }
  sf_image_output_clear (&output);
  return rc;
}
