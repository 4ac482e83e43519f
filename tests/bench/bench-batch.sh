#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Items per second with batch-size N against batch-size 1, in one run:
# N = 1, 2, 4 and 8 streams sharing one model (BERT-base on lines of at
# most 24 tokens, ViT-base/16 on 224x224 frames, random weights), and one
# text stream of short lines, 8 lines per buffer.
#
#   tests/bench/bench-batch.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoints (bert-base/ and
# vit-base/, about 780 MB); without it a temporary folder is used and
# removed afterwards.
#
# Items per second of wall time and per second of the process's CPU time:
# on a busy shared machine, N unbatched streams (N threads) take a larger
# share of the cores than one batched pass at a time, so the CPU-time
# figure is the one that compares the work each needs. The last column
# compares each text row's items per CPU-second with one stream of one
# line per buffer at batch-size 1 (one line per pass): with 8-line
# buffers an element already runs a buffer's lines together at
# batch-size 1, so there batch-size alone changes little.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_TEXTS    timed lines per configuration (default 128)
#   BENCH_FRAMES   timed frames per configuration (default 16)
#   BENCH_TIMEOUT  batch-timeout-ms of the batched runs (default 20)
#   PYTHON         a Python with numpy (default /usr/bin/python3)
set -eu

program=batch-throughput
. "$(dirname "$0")/stream-bench.sh"
texts=${BENCH_TEXTS:-128}
frames=${BENCH_FRAMES:-16}
timeout=${BENCH_TIMEOUT:-20}

cache=${1:-$work}

bert="$cache/bert-base"
if [ ! -f "$bert/model.safetensors" ]; then
  "$python" "$here/make-random-checkpoint.py" "$here/configs/bert-base.json" \
    "$bert" --seed 0
fi
# The tiny fixture's WordPiece vocabulary: its ids fit BERT-base's table.
cp "$root/tests/fixtures/bert-tiny-cls/vocab.txt" \
  "$root/tests/fixtures/bert-tiny-cls/tokenizer.json" \
  "$root/tests/fixtures/bert-tiny-cls/tokenizer_config.json" "$bert/"
vit="$cache/vit-base"
if [ ! -f "$vit/preprocessor_config.json" ]; then
  "$python" "$here/make-random-vision.py" \
    "$here/configs/vit-base-patch16-224.json" "$vit" --seed 0
fi

# Lines of 2 to 22 whole words of the vocabulary: one token each, so at
# most 24 tokens with [CLS] and [SEP].
grep -E '^[a-z]+$' "$bert/vocab.txt" | awk -v n=2048 '
  { w[NR] = $0 }
  END {
    srand(1)
    for (i = 0; i < n; i++) {
      k = 2 + int(rand() * 21); line = ""
      for (j = 0; j < k; j++) line = line (j ? " " : "") w[1 + int(rand() * NR)]
      print line
    }
  }' >"$work/lines.txt"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$work/results.jsonl"
run() {
  echo "$*" >&2
  "$bench" "$@" >>"$work/results.jsonl"
}
for n in 1 2 4 8; do
  for b in 1 "$n"; do
    [ "$n" = 1 ] && [ "$b" = 1 ] && [ -s "$work/results.jsonl" ] && continue
    run "$bert" --kind text --lines "$work/lines.txt" --streams "$n" \
      --batch "$b" --timeout-ms "$timeout" --items $((texts / n))
  done
done
for b in 1 8; do
  run "$bert" --kind text --lines "$work/lines.txt" --streams 1 \
    --per-buffer 8 --batch "$b" --items "$texts"
done
for n in 1 2 4 8; do
  for b in 1 "$n"; do
    [ "$n" = 1 ] && [ "$b" = 1 ] && grep -q image "$work/results.jsonl" \
      && continue
    run "$vit" --kind image --streams "$n" --batch "$b" \
      --timeout-ms "$timeout" --items $((frames / n))
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "load average before: $load_before, after: $load_after"
"$python" - "$work/results.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = {}
for r in rows:
    if r["batch"] == 1:
        base[(r["kind"], r["streams"], r["per_buffer"])] = r
# one stream, one line per buffer: one line per pass
alone = base.get(("text", 1, 1))
print("| input | streams | lines/buffer | batch-size | items/s | ratio "
      "| items/CPU-s | ratio | vs 1 line/pass |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    b = base.get((r["kind"], r["streams"], r["per_buffer"]))
    what = "BERT-base lines" if r["kind"] == "text" else "ViT-base frames"
    per = str(r["per_buffer"]) if r["kind"] == "text" else "-"
    vs = ("%.2f×" % (r["items_per_cpu_s"] / alone["items_per_cpu_s"])
          if r["kind"] == "text" and alone else "-")
    print("| %s | %d | %s | %d | %.2f | %.2f× | %.2f | %.2f× | %s |" % (
        what, r["streams"], per, r["batch"], r["items_per_s"],
        r["items_per_s"] / b["items_per_s"], r["items_per_cpu_s"],
        r["items_per_cpu_s"] / b["items_per_cpu_s"], vs))
PY
