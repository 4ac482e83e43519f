#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs the whole Streamformer test suite: installs missing Debian packages,
# builds with meson and runs `meson test`.
#
#   ./tests/run.sh              release build in build/
#   ./tests/run.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer
#                               build in build-sanitize/
#   ./tests/run.sh --fuzz [RUNS]  every libFuzzer harness, RUNS executions
#                               each (default 20000, at most 60 s each),
#                               in build-fuzz/
#   ./tests/run.sh --tsan       ThreadSanitizer build (clang) in build-tsan/:
#                               the core and graphs suites, the concurrent
#                               shared-model pipelines and batching
# Extra arguments go to `meson test` (e.g. --suite verify).
set -euo pipefail
cd "$(dirname "$0")/.."
. samples/deps.sh

# A short pass for CI: at most 60 s per harness unless SF_FUZZ_MAX_TIME says.
if [ "${1:-}" = "--fuzz" ]; then
  SF_FUZZ_MAX_TIME=${SF_FUZZ_MAX_TIME:-60} exec tests/fuzz/run.sh "${2:-20000}"
fi

sanitize=0
if [ "${1:-}" = "--sanitize" ]; then sanitize=1; shift; fi

if [ "${1:-}" = "--tsan" ]; then
  shift
  sf_install_packages "${SF_BUILD_PACKAGES[@]}" clang
  dir=build-tsan
  CC=clang CXX=clang++ sf_build "$dir" -Dbuildtype=debugoptimized \
    -Db_sanitize=thread -Db_lundef=false
  # Fill the test registry with the installed plugins first, outside TSan:
  # otherwise the first test scans every one of them in its own process,
  # and some misuse locks in their constructors (libOpenNI2 unlocks a
  # mutex it does not hold), which TSan reports before any test runs. The
  # project's plugin (built with TSan) is then scanned by the first test.
  if [ ! -f "$dir/gst-registry.bin" ]; then
    GST_REGISTRY="$PWD/$dir/gst-registry.bin" GST_PLUGIN_PATH= \
      gst-inspect-1.0 >/dev/null 2>&1 || true
  fi
  # Any report fails the test. tests/tsan.supp lists only frames of the
  # uninstrumented libraries (GLib, GStreamer, OpenBLAS) and says why.
  export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1:print_suppressions=0"
  # clang links the TSan runtime into each program: the uninstrumented
  # gst-plugin-scanner cannot load the plugin, so scan in-process.
  export GST_REGISTRY_FORK=no
  # GSlice recycles memory between threads under its own (invisible)
  # locks; plain malloc is intercepted. The shim annotates GLib's locks.
  export G_SLICE=always-malloc
  export LD_PRELOAD="$PWD/$dir/tests/libsftsan-glib.so"
  if [ $# -gt 0 ]; then
    exec meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
  fi
  # The rest of the plugin suite runs whole models on long media: too
  # slow under TSan's 5-15x, and its threading is what these two cover:
  # pipelines sharing checkpoints in one process, started and stopped
  # together, and streams from several threads in one batching queue.
  meson test -C "$dir" --print-errorlogs --num-processes 2 \
    --suite core --suite graphs
  exec meson test -C "$dir" --print-errorlogs --num-processes 2 \
    test-shared-model test-batching
fi

sf_install_packages "${SF_BUILD_PACKAGES[@]}" "${SF_TEST_PACKAGES[@]}"

if [ $sanitize -eq 1 ]; then
  dir=build-sanitize
  sf_build "$dir" -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false
  # The plugin is loaded by uninstrumented programs (gst-launch-1.0): they
  # need the ASan runtime first in line. Leaks inside GLib's, GStreamer's
  # and OpenBLAS's own process-lifetime caches are not ours.
  export SF_ASAN_PRELOAD="$(gcc -print-file-name=libasan.so)"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:fast_unwind_on_malloc=0"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  export GST_REGISTRY_FORK=no
else
  dir=build
  sf_build "$dir" -Dbuildtype=release
fi

meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"
