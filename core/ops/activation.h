/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: activation functions (conventions in core/ops/ops.h). */
#pragma once

#include "core/tensor.h"

G_BEGIN_DECLS

typedef enum
{
  SF_ACTIVATION_GELU, /* exact, 0.5·x·(1 + erf(x/√2)) */
  SF_ACTIVATION_GELU_NEW, /* tanh approximation (gelu_new, gelu_pytorch_tanh, gelu_fast) */
  SF_ACTIVATION_QUICK_GELU, /* x·sigmoid(1.702·x) */
  SF_ACTIVATION_RELU,
  SF_ACTIVATION_SILU,
  SF_ACTIVATION_TANH,
  SF_ACTIVATION_SIGMOID,
  SF_ACTIVATION_IDENTITY,
} SfActivation;

/* Maps an HF `hidden_act` / `activation` string. FALSE when unknown. */
gboolean sf_activation_from_name (const char *name, SfActivation *act);
const char *sf_activation_name (SfActivation act);

/* out = act(x), element-wise, same shapes. In place allowed. */
void sf_op_activation (SfTensor *out, const SfTensor *x, SfActivation act);
void sf_op_sigmoid (SfTensor *out, const SfTensor *x);

G_END_DECLS
