#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every C file follows the repository's .clang-format (GStreamer's GNU
# style). Fix with: clang-format -i $(git ls-files '*.c' '*.h')
set -eu
cd "$(dirname "$0")/.."
files=$(find core graphs plugins samples tests -name '*.[ch]' | sort)
clang-format --dry-run --Werror $files
