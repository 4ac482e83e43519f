#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Text generation throughput with sftextgenerator batch-size N against
# batch-size 1, in one run: N = 1, 2, 4 and 8 streams sharing one GPT-2
# small (random full-size weights), short prompts, greedy, 32 new tokens
# a prompt.
#
#   tests/bench/bench-generator-streams.sh [CHECKPOINT_DIR]
#
# CHECKPOINT_DIR caches the generated checkpoint (gpt2/, about 500 MB);
# without it a temporary folder is used and removed afterwards. It gets
# the tokenizer of the tests' tiny GPT-2 (ids it does not know decode to
# nothing; the text is not the point) and a generation_config.json whose
# min_new_tokens keeps the end token away, so every prompt decodes all its
# tokens.
#
# Environment:
#   SF_BUILD_DIR    meson build folder (default ./build)
#   BENCH_PROMPTS   prompts per stream (default 4)
#   BENCH_TOKENS    new tokens per prompt (default 32)
#   BENCH_TIMEOUT   batch-timeout-ms of the batched runs (default 50)
#   BENCH_ROUNDS    rounds, each running every configuration once; each
#                   configuration's fastest round counts (default 3)
#   PYTHON          a Python with numpy (default /usr/bin/python3)
set -eu

program=decode-throughput
. "$(dirname "$0")/stream-bench.sh"
prompts=${BENCH_PROMPTS:-4}
tokens=${BENCH_TOKENS:-32}
timeout=${BENCH_TIMEOUT:-50}
rounds=${BENCH_ROUNDS:-3}

cache=${1:-$work}

model="$cache/gpt2"
if [ ! -f "$model/model.safetensors" ]; then
  "$python" "$here/make-random-gpt2.py" "$here/configs/gpt2.json" "$model" \
    --seed 0
fi
fixture="$root/tests/fixtures/gpt2-tiny-lm"
cp "$fixture/tokenizer.json" "$fixture/tokenizer_config.json" \
  "$fixture/vocab.json" "$fixture/merges.txt" "$model/"
"$python" - "$model/generation_config.json" "$tokens" <<'PY'
import json, sys
json.dump({"bos_token_id": 50256, "eos_token_id": 50256,
           "min_new_tokens": int(sys.argv[2])}, open(sys.argv[1], "w"))
PY

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$bench" "$model" --generate \
  --windows "$prompts" --tokens "$tokens" --timeout-ms "$timeout" \
  --rounds "$rounds" | tee "$work/results.jsonl"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "load average before: $load_before, after: $load_after"
"$python" "$here/batch-table.py" "$work/results.jsonl" prompts
