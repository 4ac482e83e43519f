#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised T5 checkpoint for benchmarks.

    make-random-t5.py CONFIG.json OUTDIR [--seed S] [--dtype f32|f16|bf16]

OUTDIR gets config.json and model.safetensors with every tensor of a
Hugging Face T5ForConditionalGeneration with a ReLU feed-forward (t5-small's
layout) under its HF names: no biases, RMS norms, a relative position bias
in block 0 of each stack, the LM head tied to "shared" and so not stored.
Weights are drawn from normal(0, 0.02); the file is written by
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


def t5_tensor_shapes(cfg):
    """(name, shape, kind) for every stored tensor of the model."""
    d, h, ff = cfg["d_model"], cfg["num_heads"], cfg["d_ff"]
    inner = h * cfg["d_kv"]
    shapes = [("shared.weight", (cfg["vocab_size"], d), "weight")]
    for stack, n, subs in (("encoder", cfg["num_layers"], ("SelfAttention",)),
                           ("decoder", cfg["num_decoder_layers"],
                            ("SelfAttention", "EncDecAttention"))):
        for i in range(n):
            p = "%s.block.%d.layer." % (stack, i)
            for j, sub in enumerate(subs):
                a = "%s%d.%s." % (p, j, sub)
                shapes += [(a + "q.weight", (inner, d), "weight"),
                           (a + "k.weight", (inner, d), "weight"),
                           (a + "v.weight", (inner, d), "weight"),
                           (a + "o.weight", (d, inner), "weight")]
                if i == 0 and j == 0:
                    shapes.append((a + "relative_attention_bias.weight",
                                   (cfg["relative_attention_num_buckets"], h),
                                   "weight"))
                shapes.append(("%s%d.layer_norm.weight" % (p, j), (d,),
                               "norm_weight"))
            f = len(subs)
            shapes += [("%s%d.DenseReluDense.wi.weight" % (p, f), (ff, d),
                        "weight"),
                       ("%s%d.DenseReluDense.wo.weight" % (p, f), (d, ff),
                        "weight"),
                       ("%s%d.layer_norm.weight" % (p, f), (d,),
                        "norm_weight")]
        shapes.append((stack + ".final_layer_norm.weight", (d,),
                       "norm_weight"))
    return shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a T5Config config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    for key in ("d_model", "d_kv", "d_ff", "num_heads", "num_layers",
                "num_decoder_layers", "relative_attention_num_buckets",
                "vocab_size"):
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            sys.exit("%s: field %s must be a positive integer"
                     % (args.config, key))
    if cfg.get("feed_forward_proj", "relu") != "relu":
        sys.exit("%s: only feed_forward_proj relu is written" % args.config)

    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tensors = [(name, writer.random_tensor(rng, shape, kind, 0.02))
               for name, shape, kind in t5_tensor_shapes(cfg)]
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
