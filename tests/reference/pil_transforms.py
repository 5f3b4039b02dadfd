#!/usr/bin/python3
"""Reference pixels for Transforms.MatchPillowOnARealPhotograph (tests/core/data/test_resample.cpp).

torchvision's PIL transforms, restated in plain Pillow (torchvision is not packaged for
Debian 12; the size and offset formulas below are torchvision's):
  eval: [convert('L')] -> Resize(R) (shorter side to R, longer int(R * long / short)) with the
        preset's filter -> CenterCrop(S) at int(round((in - S) / 2.0));
  rrc:  [convert('L')] -> crop (x, y, w, h) -> resize to S x S with FILTER (timm's
        RandomResizedCropAndInterpolation: bicubic for DeiT, torchvision's default bilinear).
Each line of the manifest (argv[1]):
  SRC W H C eval R S FILTER OUT_C DST   |   SRC W H C rrc X Y BW BH S OUT_C FILTER DST
SRC holds W*H*C raw bytes (RGB or L); DST receives the S*S*OUT_C result bytes.
"""
import sys

from PIL import Image

R = getattr(Image, "Resampling", Image)  # Pillow >= 9.1 names the filters Image.Resampling.*


def resized_size(w, h, size):  # torchvision.transforms.functional._compute_resized_output_size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if w <= h else (new_long, new_short)


for line in open(sys.argv[1]):
    f = line.split()
    if not f:
        continue
    src, w, h, c, mode = f[0], int(f[1]), int(f[2]), int(f[3]), f[4]
    with open(src, "rb") as fh:
        img = Image.frombytes("RGB" if c == 3 else "L", (w, h), fh.read())
    if mode == "eval":
        resize, crop, filt, outc, dst = int(f[5]), int(f[6]), f[7], int(f[8]), f[9]
        if outc == 1 and c == 3:
            img = img.convert("L")
        nw, nh = resized_size(w, h, resize)
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), R.BICUBIC if filt == "bicubic" else R.BILINEAR)
        top, left = int(round((nh - crop) / 2.0)), int(round((nw - crop) / 2.0))
        img = img.crop((left, top, left + crop, top + crop))
    else:
        x, y, bw, bh, size, outc = (int(v) for v in f[5:11])
        filt, dst = f[11], f[12]
        if outc == 1 and c == 3:
            img = img.convert("L")
        img = img.crop((x, y, x + bw, y + bh)).resize((size, size), R.BICUBIC if filt == "bicubic" else R.BILINEAR)
    with open(dst, "wb") as fh:
        fh.write(img.tobytes())
