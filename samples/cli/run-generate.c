/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer CLI: text generation through graphs/textgen.h, with the
 * checkpoint's generation settings changed by the command line. */
#include "samples/cli/run-generate.h"
#include "graphs/textgen.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static void
print_result (const char *prompt, const SfTextGeneration *out,
    gboolean continuation, gboolean json)
{
  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    cJSON *ids;
    char *line;

    cJSON_AddStringToObject (obj, "text", prompt);
    cJSON_AddStringToObject (obj, "generated", out->text);
    ids = cJSON_AddArrayToObject (obj, "ids");
    for (guint i = 0; i < out->ids->len; i++)
      cJSON_AddItemToArray (
          ids, cJSON_CreateNumber (g_array_index (out->ids, gint64, i)));
    line = cJSON_PrintUnformatted (obj);
    printf ("%s\n", line);
    cJSON_free (line);
  } else if (continuation) {
    printf ("%s%s\n", prompt, out->text);
  } else {
    printf ("%s\n", out->text);
  }
}

int
sf_run_generate (SfModel *model, GPtrArray *texts, const SfRunGenerate *options)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SfTextGenerator) gen = sf_text_generator_new (model, &error);
  SfGenerationConfig cfg;

  if (gen == NULL) {
    fprintf (stderr, "streamformer: %s\n", error->message);
    return 1;
  }
  cfg = *sf_text_generator_defaults (gen);
  if (options->max_new_tokens > 0)
    cfg.max_new_tokens = options->max_new_tokens;
  if (options->beams > 0)
    cfg.num_beams = options->beams;
  if (options->sample)
    cfg.do_sample = TRUE;
  if (options->seed >= 0)
    cfg.seed = options->seed;
  for (guint i = 0; i < texts->len; i++) {
    const char *prompt = texts->pdata[i];
    g_autoptr (SfTextGeneration) out =
        sf_text_generator_run (gen, prompt, NULL, &cfg, NULL, NULL, &error);

    if (out == NULL) {
      fprintf (stderr, "streamformer: %s\n", error->message);
      return 1;
    }
    print_result (prompt, out, !sf_text_generator_is_encoder_decoder (gen),
        options->json);
  }
  return 0;
}
