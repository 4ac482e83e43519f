#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised BERT checkpoint for benchmarks.

    make-random-checkpoint.py CONFIG.json OUTDIR [--seed S] [--dtype f32|f16|bf16]

OUTDIR gets config.json (CONFIG.json plus "architectures": ["BertModel"]
when it names none) and model.safetensors with every tensor of a Hugging Face
BertModel with its pooler, under the HF names. Weights are drawn from
normal(0, 0.02) as BERT initialises them; LayerNorm weights sit near 1 and
biases near 0, so activations stay in a realistic range.

Only numpy is needed; the safetensors file is written by hand: an 8-byte
little-endian header length, a JSON header (padded with spaces to a multiple
of 8 bytes) mapping each name to dtype, shape and byte offsets, then the data.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np


def bert_tensor_shapes(cfg):
    """(name, shape, kind) for every tensor of BertModel, in module order.
    kind is "weight", "bias", "norm_weight" or "norm_bias"."""
    h = cfg["hidden_size"]
    inter = cfg["intermediate_size"]
    shapes = [
        ("embeddings.word_embeddings.weight", (cfg["vocab_size"], h), "weight"),
        ("embeddings.position_embeddings.weight",
         (cfg["max_position_embeddings"], h), "weight"),
        ("embeddings.token_type_embeddings.weight",
         (cfg.get("type_vocab_size", 2), h), "weight"),
        ("embeddings.LayerNorm.weight", (h,), "norm_weight"),
        ("embeddings.LayerNorm.bias", (h,), "norm_bias"),
    ]
    for i in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % i
        for proj in ("query", "key", "value"):
            shapes.append((p + "attention.self.%s.weight" % proj, (h, h), "weight"))
            shapes.append((p + "attention.self.%s.bias" % proj, (h,), "bias"))
        shapes += [
            (p + "attention.output.dense.weight", (h, h), "weight"),
            (p + "attention.output.dense.bias", (h,), "bias"),
            (p + "attention.output.LayerNorm.weight", (h,), "norm_weight"),
            (p + "attention.output.LayerNorm.bias", (h,), "norm_bias"),
            (p + "intermediate.dense.weight", (inter, h), "weight"),
            (p + "intermediate.dense.bias", (inter,), "bias"),
            (p + "output.dense.weight", (h, inter), "weight"),
            (p + "output.dense.bias", (h,), "bias"),
            (p + "output.LayerNorm.weight", (h,), "norm_weight"),
            (p + "output.LayerNorm.bias", (h,), "norm_bias"),
        ]
    shapes += [
        ("pooler.dense.weight", (h, h), "weight"),
        ("pooler.dense.bias", (h,), "bias"),
    ]
    return shapes


def random_tensor(rng, shape, kind, std):
    if kind == "weight":
        return rng.normal(0.0, std, size=shape).astype(np.float32)
    if kind == "norm_weight":
        return (1.0 + rng.normal(0.0, 0.02, size=shape)).astype(np.float32)
    # biases and LayerNorm biases: small, so that a wrong bias shows up in
    # a comparison but does not dominate it
    return rng.normal(0.0, 0.02, size=shape).astype(np.float32)


def to_stored(array, dtype):
    """float32 array -> (bytes, safetensors dtype name)."""
    if dtype == "f32":
        return array.astype("<f4").tobytes(), "F32"
    if dtype == "f16":
        return array.astype("<f2").tobytes(), "F16"
    # bf16: the top 16 bits of the float32, rounded to nearest even
    bits = array.astype("<f4").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes(), "BF16"


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, float32 array)."""
    header = {}
    offset = 0
    blobs = []
    for name, array in tensors:
        data, dtype_name = to_stored(array, dtype)
        header[name] = {
            "dtype": dtype_name,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a BertConfig config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers",
                "num_attention_heads", "vocab_size", "max_position_embeddings"):
        if not isinstance(cfg.get(key), int) or cfg[key] < 1:
            sys.exit("%s: field %s must be a positive integer" % (args.config, key))
    if cfg["hidden_size"] % cfg["num_attention_heads"] != 0:
        sys.exit("%s: hidden_size is not a multiple of num_attention_heads"
                 % args.config)
    if not cfg.get("architectures"):
        cfg["architectures"] = ["BertModel"]

    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    std = float(cfg.get("initializer_range", 0.02))
    tensors = [(name, random_tensor(rng, shape, kind, std))
               for name, shape, kind in bert_tensor_shapes(cfg)]
    # BERT zeroes the padding row of the word embeddings
    pad = cfg.get("pad_token_id")
    if isinstance(pad, int) and 0 <= pad < cfg["vocab_size"]:
        tensors[0][1][pad] = 0.0

    write_safetensors(os.path.join(args.outdir, "model.safetensors"),
                      tensors, args.dtype)
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    n_params = sum(a.size for _, a in tensors)
    print("%s: %d tensors, %.1fM parameters, %s"
          % (args.outdir, len(tensors), n_params / 1e6, args.dtype))


if __name__ == "__main__":
    main()
