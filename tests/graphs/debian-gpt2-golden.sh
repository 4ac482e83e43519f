#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bundled GPT-2 (samples/models/debian-gpt2) through `streamformer run
# --text-file --json`: the greedy continuation of every prompt of
# tests/fixtures/debian-gpt2-eval/golden.tsv must be, token for token, the
# one the PyTorch model that trained it produced
# (samples/models/train/train-debian-gpt2.py).
#   debian-gpt2-golden.sh STREAMFORMER MODEL_DIR EVAL_DIR
set -euo pipefail
cli=$1 model=$2 eval=$3
prompts=$(mktemp)
trap 'rm -f "$prompts"' EXIT
grep -v '^#' "$eval/golden.tsv" | cut -f1 > "$prompts"
"$cli" run "$model" --text-file "$prompts" --max-new-tokens 20 --json |
  awk -v golden="$eval/golden.tsv" '
  BEGIN {
    while ((getline line < golden) > 0) {
      if (line ~ /^#/) continue
      split(line, f, "\t")
      rows++; prompt[rows] = f[1]; want[rows] = f[3]
    }
  }
  {
    n++
    ids = $0; sub(/.*"ids":\[/, "", ids); sub(/\].*/, "", ids)
    gsub(/,/, " ", ids)
    if (ids != want[n]) {
      printf "prompt \"%s\": got %s, torch %s\n", prompt[n], ids, want[n]; bad++
    }
  }
  END {
    if (n != rows) { print n " outputs for " rows " prompts"; exit 1 }
    printf "%d prompts, %d continuations equal torch'"'"'s\n", n, n - bad
    exit bad > 0
  }'
