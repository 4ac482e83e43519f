#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of decode-bench for T5 checkpoints (ReLU feed-forward).

    torch_t5.py MODEL_DIR [--threads T] [--source S] [--new N]
                [--beams B] [--json]

Builds T5 in plain PyTorch as Hugging Face's T5ForConditionalGeneration
computes it in eval mode (pre-RMS-norm blocks without biases, unscaled
attention with block 0's bucketed relative position bias shared by every
layer, a self-attention KV cache, cross-attention K/V computed once, the
tied LM head scaled by d_model^-0.5), loads MODEL_DIR/config.json and
MODEL_DIR/model.safetensors, and runs torch_bart.py's beam search on the
same synthetic input as decode-bench. Prints the whole generation's time
and the ids of the best beam.
"""

import importlib.util
import math
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name, file):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


torch_bert = _load("torch_bert", "torch_bert.py")
torch_bart = _load("torch_bart", "torch_bart.py")


def bucket(rel, bidirectional, n_buckets, max_distance):
    """T5's bucket of each relative position (key minus query)."""
    out = torch.zeros_like(rel)
    if bidirectional:
        n_buckets //= 2
        out += (rel > 0).long() * n_buckets
        n = rel.abs()
    else:
        n = (-rel).clamp(min=0)
    exact = n_buckets // 2
    far = exact + (torch.log(n.float().clamp(min=1) / exact)
                   / math.log(max_distance / exact)
                   * (n_buckets - exact)).long()
    far = far.clamp(max=n_buckets - 1)
    return out + torch.where(n < exact, n, far)


class T5:
    def __init__(self, cfg, w):
        self.d = cfg["d_model"]
        self.h = cfg["num_heads"]
        self.dk = cfg["d_kv"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-6)
        self.n_enc = cfg["num_layers"]
        self.n_dec = cfg.get("num_decoder_layers") or self.n_enc
        self.buckets = cfg.get("relative_attention_num_buckets", 32)
        self.max_dist = cfg.get("relative_attention_max_distance", 128)
        self.w = w
        self.tied = cfg.get("tie_word_embeddings", True)
        self.head = w.get("lm_head.weight", w["shared.weight"])

    def norm(self, x, name):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.w[name + ".weight"]

    def lin(self, x, name):
        return F.linear(x, self.w[name + ".weight"])

    def heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.h, self.dk).transpose(1, 2)

    def attend(self, q, k, v, name, bias=None):
        scores = torch.matmul(q, k.transpose(-1, -2))
        if bias is not None:
            scores = scores + bias
        ctx = torch.matmul(scores.softmax(-1), v)
        b, _, t, _ = ctx.shape
        return self.lin(ctx.transpose(1, 2).reshape(b, t, -1), name + ".o")

    def position_bias(self, stack, q_pos, k_pos, bidirectional):
        rel = k_pos[None, :] - q_pos[:, None]
        table = self.w[stack + ".block.0.layer.0.SelfAttention."
                       "relative_attention_bias.weight"]
        b = bucket(rel, bidirectional, self.buckets, self.max_dist)
        return table[b].permute(2, 0, 1)[None]

    def ffn(self, x, p):
        return self.lin(F.relu(self.lin(x, p + ".DenseReluDense.wi")),
                        p + ".DenseReluDense.wo")

    def encode(self, ids):
        x = self.w["shared.weight"][ids]
        pos = torch.arange(ids.shape[1])
        bias = self.position_bias("encoder", pos, pos, True)
        for i in range(self.n_enc):
            p = "encoder.block.%d.layer." % i
            h = self.norm(x, p + "0.layer_norm")
            a = p + "0.SelfAttention"
            q, k, v = (self.heads(self.lin(h, a + n))
                       for n in (".q", ".k", ".v"))
            x = x + self.attend(q, k, v, a, bias)
            x = x + self.ffn(self.norm(x, p + "1.layer_norm"), p + "1")
        return self.norm(x, "encoder.final_layer_norm")

    def cross_kv(self, enc):
        return [tuple(self.heads(self.lin(
            enc, "decoder.block.%d.layer.1.EncDecAttention%s" % (i, n)))
            for n in (".k", ".v")) for i in range(self.n_dec)]

    def step(self, ids, cache, cross):
        """As torch_bart.Bart.step: ids [B, 1]; returns logits [B, V]."""
        past = cache[0][0].shape[2] if cache[0] is not None else 0
        t = ids.shape[1]
        x = self.w["shared.weight"][ids]
        bias = self.position_bias("decoder", torch.arange(past, past + t),
                                  torch.arange(past + t), False)
        if t > 1:
            mask = torch.ones(t, past + t, dtype=torch.bool).tril(past)
            bias = bias.masked_fill(~mask, torch.finfo(bias.dtype).min)
        for i in range(self.n_dec):
            p = "decoder.block.%d.layer." % i
            h = self.norm(x, p + "0.layer_norm")
            a = p + "0.SelfAttention"
            q, k, v = (self.heads(self.lin(h, a + n))
                       for n in (".q", ".k", ".v"))
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
            x = x + self.attend(q, k, v, a, bias)
            c = p + "1.EncDecAttention"
            q = self.heads(self.lin(self.norm(x, p + "1.layer_norm"), c + ".q"))
            x = x + self.attend(q, cross[i][0], cross[i][1], c)
            x = x + self.ffn(self.norm(x, p + "2.layer_norm"), p + "2")
        x = self.norm(x[:, -1], "decoder.final_layer_norm")
        if self.tied:
            x = x * self.d ** -0.5
        return torch.matmul(x, self.head.t())


if __name__ == "__main__":
    torch_bart.seq2seq_main(T5, 1, 0, __doc__)
