/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on audio-model cases (AST, wav2vec2).
 *
 * Everything starts from the raw clips audio.K: our front-end computes the
 * features, compared with the reference features within 1e-3 max abs, and
 * the model then runs on our features, not the reference ones. Cases give
 * outputs either for the batch of all clips (AST: logits, probs,
 * hidden_states.N) or per clip (wav2vec2: logits.K, hidden_states.K.N,
 * conv_features.K, ctc_ids.K and ctc_text in case.json); both are run.
 */
#include "samples/cli/verify.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "core/ops/ops.h"
#include "graphs/post/classify.h"
#include "graphs/post/ctc.h"
#include "graphs/model.h"
#include "graphs/families/wav2vec2.h"

#include <stdio.h>
#include <string.h>

/* The front-end's outputs may differ from the reference by this much. */
#define FRONTEND_ATOL 1e-3

typedef struct
{
  SfVerify *v;
  SfModel *model;
  const char *feature_name; /* "input_values" or "input_features" */
  GPtrArray *clips;         /* char*: the K of every audio.K, in case order */
  GPtrArray *features;      /* SfTensor*: our front-end output per clip */
  SfCtcDecoder *ctc;        /* NULL unless the model is a CTC model */
} AudioCase;

/* (transfer full) @t without its leading batch dimension of 1. */
static SfTensor *
unbatch (SfTensor *t)
{
  return sf_tensor_reshape (t, t->ndim - 1, t->shape + 1);
}

/* Compares @t under @name when the case defines it, else keeps it. */
static void
compare (AudioCase *c, const char *name, SfTensor *t)
{
  if (sf_safetensors_contains (c->v->io, name))
    sf_verify_tensor (c->v, name, t);
  else
    sf_verify_keep (c->v, name, t);
}

/* The clips, in the order case.json lists their tensors. */
static gboolean
find_clips (AudioCase *c, GError **error)
{
  const cJSON *tensors = sf_config_get (c->v->case_json, "tensors"), *item;

  cJSON_ArrayForEach (item, tensors) {
    if (g_str_has_prefix (item->string, "audio.")
        && sf_safetensors_contains (c->v->io, item->string))
      g_ptr_array_add (c->clips, g_strdup (item->string + strlen ("audio.")));
  }
  if (c->clips->len == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: the case lists no audio.K tensors",
        sf_config_origin (c->v->case_json));
    return FALSE;
  }
  c->feature_name = sf_safetensors_contains (c->v->io, "input_features")
          || sf_safetensors_contains (c->v->io, "input_features.0")
      ? "input_features"
      : "input_values";
  return TRUE;
}

/* Our front-end on every clip, compared with the reference features. */
static gboolean
run_frontend (AudioCase *c, GError **error)
{
  const SfAudioFrontend *fe = sf_model_audio_frontend (c->model);

  if (fe == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s: no preprocessor_config.json: no audio front-end", c->v->dir);
    return FALSE;
  }
  for (guint i = 0; i < c->clips->len; i++) {
    g_autofree char *audio_name =
        g_strconcat ("audio.", c->clips->pdata[i], NULL);
    g_autofree char *ref_name =
        g_strdup_printf ("%s.%s", c->feature_name, (char *)c->clips->pdata[i]);
    g_autoptr (SfTensor) raw = sf_safetensors_get (c->v->io, audio_name);
    g_autoptr (SfTensor) audio = raw ? sf_tensor_to_f32 (raw) : NULL;
    SfTensor *f;

    if (audio == NULL || audio->ndim != 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "%s: %s must be a 1-D float tensor", sf_safetensors_path (c->v->io),
          audio_name);
      return FALSE;
    }
    g_hash_table_add (c->v->compared, g_strdup (audio_name)); /* an input */
    f = sf_audio_frontend_apply (
        fe, sf_tensor_f32 (audio), sf_tensor_numel (audio), error);
    if (f == NULL)
      return FALSE;
    g_ptr_array_add (c->features, f);
    sf_verify_tensor_tol (c->v, ref_name, f, FRONTEND_ATOL, 0.0);
  }
  return TRUE;
}

/* The case's `labels` against the argmax of batch @logits [B, labels]. */
static void
compare_labels (AudioCase *c, const SfTensor *logits)
{
  const cJSON *labels = sf_config_get (c->v->case_json, "labels"), *item;
  guint i = 0, mismatches = 0;
  g_autofree char *detail = NULL;

  if (labels == NULL)
    return;
  if (sf_tensor_dim (logits, 0) != cJSON_GetArraySize (labels)
      || !sf_model_has_classifier (c->model)) {
    sf_verify_exact (c->v, "labels", MAX (1, cJSON_GetArraySize (labels)),
        "no logits for every labelled clip");
    return;
  }
  cJSON_ArrayForEach (item, labels) {
    gint64 n = sf_tensor_dim (logits, 1), best = 0;
    const float *row = sf_tensor_f32 (logits) + i * n;
    for (gint64 j = 1; j < n; j++)
      if (row[j] > row[best])
        best = j;
    if (g_strcmp0 (cJSON_GetStringValue (item), sf_model_label (c->model, best))
            != 0
        && mismatches++ == 0)
      detail = g_strdup_printf ("clip %u: got '%s', reference '%s'", i,
          sf_model_label (c->model, best), cJSON_GetStringValue (item));
    i++;
  }
  sf_verify_exact (c->v, "labels", mismatches, detail);
}

/* Scores as the checkpoint implies: softmax or a sigmoid per label. */
static SfTensor *
probabilities (SfModel *model, const SfTensor *logits)
{
  SfTensor *probs = sf_tensor_copy (logits);

  if (sf_score_function_resolve (model, SF_SCORE_AUTO) == SF_SCORE_SIGMOID)
    sf_op_sigmoid (probs, probs);
  else
    sf_op_softmax (probs, probs);
  return probs;
}

/* All clips as one batch; outputs under the plain names. */
static gboolean
run_batch (AudioCase *c, GError **error)
{
  g_autoptr (SfTensor) batch = NULL;
  SfAudioInput in;
  SfAudioOutput out;
  SfTensor *first = c->features->pdata[0];
  gint64 shape[SF_TENSOR_MAX_DIMS];
  gsize item = sf_tensor_nbytes (first);

  shape[0] = c->features->len;
  for (int d = 0; d < first->ndim; d++)
    shape[d + 1] = first->shape[d];
  for (guint i = 1; i < c->features->len; i++) {
    if (!sf_tensor_same_shape (c->features->pdata[i], first)) {
      g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
          "%s: the clips' features differ in shape; they cannot form the "
          "case's batch",
          c->v->dir);
      return FALSE;
    }
  }
  batch = sf_tensor_new (SF_DTYPE_F32, first->ndim + 1, shape);
  for (guint i = 0; i < c->features->len; i++)
    memcpy ((char *)batch->data + i * item,
        ((SfTensor *)c->features->pdata[i])->data, item);
  compare (c, c->feature_name, batch);

  in.features = batch;
  if (!sf_model_forward_audio (c->model, &in, TRUE, &out, error))
    return FALSE;
  for (guint i = 0; out.hidden_states && i < out.hidden_states->len; i++) {
    g_autofree char *name = g_strdup_printf ("hidden_states.%u", i);
    compare (c, name, out.hidden_states->pdata[i]);
  }
  compare (c, "last_hidden_state", out.last_hidden_state);
  if (out.logits && out.logits->ndim == 2) {
    g_autoptr (SfTensor) probs = probabilities (c->model, out.logits);
    compare (c, "logits", out.logits);
    compare (c, "probs", probs);
    compare_labels (c, out.logits);
  }
  sf_audio_output_clear (&out);
  return TRUE;
}

/* CTC ids and text of one clip's logits [T, vocab]. */
static void
compare_ctc (AudioCase *c, const char *clip, SfTensor *logits)
{
  const cJSON *texts = sf_config_get (c->v->case_json, "ctc_text");
  const cJSON *ref = cJSON_GetObjectItemCaseSensitive (texts, clip);
  gint64 t = sf_tensor_dim (logits, 0);
  g_autoptr (SfTensor) ids = sf_tensor_new (SF_DTYPE_I64, 1, &t);
  g_autofree char *ids_name = g_strconcat ("ctc_ids.", clip, NULL);
  g_autofree char *text_name = g_strconcat ("ctc_text.", clip, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL, *detail = NULL;

  sf_ctc_greedy_ids (sf_tensor_f32 (logits), t, sf_tensor_dim (logits, 1),
      sf_tensor_i64 (ids));
  compare (c, ids_name, ids);
  if (ref == NULL)
    return;
  text = sf_ctc_decoder_decode (c->ctc, sf_tensor_i64 (ids), t, &error);
  if (text == NULL || g_strcmp0 (text, cJSON_GetStringValue (ref)) != 0)
    detail = g_strdup_printf ("got '%s', reference '%s'",
        text ? text : error->message, cJSON_GetStringValue (ref));
  sf_verify_exact (c->v, text_name, detail ? 1 : 0, detail);
}

/* The wav2vec2 feature encoder's output conv_features.K [C, T], when the
 * case defines it. */
static gboolean
compare_conv_features (
    AudioCase *c, const char *clip, SfTensor *batch, GError **error)
{
  g_autofree char *name = g_strconcat ("conv_features.", clip, NULL);
  g_autoptr (SfTensor) conv = NULL, conv1 = NULL;

  if (!sf_safetensors_contains (c->v->io, name))
    return TRUE;
  conv = sf_wav2vec2_conv_features (c->model, batch, error);
  if (conv == NULL)
    return FALSE;
  conv1 = unbatch (conv);
  compare (c, name, conv1);
  return TRUE;
}

/* Each clip alone; outputs under NAME.K. */
static gboolean
run_clips (AudioCase *c, GError **error)
{
  for (guint i = 0; i < c->clips->len; i++) {
    const char *clip = c->clips->pdata[i];
    SfTensor *f = c->features->pdata[i];
    g_autoptr (SfTensor) batch = NULL;
    g_autofree char *logits_name = g_strconcat ("logits.", clip, NULL);
    g_autofree char *last_name = g_strconcat ("last_hidden_state.", clip, NULL);
    g_autoptr (SfTensor) logits = NULL, last = NULL;
    gint64 shape[SF_TENSOR_MAX_DIMS] = { 1 };
    SfAudioInput in;
    SfAudioOutput out;

    for (int d = 0; d < f->ndim; d++)
      shape[d + 1] = f->shape[d];
    batch = sf_tensor_reshape (f, f->ndim + 1, shape);
    in.features = batch;
    if (!sf_model_forward_audio (c->model, &in, TRUE, &out, error))
      return FALSE;
    for (guint l = 0; out.hidden_states && l < out.hidden_states->len; l++) {
      g_autofree char *name = g_strdup_printf ("hidden_states.%s.%u", clip, l);
      g_autoptr (SfTensor) h = unbatch (out.hidden_states->pdata[l]);
      compare (c, name, h);
    }
    last = unbatch (out.last_hidden_state);
    compare (c, last_name, last);
    if (out.logits) {
      logits = unbatch (out.logits);
      compare (c, logits_name, logits);
      if (c->ctc && logits->ndim == 2)
        compare_ctc (c, clip, logits);
    }
    if (!compare_conv_features (c, clip, batch, error)) {
      sf_audio_output_clear (&out);
      return FALSE;
    }
    sf_audio_output_clear (&out);
  }
  return TRUE;
}

gboolean
sf_verify_audio_model_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model =
      sf_model_load_with_precision (v->dir, v->precision, error);
  g_autoptr (GPtrArray) clips = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) features =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  g_autoptr (SfCtcDecoder) ctc = NULL;
  AudioCase c = { .v = v, .clips = clips, .features = features };
  g_autofree char *first_logits = NULL;

  if (model == NULL)
    return FALSE;
  c.model = model;
  if (!find_clips (&c, error) || !run_frontend (&c, error))
    return FALSE;
  if (sf_config_get (v->case_json, "ctc_text") != NULL) {
    ctc = sf_ctc_decoder_new (model, error);
    if (ctc == NULL)
      return FALSE;
    c.ctc = ctc;
  }
  first_logits = g_strconcat ("logits.", (char *)clips->pdata[0], NULL);
  if (sf_safetensors_contains (v->io, "logits")
      || sf_safetensors_contains (v->io, "hidden_states.0"))
    if (!run_batch (&c, error))
      return FALSE;
  if (sf_safetensors_contains (v->io, first_logits))
    if (!run_clips (&c, error))
      return FALSE;
  return TRUE;
}
