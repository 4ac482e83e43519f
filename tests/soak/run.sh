#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Soak test: runs live video segmentation (30 fps), keyword spotting and a
# text stream (one line per 100 ms) together in one process for MINUTES
# minutes, samples its RSS and open fds every second, and fails when RSS
# grows by 2 % or more after the warm-up or the fd count moves at all.
#
#   tests/soak/run.sh [MINUTES]        default 10
#   SOAK_SECONDS=60 tests/soak/run.sh  short run for CI (20 s warm-up)
#
# Writes soak.csv, soak.txt and soak.png (RSS and fds over time) to
# $SOAK_OUT (default build/soak). Exit status: 0 PASS, 1 FAIL, 2 pipeline
# error.
set -euo pipefail
cd "$(dirname "$0")/../.."
. samples/deps.sh

seconds=${SOAK_SECONDS:-$(( ${1:-10} * 60 ))}
# A whole minute of warm-up unless the run is too short to leave a window.
warmup=${SOAK_WARMUP:-$(( seconds / 3 < 60 ? seconds / 3 : 60 ))}
build=build
out=${SOAK_OUT:-$build/soak}

sf_install_packages "${SF_BUILD_PACKAGES[@]}" gnuplot-nox
sf_build "$build" -Dbuildtype=release
mkdir -p "$out"
export GST_PLUGIN_PATH="$PWD/$build/plugins"
export GST_REGISTRY="$PWD/$build/gst-registry.bin"

set +e
"$build/tests/soak/sf-soak" --seconds "$seconds" --warmup "$warmup" \
  --csv "$out/soak.csv" \
  --video-model samples/models/shapes-segformer \
  --audio-model samples/models/kws-ast \
  --text-model tests/fixtures/bert-tiny-cls 2>&1 | tee "$out/soak.txt"
rc=${PIPESTATUS[0]}
set -e

# Plot whatever was sampled, also after a failure: the curve shows where.
if [ "$(wc -l < "$out/soak.csv")" -gt 2 ]; then
  verdict=$(tail -n 1 "$out/soak.txt")
  tests/soak/plot.sh "$out/soak.csv" "$out/soak.png" "$warmup" \
    "soak: $seconds s, three live pipelines: $verdict"
  echo "soak: plot in $out/soak.png"
fi
exit "$rc"
