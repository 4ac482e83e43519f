#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times BERT-base (random weights, seq 128, batch 1) in Streamformer and in
# PyTorch on this machine, in one run, and prints one table.
#
#   tests/bench/bench-bert.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoint (about 440 MB); without it
# a temporary folder is used and removed afterwards.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_ITERS    timed passes per run (default 20)
#   BENCH_WARMUP   untimed passes first (default 3)
#   BENCH_ROUNDS   times each configuration runs; the best is kept (default 3)
#   PYTHON         a Python with torch and numpy (default /usr/bin/python3)
#
# Streamformer runs as a user gets it: none of the BLAS or OpenMP variables
# set. PyTorch runs at its best: OPENBLAS_CORETYPE=SkylakeX and
# OMP_WAIT_POLICY=PASSIVE, with its OpenMP pool and OpenBLAS's own pool
# sized explicitly (torch.set_num_threads does not size OpenBLAS's pool).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}
iters=${BENCH_ITERS:-20}
warmup=${BENCH_WARMUP:-3}
rounds=${BENCH_ROUNDS:-3}
seq=128
batch=1

sf="$build/samples/cli/streamformer"
peak="$build/tests/bench/sgemm-peak"
for exe in "$sf" "$peak"; do
  if [ ! -x "$exe" ]; then
    echo "bench-bert: $exe is missing; build first (ninja -C $build)" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
ckpt=${1:-$work/bert-base}

if [ -f "$ckpt/config.json" ] && [ -f "$ckpt/model.safetensors" ]; then
  echo "reusing checkpoint $ckpt"
else
  "$python" "$here/make-random-checkpoint.py" "$here/configs/bert-base.json" \
    "$ckpt" --seed 0
fi

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
  echo "round $round: sgemm peak (Streamformer's BLAS kernels) ..."
  plain_env "$peak" --threads 1,2 --json >>"$work/sgemm.jsonl"
  for t in 1 2; do
    echo "round $round: streamformer bench, $t thread(s) ..."
    plain_env "$sf" bench "$ckpt" --threads "$t" --seq "$seq" \
      --batch "$batch" --iters "$iters" --warmup "$warmup" --json \
      >>"$work/sf-$t.jsonl"
  done
  # torch OpenMP threads / OpenBLAS threads
  for pair in 1/1 2/2 1/2; do
    omp=${pair%/*}
    blas=${pair#*/}
    echo "round $round: pytorch, $omp OpenMP / $blas OpenBLAS thread(s) ..."
    env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE \
      OPENBLAS_NUM_THREADS="$blas" \
      "$python" "$here/torch_bert.py" "$ckpt" --threads "$omp" --seq "$seq" \
      --batch "$batch" --iters "$iters" --warmup "$warmup" --json \
      >>"$work/torch-$omp-$blas.jsonl"
  done
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$load_before" "$load_after" "$rounds" <<'EOF'
import json, os, sys

work, load_before, load_after, rounds = sys.argv[1:5]
def load(name):
    """The round with the lowest median."""
    with open(os.path.join(work, name)) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    return min(runs, key=lambda r: r["median_ms"])

# best round per shape, thread count and path
sgemm = {}
for line in open(os.path.join(work, "sgemm.jsonl")):
    s = json.loads(line)
    key = (s["shape"], s["threads"], s["path"])
    if key not in sgemm or s["gflops"] > sgemm[key]["gflops"]:
        sgemm[key] = s
sgemm = list(sgemm.values())
# the machine's sgemm peak per thread count: the large square product, the
# faster of the two ways of threading it
square = {}
for s in sgemm:
    if s["shape"] == "square":
        square[s["threads"]] = max(square.get(s["threads"], 0), s["gflops"])
sf = {t: load("sf-%d.jsonl" % t) for t in (1, 2)}
gflop = sf[1]["gflop_per_pass"]
torch = {}
for omp, blas in ((1, 1), (2, 2), (1, 2)):
    torch[(omp, blas)] = load("torch-%d-%d.jsonl" % (omp, blas))

print()
print("BERT-base, random weights, seq %d, batch %d, %d timed passes, "
      "best of %s rounds" % (sf[1]["seq"], sf[1]["batch"], sf[1]["iters"],
                            rounds))
print("machine load average before %s, after %s" % (load_before, load_after))
print("%.2f GFLOP per pass (linear layers + attention matmuls)" % gflop)
print()
hdr = "%-34s %8s %8s %8s %9s %8s"
row = "%-34s %8.1f %8.1f %8.1f %9.1f %8s"
print(hdr % ("run", "median", "min", "GFLOP/s", "peak RSS", "of peak"))
print(hdr % ("", "ms", "ms", "", "MiB", "sgemm"))

def frac(gf, threads):
    p = square.get(threads)
    return "%.0f%%" % (100 * gf / p) if p else "n/a"

for t in (1, 2):
    r = sf[t]
    gf = gflop / (r["median_ms"] / 1000)
    print(row % ("streamformer  %d thread%s (%s)" % (t, "s" if t > 1 else "",
                 r["blas_core"]), r["median_ms"], r["min_ms"], gf,
                 r["peak_rss_mib"], frac(gf, t)))
for (omp, blas), r in torch.items():
    gf = gflop / (r["median_ms"] / 1000)
    print(row % ("pytorch %s  omp %d, openblas %d" % (r["torch"].split("a")[0],
                 omp, blas), r["median_ms"], r["min_ms"], gf,
                 r["peak_rss_mib"], frac(gf, max(omp, blas))))

print()
print("best sgemm GFLOP/s, %s kernels: one OpenBLAS call threaded by OpenBLAS"
      % sgemm[0]["blas_core"])
print("(openblas), and the same product as Streamformer's linear op runs it")
print("(sf_op_linear)")
print("%-10s %-14s %7s %9s %13s"
      % ("shape", "MxNxK", "threads", "openblas", "sf_op_linear"))
cells = {(s["shape"], s["threads"], s["path"]): s for s in sgemm}
for shape, threads in dict.fromkeys((s["shape"], s["threads"]) for s in sgemm):
    a = cells[(shape, threads, "openblas")]
    b = cells[(shape, threads, "sf_op_linear")]
    print("%-10s %-14s %7d %9.1f %13.1f"
          % (shape, "%dx%dx%d" % (a["m"], a["n"], a["k"]), threads,
             a["gflops"], b["gflops"]))

sf_best = min(sf.values(), key=lambda r: r["median_ms"])
torch_best_key = min(torch, key=lambda k: torch[k]["median_ms"])
torch_best = torch[torch_best_key]
ratio = torch_best["median_ms"] / sf_best["median_ms"]
print()
print("best streamformer: %.1f ms (%d thread(s))"
      % (sf_best["median_ms"], sf_best["threads"]))
print("best pytorch:      %.1f ms (omp %d, openblas %d)"
      % (torch_best["median_ms"], torch_best_key[0], torch_best_key[1]))
print("ratio pytorch best / streamformer best = %.2f (%s)"
      % (ratio, "streamformer faster" if ratio >= 1 else "pytorch faster"))
EOF
