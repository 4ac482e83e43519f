#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and
# runs each one on its seed corpus, then prints executions, exec/s and
# coverage per harness. Exits non-zero when any harness crashes, leaks,
# times out or runs out of memory; the input is kept under
# build-fuzz/artifacts/.
#
#   tests/fuzz/run.sh [RUNS]     RUNS executions per harness (default 1000000)
#
# Environment:
#   SF_FUZZ_JOBS       harnesses run side by side (default: CPU count)
#   SF_FUZZ_MAX_TIME   seconds per harness at most, 0 = no limit (default)
#   SF_FUZZ_HARNESSES  a space-separated subset (default: all)
#   SF_FUZZ_ARGS       extra libFuzzer flags
set -euo pipefail
cd "$(dirname "$0")/../.."
. samples/deps.sh

runs=${1:-1000000}
jobs=${SF_FUZZ_JOBS:-$(nproc)}
max_time=${SF_FUZZ_MAX_TIME:-0}
harnesses=${SF_FUZZ_HARNESSES:-safetensors model-config tokenizer vocab preprocessor image audio}
dir=build-fuzz

sf_install_packages "${SF_BUILD_PACKAGES[@]}" clang libclang-rt-dev
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized
fi
ninja -C "$dir" fuzz

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export OPENBLAS_NUM_THREADS=1
export TMPDIR="$PWD/$dir/fuzz-tmp"
logs="$dir/fuzz-logs"
rm -f "$logs"/*.rc "$logs"/*.pid
mkdir -p "$TMPDIR" "$logs" "$dir/artifacts"

# Tokenizer inputs are kept under 8 KB: an execution costs about what its
# tokenizer's size does, and the small seeds (shrink-tokenizer.py) hold
# every pipeline stage of the fixtures' tokenizers in 3 to 7 KB. On inputs
# up to the full fixture files (25 to 50 KB) the tokenizer harness ran
# about fifteen times fewer inputs a second.
max_len_of () {
  case $1 in
    tokenizer | vocab) echo 8192 ;;
  esac
}

dict_of () {
  case $1 in
    safetensors) echo tests/fuzz/safetensors.dict ;;
    model-config | tokenizer | vocab | preprocessor) echo tests/fuzz/json.dict ;;
  esac
}

run_one () {
  local h=$1 work="$dir/fuzz-corpus/$1" dict seeds=(tests/fuzz/corpus/$1) extra=()
  mkdir -p "$work"
  # new inputs go to the first folder (in the build tree); the committed
  # seeds and regression inputs are read only
  [ -d tests/fuzz/regressions/$h ] && seeds+=(tests/fuzz/regressions/$h)
  dict=$(dict_of "$h")
  [ -n "$dict" ] && extra+=(-dict="$dict")
  [ -n "$(max_len_of "$h")" ] && extra+=(-max_len="$(max_len_of "$h")")
  [ "$max_time" != 0 ] && extra+=(-max_total_time="$max_time")
  set +e
  nice -n 10 "$dir/tests/fuzz/fuzz-$h" -runs="$runs" -timeout=30 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$h-" \
    "${extra[@]}" ${SF_FUZZ_ARGS:-} "$work" "${seeds[@]}" > "$logs/$h.log" 2>&1 &
  echo $! > "$logs/$h.pid"
  wait $!
  echo $? > "$logs/$h.rc"
  rm -f "$logs/$h.pid"
}

# an interrupted run stops its fuzzers too
stop_fuzzers () {
  local p
  for p in "$logs"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  return 0
}
trap 'stop_fuzzers; exit 130' INT TERM

start=$(date +%s)
for h in $harnesses; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz: $h ($runs runs)"
  run_one "$h" &
done
wait

failed=0
printf '\n%-14s %10s %8s %7s %7s  %s\n' harness executions exec/s cov ft result
for h in $harnesses; do
  log="$logs/$h.log"
  rc=$(cat "$logs/$h.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  if [ "$rc" = 0 ]; then result=ok; else
    result="FAILED (exit $rc, see $log)"
    failed=1
  fi
  printf '%-14s %10s %8s %7s %7s  %s\n' "$h" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$result"
done
echo "fuzz: $(( $(date +%s) - start )) s"
if [ $failed -ne 0 ]; then
  grep -h -A12 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error' "$logs"/*.log | head -60 >&2 || true
  exit 1
fi
