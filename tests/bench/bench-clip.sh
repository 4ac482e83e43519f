#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times CLIP ViT-B/32 image embeddings (random full-size weights, one
# 224×224 frame per pass) in Streamformer and in PyTorch on this machine,
# in one run, and prints frames per second and their ratio.
#
#   tests/bench/bench-clip.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoint (about 610 MB: both towers,
# as openai/clip-vit-base-patch32 has them); without it a temporary folder
# is used and removed afterwards.
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
size=224x224

sf="$build/samples/cli/streamformer"
if [ ! -x "$sf" ]; then
  echo "bench-clip: $sf is missing; build first (ninja -C $build)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
ckpt=${1:-$work/clip-vit-base-patch32}

if [ -f "$ckpt/config.json" ] && [ -f "$ckpt/model.safetensors" ] \
  && [ -f "$ckpt/preprocessor_config.json" ]; then
  echo "reusing checkpoint $ckpt"
else
  "$python" "$here/make-random-clip.py" \
    "$here/configs/clip-vit-base-patch32.json" "$ckpt" --seed 0
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
  for t in 1 2; do
    echo "round $round: streamformer bench, $t thread(s) ..."
    plain_env "$sf" bench "$ckpt" --threads "$t" --size "$size" \
      --iters "$iters" --warmup "$warmup" --json >>"$work/sf-$t.jsonl"
  done
  # torch OpenMP threads / OpenBLAS threads
  for pair in 1/1 2/2 1/2; do
    omp=${pair%/*}
    blas=${pair#*/}
    echo "round $round: pytorch, $omp OpenMP / $blas OpenBLAS thread(s) ..."
    env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE \
      OPENBLAS_NUM_THREADS="$blas" \
      "$python" "$here/torch_clip.py" "$ckpt" --threads "$omp" \
      --iters "$iters" --warmup "$warmup" --json \
      >>"$work/torch-$omp-$blas.jsonl"
  done
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$load_before" "$load_after" "$rounds" "$size" <<'EOF'
import json, os, sys

work, load_before, load_after, rounds, size = sys.argv[1:6]

def load(name):
    """The round with the lowest median."""
    with open(os.path.join(work, name)) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    return min(runs, key=lambda r: r["median_ms"])

def fps(r):
    return 1000.0 * r.get("batch", 1) / r["median_ms"]

sf = {t: load("sf-%d.jsonl" % t) for t in (1, 2)}
torch = {}
for omp, blas in ((1, 1), (2, 2), (1, 2)):
    torch[(omp, blas)] = load("torch-%d-%d.jsonl" % (omp, blas))

print()
print("CLIP ViT-B/32 image embeddings (vision tower, visual_projection, L2")
print("norm), random weights, batch 1, %s, %d timed passes, best of %s rounds"
      % (size, sf[1]["iters"], rounds))
print("machine load average before %s, after %s" % (load_before, load_after))
print()
hdr = "%-40s %8s %8s %8s %9s"
row = "%-40s %8.1f %8.1f %8.2f %9.1f"
print(hdr % ("run", "median", "min", "fps", "peak RSS"))
print(hdr % ("", "ms", "ms", "", "MiB"))
for t in (1, 2):
    r = sf[t]
    print(row % ("streamformer  %d thread%s (%s)"
                 % (t, "s" if t > 1 else "", r["blas_core"]),
                 r["median_ms"], r["min_ms"], fps(r), r["peak_rss_mib"]))
for (omp, blas), r in torch.items():
    print(row % ("pytorch %s  omp %d, openblas %d"
                 % (r["torch"].split("a")[0], omp, blas),
                 r["median_ms"], r["min_ms"], fps(r), r["peak_rss_mib"]))

sf_best = min(sf.values(), key=lambda r: r["median_ms"])
key = min(torch, key=lambda k: torch[k]["median_ms"])
torch_best = torch[key]
ratio = fps(sf_best) / fps(torch_best)
print()
print("best streamformer: %.2f fps (%d thread(s))"
      % (fps(sf_best), sf_best["threads"]))
print("best pytorch:      %.2f fps (omp %d, openblas %d)"
      % (fps(torch_best), key[0], key[1]))
print("ratio streamformer fps / pytorch fps = %.2f (%s)"
      % (ratio, "streamformer faster" if ratio >= 1 else "pytorch faster"))
EOF
