#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hub ids end to end: samples/fetch-model.sh fills a Hub cache from a
# file:// copy of the Hub (API answer and resolve URLs), the CLI and a
# gst-launch-1.0 pipeline load `model=org/name` from it with the results of
# the plain folder, failures leave nothing behind and say why once, and an
# unknown name gets one error listing where it looked.
# Usage: test-hub.sh GST_LAUNCH STREAMFORMER FETCH_MODEL_SH
set -euo pipefail
launch=$1
cli=$2
fetch=$3
fixture="$SF_FIXTURES_DIR/bert-tiny-cls"
commit=0123456789abcdef0123456789abcdef01234567
tmp=$(mktemp -d -t sfhub.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
unset HF_HOME XDG_CACHE_HOME HUGGINGFACE_HUB_CACHE HF_TOKEN HF_REVISION
export HOME="$tmp/home"
preload=${SF_ASAN_PRELOAD:-}

check() { # check WHAT CONDITION...: report one check
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

# A file:// Hub holding org/bert-tiny-cls at $commit, and a model whose API
# answer lists a file the server lacks (a download that breaks half-way).
server="$tmp/server"
api_answer() { # api_answer FILE...: the Hub's model-info JSON
  printf '{"id":"org/x","sha":"%s","siblings":[' "$commit"
  local sep=
  for f in "$@"; do printf '%s{"rfilename":"%s"}' "$sep" "$f"; sep=,; done
  printf ']}'
}
mkdir -p "$server/api/models/org/bert-tiny-cls/revision" \
  "$server/api/models/org/broken/revision" \
  "$server/org/bert-tiny-cls/resolve/$commit" "$server/org/broken/resolve/$commit"
cp "$fixture"/* "$server/org/bert-tiny-cls/resolve/$commit/"
api_answer README.md config.json model.safetensors tokenizer.json \
  tokenizer_config.json vocab.txt \
  >"$server/api/models/org/bert-tiny-cls/revision/main"
cp "$fixture/config.json" "$server/org/broken/resolve/$commit/"
api_answer config.json model.safetensors \
  >"$server/api/models/org/broken/revision/main"

# The same weights as one shard behind model.safetensors.index.json.
sharded="$server/org/sharded/resolve/$commit"
mkdir -p "$server/api/models/org/sharded/revision" "$sharded"
cp "$fixture"/{config.json,tokenizer.json,tokenizer_config.json,vocab.txt} "$sharded/"
cp "$fixture/model.safetensors" "$sharded/model-00001-of-00001.safetensors"
python3 - "$fixture/model.safetensors" "$sharded/model.safetensors.index.json" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
names = [k for k in json.loads(data[8:8 + n]) if k != "__metadata__"]
json.dump({"metadata": {}, "weight_map":
           {k: "model-00001-of-00001.safetensors" for k in names}},
          open(sys.argv[2], "w"))
PY
api_answer config.json model.safetensors.index.json \
  model-00001-of-00001.safetensors tokenizer.json tokenizer_config.json vocab.txt \
  >"$server/api/models/org/sharded/revision/main"

# 1. fetch-model.sh writes huggingface_hub's layout
export HF_HUB_CACHE="$tmp/hub"
HF_ENDPOINT="file://$server" "$fetch" org/bert-tiny-cls >"$tmp/fetch.log" 2>&1 \
  || { cat "$tmp/fetch.log"; fail=1; }
entry="$HF_HUB_CACHE/models--org--bert-tiny-cls"
check "refs/main holds the commit" \
  test "$(cat "$entry/refs/main" 2>/dev/null)" = "$commit"
for f in config.json model.safetensors tokenizer.json vocab.txt; do
  sha=$(sha256sum "$fixture/$f" | cut -d' ' -f1)
  check "snapshot $f links to ../../blobs/<sha256>" \
    test "$(readlink "$entry/snapshots/$commit/$f")" = "../../blobs/$sha"
  check "blob of $f is the file" cmp -s "$entry/blobs/$sha" "$fixture/$f"
done
check "only the files Streamformer reads" \
  test ! -e "$entry/snapshots/$commit/README.md"
check "no partial downloads" \
  test -z "$(find "$entry" -name '*.incomplete*')"

HF_ENDPOINT="file://$server" "$fetch" org/sharded >"$tmp/fetch.log" 2>&1 \
  || { cat "$tmp/fetch.log"; fail=1; }
check "sharded: the shard the index names is fetched" test -L \
  "$HF_HUB_CACHE/models--org--sharded/snapshots/$commit/model-00001-of-00001.safetensors"

# 2. the CLI and a pipeline load it by org/name and by name
"$cli" run "$fixture" --text "a fine day" >"$tmp/folder.txt"
"$cli" run org/sharded --text "a fine day" >"$tmp/hub.txt" 2>&1 || true
check "streamformer run org/sharded" cmp -s "$tmp/folder.txt" "$tmp/hub.txt"
for name in org/bert-tiny-cls bert-tiny-cls "org/bert-tiny-cls@$commit"; do
  "$cli" run "$name" --text "a fine day" >"$tmp/hub.txt" 2>&1 || true
  check "streamformer run $name" cmp -s "$tmp/folder.txt" "$tmp/hub.txt"
done
"$cli" inspect org/bert-tiny-cls >"$tmp/inspect.txt" 2>&1 || true
check "streamformer inspect org/bert-tiny-cls names the repo and snapshot" \
  grep -q "^model: *org/bert-tiny-cls (.*/snapshots/$commit)" "$tmp/inspect.txt"
printf 'a fine day\nnot good at all\n' >"$tmp/texts.txt"
for m in "$fixture" org/bert-tiny-cls; do
  out="$tmp/$(echo "$m" | tr / _).jsonl"
  LD_PRELOAD="$preload" "$launch" -q filesrc location="$tmp/texts.txt" \
    ! sftextencoder model="$m" split=lines ! sfclassifier top-k=2 \
    ! sfjsonsink location="$out" >/dev/null 2>&1 || true
done
check "gst-launch model=org/bert-tiny-cls" \
  cmp -s "$tmp/org_bert-tiny-cls.jsonl" "$tmp/$(echo "$fixture" | tr / _).jsonl"
check "gst-launch wrote two results" \
  test "$(wc -l <"$tmp/org_bert-tiny-cls.jsonl")" -eq 2

# 3. an unknown name: one error, every place, the fetch command
rc=0
"$cli" run nobody/nothing --text x >/dev/null 2>"$tmp/err" || rc=$?
check "CLI: unknown model fails" test $rc -ne 0
check "CLI: the error lists the cache and the fetch command" \
  grep -q "$HF_HUB_CACHE/models--nobody--nothing" "$tmp/err"
check "CLI: ... and the fetch command" \
  grep -q "Fetch it with: ./samples/fetch-model.sh nobody/nothing" "$tmp/err"
rc=0
LD_PRELOAD="$preload" "$launch" filesrc location="$tmp/texts.txt" \
  ! sftextencoder model=nobody/nothing ! fakesink >"$tmp/launch.txt" 2>&1 \
  || rc=$?
check "gst-launch: unknown model fails" test $rc -ne 0
check "gst-launch: one error, naming the places" \
  test "$(grep -c "^ERROR: from element" "$tmp/launch.txt")" -eq 1 \
    -a "$(grep -c "Looked in:" "$tmp/launch.txt")" -eq 1 \
    -a "$(grep -c "$tmp/hub/models--nobody--nothing" "$tmp/launch.txt")" -eq 1

# 4. failures say why once and leave nothing behind
export HF_HUB_CACHE="$tmp/fail/hub"
rc=0
HF_ENDPOINT=http://127.0.0.1:9 "$fetch" org/bert-tiny-cls >"$tmp/out" 2>"$tmp/err" \
  || rc=$?
check "unreachable Hub: fails" test $rc -ne 0
check "unreachable Hub: one line, 'cannot reach 127.0.0.1:9: ...'" \
  test "$(wc -l <"$tmp/err")" -eq 1 -a "$(grep -c '^fetch-model.sh: cannot reach 127.0.0.1:9: ' "$tmp/err")" -eq 1
check "unreachable Hub: no folder left" test ! -e "$tmp/fail"
rc=0
HF_ENDPOINT="file://$server" "$fetch" org/broken >"$tmp/out" 2>"$tmp/err" || rc=$?
check "broken download: fails naming the file" \
  grep -q "downloading model.safetensors" "$tmp/err"
check "broken download: no folder left" test ! -e "$tmp/fail"
# a second model in an existing cache: only its own folder goes
HF_ENDPOINT="file://$server" HF_HUB_CACHE="$tmp/hub" "$fetch" org/broken \
  >/dev/null 2>&1 || true
check "broken download: the cache keeps its other models" \
  test -d "$tmp/hub/models--org--bert-tiny-cls" -a ! -e "$tmp/hub/models--org--broken"

exit $fail
