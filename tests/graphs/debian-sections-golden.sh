#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bundled Debian-section classifier (samples/models/debian-sections)
# through `streamformer run --text-file`: on the held-out descriptions of
# tests/fixtures/debian-sections-eval, the top label must be the one the
# PyTorch model that trained it gave, and the log-probabilities of all the
# labels must match its logits (both centred) within 1e-3. The goldens come
# from samples/models/train/train-debian-sections.py.
#   debian-sections-golden.sh STREAMFORMER MODEL_DIR EVAL_DIR
set -euo pipefail
cli=$1 model=$2 eval=$3
labels=$(sed -n 's/^ *"\([0-9][0-9]*\)": "\([^"]*\)",\{0,1\}$/\2/p' \
  "$model/config.json" | tr '\n' ' ')
"$cli" run "$model" --text-file "$eval/texts.txt" --json --top-k 100 |
  awk -v labels="$labels" -v golden="$eval/golden.tsv" '
  BEGIN {
    FS = "\t"
    n_labels = split(labels, name, " ")
    while ((getline line < golden) > 0) {
      if (line ~ /^#/) continue
      split(line, f, "\t")
      rows++; truth[rows] = f[1]; want[rows] = f[2]
      split(f[3], v, " ")
      if (length(v) != n_labels) { print "golden row " rows ": bad logits"; exit 1 }
      mean = 0
      for (i = 1; i <= n_labels; i++) mean += v[i] / n_labels
      for (i = 1; i <= n_labels; i++) logit[rows, name[i]] = v[i] - mean
    }
  }
  {
    n++
    l = $0; sub(/.*"labels":\[/, "", l); sub(/\].*/, "", l); gsub(/"/, "", l)
    s = $0; sub(/.*"scores":\[/, "", s); sub(/\].*/, "", s)
    k = split(l, got, ","); split(s, p, ",")
    if (k != n_labels) { print "line " n ": " k " labels, want " n_labels; bad++; next }
    if (got[1] != want[n]) { print "line " n ": " got[1] ", torch said " want[n]; bad++ }
    if (got[1] == truth[n]) right++
    mean = 0
    for (i = 1; i <= k; i++) {
      if (p[i] <= 0) { print "line " n ": score " p[i] " of " got[i]; bad++; next }
      lp[i] = log(p[i]); mean += lp[i] / k
    }
    for (i = 1; i <= k; i++) {
      d = lp[i] - mean - logit[n, got[i]]
      if (d > 1e-3 || d < -1e-3) {
        printf "line %d: %s log-probability off by %g\n", n, got[i], d; bad++
      }
    }
  }
  END {
    if (n != rows) { print n " outputs for " rows " goldens"; exit 1 }
    printf "%d descriptions: %d mismatches with torch; %d in their Debian section\n", \
      n, bad, right
    exit bad > 0
  }'
