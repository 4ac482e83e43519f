#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The long versions of the state-cycle and overload tests, in the sanitized
# build (leak detection on): 1000 state cycles per pipeline and a minute of
# overload. CI runs the same tests with their short defaults.
#
#   ./tests/stress/run.sh           SF_CYCLES=1000, SF_OVERLOAD_SECONDS=60
#   SF_CYCLES=5000 ./tests/stress/run.sh
#
# This takes long (an hour or more on two cores): no meson timeout applies.
set -euo pipefail
cd "$(dirname "$0")/../.."
export SF_CYCLES=${SF_CYCLES:-1000}
export SF_OVERLOAD_SECONDS=${SF_OVERLOAD_SECONDS:-60}
exec ./tests/run.sh --sanitize --timeout-multiplier 0 \
  test-state-cycles test-overload "$@"
