/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* streamformer inspect MODEL: what a checkpoint is and what it costs. */
#include "samples/cli/commands.h"
#include "graphs/model.h"
#include "core/blas.h"
#include "core/ops/linear-packed.h"

#include <stdio.h>

static const char *
modality_name (SfModality m)
{
  return m == SF_MODALITY_TEXT ? "text"
      : m == SF_MODALITY_IMAGE ? "image"
                               : "audio";
}

static const char *
problem_name (SfProblemType p)
{
  return p == SF_PROBLEM_MULTI_LABEL ? "multi-label (sigmoid)"
      : p == SF_PROBLEM_REGRESSION   ? "regression"
                                     : "single-label (softmax)";
}

/* NaN and Inf values per dtype across the whole checkpoint, and the first
 * tensor holding one: loading refuses such weights, and this says where
 * they are. */
static void
print_nonfinite (SfCheckpoint *ckpt)
{
  g_autoptr (GPtrArray) names = sf_checkpoint_tensor_names (ckpt);
  gint64 bad[SF_DTYPE_N_TYPES] = { 0 };
  const char *first = NULL;
  guint n_tensors = 0;

  for (guint i = 0; i < names->len; i++) {
    g_autoptr (SfTensor) t = sf_checkpoint_tensor (ckpt, names->pdata[i]);
    gint64 n = sf_tensor_count_nonfinite (t, NULL);

    if (n == 0)
      continue;
    bad[t->dtype] += n;
    n_tensors++;
    if (first == NULL)
      first = names->pdata[i];
  }
  if (first == NULL) {
    printf ("non-finite:   none\n");
    return;
  }
  printf ("non-finite:  ");
  for (int d = 0; d < SF_DTYPE_N_TYPES; d++)
    if (bad[d] > 0)
      printf (" %s×%" G_GINT64_FORMAT, sf_dtype_name (d), bad[d]);
  printf (" in %u tensor%s, the first '%s' (%s)\n", n_tensors,
      n_tensors == 1 ? "" : "s", first,
      sf_checkpoint_tensor_file (ckpt, first));
}

int
sf_cmd_inspect (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL");
  g_autoptr (GError) error = NULL;
  g_autoptr (SfModel) model = NULL;
  gint64 counts[SF_DTYPE_N_TYPES];
  gint64 stored_bytes = 0;
  SfCheckpoint *ckpt;

  g_option_context_set_summary (ctx,
      "Prints a checkpoint's architecture, parameter count, dtypes, memory "
      "and the BLAS kernel in use.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2) {
    fprintf (stderr, "%s\n",
        error ? error->message : "usage: streamformer inspect MODEL");
    return 2;
  }
  model = sf_model_load (argv[1], &error);
  if (model == NULL) {
    g_autoptr (SfCheckpoint) raw = sf_checkpoint_open (argv[1], NULL);

    /* what can still be read of a checkpoint that does not load */
    if (raw != NULL)
      print_nonfinite (raw);
    fprintf (stderr, "streamformer: %s\n", error->message);
    return 1;
  }
  ckpt = sf_model_checkpoint (model);
  sf_checkpoint_dtype_counts (ckpt, counts);

  if (g_str_has_suffix (sf_model_dir (model), sf_model_name (model)))
    printf ("model:        %s\n", sf_model_dir (model));
  else /* a Hub cache snapshot: its id, then where it lies */
    printf (
        "model:        %s (%s)\n", sf_model_name (model), sf_model_dir (model));
  printf ("architecture: %s (family %s, %s)\n", sf_model_architecture (model),
      sf_model_family (model), modality_name (sf_model_modality (model)));
  printf ("parameters:   %" G_GINT64_FORMAT " (%.1f M)\n",
      sf_model_n_params (model), sf_model_n_params (model) / 1e6);
  printf ("dtypes:      ");
  for (int d = 0; d < SF_DTYPE_N_TYPES; d++) {
    if (counts[d] == 0)
      continue;
    printf (" %s×%" G_GINT64_FORMAT, sf_dtype_name (d), counts[d]);
    stored_bytes += counts[d] * sf_dtype_size (d);
  }
  printf ("\n");
  printf ("memory:       %.1f MiB stored, %.1f MiB as F32 weights\n",
      stored_bytes / 1048576.0, sf_model_n_params (model) * 4 / 1048576.0);
  print_nonfinite (ckpt);
  printf ("hidden size:  %" G_GINT64_FORMAT ", max positions %" G_GINT64_FORMAT
          "\n",
      sf_model_hidden_size (model), sf_model_max_positions (model));
  if (sf_model_has_classifier (model)) {
    printf ("labels:       %u, %s:", sf_model_num_labels (model),
        problem_name (sf_model_problem_type (model)));
    for (guint i = 0; i < sf_model_num_labels (model) && i < 20; i++)
      printf (" %s", sf_model_label (model, i));
    printf ("%s\n", sf_model_num_labels (model) > 20 ? " …" : "");
  }
  if (sf_model_tokenizer (model))
    printf ("tokenizer:    %u tokens\n",
        sf_tokenizer_vocab_size (sf_model_tokenizer (model)));
  if (!sf_blas_init (&error)) {
    printf ("blas:         unavailable (%s)\n", error->message);
  } else {
    printf ("blas:         OpenBLAS %s kernels (chosen by %s)\n",
        sf_blas_corename (), sf_blas_core_source ());
    printf ("linear f32:   %s\n", sf_linear_f32_kernel ());
  }
  return 0;
}
