#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Per-token Whisper decoding with the KV caches, whisper-tiny and
# whisper-base (random full-size weights), in one run: Streamformer,
# PyTorch and whisper.cpp on the same weights, at 1 and 2 threads.
#
#   tests/bench/bench-whisper-decode.sh [CHECKPOINT_DIR]
#
# Every side times the same work, whisper.cpp's whisper-bench "decode":
# 256 single-token decoder steps at positions 0 .. 255 (self-attention
# over the positions so far, cross-attention over 1500 encoder frames,
# the FFNs, the final LayerNorm and the logits of all 51865 tokens), the
# mean over the 256 steps. No token is chosen inside that time; the greedy
# choice (argmax) is reported apart for Streamformer and PyTorch.
#
# CHECKPOINT_DIR caches the generated checkpoints and their whisper.cpp
# files (about 1.1 GB); without it a temporary folder is used and removed.
#
# Environment:
#   SF_BUILD_DIR       meson build folder (default ./build)
#   WHISPER_CPP_BUILD  whisper.cpp's cmake build folder (the one holding
#                      bin/whisper-bench); unset: whisper.cpp is skipped
#   BENCH_ROUNDS       rounds, interleaved; each configuration keeps its
#                      best round (default 3)
#   BENCH_ITERS        timed passes of 256 steps per run (default 2)
#   BENCH_MODELS       a subset of "whisper-tiny whisper-base"
#   BENCH_PRECISIONS   Streamformer precisions (default "f32 bf16 int8")
#   PYTHON             a Python with torch and numpy (default /usr/bin/python3)
#
# Streamformer runs as a user gets it: none of the BLAS or OpenMP variables
# set. PyTorch runs at its best: OPENBLAS_CORETYPE=SkylakeX and
# OMP_WAIT_POLICY=PASSIVE; at 2 threads the faster of 2 OpenMP / 2
# OpenBLAS and 1 / 2 counts. whisper.cpp runs whisper-bench -t T as built.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}
rounds=${BENCH_ROUNDS:-3}
iters=${BENCH_ITERS:-2}
models=${BENCH_MODELS:-whisper-tiny whisper-base}
precisions=${BENCH_PRECISIONS:-f32 bf16 int8}
steps=256

sfb="$build/tests/bench/whisper-step-bench"
if [ ! -x "$sfb" ]; then
  echo "bench-whisper-decode: $sfb is missing; build first (ninja -C $build)" >&2
  exit 1
fi

wcpp=
if [ -n "${WHISPER_CPP_BUILD:-}" ]; then
  for c in bin/whisper-bench whisper-bench bin/bench bench; do
    if [ -x "$WHISPER_CPP_BUILD/$c" ] && [ ! -d "$WHISPER_CPP_BUILD/$c" ]; then
      wcpp="$WHISPER_CPP_BUILD/$c"
      break
    fi
  done
  if [ -z "$wcpp" ]; then
    echo "bench-whisper-decode: no whisper-bench in $WHISPER_CPP_BUILD" >&2
    exit 1
  fi
else
  echo "bench-whisper-decode: WHISPER_CPP_BUILD is not set; whisper.cpp is" \
    "skipped"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
root=${1:-$work}

for m in $models; do
  case "$m" in
    whisper-tiny | whisper-base) ;;
    *) echo "bench-whisper-decode: unknown model $m" >&2; exit 1 ;;
  esac
  if [ -f "$root/$m/config.json" ] && [ -f "$root/$m/model.safetensors" ]; then
    echo "reusing checkpoint $root/$m"
  else
    "$python" "$here/make-random-audio.py" "$here/configs/$m.json" \
      "$root/$m" --seed 0
  fi
  if [ -n "$wcpp" ]; then
    for ft in f16 f32; do
      g="$root/$m-ggml-$ft.bin"
      # reused only when written after the checkpoint it comes from
      if [ -n "$(find "$g" -newer "$root/$m/model.safetensors" 2>/dev/null)" ]
      then
        echo "reusing $g"
      else
        "$python" "$here/make-random-whisper-ggml.py" "$root/$m" "$g" \
          --ftype "$ft"
      fi
    done
  fi
done

# As a user runs it: no tuning variables in the environment.
plain_env() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS \
    -u GOTO_NUM_THREADS -u OMP_NUM_THREADS -u OMP_WAIT_POLICY "$@"
}

# whisper-bench's "decode time = X ms / N runs ( Y ms per run)" as JSON
wcpp_json() {
  "$python" -c '
import json, re, sys
text = sys.stdin.read()
m = re.search(r"decode time =\s*([\d.]+) ms /\s*(\d+) runs \(\s*([\d.]+) ms per run", text)
if not m:
    sys.exit("bench-whisper-decode: no decode time in whisper-bench output")
b = re.search(r"batchd time =\s*[\d.]+ ms /\s*\d+ runs \(\s*([\d.]+) ms per run", text)
sys_info = re.search(r"system_info: (.*)", text)
print(json.dumps({"side": "whisper.cpp", "threads": int(sys.argv[1]),
                  "ftype": sys.argv[2], "steps": int(m.group(2)),
                  "ms_per_step": float(m.group(3)),
                  "batchd_ms": float(b.group(1)) if b else None,
                  "system_info": sys_info.group(1) if sys_info else ""}))
' "$@"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Rounds interleave the sides, so a burst of other load on the machine
# hits all of them; each configuration keeps its best round.
round=1
while [ "$round" -le "$rounds" ]; do
  for m in $models; do
    for t in 1 2; do
      for p in $precisions; do
        echo "round $round: $m, streamformer $p, $t thread(s) ..."
        plain_env "$sfb" "$root/$m" --threads "$t" --precision "$p" \
          --steps "$steps" --iters "$iters" --json >>"$work/$m.sf-$p-$t.jsonl"
      done
      if [ -n "$wcpp" ]; then
        for ft in f16 f32; do
          echo "round $round: $m, whisper.cpp $ft, $t thread(s) ..."
          "$wcpp" -m "$root/$m-ggml-$ft.bin" -t "$t" >"$work/wcpp.log" 2>&1 \
            || { cat "$work/wcpp.log" >&2; exit 1; }
          wcpp_json "$t" "$ft" <"$work/wcpp.log" >>"$work/$m.wcpp-$ft-$t.jsonl"
        done
      fi
    done
    # torch OpenMP threads / OpenBLAS threads
    for pair in 1/1 2/2 1/2; do
      omp=${pair%/*}
      blas=${pair#*/}
      echo "round $round: $m, pytorch, $omp OpenMP / $blas OpenBLAS ..."
      env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX \
        OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS="$blas" \
        "$python" "$here/torch_whisper_steps.py" "$root/$m" --threads "$omp" \
        --steps "$steps" --iters "$iters" --json \
        >>"$work/$m.torch-$omp-$blas.jsonl"
    done
  done
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$load_before" "$load_after" "$rounds" "$precisions" \
  "$wcpp" $models <<'EOF'
import json, os, sys

work, load_before, load_after, rounds, precisions, wcpp = sys.argv[1:7]
models = sys.argv[7:]


def best(name):
    """The round with the lowest ms/step, or None."""
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    return min(runs, key=lambda r: r["ms_per_step"])


print()
print("Whisper decoding, one token per step with the KV caches, random "
      "full-size weights")
print("each side: mean ms per step over 256 steps at positions 0..255 (the "
      "work of whisper-bench's")
print("\"decode\"), encoder output given, logits of the whole vocabulary; "
      "best of %s rounds" % rounds)
print("machine load average before %s, after %s" % (load_before, load_after))
row = "%-44s %10s %10s %10s %10s"
for m in models:
    print()
    print(m)
    print(row % ("side", "1 thread", "2 threads", "first 32", "last 32"))
    lines = []
    for p in precisions.split():
        lines.append(("streamformer %s" % p,
                      [best("%s.sf-%s-%d.jsonl" % (m, p, t)) for t in (1, 2)]))
    t1 = best("%s.torch-1-1.jsonl" % m)
    t2 = [best("%s.torch-%s.jsonl" % (m, k)) for k in ("2-2", "1-2")]
    t2 = min((r for r in t2 if r), key=lambda r: r["ms_per_step"],
             default=None)
    torch_name = "pytorch %s f32" % (t1["torch"].split("a")[0] if t1 else "")
    lines.append((torch_name, [t1, t2]))
    if wcpp:
        for ft in ("f16", "f32"):
            lines.append(("whisper.cpp %s" % ft,
                          [best("%s.wcpp-%s-%d.jsonl" % (m, ft, t))
                           for t in (1, 2)]))
    for name, rs in lines:
        cells = ["%7.3f ms" % r["ms_per_step"] if r else "-" for r in rs]
        r1 = rs[0]
        extra = ["%7.3f ms" % r1[k] if r1 and k in r1 else "-"
                 for k in ("first32_ms", "last32_ms")]
        print(row % tuple([name] + cells + extra))
    sf = best("%s.sf-f32-1.jsonl" % m)
    if sf:
        print("streamformer f32, 1 thread: greedy choice %.3f ms/token (not "
              "above); the LM head alone (f32 [1, D] x [V, D]^T) %.3f ms"
              % (sf["argmax_ms"], sf["lm_head_mapped_ms"]))
    if t1:
        print("pytorch, 1 thread: greedy choice %.3f ms/token (not above)"
              % t1["argmax_ms"])
    if t2:
        print("pytorch 2 threads: OpenMP %d, OpenBLAS %s" %
              (t2["threads"], t2["blas_threads"]))
print()
print("first/last 32: the 1-thread mean of steps 0-31 and 224-255 (the "
      "self-attention grows with the position)")
if wcpp:
    info = best("%s.wcpp-f16-1.jsonl" % models[0])
    print("whisper.cpp: %s" % (info["system_info"] if info else ""))
EOF
