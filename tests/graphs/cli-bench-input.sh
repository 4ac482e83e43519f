#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `streamformer bench --input FILE --output OUT`: the output a peer
# comparison checks is the one a user gets. Raw samples (input_values)
# go through the model's audio front-end (wav2vec2's normalisation, AST's
# Kaldi fbank), and CLIP writes its image embedding; each is compared with
# the fixture's transformers reference within the fixture's tolerance.
#   cli-bench-input.sh STREAMFORMER FIXTURES_DIR
set -euo pipefail
cli=$1
fixtures=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# case_run FIXTURE INPUT_NAME INPUT_TENSOR REFERENCE [ROW]: writes the
# fixture's INPUT_TENSOR as INPUT_NAME (a 1-D clip as a batch of one),
# runs bench on it and compares the output with REFERENCE (its row ROW
# when given).
case_run() {
  python3 - "$cli" "$fixtures/$1" "$tmp/$1" "$@" <<'PY'
import json, math, struct, subprocess, sys
from array import array

cli, fixture, out, _, in_name, in_tensor, ref_name = sys.argv[1:8]
row = int(sys.argv[8]) if len(sys.argv) > 8 else None


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return header, data


def tensor(path, name):
    header, data = read(path)
    t = header[name]
    assert t["dtype"] == "F32", name
    b, e = t["data_offsets"]
    return t["shape"], array("f", data[b:e])


shape, values = tensor(fixture + "/io.safetensors", in_tensor)
if len(shape) == 1:
    shape = [1] + shape  # one clip: a batch of one
blob = values.tobytes()
head = json.dumps({in_name: {"dtype": "F32", "shape": shape,
                             "data_offsets": [0, len(blob)]}}).encode()
head += b" " * (-len(head) % 8)
with open(out + ".in", "wb") as f:
    f.write(struct.pack("<Q", len(head)) + head + blob)
subprocess.run([cli, "bench", fixture, "--input", out + ".in", "--output",
                out + ".out", "--iters", "1", "--warmup", "0", "--threads",
                "1", "--json"], check=True, stdout=subprocess.DEVNULL)
got_shape, got = tensor(out + ".out", "output")
ref_shape, ref = tensor(fixture + "/io.safetensors", ref_name)
if row is not None:
    n = len(ref) // ref_shape[0]
    ref, ref_shape = ref[row * n:(row + 1) * n], ref_shape[1:]
tol = json.load(open(fixture + "/case.json"))["tolerance"]
worst = max((abs(a - b) - tol["rtol"] * abs(b) for a, b in zip(got, ref)),
            default=math.inf)
if len(got) != len(ref) or not worst <= tol["atol"]:
    sys.exit("FAIL: %s %s -> output %s, want %s %s within atol %g rtol %g "
             "(excess %.3g)" % (fixture, in_tensor, got_shape, ref_name,
                                ref_shape, tol["atol"], tol["rtol"], worst))
print("ok: %s %s -> %s" % (fixture.split("/")[-1], in_tensor, ref_name))
PY
}

fail=0
case_run wav2vec2-tiny-ctc input_values audio.speech1 logits.speech1 \
  || fail=1
case_run ast-tiny-cls input_values audio.speech1 logits 0 || fail=1
case_run clip-tiny pixel_values pixel_values image_embeds || fail=1
exit $fail
