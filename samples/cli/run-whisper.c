/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer run` on Whisper: the task runs the log-mel front-end and
 * the encoder on each window, then decoding (greedy unless
 * generation_config.json asks for beams or sampling) with segment
 * timestamps when the vocabulary has them. */
#include "samples/cli/run-whisper.h"
#include "core/io/json-number.h"
#include "graphs/families/whisper.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static void
print_segment (const SfWhisperSegment *s, double offset, gboolean json)
{
  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    g_autofree char *line = NULL;
    cJSON_AddItemToObject (obj, "start", sf_json_number (offset + s->start));
    cJSON_AddItemToObject (obj, "end", sf_json_number (offset + s->end));
    cJSON_AddStringToObject (obj, "text", s->text);
    line = cJSON_PrintUnformatted (obj);
    printf ("%s\n", line);
  } else {
    printf (
        "[%7.2f → %7.2f] %s\n", offset + s->start, offset + s->end, s->text);
  }
}

int
sf_run_whisper (SfTask *task, const float *samples, gsize n, gboolean json)
{
  SfModel *model = sf_task_model (task);
  gsize window = sf_task_audio_window (task);
  int rate = sf_task_audio_rate (task);
  SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
  g_autoptr (GError) error = NULL;

  opts.timestamps = sf_whisper_has_timestamps (model);
  for (gsize start = 0; start < n || start == 0; start += window) {
    gsize len = MIN (window, n - start);
    const float *chunk = samples + start;
    g_autoptr (GPtrArray) states = NULL; /* [1, S, D] */
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autoptr (GArray) segments = sf_whisper_segment_array_new ();

    /* the front-end pads a short last window to chunk_length */
    states = sf_task_run_audio (task, &chunk, &len, 1, &error);
    if (states == NULL
        || !sf_whisper_generate (model, states->pdata[0], &opts, ids, &error)
        || !sf_whisper_segments (model, (gint64 *)ids->data, ids->len,
            (double)len / rate, segments, &error)) {
      fprintf (stderr, "streamformer: %s\n", error->message);
      return 1;
    }
    for (guint i = 0; i < segments->len; i++)
      print_segment (&g_array_index (segments, SfWhisperSegment, i),
          (double)start / rate, json);
  }
  return 0;
}
