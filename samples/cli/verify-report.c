/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify`: comparing and reporting. */
#include "samples/cli/verify.h"
#include "graphs/generate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
sf_verify_exact (
    SfVerify *v, const char *name, guint mismatches, const char *detail)
{
  printf ("%s max_abs_err=%u tol=0 %s\n", name, mismatches,
      mismatches == 0 ? "PASS" : "FAIL");
  if (mismatches > 0 && detail)
    fprintf (stderr, "  %s: %s\n", name, detail);
  if (mismatches == 0)
    v->passed++;
  else
    v->failed++;
}

void
sf_verify_keep (SfVerify *v, const char *name, const SfTensor *t)
{
  g_ptr_array_add (v->dump_names, g_strdup (name));
  g_ptr_array_add (v->dump_tensors, sf_tensor_copy (t));
}

/* Below f32: the error relative to the reference's largest magnitude and,
 * for logits [B, labels], how many rows keep the reference's top label. */
static void
print_reduced_extras (const char *name, const SfTensor *a, const SfTensor *b,
    double max_err, double max_ref)
{
  gint64 rows, cols, agree = 0;

  printf (" rel_err=%.3g", max_ref > 0 ? max_err / max_ref : max_err);
  if (strstr (name, "logits") == NULL || b->ndim != 2 || b->shape[1] < 2)
    return;
  rows = b->shape[0];
  cols = b->shape[1];
  for (gint64 i = 0; i < rows; i++) {
    const float *x = sf_tensor_f32 (a) + i * cols;
    const float *r = sf_tensor_f32 (b) + i * cols;
    gint64 ax = 0, ar = 0;
    for (gint64 j = 1; j < cols; j++) {
      if (x[j] > x[ax])
        ax = j;
      if (r[j] > r[ar])
        ar = j;
    }
    agree += ax == ar;
  }
  printf (" top1_agree=%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, agree, rows);
}

double
sf_verify_reduced_allowance (const SfVerify *v, const SfTensor *ref)
{
  g_autoptr (SfTensor) f = NULL;
  double max_ref = 0;

  if (v->precision == SF_PRECISION_F32 || v->exact_tol)
    return 0;
  f = sf_tensor_to_f32 ((SfTensor *)ref);
  for (gint64 i = 0; i < sf_tensor_numel (f); i++)
    max_ref = MAX (max_ref, fabs (sf_tensor_f32 (f)[i]));
  return v->scale_tol * max_ref;
}

void
sf_verify_tensor (SfVerify *v, const char *name, const SfTensor *computed)
{
  g_autoptr (SfTensor) ref = v->io ? sf_safetensors_get (v->io, name) : NULL;
  g_autoptr (SfTensor) a = NULL, b = NULL;
  gboolean is_float = computed->dtype == SF_DTYPE_F32;
  gboolean reduced = v->precision != SF_PRECISION_F32 && !v->exact_tol;
  double max_err = 0, tol = is_float ? v->atol : 0;
  double max_ref = 0, scale_allowed = 0;
  gint64 bad = 0, worst = -1;

  sf_verify_keep (v, name, computed);
  g_hash_table_add (v->compared, g_strdup (name));
  if (ref == NULL) {
    printf ("%s max_abs_err=nan tol=%g FAIL\n", name, tol);
    fprintf (stderr, "  %s: not in io.safetensors\n", name);
    v->failed++;
    return;
  }
  if (!sf_tensor_same_shape (ref, computed)) {
    g_autofree char *s1 = sf_tensor_shape_string (computed);
    g_autofree char *s2 = sf_tensor_shape_string (ref);
    printf ("%s max_abs_err=nan tol=%g FAIL\n", name, tol);
    fprintf (stderr, "  %s: computed shape %s, reference %s\n", name, s1, s2);
    v->failed++;
    return;
  }
  a = sf_tensor_to_f32 ((SfTensor *)computed);
  b = sf_tensor_to_f32 (ref);
  for (gint64 i = 0; i < sf_tensor_numel (b); i++)
    max_ref = MAX (max_ref, fabs (sf_tensor_f32 (b)[i]));
  if (is_float)
    scale_allowed = sf_verify_reduced_allowance (v, b);
  for (gint64 i = 0; i < sf_tensor_numel (a); i++) {
    double x = sf_tensor_f32 (a)[i], r = sf_tensor_f32 (b)[i];
    double err = fabs (x - r);
    double allowed =
        is_float ? v->atol + v->rtol * fabs (r) + scale_allowed : 0;
    if (isnan (err))
      err = INFINITY;
    if (err > max_err) {
      max_err = err;
      worst = i;
    }
    if (err > allowed)
      bad++;
  }
  printf ("%s max_abs_err=%.3g tol=%g %s", name, max_err, tol,
      bad ? "FAIL" : "PASS");
  if (is_float && reduced)
    print_reduced_extras (name, a, b, max_err, max_ref);
  printf ("\n");
  if (bad)
    fprintf (stderr,
        "  %s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
        " elements out of tolerance; worst at flat index %" G_GINT64_FORMAT
        ": %.6g vs reference %.6g\n",
        name, bad, sf_tensor_numel (a), worst, sf_tensor_f32 (a)[worst],
        sf_tensor_f32 (b)[worst]);
  if (bad)
    v->failed++;
  else
    v->passed++;
}

void
sf_verify_check_all_compared (SfVerify *v, const char *const *input_names)
{
  if (v->io == NULL)
    return;
  for (guint i = 0; i < sf_safetensors_n_tensors (v->io); i++) {
    const char *name = sf_safetensors_name (v->io, i);
    if (g_hash_table_contains (v->compared, name)
        || (input_names && g_strv_contains (input_names, name)))
      continue;
    printf ("%s max_abs_err=nan tol=%g FAIL\n", name, v->atol);
    fprintf (stderr, "  %s: defined by the case but not computed\n", name);
    v->failed++;
  }
}

void
sf_verify_tensor_tol (SfVerify *v, const char *name, const SfTensor *computed,
    double atol, double rtol)
{
  double saved_atol = v->atol, saved_rtol = v->rtol;

  v->atol = atol;
  v->rtol = rtol;
  v->exact_tol = TRUE;
  sf_verify_tensor (v, name, computed);
  v->exact_tol = FALSE;
  v->atol = saved_atol;
  v->rtol = saved_rtol;
}

void
sf_verify_fraction (SfVerify *v, const char *name, double fraction, double tol,
    const char *detail)
{
  gboolean ok;

  if (v->precision != SF_PRECISION_F32)
    tol = MAX (tol, v->fraction_tol);
  ok = fraction <= tol;

  g_hash_table_add (v->compared, g_strdup (name));
  printf ("%s max_abs_err=%.3g tol=%g %s\n", name, fraction, tol,
      ok ? "PASS" : "FAIL");
  if (!ok && detail)
    fprintf (stderr, "  %s: %s\n", name, detail);
  if (ok)
    v->passed++;
  else
    v->failed++;
}

void
sf_verify_ids (
    SfVerify *v, const char *name, const GArray *got, const cJSON *want)
{
  g_autoptr (SfTensor) dump = sf_tensor_new_from_data (
      SF_DTYPE_I64, 1, (gint64[]){ got->len }, got->data);
  g_autofree char *detail = NULL;
  const cJSON *item;
  guint mismatches, j = 0;

  sf_verify_keep (v, name, dump);
  if (want == NULL)
    return;
  mismatches = (guint)ABS ((gint)got->len - cJSON_GetArraySize (want));
  cJSON_ArrayForEach (item, want) {
    if (j < got->len
        && (!cJSON_IsNumber (item)
            || (gint64)item->valuedouble != g_array_index (got, gint64, j)))
      mismatches++;
    j++;
  }
  if (mismatches) {
    GString *s = g_string_new ("got");
    for (guint k = 0; k < got->len; k++)
      g_string_append_printf (
          s, " %" G_GINT64_FORMAT, g_array_index (got, gint64, k));
    detail = g_string_free (s, FALSE);
  }
  sf_verify_exact (v, name, mismatches, detail);
}

void
sf_verify_text (
    SfVerify *v, const char *name, const char *got, const char *want)
{
  g_autofree char *detail =
      g_strdup_printf ("got \"%s\", expected \"%s\"", got ? got : "", want);

  sf_verify_exact (v, name, g_strcmp0 (got ? got : "", want) != 0, detail);
}

char *
sf_verify_decode (SfTokenizer *tok, const GArray *ids)
{
  g_autofree gint32 *ids32 = g_new (gint32, MAX (ids->len, 1));

  for (guint k = 0; k < ids->len; k++)
    ids32[k] = (gint32)g_array_index (ids, gint64, k);
  return sf_tokenizer_decode (tok, ids32, ids->len, TRUE);
}

gboolean
sf_verify_greedy (SfModel *model, const SfTensor *source, const gint64 *prompt,
    guint n_prompt, guint max_new, const gint64 *eos, guint n_eos, GArray *ids,
    GError **error)
{
  SfDecoder *dec = sf_model_decoder_new (model, source, 1, error);
  gboolean ok = dec != NULL
      && sf_generate_greedy (
          dec, prompt, n_prompt, max_new, eos, n_eos, ids, error);

  sf_decoder_free (dec);
  return ok;
}
