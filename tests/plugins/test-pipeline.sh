#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The classification pipeline as a user types it: gst-launch-1.0 must exit 0
# and sfjsonsink must write one JSON line per input line.
# Usage: test-pipeline.sh GST_LAUNCH TEXTS_FILE
set -eu

launch=$1
texts=$2
model="$SF_FIXTURES_DIR/bert-tiny-cls"
out=$(mktemp -d -t sflaunch.XXXXXX)
trap 'rm -rf "$out"' EXIT

# In the sanitized build the plugin needs the ASan runtime preloaded into
# the (uninstrumented) gst-launch-1.0.
if [ -n "${SF_ASAN_PRELOAD:-}" ]; then
  export LD_PRELOAD="$SF_ASAN_PRELOAD"
fi
"$launch" -q filesrc location="$texts" \
  ! sftextencoder model="$model" split=lines \
  ! sfclassifier top-k=2 \
  ! sfjsonsink location="$out/out.jsonl"

want=$(grep -c . "$texts")
got=$(wc -l < "$out/out.jsonl")
if [ "$got" -ne "$want" ]; then
  echo "expected $want JSON lines, got $got" >&2
  cat "$out/out.jsonl" >&2
  exit 1
fi
# Every line is an object with labels and scores.
if grep -v '^{"pts":.*"labels":\["[^"]*","[^"]*"\],"scores":\[.*\].*}$' \
    "$out/out.jsonl" >&2; then
  echo "malformed JSON line above" >&2
  exit 1
fi
