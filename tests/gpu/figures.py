#!/usr/bin/env python3
"""One summary line from a JSON file packaging/gpu-check.sh wrote, or a merge of JSON lines.
Usage: figures.py bench FILE   (dilute bench --json of A and B = A minus some attention)
       figures.py speed FILE   (one bench_step line)
       figures.py merge FILE   (JSON objects, one per line -> one object, in place)
"""
import json
import sys

kind, path = sys.argv[1], sys.argv[2]
if kind == "bench":
    j = json.load(open(path))
    a, b = j["a"], j["b"]
    print(f"{a['precision']}, batch {j['batch']}: full {a['images_per_s']:.0f} img/s, pruned {b['images_per_s']:.0f} img/s "
          f"(x{j['ratios']['images_per_s']:.3f}; GMAC ideal x{1 / j['ratios']['gmac']:.3f}), "
          f"memory {a['peak_mb']:.0f} -> {b['peak_mb']:.0f} MB")
elif kind == "speed":
    ((name, r),) = json.load(open(path)).items()
    how = "fused" if r["fused_attention"] else "explicit"
    print(f"{name} batch {r['batch']}, {r['amp']}, {how} attention: training step {r['train_img_s']:.0f} img/s, "
          f"forward {r['forward_img_s']:.0f} img/s")
elif kind == "merge":
    merged = {}
    for line in open(path):
        if line.strip():
            merged.update(json.loads(line))
    json.dump(merged, open(path, "w"))
else:
    sys.exit(f"figures.py: unknown kind '{kind}'")
