#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where one Whisper decoder step spends its time, from perf samples.

    profile-whisper-step.py MODEL_DIR [--threads T] [--precision P]
                            [--steps N] [--bench PATH] [--keep PERF.DATA]

Runs whisper-step-bench (one untimed and one timed pass of N steps) under
`perf record --call-graph dwarf`, keeps the samples whose call chain goes
through sf_whisper_state_step(), and sorts them by the call that
sf_whisper_state_step() made: the decoder layers and the step are inlined
into that one function, so each call site is found in its disassembly
(objdump) and named by its place in the code:

- the sf_op_linear() after sf_kv_cache_commit() is the LM head (the
  logits of the whole vocabulary);
- in a layer, the sf_op_linear() calls after the first LayerNorm are the
  self-attention projections (q, k, v, out), after the second the
  cross-attention ones (q, out), after the third the FFN (fc1, fc2);
- sf_kv_cache_append()/sf_kv_cache_attend() are the self-attention over
  the cached positions, sf_op_attention() the cross-attention over the
  encoder frames; sf_tensor_new_f32() is allocating (and zeroing) the
  step's tensors, sf_tensor_unref() freeing them.

The shares are of the samples inside sf_whisper_state_step(); ms/step is
each share times the bench's own ms/step of the same run (perf's sampling
slows it by a few percent). Needs perf and objdump; the bench is built by
meson (build/tests/bench/whisper-step-bench by default).
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

STEP_FN = "sf_whisper_state_step"

# (label, calls that belong to it)
GROUPS = [
    ("LM head (logits of the whole vocabulary)", ("lm_head",)),
    ("self-attention: q, k, v, out projections", ("linear_self",)),
    ("self-attention over the KV cache", ("sf_kv_cache_append",
                                          "sf_kv_cache_attend")),
    ("cross-attention: q, out projections", ("linear_cross",)),
    ("cross-attention over the encoder frames", ("sf_op_attention",)),
    ("FFN: fc1, fc2", ("linear_ffn",)),
    ("FFN: GELU", ("sf_op_activation",)),
    ("layer norms", ("sf_op_layer_norm",)),
    ("embedding, positions, residual adds", ("sf_op_embedding", "sf_op_add")),
    ("new tensors (allocated, zeroed)", ("sf_tensor_new_f32",)),
    ("freeing tensors", ("sf_tensor_unref",)),
]


def call_sites(binary):
    """[(offset in STEP_FN, label)] of each call, in address order."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary],
                         check=True, capture_output=True, text=True).stdout
    start, sites, inside = None, [], False
    lns = 0
    phase = "linear_self"
    for line in dis.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if m:
            inside = m.group(2) == STEP_FN
            if inside:
                start = int(m.group(1), 16)
            elif start is not None:
                break
            continue
        if not inside:
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+call\S*\s+\S+\s+<([^>+@]+)", line)
        if not m:
            continue
        addr, target = int(m.group(1), 16) - start, m.group(2)
        label = target
        if target == "sf_op_layer_norm" and phase != "lm_head":
            lns += 1
            phase = ("linear_self", "linear_cross", "linear_ffn")[(lns - 1) % 3]
        elif target == "sf_kv_cache_commit":
            phase = "lm_head"
        elif target == "sf_op_linear":
            label = phase
        sites.append((addr, label))
    if not sites:
        sys.exit("profile-whisper-step: no %s in %s" % (STEP_FN, binary))
    if not any(label == "lm_head" for _, label in sites):
        sys.exit("profile-whisper-step: no sf_op_linear after "
                 "sf_kv_cache_commit in %s; the step's code changed" % STEP_FN)
    return sites


def site_of(sites, offset):
    label = "other"
    for addr, name in sites:
        if addr < offset:
            label = name
        else:
            break
    return label


def samples(perf_data):
    """Yields each sample's call chain, innermost first, as (sym, off)."""
    out = subprocess.run(["perf", "script", "-i", perf_data, "-F",
                          "ip,sym,symoff"], check=True, capture_output=True,
                         text=True).stdout
    for block in out.split("\n\n"):
        chain = []
        for line in block.splitlines():
            m = re.match(r"^\s*[0-9a-f]+\s+(.+?)\+0x([0-9a-f]+)", line)
            if m:
                chain.append((m.group(1), int(m.group(2), 16)))
        if chain:
            yield chain


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", default="f32")
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--bench", default=os.path.join(
        "build", "tests", "bench", "whisper-step-bench"))
    ap.add_argument("--keep", help="keep perf's data file here")
    args = ap.parse_args()

    sites = call_sites(args.bench)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or os.path.join(tmp, "perf.data")
        run = subprocess.run(
            ["perf", "record", "-q", "-o", data, "-F", "400",
             "--call-graph", "dwarf,8192", args.bench, args.model,
             "--threads", str(args.threads), "--precision", args.precision,
             "--steps", str(args.steps), "--iters", "1", "--json"],
            check=True, capture_output=True, text=True)
        bench = json.loads(run.stdout.strip().splitlines()[-1])
        counts = collections.Counter()
        for chain in samples(data):
            for i, (sym, off) in enumerate(chain):
                if sym == STEP_FN:
                    # the step's own code when the sample is in it
                    counts[site_of(sites, off) if i > 0 else "other"] += 1
                    break

    total = sum(counts.values())
    if total == 0:
        sys.exit("profile-whisper-step: no samples inside %s" % STEP_FN)
    ms = bench["ms_per_step"]
    print("%s, %s, %d thread(s): %.3f ms/step over %d steps (positions "
          "0..%d), %d samples in the step"
          % (os.path.basename(os.path.normpath(args.model)),
             bench["precision"], bench["threads"], ms, bench["steps"],
             bench["steps"] - 1, total))
    print("%-44s %7s %9s" % ("part of the step", "share", "ms/step"))
    seen = set()
    for label, names in GROUPS:
        n = sum(counts[k] for k in names)
        seen.update(names)
        print("%-44s %6.1f%% %9.3f" % (label, 100.0 * n / total,
                                        ms * n / total))
    rest = sum(v for k, v in counts.items() if k not in seen)
    print("%-44s %6.1f%% %9.3f" % ("other (step glue, KV cache bookkeeping)",
                                    100.0 * rest / total, ms * rest / total))
    print("greedy choice (argmax, outside the step)      %9.3f ms/token"
          % bench["argmax_ms"])
    print("LM head alone, [1, D] x [V, D]^T f32          %9.3f ms"
          % bench["lm_head_f32_ms"])


if __name__ == "__main__":
    main()
