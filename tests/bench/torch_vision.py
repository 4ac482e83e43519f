#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of `streamformer bench` for ViT and SegFormer checkpoints.

    torch_vision.py MODEL_DIR [--threads T] [--iters N] [--warmup W]
                    [--size HxW] [--batch B] [--json]
    torch_vision.py CASE_DIR --check

Computes in plain PyTorch what Hugging Face's ViTForImageClassification and
SegformerForSemanticSegmentation compute in eval mode, from
MODEL_DIR/config.json and MODEL_DIR/model.safetensors (read by hand, mapped
copy-on-write: no safetensors or transformers package needed), and times
forward passes under torch.inference_mode() on random pixel values of the
model's input size (ViT: image_size; SegFormer: 512x512 unless --size).
Attention is eager (matmul, softmax, matmul), as PyTorch 1.13 has no fused
kernel; convolutions go through torch's own conv2d.

--check runs a reference case folder (config.json, model.safetensors and
io.safetensors with pixel_values and the logits HF computed) and prints the
largest logit difference, so the peer is known to compute the same model.
"""

import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bert import ACTIVATIONS, openblas_info  # noqa: E402

BENCH_SEED = 20240611
DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "U8": "u1"}


def load_safetensors(path):
    """name -> tensor; floating tensors as float32. F32 data is mapped from
    the file copy-on-write, so it stays in the page cache."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    base = 8 + header_len
    blob = np.memmap(path, dtype=np.uint8, mode="c")
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in DTYPES:
            sys.exit("%s: tensor %s has unsupported dtype %s"
                     % (path, name, info["dtype"]))
        start, end = info["data_offsets"]
        array = blob[base + start:base + end].view(DTYPES[info["dtype"]])
        array = array.reshape(info["shape"])
        if info["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F16":
            array = array.astype(np.float32)
        tensors[name] = torch.from_numpy(array)
    return tensors


def eager_attention(q, k, v, n_heads):
    """q [B, N, C], k and v [B, S, C] -> context [B, N, C], per head
    softmax(q kᵀ / sqrt(d)) v, as the eager attention of both HF models."""
    b, n, c = q.shape
    s = k.shape[1]
    d = c // n_heads
    q = q.view(b, n, n_heads, d).transpose(1, 2)
    k = k.view(b, s, n_heads, d).transpose(1, 2)
    v = v.view(b, s, n_heads, d).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)
    probs = torch.softmax(scores, dim=-1)                      # [B, h, N, S]
    return torch.matmul(probs, v).transpose(1, 2).reshape(b, n, c)


class ViT:
    """Mirrors modeling_vit.ViTForImageClassification in eval mode."""

    def __init__(self, cfg, w):
        self.w = w
        self.p = "vit." if "vit.embeddings.cls_token" in w else ""
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        self.patch = cfg.get("patch_size", 16)
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.act = ACTIVATIONS[cfg.get("hidden_act", "gelu")]
        self.qkv_bias = cfg.get("qkv_bias", True)
        side = cfg.get("image_size", 224)
        self.size = (side, side)

    def linear(self, x, name, bias=True):
        return F.linear(x, self.w[name + ".weight"],
                        self.w[name + ".bias"] if bias else None)

    def norm(self, x, name):
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"],
                            self.w[name + ".bias"], self.eps)

    def __call__(self, px):
        w, e = self.w, self.p + "embeddings."
        # ViTEmbeddings: patches [B, H, gh, gw] -> tokens [B, N, H]
        x = F.conv2d(px, w[e + "patch_embeddings.projection.weight"],
                     w[e + "patch_embeddings.projection.bias"],
                     stride=self.patch)
        x = x.flatten(2).transpose(1, 2)
        cls = w[e + "cls_token"].expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + w[e + "position_embeddings"]
        for i in range(self.layers):
            p = self.p + "encoder.layer.%d." % i
            # ViTLayer: pre-LN attention and MLP, each with a residual
            h = self.norm(x, p + "layernorm_before")
            a = p + "attention.attention."
            ctx = eager_attention(self.linear(h, a + "query", self.qkv_bias),
                                  self.linear(h, a + "key", self.qkv_bias),
                                  self.linear(h, a + "value", self.qkv_bias),
                                  self.heads)
            x = self.linear(ctx, p + "attention.output.dense") + x
            h = self.norm(x, p + "layernorm_after")
            h = self.act(self.linear(h, p + "intermediate.dense"))
            x = self.linear(h, p + "output.dense") + x
        x = self.norm(x, self.p + "layernorm")
        return self.linear(x[:, 0], "classifier")


class Segformer:
    """Mirrors modeling_segformer.SegformerForSemanticSegmentation in eval
    mode; the logits are at the first stage's resolution (1/4), as HF
    returns them."""

    EPS = 1e-5  # nn.LayerNorm's and nn.BatchNorm2d's default, as HF uses

    def __init__(self, cfg, w):
        self.cfg = cfg
        self.w = w
        self.p = "segformer." if any(k.startswith("segformer.") for k in w) \
            else ""
        self.act = ACTIVATIONS[cfg.get("hidden_act", "gelu")]
        self.size = (512, 512)

    def linear(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def norm(self, x, name):
        return F.layer_norm(x, x.shape[-1:], self.w[name + ".weight"],
                            self.w[name + ".bias"], self.EPS)

    def attention(self, x, p, s, h, w):
        """SegformerEfficientSelfAttention + SelfOutput: x [B, N, C]."""
        cfg, wt = self.cfg, self.w
        b, n, c = x.shape
        sr = cfg["sr_ratios"][s]
        q = self.linear(x, p + "self.query")
        kv = x
        if sr > 1:  # keys and values from a sequence reduced by a strided conv
            m = x.permute(0, 2, 1).reshape(b, c, h, w)
            m = F.conv2d(m, wt[p + "self.sr.weight"], wt[p + "self.sr.bias"],
                         stride=sr)
            kv = self.norm(m.reshape(b, c, -1).permute(0, 2, 1),
                           p + "self.layer_norm")
        ctx = eager_attention(q, self.linear(kv, p + "self.key"),
                              self.linear(kv, p + "self.value"),
                              cfg["num_attention_heads"][s])
        return self.linear(ctx, p + "output.dense")

    def mix_ffn(self, x, p, h, w):
        """SegformerMixFFN: dense1, depthwise 3x3 conv, act, dense2."""
        x = self.linear(x, p + "dense1")
        b, n, c = x.shape
        m = x.transpose(1, 2).view(b, c, h, w)
        m = F.conv2d(m, self.w[p + "dwconv.dwconv.weight"],
                     self.w[p + "dwconv.dwconv.bias"], padding=1, groups=c)
        x = self.act(m.flatten(2).transpose(1, 2))
        return self.linear(x, p + "dense2")

    def __call__(self, px):
        cfg, wt = self.cfg, self.w
        b = px.shape[0]
        x = px
        stages = []
        for s in range(cfg["num_encoder_blocks"]):
            # SegformerOverlapPatchEmbeddings
            pe = self.p + "encoder.patch_embeddings.%d." % s
            k = cfg["patch_sizes"][s]
            m = F.conv2d(x, wt[pe + "proj.weight"], wt[pe + "proj.bias"],
                         stride=cfg["strides"][s], padding=k // 2)
            h, w = m.shape[2:]
            t = self.norm(m.flatten(2).transpose(1, 2), pe + "layer_norm")
            for i in range(cfg["depths"][s]):
                p = self.p + "encoder.block.%d.%d." % (s, i)
                t = self.attention(self.norm(t, p + "layer_norm_1"),
                                   p + "attention.", s, h, w) + t
                t = self.mix_ffn(self.norm(t, p + "layer_norm_2"),
                                 p + "mlp.", h, w) + t
            t = self.norm(t, self.p + "encoder.layer_norm.%d" % s)
            x = t.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
            stages.append(x)

        # SegformerDecodeHead: project, upsample to stage 0, fuse, classify
        size = stages[0].shape[2:]
        ups = []
        for s, m in enumerate(stages):
            h, w = m.shape[2:]
            t = self.linear(m.flatten(2).transpose(1, 2),
                            "decode_head.linear_c.%d.proj" % s)
            m = t.permute(0, 2, 1).reshape(b, -1, h, w)
            ups.append(F.interpolate(m, size=size, mode="bilinear",
                                     align_corners=False))
        x = F.conv2d(torch.cat(ups[::-1], dim=1),
                     wt["decode_head.linear_fuse.weight"])
        bn = "decode_head.batch_norm."
        x = F.batch_norm(x, wt[bn + "running_mean"], wt[bn + "running_var"],
                         wt[bn + "weight"], wt[bn + "bias"], False, 0.0,
                         self.EPS)
        x = F.relu(x)
        return F.conv2d(x, wt["decode_head.classifier.weight"],
                        wt["decode_head.classifier.bias"])


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    weights = load_safetensors(os.path.join(folder, "model.safetensors"))
    kind = cfg.get("model_type")
    if kind == "vit":
        return ViT(cfg, weights)
    if kind == "segformer":
        return Segformer(cfg, weights)
    sys.exit("%s/config.json: model_type %r is neither vit nor segformer"
             % (folder, kind))


def check(folder):
    """Logits of the case's pixel_values against the case's reference."""
    model = load_model(folder)
    io = load_safetensors(os.path.join(folder, "io.safetensors"))
    with torch.inference_mode():
        logits = model(io["pixel_values"])
    err = (logits - io["logits"]).abs().max().item()
    print("%s: logits %s max_abs_err=%.3g" % (folder, list(logits.shape), err))
    return 0 if err < 1e-3 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0 = leave PyTorch's default)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--size", help="HxW of the input (SegFormer)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--check", action="store_true",
                    help="compare with a reference case's logits and exit")
    args = ap.parse_args()
    if args.iters < 1 or args.warmup < 0 or args.batch < 1:
        ap.error("--iters and --batch must be >= 1, --warmup >= 0")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.check:
        return check(args.model)

    start = time.perf_counter()
    model = load_model(args.model)
    load_ms = (time.perf_counter() - start) * 1000
    size = model.size
    if args.size:
        try:
            size = tuple(int(v) for v in args.size.lower().split("x"))
            assert len(size) == 2 and min(size) > 0
        except (ValueError, AssertionError):
            ap.error("--size takes HxW, e.g. 512x512")

    rng = np.random.default_rng(BENCH_SEED)
    px = torch.from_numpy(rng.standard_normal(
        (args.batch, 3) + size, dtype=np.float32))
    times = []
    with torch.inference_mode():
        for i in range(args.warmup + args.iters):
            t0 = time.perf_counter()
            model(px)
            if i >= args.warmup:
                times.append((time.perf_counter() - t0) * 1000)
    in_order = list(times)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    blas_core, blas_threads = openblas_info()
    result = {
        "model": os.path.basename(os.path.normpath(args.model)),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_core": blas_core,
        "blas_threads": blas_threads,
        "height": size[0],
        "width": size[1],
        "batch": args.batch,
        "iters": args.iters,
        "warmup": args.warmup,
        "load_ms": load_ms,
        "median_ms": median,
        "min_ms": times[0],
        "mean_ms": sum(times) / n,
        "fps": 1000.0 * args.batch / median,
        "peak_rss_mib":
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "times_ms": [round(t, 3) for t in in_order],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "times_ms":
                print("%-13s %s" % (k, "%.2f" % v if isinstance(v, float) else v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
