/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Streamformer core: the arithmetic precision of linear layers.
 *
 * f32 is the reference: every product in single precision, as PyTorch
 * runs it. bf16 keeps each linear weight as bfloat16 and rounds the
 * activations to bfloat16 per product, accumulating in f32 (AVX512_BF16).
 * int8 quantises each linear weight per output channel (symmetric, s8) and
 * the activations per row at run time (u8 with a zero point), accumulating
 * in s32 (AVX512_VNNI), as PyTorch's and ONNX Runtime's quantize_dynamic
 * do. Only linear layers change, and at bf16 the two products of encoder
 * self-attention (core/ops/attention.h); everything else stays f32.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SF_PRECISION_F32,
  SF_PRECISION_BF16,
  SF_PRECISION_INT8,
} SfPrecision;

/* "f32", "bf16" or "int8". */
const char *sf_precision_name (SfPrecision precision);
/* Parses one of the names above; FALSE with an SF_ERROR_INVALID error
 * naming the choices otherwise. */
gboolean sf_precision_from_name (
    const char *name, SfPrecision *precision, GError **error);

/* The instruction sets this CPU (and its OS) lacks for @precision, e.g.
 * "AVX512_BF16", or NULL when it has them all (always NULL for f32).
 * The environment variable SF_CPU_DISABLE, a comma-separated list of
 * "avx512", "avx512_bf16" and "avx512_vnni", hides those features, so
 * that the fallback can be tried on any machine. */
const char *sf_precision_missing (SfPrecision precision);
/* The precision that runs for @requested: itself when the CPU has what it
 * needs, otherwise f32, and *@warning (nullable) gets a message naming
 * what is missing (NULL when nothing is). */
SfPrecision sf_precision_resolve (SfPrecision requested, char **warning);

G_END_DECLS
