/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run`: printing results per task kind (run-print.h). */
#include "samples/cli/run-print.h"

#include <cjson/cJSON.h>
#include "core/io/json-number.h"
#include <stdio.h>

/* Values shown in text mode; JSON has them all (tokens: this many). */
#define SHOWN 8

static void
print_json (cJSON *obj, const SfRunPrint *p)
{
  char *line;

  cJSON_AddStringToObject (obj, p->key, p->input);
  line = cJSON_PrintUnformatted (obj);
  printf ("%s\n", line);
  cJSON_free (line);
}

void
sf_print_labels (const SfRunPrint *p, const SfModel *model,
    const char *const *names, const float *logits, guint n, SfScoreFunction fn)
{
  g_autofree SfLabelScore *scores = g_new (SfLabelScore, n);
  guint k = sf_classify (model, logits, n, fn, p->top_k, 0.0f, scores);
  g_autofree char **labels = g_new0 (char *, k + 1);

  for (guint i = 0; i < k; i++) {
    guint index = scores[i].index;

    labels[i] = names     ? g_strdup (names[index])
        : scores[i].label ? g_strdup (scores[i].label)
                          : g_strdup_printf ("LABEL_%u", index);
  }
  if (p->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *l = cJSON_AddArrayToObject (obj, "labels");
    cJSON *s = cJSON_AddArrayToObject (obj, "scores");

    for (guint i = 0; i < k; i++) {
      cJSON_AddItemToArray (l, cJSON_CreateString (labels[i]));
      cJSON_AddItemToArray (s, sf_json_number (scores[i].score));
    }
    print_json (obj, p);
  } else {
    printf ("%s\n", p->input);
    for (guint i = 0; i < k; i++)
      printf ("  %-20s %.4f\n", labels[i], scores[i].score);
  }
  for (guint i = 0; i < k; i++)
    g_free (labels[i]);
}

static void
print_embedding (const SfRunPrint *p, const float *v, gint64 dim)
{
  if (p->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *tensor = cJSON_CreateObject ();
    cJSON *dims, *values;

    /* The shape sfjsonsink writes for an embedding tensor. */
    cJSON_AddItemToArray (cJSON_AddArrayToObject (obj, "tensors"), tensor);
    cJSON_AddStringToObject (tensor, "type", "float32");
    dims = cJSON_AddArrayToObject (tensor, "dims");
    cJSON_AddItemToArray (dims, cJSON_CreateNumber ((double)dim));
    values = cJSON_AddArrayToObject (tensor, "data");
    for (gint64 i = 0; i < dim; i++)
      cJSON_AddItemToArray (values, sf_json_number (v[i]));
    print_json (obj, p);
    return;
  }
  printf ("%s\n  embedding[%" G_GINT64_FORMAT "]:", p->input, dim);
  for (gint64 i = 0; i < dim && i < SHOWN; i++)
    printf (" %.5f", v[i]);
  printf ("%s\n", dim > SHOWN ? " …" : "");
}

/* Per-token states [1, T, H]: too many to print, so the shape and the
 * first values. */
static void
print_tokens (const SfRunPrint *p, const char *name, const SfTensor *out)
{
  const float *v = sf_tensor_f32 (out);
  gint64 n = sf_tensor_numel (out);

  if (p->json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *shape = cJSON_AddArrayToObject (obj, "shape");
    cJSON *values = cJSON_AddArrayToObject (obj, "first_values");

    cJSON_AddStringToObject (obj, "output", name);
    for (int d = 0; d < out->ndim; d++)
      cJSON_AddItemToArray (shape, cJSON_CreateNumber (out->shape[d]));
    for (gint64 i = 0; i < n && i < SHOWN; i++)
      cJSON_AddItemToArray (values, sf_json_number (v[i]));
    print_json (obj, p);
    return;
  }
  printf ("%s\n  %s[", p->input, name);
  for (int d = 0; d < out->ndim; d++)
    printf ("%s%" G_GINT64_FORMAT, d ? ", " : "", out->shape[d]);
  printf ("]:");
  for (gint64 i = 0; i < n && i < SHOWN; i++)
    printf (" %.5f", v[i]);
  printf ("%s\n", n > SHOWN ? " …" : "");
}

gboolean
sf_print_task_output (
    const SfRunPrint *p, const SfTask *task, const SfTensor *out)
{
  gint64 n = sf_tensor_numel (out);

  switch (sf_task_kind (task)) {
    case SF_TASK_CLASSIFY:
      sf_print_labels (p, sf_task_model (task), NULL, sf_tensor_f32 (out),
          (guint)n, SF_SCORE_AUTO);
      return TRUE;
    case SF_TASK_EMBED:
    case SF_TASK_ZERO_SHOT:
      print_embedding (p, sf_tensor_f32 (out), n);
      return TRUE;
    case SF_TASK_TOKENS:
      print_tokens (p, sf_task_output_name (task), out);
      return TRUE;
    default: return FALSE;
  }
}
