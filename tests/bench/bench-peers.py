#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Streamformer, PyTorch and ONNX Runtime on the same weights and inputs.

  bench-peers.py CHECKPOINT_DIR [--cases a,b,…] [--threads 1,2]
                 [--precisions f32,bf16,int8]

Makes random full-size checkpoints (tests/bench/make-random-*.py) under
CHECKPOINT_DIR, draws one fixed-seed input per case and saves it as
safetensors (kept in CHECKPOINT_DIR/peers with the reference and the
export, and reused while the inputs are the same), computes the reference output with the plain-PyTorch peers of
this folder (torch_bert.py, torch_vision.py, torch_audio.py), exports that
same PyTorch module to ONNX and then, per round, times:

- Streamformer as a user gets it (`streamformer bench --input`, with the
  OpenBLAS and OpenMP variables unset), at each of --precisions (default
  f32; bf16 and int8 are checked against PyTorch with the tolerance that
  `streamformer verify --precision` states, and their peak RSS printed),
- PyTorch at its best (OPENBLAS_CORETYPE=SkylakeX, OMP_WAIT_POLICY=PASSIVE;
  at two threads the faster of the OpenMP/OpenBLAS splits 2/2 and 1/2),
- ONNX Runtime, CPU execution provider, all graph optimisations
  (ort_peer.js; npm package onnxruntime-node, ORT_NODE names its folder),

at each thread count, for BENCH_ROUNDS rounds (default 3), interleaved so
that a burst of other load hits all sides; each side's best median counts.
Streamformer's and ONNX Runtime's outputs are checked against PyTorch's
before anything is timed; a side that disagrees is reported and not timed.
The table gives each median and Streamformer's speed-up over ONNX Runtime
(ONNX Runtime's time over Streamformer's: above 1, Streamformer faster).

Environment: SF_BUILD_DIR (default ./build), BENCH_ITERS (10),
BENCH_WARMUP (2), BENCH_ROUNDS (3), NODE (node), ORT_NODE, and
SF_BASELINE, another `streamformer` binary (an older build) timed as a
fourth side, so a change is measured against its baseline in one run.
"""
import importlib.util
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261202

# name: (checkpoint folder, config, maker script, input kind, input size)
CASES = {
    "bert-base-128": ("bert-base", "bert-base.json",
                      "make-random-checkpoint.py", "text", 128),
    "bert-base-16": ("bert-base", "bert-base.json",
                     "make-random-checkpoint.py", "text", 16),
    "vit-base-224": ("vit-base", "vit-base-patch16-224.json",
                     "make-random-vision.py", "image", 224),
    "segformer-b0-512": ("segformer-b0", "segformer-b0.json",
                         "make-random-vision.py", "image", 512),
    "whisper-tiny-enc-30s": ("whisper-tiny", "whisper-tiny.json",
                             "make-random-audio.py", "audio", 3000),
}
# Outputs may differ from PyTorch's by float32 rounding through 12 layers;
# a wrong kernel is off by far more.
ATOL = 2e-3
# Below f32, the tolerance of `streamformer verify --precision`, as a
# fraction of the reference's largest magnitude.
SCALE_TOL = {"bf16": 0.03, "int8": 0.06}


def sf_side(precision):
    return "streamformer" if precision == "f32" else "sf-" + precision


def env_int(name, default):
    return int(os.environ.get(name, default))


def load_peer(name):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- safetensors (written and read by hand: no extra package needed)

_DT = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a)
        header[name] = {"dtype": _DT[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
        blobs.append(a.tobytes())
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "I64": np.int64}[t["dtype"]]
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(t["shape"])
    return out


# ---- the PyTorch side

def torch_model(case, model_dir):
    """A function of the case's inputs (torch tensors) to its output."""
    import torch
    kind = CASES[case][3]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if kind == "text":
        tb = load_peer("torch_bert")
        weights = tb.load_safetensors(os.path.join(model_dir,
                                                   "model.safetensors"))
        m = tb.Bert(cfg).eval()
        tb.assign_weights(m, tb.hf_state_dict(cfg, weights))
        m.requires_grad_(False)  # traced as constants by the ONNX export
        return lambda input_ids, attention_mask: m(input_ids,
                                                   attention_mask)[0]
    if kind == "image":
        m = load_peer("torch_vision").load_model(model_dir)
        return lambda pixel_values: m(pixel_values)
    ta = load_peer("torch_audio")
    weights = ta.load_bert_peer().load_safetensors(
        os.path.join(model_dir, "model.safetensors"))
    runner = ta.WhisperRunner(model_dir, cfg, weights, 0)
    runner.model.requires_grad_(False)
    return lambda input_features: runner.model.encode(input_features)


def torch_inputs(path):
    import torch
    return {k: torch.from_numpy(v.copy()) for k, v in
            read_safetensors(path).items()}


def torch_time(case, model_dir, inputs, omp, iters, warmup):
    """Child process: one timing run, one JSON line."""
    import torch
    torch.set_num_threads(omp)
    fn = torch_model(case, model_dir)
    x = torch_inputs(inputs)
    times = []
    with torch.inference_mode():
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            fn(**x)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"median_ms": median(times), "min_ms": min(times)}))


def prepare(case, model_dir, work):
    """Inputs, PyTorch's reference output and the ONNX export of the case."""
    import torch
    kind, size = CASES[case][3], CASES[case][4]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    rng = np.random.default_rng(SEED)
    if kind == "text":
        ids = rng.integers(0, cfg["vocab_size"], size=(1, size),
                           dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    elif kind == "image":
        inputs = {"pixel_values": rng.uniform(
            -1, 1, size=(1, 3, size, size)).astype(np.float32)}
    else:
        inputs = {"input_features": rng.uniform(
            -1, 1, size=(1, cfg["num_mel_bins"], size)).astype(np.float32)}
    in_path = os.path.join(work, case + ".in.safetensors")
    ref_path = os.path.join(work, case + ".ref.npy")
    onnx_path = os.path.join(work, case + ".onnx")
    if all(os.path.exists(p) for p in (in_path, ref_path, onnx_path)):
        same = read_safetensors(in_path)
        if all(np.array_equal(same.get(k), v) for k, v in inputs.items()):
            return in_path, onnx_path, np.load(ref_path)  # made before
    write_safetensors(in_path, inputs)

    fn = torch_model(case, model_dir)
    names = list(inputs)
    x = torch_inputs(in_path)
    with torch.inference_mode():
        ref = fn(**x).numpy()
    np.save(ref_path, ref)

    class Wrap(torch.nn.Module):
        def forward(self, *xs):
            return fn(**dict(zip(names, xs)))

    with torch.no_grad():
        torch.onnx.export(Wrap().eval(), tuple(x[n] for n in names),
                          onnx_path, input_names=names,
                          output_names=["output"], opset_version=14,
                          do_constant_folding=True)
    return in_path, onnx_path, ref


# ---- running the sides

def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def run_json(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                                p.stderr.strip()[-400:]))
    return json.loads(p.stdout.strip().splitlines()[-1])


def user_env():
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
              "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOTO_NUM_THREADS"):
        env.pop(k, None)
    return env


def torch_env(omp, blas):
    env = user_env()
    env.update(OPENBLAS_CORETYPE="SkylakeX", OMP_WAIT_POLICY="PASSIVE",
               OMP_NUM_THREADS=str(omp), OPENBLAS_NUM_THREADS=str(blas))
    return env


def max_err(out, ref):
    if out.size != ref.size:
        return float("inf")
    return float(np.max(np.abs(out.reshape(-1) - ref.reshape(-1))))


def main(argv):
    if len(argv) >= 2 and argv[1] == "--torch-child":
        case, model_dir, inputs, omp, iters, warmup = argv[2:8]
        torch_time(case, model_dir, inputs, int(omp), int(iters), int(warmup))
        return 0
    args = [a for a in argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--"))
    if len(args) != 1:
        sys.exit(__doc__)
    root = os.path.abspath(args[0])
    cases = opts.get("cases", ",".join(CASES)).split(",")
    threads = [int(t) for t in opts.get("threads", "1,2").split(",")]
    precisions = opts.get("precisions", "f32").split(",")
    for p in precisions:
        if p != "f32" and p not in SCALE_TOL:
            sys.exit("unknown precision %s (known: f32, %s)"
                     % (p, ", ".join(SCALE_TOL)))
    build = os.path.abspath(os.environ.get("SF_BUILD_DIR", "build"))
    cli = os.path.join(build, "samples", "cli", "streamformer")
    node = os.environ.get("NODE", "node")
    baseline = os.environ.get("SF_BASELINE")
    iters, warmup = env_int("BENCH_ITERS", 10), env_int("BENCH_WARMUP", 2)
    rounds = env_int("BENCH_ROUNDS", 3)
    work = os.path.join(root, "peers")
    os.makedirs(work, exist_ok=True)
    for c in cases:
        if c not in CASES:
            sys.exit("unknown case %s (known: %s)" % (c, ", ".join(CASES)))

    prepared = {}
    for c in cases:
        folder, config, maker = CASES[c][:3]
        model_dir = os.path.join(root, folder)
        if not os.path.exists(os.path.join(model_dir, "model.safetensors")):
            subprocess.run([sys.executable, os.path.join(HERE, maker),
                            os.path.join(HERE, "configs", config), model_dir],
                           check=True, stdout=subprocess.DEVNULL)
        print("preparing %s" % c, file=sys.stderr)
        prepared[c] = (model_dir,) + prepare(c, model_dir, work)

    load_before = os.getloadavg()
    best = {}  # (case, threads, side) -> (median, detail)
    errors = {}  # (case, side) -> max abs error, or a failure text
    rss = {}  # (case, threads, side) -> peak RSS MiB (Streamformer sides)
    for r in range(rounds):
        for c in cases:
            model_dir, in_path, onnx_path, ref = prepared[c]
            for t in threads:
                runs = []
                sf_out = os.path.join(work, c + ".sf.safetensors")
                for p in precisions:
                    runs.append((sf_side(p), "", [
                        cli, "bench", model_dir, "--input", in_path,
                        "--output", sf_out + "." + p, "--threads", str(t),
                        "--iters", str(iters), "--warmup", str(warmup),
                        "--precision", p, "--json"], user_env()))
                if baseline:
                    runs.append(("baseline", "", [
                        baseline, "bench", model_dir, "--input", in_path,
                        "--output", sf_out + ".base", "--threads", str(t),
                        "--iters", str(iters), "--warmup", str(warmup),
                        "--json"], user_env()))
                for omp, blas in ([(1, 1)] if t == 1 else [(2, 2), (1, 2)]):
                    runs.append(("pytorch", "%d/%d" % (omp, blas), [
                        sys.executable, os.path.abspath(__file__),
                        "--torch-child", c, model_dir, in_path, str(omp),
                        str(iters), str(warmup)], torch_env(omp, blas)))
                ort_out = os.path.join(work, c + ".ort.f32")
                runs.append(("onnxruntime", "", [
                    node, os.path.join(HERE, "ort_peer.js"), onnx_path,
                    in_path, ort_out, str(t), str(iters), str(warmup)],
                    os.environ.copy()))
                for side, split, cmd, env in runs:
                    if isinstance(errors.get((c, side)), str):
                        continue  # failed its check: not timed
                    try:
                        res = run_json(cmd, env)
                    except RuntimeError as e:
                        errors[(c, side)] = str(e)
                        continue
                    precision = next((p for p in precisions
                                      if sf_side(p) == side), None)
                    if precision is not None and (c, side) not in errors:
                        out = read_safetensors(
                            sf_out + "." + precision)["output"]
                        errors[(c, side)] = max_err(out, ref)
                    elif side == "baseline" and (c, side) not in errors:
                        out = read_safetensors(sf_out + ".base")["output"]
                        errors[(c, side)] = max_err(out, ref)
                    elif side == "onnxruntime" and (c, side) not in errors:
                        out = np.fromfile(ort_out, dtype=np.float32)
                        errors[(c, side)] = max_err(out, ref)
                    if precision is not None and "peak_rss_mib" in res:
                        rss[(c, t, side)] = max(rss.get((c, t, side), 0),
                                                res["peak_rss_mib"])
                    e = errors.get((c, side), 0.0)
                    max_ref = float(np.max(np.abs(ref)))
                    allowed = (SCALE_TOL[precision] * max_ref
                               if precision in SCALE_TOL
                               else ATOL * max(1.0, max_ref))
                    if not isinstance(e, str) and e > allowed:
                        errors[(c, side)] = ("max abs error %.3g vs PyTorch"
                                             % e)
                        continue
                    key = (c, t, side)
                    if key not in best or res["median_ms"] < best[key][0]:
                        best[key] = (res["median_ms"], split)
        print_table(cases, threads, best, errors, baseline, load_before,
                    (r + 1, rounds, iters, warmup), precisions, rss)
    return 1 if any(isinstance(e, str) for e in errors.values()) else 0


def print_table(cases, threads, best, errors, baseline, load_before, run,
                precisions=("f32",), rss=None):
    """The table so far (printed after every round, so a cut-short run
    still leaves its results)."""
    load_after = os.getloadavg()

    def cell(key):
        return "%.1f" % best[key][0] if key in best else "n/a"

    print("load average before %.2f %.2f %.2f, now %.2f %.2f %.2f; "
          "round %d of %d, %d timed passes after %d warm-up, best median kept"
          % (load_before + load_after + run))
    print()
    print("| case | threads | Streamformer ms | PyTorch ms (omp/blas) "
          "| ONNX Runtime ms | ORT / Streamformer |"
          + (" baseline ms | ORT / baseline |" if baseline else ""))
    print("|---|---|---|---|---|---|" + ("---|---|" if baseline else ""))
    for c in cases:
        for t in threads:
            sf, pt, ort = ((c, t, s) for s in
                           ("streamformer", "pytorch", "onnxruntime"))
            ratio = ("%.2f" % (best[ort][0] / best[sf][0])
                     if sf in best and ort in best else "n/a")
            pt_cell = cell(pt) + (" (%s)" % best[pt][1] if pt in best else "")
            line = ("| %s | %d | %s | %s | %s | %s |"
                    % (c, t, cell(sf), pt_cell, cell(ort), ratio))
            if baseline:
                bl = (c, t, "baseline")
                line += " %s | %s |" % (cell(bl), "%.2f" % (
                    best[ort][0] / best[bl][0]) if bl in best
                    and ort in best else "n/a")
            print(line)
    reduced = [p for p in precisions if p != "f32"]
    if reduced:
        print()
        print("| case | threads | ONNX Runtime f32 ms | "
              + " | ".join("Streamformer %s ms | ORT / %s | peak RSS MiB"
                           % (p, p) for p in precisions) + " |")
        print("|---|---|---|" + "---|---|---|" * len(precisions))
        for c in cases:
            for t in threads:
                ort = (c, t, "onnxruntime")
                line = "| %s | %d | %s |" % (c, t, cell(ort))
                for p in precisions:
                    key = (c, t, sf_side(p))
                    ratio = ("%.2f" % (best[ort][0] / best[key][0])
                             if key in best and ort in best else "n/a")
                    mib = ("%.0f" % rss[key] if rss and key in rss
                           else "n/a")
                    line += " %s | %s | %s |" % (cell(key), ratio, mib)
                print(line)
    print()
    for c in cases:
        for side in (["streamformer"] + [sf_side(p) for p in reduced]
                     + ["baseline", "onnxruntime"]):
            e = errors.get((c, side))
            if isinstance(e, str):
                print("%s %s: FAILED: %s" % (c, side, e))
            elif e is not None:
                print("%s %s: max abs error vs PyTorch %.2g" % (c, side, e))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
