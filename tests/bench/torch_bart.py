#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of decode-bench for BART checkpoints.

    torch_bart.py MODEL_DIR [--threads T] [--source S] [--new N]
                  [--beams B] [--json]

Builds BART in plain PyTorch as Hugging Face's BartForConditionalGeneration
computes it in eval mode (post-LN blocks, learned positions offset by 2,
self-attention over a KV cache, cross-attention K/V computed once per
input, tied LM head plus final_logits_bias), loads MODEL_DIR/config.json
and MODEL_DIR/model.safetensors, and under torch.inference_mode() encodes
the same synthetic S-token input as decode-bench, then runs beam search
as transformers does with B beams for exactly N new tokens (eos masked
until then, no early stop, length penalty 1). Prints the whole
generation's time and the ids of the best beam.
"""

import argparse
import importlib.util
import json
import os
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "torch_bert", os.path.join(HERE, "torch_bert.py"))
torch_bert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_bert)

SOURCE_VOCAB = 32000  # as decode-bench draws its input ids


class Bart:
    def __init__(self, cfg, w):
        self.d = cfg["d_model"]
        self.w = {k[len("model."):] if k.startswith("model.") else k: v
                  for k, v in w.items()}
        self.scale = self.d ** 0.5 if cfg.get("scale_embedding") else 1.0
        self.enc_heads = cfg["encoder_attention_heads"]
        self.dec_heads = cfg["decoder_attention_heads"]
        self.n_enc = cfg["encoder_layers"]
        self.n_dec = cfg["decoder_layers"]
        self.head = self.w.get("lm_head.weight", self.w["shared.weight"])
        self.bias = self.w.get("final_logits_bias")

    def norm(self, x, name):
        return F.layer_norm(x, (self.d,), self.w[name + ".weight"],
                            self.w[name + ".bias"], 1e-5)

    def lin(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def heads(self, x, h):
        b, t, _ = x.shape
        return x.view(b, t, h, self.d // h).transpose(1, 2)

    def attend(self, q, k, v, name, mask=None):
        b, h, t, dh = q.shape
        scores = torch.matmul(q * dh ** -0.5, k.transpose(-1, -2))
        if mask is not None:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        ctx = torch.matmul(scores.softmax(-1), v)
        return self.lin(ctx.transpose(1, 2).reshape(b, t, self.d),
                        name + ".out_proj")

    def embed(self, ids, stack, past):
        pos = self.w[stack + ".embed_positions.weight"]
        x = self.w["shared.weight"][ids] * self.scale
        x = x + pos[2 + past:2 + past + ids.shape[1]]
        return self.norm(x, stack + ".layernorm_embedding")

    def ffn(self, x, p):
        return self.lin(F.gelu(self.lin(x, p + ".fc1")), p + ".fc2")

    def encode(self, ids):
        x = self.embed(ids, "encoder", 0)
        h = self.enc_heads
        for i in range(self.n_enc):
            p = "encoder.layers.%d" % i
            a = p + ".self_attn"
            q, k, v = (self.heads(self.lin(x, a + n), h)
                       for n in (".q_proj", ".k_proj", ".v_proj"))
            x = self.norm(x + self.attend(q, k, v, a),
                          p + ".self_attn_layer_norm")
            x = self.norm(x + self.ffn(x, p), p + ".final_layer_norm")
        return x

    def cross_kv(self, enc):
        """Per decoder layer, the cross-attention K/V of the input."""
        h = self.dec_heads
        return [tuple(self.heads(self.lin(
            enc, "decoder.layers.%d.encoder_attn%s" % (i, n)), h)
            for n in (".k_proj", ".v_proj")) for i in range(self.n_dec)]

    def step(self, ids, cache, cross):
        """ids [B, 1]; cache: per layer (k, v) [B, H, S, Dh] or None;
        cross: per layer (k, v) [B, H, S_in, Dh]. Returns logits [B, V]."""
        past = cache[0][0].shape[2] if cache[0] is not None else 0
        x = self.embed(ids, "decoder", past)
        h = self.dec_heads
        for i in range(self.n_dec):
            p = "decoder.layers.%d" % i
            a = p + ".self_attn"
            q, k, v = (self.heads(self.lin(x, a + n), h)
                       for n in (".q_proj", ".k_proj", ".v_proj"))
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
            x = self.norm(x + self.attend(q, k, v, a),
                          p + ".self_attn_layer_norm")
            c = p + ".encoder_attn"
            q = self.heads(self.lin(x, c + ".q_proj"), h)
            x = self.norm(x + self.attend(q, cross[i][0], cross[i][1], c),
                          p + ".encoder_attn_layer_norm")
            x = self.norm(x + self.ffn(x, p), p + ".final_layer_norm")
        logits = torch.matmul(x[:, -1], self.head.t())
        return logits + self.bias[0] if self.bias is not None else logits


def beam_search(model, src, start, eos, beams, n_new):
    """transformers' beam search for exactly n_new tokens: eos masked (the
    min_new_tokens rule), so no hypothesis ends early and every beam has
    the same length; the best is the highest running score."""
    enc = model.encode(src)
    cross = [tuple(t.expand(beams, -1, -1, -1) for t in kv)
             for kv in model.cross_kv(enc)]
    cache = [None] * model.n_dec
    seqs = torch.full((beams, 1), start, dtype=torch.long)
    scores = torch.full((beams,), -1e9)
    scores[0] = 0.0
    for _ in range(n_new):
        logp = F.log_softmax(model.step(seqs[:, -1:], cache, cross), dim=-1)
        for e in eos:
            logp[:, e] = -float("inf")
        vocab = logp.shape[-1]
        total = (logp + scores[:, None]).view(-1)
        top, idx = torch.topk(total, 2 * beams, largest=True, sorted=True)
        # no candidate is eos, so the first `beams` continue
        top, idx = top[:beams], idx[:beams]
        src_beam = torch.div(idx, vocab, rounding_mode="floor")
        seqs = torch.cat((seqs[src_beam], (idx % vocab)[:, None]), dim=1)
        cache = [(k[src_beam], v[src_beam]) for k, v in cache]
        scores = top
    return seqs[0, 1:].tolist()


def seq2seq_main(build, eos_default, start_default, doc):
    """The timing driver of the encoder-decoder peers: parses the command
    line, builds the model with build(cfg, weights), then times one beam
    search on decode-bench's synthetic source; doc is the peer's docstring."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--source", type=int, default=512)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--beams", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    w = torch_bert.load_safetensors(
        os.path.join(args.model, "model.safetensors"))
    model = build(cfg, w)
    eos = cfg.get("eos_token_id", eos_default)
    eos = eos if isinstance(eos, list) else [eos]
    start = cfg.get("decoder_start_token_id", start_default)
    src = torch.tensor([[(i * 7919 + 13) % SOURCE_VOCAB
                         for i in range(args.source)]])
    with torch.inference_mode():
        # untimed: pages in the mapped weights, as decode-bench does
        beam_search(model, src, start, eos, args.beams, 2)
        t0 = time.perf_counter()
        ids = beam_search(model, src, start, eos, args.beams, args.new)
        total_ms = (time.perf_counter() - t0) * 1e3
    result = {
        "side": "pytorch",
        "threads": torch.get_num_threads(),
        "source_tokens": args.source,
        "beams": args.beams,
        "new_tokens": len(ids),
        "total_ms": total_ms,
        "ids": ids,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%-20s %s" % (k, "%.2f" % v if isinstance(v, float) else v))


if __name__ == "__main__":
    seq2seq_main(Bart, 2, 2, __doc__)
