#!/usr/bin/env python3
"""Checks one training run's metrics.jsonl for packaging/gpu-check.sh and prints its figures on
one line: the loss falls and stays finite, lambda ends at 0 for the diluted blocks, and with
--amp fp16 the loss scaler is active (a loss_scale on every step); with --resumed-at N the steps
go on from N + 1 with none repeated. Exit status 1, with the reason, when a check fails.
Usage: check_metrics.py RUN_DIR [--amp off|bf16|fp16] [--resumed-at N]
"""
import argparse
import json
import math
import sys

p = argparse.ArgumentParser()
p.add_argument("run")
p.add_argument("--amp", default="off")
p.add_argument("--resumed-at", type=int, default=-1)
a = p.parse_args()

events = []
with open(f"{a.run}/metrics.jsonl") as f:
    for line in f:
        if line.strip():
            events.append(json.loads(line))
steps = [e for e in events if e.get("event") == "step"]
epochs = [e for e in events if e.get("event") == "epoch"]
problems = []
if not steps:
    sys.exit(f"{a.run}: no step events in metrics.jsonl")
losses = [e["loss"] for e in steps]
if not all(math.isfinite(v) for v in losses):
    problems.append(f"a loss is not finite ({sum(not math.isfinite(v) for v in losses)} of {len(losses)} steps)")
head, tail = losses[: max(1, len(losses) // 5)], losses[-max(1, len(losses) // 5):]
if not sum(tail) / len(tail) < sum(head) / len(head):
    problems.append(f"the loss did not fall ({sum(head) / len(head):.3f} -> {sum(tail) / len(tail):.3f})")
lam = (epochs[-1] if epochs else steps[-1]).get("lambda", [])  # the schedule's value once the run ends
if any(v != 0.0 for v in lam):
    problems.append(f"lambda ends at {lam}, not 0")
scales = [e["loss_scale"] for e in steps if "loss_scale" in e]
if a.amp == "fp16" and len(scales) != len(steps):
    problems.append(f"fp16 without the loss scaler ({len(scales)} of {len(steps)} steps carry a loss_scale)")
numbers = [e["step"] for e in steps if "step" in e]
if a.resumed_at >= 0:
    after = [n for n in numbers if n > a.resumed_at]
    if len(set(numbers)) != len(numbers) or not after or after[0] != a.resumed_at + 1:
        problems.append(f"steps do not go on from {a.resumed_at + 1} once (first after it: {after[:1]}, "
                        f"{len(numbers) - len(set(numbers))} repeated)")


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0.0


rate_on = median([e["images_per_s"] for e in steps if e.get("lambda") and max(e["lambda"]) > 0.5])
rate_off = median([e["images_per_s"] for e in steps if e.get("lambda") and max(e["lambda"]) == 0.0])
top1 = epochs[-1].get("test_top1") if epochs else None
line = (f"amp {a.amp}: {len(steps)} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
        f"lambda {steps[0].get('lambda')} -> {lam}, median img/s {rate_on:.0f} with attention")
if rate_off:
    line += f", {rate_off:.0f} once it is skipped (lambda 0)"
if scales:
    line += f", loss scale {scales[0]:g} -> {scales[-1]:g}"
if a.resumed_at >= 0:
    line += f", resumed after step {a.resumed_at}"
if top1 is not None:
    line += f", top-1 {top1:.2f}%"
print(line)
if problems:
    sys.exit("; ".join(problems))
