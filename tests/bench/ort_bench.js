#!/usr/bin/env node
// ONNX Runtime's throughput and batch-1 latency for ONNX models (Dilute's exports), printed beside
// each other so the saving of a pruned model shows as deployment sees it, and with --dilute-bench
// `dilute bench` on the same models right after, in the same process tree:
//   ORT_DIR=build/ort node tests/bench/ort_bench.js [--batch 32] [--threads 2] [--seconds 10] \
//       [--dilute-bench "-m deit_small_patch16_224 --remove 0,2,4,6"] A.onnx [B.onnx ...]
// (DILUTE_CLI names the dilute binary; default build/app/dilute.)
// Inputs are random normal [batch, C, H, W] from the model's own input shape. Rounds alternate
// between the models so machine drift hits them alike. A benchmark, not a test.
"use strict";
const path = require("path");
const ortDir = process.env.ORT_DIR || "build/ort";
const ort = require(path.resolve(ortDir, "node_modules", "onnxruntime-node"));

function args() {
  const a = { batch: 32, threads: 2, seconds: 10, models: [], dilute: "" };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; ++i) {
    if (v[i] === "--batch") a.batch = Number(v[++i]);
    else if (v[i] === "--threads") a.threads = Number(v[++i]);
    else if (v[i] === "--seconds") a.seconds = Number(v[++i]);
    else if (v[i] === "--dilute-bench") a.dilute = v[++i];
    else a.models.push(v[i]);
  }
  if (!a.models.length) throw new Error("usage: ort_bench.js [--batch N] [--threads N] [--seconds S] MODEL.onnx ...");
  return a;
}

function randn(n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.random() || 1e-9, w = Math.random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * w);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * w);
  }
  return out;
}

async function timed(session, feeds) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  return Number(process.hrtime.bigint() - t0) / 1e6;  // ms
}

function pct(v, p) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function main() {
  const a = args();
  const runs = [];
  for (const file of a.models) {
    const session = await ort.InferenceSession.create(file, {
      graphOptimizationLevel: "all", intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: "sequential" });
    const dims = session.inputMetadata ? session.inputMetadata[0].shape.slice(1) : null;
    const shape = dims && dims.every((d) => typeof d === "number") ? dims : [3, 224, 224];
    const per = shape.reduce((x, y) => x * y, 1);
    const name = session.inputNames[0];
    const feeds = (b) => ({ [name]: new ort.Tensor("float32", randn(b * per), [b, ...shape]) });
    runs.push({ file, session, big: feeds(a.batch), one: feeds(1), tput: [], lat: [] });
    await timed(session, runs.at(-1).big);  // warm-up
    await timed(session, runs.at(-1).one);
  }
  const deadline = Date.now() + a.seconds * 1000 * runs.length;
  while (Date.now() < deadline) {
    for (const r of runs) {
      r.tput.push(a.batch / (await timed(r.session, r.big)) * 1000);
      for (let i = 0; i < 5; ++i) r.lat.push(await timed(r.session, r.one));
    }
  }
  console.log(`onnxruntime ${ort.env.versions.common}, ${a.threads} threads, batch ${a.batch}, ${a.seconds} s per model`);
  for (const r of runs) {
    console.log(`${path.basename(r.file).padEnd(28)} ${pct(r.tput, 0.5).toFixed(1).padStart(8)} img/s (batch ${a.batch}, median of ${r.tput.length})` +
                `   batch 1: p50 ${pct(r.lat, 0.5).toFixed(1)} ms, p90 ${pct(r.lat, 0.9).toFixed(1)} ms`);
  }
  if (runs.length === 2)
    console.log(`${path.basename(runs[1].file)} / ${path.basename(runs[0].file)}: throughput x${(pct(runs[1].tput, 0.5) / pct(runs[0].tput, 0.5)).toFixed(2)}, ` +
                `batch-1 latency x${(pct(runs[1].lat, 0.5) / pct(runs[0].lat, 0.5)).toFixed(2)}`);
  if (a.dilute) {
    const cli = process.env.DILUTE_CLI || "build/app/dilute";
    const argv = ["bench", ...a.dilute.split(/\s+/).filter(Boolean), "--batch", String(a.batch)];
    console.log(`\n${cli} ${argv.join(" ")}`);
    console.log(require("child_process").execFileSync(cli, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
  }
}

main().catch((e) => { console.error(`error: ${e.message}`); process.exit(1); });
