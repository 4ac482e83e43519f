#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of `streamformer bench` for BERT checkpoints.

    torch_bert.py MODEL_DIR [--threads T] [--iters N] [--warmup W]
                  [--seq L] [--batch B] [--json]

Builds a BERT encoder in plain PyTorch that computes what Hugging Face's
BertModel computes in eval mode (embeddings, post-norm encoder blocks with
eager attention, tanh pooler), loads MODEL_DIR/config.json and
MODEL_DIR/model.safetensors (read by hand: no safetensors or transformers
package needed), and times forward passes under torch.inference_mode() on
the same synthetic batch shape as the Streamformer bench.

F32 weights are mapped from the file copy-on-write, not read into fresh
buffers, so the peak RSS is comparable with Streamformer's mmap.
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
from torch import nn

SAFETENSORS_DTYPES = {
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
}


def load_safetensors(path):
    """name -> float32 torch tensor."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    base = 8 + header_len
    # copy-on-write: writable for torch, backed by the page cache
    blob = np.memmap(path, dtype=np.uint8, mode="c")
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            sys.exit("%s: tensor %s has unsupported dtype %s"
                     % (path, name, info["dtype"]))
        start, end = info["data_offsets"]
        array = blob[base + start:base + end].view(dtype).reshape(info["shape"])
        if info["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        elif array.dtype != np.float32:
            array = array.astype(np.float32)
        tensors[name] = torch.from_numpy(array)
    return tensors


ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "silu": F.silu,
}


class BertLayer(nn.Module):
    """Mirrors modeling_bert.BertLayer in eval mode (eager attention)."""

    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.n_heads = cfg["num_attention_heads"]
        self.head_dim = h // self.n_heads
        eps = cfg.get("layer_norm_eps", 1e-12)
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=eps)
        self.inter = nn.Linear(h, cfg["intermediate_size"])
        self.out = nn.Linear(cfg["intermediate_size"], h)
        self.out_norm = nn.LayerNorm(h, eps=eps)
        self.act = ACTIVATIONS[cfg.get("hidden_act", "gelu")]

    def heads(self, x):
        b, t, _ = x.shape
        # [B, T, H] -> [B, heads, T, D]
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_bias):
        b, t, h = x.shape
        q = self.heads(self.query(x))
        k = self.heads(self.key(x))
        v = self.heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + mask_bias, dim=-1)      # [B, heads, T, T]
        ctx = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(self.attn_out(ctx) + x)
        return self.out_norm(self.out(self.act(self.inter(x))) + x)


class Bert(nn.Module):
    """Mirrors modeling_bert.BertModel (with pooler) in eval mode."""

    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.position = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type = nn.Embedding(cfg.get("type_vocab_size", 2), h)
        self.norm = nn.LayerNorm(h, eps=cfg.get("layer_norm_eps", 1e-12))
        self.layers = nn.ModuleList(
            BertLayer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.pooler = nn.Linear(h, h)

    def forward(self, ids, mask):
        t = ids.shape[1]
        pos = torch.arange(t).unsqueeze(0)
        x = self.word(ids) + self.token_type(torch.zeros_like(ids)) \
            + self.position(pos)
        x = self.norm(x)
        # padding positions get the dtype's most negative value, as HF does
        mask_bias = (1.0 - mask[:, None, None, :].to(x.dtype)) \
            * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x, torch.tanh(self.pooler(x[:, 0]))


def hf_state_dict(cfg, weights):
    """Maps our module names to the checkpoint's HF names."""
    names = {
        "word.weight": "embeddings.word_embeddings.weight",
        "position.weight": "embeddings.position_embeddings.weight",
        "token_type.weight": "embeddings.token_type_embeddings.weight",
        "norm.weight": "embeddings.LayerNorm.weight",
        "norm.bias": "embeddings.LayerNorm.bias",
        "pooler.weight": "pooler.dense.weight",
        "pooler.bias": "pooler.dense.bias",
    }
    per_layer = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "inter": "intermediate.dense",
        "out": "output.dense",
        "out_norm": "output.LayerNorm",
    }
    for i in range(cfg["num_hidden_layers"]):
        for ours, theirs in per_layer.items():
            for p in ("weight", "bias"):
                names["layers.%d.%s.%s" % (i, ours, p)] = \
                    "encoder.layer.%d.%s.%s" % (i, theirs, p)
    state = {}
    for ours, theirs in names.items():
        if theirs not in weights:
            sys.exit("model.safetensors: missing tensor %s" % theirs)
        state[ours] = weights[theirs]
    return state


def assign_weights(model, state):
    """Points every parameter at the checkpoint's tensor instead of copying
    into it (load_state_dict would copy), freeing the initial values."""
    for name, param in model.named_parameters():
        if tuple(param.shape) != tuple(state[name].shape):
            sys.exit("model.safetensors: %s has shape %s, the config implies %s"
                     % (name, list(state[name].shape), list(param.shape)))
        param.data = state[name]


def openblas_info():
    """(kernel name, thread count) of the OpenBLAS that torch loaded, or
    (None, None). torch.set_num_threads() sizes torch's OpenMP pool only;
    a pthread OpenBLAS keeps its own count (OPENBLAS_NUM_THREADS, else one
    per core), so both are reported."""
    import ctypes
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return (lib.openblas_get_corename().decode(),
                    lib.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return None, None


def synthetic_ids(batch, seq, vocab, seed=20240611):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, vocab, size=(batch, seq),
                                         dtype=np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0 = leave PyTorch's default)")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.iters < 1 or args.warmup < 0 or args.seq < 1 or args.batch < 1:
        ap.error("--iters, --seq and --batch must be >= 1, --warmup >= 0")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    if args.seq > cfg["max_position_embeddings"]:
        ap.error("--seq exceeds max_position_embeddings")

    start = time.perf_counter()
    weights = load_safetensors(os.path.join(args.model, "model.safetensors"))
    model = Bert(cfg).eval()
    assign_weights(model, hf_state_dict(cfg, weights))
    del weights
    load_ms = (time.perf_counter() - start) * 1000

    ids = synthetic_ids(args.batch, args.seq, cfg["vocab_size"])
    mask = torch.ones_like(ids)
    times = []
    with torch.inference_mode():
        for i in range(args.warmup + args.iters):
            t0 = time.perf_counter()
            model(ids, mask)
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
        "seq": args.seq,
        "batch": args.batch,
        "iters": args.iters,
        "warmup": args.warmup,
        "load_ms": load_ms,
        "median_ms": median,
        "min_ms": times[0],
        "mean_ms": sum(times) / n,
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
