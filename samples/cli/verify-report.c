/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `streamformer verify`: comparing and reporting. */
#include "samples/cli/verify.h"

#include <math.h>
#include <stdio.h>

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

void
sf_verify_tensor (SfVerify *v, const char *name, const SfTensor *computed)
{
  g_autoptr (SfTensor) ref = v->io ? sf_safetensors_get (v->io, name) : NULL;
  g_autoptr (SfTensor) a = NULL, b = NULL;
  gboolean is_float = computed->dtype == SF_DTYPE_F32;
  double max_err = 0, tol = is_float ? v->atol : 0;
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
  for (gint64 i = 0; i < sf_tensor_numel (a); i++) {
    double x = sf_tensor_f32 (a)[i], r = sf_tensor_f32 (b)[i];
    double err = fabs (x - r);
    double allowed = is_float ? v->atol + v->rtol * fabs (r) : 0;
    if (isnan (err))
      err = INFINITY;
    if (err > max_err) {
      max_err = err;
      worst = i;
    }
    if (err > allowed)
      bad++;
  }
  printf ("%s max_abs_err=%.3g tol=%g %s\n", name, max_err, tol,
      bad ? "FAIL" : "PASS");
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
  sf_verify_tensor (v, name, computed);
  v->atol = saved_atol;
  v->rtol = saved_rtol;
}

void
sf_verify_fraction (SfVerify *v, const char *name, double fraction, double tol,
    const char *detail)
{
  gboolean ok = fraction <= tol;

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
