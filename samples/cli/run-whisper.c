/* `streamformer run` on Whisper: log-mel front-end, encoder, greedy
 * decoding with segment timestamps when the vocabulary has them. */
#include "samples/cli/run-whisper.h"
#include "core/audio/audio.h"
#include "graphs/families/whisper.h"

#include <cjson/cJSON.h>
#include <stdio.h>

static void
print_segment (const SfWhisperSegment *s, double offset, gboolean json)
{
  if (json) {
    g_autoptr (cJSON) obj = cJSON_CreateObject ();
    g_autofree char *line = NULL;
    cJSON_AddNumberToObject (obj, "start", offset + s->start);
    cJSON_AddNumberToObject (obj, "end", offset + s->end);
    cJSON_AddStringToObject (obj, "text", s->text);
    line = cJSON_PrintUnformatted (obj);
    printf ("%s\n", line);
  } else {
    printf (
        "[%7.2f → %7.2f] %s\n", offset + s->start, offset + s->end, s->text);
  }
}

int
sf_run_whisper (SfModel *model, const float *samples, gsize n, gboolean json)
{
  const SfAudioFrontend *fe = sf_model_audio_frontend (model);
  gint64 window = sf_whisper_window_samples (model);
  int rate = sf_audio_frontend_sample_rate (fe);
  SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
  g_autoptr (GError) error = NULL;

  opts.timestamps = sf_whisper_has_timestamps (model);
  for (gsize start = 0; start < n || start == 0; start += window) {
    gsize len = MIN ((gsize)window, n - start);
    double offset = (double)start / rate;
    g_autoptr (SfTensor) feat = NULL;
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autoptr (GArray) segments = sf_whisper_segment_array_new ();
    SfAudioInput in = { 0 };
    SfAudioOutput out = { 0 };
    gboolean ok;

    feat = sf_audio_frontend_apply (fe, samples + start, len, &error);
    if (feat == NULL)
      goto fail;
    in.features = sf_tensor_reshape (
        feat, 3, (gint64[]){ 1, feat->shape[0], feat->shape[1] });
    ok = sf_model_forward_audio (model, &in, FALSE, &out, &error)
        && sf_whisper_generate (
            model, out.last_hidden_state, &opts, ids, &error)
        && sf_whisper_segments (model, (gint64 *)ids->data, ids->len,
            (double)len / rate, segments, &error);
    sf_tensor_unref (in.features);
    sf_audio_output_clear (&out);
    if (!ok)
      goto fail;
    for (guint i = 0; i < segments->len; i++)
      print_segment (
          &g_array_index (segments, SfWhisperSegment, i), offset, json);
  }
  return 0;

fail:
  fprintf (stderr, "streamformer: %s\n", error->message);
  return 1;
}
