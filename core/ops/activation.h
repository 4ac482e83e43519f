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

/* TRUE for the activations whose value of an element does not depend on
 * where it sits in the tensor, so sf_activation_rows () over any block of
 * rows and columns gives the bits of sf_op_activation () over the whole:
 * GELU (exact), quick GELU, SiLU, ReLU and the identity. */
gboolean sf_activation_fusable (SfActivation act);
/* c[i, j] = act (c[i, j]) in place for a block of @rows rows of @cols
 * floats, rows @ldc apart, on the calling thread: a product's kernels
 * apply a fusable activation to each output block while it is in cache. */
void sf_activation_rows (
    float *c, gint64 ldc, gint64 rows, gint64 cols, SfActivation act);

G_END_DECLS
