#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Downloads the files Streamformer reads (config, safetensors weights,
# tokenizer and processor files) of a Hugging Face Hub model into the Hub
# cache, laid out as huggingface_hub lays it out, so one download serves
# `model=ORG/NAME` in the elements, the CLI and Python transformers alike:
#
#   CACHE/models--ORG--NAME/blobs/ETAG          the file contents
#   CACHE/models--ORG--NAME/snapshots/COMMIT/F  relative symlinks to blobs
#   CACHE/models--ORG--NAME/refs/REVISION       holds COMMIT
#
#   ./samples/fetch-model.sh ORG/NAME[@REVISION]     (REVISION: main)
#
# CACHE is $HF_HUB_CACHE, else $HF_HOME/hub, else
# $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
# HF_TOKEN authenticates for gated models; HF_ENDPOINT replaces
# https://huggingface.co (a mirror, or a file:// tree in the tests).
# On any failure it removes what it wrote and says why, once.
set -euo pipefail
model=${1:?usage: fetch-model.sh ORG/NAME[@REVISION]}
repo=${model%@*}
rev=${HF_REVISION:-main}
[ "$repo" != "$model" ] && rev=${model##*@}
endpoint=${HF_ENDPOINT:-https://huggingface.co}
endpoint=${endpoint%/}
host=${endpoint#*://}
host=${host%%/*}
[ -n "$host" ] || host=$endpoint

die() { echo "fetch-model.sh: $*" >&2; exit 1; }
[[ $repo =~ ^([A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$ ]] \
  || die "'$repo' is not a Hub id (ORG/NAME)"
[[ $rev =~ ^[A-Za-z0-9._/-]+$ && $rev != *..* ]] \
  || die "'$rev' is not a revision"

if [ -n "${HF_HUB_CACHE:-}" ]; then cache=$HF_HUB_CACHE
elif [ -n "${HUGGINGFACE_HUB_CACHE:-}" ]; then cache=$HUGGINGFACE_HUB_CACHE
elif [ -n "${HF_HOME:-}" ]; then cache=$HF_HOME/hub
elif [ -n "${XDG_CACHE_HOME:-}" ]; then cache=$XDG_CACHE_HOME/huggingface/hub
else cache=$HOME/.cache/huggingface/hub
fi
folder=$cache/models--${repo//\//--}

auth=()
[ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")
wanted=(config.json model.safetensors model.safetensors.index.json
  tokenizer.json tokenizer_config.json vocab.txt vocab.json merges.txt
  special_tokens_map.json added_tokens.json preprocessor_config.json
  generation_config.json modules.json 1_Pooling/config.json)

# Everything written is undone on failure: the whole model folder when this
# run made it, else this run's partial blobs and snapshot.
tmp=$(mktemp -d)
top=$folder # the outermost folder this run creates
while [ ! -e "$(dirname "$top")" ]; do top=$(dirname "$top"); done
new_folder=0
[ -d "$folder" ] || new_folder=1
snapshot=
done_ok=0
cleanup() {
  rm -rf "$tmp"
  [ $done_ok -eq 1 ] && return
  if [ $new_folder -eq 1 ]; then
    rm -rf "$top"
  else
    rm -f "$folder"/blobs/*.incomplete."$$"
    if [ -n "$snapshot" ]; then rm -rf "$snapshot"; fi
  fi
}
trap cleanup EXIT

# get URL OUT: 0, or a one-line reason in $reason
get() {
  local code rc=0
  code=$(curl -sS -L --connect-timeout 20 "${auth[@]}" -D "$tmp/headers" \
    -o "$2" -w '%{http_code}' "$1" 2>"$tmp/err") || rc=$?
  reason=
  if [ $rc -ne 0 ]; then
    reason="cannot reach $host: $(sed -n 's/^curl: ([0-9]*) //p' "$tmp/err" | head -1)"
    [ "$code" = "000" ] || [ "$code" = "" ] || reason="$reason (HTTP $code)"
    return 1
  fi
  case $code in
    000|2??) return 0 ;; # 000: file:// URLs have no status
    401|403) reason="$host refuses $repo (HTTP $code): a gated or private model needs HF_TOKEN" ;;
    404) reason="$host has no model '$repo' at revision '$rev' (HTTP 404)" ;;
    *) reason="$host answered HTTP $code for $1" ;;
  esac
  return 1
}

# header NAME: its first value in the last response headers
header() {
  { tr -d '\r' <"$tmp/headers" | grep -i "^$1:" || true; } | head -1 \
    | cut -d: -f2- | sed 's/^ *//; s/^W\///; s/"//g'
}

# The model's commit and file list, in one request: offline, this is the
# single place that fails.
get "$endpoint/api/models/$repo/revision/$rev" "$tmp/api.json" || die "$reason"
commit=$(grep -o '"sha" *: *"[0-9a-f]\{40\}"' "$tmp/api.json" | head -1 \
  | grep -o '[0-9a-f]\{40\}' || true)
siblings=$(grep -o '"rfilename" *: *"[^"]*"' "$tmp/api.json" \
  | sed 's/.*: *"//; s/"$//' || true)
[ -n "$commit" ] || die "$host: no commit hash for $repo@$rev in the API answer"
[ -n "$siblings" ] || die "$host: $repo has no files at revision '$rev'"

has() { grep -qxF -- "$1" <<<"$siblings"; }
files=()
for f in "${wanted[@]}"; do has "$f" && files+=("$f"); done
has config.json || die "$repo has no config.json: is it a model repo?"
if ! has model.safetensors && ! has model.safetensors.index.json; then
  die "$repo has no safetensors weights (Streamformer reads model.safetensors)"
fi

mkdir -p "$folder/blobs" "$folder/refs"
blob_of=()
# fetch FILE: downloads one file into blobs/, named like huggingface_hub
# names it (the LFS sha256 or the git etag; the content's sha256 when the
# server gives no etag)
fetch() {
  local part="$folder/blobs/fetch-$RANDOM.incomplete.$$" etag
  get "$endpoint/$repo/resolve/$commit/$1" "$part" \
    || die "$reason (downloading $1)"
  etag=$(header x-linked-etag)
  [ -n "$etag" ] || etag=$(header etag)
  [[ $etag =~ ^[A-Za-z0-9._-]+$ ]] || etag=$(sha256sum "$part" | cut -d' ' -f1)
  mv -f "$part" "$folder/blobs/$etag"
  blob_of+=("$1=$etag")
  echo "  $1"
}

echo "fetching $repo@$rev ($commit) into $folder"
for f in "${files[@]}"; do fetch "$f"; done
# sharded weights: every shard the index names
if has model.safetensors.index.json; then
  for e in "${blob_of[@]}"; do
    [ "${e%%=*}" = model.safetensors.index.json ] && index=$folder/blobs/${e#*=}
  done
  for shard in $(grep -o '"[^"/]*\.safetensors"' "$index" | tr -d '"' | sort -u); do
    has "$shard" || die "$repo: the index names $shard, which the repo lacks"
    fetch "$shard"
  done
fi

# snapshots/COMMIT/FILE → ../../blobs/ETAG (one more ../ per sub-folder)
snapshot=$folder/snapshots/$commit
[ -d "$snapshot" ] && snapshot= # already there: not ours to remove
mkdir -p "$folder/snapshots/$commit"
for e in "${blob_of[@]}"; do
  f=${e%%=*}
  up=../..
  d=$(dirname "$f")
  while [ "$d" != . ]; do up=../$up; d=$(dirname "$d"); done
  mkdir -p "$(dirname "$folder/snapshots/$commit/$f")"
  ln -sfn "$up/blobs/${e#*=}" "$folder/snapshots/$commit/$f"
done
if [ "$rev" != "$commit" ]; then
  mkdir -p "$(dirname "$folder/refs/$rev")"
  printf '%s' "$commit" >"$folder/refs/$rev"
fi
done_ok=1
echo "done: streamformer inspect $repo${rev:+@$rev}" | sed 's/@main$//'
