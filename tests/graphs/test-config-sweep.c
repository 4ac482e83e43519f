/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mutation sweep over config.json: every numeric field of every model
 * family fixture (nested objects and array elements included) is set in
 * turn to 0, -1, 1, huge values (2^40, 2^31, 2^16), a negative fraction
 * and a string. Each
 * variant must either load and run one forward pass on the case's own
 * inputs with finite outputs, or be refused with an error. A crash, a
 * critical warning (fatal under G_DEBUG=fatal-criticals) or a non-finite
 * output reported as success fails the test.
 */
#include "graphs/generate.h"
#include "graphs/model.h"
#include "graphs/families/bart.h"
#include "graphs/families/t5.h"
#include "graphs/families/whisper.h"
#include "graphs/generate.h"
#include "core/error.h"
#include "core/io/safetensors.h"
#include "tests/common/test-util.h"

#include <math.h>
#include <string.h>

typedef enum
{
  INPUT_TEXT,
  INPUT_IMAGE,
  INPUT_CLIP,
  INPUT_T5, /* encoder, then the teacher-forced decoder */
  INPUT_WHISPER,
  INPUT_WAV2VEC2,
  INPUT_AST,
  INPUT_CAUSAL_LM,
} InputKind;

typedef struct
{
  const char *fixture;
  InputKind kind;
} SweepCase;

static const SweepCase cases[] = {
  { "bert-tiny-cls", INPUT_TEXT },
  { "distilbert-tiny-cls", INPUT_TEXT },
  { "roberta-tiny-cls", INPUT_TEXT },
  { "vit-tiny-cls", INPUT_IMAGE },
  { "segformer-tiny-seg", INPUT_IMAGE },
  { "clip-tiny", INPUT_CLIP },
  { "whisper-tiny-asr", INPUT_WHISPER },
  { "wav2vec2-tiny-ctc", INPUT_WAV2VEC2 },
  { "ast-tiny-cls", INPUT_AST },
  { "gpt2-tiny-lm", INPUT_CAUSAL_LM },
  { "bart-tiny-sum", INPUT_TEXT },
  { "mbart-tiny-sum", INPUT_TEXT },
  { "bart-tiny-cls", INPUT_TEXT },
  { "t5-tiny-gen", INPUT_T5 },
};

/* The case's own inputs, read once from io.safetensors. */
typedef struct
{
  SfTensor *input_ids, *attention_mask, *token_type_ids;
  SfTensor *decoder_input_ids;
  SfTensor *pixel_values;
  SfTensor *audio;
} CaseInputs;

static void
case_inputs_clear (CaseInputs *in)
{
  g_clear_pointer (&in->input_ids, sf_tensor_unref);
  g_clear_pointer (&in->attention_mask, sf_tensor_unref);
  g_clear_pointer (&in->token_type_ids, sf_tensor_unref);
  g_clear_pointer (&in->decoder_input_ids, sf_tensor_unref);
  g_clear_pointer (&in->pixel_values, sf_tensor_unref);
  g_clear_pointer (&in->audio, sf_tensor_unref);
}

/* A private copy, so nothing stays mapped from the fixture file. */
static SfTensor *
read_tensor (SfSafetensors *st, const char *name)
{
  g_autoptr (SfTensor) t = sf_safetensors_get (st, name);

  return t ? sf_tensor_copy (t) : NULL;
}

static void
case_inputs_read (const SweepCase *c, CaseInputs *in)
{
  g_autofree char *dir = sf_test_fixture (c->fixture);
  g_autofree char *path = g_build_filename (dir, "io.safetensors", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SfSafetensors) st = sf_safetensors_open (path, &error);

  g_assert_no_error (error);
  memset (in, 0, sizeof (*in));
  switch (c->kind) {
    case INPUT_T5:
      in->input_ids = read_tensor (st, "input_ids");
      in->attention_mask = read_tensor (st, "attention_mask");
      in->decoder_input_ids = read_tensor (st, "decoder_input_ids");
      g_assert_nonnull (in->decoder_input_ids);
      break;
    case INPUT_TEXT:
    case INPUT_CLIP:
      in->input_ids = read_tensor (st, "input_ids");
      in->attention_mask = read_tensor (st, "attention_mask");
      in->token_type_ids = read_tensor (st, "token_type_ids");
      g_assert_nonnull (in->input_ids);
      if (c->kind == INPUT_TEXT)
        break;
      /* CLIP takes both */
      G_GNUC_FALLTHROUGH;
    case INPUT_IMAGE:
      in->pixel_values = read_tensor (st, "pixel_values");
      g_assert_nonnull (in->pixel_values);
      break;
    case INPUT_WHISPER: in->audio = read_tensor (st, "input_features"); break;
    case INPUT_AST: in->audio = read_tensor (st, "input_values"); break;
    case INPUT_CAUSAL_LM: {
      g_autoptr (SfTensor) ids = read_tensor (st, "input_ids.0");
      gint64 shape[2] = { 1, sf_tensor_numel (ids) };

      in->input_ids = sf_tensor_reshape (ids, 2, shape);
      break;
    }
    case INPUT_WAV2VEC2: {
      g_autoptr (SfTensor) wave = read_tensor (st, "input_values.speech1");
      gint64 shape[2] = { 1, sf_tensor_numel (wave) };

      in->audio = sf_tensor_reshape (wave, 2, shape);
      break;
    }
  }
  if (c->kind >= INPUT_WHISPER && c->kind != INPUT_CAUSAL_LM)
    g_assert_nonnull (in->audio);
}

/* Appends to @bad a note for every non-finite value in @t. */
static void
check_finite (const char *what, const SfTensor *t, GString *bad)
{
  const float *x;
  gint64 n;

  if (t == NULL || t->dtype != SF_DTYPE_F32)
    return;
  x = sf_tensor_f32 (t);
  n = sf_tensor_numel (t);
  for (gint64 i = 0; i < n; i++)
    if (!isfinite (x[i])) {
      g_string_append_printf (
          bad, " %s[%" G_GINT64_FORMAT "]=%g", what, i, (double)x[i]);
      return;
    }
}

static void
check_finite_list (const char *what, GPtrArray *list, GString *bad)
{
  for (guint i = 0; list && i < list->len; i++)
    check_finite (what, g_ptr_array_index (list, i), bad);
}

/* A causal LM: the full forward, then the prompt and three greedy tokens
 * through the incremental decoder. */
static gboolean
run_causal_lm (
    SfModel *model, const CaseInputs *in, GString *bad, GError **error)
{
  SfTextInput ti = { in->input_ids, NULL, NULL };
  SfTextOutput to = { 0 };
  SfDecoder *dec;
  g_autoptr (SfTensor) logits = NULL;
  gboolean ok;

  ok = sf_model_forward_text (model, &ti, TRUE, &to, error);
  if (ok) {
    check_finite ("last_hidden_state", to.last_hidden_state, bad);
    check_finite ("logits", to.logits, bad);
    check_finite_list ("hidden_states", to.hidden_states, bad);
  }
  sf_text_output_clear (&to);
  if (!ok || (dec = sf_model_decoder_new (model, NULL, 1, error)) == NULL)
    return FALSE;
  logits = sf_tensor_new_f32 (2, (gint64)1, dec->vocab);
  ok = dec->step (dec->self, sf_tensor_i64 (in->input_ids), 1,
      (guint)sf_tensor_dim (in->input_ids, 1), sf_tensor_f32 (logits), error);
  for (int i = 0; ok && i < 3; i++) {
    gint64 next = 0;
    check_finite ("decoder logits", logits, bad);
    for (gint64 k = 1; k < dec->vocab; k++)
      if (sf_tensor_f32 (logits)[k] > sf_tensor_f32 (logits)[next])
        next = k;
    ok = dec->step (dec->self, &next, 1, 1, sf_tensor_f32 (logits), error);
  }
  sf_decoder_free (dec);
  return ok;
}

/* BART: three greedy steps of the decoder over the first text. */
static gboolean
run_bart_decoder (
    SfModel *model, const CaseInputs *in, GString *bad, GError **error)
{
  g_autoptr (SfTensor) ids = sf_tensor_slice0 (in->input_ids, 0, 1);
  g_autofree float *logits = NULL;
  SfBartTokens tok;
  SfDecoder *dec;
  gint64 next;
  gboolean ok = TRUE;

  if (!sf_bart_tokens (model, &tok, error)
      || (dec = sf_model_decoder_new (model, ids, 1, error)) == NULL)
    return FALSE;
  next = MAX (tok.decoder_start_token_id, 0);
  logits = g_new (float, dec->vocab);
  for (int i = 0; ok && i < 3; i++) {
    g_autoptr (SfTensor) t = NULL;
    ok = dec->step (dec->self, &next, 1, 1, logits, error);
    if (!ok)
      break;
    t = sf_tensor_new_from_data (
        SF_DTYPE_F32, 1, (gint64[]){ dec->vocab }, logits);
    check_finite ("decoder logits", t, bad);
    next = 0;
    for (gint64 k = 1; k < dec->vocab; k++)
      if (logits[k] > logits[next])
        next = k;
  }
  sf_decoder_free (dec);
  return ok;
}

/* One forward pass (Whisper: the encoder and a few decoding steps).
 * Returns FALSE with @error when the model refused; appends non-finite
 * outputs to @bad. */
static gboolean
run_forward (SfModel *model, const SweepCase *c, const CaseInputs *in,
    GString *bad, GError **error)
{
  gboolean ok = TRUE;

  if (c->kind == INPUT_T5) {
    g_autoptr (SfTensor) enc = NULL;
    g_autoptr (SfTensor) logits = sf_t5_forward (model, in->input_ids,
        in->attention_mask, in->decoder_input_ids, &enc, error);

    if (logits == NULL)
      return FALSE;
    check_finite ("encoder_last_hidden_state", enc, bad);
    check_finite ("logits", logits, bad);
    return TRUE;
  }
  if (c->kind == INPUT_TEXT || c->kind == INPUT_CLIP) {
    SfTextInput ti = { in->input_ids, in->attention_mask, in->token_type_ids };
    SfTextOutput to = { 0 };

    ok = sf_model_forward_text (model, &ti, TRUE, &to, error);
    if (ok) {
      check_finite ("last_hidden_state", to.last_hidden_state, bad);
      check_finite ("pooler_output", to.pooler_output, bad);
      check_finite ("logits", to.logits, bad);
      check_finite ("text_embeds", to.text_embeds, bad);
      check_finite_list ("hidden_states", to.hidden_states, bad);
    }
    sf_text_output_clear (&to);
    if (!ok)
      return FALSE;
    if (sf_bart_check (model) && !sf_model_has_classifier (model)
        && !run_bart_decoder (model, in, bad, error))
      return FALSE;
  }
  if (c->kind == INPUT_IMAGE || c->kind == INPUT_CLIP) {
    SfImageInput ii = { in->pixel_values };
    SfImageOutput io = { 0 };

    ok = sf_model_forward_image (model, &ii, TRUE, &io, error);
    if (ok) {
      check_finite ("last_hidden_state", io.last_hidden_state, bad);
      check_finite ("pooler_output", io.pooler_output, bad);
      check_finite ("logits", io.logits, bad);
      check_finite ("image_embeds", io.image_embeds, bad);
      check_finite_list ("hidden_states", io.hidden_states, bad);
    }
    if (ok && io.image_embeds) {
      g_autoptr (SfTensor) sim =
          sf_model_similarity (model, io.image_embeds, io.image_embeds);

      check_finite ("similarity", sim, bad);
    }
    sf_image_output_clear (&io);
    return ok;
  }
  if (c->kind == INPUT_CAUSAL_LM)
    return run_causal_lm (model, in, bad, error);
  if (c->kind >= INPUT_WHISPER) {
    SfAudioInput ai = { in->audio };
    SfAudioOutput ao = { 0 };

    ok = sf_model_forward_audio (model, &ai, TRUE, &ao, error);
    if (ok) {
      check_finite ("last_hidden_state", ao.last_hidden_state, bad);
      check_finite ("logits", ao.logits, bad);
      check_finite_list ("hidden_states", ao.hidden_states, bad);
    }
    if (ok && c->kind == INPUT_WHISPER) {
      SfWhisperOptions opts = SF_WHISPER_OPTIONS_DEFAULT;
      g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autoptr (SfTensor) first =
          sf_tensor_slice0 (ao.last_hidden_state, 0, 1);

      opts.max_new_tokens = 3;
      ok = sf_whisper_generate (model, first, &opts, ids, error);
    }
    sf_audio_output_clear (&ao);
    return ok;
  }
  return ok;
}

/* Every numeric leaf under @node as a path "a/b/3/c"; numbers address
 * array elements. */
static void
collect_leaves (const cJSON *node, const char *prefix, GPtrArray *out)
{
  const cJSON *child;
  guint i = 0;

  cJSON_ArrayForEach (child, node) {
    const char *sep = *prefix ? "/" : "";
    char *path = cJSON_IsArray (node)
        ? g_strdup_printf ("%s%s%u", prefix, sep, i)
        : g_strdup_printf ("%s%s%s", prefix, sep, child->string);

    i++;
    if (cJSON_IsNumber (child)) {
      g_ptr_array_add (out, path);
      continue;
    }
    if (cJSON_IsObject (child) || cJSON_IsArray (child))
      collect_leaves (child, path, out);
    g_free (path);
  }
}

/* The item at @path, and its parent in *@parent. */
static cJSON *
find_leaf (cJSON *root, const char *path, cJSON **parent)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  cJSON *node = root;

  *parent = NULL;
  for (guint i = 0; parts[i] && node; i++) {
    *parent = node;
    if (cJSON_IsArray (node))
      node =
          cJSON_GetArrayItem (node, (int)g_ascii_strtoll (parts[i], NULL, 10));
    else
      node = cJSON_GetObjectItemCaseSensitive (node, parts[i]);
  }
  return node;
}

typedef struct
{
  const char *label;
  double value; /* used when !is_string */
  gboolean is_string;
} Variant;

static const Variant variants[] = {
  { "0", 0, FALSE },
  { "-1", -1, FALSE },
  { "1", 1, FALSE },
  { "2^40", 1099511627776.0, FALSE },
  { "2^31", 2147483648.0, FALSE },
  { "2^16", 65536.0, FALSE },
  { "-0.5", -0.5, FALSE },
  { "\"x\"", 0, TRUE },
};

static void
test_sweep (gconstpointer data)
{
  const SweepCase *c = data;
  g_autofree char *dir = sf_test_copy_fixture (c->fixture);
  g_autofree char *cfg_path = g_build_filename (dir, "config.json", NULL);
  g_autofree char *original = NULL;
  g_autoptr (GPtrArray) leaves = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) failures = g_string_new (NULL);
  CaseInputs in;
  cJSON *root;
  guint n_loaded = 0, n_refused = 0;

  g_assert_true (g_file_get_contents (cfg_path, &original, NULL, NULL));
  root = cJSON_Parse (original);
  g_assert_nonnull (root);
  collect_leaves (root, "", leaves);
  g_assert_cmpuint (leaves->len, >, 0);
  case_inputs_read (c, &in);

  /* the unmodified case must run cleanly, or the sweep proves nothing */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (SfModel) model = sf_model_load (dir, &error);
    g_autoptr (GString) bad = g_string_new (NULL);

    g_assert_no_error (error);
    g_assert_true (run_forward (model, c, &in, bad, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (bad->str, ==, "");
  }

  for (guint l = 0; l < leaves->len; l++) {
    const char *path = g_ptr_array_index (leaves, l);

    for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
      g_autoptr (GError) error = NULL;
      g_autoptr (SfModel) model = NULL;
      g_autoptr (GString) bad = g_string_new (NULL);
      g_autofree char *text = NULL;
      cJSON *copy = cJSON_Duplicate (root, TRUE);
      cJSON *parent = NULL;
      cJSON *leaf = find_leaf (copy, path, &parent);

      g_assert_nonnull (leaf);
      if (variants[v].is_string)
        g_assert_true (cJSON_ReplaceItemViaPointer (
            parent, leaf, cJSON_CreateString ("x")));
      else
        cJSON_SetNumberValue (leaf, variants[v].value);
      text = cJSON_Print (copy);
      cJSON_Delete (copy);
      g_assert_true (g_file_set_contents (cfg_path, text, -1, NULL));

      g_test_message ("%s: %s = %s", c->fixture, path, variants[v].label);
      model = sf_model_load (dir, &error);
      if (model != NULL && run_forward (model, c, &in, bad, &error)) {
        n_loaded++;
        if (bad->len > 0)
          g_string_append_printf (failures,
              "\n  %s = %s: succeeded with non-finite output:%s", path,
              variants[v].label, bad->str);
        continue;
      }
      n_refused++;
      if (error == NULL || error->message[0] == '\0')
        g_string_append_printf (failures,
            "\n  %s = %s: refused without an error message", path,
            variants[v].label);
    }
  }
  g_test_message ("%s: %u fields, %u variants ran, %u refused", c->fixture,
      leaves->len, n_loaded, n_refused);

  case_inputs_clear (&in);
  cJSON_Delete (root);
  sf_test_remove_dir (dir);
  if (failures->len > 0)
    g_error ("%s:%s", c->fixture, failures->str);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *name =
        g_strdup_printf ("/graphs/config-sweep/%s", cases[i].fixture);

    g_test_add_data_func (name, &cases[i], test_sweep);
  }
  return g_test_run ();
}
