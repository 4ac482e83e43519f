/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer bench --input FILE [--output FILE]`.
 *
 * Peers (PyTorch, ONNX Runtime) are timed on inputs a script draws once
 * and saves; reading the same file here means all sides time the same
 * batch, and writing the output lets the script check Streamformer's
 * result against the others' before it trusts any timing. Only the model
 * is timed (no tokenizer or image preprocessing), except that an audio
 * model given raw samples (input_values) runs its front-end in each pass.
 */
#include "samples/cli/bench-file.h"
#include "samples/cli/bench-profile.h"

#include "core/audio/audio.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/io/safetensors.h"
#include "core/threads.h"

#include <stdlib.h>
#include <string.h>

#define BENCH_FILE_EXIT_OK 0
#define BENCH_FILE_EXIT_ERROR 1

/* A copy of @name from @st in @dtype, or NULL (with @error) when absent
 * and @required, or of another dtype. */

static SfTensor *
file_tensor (SfSafetensors *st, const char *name, SfDtype dtype,
    gboolean required, GError **error)
{
  g_autoptr (SfTensor) view = sf_safetensors_get (st, name);

  if (view == NULL) {
    if (required)
      g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
          "%s: no tensor '%s' (the model takes it as input)",
          sf_safetensors_path (st), name);
    return NULL;
  }
  if (view->dtype != dtype || view->ndim < 2) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "%s: tensor '%s' must be %s with a batch dimension",
        sf_safetensors_path (st), name, dtype == SF_DTYPE_I64 ? "I64" : "F32");
    return NULL;
  }
  return sf_tensor_copy (view);
}

typedef struct
{
  SfModality modality;
  SfTextInput text;
  SfImageInput image;
  SfAudioInput audio;
  SfTensor *waveform; /* [B, samples] raw audio, or NULL for features */
} FileInputs;

static void
file_inputs_clear (FileInputs *in)
{
  sf_text_input_clear (&in->text);
  sf_tensor_unref (in->image.pixel_values);
  sf_tensor_unref (in->audio.features);
  sf_tensor_unref (in->waveform);
}

static gboolean
file_inputs_load (
    SfModel *model, const char *path, FileInputs *in, GError **error)
{
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, error);
  GError *missing = NULL;

  if (st == NULL)
    return FALSE;
  in->modality = sf_model_modality (model);
  switch (in->modality) {
    case SF_MODALITY_TEXT:
      in->text.input_ids =
          file_tensor (st, "input_ids", SF_DTYPE_I64, TRUE, error);
      if (in->text.input_ids == NULL)
        return FALSE;
      in->text.attention_mask =
          file_tensor (st, "attention_mask", SF_DTYPE_I64, FALSE, &missing);
      if (missing == NULL)
        in->text.token_type_ids =
            file_tensor (st, "token_type_ids", SF_DTYPE_I64, FALSE, &missing);
      if (missing != NULL) {
        g_propagate_error (error, missing);
        return FALSE;
      }
      return TRUE;
    case SF_MODALITY_IMAGE:
      in->image.pixel_values =
          file_tensor (st, "pixel_values", SF_DTYPE_F32, TRUE, error);
      return in->image.pixel_values != NULL;
    case SF_MODALITY_AUDIO:
      if (sf_safetensors_contains (st, "input_values")) {
        if (sf_model_audio_frontend (model) == NULL) {
          g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
              "%s: input_values needs the model's audio front-end (no "
              "preprocessor_config.json in %s)",
              sf_safetensors_path (st), sf_model_dir (model));
          return FALSE;
        }
        in->waveform =
            file_tensor (st, "input_values", SF_DTYPE_F32, TRUE, error);
        return in->waveform != NULL;
      }
      in->audio.features =
          file_tensor (st, "input_features", SF_DTYPE_F32, TRUE, error);
      return in->audio.features != NULL;
    default:
      g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
          "%s: bench --input does not support this model's modality",
          sf_model_dir (model));
      return FALSE;
  }
}

/* The front-end's features of each row of @wave [B, samples], stacked:
 * [B, …]. (transfer full) */
static SfTensor *
file_frontend (SfModel *model, SfTensor *wave, GError **error)
{
  const SfAudioFrontend *fe = sf_model_audio_frontend (model);
  gint64 b = sf_tensor_dim (wave, 0), n = sf_tensor_numel (wave) / b;
  gint64 shape[3] = { b, 1, 1 };
  int ndim = sf_audio_frontend_feature_shape (fe, n, shape + 1);
  g_autoptr (SfTensor) feats = sf_tensor_new (SF_DTYPE_F32, ndim + 1, shape);

  for (gint64 i = 0; i < b; i++) {
    g_autoptr (SfTensor) f =
        sf_audio_frontend_apply (fe, sf_tensor_f32 (wave) + i * n, n, error);
    g_autoptr (SfTensor) row = sf_tensor_slice0 (feats, i, 1);

    if (f == NULL)
      return NULL;
    memcpy (sf_tensor_f32 (row), sf_tensor_f32 (f),
        sf_tensor_numel (f) * sizeof (float));
  }
  return g_steal_pointer (&feats);
}

/* One pass; *@out gets the main output (transfer full). */
static gboolean
file_forward (
    SfModel *model, const FileInputs *in, SfTensor **out, GError **error)
{
  *out = NULL;
  if (in->modality == SF_MODALITY_TEXT) {
    SfTextOutput o = { 0 };
    if (!sf_model_forward_text (model, &in->text, FALSE, &o, error))
      return FALSE;
    *out = sf_tensor_ref (o.logits ? o.logits : o.last_hidden_state);
    sf_text_output_clear (&o);
  } else if (in->modality == SF_MODALITY_IMAGE) {
    SfImageOutput o = { 0 };
    if (!sf_model_forward_image (model, &in->image, FALSE, &o, error))
      return FALSE;
    *out = sf_tensor_ref (o.image_embeds ? o.image_embeds
            : o.logits                   ? o.logits
                                         : o.last_hidden_state);
    sf_image_output_clear (&o);
  } else {
    SfAudioOutput o = { 0 };
    SfAudioInput audio = in->audio;
    g_autoptr (SfTensor) feats = NULL;
    if (in->waveform != NULL) {
      feats = file_frontend (model, in->waveform, error);
      if (feats == NULL)
        return FALSE;
      audio.features = feats;
    }
    if (!sf_model_forward_audio (model, &audio, FALSE, &o, error))
      return FALSE;
    *out = sf_tensor_ref (o.logits ? o.logits : o.last_hidden_state);
    sf_audio_output_clear (&o);
  }
  if (*out == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: the forward pass returned no output", sf_model_dir (model));
    return FALSE;
  }
  return TRUE;
}

static int
file_compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static void
file_report (SfModel *model, const SfBenchFileOptions *opts,
    const double *times, const SfTensor *output)
{
  g_autofree double *sorted = g_memdup2 (times, sizeof (double) * opts->iters);
  g_autofree char *shape = sf_tensor_shape_string (output);
  int n = opts->iters;
  double median, mean = 0;

  qsort (sorted, n, sizeof (double), file_compare_double);
  median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  for (int i = 0; i < n; i++)
    mean += times[i] / n;

  if (opts->json) {
    g_autoptr (cJSON) root = cJSON_CreateObject ();
    char *text;

    cJSON_AddStringToObject (root, "model", sf_model_name (model));
    cJSON_AddStringToObject (
        root, "architecture", sf_model_architecture (model));
    cJSON_AddStringToObject (root, "family", sf_model_family (model));
    cJSON_AddStringToObject (
        root, "precision", sf_precision_name (sf_model_precision (model)));
    sf_bench_json_kernels (root);
    cJSON_AddNumberToObject (root, "threads", sf_threads_get ());
    cJSON_AddStringToObject (root, "input", opts->input);
    cJSON_AddStringToObject (root, "output_shape", shape);
    cJSON_AddNumberToObject (root, "iters", n);
    cJSON_AddNumberToObject (root, "warmup", opts->warmup);
    cJSON_AddNumberToObject (root, "load_ms", opts->load_ms);
    cJSON_AddNumberToObject (root, "median_ms", median);
    cJSON_AddNumberToObject (root, "min_ms", sorted[0]);
    cJSON_AddNumberToObject (root, "mean_ms", mean);
    cJSON_AddNumberToObject (root, "peak_rss_mib", sf_bench_peak_rss_mib ());
    cJSON_AddItemToObject (
        root, "times_ms", cJSON_CreateDoubleArray (times, n));
    if (opts->profile)
      cJSON_AddItemToObject (root, "profile", sf_bench_profile_json (n, mean));
    text = cJSON_PrintUnformatted (root);
    g_print ("%s\n", text);
    cJSON_free (text);
  } else {
    g_print ("model         %s\n", sf_model_name (model));
    g_print ("architecture  %s (%s)\n", sf_model_architecture (model),
        sf_model_family (model));
    sf_bench_print_kernels ();
    g_print ("threads       %d\n", sf_threads_get ());
    g_print ("input         %s -> output %s\n", opts->input, shape);
    g_print ("iterations    %d (after %d warm-up)\n", n, opts->warmup);
    g_print ("load ms       %.1f\n", opts->load_ms);
    g_print ("median ms     %.2f\n", median);
    g_print ("min ms        %.2f\n", sorted[0]);
    if (opts->profile)
      sf_bench_profile_print (n, mean);
  }
}

int
sf_bench_file (SfModel *model, const SfBenchFileOptions *opts)
{
  FileInputs in = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree double *times = g_new (double, opts->iters);
  SfTensor *out = NULL;
  int status = BENCH_FILE_EXIT_OK;

  if (!file_inputs_load (model, opts->input, &in, &error)) {
    g_printerr ("streamformer bench: %s\n", error->message);
    file_inputs_clear (&in);
    return BENCH_FILE_EXIT_ERROR;
  }
  for (int i = 0; i < opts->warmup + opts->iters; i++) {
    gint64 start;

    if (opts->profile && i == opts->warmup)
      sf_bench_profile_enable (TRUE);
    g_clear_pointer (&out, sf_tensor_unref);
    start = g_get_monotonic_time ();
    if (!file_forward (model, &in, &out, &error)) {
      g_printerr ("streamformer bench: %s\n", error->message);
      status = BENCH_FILE_EXIT_ERROR;
      goto out;
    }
    if (i >= opts->warmup)
      times[i - opts->warmup] = (g_get_monotonic_time () - start) / 1000.0;
  }
  sf_bench_profile_enable (FALSE);

  if (opts->output != NULL) {
    const char *name = "output";
    if (!sf_safetensors_write (opts->output, 1, &name, &out, &error)) {
      g_printerr ("streamformer bench: %s\n", error->message);
      status = BENCH_FILE_EXIT_ERROR;
      goto out;
    }
  }
  file_report (model, opts, times, out);

out:
  sf_bench_profile_enable (FALSE);
  sf_tensor_unref (out);
  file_inputs_clear (&in);
  return status;
}

double
sf_bench_peak_rss_mib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, "\nVmHWM:");
  if (line == NULL)
    return -1;
  return g_ascii_strtod (line + strlen ("\nVmHWM:"), NULL) / 1024.0; /* kB */
}
