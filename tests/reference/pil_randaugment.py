#!/usr/bin/python3
"""Reference pixels for RandAugment.OpsMatchPillowOnARealPhotograph (tests/core/data/test_randaugment.cpp).

timm's RandAugment ops (timm/data/auto_augment.py), restated in plain Pillow with the same calls
(timm is not packaged for Debian 12): each op receives the argument timm's level function
returns, with DeiT's kwargs (fillcolor = the mean colour, resample = the preset's filter).
Each line of the manifest (argv[1]):
  SRC W H C OP ARG FILL_R FILL_G FILL_B FILTER DST
SRC holds W*H*C raw bytes (RGB or L); DST receives the W*H*C result bytes.
"""
import sys

from PIL import Image, ImageEnhance, ImageOps

R = getattr(Image, "Resampling", Image)
AFFINE = getattr(Image, "Transform", Image).AFFINE


def solarize_add(img, add, thresh=128):
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    if img.mode == "RGB":
        lut = lut + lut + lut
    return img.point(lut)


def apply(img, op, arg, fill, resample):
    kw = dict(fillcolor=fill, resample=resample)
    if op == "AutoContrast":
        return ImageOps.autocontrast(img)
    if op == "Equalize":
        return ImageOps.equalize(img)
    if op == "Invert":
        return ImageOps.invert(img)
    if op == "Rotate":
        return img.rotate(arg, **kw)
    if op == "Posterize":
        return img if int(arg) >= 8 else ImageOps.posterize(img, int(arg))
    if op == "Solarize":
        return ImageOps.solarize(img, int(arg))
    if op == "SolarizeAdd":
        return solarize_add(img, int(arg))
    if op == "Color":
        return ImageEnhance.Color(img).enhance(arg)
    if op == "Contrast":
        return ImageEnhance.Contrast(img).enhance(arg)
    if op == "Brightness":
        return ImageEnhance.Brightness(img).enhance(arg)
    if op == "Sharpness":
        return ImageEnhance.Sharpness(img).enhance(arg)
    if op == "ShearX":
        return img.transform(img.size, AFFINE, (1, arg, 0, 0, 1, 0), **kw)
    if op == "ShearY":
        return img.transform(img.size, AFFINE, (1, 0, 0, arg, 1, 0), **kw)
    if op == "TranslateXRel":
        return img.transform(img.size, AFFINE, (1, 0, arg * img.size[0], 0, 1, 0), **kw)
    if op == "TranslateYRel":
        return img.transform(img.size, AFFINE, (1, 0, 0, 0, 1, arg * img.size[1]), **kw)
    raise SystemExit("unknown op " + op)


for line in open(sys.argv[1]):
    f = line.split()
    if not f:
        continue
    src, w, h, c, op, arg = f[0], int(f[1]), int(f[2]), int(f[3]), f[4], float(f[5])
    fill = tuple(int(v) for v in f[6:9])
    resample = R.BICUBIC if f[9] == "bicubic" else R.BILINEAR
    dst = f[10]
    with open(src, "rb") as fh:
        img = Image.frombytes("RGB" if c == 3 else "L", (w, h), fh.read())
    out = apply(img, op, arg, fill if c == 3 else fill[0], resample)
    with open(dst, "wb") as fh:
        fh.write(out.tobytes())
