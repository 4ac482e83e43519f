/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run MODEL --audio F`: the checkpoint's task (graphs/task.h,
 * the one sfaudioencoder runs) over the whole file, one model window after
 * the other (the last one shorter), as sfaudioencoder does with its
 * defaults. Each window prints its time span and its labels (AST) or its
 * greedy CTC transcript (wav2vec2); a file of several windows ends with a
 * summary: each label's best score over the windows, or the joined
 * transcript. Whisper goes through run-whisper.c. */
#include "samples/cli/media-audio.h"
#include "samples/cli/run-whisper.h"
#include "core/error.h"
#include "core/io/json-number.h"
#include "graphs/post/classify.h"
#include "graphs/post/ctc.h"
#include "graphs/task.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* Windows run together in one batch at most. */
#define RUN_AUDIO_BATCH 8

typedef struct
{
  SfModel *model;
  const char *path;
  int top_k;
  gboolean json;
  SfTaskKind kind;
  SfCtcDecoder *ctc;
  float *best;   /* classify: each label's best score so far */
  GString *text; /* ctc: the transcript so far */
  guint n_windows;
} AudioRun;

static void
print_json (cJSON *obj)
{
  char *line = cJSON_PrintUnformatted (obj);

  printf ("%s\n", line);
  cJSON_free (line);
}

/* Labels first: scripts read the top label from the start of the line. */
static void
print_scores (const AudioRun *r, const SfLabelScore *scores, guint k,
    double start, double end, gboolean summary)
{
  if (r->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *labels = cJSON_AddArrayToObject (obj, "labels");
    cJSON *values = cJSON_AddArrayToObject (obj, "scores");

    for (guint i = 0; i < k; i++) {
      cJSON_AddItemToArray (labels, cJSON_CreateString (scores[i].label));
      cJSON_AddItemToArray (values, sf_json_number (scores[i].score));
    }
    cJSON_AddStringToObject (obj, "audio", r->path);
    cJSON_AddItemToObject (obj, "start", sf_json_number (start));
    cJSON_AddItemToObject (obj, "end", sf_json_number (end));
    if (summary)
      cJSON_AddNumberToObject (obj, "windows", r->n_windows);
    print_json (obj);
    return;
  }
  if (summary)
    printf ("%s: best over %u windows\n", r->path, r->n_windows);
  else
    printf ("%s [%.2f-%.2f s]\n", r->path, start, end);
  for (guint i = 0; i < k; i++)
    printf ("  %-20s %.4f\n", scores[i].label, scores[i].score);
}

static void
print_text (const AudioRun *r, const char *text, double start, double end,
    gboolean summary)
{
  if (r->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();

    cJSON_AddStringToObject (obj, "text", text);
    cJSON_AddStringToObject (obj, "audio", r->path);
    cJSON_AddItemToObject (obj, "start", sf_json_number (start));
    cJSON_AddItemToObject (obj, "end", sf_json_number (end));
    if (summary)
      cJSON_AddNumberToObject (obj, "windows", r->n_windows);
    print_json (obj);
  } else if (summary) {
    printf ("%s\n", text);
  } else {
    printf ("[%7.2f → %7.2f] %s\n", start, end, text);
  }
}

static gboolean
window_result (
    AudioRun *r, const SfTensor *out, double start, double end, GError **error)
{
  r->n_windows++;
  if (r->kind == SF_TASK_CLASSIFY) { /* [1, labels] */
    guint n = sf_model_num_labels (r->model);
    g_autofree SfLabelScore *all = g_new (SfLabelScore, n);
    guint k = sf_classify (
        r->model, sf_tensor_f32 (out), n, SF_SCORE_AUTO, n, -G_MAXFLOAT, all);

    for (guint i = 0; i < k; i++)
      r->best[all[i].index] = MAX (r->best[all[i].index], all[i].score);
    print_scores (r, all, MIN (k, (guint)r->top_k), start, end, FALSE);
  } else { /* [1, T, vocab] */
    gint64 t = sf_tensor_dim (out, 1), v = sf_tensor_dim (out, 2);
    g_autofree gint64 *ids = g_new (gint64, MAX (t, 1));
    g_autofree char *text = NULL;

    sf_ctc_greedy_ids (sf_tensor_f32 (out), t, v, ids);
    text = sf_ctc_decoder_decode (r->ctc, ids, t, error);
    if (text == NULL)
      return FALSE;
    print_text (r, text, start, end, FALSE);
    if (text[0] != '\0')
      g_string_append_printf (r->text, "%s%s", r->text->len ? " " : "", text);
  }
  return TRUE;
}

static void
print_summary (AudioRun *r, double end)
{
  if (r->kind == SF_TASK_CLASSIFY) {
    guint n = sf_model_num_labels (r->model);
    g_autofree SfLabelScore *scores = g_new (SfLabelScore, n);
    guint k;

    /* the best scores, ranked as scores are */
    k = sf_classify (
        r->model, r->best, n, SF_SCORE_NONE, r->top_k, -G_MAXFLOAT, scores);
    print_scores (r, scores, k, 0.0, end, TRUE);
  } else {
    print_text (r, r->text->str, 0.0, end, TRUE);
  }
}

static int
run_windows (
    AudioRun *r, SfTask *task, const float *samples, gsize n, GError **error)
{
  gsize window = sf_task_audio_window (task);
  int rate = sf_task_audio_rate (task);
  gsize start = 0;

  /* sf_media_load_audio gives at least one sample */
  do {
    const float *chunks[RUN_AUDIO_BATCH];
    gsize lengths[RUN_AUDIO_BATCH], starts[RUN_AUDIO_BATCH];
    g_autoptr (GPtrArray) outs = NULL;
    guint count = 0;

    for (; count < RUN_AUDIO_BATCH && start < n; count++, start += window) {
      starts[count] = start;
      chunks[count] = samples + start;
      lengths[count] = MIN (window, n - start);
    }
    outs = sf_task_run_audio (task, chunks, lengths, count, error);
    if (outs == NULL)
      return 1;
    for (guint i = 0; i < count; i++) {
      if (!window_result (r, outs->pdata[i], (double)starts[i] / rate,
              (double)(starts[i] + lengths[i]) / rate, error))
        return 1;
    }
  } while (start < n);
  if (r->n_windows > 1)
    print_summary (r, (double)n / rate);
  return 0;
}

int
sf_run_audio (SfModel *model, const char *path, int top_k, gboolean json)
{
  SfTaskOptions options = SF_TASK_OPTIONS_INIT (SF_MODALITY_AUDIO);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTask) task = sf_task_new (model, &options, &error);
  g_autofree float *samples = NULL;
  AudioRun r = { model, path, top_k, json };
  gsize n = 0;
  int rc = 1;

  if (task == NULL)
    goto out;
  samples = sf_media_load_audio (path, sf_task_audio_rate (task), &n, &error);
  if (samples == NULL)
    goto out;
  r.kind = sf_task_kind (task);
  if (r.kind == SF_TASK_TRANSCRIBE) { /* windows, generation and segments */
    rc = sf_run_whisper (task, samples, n, json);
    goto out;
  }
  if (r.kind != SF_TASK_CLASSIFY && r.kind != SF_TASK_CTC) {
    g_set_error (&error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: `run` has no task for %s model (%s)", sf_model_dir (model),
        sf_model_kind (model), sf_model_architecture (model));
    goto out;
  }
  if (r.kind == SF_TASK_CLASSIFY) {
    r.best = g_new (float, sf_model_num_labels (model));
    for (guint i = 0; i < sf_model_num_labels (model); i++)
      r.best[i] = -G_MAXFLOAT;
  } else {
    r.ctc = sf_ctc_decoder_new (model, &error);
    if (r.ctc == NULL)
      goto out;
    r.text = g_string_new (NULL);
  }
  rc = run_windows (&r, task, samples, n, &error);

out:
  if (error != NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    rc = 1;
  }
  g_free (r.best);
  if (r.text != NULL)
    g_string_free (r.text, TRUE);
  if (r.ctc != NULL)
    sf_ctc_decoder_free (r.ctc);
  return rc;
}
