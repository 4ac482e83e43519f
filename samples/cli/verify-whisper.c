/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify` on Whisper cases (WhisperForConditionalGeneration).
 *
 * - The checkpoint's log-mel front-end runs on every raw audio.K;
 *   input_features.K must match within 1e-3.
 * - The encoder runs on the batch of the first B audios' own features
 *   (input_features, compared within 1e-3 too): encoder_hidden_states.N and
 *   encoder_last_hidden_state within the case tolerance.
 * - The decoder is teacher-forced on the case's decoder_input_ids in one
 *   step over the encoder output: logits and decoder_hidden_states.N.
 * - Greedy generation for each batch item must give greedy_ids exactly
 *   (dumped as int64 tensors greedy_ids.N), and their text greedy_text.
 *   A reference that does not end in <|endoftext|> stopped at a token
 *   budget: the same number of new tokens is allowed here.
 */
#include "samples/cli/verify.h"
#include "core/audio/audio.h"
#include "core/error.h"
#include "graphs/model.h"
#include "graphs/families/whisper.h"

#include <stdio.h>
#include <string.h>

#define FEATURES_TOL 1e-3

static void
put (GHashTable *outputs, const char *name, SfTensor *t)
{
  g_hash_table_insert (outputs, g_strdup (name), t);
}

/* Features of every audio.K listed in case.json's "audios". */
static gboolean
run_frontend (SfVerify *v, SfModel *model, GPtrArray *features, GError **error)
{
  const cJSON *audios = sf_config_get (v->case_json, "audios"), *item;
  const SfAudioFrontend *fe = sf_model_audio_frontend (model);

  if (!cJSON_IsArray (audios) || cJSON_GetArraySize (audios) < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'audios' must be a non-empty list of names",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  cJSON_ArrayForEach (item, audios) {
    g_autofree char *aname = NULL, *fname = NULL;
    g_autoptr (SfTensor) audio = NULL;
    SfTensor *feat;

    if (!cJSON_IsString (item)) {
      g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
          "%s: field 'audios' must list names",
          sf_config_origin (v->case_json));
      return FALSE;
    }
    aname = g_strconcat ("audio.", item->valuestring, NULL);
    fname = g_strconcat ("input_features.", item->valuestring, NULL);
    audio = v->io ? sf_safetensors_get (v->io, aname) : NULL;
    if (audio == NULL || audio->dtype != SF_DTYPE_F32 || audio->ndim != 1) {
      g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
          "%s/io.safetensors: '%s' is missing or not 1-D F32", v->dir, aname);
      return FALSE;
    }
    g_hash_table_add (v->compared, g_strdup (aname)); /* an input */
    feat = sf_audio_frontend_apply (
        fe, sf_tensor_f32 (audio), sf_tensor_numel (audio), error);
    if (feat == NULL)
      return FALSE;
    sf_verify_tensor_tol (v, fname, feat, FEATURES_TOL, 0.0);
    g_ptr_array_add (features, feat);
  }
  return TRUE;
}

/* [B, mels, frames] from the first B single-audio features. */
static SfTensor *
stack_features (SfVerify *v, GPtrArray *features, GError **error)
{
  g_autoptr (SfTensor) ref = sf_safetensors_get (v->io, "input_features");
  const SfTensor *first = features->pdata[0];
  gint64 b = ref && ref->ndim == 3 ? ref->shape[0] : 0;
  gsize item = sf_tensor_nbytes (first);
  SfTensor *batch;

  if (b < 1 || b > features->len) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s/io.safetensors: 'input_features' is missing or holds more items "
        "than the case's audios",
        v->dir);
    return NULL;
  }
  batch = sf_tensor_new_f32 (3, b, first->shape[0], first->shape[1]);
  for (gint64 i = 0; i < b; i++)
    memcpy ((guint8 *)batch->data + i * item,
        ((SfTensor *)features->pdata[i])->data, item);
  return batch;
}

static gboolean
run_decoder (SfVerify *v, SfModel *model, SfTensor *enc, GHashTable *outputs,
    GError **error)
{
  g_autoptr (SfTensor) ids_ref =
      sf_safetensors_get (v->io, "decoder_input_ids");
  g_autoptr (SfTensor) ids = NULL;
  g_autoptr (SfWhisperState) state = NULL;
  g_autoptr (GPtrArray) hidden =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  SfTensor *logits;

  if (ids_ref == NULL || ids_ref->ndim != 2
      || ids_ref->shape[0] != enc->shape[0]
      || (ids = sf_tensor_to_i64 (ids_ref)) == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_MISSING,
        "%s/io.safetensors: 'decoder_input_ids' is missing or not integer "
        "[B, T]",
        v->dir);
    return FALSE;
  }
  put (outputs, "decoder_input_ids", sf_tensor_ref (ids));
  state = sf_whisper_state_new (model, enc, ids->shape[1], error);
  if (state == NULL)
    return FALSE;
  logits = sf_whisper_state_step (
      state, sf_tensor_i64 (ids), ids->shape[1], TRUE, hidden, error);
  if (logits == NULL)
    return FALSE;
  put (outputs, "logits", logits);
  for (guint i = 0; i < hidden->len; i++) {
    g_autofree char *name = g_strdup_printf ("decoder_hidden_states.%u", i);
    put (outputs, name, sf_tensor_ref (hidden->pdata[i]));
  }
  return TRUE;
}

/* greedy_ids[b] (and greedy_text[b]) from each item's encoder output. */
static gboolean
run_greedy (SfVerify *v, SfModel *model, SfTensor *enc, GError **error)
{
  const cJSON *ref_ids = sf_config_get (v->case_json, "greedy_ids");
  const cJSON *ref_text = sf_config_get (v->case_json, "greedy_text");
  gint64 eos_check = -1;
  SfTokenizer *tok = sf_model_tokenizer (model);

  if (!cJSON_IsArray (ref_ids)
      || cJSON_GetArraySize (ref_ids) > enc->shape[0]) {
    g_set_error (error, SF_ERROR, SF_ERROR_PARSE,
        "%s: field 'greedy_ids' must be a list of id lists, one per batch "
        "item",
        sf_config_origin (v->case_json));
    return FALSE;
  }
  if (tok)
    eos_check = sf_tokenizer_token_to_id (tok, "<|endoftext|>");
  for (int b = 0; b < cJSON_GetArraySize (ref_ids); b++) {
    const cJSON *ref = cJSON_GetArrayItem (ref_ids, b);
    const cJSON *text = cJSON_GetArrayItem (ref_text, b);
    SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
    g_autoptr (SfTensor) one = sf_tensor_slice0 (enc, b, 1);
    g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
    g_autofree char *name = g_strdup_printf ("greedy_ids.%d", b);
    g_autofree char *tname = g_strdup_printf ("greedy_text.%d", b);
    g_autofree char *decoded = NULL;
    const cJSON *prefix = sf_config_get (v->case_json, "decoder_prefix");
    int n_ref = cJSON_GetArraySize (ref);
    const cJSON *last = cJSON_GetArrayItem (ref, n_ref - 1);

    opts.num_beams = 1; /* greedy_ids are greedy whatever the config */
    if (n_ref > 0 && (gint64)last->valuedouble != eos_check
        && cJSON_IsArray (prefix))
      opts.max_new_tokens = n_ref - cJSON_GetArraySize (prefix);
    if (!sf_whisper_generate (model, one, &opts, ids, error))
      return FALSE;

    sf_verify_ids (v, name, ids, ref);
    if (cJSON_IsString (text)) {
      decoded =
          sf_whisper_decode_text (model, (gint64 *)ids->data, ids->len, error);
      if (decoded == NULL)
        return FALSE;
      sf_verify_text (v, tname, decoded, text->valuestring);
    }
  }
  return TRUE;
}

gboolean
sf_verify_whisper_case (SfVerify *v, GError **error)
{
  g_autoptr (SfModel) model = NULL;
  g_autoptr (GPtrArray) features =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sf_tensor_unref);
  g_autoptr (GHashTable) outputs = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, (GDestroyNotify)sf_tensor_unref);
  SfAudioInput in = { 0 };
  SfAudioOutput out = { 0 };
  GHashTableIter it;
  gpointer key, value;
  gboolean ok;

  if ((model = sf_model_load_with_precision (v->dir, v->precision, error))
      == NULL)
    return FALSE;
  if (!sf_whisper_check (model) || v->io == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: not a Whisper case with io.safetensors", v->dir);
    return FALSE;
  }
  if (!run_frontend (v, model, features, error)
      || (in.features = stack_features (v, features, error)) == NULL)
    return FALSE;
  put (outputs, "input_features", in.features);
  if (!sf_model_forward_audio (model, &in, TRUE, &out, error))
    return FALSE;
  put (outputs, "encoder_last_hidden_state",
      sf_tensor_ref (out.last_hidden_state));
  for (guint i = 0; i < out.hidden_states->len; i++) {
    g_autofree char *name = g_strdup_printf ("encoder_hidden_states.%u", i);
    put (outputs, name, sf_tensor_ref (out.hidden_states->pdata[i]));
  }
  ok = run_decoder (v, model, out.last_hidden_state, outputs, error);

  /* every io output we computed, in io order */
  for (guint i = 0; ok && i < sf_safetensors_n_tensors (v->io); i++) {
    const char *name = sf_safetensors_name (v->io, i);
    SfTensor *t = g_hash_table_lookup (outputs, name);
    if (t && strcmp (name, "input_features") == 0)
      sf_verify_tensor_tol (v, name, t, FEATURES_TOL, 0.0);
    else if (t)
      sf_verify_tensor (v, name, t);
  }
  g_hash_table_iter_init (&it, outputs);
  while (ok && g_hash_table_iter_next (&it, &key, &value))
    if (!sf_safetensors_contains (v->io, key))
      sf_verify_keep (v, key, value);
  ok = ok && run_greedy (v, model, out.last_hidden_state, error);
  sf_audio_output_clear (&out);
  return ok;
}
