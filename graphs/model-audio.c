/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: audio features in, encoder states and logits out. */
#include "graphs/model-private.h"
#include "core/audio/audio.h"
#include "core/error.h"

#include <string.h>

const struct SfAudioFrontend *
sf_model_audio_frontend (const SfModel *model)
{
  return model->audio_frontend;
}

gboolean
sf_model_forward_audio (SfModel *model, const SfAudioInput *input,
    gboolean want_hidden_states, SfAudioOutput *output, GError **error)
{
  const SfTensor *f = input->features;

  memset (output, 0, sizeof (*output));
  if (model->family->forward_audio == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model does not take audio input", sf_model_dir (model),
        sf_model_kind (model));
    return FALSE;
  }
  if (f == NULL || f->dtype != SF_DTYPE_F32 || f->ndim < 2
      || sf_tensor_numel (f) < 1) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "%s: audio features must be a non-empty F32 tensor [batch, ...]",
        sf_model_dir (model));
    return FALSE;
  }
  if (!model->family->forward_audio (
          model->graph, input, want_hidden_states, output, error)) {
    sf_audio_output_clear (output);
    return FALSE;
  }
  return TRUE;
}

void
sf_audio_output_clear (SfAudioOutput *output)
{
  g_clear_pointer (&output->last_hidden_state, sf_tensor_unref);
  g_clear_pointer (&output->logits, sf_tensor_unref);
  g_clear_pointer (&output->hidden_states, g_ptr_array_unref);
}
