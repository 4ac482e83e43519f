/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: the incremental decoder of a generating model. */
#include "graphs/model-private.h"
#include "core/error.h"

SfDecoder *
sf_model_decoder_new (
    SfModel *model, const SfTensor *source, guint max_seqs, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  if (model->family->decoder_new == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model (%s) does not generate text", model->name,
        sf_model_kind (model),
        model->architecture ? model->architecture : "no architecture");
    return NULL;
  }
  if (max_seqs == 0) {
    g_set_error (error, SF_ERROR, SF_ERROR_INVALID,
        "%s: a decoder needs at least one sequence", model->name);
    return NULL;
  }
  return model->family->decoder_new (model->graph, source, max_seqs, error);
}

void
sf_decoder_free (SfDecoder *decoder)
{
  if (decoder == NULL)
    return;
  if (decoder->free != NULL)
    decoder->free (decoder->self);
  g_free (decoder);
}
