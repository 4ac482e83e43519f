#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Downloads a checkpoint folder from the Hugging Face Hub, as Streamformer
# reads it: config, safetensors weights, tokenizer and processor files.
#
#   ./samples/fetch-model.sh ORG/NAME [DEST]     (DEST defaults to models/NAME)
#
# Needs network access and curl. Set HF_TOKEN for gated models.
set -euo pipefail
repo=${1:?usage: fetch-model.sh ORG/NAME [DEST]}
dest=${2:-models/${repo##*/}}
base="https://huggingface.co/$repo/resolve/${HF_REVISION:-main}"
auth=()
[ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")

files=(config.json model.safetensors model.safetensors.index.json
  tokenizer.json tokenizer_config.json vocab.txt vocab.json merges.txt
  special_tokens_map.json added_tokens.json preprocessor_config.json
  generation_config.json modules.json 1_Pooling/config.json)

mkdir -p "$dest"
fetch () {   # fetch FILE: 0 when downloaded, 1 when the repo has no such file
  local out="$dest/$1"
  mkdir -p "$(dirname "$out")"
  if curl -fsSL "${auth[@]}" -o "$out.part" "$base/$1"; then
    mv "$out.part" "$out"; echo "  $1"; return 0
  fi
  rm -f "$out.part"; return 1
}

echo "fetching $repo into $dest"
for f in "${files[@]}"; do fetch "$f" || true; done
# sharded weights: every shard the index names
if [ -f "$dest/model.safetensors.index.json" ]; then
  for shard in $(grep -o '"[^"]*\.safetensors"' "$dest/model.safetensors.index.json" | tr -d '"' | sort -u); do
    fetch "$shard"
  done
fi
[ -f "$dest/config.json" ] || { echo "no config.json: is '$repo' a model repo?" >&2; exit 1; }
ls "$dest"/model*.safetensors >/dev/null 2>&1 \
  || { echo "$repo has no safetensors weights" >&2; exit 1; }
echo "done: streamformer inspect $dest"
