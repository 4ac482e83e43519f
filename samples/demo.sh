#!/usr/bin/env bash
# Streamformer showcase: installs what is missing, builds, and runs the
# demo pipelines on the bundled checkpoints and sample media.
#
#   ./samples/demo.sh [OUTDIR]      (default: demo-out/)
set -euo pipefail
cd "$(dirname "$0")/.."
. samples/deps.sh

out=${1:-demo-out}
sf_install_packages "${SF_BUILD_PACKAGES[@]}"
sf_build build -Dbuildtype=release >/dev/null
mkdir -p "$out"

export GST_PLUGIN_PATH="$PWD/build/plugins${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
cli=build/samples/cli/streamformer
texts=samples/texts/messages.txt
# The text checkpoints bundled for the demo are the tiny reference models of
# the test suite (random weights, so their labels carry no meaning); a real
# one comes from ./samples/fetch-model.sh, e.g. distilbert/distilbert-base-
# uncased-finetuned-sst-2-english, and drops in unchanged.
cls_model=${SF_DEMO_TEXT_MODEL:-tests/fixtures/bert-tiny-cls}
embed_model=${SF_DEMO_EMBED_MODEL:-tests/fixtures/bert-tiny-embed}

echo "== streamformer inspect $cls_model"
"$cli" inspect "$cls_model"

echo
echo "== text classification: one JSON object per line of $texts"
gst-launch-1.0 -q filesrc location="$texts" \
  ! sftextencoder model="$cls_model" split=lines \
  ! sfclassifier top-k=2 \
  ! sfjsonsink location="$out/labels.jsonl"
cat "$out/labels.jsonl"

echo
echo "== sentence embeddings (mean pooling, L2-normalised)"
gst-launch-1.0 -q filesrc location="$texts" \
  ! sftextencoder model="$embed_model" split=lines pooling=mean normalize=true \
  ! sfjsonsink location="$out/embeddings.jsonl"
echo "$(wc -l < "$out/embeddings.jsonl") embeddings written"

echo
echo "outputs: $out/labels.jsonl $out/embeddings.jsonl"
