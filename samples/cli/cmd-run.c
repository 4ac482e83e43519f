/* streamformer run MODEL: the checkpoint's task on text input.
 * A classifier prints its top-k labels; an encoder prints the sentence
 * embedding (its sentence-transformers pooling, else mean + L2). */
#include "samples/cli/commands.h"
#include "graphs/post/classify.h"
#include "graphs/model.h"
#include "samples/cli/media-audio.h"
#include "samples/cli/media-image.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  char *text;
  char *text_file;
  char *image;
  char *mask; /* segmenters: label map as a binary PGM */
  char *audio;
  int top_k;
  int max_length;
  gboolean json;
} RunOptions;

static GPtrArray *
read_texts (const RunOptions *opts, GError **error)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;

  if (opts->text) {
    g_ptr_array_add (texts, g_strdup (opts->text));
    return texts;
  }
  if (!g_file_get_contents (opts->text_file, &contents, NULL, error)) {
    g_ptr_array_unref (texts);
    return NULL;
  }
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_strchomp (lines[i]); /* also drops a trailing \r */
    if (lines[i][0] != '\0')
      g_ptr_array_add (texts, g_utf8_make_valid (lines[i], -1));
  }
  return texts;
}

static void
print_labels (const SfModel *model, const char *text, const float *logits,
    const RunOptions *opts)
{
  guint n = sf_model_num_labels (model);
  g_autofree SfLabelScore *scores = g_new (SfLabelScore, n);
  guint k =
      sf_classify (model, logits, n, SF_SCORE_AUTO, opts->top_k, 0.0f, scores);

  if (opts->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *labels = cJSON_AddArrayToObject (obj, "labels");
    cJSON *values = cJSON_AddArrayToObject (obj, "scores");
    char *line;
    cJSON_AddStringToObject (obj, "text", text);
    for (guint i = 0; i < k; i++) {
      cJSON_AddItemToArray (labels, cJSON_CreateString (scores[i].label));
      cJSON_AddItemToArray (values, cJSON_CreateNumber (scores[i].score));
    }
    line = cJSON_PrintUnformatted (obj);
    printf ("%s\n", line);
    cJSON_free (line);
    return;
  }
  printf ("%s\n", text);
  for (guint i = 0; i < k; i++)
    printf ("  %-20s %.4f\n", scores[i].label, scores[i].score);
}

static void
print_embedding (
    const char *text, const float *v, gint64 dim, const RunOptions *opts)
{
  if (opts->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *values = cJSON_AddArrayToObject (obj, "embedding");
    char *line;
    cJSON_AddStringToObject (obj, "text", text);
    for (gint64 i = 0; i < dim; i++)
      cJSON_AddItemToArray (values, cJSON_CreateNumber (v[i]));
    line = cJSON_PrintUnformatted (obj);
    printf ("%s\n", line);
    cJSON_free (line);
    return;
  }
  printf ("%s\n  embedding[%" G_GINT64_FORMAT "]:", text, dim);
  for (gint64 i = 0; i < dim && i < 8; i++)
    printf (" %.5f", v[i]);
  printf ("%s\n", dim > 8 ? " …" : "");
}

static int
run_text (SfModel *model, const RunOptions *opts)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) texts = read_texts (opts, &error);
  SfPooling pooling = sf_model_default_pooling (model);
  gboolean normalize = sf_model_default_normalize (model);

  if (texts == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return 1;
  }
  if (pooling == SF_POOLING_NONE) { /* a plain encoder: mean + L2 */
    pooling = SF_POOLING_MEAN;
    normalize = TRUE;
  }
  /* one text per forward pass: no padding, and memory stays flat */
  for (guint i = 0; i < texts->len; i++) {
    const char *text = texts->pdata[i];
    SfTextInput input;
    SfTextOutput output;
    gboolean truncated = FALSE;

    if (!sf_model_encode_texts (
            model, &text, NULL, 1, opts->max_length, &input, &truncated, &error)
        || !sf_model_forward_text (model, &input, FALSE, &output, &error)) {
      fprintf (stderr, "streamformer: %s\n", error->message);
      sf_text_input_clear (&input);
      return 1;
    }
    if (truncated)
      fprintf (stderr,
          "streamformer: line %u truncated to %" G_GINT64_FORMAT " tokens\n",
          i + 1, sf_tensor_dim (input.input_ids, 1));
    if (output.logits) {
      print_labels (model, text, sf_tensor_f32 (output.logits), opts);
    } else {
      g_autoptr (SfTensor) emb =
          sf_text_output_pool (&output, &input, pooling, normalize);
      print_embedding (text, sf_tensor_f32 (emb), sf_tensor_dim (emb, 1), opts);
    }
    sf_text_output_clear (&output);
    sf_text_input_clear (&input);
  }
  return 0;
}

int
sf_cmd_run (int argc, char **argv)
{
  RunOptions opts = { .top_k = 5 };
  GOptionEntry entries[] = { { "text", 0, 0, G_OPTION_ARG_STRING, &opts.text,
                                 "Text to run", "T" },
    { "text-file", 0, 0, G_OPTION_ARG_FILENAME, &opts.text_file,
        "One text per line", "F" },
    { "image", 0, 0, G_OPTION_ARG_FILENAME, &opts.image, "Image file", "F" },
    { "audio", 0, 0, G_OPTION_ARG_FILENAME, &opts.audio, "Audio file", "F" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &opts.mask,
        "Segmenters: write the label map to this PGM file", "OUT" },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &opts.top_k,
        "Labels to print per input (default 5)", "K" },
    { "max-length", 0, 0, G_OPTION_ARG_INT, &opts.max_length,
        "Truncate texts to this many tokens (default: the model's limit)",
        "L" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opts.json, "One JSON object per input",
        NULL },
    { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  int n_inputs, rc = 2;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
      "Runs a checkpoint's task: labels for "
      "a classifier, a sentence embedding for an encoder.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2) {
    fprintf (stderr, "%s\n",
        error ? error->message
              : "usage: streamformer run MODEL (--text T | --text-file F) "
                "[--json]");
    goto out;
  }
  n_inputs = !!opts.text + !!opts.text_file + !!opts.image + !!opts.audio;
  if (n_inputs != 1 || opts.top_k < 0 || opts.max_length < 0) {
    fprintf (stderr,
        "streamformer run: give exactly one of --text, "
        "--text-file, --image, --audio (and non-negative sizes)\n");
    goto out;
  }
  rc = 1;
  model = sf_model_load (argv[1], &error);
  if (model == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    goto out;
  }
  if (opts.image && sf_model_modality (model) == SF_MODALITY_IMAGE) {
    rc = sf_run_image (model, opts.image, opts.top_k, opts.json, opts.mask);
    goto out;
  }
  if (opts.audio && sf_model_modality (model) == SF_MODALITY_AUDIO) {
    rc = sf_run_audio (model, opts.audio, opts.top_k, opts.json);
    goto out;
  }
  if (opts.image || opts.audio
      || sf_model_modality (model) != SF_MODALITY_TEXT) {
    fprintf (stderr, "streamformer: %s is a %s model (%s); it takes %s input\n",
        argv[1], sf_model_family (model), sf_model_architecture (model),
        sf_model_modality (model) == SF_MODALITY_TEXT        ? "text"
            : sf_model_modality (model) == SF_MODALITY_IMAGE ? "image"
                                                             : "audio");
    goto out;
  }
  rc = run_text (model, &opts);
out:
  g_free (opts.text);
  g_free (opts.text_file);
  g_free (opts.image);
  g_free (opts.mask);
  g_free (opts.audio);
  return rc;
}
