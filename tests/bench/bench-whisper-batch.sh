#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Whisper decoding throughput with sftranscriber batch-size N against
# batch-size 1, in one run: N = 1, 2, 4 and 8 streams sharing one
# whisper-tiny (random full-size weights), 30 s windows, 32 new tokens a
# window. Only decoding is timed: the encoder states are computed once.
#
#   tests/bench/bench-whisper-batch.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoint (whisper-tiny/, about
# 150 MB); without it a temporary folder is used and removed afterwards.
# Its generation_config.json suppresses <|endoftext|>, so every window
# decodes all its tokens (random weights would otherwise end windows at
# random steps), and it gets the tokenizer of the tests' tiny Whisper
# (ids it does not know decode to nothing; the text is not the point).
#
# Environment:
#   SF_BUILD_DIR    meson build folder (default ./build)
#   BENCH_WINDOWS   windows per stream (default 2)
#   BENCH_TOKENS    new tokens per window (default 32)
#   BENCH_TIMEOUT   batch-timeout-ms of the batched runs (default 50)
#   BENCH_ROUNDS    rounds, each running every configuration once; each
#                   configuration's fastest round counts (default 3)
#   PYTHON          a Python with numpy (default /usr/bin/python3)
set -eu

program=decode-throughput
. "$(dirname "$0")/stream-bench.sh"
windows=${BENCH_WINDOWS:-2}
tokens=${BENCH_TOKENS:-32}
timeout=${BENCH_TIMEOUT:-50}
rounds=${BENCH_ROUNDS:-3}

cache=${1:-$work}

model="$cache/whisper-tiny"
if [ ! -f "$model/model.safetensors" ]; then
  "$python" "$here/make-random-audio.py" "$here/configs/whisper-tiny.json" \
    "$model" --seed 0
fi
"$python" - "$model/generation_config.json" <<'PY'
import json, sys
path = sys.argv[1]
cfg = json.load(open(path))
cfg["suppress_tokens"] = [cfg["eos_token_id"]]
json.dump(cfg, open(path, "w"), indent=1)
PY
fixture="$root/tests/fixtures/whisper-tiny-asr"
cp "$fixture/tokenizer.json" "$fixture/tokenizer_config.json" \
  "$fixture/vocab.json" "$fixture/merges.txt" "$fixture/added_tokens.json" \
  "$model/"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" "$model" \
  --windows "$windows" --tokens "$tokens" --timeout-ms "$timeout" \
  --rounds "$rounds" | tee "$work/results.jsonl"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "load average before: $load_before, after: $load_after"
"$python" "$here/batch-table.py" "$work/results.jsonl" windows
