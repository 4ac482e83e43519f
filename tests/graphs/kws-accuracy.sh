#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bundled keyword-spotting checkpoint (samples/models/kws-ast) through
# `streamformer run --audio`: the top label of every clip in
# tests/fixtures/kws-eval (named LABEL-N-WORD.wav) must be LABEL for at
# least 95 % of them, at PRECISION (f32 by default; bf16 and int8 fall
# back to f32 with a warning on a CPU without their instructions).
#   kws-accuracy.sh STREAMFORMER MODEL_DIR CLIPS_DIR [PRECISION]
set -euo pipefail
cli=$1 model=$2 clips=$3 precision=${4:-f32}
total=0 correct=0
for wav in "$clips"/*.wav; do
  truth=$(basename "$wav"); truth=${truth%%-*}
  line=$("$cli" run "$model" --audio "$wav" --json --top-k 1 \
    --precision "$precision")
  got=$(printf '%s\n' "$line" | sed -n 's/^{"labels":\["\([^"]*\)"\].*/\1/p')
  total=$((total + 1))
  if [ "$got" = "$truth" ]; then
    correct=$((correct + 1))
  else
    echo "miss: $(basename "$wav") -> ${got:-?}" >&2
  fi
done
echo "kws accuracy ($precision): $correct / $total"
[ "$total" -ge 60 ] && [ $((correct * 100)) -ge $((total * 95)) ]
