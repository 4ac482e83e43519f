#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Dynamic int8 quantisation of an ONNX model, as ONNX Runtime's
quantize_dynamic writes it, for a peer of `streamformer --precision int8`.

    onnx_int8.py IN.onnx OUT.onnx [--per-tensor]

Every MatMul whose second input is a constant 2-D weight W [K, N] (an
initializer, or a Constant node as torch.onnx.export writes frozen
parameters), and every Gemm with a constant B (transB honoured,
alpha = beta = 1), becomes

    DynamicQuantizeLinear(x) -> x_q (uint8), x_scale, x_zp
    MatMulInteger(x_q, W_q, x_zp, W_zp) -> int32
    Cast(float) -> Mul(x_scale * W_scale) [-> Add(bias) for a Gemm]

with W quantised symmetrically to int8 (zero point 0), one scale per
output column (MatMulInteger's per-column b_zero_point [N]) unless
--per-tensor. Activations are quantised per tensor at run time, as ONNX
Runtime's dynamic quantisation does. Other nodes (convolutions, attention
products of two activations) stay in float32.

Needs the onnx package (Debian's python3-onnx) and numpy, no onnxruntime.
"""
import sys

import numpy as np


def _quantise_weight(w, per_column):
    """W [K, N] float -> (int8 W_q, float32 scale [N] or [], int8 zp)."""
    amax = np.abs(w).max(axis=0) if per_column else np.abs(w).max()
    scale = np.maximum(amax, 1e-12).astype(np.float32) / 127.0
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    zp = np.zeros(np.shape(scale), dtype=np.int8)
    return q, scale.astype(np.float32), zp


def quantise(model, per_column=True):
    """Rewrites @model (an onnx.ModelProto) in place; returns how many
    products were quantised."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute[0].name == "value":
            inits[n.output[0]] = n.attribute[0].t
    done = {}  # weight name (and transposition) -> its quantised names
    nodes, count = [], 0
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a)
                 for a in node.attribute}
        const_b = len(node.input) > 1 and node.input[1] in inits
        gemm_ok = (node.op_type == "Gemm" and not attrs.get("transA", 0)
                   and attrs.get("alpha", 1.0) == 1.0
                   and attrs.get("beta", 1.0) == 1.0)
        if not const_b or node.op_type not in ("MatMul", "Gemm") or (
                node.op_type == "Gemm" and not gemm_ok):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        if w.ndim != 2 or w.dtype != np.float32:
            nodes.append(node)
            continue
        trans = node.op_type == "Gemm" and attrs.get("transB", 0)
        key = (node.input[1], bool(trans))
        if key not in done:
            q, scale, zp = _quantise_weight(w.T if trans else w, per_column)
            base = "%s_%s_int8" % (node.input[1], "t" if trans else "n")
            for suffix, arr in (("q", q), ("scale", scale), ("zp", zp)):
                t = numpy_helper.from_array(arr, base + "_" + suffix)
                graph.initializer.append(t)
            done[key] = base
        base = done[key]
        p = "%s_%d" % (node.name or "product", count)
        x = node.input[0]
        out = node.output[0]
        mm_out = out if node.op_type == "MatMul" else p + "_mm"
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [x],
                             [p + "_xq", p + "_xs", p + "_xzp"],
                             name=p + "_quant"),
            helper.make_node("MatMulInteger",
                             [p + "_xq", base + "_q", p + "_xzp",
                              base + "_zp"], [p + "_i32"],
                             name=p + "_matmul"),
            helper.make_node("Cast", [p + "_i32"], [p + "_f32"],
                             to=TensorProto.FLOAT, name=p + "_cast"),
            helper.make_node("Mul", [p + "_xs", base + "_scale"],
                             [p + "_scale"], name=p + "_scales"),
            helper.make_node("Mul", [p + "_f32", p + "_scale"], [mm_out],
                             name=p + "_rescale"),
        ]
        if node.op_type == "Gemm" and len(node.input) > 2:
            nodes.append(helper.make_node("Add", [mm_out, node.input[2]],
                                          [out], name=p + "_bias"))
        elif node.op_type == "Gemm":
            nodes[-1].output[0] = out
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input} | {
        o.name for o in graph.output}
    keep = [n for n in graph.node
            if n.op_type != "Constant" or n.output[0] in used]
    del graph.node[:]
    graph.node.extend(keep)
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return count


def quantise_file(src, dst, per_column=True):
    import onnx

    model = onnx.load(src)
    n = quantise(model, per_column)
    if n == 0:
        raise ValueError("%s: no MatMul or Gemm with a constant weight to "
                         "quantise" % src)
    onnx.save(model, dst)
    return n


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    n = quantise_file(args[0], args[1], "--per-tensor" not in argv)
    print("%s: %d products quantised to int8" % (args[1], n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
