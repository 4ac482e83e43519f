#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bundled shapes checkpoint segments the four reference scenes with a
# pixel accuracy of at least 0.97, both through the CLI and through a
# gst-launch-1.0 pipeline, against the scenes' ground-truth label maps, at
# PRECISION (f32 by default).
# Usage: test-shapes.sh GST_LAUNCH STREAMFORMER SF_MASK_ACCURACY [PRECISION]
set -eu

launch=$1
cli=$2
accuracy=$3
precision=${4:-f32}
model="$SF_SOURCE_DIR/samples/models/shapes-segformer"
scenes="$SF_FIXTURES_DIR/shapes-eval"
out=$(mktemp -d -t sfshapes.XXXXXX)
trap 'rm -rf "$out"' EXIT

if [ -n "${SF_ASAN_PRELOAD:-}" ]; then
  preload="$SF_ASAN_PRELOAD"
else
  preload=
fi

for i in 0 1 2 3; do
  scene="$scenes/scene$i.png"
  "$cli" run "$model" --image "$scene" --json --mask "$out/cli$i.pgm" \
    --precision "$precision"
  LD_PRELOAD="$preload" "$launch" -q filesrc location="$scene" ! pngdec \
    ! videoconvert ! sfimageencoder model="$model" precision="$precision" \
    ! sfsegmenter mode=mask \
    ! pnmenc ! filesink location="$out/gst$i.pgm"
  LD_PRELOAD="$preload" "$accuracy" 0.97 "$out/cli$i.pgm" \
    "$scenes/scene$i-labels.png"
  LD_PRELOAD="$preload" "$accuracy" 0.97 "$out/gst$i.pgm" \
    "$scenes/scene$i-labels.png"
done
