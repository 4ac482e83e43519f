#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Python samples (samples/python) run against the build's plugin and
# print what they promise: segment-file.py one line of class fractions per
# frame of shapes.mp4, classify-live.py one label per window of a live
# source. Skipped (77) without python3-gi and gir1.2-gstreamer-1.0.
set -eu

samples="$SF_SOURCE_DIR/samples/python"
out=$(mktemp -d -t sfpython.XXXXXX)
trap 'rm -rf "$out"' EXIT

# The first python3 that has PyGObject with GStreamer's typelib: a
# virtual environment's python3 may come first in PATH without them.
python=
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c "import gi; gi.require_version('Gst', '1.0'); \
from gi.repository import Gst" 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "no python3 with gi and Gst 1.0 (python3-gi, gir1.2-gstreamer-1.0): skipped"
  exit 77
fi

# In the sanitized build the plugin needs the ASan runtime preloaded into
# the (uninstrumented) interpreter; the interpreter's own allocations at
# exit are not the plugin's, so leak checking stays with the C tests.
if [ -n "${SF_ASAN_PRELOAD:-}" ]; then
  export LD_PRELOAD="$SF_ASAN_PRELOAD"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
fi

"$python" "$samples/segment-file.py" > "$out/segment.txt"
cat "$out/segment.txt"
frames=$(wc -l < "$out/segment.txt")
# shapes.mp4 is 3 s at 15 frames per second
[ "$frames" -ge 30 ] || { echo "only $frames frames"; exit 1; }
# every line: pts, the source element (filesrc "file"), class fractions
bad=$(grep -cv '^[0-9.]* s file: background 0\.[0-9]*' "$out/segment.txt" || true)
[ "$bad" -eq 0 ] || { echo "$bad malformed lines"; exit 1; }
grep -q 'circle 0\.[0-9]*' "$out/segment.txt"

"$python" "$samples/classify-live.py" --windows 3 > "$out/classify.txt"
cat "$out/classify.txt"
[ "$(wc -l < "$out/classify.txt")" -eq 3 ] || exit 1
labels='yes|no|up|down|left|right|on|off|stop|go|_unknown_|_silence_'
bad=$(grep -Ecv "^[0-9.]+ s mic: ($labels) [01]\.[0-9]{3}$" "$out/classify.txt" || true)
[ "$bad" -eq 0 ] || { echo "$bad malformed lines"; exit 1; }
