#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# samples/multi-host.sh across three network namespaces: every frame the
# camera sends comes back from the broker as one result, pts increasing,
# over RTP/UDP; over SRT with 5% loss on the camera link; and at QoS 1
# across a broker restart mid-stream (counting unique frames).
# SKIP (77) without CAP_NET_ADMIN; the loss case alone is skipped when the
# kernel has neither netem nor iptables' statistic match.
# Usage: test-multi-host.sh MULTI_HOST_SH
set -euo pipefail

script=$1
frames=60
out=$(mktemp -d -t sfmultihost-test.XXXXXX)
trap 'rm -rf "$out"' EXIT

# In the sanitized build the plugin needs the ASan runtime preloaded into
# the (uninstrumented) GStreamer tools; this test is about the network, so
# leak checking of those whole processes stays with the C tests.
inspect () {
  LD_PRELOAD=${SF_ASAN_PRELOAD:-} gst-inspect-1.0 "$@"
}
if [ -n "${SF_ASAN_PRELOAD:-}" ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
fi

if ! inspect sfmqttsink >/dev/null 2>&1; then
  echo "SKIP: sfmqttsink is not built (libpaho-mqtt-dev)"
  exit 77
fi
for element in openh264enc srtsink srtsrc mpegtsmux tsdemux opusenc avdec_h264; do
  if ! inspect "$element" >/dev/null 2>&1; then
    echo "SKIP: GStreamer element $element is missing" \
      "(gstreamer1.0-plugins-bad, -base, -libav)"
    exit 77
  fi
done
probe="sfmhprobe$$"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "SKIP: cannot make network namespaces (needs root or CAP_NET_ADMIN)"
  exit 77
fi
if ! ip -n "$probe" link set lo up 2>/dev/null; then
  ip netns delete "$probe"
  echo "SKIP: cannot configure links in a network namespace (needs CAP_NET_ADMIN)"
  exit 77
fi
ip netns delete "$probe"

failed=0
# Runs one case; $1 names it, the rest go to multi-host.sh.
run_case () {
  local name=$1 rc=0; shift
  echo "== $name"
  "$script" --frames "$frames" --fps 12 --out "$out/$name" "$@" \
    >"$out/$name.out" 2>&1 || rc=$?
  cat "$out/$name.out"
  return $rc
}
# Reads key $2 of case $1's summary.
field () { sed -n "s/^$2=\([^ ]*\).*/\1/p" "$out/$1/summary" 2>/dev/null; }
check () {
  if [ "$(field "$1" "$2")" != "$3" ]; then
    echo "FAIL: $1: $2 is $(field "$1" "$2"), expected $3"
    failed=1
  fi
}

run_case udp --transport udp || { echo "FAIL: udp: multi-host.sh failed"; failed=1; }
check udp results "$frames"
check udp unique_pts "$frames"
check udp pts_monotonic yes

rc=0
run_case srt-loss --transport srt --loss 5 --srt-latency 1000 || rc=$?
if [ $rc -eq 77 ]; then
  echo "SKIP (loss case only): no netem and no iptables statistic match"
elif [ $rc -ne 0 ]; then
  echo "FAIL: srt-loss: multi-host.sh exited with $rc"
  failed=1
else
  check srt-loss results "$frames"
  check srt-loss unique_pts "$frames"
  check srt-loss pts_monotonic yes
  # The loss must have happened for the case to mean anything.
  dropped=$(field srt-loss loss_dropped)
  if [ "${dropped:-0}" -le 0 ]; then
    echo "FAIL: srt-loss: no packet was dropped on the camera link"
    failed=1
  fi
fi

run_case restart --transport udp --restart-broker-at 2.5 \
  || { echo "FAIL: restart: multi-host.sh failed"; failed=1; }
check restart broker_starts 2
check restart unique_pts "$frames"
check restart pts_monotonic yes
twice=$(( $(field restart results) + 0 - $(field restart unique_pts) + 0 ))
echo "restart: $twice result(s) arrived twice"

if [ $failed -ne 0 ]; then
  for log in "$out"/*/inference.log; do
    echo "--- $log"; tail -n 20 "$log"
  done
  exit 1
fi
echo "all cases passed"
