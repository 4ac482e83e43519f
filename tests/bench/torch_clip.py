#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of `streamformer bench` for CLIP image embeddings.

    torch_clip.py MODEL_DIR [--threads T] [--iters N] [--warmup W]
                  [--batch B] [--json]
    torch_clip.py MODEL_DIR --check IO.safetensors

Builds the image half of Hugging Face's CLIPModel in plain PyTorch, as it
computes in eval mode with eager attention: CLIPVisionEmbeddings (a
bias-free strided conv, the class embedding, position embeddings),
pre_layrnorm, pre-LN CLIPEncoderLayer blocks, post_layernorm on the class
token, visual_projection, then L2 normalisation (the image_embeds of
CLIPModel.forward). Weights come from MODEL_DIR/model.safetensors, mapped
copy-on-write by torch_bert.py's reader; no transformers package is needed.

It times forward passes under torch.inference_mode() on a fixed-seed batch
of pixel_values [B, C, S, S] (S the config's image_size) drawn uniformly
from [-1, 1), the input `streamformer bench` times on the image path. --check instead runs a
reference case's pixel_values and compares with its image_embeds, which
shows this mirror computes what transformers computes.
"""

import argparse
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bert import assign_weights, load_safetensors, openblas_info  # noqa: E402

ACTIVATIONS = {
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}

# CLIPVisionConfig's defaults for fields a config omits
VISION_DEFAULTS = {"hidden_size": 768, "intermediate_size": 3072,
                   "num_hidden_layers": 12, "num_attention_heads": 12,
                   "num_channels": 3, "image_size": 224, "patch_size": 32,
                   "layer_norm_eps": 1e-5, "hidden_act": "quick_gelu"}


class ClipLayer(nn.Module):
    """Mirrors modeling_clip.CLIPEncoderLayer (eager attention, no mask)."""

    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.n_heads = c["num_attention_heads"]
        self.head_dim = h // self.n_heads
        self.scale = self.head_dim ** -0.5
        self.layer_norm1 = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.q_proj = nn.Linear(h, h)
        self.k_proj = nn.Linear(h, h)
        self.v_proj = nn.Linear(h, h)
        self.out_proj = nn.Linear(h, h)
        self.layer_norm2 = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.fc1 = nn.Linear(h, c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], h)
        self.act = ACTIVATIONS[c["hidden_act"]]

    def heads(self, x):
        b, t, _ = x.shape
        # [B, T, H] -> [B, heads, T, D]
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, t, h = x.shape
        y = self.layer_norm1(x)
        q = self.heads(self.q_proj(y))
        k = self.heads(self.k_proj(y))
        v = self.heads(self.v_proj(y))
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale,
                              dim=-1)                         # [B, heads, T, T]
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        x = x + self.out_proj(ctx)
        return x + self.fc2(self.act(self.fc1(self.layer_norm2(x))))


class ClipVision(nn.Module):
    """Mirrors CLIPVisionTransformer plus CLIPModel's visual_projection."""

    def __init__(self, c, projection_dim):
        super().__init__()
        h, p = c["hidden_size"], c["patch_size"]
        n_pos = (c["image_size"] // p) ** 2 + 1
        self.class_embedding = nn.Parameter(torch.empty(h))
        self.patch_embedding = nn.Conv2d(c["num_channels"], h, p, stride=p,
                                         bias=False)
        self.position_embedding = nn.Embedding(n_pos, h)
        self.pre_layrnorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList(
            ClipLayer(c) for _ in range(c["num_hidden_layers"]))
        self.post_layernorm = nn.LayerNorm(h, eps=c["layer_norm_eps"])
        self.visual_projection = nn.Linear(h, projection_dim, bias=False)

    def forward(self, pixels):
        b = pixels.shape[0]
        patches = self.patch_embedding(pixels)                # [B, H, g, g]
        patches = patches.flatten(2).transpose(1, 2)          # [B, g*g, H]
        cls = self.class_embedding.expand(b, 1, -1)           # [B, 1, H]
        x = torch.cat([cls, patches], dim=1) + self.position_embedding.weight
        x = self.pre_layrnorm(x)
        for layer in self.layers:
            x = layer(x)
        pooled = self.post_layernorm(x[:, 0])                 # [B, H]
        embeds = self.visual_projection(pooled)               # [B, P]
        return embeds / embeds.norm(p=2, dim=-1, keepdim=True)


def hf_state_dict(c, weights):
    """Maps our module names to the checkpoint's HF names."""
    names = {"visual_projection.weight": "visual_projection.weight"}
    for ours in ("class_embedding", "patch_embedding.weight",
                 "position_embedding.weight"):
        names[ours] = "vision_model.embeddings." + ours
    for norm in ("pre_layrnorm", "post_layernorm"):
        for p in ("weight", "bias"):
            names["%s.%s" % (norm, p)] = "vision_model.%s.%s" % (norm, p)
    per_layer = {"layer_norm1": "layer_norm1", "layer_norm2": "layer_norm2",
                 "fc1": "mlp.fc1", "fc2": "mlp.fc2"}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        per_layer[proj] = "self_attn." + proj
    for i in range(c["num_hidden_layers"]):
        for ours, theirs in per_layer.items():
            for p in ("weight", "bias"):
                names["layers.%d.%s.%s" % (i, ours, p)] = \
                    "vision_model.encoder.layers.%d.%s.%s" % (i, theirs, p)
    state = {}
    for ours, theirs in names.items():
        if theirs not in weights:
            sys.exit("model.safetensors: missing tensor %s" % theirs)
        state[ours] = weights[theirs]
    return state


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    c = dict(VISION_DEFAULTS)
    c.update(cfg.get("vision_config") or {})
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    model = ClipVision(c, cfg["projection_dim"]).eval()
    assign_weights(model, hf_state_dict(c, weights))
    return model, c


def read_f32(path, names):
    """name -> float32 tensor for the F32 tensors @names of a safetensors
    file (a reference case also holds uint8 images, which are skipped)."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        out = {}
        for name in names:
            info = header.get(name)
            if info is None or info["dtype"] != "F32":
                sys.exit("%s: tensor %s is missing or not F32" % (path, name))
            start, end = info["data_offsets"]
            f.seek(8 + header_len + start)
            data = np.frombuffer(f.read(end - start), dtype="<f4")
            out[name] = torch.from_numpy(data.reshape(info["shape"]).copy())
    return out


def check(model, path):
    """Max abs error of image_embeds on a reference case's pixel_values."""
    ref = read_f32(path, ("pixel_values", "image_embeds"))
    with torch.inference_mode():
        got = model(ref["pixel_values"])
    err = (got - ref["image_embeds"]).abs().max().item()
    print("image_embeds max_abs_err=%.3g (%s)" % (err, path))
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0 = leave PyTorch's default)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", metavar="IO.safetensors",
                    help="compare image_embeds with a reference case instead")
    args = ap.parse_args()
    if args.iters < 1 or args.warmup < 0 or args.batch < 1:
        ap.error("--iters and --batch must be >= 1, --warmup >= 0")
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    model, c = load_model(args.model)
    load_ms = (time.perf_counter() - start) * 1000
    if args.check:
        sys.exit(0 if check(model, args.check) < 1e-4 else 1)

    s = c["image_size"]
    rng = np.random.default_rng(20240611)
    # uniform in [-1, 1), about the range of a normalised image, as the
    # Streamformer bench draws them
    pixels = torch.from_numpy(rng.uniform(
        -1.0, 1.0, (args.batch, c["num_channels"], s, s)).astype(np.float32))
    times = []
    with torch.inference_mode():
        for i in range(args.warmup + args.iters):
            t0 = time.perf_counter()
            model(pixels)
            if i >= args.warmup:
                times.append((time.perf_counter() - t0) * 1000)
    in_order = list(times)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    blas_core, blas_threads = openblas_info()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    result = {
        "model": os.path.basename(os.path.normpath(args.model)),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_core": blas_core,
        "blas_threads": blas_threads,
        "size": "%dx%d" % (s, s),
        "batch": args.batch,
        "iters": args.iters,
        "warmup": args.warmup,
        "load_ms": load_ms,
        "median_ms": median,
        "min_ms": times[0],
        "mean_ms": sum(times) / n,
        "fps": 1000.0 * args.batch / median,
        "peak_rss_mib": rss,
        "times_ms": [round(t, 3) for t in in_order],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k == "times_ms":
                continue
            print("%-13s %s" % (k, "%.2f" % v if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
