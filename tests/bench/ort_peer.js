// SPDX-License-Identifier: LGPL-2.1-or-later
// The ONNX Runtime peer: ort_peer.js MODEL.onnx INPUTS.safetensors OUT.f32
//   THREADS ITERS WARMUP
// Runs MODEL.onnx with ONNX Runtime's CPU execution provider (all graph
// optimisations, THREADS intra-op threads, sequential execution) on the
// tensors of INPUTS.safetensors named as the model's inputs, writes the
// first output's float32 values to OUT.f32 for the caller to check, then
// times ITERS runs after WARMUP untimed ones and prints one JSON line.
// ONNX Runtime comes from the npm package onnxruntime-node; ORT_NODE names
// its folder when it is not on node's module path.
'use strict';
const fs = require('fs');
const ort = require(process.env.ORT_NODE || 'onnxruntime-node');

// name -> ort.Tensor for every F32 / I64 tensor of a safetensors file.
function readSafetensors(path) {
  const buf = fs.readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLen));
  const base = 8 + headerLen;
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = t.data_offsets;
    const bytes = buf.subarray(base + begin, base + end);
    const copy = new ArrayBuffer(bytes.length);
    new Uint8Array(copy).set(bytes);
    if (t.dtype === 'F32')
      out[name] = new ort.Tensor('float32', new Float32Array(copy), t.shape);
    else if (t.dtype === 'I64')
      out[name] = new ort.Tensor('int64', new BigInt64Array(copy), t.shape);
  }
  return out;
}

(async () => {
  const [model, inputs, outPath] = process.argv.slice(2, 5);
  const [threads, iters, warmup] = process.argv.slice(5, 8).map(Number);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const all = readSafetensors(inputs);
  const feeds = {};
  for (const name of session.inputNames) {
    if (!(name in all)) throw new Error(`${inputs}: no tensor ${name}`);
    feeds[name] = all[name];
  }
  const first = await session.run(feeds);
  const y = first[session.outputNames[0]];
  fs.writeFileSync(outPath, Buffer.from(y.data.buffer, y.data.byteOffset,
                                        y.data.byteLength));
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[n >> 1]
                       : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  console.log(JSON.stringify({
    threads, iters, median_ms: median, min_ms: sorted[0], times_ms: times,
    output_shape: y.dims,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  }));
})().catch((e) => { console.error(`ort_peer.js: ${e.message}`); process.exit(1); });
