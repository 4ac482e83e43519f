#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Streamformer showcase: installs what is missing, builds, and runs the
# demo pipelines on the bundled checkpoints and sample media.
#
#   ./samples/demo.sh [OUTDIR]      (default: demo-out/)
set -euo pipefail
cd "$(dirname "$0")/.."
. samples/deps.sh

out=${1:-demo-out}
sf_install_packages "${SF_BUILD_PACKAGES[@]}"
sf_build build -Dbuildtype=release >/dev/null
mkdir -p "$out"

export GST_PLUGIN_PATH="$PWD/build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
cli=build/samples/cli/streamformer
texts=samples/texts/messages.txt
# The text classifier and the GPT-2 are small models trained on Debian's
# own package descriptions (samples/models/README.md says how well they
# do). Any Hub checkpoint drops in by its id once ./samples/fetch-model.sh
# has it (SF_DEMO_TEXT_MODEL, SF_DEMO_TEXTGEN_MODEL, with their own
# sample texts in SF_DEMO_TEXTS). The embedding model is the tiny random-
# weight reference model of the test suite: its vectors carry no meaning.
cls_model=${SF_DEMO_TEXT_MODEL:-samples/models/debian-sections}
gen_model=${SF_DEMO_TEXTGEN_MODEL:-samples/models/debian-gpt2}
embed_model=${SF_DEMO_EMBED_MODEL:-tests/fixtures/bert-tiny-embed}
packages=${SF_DEMO_TEXTS:-samples/texts/packages.txt}

echo "== streamformer inspect $cls_model"
"$cli" inspect "$cls_model"

echo
echo "== Debian section of each package description in $packages"
gst-launch-1.0 -q filesrc location="$packages" \
  ! sftextencoder model="$cls_model" split=lines \
  ! sfclassifier top-k=2 \
  ! sfjsonsink location="$out/labels.jsonl"
cat "$out/labels.jsonl"

echo
echo "== autocomplete with $gen_model (greedy, streamed token by token)"
for prompt in "This package provides" "The GNU" "Python 3 module for"; do
  printf '%s' "$prompt"
  printf '%s\n' "$prompt" | gst-launch-1.0 -q fdsrc \
    ! sftextgenerator model="$gen_model" max-new-tokens=20 stream=true \
    ! fdsink | cat   # a pipe: fdsink on a file would write at its own offsets
done

echo
echo "== sentence embeddings (mean pooling, L2-normalised)"
gst-launch-1.0 -q filesrc location="$texts" \
  ! sftextencoder model="$embed_model" split=lines pooling=mean normalize=true \
  ! sfjsonsink location="$out/embeddings.jsonl"
echo "$(wc -l < "$out/embeddings.jsonl") embeddings written"

echo
echo "== video segmentation: samples/media/shapes.mp4 with the bundled shapes-segformer"
seg_model=samples/models/shapes-segformer
start=$(date +%s%N)
# openh264 reports a harmless parameter error when it flushes at the end.
gst-launch-1.0 -q filesrc location=samples/media/shapes.mp4 ! decodebin \
  ! videoconvert ! sfimageencoder model="$seg_model" \
  ! sfsegmenter mode=overlay alpha=0.6 palette=none,ff0000,00ff00,0000ff \
  ! tee name=t ! queue ! sfjsonsink location="$out/shapes-fractions.jsonl" \
  t. ! queue ! videoconvert ! openh264enc bitrate=1500000 rate-control=bitrate \
  ! h264parse ! mp4mux ! filesink location="$out/shapes-overlay.mp4" \
  2> >(grep -v 'OpenH264' >&2)
frames=$(wc -l < "$out/shapes-fractions.jsonl")
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$frames frames segmented in ${ms} ms" \
  "($(( frames * 1000 / (ms > 0 ? ms : 1) )) fps end to end, decode and encode included)"
echo "overlay video: $out/shapes-overlay.mp4"

echo
echo "== spoken commands with the bundled kws-ast (1 s windows every 250 ms)"
# shapes.mp4 has no audio track: the commands come from espeak-ng.
sf_install_packages "${SF_DEMO_PACKAGES[@]}"
samples/media/make-commands.sh "$(cd "$out" && pwd)/commands.wav" >/dev/null
gst-launch-1.0 -q filesrc location="$out/commands.wav" ! decodebin \
  ! audioconvert ! audioresample \
  ! sfaudioencoder model=samples/models/kws-ast window-ms=1000 hop-ms=250 \
  ! sfclassifier top-k=1 ! sfjsonsink location="$out/commands.jsonl"
# Overlapping windows hear each word several times: print one line per run
# of windows that are not silence, with its best-scoring command.
sed -n 's/^{"pts":\([0-9.e-]*\),"duration":\([0-9.e-]*\),"labels":\["\([^"]*\)"\],"scores":\[\([0-9.e-]*\)\].*/\1 \2 \3 \4/p' \
  "$out/commands.jsonl" | awk '
  function show() { if (best != "") printf "%6.2f s  %-6s %.2f\n", at, best, score }
  $3 == "_silence_" { show(); best = ""; score = 0; next }
  $3 !~ /^_/ && $4 > score { best = $3; score = $4; at = $1 + $2 / 2 }
  END { show() }'

echo
echo "outputs: $out/labels.jsonl $out/embeddings.jsonl $out/shapes-overlay.mp4" \
  "$out/shapes-fractions.jsonl $out/commands.jsonl"
