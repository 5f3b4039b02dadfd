#!/usr/bin/env python3
"""Seeds for the torch.save and model-folder fuzz targets (tests/fuzz/fuzz_torchfile.cpp,
fuzz_hub.cpp), small enough for libFuzzer's 64 KB inputs, made with Debian's python3-torch:
    /usr/bin/python3 tests/fuzz/make_torch_corpus.py     # writes tests/fuzz/corpus/{torchfile,hub}/
"""
import argparse, io, json, os, sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
from make_vit_golden import RefViT  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "corpus")


def saved(obj, legacy=False):
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=not legacy)
    return b.getvalue()


def main():
    torch.manual_seed(0)
    tf = os.path.join(OUT, "torchfile"); hub = os.path.join(OUT, "hub")
    os.makedirs(tf, exist_ok=True); os.makedirs(hub, exist_ok=True)
    tiny = dict(img=8, patch=4, chans=3, classes=2, d=8, depth=1, heads=2, ratio=2.0)
    sd = {k: v for k, v in RefViT(**tiny).state_dict().items()}
    seeds = {
        "zip_state_dict": saved(sd),
        "legacy_state_dict": saved(sd, legacy=True),
        "zip_checkpoint": saved({"model": sd, "epoch": 3, "args": argparse.Namespace(lr=1e-3)}),
        "zip_ddp": saved({"state_dict": {"module." + k: v for k, v in sd.items()}}),
        "zip_ema_layerscale": saved({"model_ema": {k: v for k, v in RefViT(init_values=1e-5, no_embed_class=True, **tiny).state_dict().items()}}),
        "zip_shared_storage": saved({"a": torch.arange(6.).view(2, 3), "b": torch.arange(6.).view(2, 3)[:, 1:]}),
        "zip_dtypes": saved({"h": torch.ones(3, dtype=torch.float16), "b": torch.ones(3, dtype=torch.bfloat16),
                             "d": torch.ones(2, dtype=torch.float64), "i": torch.arange(4), "u": torch.ones(2, dtype=torch.uint8)}),
    }
    for name, b in seeds.items():
        assert len(b) < 65536, (name, len(b))
        open(os.path.join(tf, name), "wb").write(b)
    cfgs = {
        "timm_hub": {"architecture": "vit_tiny_patch16_224", "num_classes": 3, "label_names": ["a", "b", "c"],
                     "model_args": {"img_size": 16, "patch_size": 8, "embed_dim": 8, "depth": 1, "num_heads": 2},
                     "pretrained_cfg": {"input_size": [3, 16, 16], "crop_pct": 0.875, "interpolation": "bicubic",
                                        "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}},
        "hf_vit": {"model_type": "vit", "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                   "intermediate_size": 32, "image_size": 16, "patch_size": 8, "num_channels": 3,
                   "layer_norm_eps": 1e-12, "qkv_bias": True, "id2label": {"0": "a", "1": "b", "2": "c"}},
    }
    # First byte: 0 = timm weights, 1 = Hugging Face weights (fuzz_hub.cpp).
    open(os.path.join(hub, "timm_hub"), "wb").write(b"\x00" + json.dumps(cfgs["timm_hub"]).encode())
    open(os.path.join(hub, "hf_vit"), "wb").write(b"\x01" + json.dumps(cfgs["hf_vit"]).encode())


if __name__ == "__main__":
    main()
