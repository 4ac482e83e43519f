# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the element stream benches (bench-batch.sh,
# bench-whisper-batch.sh, bench-generator-streams.sh) after `set -eu` and
# with $0 set: finds the build's bench program named by $program and the
# plugin, and makes the scratch folder.
#
# Sets here, root, build, python, bench (the program's path), work (a
# temporary folder removed on exit) and exports GST_PLUGIN_PATH.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${SF_BUILD_DIR:-./build}
python=${PYTHON:-/usr/bin/python3}

bench="$build/tests/bench/$program"
if [ ! -x "$bench" ]; then
  echo "$(basename "$0" .sh): $bench is missing; build first (ninja -C $build)" >&2
  exit 1
fi
GST_PLUGIN_PATH=$(cd "$build/plugins" && pwd)
export GST_PLUGIN_PATH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
