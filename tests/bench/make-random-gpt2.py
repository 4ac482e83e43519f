#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised GPT-2 checkpoint for benchmarks.

    make-random-gpt2.py CONFIG.json OUTDIR [--seed S] [--dtype f32|f16|bf16]

OUTDIR gets config.json and model.safetensors with every tensor of a
Hugging Face GPT2LMHeadModel under its HF names ("transformer." prefix,
Conv1D weights stored [in, out], the LM head tied to wte and so not
stored). Weights are drawn from normal(0, 0.02); the file is written by
make-random-checkpoint.py's writer.
"""

import argparse
import importlib.util
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "make_random_checkpoint", os.path.join(HERE, "make-random-checkpoint.py"))
writer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(writer)


def gpt2_tensor_shapes(cfg):
    """(name, shape, kind) for every stored tensor of GPT2LMHeadModel."""
    d = cfg["n_embd"]
    inner = cfg.get("n_inner") or 4 * d
    shapes = [
        ("transformer.wte.weight", (cfg["vocab_size"], d), "weight"),
        ("transformer.wpe.weight", (cfg["n_positions"], d), "weight"),
    ]
    for i in range(cfg["n_layer"]):
        p = "transformer.h.%d." % i
        shapes += [
            (p + "ln_1.weight", (d,), "norm_weight"),
            (p + "ln_1.bias", (d,), "norm_bias"),
            (p + "attn.c_attn.weight", (d, 3 * d), "weight"),
            (p + "attn.c_attn.bias", (3 * d,), "bias"),
            (p + "attn.c_proj.weight", (d, d), "weight"),
            (p + "attn.c_proj.bias", (d,), "bias"),
            (p + "ln_2.weight", (d,), "norm_weight"),
            (p + "ln_2.bias", (d,), "norm_bias"),
            (p + "mlp.c_fc.weight", (d, inner), "weight"),
            (p + "mlp.c_fc.bias", (inner,), "bias"),
            (p + "mlp.c_proj.weight", (inner, d), "weight"),
            (p + "mlp.c_proj.bias", (d,), "bias"),
        ]
    shapes += [
        ("transformer.ln_f.weight", (d,), "norm_weight"),
        ("transformer.ln_f.bias", (d,), "norm_bias"),
    ]
    return shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a GPT2Config config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    for key in ("n_embd", "n_layer", "n_head", "n_positions", "vocab_size"):
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            sys.exit("%s: field %s must be a positive integer" % (args.config, key))
    if cfg["n_embd"] % cfg["n_head"] != 0:
        sys.exit("%s: n_embd is not a multiple of n_head" % args.config)

    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tensors = [(name, writer.random_tensor(rng, shape, kind, 0.02))
               for name, shape, kind in gpt2_tensor_shapes(cfg)]
    writer.write_safetensors(os.path.join(args.outdir, "model.safetensors"),
                             tensors, args.dtype)
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    n_params = sum(a.size for _, a in tensors)
    print("%s: %d tensors, %.1fM parameters, %s"
          % (args.outdir, len(tensors), n_params / 1e6, args.dtype))


if __name__ == "__main__":
    main()
