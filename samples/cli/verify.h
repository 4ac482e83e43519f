/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify`: shared state and comparison helpers.
 *
 * A case folder (see the fixtures README) holds a checkpoint, case.json and
 * io.safetensors with the reference inputs and outputs. Each compared
 * output prints one line `NAME max_abs_err=E tol=T PASS|FAIL`; floats pass
 * when every element satisfies |x - ref| ≤ atol + rtol·|ref| (T is atol),
 * integers and strings must match exactly (E counts mismatches).
 */
#pragma once

#include "core/io/config.h"
#include "core/image/image.h"
#include "core/io/safetensors.h"
#include "graphs/model.h"

typedef struct
{
  const char *dir;
  SfConfig *case_json;
  SfSafetensors *io; /* NULL for cases without tensors */
  double atol, rtol;
  /* --precision: the model's; below f32, a float output may also differ
   * by scale_tol · max |reference| (the model outputs' tolerance) */
  SfPrecision precision;
  double scale_tol;
  double fraction_tol; /* below f32: the least tolerance of a fraction */
  gboolean exact_tol;  /* inside sf_verify_tensor_tol: no scale_tol */
  guint passed, failed;
  GHashTable *compared;    /* io names already compared */
  GPtrArray *dump_names;   /* char*, for --dump */
  GPtrArray *dump_tensors; /* SfTensor* */
} SfVerify;

/* What a float output may differ by beyond atol + rtol·|ref| at the
 * model's precision: scale_tol · max |@ref| below f32, else 0. */
double sf_verify_reduced_allowance (const SfVerify *v, const SfTensor *ref);
/* Compares @computed (F32 or integer) with io.safetensors' @name, prints
 * the line and keeps @computed for the dump. */
void sf_verify_tensor (SfVerify *v, const char *name, const SfTensor *computed);
/* Plain greedy decoding through @model's SfDecoder over @source (NULL
 * for decoder-only models): sf_generate_greedy's rules. */
gboolean sf_verify_greedy (SfModel *model, const SfTensor *source,
    const gint64 *prompt, guint n_prompt, guint max_new, const gint64 *eos,
    guint n_eos, GArray *ids, GError **error);
/* Keeps the generated @got (gint64) for --dump as @name and compares it
 * exactly with case.json's list @want (nullable: then only kept); every
 * differing, missing or extra id counts. */
void sf_verify_ids (
    SfVerify *v, const char *name, const GArray *got, const cJSON *want);
/* Compares a decoded text with case.json's @want exactly (@got NULL
 * counts as ""). */
void sf_verify_text (
    SfVerify *v, const char *name, const char *got, const char *want);
/* (transfer full) @ids (gint64) decoded by @tok, special tokens skipped. */
char *sf_verify_decode (SfTokenizer *tok, const GArray *ids);
/* Keeps a computed output for --dump without comparing it. */
void sf_verify_keep (SfVerify *v, const char *name, const SfTensor *t);
/* Records an exact comparison done by the caller (@mismatches = 0 passes). */
void sf_verify_exact (
    SfVerify *v, const char *name, guint mismatches, const char *detail);
/* Every io tensor that holds an output but was never compared is a FAIL,
 * so a case cannot pass by computing less than it defines. */
void sf_verify_check_all_compared (SfVerify *v, const char *const *input_names);

/* (transfer full) the reference input image @name of io.safetensors (HWC
 * RGB uint8), marked as an input so it needs no output of its own. */
SfImage *sf_verify_input_image (SfVerify *v, const char *name, GError **error);
/* (transfer full) [C, H, W] pixel tensors stacked into [N, C, H, W]; an
 * error when they differ in size or from the size @model takes. */
SfTensor *sf_verify_stack_pixels (
    SfModel *model, GPtrArray *pixels, GError **error);

/* Case kinds. Return FALSE (with @error) when the case cannot be run at all. */
gboolean sf_verify_tokenizer_case (
    SfVerify *v, const char *dump_json, GError **error);
gboolean sf_verify_text_model_case (SfVerify *v, GError **error);

/* sf_verify_tensor with this output's own tolerance (vs the case's). */
void sf_verify_tensor_tol (SfVerify *v, const char *name,
    const SfTensor *computed, double atol, double rtol);
/* Records a comparison whose error is a fraction (e.g. of pixels that
 * differ); passes when @fraction ≤ @tol. */
void sf_verify_fraction (SfVerify *v, const char *name, double fraction,
    double tol, const char *detail);
gboolean sf_verify_image_model_case (SfVerify *v, GError **error);
gboolean sf_verify_whisper_case (SfVerify *v, GError **error);
/* GPT-2 cases: per-prompt logits and hidden states, greedy continuation
 * (verify-gpt2.c). */
gboolean sf_verify_causal_lm_case (SfVerify *v, GError **error);
gboolean sf_verify_bart_case (SfVerify *v, GError **error);
gboolean sf_verify_clip_case (SfVerify *v, GError **error);
gboolean sf_verify_t5_case (SfVerify *v, GError **error);
/* AST and wav2vec2 cases, from the raw clips audio.K (verify-audio.c). */
gboolean sf_verify_audio_model_case (SfVerify *v, GError **error);
