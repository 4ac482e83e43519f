#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Encoding throughput of the tokenizer.json engine on 1 MiB of English text,
# for WordPiece (BERT uncased) and byte-level BPE (GPT-2 style), and one
# table.
#
#   tests/bench/bench-tokenizer.sh
#
# The text is the GNU GPL version 3 as Debian ships it in every install
# (/usr/share/common-licenses/GPL-3, base-files), repeated and cut to
# exactly 1 MiB, so every machine times the same bytes. The tokenizers are
# the reference cases under tests/fixtures: real tokenizer.json pipelines
# with small vocabularies (1,200 WordPiece ids, 700 BPE ids with 443 merges).
#
# Environment:
#   SF_BUILD_DIR   meson build folder (default ./build)
#   BENCH_ROUNDS   runs per tokenizer; the best median is kept (default 3)
#   BENCH_ITERS    timed encodes of the whole text per run (default 5)
#   PYTHON         the Python checked for the `tokenizers` package, the
#                  peer (default /usr/bin/python3)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fixtures=${SF_FIXTURES_DIR:-$here/../fixtures}
build=${SF_BUILD_DIR:-./build}
rounds=${BENCH_ROUNDS:-3}
iters=${BENCH_ITERS:-5}
python=${PYTHON:-/usr/bin/python3}
source_text=/usr/share/common-licenses/GPL-3
size=1048576

exe="$build/tests/bench/tokenizer-throughput"
if [ ! -x "$exe" ]; then
  echo "bench-tokenizer: $exe is missing; build first (ninja -C $build)" >&2
  exit 1
fi
if [ ! -r "$source_text" ]; then
  echo "bench-tokenizer: $source_text is missing (Debian package base-files)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

# 1 MiB of text: whole copies of the licence, then the head of one more
text="$work/english-1mib.txt"
: >"$text"
while [ "$(wc -c <"$text")" -lt "$size" ]; do
  cat "$source_text" >>"$text"
done
head -c "$size" "$text" >"$work/cut.txt"
mv "$work/cut.txt" "$text"

names="tok-wordpiece-uncased tok-bytelevel-bpe"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
round=1
while [ "$round" -le "$rounds" ]; do
  for name in $names; do
    echo "round $round: $name ..."
    "$exe" "$fixtures/$name" "$text" --rounds "$iters" --json \
      >>"$work/$name.jsonl"
  done
  round=$((round + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

if "$python" -c 'import tokenizers' 2>/dev/null; then
  peer="installed, but not timed by this script"
else
  peer="not installed for $python, so no peer figures"
fi

# The table is formatted with awk, so no Python is needed for it.
echo
echo "tokenizer throughput, $size bytes of English ($(basename "$source_text")"
echo "repeated), best of $rounds runs of the median of $iters encodes;"
echo "MB/s = 10^6 bytes per second, one thread"
echo "machine load average before $load_before, after $load_after"
echo
printf '%-24s %-6s %7s %9s %10s %9s %9s\n' tokenizer mode calls tokens \
  "median ms" "MB/s" "best MB/s"
for name in $names; do
  for mode in lines whole; do
    grep "\"mode\":\"$mode\"" "$work/$name.jsonl" | awk -v name="$name" \
      -v mode="$mode" '
      function field(key,   re, s) {
        re = "\"" key "\":[-0-9.e+]+"
        if (!match($0, re)) return -1
        s = substr($0, RSTART, RLENGTH)
        sub(/^[^:]*:/, "", s)
        return s + 0
      }
      {
        m = field("median_mbps")
        if (NR == 1 || m > best) {
          best = m; bestpeak = field("best_mbps"); ms = field("median_ms")
          calls = field("calls"); tokens = field("tokens")
        }
      }
      END {
        printf "%-24s %-6s %7d %9d %10.1f %9.2f %9.2f\n", name, mode, calls,
          tokens, ms, best, bestpeak
      }'
  done
done
echo
echo "lines: one encode call per non-empty line; whole: the file as one string"
echo "peer: Python tokenizers $peer"
