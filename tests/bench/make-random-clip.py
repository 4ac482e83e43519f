#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a randomly initialised CLIP checkpoint for benchmarks.

    make-random-clip.py CONFIG.json OUTDIR [--seed S] [--dtype f32|f16|bf16]

OUTDIR gets config.json (CONFIG.json, a CLIPConfig, plus "architectures":
["CLIPModel"] when it names none), model.safetensors with every parameter
of a Hugging Face CLIPModel under its HF name and shape (both towers, the
two projections and logit_scale), and a preprocessor_config.json in the
form openai/clip-vit-base-patch32 ships: shortest edge to the image size
with bicubic resampling, a centre crop of the image size, and OpenAI's
mean and std. The position_ids buffers are not parameters and current
transformers does not save them, so they are left out.

The draws take the scales of CLIPPreTrainedModel._init_weights, so the
activations stay in a realistic range (H a tower's width, L its depth):
embeddings normal(0, initializer_range), the class embedding
normal(0, H^-1/2), q/k/v and fc2 normal(0, H^-1/2 (2L)^-1/2), out_proj
normal(0, H^-1/2), fc1 normal(0, (2H)^-1/2), each projection
normal(0, H^-1/2) of its tower; norms get weights near 1 and small biases.
Timing does not depend on the values.

Only numpy is needed; the safetensors writer is make-random-checkpoint.py's.
"""

import argparse
import importlib.util
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# openai/clip-vit-base-patch32's preprocessor_config.json, with the image
# size taken from vision_config
PREPROCESSOR = {
    "crop_size": 224,
    "do_center_crop": True,
    "do_normalize": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "size": 224,
}

# CLIPTextConfig / CLIPVisionConfig defaults for fields a config omits
TEXT_DEFAULTS = {"hidden_size": 512, "intermediate_size": 2048,
                 "num_hidden_layers": 12, "num_attention_heads": 8,
                 "vocab_size": 49408, "max_position_embeddings": 77}
VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072,
                   "num_hidden_layers": 12, "num_attention_heads": 12,
                   "num_channels": 3, "image_size": 224, "patch_size": 32}


def load_writer():
    """make-random-checkpoint.py's safetensors writer (its name has dashes,
    so it is loaded by path)."""
    path = os.path.join(HERE, "make-random-checkpoint.py")
    spec = importlib.util.spec_from_file_location("make_random_checkpoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_safetensors


def tower_config(cfg, key, defaults, origin):
    sub = dict(defaults)
    sub.update(cfg.get(key) or {})
    for field in defaults:
        if not isinstance(sub[field], int) or sub[field] < 1:
            sys.exit("%s: field %s.%s must be a positive integer"
                     % (origin, key, field))
    if sub["hidden_size"] % sub["num_attention_heads"] != 0:
        sys.exit("%s: %s.hidden_size is not a multiple of num_attention_heads"
                 % (origin, key))
    return sub


def encoder_shapes(prefix, c, factor):
    """(name, shape, std) of the CLIPEncoder layers; std None marks a norm
    weight, 0 a bias."""
    h, inter, n = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    in_std = h ** -0.5 * (2 * n) ** -0.5 * factor
    out_std = h ** -0.5 * factor
    fc_std = (2 * h) ** -0.5 * factor
    shapes = []
    for i in range(n):
        p = "%sencoder.layers.%d." % (prefix, i)
        for proj in ("k_proj", "v_proj", "q_proj"):
            shapes += [(p + "self_attn.%s.weight" % proj, (h, h), in_std),
                       (p + "self_attn.%s.bias" % proj, (h,), 0)]
        shapes += [
            (p + "self_attn.out_proj.weight", (h, h), out_std),
            (p + "self_attn.out_proj.bias", (h,), 0),
            (p + "layer_norm1.weight", (h,), None),
            (p + "layer_norm1.bias", (h,), 0),
            (p + "mlp.fc1.weight", (inter, h), fc_std),
            (p + "mlp.fc1.bias", (inter,), 0),
            (p + "mlp.fc2.weight", (h, inter), in_std),
            (p + "mlp.fc2.bias", (h,), 0),
            (p + "layer_norm2.weight", (h,), None),
            (p + "layer_norm2.bias", (h,), 0),
        ]
    return shapes


def clip_tensor_shapes(cfg, text, vision):
    """(name, shape, std) for every parameter of CLIPModel, in module order
    (logit_scale is handled by the caller)."""
    factor = float(cfg.get("initializer_factor", 1.0))
    t_range = float(text.get("initializer_range", 0.02)) * factor
    v_range = float(vision.get("initializer_range", 0.02)) * factor
    th, vh, proj = text["hidden_size"], vision["hidden_size"], cfg["projection_dim"]
    grid = vision["image_size"] // vision["patch_size"]
    patch = vision["patch_size"]

    shapes = [
        ("text_model.embeddings.token_embedding.weight",
         (text["vocab_size"], th), t_range),
        ("text_model.embeddings.position_embedding.weight",
         (text["max_position_embeddings"], th), t_range),
    ]
    shapes += encoder_shapes("text_model.", text, factor)
    shapes += [
        ("text_model.final_layer_norm.weight", (th,), None),
        ("text_model.final_layer_norm.bias", (th,), 0),
        ("vision_model.embeddings.class_embedding", (vh,), vh ** -0.5 * factor),
        ("vision_model.embeddings.patch_embedding.weight",
         (vh, vision["num_channels"], patch, patch), v_range),
        ("vision_model.embeddings.position_embedding.weight",
         (grid * grid + 1, vh), v_range),
        ("vision_model.pre_layrnorm.weight", (vh,), None),
        ("vision_model.pre_layrnorm.bias", (vh,), 0),
    ]
    shapes += encoder_shapes("vision_model.", vision, factor)
    shapes += [
        ("vision_model.post_layernorm.weight", (vh,), None),
        ("vision_model.post_layernorm.bias", (vh,), 0),
        ("visual_projection.weight", (proj, vh), vh ** -0.5 * factor),
        ("text_projection.weight", (proj, th), th ** -0.5 * factor),
    ]
    return shapes


def random_tensor(rng, shape, std):
    if std is None:  # norm weight
        return (1.0 + rng.normal(0.0, 0.02, size=shape)).astype(np.float32)
    if std == 0:     # bias: small rather than zero, so a dropped bias shows
        return rng.normal(0.0, 0.02, size=shape).astype(np.float32)
    return rng.normal(0.0, std, size=shape).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", help="a CLIPConfig config.json")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    args = ap.parse_args()

    with open(args.config) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "clip":
        sys.exit("%s: field model_type must be \"clip\"" % args.config)
    if not isinstance(cfg.get("projection_dim"), int) or cfg["projection_dim"] < 1:
        sys.exit("%s: field projection_dim must be a positive integer"
                 % args.config)
    text = tower_config(cfg, "text_config", TEXT_DEFAULTS, args.config)
    vision = tower_config(cfg, "vision_config", VISION_DEFAULTS, args.config)
    if vision["image_size"] < vision["patch_size"]:
        sys.exit("%s: vision_config.image_size is below patch_size" % args.config)
    if not cfg.get("architectures"):
        cfg["architectures"] = ["CLIPModel"]

    os.makedirs(args.outdir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tensors = [(name, random_tensor(rng, shape, std))
               for name, shape, std in clip_tensor_shapes(cfg, text, vision)]
    # a 0-d parameter: log of the similarity scale
    scale = float(cfg.get("logit_scale_init_value", 2.6592))
    tensors.append(("logit_scale", np.array(scale, dtype=np.float32)))

    load_writer()(os.path.join(args.outdir, "model.safetensors"), tensors,
                  args.dtype)
    with open(os.path.join(args.outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    proc = dict(PREPROCESSOR)
    proc["size"] = proc["crop_size"] = vision["image_size"]
    with open(os.path.join(args.outdir, "preprocessor_config.json"), "w") as f:
        json.dump(proc, f, indent=2, sort_keys=True)
        f.write("\n")
    n_params = sum(a.size for _, a in tensors)
    print("%s: %d tensors, %.1fM parameters, %s"
          % (args.outdir, len(tensors), n_params / 1e6, args.dtype))


if __name__ == "__main__":
    main()
