#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Times SegFormer-b0 (512x512) and ViT-base/16 (224x224), random weights,
# batch 1, in Streamformer and in PyTorch on this machine, in one run, then
# the end-to-end frame rate of the demo's segmentation pipeline.
#
#   tests/bench/bench-vision.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoints (segformer-b0/ and
# vit-base/, about 360 MB); without it a temporary folder is used and
# removed afterwards.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_ITERS    timed passes per run (default 10)
#   BENCH_WARMUP   untimed passes first (default 2)
#   BENCH_ROUNDS   times each configuration runs; the best is kept (default 3)
#   PYTHON         a Python with torch and numpy (default /usr/bin/python3)
#
# Streamformer runs as a user gets it: none of the BLAS or OpenMP variables
# set. PyTorch runs at its best: OPENBLAS_CORETYPE=SkylakeX and
# OMP_WAIT_POLICY=PASSIVE, with its OpenMP pool (convolutions, element-wise
# ops) and OpenBLAS's own pool (matrix products) sized explicitly.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}
iters=${BENCH_ITERS:-10}
warmup=${BENCH_WARMUP:-2}
rounds=${BENCH_ROUNDS:-3}

sf="$build/samples/cli/streamformer"
if [ ! -x "$sf" ]; then
  echo "bench-vision: $sf is missing; build first (ninja -C $build)" >&2
  exit 1
fi
plugins=$(cd "$build/plugins" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cache=${1:-$work}

# name, config, input size
models="segformer-b0:segformer-b0.json:512x512 vit-base:vit-base-patch16-224.json:224x224"
for entry in $models; do
  name=${entry%%:*}
  rest=${entry#*:}
  config=${rest%%:*}
  ckpt="$cache/$name"
  if [ -f "$ckpt/config.json" ] && [ -f "$ckpt/model.safetensors" ] \
      && [ -f "$ckpt/preprocessor_config.json" ]; then
    echo "reusing checkpoint $ckpt"
  else
    "$python" "$here/make-random-vision.py" "$here/configs/$config" "$ckpt" \
      --seed 0
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
  for entry in $models; do
    name=${entry%%:*}
    size=${entry##*:}
    ckpt="$cache/$name"
    for t in 1 2; do
      echo "round $round: $name, streamformer bench, $t thread(s) ..."
      plain_env "$sf" bench "$ckpt" --threads "$t" --size "$size" \
        --iters "$iters" --warmup "$warmup" --json >>"$work/$name-sf-$t.jsonl"
    done
    # torch OpenMP threads / OpenBLAS threads
    for pair in 1/1 2/2 1/2; do
      omp=${pair%/*}
      blas=${pair#*/}
      echo "round $round: $name, pytorch, $omp OpenMP / $blas OpenBLAS" \
        "thread(s) ..."
      env -u OMP_NUM_THREADS OPENBLAS_CORETYPE=SkylakeX \
        OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS="$blas" \
        "$python" "$here/torch_vision.py" "$ckpt" --threads "$omp" \
        --size "$size" --iters "$iters" --warmup "$warmup" --json \
        >>"$work/$name-torch-$omp-$blas.jsonl"
    done
  done
  round=$((round + 1))
done

# The demo's segmentation pipeline (samples/demo.sh): decode, preprocess,
# SegFormer, overlay, H.264 encode and mux, plus the JSON fractions. The
# plugin is used as built, with the user's default thread count.
echo "demo pipeline: samples/media/shapes.mp4 with samples/models/shapes-segformer ..."
round=1
while [ "$round" -le "$rounds" ]; do
  start=$(date +%s%N)
  plain_env GST_PLUGIN_PATH="$plugins" gst-launch-1.0 -q \
    filesrc location="$root/samples/media/shapes.mp4" ! decodebin \
    ! videoconvert \
    ! sfimageencoder model="$root/samples/models/shapes-segformer" \
    ! sfsegmenter mode=overlay alpha=0.6 palette=none,ff0000,00ff00,0000ff \
    ! tee name=t ! queue ! sfjsonsink location="$work/demo.jsonl" \
    t. ! queue ! videoconvert \
    ! openh264enc bitrate=1500000 rate-control=bitrate \
    ! h264parse ! mp4mux ! filesink location="$work/demo.mp4" \
    >"$work/demo.log" 2>&1 || {
      cat "$work/demo.log" >&2
      echo "bench-vision: the demo pipeline failed" >&2
      exit 1
    }
  end=$(date +%s%N)
  echo "$(wc -l <"$work/demo.jsonl") $(( (end - start) / 1000000 ))" \
    >>"$work/demo.txt"
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work" "$load_before" "$load_after" "$rounds" "$iters" <<'EOF'
import json, os, sys

work, load_before, load_after, rounds, iters = sys.argv[1:6]

def best(name):
    """The round with the lowest median."""
    with open(os.path.join(work, name)) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    return min(runs, key=lambda r: r["median_ms"])

print()
print("Vision models, random weights, batch 1, %s timed passes, best of %s "
      "rounds" % (iters, rounds))
print("machine load average before %s, after %s" % (load_before, load_after))
hdr = "%-44s %8s %8s %7s %9s"
row = "%-44s %8.1f %8.1f %7.2f %9.1f"
summary = []
for name, title in (("segformer-b0", "SegFormer-b0 (ADE, 150 labels), 512x512"),
                    ("vit-base", "ViT-base/16 (1000 labels), 224x224")):
    sf = {t: best("%s-sf-%d.jsonl" % (name, t)) for t in (1, 2)}
    torch = {(o, b): best("%s-torch-%d-%d.jsonl" % (name, o, b))
             for o, b in ((1, 1), (2, 2), (1, 2))}
    print()
    print(title)
    print(hdr % ("run", "median", "min", "fps", "peak RSS"))
    print(hdr % ("", "ms", "ms", "", "MiB"))
    for t, r in sf.items():
        print(row % ("streamformer  %d thread%s (%s)"
                     % (t, "s" if t > 1 else "", r["blas_core"]),
                     r["median_ms"], r["min_ms"], 1000 / r["median_ms"],
                     r["peak_rss_mib"]))
    for (o, b), r in torch.items():
        print(row % ("pytorch %s  omp %d, openblas %d"
                     % (r["torch"].split("a")[0], o, b),
                     r["median_ms"], r["min_ms"], 1000 / r["median_ms"],
                     r["peak_rss_mib"]))
    sf_t = min(sf, key=lambda t: sf[t]["median_ms"])
    torch_k = min(torch, key=lambda k: torch[k]["median_ms"])
    ratio = torch[torch_k]["median_ms"] / sf[sf_t]["median_ms"]
    print("best: streamformer %.2f fps (%d thread(s)), pytorch %.2f fps "
          "(omp %d, openblas %d): ratio %.2f (%s)"
          % (1000 / sf[sf_t]["median_ms"], sf_t,
             1000 / torch[torch_k]["median_ms"], torch_k[0], torch_k[1],
             ratio, "streamformer faster" if ratio >= 1 else "pytorch faster"))
    summary.append((name, ratio))

demo = [tuple(int(v) for v in line.split())
        for line in open(os.path.join(work, "demo.txt"))]
frames, ms = min(demo, key=lambda d: d[1])
print()
print("demo pipeline (samples/demo.sh segmentation: decode, shapes-segformer,")
print("overlay, H.264 encode, JSON): %d frames in %d ms, %.1f fps end to end "
      "(best of %d)" % (frames, ms, 1000.0 * frames / ms, len(demo)))
print()
print("ratio pytorch best / streamformer best: "
      + ", ".join("%s %.2f" % s for s in summary))
EOF
