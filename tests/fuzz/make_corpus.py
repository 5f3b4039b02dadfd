#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into tests/fuzz/corpus/<target>/ (committed).

Run from the repository root after a build (it reads build/app/dilute's outputs in /tmp when
present for the JSON seeds, and the Fashion-MNIST package for IDX seeds). Inputs are small so
libFuzzer mutates them quickly.
"""
import gzip, json, os, random, struct, subprocess, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
rng = random.Random(7)


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, meta):
    header, blobs, off = {}, [], 0
    for name, shape in tensors:
        n = 1
        for s in shape:
            n *= s
        data = struct.pack("<%df" % n, *[rng.uniform(-0.1, 0.1) for _ in range(n)])
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if meta is not None:
        header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


# A whole (tiny) Dilute model: depth 1, D=8, 2 heads, patch 14 on 28x28, MLP 16, 10 classes.
D, H, P, T = 8, 16, 14, 4
arch = {"default_data": "fashion-mnist", "depth": 1, "embed_dim": D, "eval_resize": 28, "folded": False,
        "img_size": 28, "in_chans": 1, "interpolation": "bilinear", "mean": [0.286], "mlp_ratio": 2.0,
        "name": "fuzz_tiny", "num_classes": 10, "num_heads": 2, "patch_size": P, "removed_blocks": [], "std": [0.353]}
model = [("cls_token", [1, 1, D]), ("pos_embed", [1, T + 1, D]), ("patch_embed.proj.weight", [D, 1, P, P]),
         ("patch_embed.proj.bias", [D]), ("blocks.0.norm1.weight", [D]), ("blocks.0.norm1.bias", [D]),
         ("blocks.0.attn.qkv.weight", [3 * D, D]), ("blocks.0.attn.qkv.bias", [3 * D]),
         ("blocks.0.attn.proj.weight", [D, D]), ("blocks.0.attn.proj.bias", [D]),
         ("blocks.0.norm2.weight", [D]), ("blocks.0.norm2.bias", [D]), ("blocks.0.mlp.fc1.weight", [H, D]),
         ("blocks.0.mlp.fc1.bias", [H]), ("blocks.0.mlp.fc2.weight", [D, H]), ("blocks.0.mlp.fc2.bias", [D]),
         ("norm.weight", [D]), ("norm.bias", [D]), ("head.weight", [10, D]), ("head.bias", [10])]
put("safetensors", "tiny-model", safetensors(model, {"dilute.arch": json.dumps(arch), "dilute.step": "3"}))
removed = dict(arch, removed_blocks=[0])
put("safetensors", "tiny-model-removed",
    safetensors([t for t in model if ".attn." not in t[0] and ".norm1." not in t[0]],
                {"dilute.arch": json.dumps(removed)}))
put("safetensors", "two-tensors", safetensors([("a", [2, 3]), ("b", [4])], {"k": "v"}))
put("safetensors", "empty", safetensors([], None))

# IDX: flag byte, u16 LE length of the image part, images, labels (see fuzz_idx.cpp).
fm = "/usr/share/datasets/fashion-mnist"
img = gzip.open(os.path.join(fm, "t10k-images-idx3-ubyte.gz")).read(16 + 2 * 784)
lab = gzip.open(os.path.join(fm, "t10k-labels-idx1-ubyte.gz")).read(8 + 2)
img = img[:4] + struct.pack(">I", 2) + img[8:]
lab = lab[:4] + struct.pack(">I", 2) + lab[8:]
put("idx", "fashion-2", bytes([0]) + struct.pack("<H", len(img)) + img + lab)
small = struct.pack(">IIII", 0x803, 3, 2, 2) + bytes(range(12))
put("idx", "tiny-3", bytes([0]) + struct.pack("<H", len(small)) + small + struct.pack(">II", 0x801, 3) + b"\x01\x02\x03")
put("idx", "tiny-3-gz", bytes([3]) + struct.pack("<H", len(small)) + small + struct.pack(">II", 0x801, 3) + b"\x01\x02\x09")

# CIFAR: flag byte (bit 0: CIFAR-100, bit 1: coarse), then records.
rec10 = b"".join(bytes([i]) + bytes(rng.randrange(256) for _ in range(3072)) for i in (3, 7))
put("cifar", "cifar10-2", bytes([0]) + rec10)
rec100 = b"".join(bytes([i % 20, i]) + bytes(rng.randrange(256) for _ in range(3072)) for i in (5, 99))
put("cifar", "cifar100-2", bytes([1]) + rec100)
put("cifar", "cifar100-2-coarse", bytes([3]) + rec100)

# JPEG: band byte, then the file. Small real JPEGs Debian ships, re-encoded small with OpenCV if big.
for i, src in enumerate(["/usr/share/doc/nodejs/thin-white-stripe.jpg",
                         "/usr/share/qt6/doc/global/template/images/Qt-footer-bg.jpg"]):
    if os.path.exists(src):
        data = open(src, "rb").read()
        if len(data) < 40000:
            put("jpeg", "system-%d-full" % i, bytes([0]) + data)
            put("jpeg", "system-%d-band" % i, bytes([5]) + data)

# JSON readers: selector byte (0 config, 1 analysis, 2 checkpoint manifest, 3 metrics lines).
run = sys.argv[1] if len(sys.argv) > 1 else None
if run:
    put("json", "config", b"\x00" + open(os.path.join(run, "config.json"), "rb").read())
    put("json", "manifest", b"\x02" + open(os.path.join(run, "checkpoints", "last.json"), "rb").read())
    lines = open(os.path.join(run, "metrics.jsonl"), "rb").read().splitlines()
    put("json", "metrics", b"\x03" + b"\n".join(lines[:3] + [l for l in lines if b'"epoch"' in l][:1] + lines[-1:]))
if len(sys.argv) > 2:
    put("json", "analysis", b"\x01" + open(os.path.join(sys.argv[2], "analysis.json"), "rb").read())
