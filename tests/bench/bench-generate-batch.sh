#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Batched greedy text generation against one prompt at a time, in one
# run: N = 1, 2, 4 and 8 prompts through sf_generate_batch() (the
# families' step_together) against N sf_generate() calls, for GPT-2 small
# (16-token prompts), bart-base and t5-small (32-token inputs), random
# full-size weights, BENCH_NEW new tokens a prompt and no end token.
# Prints decode-batch-bench's JSON lines, one per model and N: alone_s
# over batch_s is the ratio (above 1: the batch is faster), and identical
# says whether the batched ids equal the lone ones.
#
#   tests/bench/bench-generate-batch.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoints (about 1.3 GB); without
# it a temporary folder is used and removed afterwards.
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_NEW      new tokens a prompt (default 32)
#   BENCH_ROUNDS   rounds; each configuration's fastest counts (default 3)
#   PYTHON         a Python with numpy (default /usr/bin/python3)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}
new=${BENCH_NEW:-32}
rounds=${BENCH_ROUNDS:-3}

bench="$build/tests/bench/decode-batch-bench"
if [ ! -x "$bench" ]; then
  echo "bench-generate-batch: $bench is missing; build first (ninja -C $build)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
ckpts=${1:-$work}

# make-random-FAMILY.py CONFIG NAME
checkpoint() {
  if [ ! -f "$ckpts/$2/model.safetensors" ]; then
    "$python" "$here/make-random-$1.py" "$here/configs/$2.json" \
      "$ckpts/$2" --seed 0
  fi
}
checkpoint gpt2 gpt2
checkpoint bart bart-base
checkpoint t5 t5-small

# run MODEL OPTIONS...
run() {
  m=$1
  shift
  echo "$m:"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" "$ckpts/$m" \
    --new "$new" --rounds "$rounds" "$@"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run gpt2 --prompt 16
run bart-base --source 32
run t5-small --source 32
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
