#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One pipeline spread over three hosts, made on this machine as network
# namespaces joined by veth pairs (needs root, or CAP_NET_ADMIN):
#
#   camera 10.77.1.1 --- 10.77.1.2 inference 10.77.2.1 --- 10.77.2.2 broker
#
# camera: videotestsrc -> H.264 (openh264enc) -> RTP over UDP, or MPEG-TS
#   over SRT; inference: decodes, segments with the bundled shapes-segformer
#   and publishes each frame's class fractions with sfmqttsink (QoS 1);
#   broker: mosquitto, and a mosquitto_sub that writes every result it gets.
#
#   sudo ./samples/multi-host.sh [--transport udp|srt] [--frames N]
#        [--fps N] [--loss PERCENT] [--restart-broker-at SECONDS]
#        [--srt-latency MS] [--out DIR]
#
# --loss drops that share of packets both ways on the camera link (tc netem,
#   else iptables' random match when the kernel has no netem);
# --restart-broker-at stops mosquitto that many seconds after the camera
#   starts and starts it again a second later;
# --out keeps results.jsonl (one JSON object per result), summary (key=value:
#   frames_sent, results, unique_pts, pts_monotonic, loss_dropped,
#   broker_starts) and each role's log; without it they go with the rest.
# Every namespace, process and temporary file goes away on exit, failure
# included. Exit status: 0 when the pipeline ran (the summary says what
# arrived), 77 when namespaces (or the asked-for loss) cannot be made,
# 1 on any other failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

transport=udp
frames=60
fps=12
loss=
restart_at=
srt_latency=1000
out=
while [ $# -gt 0 ]; do
  case $1 in
    --transport) transport=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --fps) fps=$2; shift 2 ;;
    --loss) loss=$2; shift 2 ;;
    --restart-broker-at) restart_at=$2; shift 2 ;;
    --srt-latency) srt_latency=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "multi-host: unknown argument $1 (see --help)" >&2; exit 1 ;;
  esac
done
case $transport in
  udp | srt) ;;
  *) echo "multi-host: --transport is udp or srt, not $transport" >&2; exit 1 ;;
esac

model="$root/samples/models/shapes-segformer"
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$root/build/plugins}
for tool in ip gst-launch-1.0 mosquitto mosquitto_sub; do
  command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
  command -v "$tool" >/dev/null || {
    echo "multi-host: $tool is missing (samples/deps.sh lists the packages)" >&2
    exit 1
  }
done
# A sanitized build's plugin needs the ASan runtime first in line.
preload=${SF_ASAN_PRELOAD:-}
if ! env LD_PRELOAD="$preload" gst-inspect-1.0 sfmqttsink >/dev/null 2>&1; then
  echo "multi-host: sfmqttsink not found in $GST_PLUGIN_PATH" \
    "(build first: ninja -C build; it needs libpaho-mqtt-dev)" >&2
  exit 1
fi

# Names carry the process id: two runs, or the machine's own interfaces,
# never collide. The veth ends are made inside the namespaces.
tag="sfmh$$"
ns_cam="$tag-camera"
ns_inf="$tag-inference"
ns_brk="$tag-broker"
tmp=$(mktemp -d -t sfmultihost.XXXXXX)
pids=()
made_ns=()

cleanup () {
  local pid ns
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.2
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Anything a role left behind inside its namespace, by its process id.
  for ns in "${made_ns[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      kill -9 "$pid" 2>/dev/null || true
    done
    ip netns delete "$ns" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Roles in the background go through ip netns exec directly (it execs the
# command): their $! is the process itself, not a subshell.
in_ns () { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Waits up to $3 seconds for a $2 (tcp or udp) socket on port $4 in $1.
wait_port () {
  local ns=$1 proto=$2 secs=$3 port=$4 i
  for ((i = 0; i < secs * 10; i++)); do
    if in_ns "$ns" ss -ln -"${proto:0:1}" | grep -q ":$port\b"; then
      return 0
    fi
    sleep 0.1
  done
  echo "multi-host: nothing listens on $proto port $port in $ns" >&2
  return 1
}

# --- the hosts -------------------------------------------------------------
for ns in "$ns_cam" "$ns_inf" "$ns_brk"; do
  if ! ip netns add "$ns" 2>"$tmp/netns.err"; then
    echo "multi-host: cannot make network namespaces ($(cat "$tmp/netns.err"));" \
      "run as root (CAP_NET_ADMIN)" >&2
    exit 77
  fi
  made_ns+=("$ns")
  if ! in_ns "$ns" ip link set lo up 2>"$tmp/netns.err"; then
    echo "multi-host: cannot configure links in a namespace" \
      "($(cat "$tmp/netns.err")); it needs CAP_NET_ADMIN" >&2
    exit 77
  fi
done
ip link add sfcam0 netns "$ns_cam" type veth peer name sfcam0 netns "$ns_inf"
ip link add sfbrk0 netns "$ns_inf" type veth peer name sfbrk0 netns "$ns_brk"
in_ns "$ns_cam" ip addr add 10.77.1.1/24 dev sfcam0
in_ns "$ns_inf" ip addr add 10.77.1.2/24 dev sfcam0
in_ns "$ns_inf" ip addr add 10.77.2.1/24 dev sfbrk0
in_ns "$ns_brk" ip addr add 10.77.2.2/24 dev sfbrk0
for ns in "$ns_cam" "$ns_inf" "$ns_brk"; do
  for dev in sfcam0 sfbrk0; do
    in_ns "$ns" ip link set "$dev" up 2>/dev/null || true
  done
done

# Loss on the camera link, both ways: netem where the kernel has it, else
# iptables dropping at random on the receiving side of each end. The rules
# go in at 0% before anything starts (so a kernel without either fails
# early) and are raised once the camera has connected: with loss during
# SRT's handshake, srtsrc (which serves several callers) sometimes took a
# retried handshake as a second caller and the first frames never played.
loss_kind=
set_loss () {
  local pct=$1 ns p
  p=$(awk -v l="$pct" 'BEGIN { printf "%.4f", l / 100 }')
  for ns in "$ns_cam" "$ns_inf"; do
    case $loss_kind in
      netem)
        in_ns "$ns" tc qdisc "$2" dev sfcam0 root netem loss "$pct%" || return 1 ;;
      iptables)
        if [ "$2" = add ]; then
          in_ns "$ns" iptables -A INPUT -i sfcam0 -m statistic --mode random \
            --probability "$p" -j DROP || return 1
        else
          in_ns "$ns" iptables -R INPUT 1 -i sfcam0 -m statistic --mode random \
            --probability "$p" -j DROP || return 1
        fi ;;
    esac
  done
}
if [ -n "$loss" ]; then
  if loss_kind=netem && set_loss 0 add 2>/dev/null; then
    :
  elif loss_kind=iptables && command -v iptables >/dev/null \
    && set_loss 0 add 2>/dev/null; then
    :
  else
    echo "multi-host: cannot add packet loss: the kernel has no netem" \
      "(sch_netem) and iptables' statistic match is unavailable" >&2
    exit 77
  fi
fi

loss_dropped () {
  local n=0 ns d
  for ns in "$ns_cam" "$ns_inf"; do
    case $loss_kind in
      netem)
        d=$(in_ns "$ns" tc -s qdisc show dev sfcam0 \
          | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -n 1) ;;
      iptables)
        d=$(in_ns "$ns" iptables -L INPUT -v -n -x \
          | awk '$3 == "DROP" { print $1; exit }') ;;
      *) d=0 ;;
    esac
    n=$((n + ${d:-0}))
  done
  echo "$n"
}

# --- broker ----------------------------------------------------------------
# Persistence and a lasting subscriber session keep what arrives while the
# subscriber reconnects after a broker restart.
cat >"$tmp/mosquitto.conf" <<EOF
user $(id -un)
allow_anonymous true
persistence true
persistence_location $tmp/
log_dest stderr
listener 1883 0.0.0.0
EOF
broker_starts=0
start_broker () {
  ip netns exec "$ns_brk" mosquitto -c "$tmp/mosquitto.conf" >>"$tmp/broker.log" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  broker_starts=$((broker_starts + 1))
  wait_port "$ns_brk" tcp 10 1883
}
start_broker
topic="streamformer/camera0"
ip netns exec "$ns_brk" mosquitto_sub -h 127.0.0.1 -t "$topic" -q 1 -c \
  -i "$tag-subscriber" >"$tmp/results.jsonl" 2>>"$tmp/broker.log" &
sub_pid=$!
pids+=("$sub_pid")

# --- inference -------------------------------------------------------------
case $transport in
  udp)
    receive="udpsrc port=5000 caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96
      ! rtpjitterbuffer latency=200 ! rtph264depay"
    send="rtph264pay config-interval=-1 pt=96 ! udpsink host=10.77.1.2 port=5000"
    port_proto=udp ;;
  srt)
    # The queue keeps srtsrc reading while a frame is segmented.
    receive="srtsrc uri=srt://:7001 mode=listener latency=$srt_latency
      ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! tsdemux"
    # One TS message of 7 packets fits an SRT payload (1316 bytes). SRT
    # drops what is still in flight when the caller closes: a silent Opus
    # track keeps the link up for the latency after the last frame.
    tail_cs=$(( (frames * 100 + fps - 1) / fps + srt_latency / 10 + 100 ))
    send="mpegtsmux name=mux alignment=7
      ! srtsink uri=srt://10.77.1.2:7001 mode=caller latency=$srt_latency
      audiotestsrc is-live=true wave=silence samplesperbuffer=480
        num-buffers=$tail_cs ! audio/x-raw,rate=48000,channels=1 ! opusenc ! mux."
    port_proto=udp ;;
esac
# Job control on: a background job would otherwise ignore the SIGINT that
# tells gst-launch-1.0 -e to finish.
set -m
# shellcheck disable=SC2086 # the pipeline descriptions split into words
env LD_PRELOAD="$preload" ip netns exec "$ns_inf" gst-launch-1.0 -e $receive \
  ! h264parse ! avdec_h264 ! videoconvert \
  ! sfimageencoder model="$model" ! sfsegmenter mode=labels \
  ! sfmqttsink host=10.77.2.2 topic="$topic" qos=1 sync=false \
  >"$tmp/inference.log" 2>&1 &
inf_pid=$!
set +m
pids+=("$inf_pid")
wait_port "$ns_inf" "$port_proto" 30 "$([ "$transport" = udp ] && echo 5000 || echo 7001)"

# --- camera ----------------------------------------------------------------
# shellcheck disable=SC2086
env LD_PRELOAD="$preload" ip netns exec "$ns_cam" gst-launch-1.0 -e videotestsrc is-live=true pattern=ball \
  num-buffers="$frames" ! video/x-raw,width=320,height=240,framerate="$fps/1" \
  ! videoconvert ! openh264enc gop-size="$fps" bitrate=500000 \
  ! h264parse ! $send >"$tmp/camera.log" 2>&1 &
cam_pid=$!
pids+=("$cam_pid")
if [ -n "$loss" ]; then
  sleep 0.5
  if [ "$loss_kind" = netem ]; then set_loss "$loss" change; else set_loss "$loss" replace; fi
  echo "multi-host: $loss% loss on the camera link ($loss_kind)" >&2
fi
echo "multi-host: camera sends $frames frames at $fps fps over $transport" >&2

count () { wc -l <"$tmp/results.jsonl"; }
started=$(date +%s%N)
while kill -0 "$cam_pid" 2>/dev/null; do
  if [ -n "$restart_at" ] && [ "$broker_starts" -eq 1 ] \
    && [ $(( ($(date +%s%N) - started) / 1000000 )) -ge \
      "$(awk -v s="$restart_at" 'BEGIN { printf "%d", s * 1000 }')" ]; then
    echo "multi-host: restarting the broker after $(count) results" >&2
    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    sleep 1
    start_broker
  fi
  sleep 0.1
done
wait "$cam_pid" || { echo "multi-host: camera failed:" >&2; cat "$tmp/camera.log" >&2; exit 1; }

# The receiver cannot tell the end of a UDP stream: wait until every frame
# arrived, or nothing new came for 5 s, then EOS (SIGINT under -e) flushes
# sfmqttsink's queue.
last=-1; idle=0
while [ "$(count)" -lt "$frames" ] && [ "$idle" -lt 50 ]; do
  n=$(count)
  if [ "$n" -eq "$last" ]; then idle=$((idle + 1)); else idle=0; last=$n; fi
  sleep 0.1
done
# An SRT receiver may already have ended its stream when the caller left;
# a SIGINT then would only cut its shutdown short.
reached_eos () { grep -q '^Got EOS from element' "$tmp/inference.log"; }
reached_eos || kill -INT "$inf_pid" 2>/dev/null || true
for ((i = 0; i < 100; i++)); do
  kill -0 "$inf_pid" 2>/dev/null || break
  sleep 0.1
done
inf_rc=0
wait "$inf_pid" || inf_rc=$?
# 130: the SIGINT came just after the stream's own EOS (every result was
# acknowledged by then) and ended the pipeline's teardown.
if [ "$inf_rc" -eq 130 ] && reached_eos; then inf_rc=0; fi
if [ "$inf_rc" -ne 0 ]; then
  echo "multi-host: inference failed (exit status $inf_rc):" >&2
  cat "$tmp/inference.log" "$tmp/camera.log" >&2
  exit 1
fi
sleep 0.5

# --- what arrived ----------------------------------------------------------
sed -n 's/^{"pts":\([0-9.e+-]*\),.*/\1/p' "$tmp/results.jsonl" >"$tmp/pts"
{
  echo "transport=$transport"
  echo "frames_sent=$frames"
  echo "results=$(count)"
  echo "unique_pts=$(sort -u "$tmp/pts" | wc -l)"
  # Strictly increasing, once the re-sent copies of a result are set aside.
  echo "pts_monotonic=$(awk 'seen[$1]++ { next }
    n++ && $1 + 0 <= prev + 0 { bad = 1 } { prev = $1 }
    END { print bad ? "no" : "yes" }' "$tmp/pts")"
  echo "loss=${loss:-0} loss_kind=${loss_kind:-none}"
  echo "loss_dropped=$(loss_dropped)"
  echo "broker_starts=$broker_starts"
} >"$tmp/summary"
cat "$tmp/summary"
if [ -n "$out" ]; then
  mkdir -p "$out"
  cp "$tmp/summary" "$tmp/results.jsonl" "$tmp"/*.log "$out/"
else
  echo "first result: $(head -n 1 "$tmp/results.jsonl")"
fi
