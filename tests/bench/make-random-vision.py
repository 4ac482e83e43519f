#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised ViT or SegFormer checkpoint for benchmarks.

    make-random-vision.py CONFIG.json OUTDIR [--seed S] [--num-labels N]

CONFIG.json is a ViTConfig or SegformerConfig (model_type "vit" or
"segformer"). OUTDIR gets:

- config.json: CONFIG.json plus the task head's architecture
  (ViTForImageClassification or SegformerForSemanticSegmentation) and
  id2label / label2id for N labels (default 1000 for ViT as ImageNet, 150
  for SegFormer as ADE20k);
- model.safetensors: every tensor of that Hugging Face model under its HF
  name and shape, in float32 (the BatchNorm's num_batches_tracked counter
  in int64, as PyTorch saves it);
- preprocessor_config.json: the image processor of the matching Hub
  checkpoint (google/vit-base-patch16-224, nvidia/segformer-b0-finetuned-
  ade-512-512) at the config's input size.

Linear and conv weights are drawn from normal(0, initializer_range), norm
weights near 1, biases near 0, and BatchNorm running statistics in a
plausible range (variance well above 0), so activations stay realistic.
Timing does not depend on the values. Only numpy is needed: the
safetensors file is written by hand.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

RESCALE_1_255 = 0.00392156862745098


def vit_tensors(cfg, n_labels):
    """(name, shape, kind) for ViTForImageClassification, in module order."""
    h = cfg["hidden_size"]
    inter = cfg["intermediate_size"]
    ch = cfg.get("num_channels", 3)
    image = cfg.get("image_size", 224)
    patch = cfg.get("patch_size", 16)
    tokens = (image // patch) ** 2 + 1
    e = "vit.embeddings."
    out = [
        (e + "cls_token", (1, 1, h), "weight"),
        (e + "position_embeddings", (1, tokens, h), "weight"),
        (e + "patch_embeddings.projection.weight", (h, ch, patch, patch),
         "weight"),
        (e + "patch_embeddings.projection.bias", (h,), "bias"),
    ]
    qkv_bias = cfg.get("qkv_bias", True)
    for i in range(cfg["num_hidden_layers"]):
        p = "vit.encoder.layer.%d." % i
        for proj in ("query", "key", "value"):
            out.append((p + "attention.attention.%s.weight" % proj, (h, h),
                        "weight"))
            if qkv_bias:
                out.append((p + "attention.attention.%s.bias" % proj, (h,),
                            "bias"))
        out += [
            (p + "attention.output.dense.weight", (h, h), "weight"),
            (p + "attention.output.dense.bias", (h,), "bias"),
            (p + "intermediate.dense.weight", (inter, h), "weight"),
            (p + "intermediate.dense.bias", (inter,), "bias"),
            (p + "output.dense.weight", (h, inter), "weight"),
            (p + "output.dense.bias", (h,), "bias"),
            (p + "layernorm_before.weight", (h,), "norm_weight"),
            (p + "layernorm_before.bias", (h,), "bias"),
            (p + "layernorm_after.weight", (h,), "norm_weight"),
            (p + "layernorm_after.bias", (h,), "bias"),
        ]
    out += [
        ("vit.layernorm.weight", (h,), "norm_weight"),
        ("vit.layernorm.bias", (h,), "bias"),
        ("classifier.weight", (n_labels, h), "weight"),
        ("classifier.bias", (n_labels,), "bias"),
    ]
    return out


def segformer_tensors(cfg, n_labels):
    """(name, shape, kind) for SegformerForSemanticSegmentation."""
    sizes = cfg["hidden_sizes"]
    dec = cfg["decoder_hidden_size"]
    n = cfg["num_encoder_blocks"]
    out = []
    for s in range(n):
        c = sizes[s]
        cin = cfg.get("num_channels", 3) if s == 0 else sizes[s - 1]
        k = cfg["patch_sizes"][s]
        sr = cfg["sr_ratios"][s]
        inter = c * cfg["mlp_ratios"][s]
        pe = "segformer.encoder.patch_embeddings.%d." % s
        out += [
            (pe + "proj.weight", (c, cin, k, k), "weight"),
            (pe + "proj.bias", (c,), "bias"),
            (pe + "layer_norm.weight", (c,), "norm_weight"),
            (pe + "layer_norm.bias", (c,), "bias"),
        ]
        for i in range(cfg["depths"][s]):
            p = "segformer.encoder.block.%d.%d." % (s, i)
            out += [
                (p + "layer_norm_1.weight", (c,), "norm_weight"),
                (p + "layer_norm_1.bias", (c,), "bias"),
            ]
            for proj in ("query", "key", "value"):
                out += [
                    (p + "attention.self.%s.weight" % proj, (c, c), "weight"),
                    (p + "attention.self.%s.bias" % proj, (c,), "bias"),
                ]
            if sr > 1:
                out += [
                    (p + "attention.self.sr.weight", (c, c, sr, sr), "weight"),
                    (p + "attention.self.sr.bias", (c,), "bias"),
                    (p + "attention.self.layer_norm.weight", (c,),
                     "norm_weight"),
                    (p + "attention.self.layer_norm.bias", (c,), "bias"),
                ]
            out += [
                (p + "attention.output.dense.weight", (c, c), "weight"),
                (p + "attention.output.dense.bias", (c,), "bias"),
                (p + "layer_norm_2.weight", (c,), "norm_weight"),
                (p + "layer_norm_2.bias", (c,), "bias"),
                (p + "mlp.dense1.weight", (inter, c), "weight"),
                (p + "mlp.dense1.bias", (inter,), "bias"),
                (p + "mlp.dwconv.dwconv.weight", (inter, 1, 3, 3), "weight"),
                (p + "mlp.dwconv.dwconv.bias", (inter,), "bias"),
                (p + "mlp.dense2.weight", (c, inter), "weight"),
                (p + "mlp.dense2.bias", (c,), "bias"),
            ]
        out += [
            ("segformer.encoder.layer_norm.%d.weight" % s, (c,),
             "norm_weight"),
            ("segformer.encoder.layer_norm.%d.bias" % s, (c,), "bias"),
        ]
    for s in range(n):
        out += [
            ("decode_head.linear_c.%d.proj.weight" % s, (dec, sizes[s]),
             "weight"),
            ("decode_head.linear_c.%d.proj.bias" % s, (dec,), "bias"),
        ]
    out += [
        ("decode_head.linear_fuse.weight", (dec, dec * n, 1, 1), "weight"),
        ("decode_head.batch_norm.weight", (dec,), "norm_weight"),
        ("decode_head.batch_norm.bias", (dec,), "bias"),
        ("decode_head.batch_norm.running_mean", (dec,), "bias"),
        ("decode_head.batch_norm.running_var", (dec,), "variance"),
        ("decode_head.batch_norm.num_batches_tracked", (), "count"),
        ("decode_head.classifier.weight", (n_labels, dec, 1, 1), "weight"),
        ("decode_head.classifier.bias", (n_labels,), "bias"),
    ]
    return out


MODELS = {
    # model_type: (architecture, tensor table, default labels, processor)
    "vit": ("ViTForImageClassification", vit_tensors, 1000, {
        "image_processor_type": "ViTImageProcessor",
        "do_resize": True,
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": RESCALE_1_255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }),
    "segformer": ("SegformerForSemanticSegmentation", segformer_tensors, 150, {
        "image_processor_type": "SegformerImageProcessor",
        "do_resize": True,
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": RESCALE_1_255,
        "do_normalize": True,
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
        "do_reduce_labels": True,
    }),
}


def random_tensor(rng, shape, kind, std):
    if kind == "weight":
        return rng.normal(0.0, std, size=shape).astype("<f4")
    if kind == "norm_weight":
        return (1.0 + rng.normal(0.0, 0.02, size=shape)).astype("<f4")
    if kind == "variance":
        return rng.uniform(0.5, 1.5, size=shape).astype("<f4")
    if kind == "count":
        return np.array(1000, dtype="<i8").reshape(shape)
    return rng.normal(0.0, 0.02, size=shape).astype("<f4")


def write_safetensors(path, tensors):
    """tensors: list of (name, little-endian float32 or int64 array). Layout:
    an 8-byte little-endian header length, a JSON header (padded with spaces
    to a multiple of 8) giving each tensor's dtype, shape and byte range,
    then the data."""
    names = {np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, array in tensors:
        size = array.nbytes
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, array in tensors:
            f.write(np.ascontiguousarray(array).tobytes())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a ViTConfig or SegformerConfig config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--num-labels", type=int, default=0,
                    help="classes of the head (default: 1000 ViT, 150 SegFormer)")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    kind = cfg.get("model_type")
    if kind not in MODELS:
        sys.exit("%s: field model_type must be 'vit' or 'segformer', not %r"
                 % (args.config, kind))
    arch, table, default_labels, processor = MODELS[kind]
    n_labels = args.num_labels or default_labels
    if n_labels < 1:
        sys.exit("--num-labels must be >= 1")

    cfg["architectures"] = [arch]
    cfg["id2label"] = {str(i): "LABEL_%d" % i for i in range(n_labels)}
    cfg["label2id"] = {"LABEL_%d" % i: i for i in range(n_labels)}
    if kind == "vit":
        side = cfg.get("image_size", 224)
        processor = dict(processor, size={"height": side, "width": side})
    else:
        processor = dict(processor, size={"height": 512, "width": 512})

    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    std = float(cfg.get("initializer_range", 0.02))
    tensors = [(name, random_tensor(rng, shape, k, std))
               for name, shape, k in table(cfg, n_labels)]
    write_safetensors(os.path.join(args.outdir, "model.safetensors"), tensors)
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.outdir, "preprocessor_config.json"), "w") as f:
        json.dump(processor, f, indent=2, sort_keys=True)
        f.write("\n")
    n_params = sum(a.size for _, a in tensors if a.dtype == np.float32)
    print("%s: %s, %d tensors, %.2fM parameters"
          % (args.outdir, arch, len(tensors), n_params / 1e6))


if __name__ == "__main__":
    main()
