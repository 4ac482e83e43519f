/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: loading and validating weight tables. */
#include "graphs/weights.h"
#include "core/error.h"
#include "core/ops/linear-packed.h"

#include <string.h>

static SfTensor **
slot (const SfWeightSpec *spec, const SfWeightTarget *target, int layer)
{
  guint8 *base = (spec->flags & SF_WEIGHT_PER_LAYER)
      ? (guint8 *)target->layers + layer * target->layer_stride
      : (guint8 *)target->globals;
  return (SfTensor **)(base + spec->offset);
}

static char *
expand_name (const char *prefix, const char *template, int layer)
{
  g_autofree char *layer_str = g_strdup_printf ("%d", layer);
  g_auto (GStrv) parts = g_strsplit (template, "{L}", -1);
  g_autofree char *joined = g_strjoinv (layer_str, parts);
  return g_strconcat (prefix ? prefix : "", joined, NULL);
}

static char *
expected_shape_string (const SfWeightSpec *spec, const gint64 *sizes)
{
  GString *s = g_string_new ("[");
  for (int d = 0; d < SF_WEIGHT_MAX_DIMS && spec->dims[d] >= 0; d++)
    g_string_append_printf (
        s, "%s%" G_GINT64_FORMAT, d ? ", " : "", sizes[spec->dims[d]]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
shape_matches (const SfTensor *t, const SfWeightSpec *spec, const gint64 *sizes)
{
  int ndim = 0;
  while (ndim < SF_WEIGHT_MAX_DIMS && spec->dims[ndim] >= 0)
    ndim++;
  if (t->ndim != ndim)
    return FALSE;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != sizes[spec->dims[d]])
      return FALSE;
  return TRUE;
}

/* Loads one tensor into its slot, or appends what is wrong to @problems
 * (shape and dtype) or @bad_values (NaN or Inf). */
/* the precision a linear entry is packed for */
static SfPrecision
linear_precision (const SfWeightSpec *spec, SfPrecision precision)
{
  if (spec->flags & SF_WEIGHT_F32_ONLY)
    return SF_PRECISION_F32;
  if ((spec->flags & SF_WEIGHT_NO_INT8) && precision == SF_PRECISION_INT8)
    return SF_PRECISION_F32;
  return precision;
}

static void
load_one (SfCheckpoint *ckpt, const SfWeightSpec *spec,
    const SfWeightTarget *target, int layer, gint64 *n_params,
    GString *problems, guint *n_problems, GString *bad_values,
    guint *n_bad_values)
{
  SfTensor *f32;
  gint64 n_bad, first;
  g_autofree char *name = expand_name (
      (spec->flags & SF_WEIGHT_HEAD) ? "" : target->prefix, spec->name, layer);
  g_autoptr (SfTensor) stored = sf_checkpoint_tensor (ckpt, name);

  if (stored == NULL) {
    if (!(spec->flags & SF_WEIGHT_OPTIONAL)) {
      g_string_append_printf (problems, "\n  missing tensor '%s'", name);
      (*n_problems)++;
    }
    return;
  }
  if (!shape_matches (stored, spec, target->sizes)) {
    g_autofree char *got = sf_tensor_shape_string (stored);
    g_autofree char *want = expected_shape_string (spec, target->sizes);
    g_string_append_printf (problems,
        "\n  tensor '%s' has shape %s, the config implies %s", name, got, want);
    (*n_problems)++;
    return;
  }
  switch (stored->dtype) {
    case SF_DTYPE_F32:
    case SF_DTYPE_F16:
    case SF_DTYPE_BF16:
    case SF_DTYPE_F64: break;
    default:
      g_string_append_printf (problems,
          "\n  tensor '%s' has dtype %s, a floating-point dtype is needed",
          name, sf_dtype_name (stored->dtype));
      (*n_problems)++;
      return;
  }
  /* a NaN or Inf weight spreads through every later op, and the masked
   * softmax takes an all-NaN row for "no visible key": the outputs look
   * normal. One pass over the floats refuses it here. */
  f32 = sf_tensor_to_f32 (stored);
  n_bad = sf_tensor_count_nonfinite (f32, &first);
  if (n_bad > 0) {
    g_string_append_printf (bad_values,
        "\n  tensor '%s' in %s has %" G_GINT64_FORMAT
        " NaN or infinite value%s (the first at element %" G_GINT64_FORMAT ")",
        name, sf_checkpoint_tensor_file (ckpt, name), n_bad,
        n_bad == 1 ? "" : "s", first);
    (*n_bad_values)++;
    sf_tensor_unref (f32);
    return;
  }
  if (spec->flags & (SF_WEIGHT_LINEAR | SF_WEIGHT_LINEAR_IN_OUT)) {
    SfTensor *packed =
        sf_linear_pack (f32, (spec->flags & SF_WEIGHT_LINEAR) != 0,
            linear_precision (spec, target->precision));
    /* the f32 weight in the mapped file is not read again: its pages
     * need not count against the process, which holds the packed copy */
    if (packed != f32 && f32 == stored)
      sf_tensor_release_pages (f32);
    sf_tensor_unref (f32);
    f32 = packed;
  }
  *slot (spec, target, layer) = f32;
  if (n_params)
    *n_params += sf_tensor_numel (stored);
}

SfTensor *
sf_weights_pack_head (SfTensor *head, SfPrecision precision)
{
  SfTensor *packed;

  if (head == NULL)
    return NULL;
  packed = sf_linear_pack (head, TRUE, precision);
  if (packed == head) {
    sf_tensor_unref (packed);
    return NULL;
  }
  return packed;
}

gboolean
sf_weights_load (SfCheckpoint *ckpt, const SfWeightSpec *specs, guint n_specs,
    const SfWeightTarget *target, gint64 *n_params, GError **error)
{
  g_autoptr (GString) problems = g_string_new (NULL);
  g_autoptr (GString) bad_values = g_string_new (NULL);
  guint n_problems = 0, n_bad_values = 0;
  gint64 count = 0;

  for (guint i = 0; i < n_specs; i++) {
    int n = (specs[i].flags & SF_WEIGHT_PER_LAYER) ? target->n_layers : 1;

    for (int l = 0; l < n; l++)
      load_one (ckpt, &specs[i], target, l, &count, problems, &n_problems,
          bad_values, &n_bad_values);
  }
  if (n_problems == 0 && n_bad_values > 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: %u weight%s hold%s NaN or infinite values:%s",
        sf_checkpoint_dir (ckpt), n_bad_values, n_bad_values == 1 ? "" : "s",
        n_bad_values == 1 ? "s" : "", bad_values->str);
    sf_weights_clear (specs, n_specs, target);
    return FALSE;
  }
  if (n_problems > 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "%s: %u weight%s do not match config.json:%s", sf_checkpoint_dir (ckpt),
        n_problems, n_problems == 1 ? "" : "s", problems->str);
    sf_weights_clear (specs, n_specs, target);
    return FALSE;
  }
  if (n_params)
    *n_params += count;
  return TRUE;
}

void
sf_weights_clear (
    const SfWeightSpec *specs, guint n_specs, const SfWeightTarget *target)
{
  for (guint i = 0; i < n_specs; i++) {
    int n = (specs[i].flags & SF_WEIGHT_PER_LAYER) ? target->n_layers : 1;
    for (int l = 0; l < n; l++)
      g_clear_pointer (slot (&specs[i], target, l), sf_tensor_unref);
  }
}

const char *
sf_weights_find_prefix (
    SfCheckpoint *ckpt, const char *const *prefixes, const char *probe)
{
  for (guint i = 0; prefixes[i]; i++) {
    g_autofree char *name = g_strconcat (prefixes[i], probe, NULL);
    g_autoptr (SfTensor) t = sf_checkpoint_tensor (ckpt, name);
    if (t)
      return prefixes[i];
  }
  return NULL;
}

void
sf_weight_target_add (
    SfWeightTarget *target, const SfWeightSpec *specs, guint n)
{
  if (target->specs == NULL)
    target->specs = g_array_new (FALSE, FALSE, sizeof (SfWeightSpec));
  g_array_append_vals (target->specs, specs, n);
}

gboolean
sf_weight_target_load (SfWeightTarget *target, SfCheckpoint *ckpt,
    gint64 *n_params, GError **error)
{
  g_return_val_if_fail (target->specs != NULL, FALSE);
  return sf_weights_load (ckpt, (const SfWeightSpec *)target->specs->data,
      target->specs->len, target, n_params, error);
}

void
sf_weight_target_clear (SfWeightTarget *target)
{
  if (target->specs == NULL)
    return;
  sf_weights_clear (
      (const SfWeightSpec *)target->specs->data, target->specs->len, target);
  g_clear_pointer (&target->specs, g_array_unref);
}
