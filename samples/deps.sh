# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian/Ubuntu packages Streamformer builds and runs with, and the one
# function that installs whichever are missing. Sourced by ./tests/run.sh
# and ./samples/demo.sh; installs nothing when everything is present.

SF_BUILD_PACKAGES=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libcjson-dev libopenblas-dev libavutil-dev
  libavformat-dev libavcodec-dev libswscale-dev libswresample-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav
  libpaho-mqtt-dev
)
# curl: samples/fetch-model.sh, which tests/plugins/test-hub.sh drives.
# mosquitto: the broker the sfmqttsink test starts for itself; openssl
# makes the certificates of its TLS listener. mosquitto-clients, iproute2
# and iptables: tests/net/test-multi-host.sh (samples/multi-host.sh), which
# subscribes with mosquitto_sub, builds network namespaces and drops packets
# with iptables where the kernel has no netem.
# python3-gi, gir1.2-gstreamer-1.0: the Python samples (samples/python) that
# tests/plugins/test-python.sh runs.
SF_TEST_PACKAGES=(clang-format curl mosquitto mosquitto-clients openssl
  iproute2 iptables python3-gi gir1.2-gstreamer-1.0)
# Only the demo's spoken-command sample (samples/media/make-commands.sh).
SF_DEMO_PACKAGES=(espeak-ng sox)

sf_install_packages () {
  local missing=() pkg sudo=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo=(sudo); else
      echo "streamformer: missing packages: ${missing[*]} (run as root or install them)" >&2
      return 1
    fi
  fi
  echo "streamformer: installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
}

# Configures (once) and builds the tree in $1 with extra meson options.
sf_build () {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
  fi
  ninja -C "$dir"
}
