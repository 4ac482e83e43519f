#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times text generation (random full-size weights) in Streamformer, through
# sf_model_decoder_new + sf_generate, and in plain PyTorch with a KV cache,
# in one run, and prints one table: GPT-2 small's prompt processing
# (tokens/s over a 128-token prompt) and ms per new token at context 128,
# and beam search (4 beams, exactly BENCH_BEAM_NEW new tokens) over a
# 512-token input with bart-base and t5-small.
#
#   tests/bench/bench-generate.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoints in CHECKPOINT_DIR/gpt2,
# bart-base and t5-small (about 1.5 GB together); without it a
# temporary folder is used and removed afterwards.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_ROUNDS   times each configuration runs; the best is kept (default 3)
#   BENCH_NEW      GPT-2's new tokens per run (default 16)
#   BENCH_BEAM_NEW BART's new tokens per run (default 64)
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
beam_new=${BENCH_BEAM_NEW:-64}
prompt=128
source=512
beams=4

dec="$build/tests/bench/decode-bench"
if [ ! -x "$dec" ]; then
  echo "bench-generate: $dec is missing; build first (ninja -C $build)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
ckpts=${1:-$work}

# make-random-FAMILY.py CONFIG NAME
checkpoint() {
  if [ -f "$ckpts/$2/config.json" ] && [ -f "$ckpts/$2/model.safetensors" ]
  then
    echo "reusing checkpoint $ckpts/$2"
  else
    "$python" "$here/make-random-$1.py" "$here/configs/$2.json" \
      "$ckpts/$2" --seed 0
  fi
}
checkpoint gpt2 gpt2
checkpoint bart bart-base
checkpoint t5 t5-small

plain_env() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u OPENBLAS_NUM_THREADS \
    -u GOTO_NUM_THREADS -u OMP_NUM_THREADS -u OMP_WAIT_POLICY "$@"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
round=1
while [ "$round" -le "$rounds" ]; do
  for t in 1 2; do
    echo "round $round: streamformer gpt2, $t thread(s) ..."
    plain_env "$dec" "$ckpts/gpt2" --threads "$t" --prompt "$prompt" \
      --new "$new" --json >>"$work/sf-gpt2-$t.jsonl"
    for m in bart-base t5-small; do
      echo "round $round: streamformer $m, $t thread(s) ..."
      plain_env "$dec" "$ckpts/$m" --threads "$t" --source "$source" \
        --beams "$beams" --new "$beam_new" --json >>"$work/sf-${m%-*}-$t.jsonl"
    done
  done
  for pair in 1/1 2/2 1/2; do
    omp=${pair%/*}
    blas=${pair#*/}
    echo "round $round: pytorch gpt2, $omp OpenMP / $blas OpenBLAS ..."
    env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE \
      OPENBLAS_NUM_THREADS="$blas" \
      "$python" "$here/torch_gpt2.py" "$ckpts/gpt2" --threads "$omp" \
      --prompt "$prompt" --new "$new" --json \
      >>"$work/torch-gpt2-$omp-$blas.jsonl"
    for m in bart-base t5-small; do
      echo "round $round: pytorch $m, $omp OpenMP / $blas OpenBLAS ..."
      env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX \
        OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS="$blas" \
        "$python" "$here/torch_${m%-*}.py" "$ckpts/$m" --threads "$omp" \
        --source "$source" --beams "$beams" --new "$beam_new" --json \
        >>"$work/torch-${m%-*}-$omp-$blas.jsonl"
    done
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

def same_ids(model, sf, pt):
    """Every run of both sides chose the same tokens: say so, or list them."""
    ids = {tuple(r["ids"]) for group in (sf, pt) for rs in group.values()
           for r in rs}
    if len(ids) == 1:
        return "yes (%d tokens)" % len(next(iter(ids)))
    for group in (sf, pt):
        for name, rs in group.items():
            print("%s %s ids: %s" % (model, name, rs[0]["ids"]))
    return "NO: see the ids above"

def best(group, key):
    """(config, value) of the lowest value of key over every round."""
    return min(((n, r[key]) for n, rs in group.items() for r in rs),
               key=lambda c: c[1])

def who(name):
    """'sf-gpt2-2' -> '2 thr', 'torch-gpt2-1-2' -> 'omp 1/blas 2'."""
    parts = name.split("-")
    if parts[0] == "sf":
        return "%s thr" % parts[2]
    return "omp %s/blas %s" % (parts[2], parts[3])

gpt2 = runs("sf-gpt2-*.jsonl"), runs("torch-gpt2-*.jsonl")
bart = runs("sf-bart-*.jsonl"), runs("torch-bart-*.jsonl")
t5 = runs("sf-t5-*.jsonl"), runs("torch-t5-*.jsonl")
g0 = next(iter(gpt2[0].values()))[0]
b0 = next(iter(bart[0].values()))[0]
print()
print("random full-size weights, best of %s rounds interleaved; machine "
      "load average before %s, after %s" % (rounds, load_before, load_after))
print("GPT-2 small (124M): greedy, %d-token prompt, %d new tokens; ids "
      "equal: %s" % (g0["prompt_tokens"], g0["new_tokens"],
                     same_ids("gpt2", *gpt2)))
print("bart-base (139M): %d-token input, %d beams, %d new tokens; ids "
      "equal: %s" % (b0["source_tokens"], b0["beams"], b0["new_tokens"],
                     same_ids("bart", *bart)))
print("t5-small (60M): same input and search; ids equal: %s"
      % same_ids("t5", *t5))
print()
hdr = "%-34s %13s %13s %7s  %s"
print(hdr % ("measure", "streamformer", "pytorch", "ratio", "best configs"))
rows = (("gpt2 prompt processing, tok/s", gpt2, "prompt_ms",
         g0["prompt_tokens"]),
        ("gpt2 ms per new token (median)", gpt2, "ms_per_token_median", 0),
        ("bart-base beam search, ms", bart, "total_ms", 0),
        ("t5-small beam search, ms", t5, "total_ms", 0))
for label, (sf, pt), key, tokens in rows:
    sn, sv = best(sf, key)
    pn, pv = best(pt, key)
    a, b = (tokens / (sv / 1e3), tokens / (pv / 1e3)) if tokens else (sv, pv)
    print("%-34s %13.1f %13.1f %6.2fx  %s vs %s"
          % (label, a, b, pv / sv, who(sn), who(pn)))
print()
print("ratio: PyTorch's best time over Streamformer's best; above 1 means "
      "Streamformer is faster")
PY
