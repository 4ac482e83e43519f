/* Streamformer core: tensor ops.
 *
 * Every op writes its first argument. Shapes are checked with
 * g_return_val_if_fail: by the time graph code calls an op, the weights have
 * been validated against the config at load time, so a mismatch here is a
 * programming error, not bad input. Ops that consume external data (token
 * ids) return FALSE with a GError instead.
 *
 * BLAS is called from core/ only (through core/blas.h). Graph code composes
 * ops and never loops over elements. Unless stated otherwise, the output may
 * alias the input (in place).
 */
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

/* out[..., N] = x[..., K] · w[N, K]ᵀ + b[N]   (b may be NULL). out must not alias x. */
gboolean sf_op_linear (
    SfTensor *out, const SfTensor *x, const SfTensor *w, const SfTensor *b);
/* out[M, N] = a[M, K] · b[K, N] (trans_b: b is [N, K]). Plain 2-D matmul. */
gboolean sf_op_matmul (
    SfTensor *out, const SfTensor *a, const SfTensor *b, gboolean trans_b);

/* Over the last dimension: (x - mean) / sqrt(var + eps) · gamma + beta. */
gboolean sf_op_layer_norm (SfTensor *out, const SfTensor *x,
    const SfTensor *gamma, const SfTensor *beta, float eps);
/* Numerically stable softmax over the last dimension. */
gboolean sf_op_softmax (SfTensor *out, const SfTensor *x);
gboolean sf_op_sigmoid (SfTensor *out, const SfTensor *x);
gboolean sf_op_activation (SfTensor *out, const SfTensor *x, SfActivation act);
/* out = a + b, same shapes; or b broadcast over rows when b is 1-D of the last dim. */
gboolean sf_op_add (SfTensor *out, const SfTensor *a, const SfTensor *b);
gboolean sf_op_scale (SfTensor *out, const SfTensor *x, float factor);

/* out[T, H] = table[ids[t], :]. Fails (GError) when an id is out of range. */
gboolean sf_op_embedding (SfTensor *out, const SfTensor *table,
    const gint64 *ids, gint64 n_ids, GError **error);

/* Multi-head scaled dot-product attention.
 *   q [B, T, H], k [B, S, H], v [B, S, H], out [B, T, H], H = n_heads · D.
 *   mask: NULL or [B, S] (any integer or float dtype); positions where
 *   mask == 0 are excluded (padding). causal: query t sees keys
 *   ≤ t + S − T (keys ≤ t when S = T; with a KV cache the queries are the
 *   last T positions).
 *   Scores are scaled by 1/√D. out must not alias q, k or v. */
gboolean sf_op_attention (SfTensor *out, const SfTensor *q, const SfTensor *k,
    const SfTensor *v, int n_heads, const SfTensor *mask, gboolean causal);

/* out[B, H] = Σ_t x[b,t,:]·mask[b,t] / max(Σ_t mask[b,t], 1e-9)  (mask [B, T]). */
gboolean sf_op_mean_pool (
    SfTensor *out, const SfTensor *x, const SfTensor *mask);
/* out[b, :] = x[b, 0, :]  (x [B, T, H], out [B, H]). */
gboolean sf_op_first_token (SfTensor *out, const SfTensor *x);
/* x / max(‖x‖₂, eps) over the last dimension (eps = 1e-12, as torch.nn.functional.normalize). */
gboolean sf_op_l2_normalize (SfTensor *out, const SfTensor *x);

G_END_DECLS
