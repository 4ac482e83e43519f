#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Streamformer against PyTorch and ONNX Runtime (the engine of GStreamer's
# own onnx elements) on the same random full-size weights and inputs, in
# one run: BERT-base at 128 and 16 tokens, ViT-base 224, SegFormer-b0 512,
# CLIP ViT-B/32 224, the Whisper-tiny encoder on 30 s, wav2vec2-base CTC
# on 10 s and AST on 10.24 s, at 1 and 2 threads.
#
#   tests/bench/bench-peers.sh [CHECKPOINT_DIR] [--cases=a,b] [--threads=1,2]
#                              [--precisions=f32,bf16,int8]
#
# CHECKPOINT_DIR caches the checkpoints, inputs and ONNX exports (about
# 3.5 GB); without it a temporary folder is used and removed afterwards.
# Needs /usr/bin/python3 with torch and numpy, node, and the npm package
# onnxruntime-node (ORT_NODE names its folder when node cannot find it);
# the int8 ONNX Runtime side also needs the onnx package (python3-onnx).
# See bench-peers.py for the other environment variables.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
tmp=
case "${1:-}" in
  "" | --*)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    dir=$tmp
    ;;
  *)
    dir=$1
    shift
    ;;
esac
exec_status=0
"$python" "$here/bench-peers.py" "$dir" "$@" || exec_status=$?
exit $exec_status
