#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerates samples/media/shapes.mp4: make-shapes.c draws the frames,
# GStreamer encodes them as H.264 (openh264enc, gstreamer1.0-plugins-bad)
# in an MP4 file.
#
#   ./samples/media/make-shapes.sh [OUT.mp4]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/shapes.mp4}
width=256
height=256
fps=15
frames=90
tmp=$(mktemp -d -t sfshapes.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cc -O2 -o "$tmp/make-shapes" "$here/make-shapes.c" -lm
"$tmp/make-shapes" $width $height $frames > "$tmp/frames.rgb"
gst-launch-1.0 -q filesrc location="$tmp/frames.rgb" \
  ! rawvideoparse width=$width height=$height format=rgb framerate=$fps/1 \
  ! videoconvert ! video/x-raw,format=I420 \
  ! openh264enc bitrate=700000 rate-control=bitrate gop-size=30 \
  ! h264parse ! mp4mux ! filesink location="$out"
echo "wrote $out"
