#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times the audio models (random full-size weights) in Streamformer and in
# PyTorch on this machine, in one run, and prints one table:
#   - whisper-tiny: one 30 s window, log-mel + encoder + 32 greedy tokens
#   - wav2vec2-base (CTC): 10 s, waveform normalisation + encoder + lm_head
#   - AST (AudioSet head, 527 labels): 10.24 s, fbank + encoder + classifier
#
#   tests/bench/bench-audio.sh [CHECKPOINT_ROOT]
#
# CHECKPOINT_ROOT caches the three generated checkpoints (about 880 MB in
# all); without it a temporary folder is used and removed afterwards.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_ITERS    timed passes per run (default 5)
#   BENCH_WARMUP   untimed passes first (default 1)
#   BENCH_ROUNDS   times each configuration runs; the best is kept (default 2)
#   BENCH_MODELS   a subset of "whisper-tiny wav2vec2-base ast-audioset"
#   PYTHON         a Python with torch and numpy (default /usr/bin/python3)
#
# Streamformer runs as a user gets it: none of the BLAS or OpenMP variables
# set. PyTorch runs at its best: OPENBLAS_CORETYPE=SkylakeX and
# OMP_WAIT_POLICY=PASSIVE, with its OpenMP pool and OpenBLAS's own pool
# sized explicitly; the fastest of three splits of two cores counts.
# Whisper decoding masks <|endoftext|> on both sides, so every pass decodes
# all 32 tokens.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}
iters=${BENCH_ITERS:-5}
warmup=${BENCH_WARMUP:-1}
rounds=${BENCH_ROUNDS:-2}
models=${BENCH_MODELS:-whisper-tiny wav2vec2-base ast-audioset}
tokens=32

sf="$build/samples/cli/streamformer"
if [ ! -x "$sf" ]; then
  echo "bench-audio: $sf is missing; build first (ninja -C $build)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
root=${1:-$work}

# audio seconds per model: Whisper's window, 10 s of speech, AST's 1024
# fbank frames
seconds_of() {
  case "$1" in
    whisper-tiny) echo 30 ;;
    wav2vec2-base) echo 10 ;;
    ast-audioset) echo 10.24 ;;
    *) echo "bench-audio: unknown model $1" >&2; exit 1 ;;
  esac
}

for m in $models; do
  seconds_of "$m" >/dev/null
  if [ -f "$root/$m/config.json" ] && [ -f "$root/$m/model.safetensors" ] \
    && [ -f "$root/$m/preprocessor_config.json" ]; then
    echo "reusing checkpoint $root/$m"
  else
    "$python" "$here/make-random-audio.py" "$here/configs/$m.json" \
      "$root/$m" --seed 0
  fi
done

# As a user runs it: no tuning variables in the environment.
plain_env() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS \
    -u OMP_NUM_THREADS -u OMP_WAIT_POLICY "$@"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Rounds interleave the two sides, so a burst of other load on the machine
# hits both; each configuration keeps its best round.
round=1
while [ "$round" -le "$rounds" ]; do
  for m in $models; do
    s=$(seconds_of "$m")
    for t in 1 2; do
      echo "round $round: $m, streamformer, $t thread(s) ..."
      plain_env "$sf" bench "$root/$m" --threads "$t" --seconds "$s" \
        --tokens "$tokens" --iters "$iters" --warmup "$warmup" --json \
        >>"$work/$m.sf-$t.jsonl"
    done
    # torch OpenMP threads / OpenBLAS threads
    for pair in 1/1 2/2 1/2; do
      omp=${pair%/*}
      blas=${pair#*/}
      echo "round $round: $m, pytorch, $omp OpenMP / $blas OpenBLAS ..."
      env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX \
        OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS="$blas" \
        "$python" "$here/torch_audio.py" "$root/$m" --threads "$omp" \
        --seconds "$s" --tokens "$tokens" --iters "$iters" \
        --warmup "$warmup" --json >>"$work/$m.torch-$omp-$blas.jsonl"
    done
  done
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$load_before" "$load_after" "$rounds" $models <<'EOF'
import json, os, sys

work, load_before, load_after, rounds = sys.argv[1:5]
models = sys.argv[5:]

def load(name):
    """The round with the lowest median."""
    with open(os.path.join(work, name)) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    return min(runs, key=lambda r: r["median_ms"])

TITLES = {
    "whisper-tiny": "whisper-tiny, 30 s window: log-mel + encoder + %d "
                    "greedy tokens (<|endoftext|> masked)",
    "wav2vec2-base": "wav2vec2-base CTC, 10 s: normalisation + encoder + "
                     "lm_head",
    "ast-audioset": "AST AudioSet (527 labels), 10.24 s: fbank + encoder + "
                    "classifier",
}

print()
print("Audio models, random full-size weights, best of %s rounds" % rounds)
print("machine load average before %s, after %s" % (load_before, load_after))
print("RTF = audio seconds / compute seconds (above 1: faster than real "
      "time)")
hdr = "%-36s %9s %9s %9s %9s %9s %7s"
row = "%-36s %9.1f %9.1f %9.1f %9.1f %9.1f %7.1f"
summary = []
for m in models:
    sf = {t: load("%s.sf-%d.jsonl" % (m, t)) for t in (1, 2)}
    torch = {p: load("%s.torch-%d-%d.jsonl" % ((m,) + p))
             for p in ((1, 1), (2, 2), (1, 2))}
    title = TITLES[m]
    print()
    print(title % sf[1]["tokens"] if "%d" in title else title)
    print(hdr % ("run", "median", "min", "front", "encoder", "decode", "RTF"))
    print(hdr % ("", "ms", "ms", "ms", "ms", "ms", ""))
    for t, r in sf.items():
        print(row % ("streamformer  %d thread%s (%s)"
                     % (t, "s" if t > 1 else "", r["blas_core"]),
                     r["median_ms"], r["min_ms"], r["frontend_ms"],
                     r["encoder_ms"], r["decode_ms"], r["realtime_factor"]))
    for (omp, blas), r in torch.items():
        print(row % ("pytorch %s  omp %d, openblas %d"
                     % (r["torch"].split("a")[0], omp, blas),
                     r["median_ms"], r["min_ms"], r["frontend_ms"],
                     r["encoder_ms"], r["decode_ms"], r["realtime_factor"]))
    sf_best = min(sf.values(), key=lambda r: r["median_ms"])
    key = min(torch, key=lambda k: torch[k]["median_ms"])
    summary.append((m, sf_best, torch[key], key))

print()
print("%-14s %12s %8s %12s %8s %8s" % ("model", "streamformer", "RTF",
                                       "pytorch", "RTF", "ratio"))
for m, s, t, key in summary:
    ratio = t["median_ms"] / s["median_ms"]
    print("%-14s %9.1f ms %8.1f %9.1f ms %8.1f %8.2f  (sf %d thr; torch omp "
          "%d/openblas %d)" % (m, s["median_ms"], s["realtime_factor"],
                               t["median_ms"], t["realtime_factor"], ratio,
                               s["threads"], key[0], key[1]))
print("ratio = pytorch best median / streamformer best median; above 1 "
      "means Streamformer is faster")
EOF
