/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer run MODEL: the checkpoint's task on text, image or audio
 * input. The task layer (graphs/task.h) decides what each input becomes,
 * with the options the elements have (--pooling, --normalize), so that
 * the CLI and the elements give the same tensors. */
#include "samples/cli/commands.h"
#include "samples/cli/precision-arg.h"
#include "graphs/task.h"
#include "samples/cli/media-audio.h"
#include "samples/cli/media-image.h"
#include "samples/cli/run-generate.h"
#include "samples/cli/run-print.h"
#include "graphs/textgen.h"

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
  char *pooling; /* auto|none|cls|mean, as sftextencoder's property */
  gboolean normalize, no_normalize;
  gboolean json;
  int max_new_tokens, beams; /* generating models; 0 = the checkpoint's */
  gboolean sample;
  gint64 seed;
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

/* The task options from the command line, as sftextencoder's pooling
 * and normalize properties give them. */
static gboolean
text_options (const RunOptions *opts, SfTaskOptions *options)
{
  static const char *const names[] = { "auto", "none", "cls", "mean" };
  static const SfPooling values[] = { SF_POOLING_AUTO, SF_POOLING_NONE,
    SF_POOLING_CLS, SF_POOLING_MEAN };

  *options = (SfTaskOptions)SF_TASK_OPTIONS_INIT (SF_MODALITY_TEXT);
  options->max_length = (guint)opts->max_length;
  options->normalize = opts->normalize ? 1 : opts->no_normalize ? 0 : -1;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    if (g_strcmp0 (opts->pooling ? opts->pooling : "auto", names[i]) == 0) {
      options->pooling = values[i];
      return TRUE;
    }
  }
  fprintf (stderr, "streamformer run: --pooling is auto, none, cls or mean\n");
  return FALSE;
}

/* (transfer full) the task of @model for @options, or NULL after printing
 * why. */
static SfTask *
new_task (SfModel *model, const SfTaskOptions *options)
{
  g_autoptr (GError) error = NULL;
  SfTask *task = sf_task_new (model, options, &error);

  if (task == NULL)
    fprintf (stderr, "streamformer: %s\n", error->message);
  return task;
}

static int
run_text (SfTask *task, GPtrArray *texts, const RunOptions *opts)
{
  /* one text per run: no padding, and memory stays flat */
  for (guint i = 0; i < texts->len; i++) {
    SfRunPrint print = { "text", texts->pdata[i], opts->top_k, opts->json };
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) out = NULL;
    gboolean truncated = FALSE;

    out = sf_task_run_texts (
        task, (const char *const *)&texts->pdata[i], 1, &truncated, &error);
    if (out == NULL) {
      fprintf (stderr, "streamformer: %s\n", error->message);
      return 1;
    }
    if (truncated)
      fprintf (stderr, "streamformer: line %u truncated to %s\n", i + 1,
          opts->max_length ? "--max-length" : "the model's token limit");
    if (!sf_print_task_output (&print, task, out->pdata[0])) {
      fprintf (stderr, "streamformer: nothing to print for %s\n",
          sf_task_output_name (task));
      return 1;
    }
  }
  return 0;
}

static const char *
modality_name (SfModality modality)
{
  return modality == SF_MODALITY_TEXT ? "text"
      : modality == SF_MODALITY_IMAGE ? "image"
                                      : "audio";
}

/* Runs the task the inputs ask for: text, image, both (zero-shot) or
 * audio. */
static int
run_inputs (SfModel *model, const char *dir, const RunOptions *opts)
{
  SfModality wanted = opts->audio ? SF_MODALITY_AUDIO
      : opts->image               ? SF_MODALITY_IMAGE
                                  : SF_MODALITY_TEXT;
  SfTaskOptions text_opts,
      image_opts = SF_TASK_OPTIONS_INIT (SF_MODALITY_IMAGE);
  g_autoptr (SfTask) task = NULL, text_task = NULL;
  g_autoptr (GPtrArray) texts = NULL;
  g_autoptr (GError) error = NULL;
  gboolean has_text = opts->text || opts->text_file;

  if (!sf_model_takes_input (model, wanted)
      || (has_text && !sf_model_takes_input (model, SF_MODALITY_TEXT))) {
    fprintf (stderr, "streamformer: %s is %s model (%s); it takes %s input\n",
        dir, sf_model_kind (model), sf_model_architecture (model),
        modality_name (sf_model_modality (model)));
    return 1;
  }
  if (opts->audio) /* the audio path resolves its own task */
    return sf_run_audio (model, opts->audio, opts->top_k, opts->json);
  if (!text_options (opts, &text_opts))
    return 2;
  if (has_text) {
    if ((texts = read_texts (opts, &error)) == NULL) {
      fprintf (stderr, "streamformer: %s\n", error->message);
      return 1;
    }
    if (!opts->image && sf_text_generator_supports (model)) {
      SfRunGenerate gen = { opts->max_new_tokens, opts->beams, opts->sample,
        opts->seed, opts->json };

      return sf_run_generate (model, texts, &gen);
    }
    if ((text_task = new_task (model, &text_opts)) == NULL)
      return 1;
  }
  if (!opts->image)
    return run_text (text_task, texts, opts);
  if ((task = new_task (model, &image_opts)) == NULL)
    return 1;
  if (!has_text)
    return sf_run_image (
        task, opts->image, opts->top_k, opts->json, opts->mask);
  if (sf_task_kind (task) != SF_TASK_ZERO_SHOT
      || sf_task_kind (text_task) != SF_TASK_ZERO_SHOT || texts->len == 0) {
    fprintf (stderr,
        "streamformer: --image with prompts needs a text-image model (CLIP) "
        "and at least one prompt\n");
    return 1;
  }
  return sf_run_zero_shot (
      task, text_task, opts->image, texts, opts->top_k, opts->json);
}

int
sf_cmd_run (int argc, char **argv)
{
  RunOptions opts = { .top_k = 5, .seed = -1 };
  g_autofree char *precision_arg = NULL;
  SfPrecision precision;
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
    { "pooling", 0, 0, G_OPTION_ARG_STRING, &opts.pooling,
        "Text: auto (the checkpoint's own output), none (per-token states), "
        "cls or mean (a sentence embedding)",
        "P" },
    { "normalize", 0, 0, G_OPTION_ARG_NONE, &opts.normalize,
        "Text: L2-normalise pooled embeddings (default: the checkpoint's "
        "choice)",
        NULL },
    { "no-normalize", 0, 0, G_OPTION_ARG_NONE, &opts.no_normalize,
        "Text: do not L2-normalise pooled embeddings", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opts.json, "One JSON object per input",
        NULL },
    { "max-new-tokens", 0, 0, G_OPTION_ARG_INT, &opts.max_new_tokens,
        "Generating models: most new tokens (default: the checkpoint's)", "N" },
    { "beams", 0, 0, G_OPTION_ARG_INT, &opts.beams,
        "Generating models: beam search width (default: the checkpoint's)",
        "K" },
    { "sample", 0, 0, G_OPTION_ARG_NONE, &opts.sample,
        "Generating models: sample instead of the most likely token", NULL },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_arg,
        SF_CLI_PRECISION_HELP, "P" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &opts.seed,
        "Generating models: the sampler's seed (the same seed gives the same "
        "text)",
        "S" },
    { NULL } };
  GOptionContext *ctx = g_option_context_new ("MODEL");
  GError *error = NULL;
  SfModel *model = NULL;
  int n_inputs, rc = 2;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx,
      "Runs a checkpoint's task as the elements do: labels for a "
      "classifier, class fractions for a segmenter, the projected "
      "embedding for CLIP (with --image and prompts: zero-shot labels), "
      "the sentence embedding a sentence-transformers checkpoint names, "
      "else the per-token states (shape and first values). For a mean, "
      "L2-normalised sentence embedding from a plain encoder (BERT), add "
      "--pooling mean --normalize. A generating model (GPT-2, BART, T5) "
      "continues, summarises or translates each text (--max-new-tokens, "
      "--beams, --sample, --seed). With --audio the model's window slides "
      "over the whole file: labels (AST) or a transcript (wav2vec2) per "
      "window and a summary, or Whisper's segments.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2) {
    fprintf (stderr, "%s\n",
        error ? error->message
              : "usage: streamformer run MODEL (--text T | --text-file F | "
                "--image F [--text-file F] | --audio F) [--json]");
    goto out;
  }
  n_inputs = !!opts.text + !!opts.text_file;
  if (n_inputs > 1 || (n_inputs == 0 && !opts.image && !opts.audio)
      || (opts.audio && (n_inputs || opts.image)) || opts.top_k < 0
      || opts.max_length < 0 || opts.max_new_tokens < 0 || opts.beams < 0
      || (opts.normalize && opts.no_normalize)) {
    fprintf (stderr,
        "streamformer run: give one of --text, --text-file, --image, "
        "--audio, or --image with --text or --text-file (CLIP zero-shot); "
        "sizes are non-negative\n");
    goto out;
  }
  if (!sf_cli_precision ("run", precision_arg, &precision))
    goto out;
  rc = 1;
  model = sf_model_load_with_precision (argv[1], precision, &error);
  if (model == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    goto out;
  }
  rc = run_inputs (model, argv[1], &opts);
out:
  g_free (opts.text);
  g_free (opts.text_file);
  g_free (opts.image);
  g_free (opts.mask);
  g_free (opts.audio);
  g_free (opts.pooling);
  sf_model_unref (model);
  g_clear_error (&error);
  g_option_context_free (ctx);
  return rc;
}
