#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CLI on inputs that used to trip assertions or misbehave: each case
# must end with a clear message (or succeed), never a critical warning.
#   cli-errors.sh STREAMFORMER FIXTURES_DIR
set -euo pipefail
cli=$1
fixtures=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect RC PATTERN CMD...: the exit status is RC and stderr matches PATTERN
expect() {
  local rc=$1 pattern=$2 got=0
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  if [ "$got" -ne "$rc" ] || ! grep -q -- "$pattern" "$tmp/err" \
      || grep -q CRITICAL "$tmp/err"; then
    echo "FAIL: $* (rc $got, wanted $rc and /$pattern/)"
    sed 's/^/  | /' "$tmp/err" | tail -5
    fail=1
  else
    echo "ok: $*"
  fi
}

# set_json FILE KEY VALUE: one top-level field of a JSON file
set_json() {
  python3 - "$@" <<'PY'
import json, sys
path, key, value = sys.argv[1:4]
d = json.load(open(path))
d[key] = json.loads(value)
json.dump(d, open(path, "w"))
PY
}

# A ViT whose processor leaves frames at their own size: a clear error that
# names the frame size and the size the model takes.
cp -r "$fixtures/vit-tiny-cls" "$tmp/vit-noresize"
set_json "$tmp/vit-noresize/preprocessor_config.json" do_resize false
expect 1 "is 512x512 (HxW) after preprocessing, but the model takes 64x64" \
  "$cli" verify "$tmp/vit-noresize"
cp -r "$fixtures/clip-tiny" "$tmp/clip-nocrop"
set_json "$tmp/clip-nocrop/preprocessor_config.json" do_center_crop false
expect 1 "after preprocessing, but the model takes 32x32" \
  "$cli" verify "$tmp/clip-nocrop"

# Command-line text in a UTF-8 locale: GOptionContext converts it from the
# locale's charset, so the CLI must adopt the environment's locale.
for loc in C.UTF-8 C.utf8; do
  got=0
  LC_ALL=$loc "$cli" run "$fixtures/bert-tiny-cls" --text "naïve café" \
    >"$tmp/out" 2>"$tmp/err" || got=$?
  if [ $got -ne 0 ] || ! grep -q "^naïve café" "$tmp/out"; then
    echo "FAIL: LC_ALL=$loc run --text 'naïve café' (rc $got)"
    sed 's/^/  | /' "$tmp/err"
    fail=1
  else
    echo "ok: LC_ALL=$loc run --text 'naïve café'"
  fi
done

# A model of another modality: the family with its article ("an AST").
expect 1 "ast-tiny-cls is an AST model (ASTForAudioClassification); it takes audio input" \
  "$cli" run "$fixtures/ast-tiny-cls" --text "hello"

# A NaN weight: loading refuses it naming the file and the tensor, and
# inspect says where the non-finite values are.
cp -r "$fixtures/bert-tiny-cls" "$tmp/bert-nan"
python3 - "$tmp/bert-nan/model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
info = json.loads(data[8:8 + n])["bert.encoder.layer.0.output.dense.weight"]
at = 8 + n + info["data_offsets"][0] + 4 * 5
data[at:at + 4] = struct.pack("<f", float("nan"))
open(path, "wb").write(data)
PY
expect 1 "bert.encoder.layer.0.output.dense.weight' in .*model.safetensors" \
  "$cli" inspect "$tmp/bert-nan"
if ! grep -q "non-finite: *F32×1 in 1 tensor, the first 'bert.encoder.layer.0.output.dense.weight'" "$tmp/out"; then
  echo "FAIL: inspect does not report the NaN weight"
  sed 's/^/  | /' "$tmp/out"
  fail=1
fi
expect 1 "NaN or infinite" "$cli" run "$tmp/bert-nan" --text "fine"

exit $fail
