#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Streamformer, PyTorch and ONNX Runtime on the same weights and inputs.

  bench-peers.py CHECKPOINT_DIR [--cases a,b,…] [--threads 1,2]
                 [--precisions f32,bf16,int8]

Makes random full-size checkpoints (tests/bench/make-random-*.py) under
CHECKPOINT_DIR, draws one fixed-seed input per case and saves it as
safetensors (kept in CHECKPOINT_DIR/peers with the reference and the
export, and reused while the inputs are the same), computes the reference
output with the plain-PyTorch peers of this folder (torch_bert.py,
torch_vision.py, torch_clip.py, torch_audio.py), exports that same PyTorch
module to ONNX and then, per round, times:

- Streamformer as a user gets it (`streamformer bench --input`, with the
  OpenBLAS and OpenMP variables unset), at each of --precisions (default
  f32; bf16 and int8 are checked against PyTorch with the tolerance that
  `streamformer verify --precision` states, and their peak RSS printed),
- PyTorch at its best (OPENBLAS_CORETYPE=SkylakeX, OMP_WAIT_POLICY=PASSIVE;
  at two threads the faster of the OpenMP/OpenBLAS splits 2/2 and 1/2),
- ONNX Runtime, CPU execution provider, all graph optimisations
  (ort_peer.js; npm package onnxruntime-node, ORT_NODE names its folder),
- with int8 among --precisions, both peers at int8 too: PyTorch's
  quantize_dynamic (qint8 weights on every nn.Linear of the same peer
  module) and ONNX Runtime on the export rewritten by onnx_int8.py as
  ONNX Runtime's quantize_dynamic writes it (needs the onnx package;
  without it that side is skipped with a message),

at each thread count, for BENCH_ROUNDS rounds (default 3), interleaved so
that a burst of other load hits all sides; each side's best median counts.
Every side's output is checked against the PyTorch f32 reference (f32
sides within ATOL of its scale, the others within SCALE_TOL); a side that
disagrees is reported and not timed. The table gives each median and
Streamformer's speed-up over ONNX Runtime (ONNX Runtime's time over
Streamformer's: above 1, Streamformer faster); the precision table gives
each int8 peer's time over Streamformer int8's in the same way.

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

# name: (checkpoint folder, config, maker script, peer, input size): the
# peer (torch_model) says which plain-PyTorch module computes the
# reference, PEER_INPUT what it and the other sides take
CASES = {
    "bert-base-128": ("bert-base", "bert-base.json",
                      "make-random-checkpoint.py", "bert", 128),
    "bert-base-16": ("bert-base", "bert-base.json",
                     "make-random-checkpoint.py", "bert", 16),
    "vit-base-224": ("vit-base", "vit-base-patch16-224.json",
                     "make-random-vision.py", "vision", 224),
    "segformer-b0-512": ("segformer-b0", "segformer-b0.json",
                         "make-random-vision.py", "vision", 512),
    "clip-vit-b32-224": ("clip-vit-b32", "clip-vit-base-patch32.json",
                         "make-random-clip.py", "clip", 224),
    "whisper-tiny-enc-30s": ("whisper-tiny", "whisper-tiny.json",
                             "make-random-audio.py", "whisper", 3000),
    "wav2vec2-base-10s": ("wav2vec2-base", "wav2vec2-base.json",
                          "make-random-audio.py", "wav2vec2", 160000),
    "ast-audioset-10s": ("ast-audioset", "ast-audioset.json",
                         "make-random-audio.py", "ast", 163840),
}
# token ids; pixel_values [1, 3, S, S]; Whisper's log-mel [1, mels, S];
# raw 16 kHz samples [1, S] (each side runs the front-end: wav2vec2's
# normalisation, AST's Kaldi fbank)
PEER_INPUT = {"bert": "text", "vision": "image", "clip": "image",
              "whisper": "logmel", "wav2vec2": "waveform", "ast": "waveform"}
# Outputs may differ from PyTorch's by float32 rounding through 12 layers;
# a wrong kernel is off by far more.
ATOL = 2e-3
# Below f32, the tolerance of `streamformer verify --precision`, as a
# fraction of the reference's largest magnitude.
SCALE_TOL = {"bf16": 0.03, "int8": 0.06}


def sf_side(precision):
    return "streamformer" if precision == "f32" else "sf-" + precision


def peer_side(peer, precision):
    return peer if precision == "f32" else peer + "-" + precision


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

def linear_table(peer):
    """Routes a functional peer's linear(x, name, ...) (torch_vision.py)
    through nn.Linear modules made from its 2-D weights, so that they can
    be quantised like a module peer's; returns the modules."""
    from torch import nn
    mods = nn.ModuleDict()
    for name, w in peer.w.items():
        if name.endswith(".weight") and w.dim() == 2:
            base = name[:-len(".weight")]
            lin = nn.Linear(w.shape[1], w.shape[0],
                            bias=base + ".bias" in peer.w)
            lin.weight.data = w
            if lin.bias is not None:
                lin.bias.data = peer.w[base + ".bias"]
            mods[base.replace(".", "/")] = lin
    peer.linear = lambda x, name, *_: mods[name.replace(".", "/")](x)
    return mods


def torch_model(case, model_dir):
    """(fn, module): a function of the case's inputs (torch tensors) to its
    output, and the nn.Module holding the nn.Linear layers it runs."""
    peer = CASES[case][3]
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    if peer == "bert":
        tb = load_peer("torch_bert")
        weights = tb.load_safetensors(os.path.join(model_dir,
                                                   "model.safetensors"))
        m = tb.Bert(cfg).eval()
        tb.assign_weights(m, tb.hf_state_dict(cfg, weights))
        fn = lambda input_ids, attention_mask: m(input_ids,  # noqa: E731
                                                 attention_mask)[0]
    elif peer == "vision":
        v = load_peer("torch_vision").load_model(model_dir)
        m = linear_table(v)
        fn = lambda pixel_values: v(pixel_values)  # noqa: E731
    elif peer == "clip":
        m = load_peer("torch_clip").load_model(model_dir)[0]
        fn = lambda pixel_values: m(pixel_values)  # noqa: E731
    else:
        ta = load_peer("torch_audio")
        weights = ta.load_bert_peer().load_safetensors(
            os.path.join(model_dir, "model.safetensors"))
        if peer == "whisper":
            m = ta.WhisperRunner(model_dir, cfg, weights, 0).model
            fn = lambda input_features: m.encode(input_features)  # noqa
        else:  # the front-end on the raw samples, then the model
            runner = {"ast": ta.AstRunner, "wav2vec2": ta.Wav2Vec2Runner}[
                peer](model_dir, cfg, weights)
            if peer == "ast":
                runner.exportable()  # the fbank's FFT as ONNX can take it
            m = runner.model
            fn = lambda input_values: m(runner.frontend(  # noqa: E731
                input_values[0]))
    m.requires_grad_(False)  # traced as constants by the ONNX export
    return fn, m


def torch_int8(fn, module):
    """fn with module's nn.Linear layers quantised to dynamic int8
    (quantize_dynamic, qint8 weights), in place."""
    import torch
    torch.ao.quantization.quantize_dynamic(
        module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return fn


def torch_inputs(path):
    import torch
    return {k: torch.from_numpy(v.copy()) for k, v in
            read_safetensors(path).items()}


def torch_time(case, model_dir, inputs, omp, iters, warmup, precision,
               out_path):
    """Child process: one timing run (the first pass's output saved to
    out_path for the check), one JSON line."""
    import torch
    torch.set_num_threads(omp)
    fn, module = torch_model(case, model_dir)
    if precision == "int8":
        fn = torch_int8(fn, module)
    x = torch_inputs(inputs)
    times = []
    with torch.inference_mode():
        for i in range(warmup + iters):
            t0 = time.perf_counter()
            y = fn(**x)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000)
            if i == 0:
                np.save(out_path, y.numpy())
    print(json.dumps({"median_ms": median(times), "min_ms": min(times)}))


def case_inputs(case, cfg):
    """The case's fixed-seed inputs, as numpy arrays."""
    kind, size = PEER_INPUT[CASES[case][3]], CASES[case][4]
    rng = np.random.default_rng(SEED)
    if kind == "text":
        ids = rng.integers(0, cfg["vocab_size"], size=(1, size),
                           dtype=np.int64)
        return {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    if kind == "image":
        return {"pixel_values": rng.uniform(
            -1, 1, size=(1, 3, size, size)).astype(np.float32)}
    if kind == "waveform":  # noise at a speech-like level, not normalised
        return {"input_values": rng.normal(
            0.0, 0.1, size=(1, size)).astype(np.float32)}
    return {"input_features": rng.uniform(
        -1, 1, size=(1, cfg["num_mel_bins"], size)).astype(np.float32)}


def prepare(case, model_dir, work):
    """Inputs, PyTorch's reference output and the ONNX export of the case."""
    import torch
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    inputs = case_inputs(case, cfg)
    in_path = os.path.join(work, case + ".in.safetensors")
    ref_path = os.path.join(work, case + ".ref.npy")
    onnx_path = os.path.join(work, case + ".onnx")
    if all(os.path.exists(p) for p in (in_path, ref_path, onnx_path)):
        same = read_safetensors(in_path)
        if all(np.array_equal(same.get(k), v) for k, v in inputs.items()):
            return in_path, onnx_path, np.load(ref_path)  # made before
    write_safetensors(in_path, inputs)

    fn = torch_model(case, model_dir)[0]
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


def prepare_int8(case, onnx_path):
    """The int8 ONNX model of the case (onnx_int8.py, weights per output
    column), or None with a message when the onnx package is missing."""
    q_path = onnx_path[:-len(".onnx")] + ".int8.onnx"
    if os.path.exists(q_path) and \
            os.path.getmtime(q_path) >= os.path.getmtime(onnx_path):
        return q_path
    if importlib.util.find_spec("onnx") is None:
        print("%s: ONNX Runtime int8 skipped: no onnx package to write the "
              "quantised model (apt-get install python3-onnx)" % case,
              file=sys.stderr)
        return None
    try:
        n = load_peer("onnx_int8").quantise_file(onnx_path, q_path)
    except ValueError as e:
        print("%s: ONNX Runtime int8 skipped: %s" % (case, e),
              file=sys.stderr)
        return None
    print("%s: %d products quantised to int8 for ONNX Runtime" % (case, n),
          file=sys.stderr)
    return q_path


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
        case, model_dir, inputs, omp, iters, warmup, prec, out = argv[2:10]
        torch_time(case, model_dir, inputs, int(omp), int(iters), int(warmup),
                   prec, out)
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
        if "int8" in precisions:
            prepared[c] += (prepare_int8(c, prepared[c][2]),)

    load_before = os.getloadavg()
    best = {}  # (case, threads, side) -> (median, detail)
    errors = {}  # (case, side) -> max abs error, or a failure text
    rss = {}  # (case, threads, side) -> peak RSS MiB (Streamformer sides)
    for r in range(rounds):
        for c in cases:
            model_dir, in_path, onnx_path, ref = prepared[c][:4]
            for t in threads:
                for side, split, cmd, env, out, precision in side_runs(
                        c, t, prepared[c], precisions, work, cli, node,
                        baseline, iters, warmup):
                    if isinstance(errors.get((c, side)), str):
                        continue  # failed its check: not timed
                    try:
                        res = run_json(cmd, env)
                    except RuntimeError as e:
                        errors[(c, side)] = str(e)
                        continue
                    if (c, side) not in errors:
                        errors[(c, side)] = max_err(read_output(out), ref)
                    if side in map(sf_side, precisions) and \
                            "peak_rss_mib" in res:
                        rss[(c, t, side)] = max(rss.get((c, t, side), 0),
                                                res["peak_rss_mib"])
                    e = errors[(c, side)]
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


def read_output(path):
    """A side's output as it saved it: safetensors (Streamformer), .npy
    (PyTorch) or raw float32 (ONNX Runtime)."""
    if path.endswith(".npy"):
        return np.load(path)
    if ".sf." in os.path.basename(path):
        return read_safetensors(path)["output"]
    return np.fromfile(path, dtype=np.float32)


def side_runs(c, t, prepared, precisions, work, cli, node, baseline, iters,
              warmup):
    """(side, omp/blas split, command, environment, output file, precision
    of its check) of every side of case @c at @t threads."""
    model_dir, in_path, onnx_path = prepared[:3]
    onnx = {"f32": onnx_path, "int8": (prepared + (None,))[4]}
    runs = []
    sf_out = os.path.join(work, c + ".sf.")
    for p in precisions:
        runs.append((sf_side(p), "", [
            cli, "bench", model_dir, "--input", in_path,
            "--output", sf_out + p, "--threads", str(t),
            "--iters", str(iters), "--warmup", str(warmup),
            "--precision", p, "--json"], user_env(), sf_out + p, p))
    if baseline:
        runs.append(("baseline", "", [
            baseline, "bench", model_dir, "--input", in_path,
            "--output", sf_out + "base", "--threads", str(t),
            "--iters", str(iters), "--warmup", str(warmup),
            "--json"], user_env(), sf_out + "base", "f32"))
    for p in [q for q in ("f32", "int8") if q in precisions]:
        for omp, blas in ([(1, 1)] if t == 1 else [(2, 2), (1, 2)]):
            out = os.path.join(work, "%s.torch.%s.npy" % (c, p))
            runs.append((peer_side("pytorch", p), "%d/%d" % (omp, blas), [
                sys.executable, os.path.abspath(__file__),
                "--torch-child", c, model_dir, in_path, str(omp),
                str(iters), str(warmup), p, out], torch_env(omp, blas), out,
                p))
        if onnx[p] is not None:
            out = os.path.join(work, "%s.ort.%s" % (c, p))
            runs.append((peer_side("onnxruntime", p), "", [
                node, os.path.join(HERE, "ort_peer.js"), onnx[p], in_path,
                out, str(t), str(iters), str(warmup)], os.environ.copy(),
                out, p))
    return runs


def print_table(cases, threads, best, errors, baseline, load_before, run,
                precisions=("f32",), rss=None):
    """The table so far (printed after every round, so a cut-short run
    still leaves its results)."""
    load_after = os.getloadavg()

    def cell(key):
        return "%.1f" % best[key][0] if key in best else "n/a"

    def ratio(slow, fast):  # the time of @slow over that of @fast
        return ("%.2f" % (best[slow][0] / best[fast][0])
                if slow in best and fast in best else "n/a")

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
            pt_cell = cell(pt) + (" (%s)" % best[pt][1] if pt in best else "")
            line = ("| %s | %d | %s | %s | %s | %s |"
                    % (c, t, cell(sf), pt_cell, cell(ort), ratio(ort, sf)))
            if baseline:
                bl = (c, t, "baseline")
                line += " %s | %s |" % (cell(bl), ratio(ort, bl))
            print(line)
    reduced = [p for p in precisions if p != "f32"]
    if reduced:
        int8 = "int8" in precisions
        print()
        print("| case | threads | ONNX Runtime f32 ms | "
              + " | ".join("Streamformer %s ms | ORT / %s | peak RSS MiB"
                           % (p, p) for p in precisions) + " |"
              + (" PyTorch int8 ms | PyTorch int8 / sf int8 |"
                 " ORT int8 ms | ORT int8 / sf int8 |" if int8 else ""))
        print("|---|---|---|" + "---|---|---|" * len(precisions)
              + ("---|---|---|---|" if int8 else ""))
        for c in cases:
            for t in threads:
                ort = (c, t, "onnxruntime")
                line = "| %s | %d | %s |" % (c, t, cell(ort))
                for p in precisions:
                    key = (c, t, sf_side(p))
                    mib = ("%.0f" % rss[key] if rss and key in rss
                           else "n/a")
                    line += " %s | %s | %s |" % (cell(key), ratio(ort, key),
                                                 mib)
                if int8:
                    sf8 = (c, t, sf_side("int8"))
                    for peer in ("pytorch", "onnxruntime"):
                        key = (c, t, peer_side(peer, "int8"))
                        line += " %s | %s |" % (cell(key), ratio(key, sf8))
                print(line)
    print()
    for c in cases:
        for side in (["streamformer"] + [sf_side(p) for p in reduced]
                     + ["baseline", "onnxruntime"]
                     + [peer_side(peer, "int8") for peer in
                        ("pytorch", "onnxruntime") if "int8" in precisions]):
            e = errors.get((c, side))
            if isinstance(e, str):
                print("%s %s: FAILED: %s" % (c, side, e))
            elif e is not None:
                print("%s %s: max abs error vs PyTorch %.2g" % (c, side, e))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
