#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times text generation (random full-size weights) in Streamformer, through
# sf_model_decoder_new + sf_generate, and in plain PyTorch with a KV cache,
# in one run, and prints one table: GPT-2 small's prompt processing
# (tokens/s over a 128-token prompt) and ms per new token at context 128.
#
#   tests/bench/bench-generate.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated GPT-2 checkpoint (about 650 MB);
# without it a temporary folder is used and removed afterwards.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_ROUNDS   times each configuration runs; the best is kept (default 3)
#   BENCH_NEW      new tokens per run (default 16)
#   PYTHON         a Python with torch and numpy (default /usr/bin/python3)
#
# Streamformer runs as a user gets it (no BLAS or OpenMP variables set);
# PyTorch at its best, as bench-bert.sh runs it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}
rounds=${BENCH_ROUNDS:-3}
new=${BENCH_NEW:-16}
prompt=128

dec="$build/tests/bench/decode-bench"
if [ ! -x "$dec" ]; then
  echo "bench-generate: $dec is missing; build first (ninja -C $build)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
ckpt=${1:-$work/gpt2}

if [ -f "$ckpt/config.json" ] && [ -f "$ckpt/model.safetensors" ]; then
  echo "reusing checkpoint $ckpt"
else
  "$python" "$here/make-random-gpt2.py" "$here/configs/gpt2.json" "$ckpt" \
    --seed 0
fi

plain_env() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS \
    -u GOTO_NUM_THREADS -u OMP_NUM_THREADS -u OMP_WAIT_POLICY "$@"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
round=1
while [ "$round" -le "$rounds" ]; do
  for t in 1 2; do
    echo "round $round: streamformer gpt2, $t thread(s) ..."
    plain_env "$dec" "$ckpt" --threads "$t" --prompt "$prompt" --new "$new" \
      --json >>"$work/sf-gpt2-$t.jsonl"
  done
  for pair in 1/1 2/2 1/2; do
    omp=${pair%/*}
    blas=${pair#*/}
    echo "round $round: pytorch gpt2, $omp OpenMP / $blas OpenBLAS ..."
    env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE \
      OPENBLAS_NUM_THREADS="$blas" \
      "$python" "$here/torch_gpt2.py" "$ckpt" --threads "$omp" \
      --prompt "$prompt" --new "$new" --json \
      >>"$work/torch-gpt2-$omp-$blas.jsonl"
  done
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$load_before" "$load_after" "$rounds" <<'PY'
import glob, json, os, sys

work, load_before, load_after, rounds = sys.argv[1:5]

def runs(pattern):
    """{config: [runs]} for the files matching pattern."""
    out = {}
    for path in sorted(glob.glob(os.path.join(work, pattern))):
        name = os.path.basename(path)[:-len(".jsonl")]
        with open(path) as f:
            out[name] = [json.loads(l) for l in f if l.strip()]
    return out

sf = runs("sf-gpt2-*.jsonl")
pt = runs("torch-gpt2-*.jsonl")
ids = {tuple(r["ids"]) for group in (sf, pt) for rs in group.values()
       for r in rs}
if len(ids) != 1:
    print("bench-generate: the generated ids differ between runs:")
    for group in (sf, pt):
        for name, rs in group.items():
            print("  %s: %s" % (name, rs[0]["ids"]))
    sys.exit(1)

def best(group, key):
    """(config, value) of the lowest value of key over every round."""
    return min(((n, r[key]) for n, rs in group.items() for r in rs),
               key=lambda c: c[1])

r0 = next(iter(sf.values()))[0]
print()
print("GPT-2 small (124M), random weights, greedy, %d-token prompt, %d new "
      "tokens, best of %s rounds" % (r0["prompt_tokens"], r0["new_tokens"],
                                     rounds))
print("machine load average before %s, after %s" % (load_before, load_after))
print("generated ids identical on both sides: yes (%d tokens)"
      % len(next(iter(ids))))
print()
print("%-26s %14s %14s %8s" % ("measure", "streamformer", "pytorch",
                               "ratio"))
for label, key, tokens in (("prompt processing tok/s", "prompt_ms", True),
                           ("ms per new token (median)",
                            "ms_per_token_median", False)):
    sn, sv = best(sf, key)
    pn, pv = best(pt, key)
    if tokens:
        n = r0["prompt_tokens"]
        a, b = n / (sv / 1e3), n / (pv / 1e3)
    else:
        a, b = sv, pv
    print("%-26s %14.1f %14.1f %7.2fx" % (label, a, b, pv / sv))
    print("%-26s %14s %14s" % ("", sn[len("sf-gpt2-"):] + " thr",
                               "omp/blas " + pn[len("torch-gpt2-"):]
                               .replace("-", "/")))
print()
print("ratio: PyTorch's best time over Streamformer's best; above 1 means "
      "Streamformer is faster")
PY
