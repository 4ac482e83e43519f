/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer graphs: image input, forward and outputs. */
#include "graphs/model-private.h"
#include "core/error.h"

#include <string.h>

const struct SfImageProcessor *
sf_model_image_processor (const SfModel *model)
{
  return model->image_processor;
}

gboolean
sf_model_forward_image (SfModel *model, const SfImageInput *input,
    gboolean want_hidden_states, SfImageOutput *output, GError **error)
{
  memset (output, 0, sizeof (*output));
  if (model->family->forward_image == NULL) {
    g_set_error (error, SF_ERROR, SF_ERROR_UNSUPPORTED,
        "%s: %s model does not take image input", sf_model_dir (model),
        sf_model_kind (model));
    return FALSE;
  }
  if (input->pixel_values == NULL || input->pixel_values->dtype != SF_DTYPE_F32
      || input->pixel_values->ndim != 4) {
    g_set_error (error, SF_ERROR, SF_ERROR_SHAPE,
        "pixel_values must be an F32 tensor [batch, channels, height, width]");
    return FALSE;
  }
  if (!model->family->forward_image (
          model->graph, input, want_hidden_states, output, error)) {
    sf_image_output_clear (output);
    return FALSE;
  }
  return TRUE;
}

void
sf_image_output_clear (SfImageOutput *output)
{
  g_clear_pointer (&output->last_hidden_state, sf_tensor_unref);
  g_clear_pointer (&output->pooler_output, sf_tensor_unref);
  g_clear_pointer (&output->logits, sf_tensor_unref);
  g_clear_pointer (&output->image_embeds, sf_tensor_unref);
  g_clear_pointer (&output->hidden_states, g_ptr_array_unref);
}
