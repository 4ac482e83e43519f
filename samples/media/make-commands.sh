#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes samples/media/commands.wav: the ten keyword-spotting commands
# (yes no up down left right on off stop go), spoken by espeak-ng, with a
# pause before each, as 16 kHz mono 16-bit PCM for the kws-ast demo.
# Needs espeak-ng and sox (see SF_DEMO_PACKAGES in samples/deps.sh).
#   make-commands.sh [OUT.wav]
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-commands.wav}
words=(yes no up down left right on off stop go)
tmp=$(mktemp -d -t sfcommands.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

parts=()
i=0
for w in "${words[@]}"; do
  # a slightly slower, lower voice; each word padded to one second
  espeak-ng -v en-us -s 140 -p 40 -w "$tmp/raw-$i.wav" "$w"
  sox "$tmp/raw-$i.wav" -r 16000 -c 1 -b 16 "$tmp/word-$i.wav" \
    silence 1 0.01 1% reverse silence 1 0.01 1% reverse \
    pad 0.25 0 gain -n -3
  sox "$tmp/word-$i.wav" "$tmp/sec-$i.wav" pad 0 \
    "$(sox --i -D "$tmp/word-$i.wav" | awk '{d = 1 - $1; print (d > 0 ? d : 0)}')"
  sox -n -r 16000 -c 1 -b 16 "$tmp/gap-$i.wav" trim 0 1.0
  parts+=("$tmp/gap-$i.wav" "$tmp/sec-$i.wav")
  i=$((i + 1))
done
sox -n -r 16000 -c 1 -b 16 "$tmp/end.wav" trim 0 1.0
sox "${parts[@]}" "$tmp/end.wav" -r 16000 -c 1 -b 16 "$out"
echo "wrote $out: $(sox --i -D "$out") s"
