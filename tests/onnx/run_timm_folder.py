#!/usr/bin/env python3
"""Loads a `dilute export --timm DIR` folder with its own dilute_vit.py in plain PyTorch (Debian's
python3-torch; timm is not installed here, so the module's torch-only path runs) and writes the
logits on the tensor `input` of a safetensors file:
    /usr/bin/python3 tests/onnx/run_timm_folder.py DIR INPUT.safetensors OUT.safetensors
"""
import json, os, struct, sys

import torch


def write_safetensors(path, name, t):
    b = t.detach().contiguous().float().numpy().tobytes()
    h = json.dumps({name: {"dtype": "F32", "shape": list(t.shape), "data_offsets": [0, len(b)]}}).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b)


def main():
    folder, inp, out = sys.argv[1:4]
    sys.path.insert(0, folder)
    import dilute_vit  # the folder's own module
    model = dilute_vit.load(folder, use_timm=False)
    x = dilute_vit.read_safetensors(inp)["input"]
    with torch.no_grad():
        y = model(x)
    write_safetensors(out, "logits", y)
    print(f"{type(model).__name__} {tuple(y.shape)} from {os.path.basename(folder)}")


if __name__ == "__main__":
    main()
