#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of decode-bench for GPT-2 checkpoints.

    torch_gpt2.py MODEL_DIR [--threads T] [--prompt P] [--new N] [--json]

Builds GPT-2 in plain PyTorch as Hugging Face's GPT2LMHeadModel computes it
in eval mode (pre-LN blocks, fused c_attn, eager causal attention over a
KV cache, tied LM head), loads MODEL_DIR/config.json and
MODEL_DIR/model.safetensors (read by hand through torch_bert.py's reader),
then decodes N tokens greedily under torch.inference_mode(): the P-token
prompt in one step, then single-token steps. Prints the prompt time, the median
milliseconds per generated token and the generated ids, so both sides can
be checked to agree.
"""

import argparse
import importlib.util
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "torch_bert", os.path.join(HERE, "torch_bert.py"))
torch_bert = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_bert)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(
        math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Gpt2:
    def __init__(self, cfg, w):
        self.d = cfg["n_embd"]
        self.heads = cfg["n_head"]
        self.n_layer = cfg["n_layer"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        pre = "transformer." if "transformer.wte.weight" in w else ""
        self.w = {k[len(pre):] if k.startswith(pre) else k: v
                  for k, v in w.items()}
        self.head = self.w.get("lm_head.weight", self.w["wte.weight"])

    def ln(self, x, name):
        return F.layer_norm(x, (self.d,), self.w[name + ".weight"],
                            self.w[name + ".bias"], self.eps)

    def conv1d(self, x, name):
        return torch.addmm(self.w[name + ".bias"], x.view(-1, x.shape[-1]),
                           self.w[name + ".weight"]).view(
                               *x.shape[:-1], -1)

    def step(self, ids, cache):
        """ids [1, T]; cache: per layer (k, v) [1, H, S, Dh] or None."""
        t = ids.shape[1]
        past = cache[0][0].shape[2] if cache[0] is not None else 0
        pos = torch.arange(past, past + t)
        x = self.w["wte.weight"][ids] + self.w["wpe.weight"][pos]
        dh = self.d // self.heads
        for i in range(self.n_layer):
            p = "h.%d." % i
            qkv = self.conv1d(self.ln(x, p + "ln_1"), p + "attn.c_attn")
            q, k, v = qkv.split(self.d, dim=2)
            q, k, v = (z.view(1, t, self.heads, dh).transpose(1, 2)
                       for z in (q, k, v))
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            cache[i] = (k, v)
            s = k.shape[2]
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(dh)
            if t > 1:
                mask = torch.ones(t, s, dtype=torch.bool).tril(s - t)
                scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            ctx = torch.matmul(scores.softmax(-1), v)
            ctx = ctx.transpose(1, 2).reshape(1, t, self.d)
            x = x + self.conv1d(ctx, p + "attn.c_proj")
            h = gelu_new(self.conv1d(self.ln(x, p + "ln_2"), p + "mlp.c_fc"))
            x = x + self.conv1d(h, p + "mlp.c_proj")
        last = self.ln(x[:, -1:], "ln_f")
        return torch.matmul(last, self.head.t())[0, 0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    w = torch_bert.load_safetensors(os.path.join(args.model, "model.safetensors"))
    model = Gpt2(cfg, w)
    vocab = cfg["vocab_size"]
    prompt = torch.tensor([[(i * 7919 + 13) % vocab for i in range(args.prompt)]])
    times = []
    ids = []
    # Timed as decode-bench times sf_generate: the prompt up to its chosen
    # token, then each step with its choice.
    with torch.inference_mode():
        # untimed: pages in the mapped weights, as decode-bench does
        model.step(prompt, [None] * model.n_layer)
        cache = [None] * model.n_layer
        t0 = time.perf_counter()
        nxt = int(torch.argmax(model.step(prompt, cache)))
        prompt_ms = (time.perf_counter() - t0) * 1e3
        ids.append(nxt)
        for _ in range(args.new - 1):
            t0 = time.perf_counter()
            nxt = int(torch.argmax(model.step(torch.tensor([[nxt]]), cache)))
            times.append((time.perf_counter() - t0) * 1e3)
            ids.append(nxt)
    times.sort()
    result = {
        "side": "pytorch",
        "threads": torch.get_num_threads(),
        "prompt_tokens": args.prompt,
        "prompt_ms": prompt_ms,
        "new_tokens": len(ids),
        "ms_per_token_median": times[len(times) // 2],
        "ms_per_token_min": times[0],
        "ids": ids,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%-20s %s" % (k, "%.2f" % v if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
