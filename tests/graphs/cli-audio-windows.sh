#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `streamformer run --audio` on a file longer than the model's window: the
# window slides over the whole file. Four spoken-command clips of
# tests/fixtures/kws-eval (named LABEL-N-WORD.wav) are joined into one file
# with GStreamer; the bundled keyword spotter must print one line per
# window, each with its clip's label and its time span, then a summary.
#   cli-audio-windows.sh STREAMFORMER MODEL_DIR CLIPS_DIR
set -euo pipefail
cli=$1 model=$2 clips=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one clip of each of four different words
wavs=() seen=" "
for w in "$clips"/*.wav; do
  label=$(basename "$w"); label=${label%%-*}
  case $label in _*) continue ;; esac
  case $seen in *" $label "*) continue ;; esac
  seen="$seen$label " wavs+=("$w")
  [ ${#wavs[@]} -eq 4 ] && break
done
[ ${#wavs[@]} -eq 4 ]
branches=()
for w in "${wavs[@]}"; do
  branches+=(filesrc "location=$w" ! wavparse ! audioconvert ! audioresample
    ! audio/x-raw,format=S16LE,rate=16000,channels=1 ! c.)
done
# gst-launch-1.0 is not instrumented: under ASan the runtime goes first
LD_PRELOAD=${SF_ASAN_PRELOAD:-} gst-launch-1.0 -q concat name=c ! wavenc ! filesink "location=$tmp/joined.wav" \
  "${branches[@]}"

"$cli" run "$model" --audio "$tmp/joined.wav" --json --top-k 1 >"$tmp/out.jsonl"
cat "$tmp/out.jsonl"
[ "$(wc -l <"$tmp/out.jsonl")" -ge 5 ]
# every clip's label is the top label of at least one window
for w in "${wavs[@]}"; do
  label=$(basename "$w"); label=${label%%-*}
  grep -q "^{\"labels\":\[\"$label\"\]" "$tmp/out.jsonl" \
    || { echo "no window labelled $label" >&2; exit 1; }
done
# windows follow each other from 0 to the end; the summary covers them all
first=$(head -n 1 "$tmp/out.jsonl")
last=$(tail -n 1 "$tmp/out.jsonl")
case $first in *'"start":0,'*) ;; *) echo "first window: $first" >&2; exit 1 ;; esac
case $last in *'"windows":'*'"start":0'*|*'"start":0,'*'"windows":'*) ;;
  *) echo "no summary: $last" >&2; exit 1 ;; esac
n_windows=$(( $(wc -l <"$tmp/out.jsonl") - 1 ))
case $last in *"\"windows\":$n_windows}"*) ;;
  *) echo "summary does not count $n_windows windows: $last" >&2; exit 1 ;; esac
