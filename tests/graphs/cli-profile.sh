#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `streamformer bench --profile` on small fixtures: the report's structure,
# not its timings. Every op group is printed; the groups never add up to more
# than the mean pass (nested ops count once); products and attention count
# flops, the matrix products
# dominate them, and the audio front-end is timed as its own group.
#   cli-profile.sh STREAMFORMER FIXTURES_DIR
set -euo pipefail
cli=$1
fixtures=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
groups="products attention norms activations front-end other"
fail=0

# The text report names every group, the time outside ops and the total.
"$cli" bench "$fixtures/vit-tiny-cls" --profile --iters 2 --warmup 1 \
  --threads 1 >"$tmp/text"
for g in $groups "outside ops" total; do
  if ! grep -q "^  $g " "$tmp/text"; then
    echo "FAIL: the text report has no '$g' line"
    fail=1
  fi
done
grep -q "sgemm peak [0-9.]* GFLOP/s" "$tmp/text" \
  || { echo "FAIL: no sgemm peak in the text report"; fail=1; }

# The kernels the pass ran on are named, and the f32 linear kernel follows
# SF_CPU_DISABLE: with AVX-512 hidden, OpenBLAS runs the linear layers.
grep -q "^linear kernel " "$tmp/text" \
  || { echo "FAIL: the report names no linear kernel"; fail=1; }
SF_CPU_DISABLE=avx512 "$cli" bench "$fixtures/vit-tiny-cls" --iters 1 \
  --warmup 0 --threads 1 --json >"$tmp/hidden.json"
python3 - "$tmp/hidden.json" <<'PY' || fail=1
import json, sys
k = json.load(open(sys.argv[1])).get("linear_kernel", "")
if not k.startswith("OpenBLAS"):
    sys.exit("FAIL: with AVX-512 hidden the linear kernel is %r" % k)
PY

# check NAME JSON_FILE MIN_SHARE: the JSON profile's structure
check() {
  python3 - "$@" <<'PY' || fail=1
import json, sys
name, path, min_share = sys.argv[1], sys.argv[2], float(sys.argv[3])
prof = json.load(open(path))["profile"]
groups = prof["groups"]
want = ["products", "attention", "norms", "activations", "front-end", "other"]
errors = []
if sorted(groups) != sorted(want):
    errors.append("groups %s, want %s" % (sorted(groups), sorted(want)))
inside = sum(g["ms"] for g in groups.values())
mean = prof["mean_ms"]
if not (min_share * mean <= inside <= 1.02 * mean + 0.05):
    errors.append("groups sum to %.3f ms of a %.3f ms pass" % (inside, mean))
if abs(inside + prof["outside_ops_ms"] - mean) > 1e-6 * max(mean, 1):
    errors.append("groups + outside ops != mean")
for g in ("products", "attention"):
    if not (groups[g]["calls"] > 0 and groups[g]["gflop"] > 0
            and groups[g]["gflops"] > 0 and groups[g]["of_peak"] > 0):
        errors.append("%s has no calls or flops: %s" % (g, groups[g]))
for g in ("norms", "activations", "front-end", "other"):
    if groups[g]["gflop"] != 0:
        errors.append("%s counts flops" % g)
if prof["sgemm_peak_gflops"] <= 0:
    errors.append("no sgemm peak")
extra = sys.argv[4:]
if "products-dominate" in extra:
    total = sum(g["gflop"] for g in groups.values())
    if groups["products"]["gflop"] < 0.5 * total:
        errors.append("products do %.4f of %.4f GFLOP"
                      % (groups["products"]["gflop"], total))
if "front-end" in extra and not (groups["front-end"]["calls"] == 1
                                 and groups["front-end"]["ms"] > 0):
    errors.append("front-end not timed once per pass: %s" % groups["front-end"])
if errors:
    print("FAIL: %s: %s" % (name, "; ".join(errors)))
    sys.exit(1)
print("ok: %s (groups %.1f%% of the pass)" % (name, 100 * inside / mean))
PY
}

"$cli" bench "$fixtures/vit-tiny-cls" --profile --json --iters 3 --warmup 1 \
  --threads 2 >"$tmp/vit.json"
check vit-tiny-cls "$tmp/vit.json" 0 products-dominate
"$cli" bench "$fixtures/bert-tiny-cls" --profile --json --iters 3 --warmup 1 \
  --threads 1 --seq 64 >"$tmp/bert.json"
check bert-tiny-cls "$tmp/bert.json" 0 products-dominate
"$cli" bench "$fixtures/whisper-tiny-asr" --profile --json --iters 1 \
  --warmup 0 --threads 2 --seconds 2 --tokens 0 >"$tmp/whisper.json"
check whisper-tiny-asr "$tmp/whisper.json" 0 front-end
exit $fail
