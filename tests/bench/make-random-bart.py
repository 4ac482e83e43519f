#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised BART checkpoint for benchmarks.

    make-random-bart.py CONFIG.json OUTDIR [--seed S] [--dtype f32|f16|bf16]

OUTDIR gets config.json and model.safetensors with every tensor of a
Hugging Face BartForConditionalGeneration under its HF names ("model."
prefix, learned positions with BART's offset of 2, the LM head tied to
model.shared and so not stored). Weights are drawn from normal(0, 0.02);
the file is written by make-random-checkpoint.py's writer.
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


def linear(name, n_out, n_in):
    return [(name + ".weight", (n_out, n_in), "weight"),
            (name + ".bias", (n_out,), "bias")]


def norm(name, d):
    return [(name + ".weight", (d,), "norm_weight"),
            (name + ".bias", (d,), "norm_bias")]


def attention(name, d):
    out = []
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        out += linear("%s.%s" % (name, proj), d, d)
    return out


def bart_tensor_shapes(cfg):
    """(name, shape, kind) for every stored tensor of the model."""
    d = cfg["d_model"]
    shapes = [("model.shared.weight", (cfg["vocab_size"], d), "weight"),
              ("final_logits_bias", (1, cfg["vocab_size"]), "bias")]
    for stack in ("encoder", "decoder"):
        p = "model.%s." % stack
        shapes.append((p + "embed_positions.weight",
                       (cfg["max_position_embeddings"] + 2, d), "weight"))
        shapes += norm(p + "layernorm_embedding", d)
        ffn = cfg["%s_ffn_dim" % stack]
        for i in range(cfg["%s_layers" % stack]):
            lp = "%slayers.%d." % (p, i)
            shapes += attention(lp + "self_attn", d)
            shapes += norm(lp + "self_attn_layer_norm", d)
            if stack == "decoder":
                shapes += attention(lp + "encoder_attn", d)
                shapes += norm(lp + "encoder_attn_layer_norm", d)
            shapes += linear(lp + "fc1", ffn, d)
            shapes += linear(lp + "fc2", d, ffn)
            shapes += norm(lp + "final_layer_norm", d)
    return shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a BartConfig config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    for key in ("d_model", "encoder_layers", "decoder_layers",
                "encoder_attention_heads", "decoder_attention_heads",
                "encoder_ffn_dim", "decoder_ffn_dim",
                "max_position_embeddings", "vocab_size"):
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            sys.exit("%s: field %s must be a positive integer"
                     % (args.config, key))

    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tensors = [(name, writer.random_tensor(rng, shape, kind, 0.02))
               for name, shape, kind in bart_tensor_shapes(cfg)]
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
