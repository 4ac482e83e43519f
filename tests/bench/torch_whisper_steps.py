#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The PyTorch peer of whisper-step-bench: one Whisper decoder step with
the KV caches, the work whisper.cpp's whisper-bench times as "decode".

    torch_whisper_steps.py MODEL_DIR [--threads T] [--steps N] [--iters I]
                           [--json]

The model is torch_audio.py's plain PyTorch Whisper (self-attention caches
grown by concatenation, cross-attention keys and values computed once, as
Hugging Face's caches do). One pass feeds N single tokens (id 0) at
positions 0 .. N-1 of fresh caches, each step timed from the token to the
logits of the whole vocabulary; the greedy choice is timed apart. The
encoder output is synthetic (uniform in [-1, 1]); the cross keys and
values are made from it untimed. One untimed pass, then --iters timed
passes; the median pass counts. Everything runs under
torch.inference_mode().
"""

import argparse
import importlib.util
import json
import os
import statistics
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ENCODER_FRAMES = 1500


def load_peer():
    spec = importlib.util.spec_from_file_location(
        "torch_audio", os.path.join(HERE, "torch_audio.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_pass(model, enc, steps):
    """(per-step ms, mean greedy-choice ms)"""
    caches = model.new_caches(enc)
    ids = torch.zeros((1, 1), dtype=torch.long)
    times, choose = [], 0.0
    for k in range(steps):
        t0 = time.perf_counter()
        logits = model.step(ids, caches, k)
        t1 = time.perf_counter()
        int(torch.argmax(logits[0, -1]))
        choose += time.perf_counter() - t1
        times.append((t1 - t0) * 1000)
    return times, choose * 1000 / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch.set_num_threads (0 = leave PyTorch's default)")
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.steps < 32 or args.iters < 1:
        ap.error("--steps must be >= 32, --iters >= 1")
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    ta = load_peer()
    peer = ta.load_bert_peer()
    cfg = ta.read_json(args.model, "config.json")
    if cfg.get("model_type") != "whisper":
        ap.error("%s: model_type must be whisper" % args.model)
    weights = peer.load_safetensors(os.path.join(args.model,
                                                 "model.safetensors"))
    model = ta.Whisper(cfg).eval()
    prefix = "model." if "model.encoder.conv1.weight" in weights else ""
    ta.assign(model, {k: weights[prefix + v]
                      for k, v in ta.whisper_names(cfg).items()})
    del weights
    gen = torch.Generator().manual_seed(20240611)
    enc = torch.rand((1, ENCODER_FRAMES, cfg["d_model"]), generator=gen) * 2 - 1

    passes, first, last, choose = [], [], [], []
    with torch.inference_mode():
        run_pass(model, enc, args.steps)
        for _ in range(args.iters):
            times, c = run_pass(model, enc, args.steps)
            passes.append(statistics.fmean(times))
            first.append(statistics.fmean(times[:32]))
            last.append(statistics.fmean(times[-32:]))
            choose.append(c)
    blas_core, blas_threads = peer.openblas_info()
    result = {
        "side": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_core": blas_core,
        "blas_threads": blas_threads,
        "steps": args.steps,
        "iters": args.iters,
        "ms_per_step": statistics.median(passes),
        "ms_per_step_min": min(passes),
        "first32_ms": statistics.fmean(first),
        "last32_ms": statistics.fmean(last),
        "argmax_ms": statistics.fmean(choose),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%-16s %s" % (k, "%.4f" % v if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
