/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: embedding lookup.
 *
 * Token ids come from a tokenizer or from the user, so an id outside the
 * table is bad input: sf_op_embedding() checks all ids before writing and
 * reports the first bad one as a GError.
 */
#include "core/ops/embedding.h"
#include "core/profile.h"
#include "core/error.h"

#include <string.h>

static gboolean
op_embedding (SfTensor *out, const SfTensor *table, const gint64 *ids,
    gint64 n_ids, GError **error)
{
  gint64 vocab, hidden, t;
  const float *src;
  float *dst;

  g_return_val_if_fail (out != NULL && table != NULL, FALSE);
  g_return_val_if_fail (ids != NULL || n_ids == 0, FALSE);
  g_return_val_if_fail (n_ids >= 0, FALSE);
  g_return_val_if_fail (
      out->dtype == SF_DTYPE_F32 && table->dtype == SF_DTYPE_F32, FALSE);
  g_return_val_if_fail (table->ndim == 2 && out->ndim >= 1, FALSE);
  vocab = table->shape[0];
  hidden = table->shape[1];
  /* out is [T, H], or any shape with T·H elements and H last ([B, T, H]). */
  g_return_val_if_fail (sf_tensor_dim (out, -1) == hidden
          && sf_tensor_numel (out) == n_ids * hidden,
      FALSE);

  for (t = 0; t < n_ids; t++) {
    if (ids[t] < 0 || ids[t] >= vocab) {
      g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
          "token id %" G_GINT64_FORMAT " at position %" G_GINT64_FORMAT
          " is out of range for an embedding table of %" G_GINT64_FORMAT
          " rows",
          ids[t], t, vocab);
      return FALSE;
    }
  }

  src = sf_tensor_f32 (table);
  dst = sf_tensor_f32 (out);
  for (t = 0; t < n_ids; t++)
    memcpy (dst + t * hidden, src + ids[t] * hidden, hidden * sizeof (float));
  return TRUE;
}

gboolean
sf_op_embedding (SfTensor *out, const SfTensor *table, const gint64 *ids,
    gint64 n_ids, GError **error)
{
  gint64 prof = sf_profile_begin ();
  gboolean ret = op_embedding (out, table, ids, n_ids, error);

  sf_profile_end (SF_PROFILE_OTHER, prof, 0);
  return ret;
}
