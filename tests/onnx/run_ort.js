#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node, its CPU library inside the
// package) on the tensor of a safetensors file and writes the first output as a safetensors file:
//   node tests/onnx/run_ort.js MODEL.onnx INPUT.safetensors OUT.safetensors [TENSOR=input]
// NODE_PATH (or ORT_DIR/node_modules) must hold onnxruntime-node: packaging/install-ort.sh puts it
// under build/ort. A test tool, never a dependency of the product.
"use strict";
const fs = require("fs");
const path = require("path");
const ortDir = process.env.ORT_DIR;
const ort = require(ortDir ? path.join(ortDir, "node_modules", "onnxruntime-node") : "onnxruntime-node");

function readSafetensors(file, want) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = header[want] ? want : names.length === 1 ? names[0] : null;
  if (!name) throw new Error(`${file}: no tensor '${want}'`);
  const t = header[name];
  if (t.dtype !== "F32") throw new Error(`${file}: ${name} is ${t.dtype}, expected F32`);
  const [a, b] = t.data_offsets;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + a, buf.byteOffset + 8 + n + b));
  return new ort.Tensor("float32", data, t.shape);
}

function writeSafetensors(file, name, tensor) {
  const bytes = Buffer.from(new Float32Array(tensor.data).buffer);
  let h = JSON.stringify({ [name]: { dtype: "F32", shape: tensor.dims, data_offsets: [0, bytes.length] } });
  while ((h.length + 8) % 8) h += " ";
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(h), bytes]));
}

async function main() {
  const [model, input, out, tensor = "input"] = process.argv.slice(2);
  if (!out) throw new Error("usage: run_ort.js MODEL.onnx INPUT.safetensors OUT.safetensors [TENSOR]");
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: "all" });
  const x = readSafetensors(input, tensor);
  const result = await session.run({ [session.inputNames[0]]: x });
  const y = result[session.outputNames[0]];
  writeSafetensors(out, session.outputNames[0], y);
  console.log(`${session.outputNames[0]} [${y.dims.join(",")}] from ${path.basename(model)} in onnxruntime ${ort.env.versions.common}`);
}

main().catch((e) => {
  console.error(`error: ${e.message}`);
  process.exit(1);
});
