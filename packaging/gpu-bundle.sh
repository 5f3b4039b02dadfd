#!/usr/bin/env bash
# Gathers what the GPU machine's build needs beyond the LibTorch inside its pip torch, into one
# git-ignored folder that travels with the working tree (the device tool's `carry`):
#   nlohmann-json, CLI11 (headers), GoogleTest (sources, built there with torch's C++ ABI),
#   zlib (headers + static library): Debian's own packages, `apt-get download` + `dpkg -x`;
#   a Fashion-MNIST subset (the first 12,000 training and 2,000 test images, IDX gzipped).
# Usage: packaging/gpu-bundle.sh [FOLDER]   (default .gpu-bundle; prints its size)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-.gpu-bundle}
rm -rf "$B"
mkdir -p "$B/debs" "$B/fashion-mnist"
PKGS=(nlohmann-json3-dev libcli11-dev googletest zlib1g-dev)
if ! (cd "$B/debs" && apt-get download "${PKGS[@]}" >/dev/null 2>&1); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  (cd "$B/debs" && apt-get download "${PKGS[@]}" >/dev/null)
fi
for d in "$B"/debs/*.deb; do dpkg -x "$d" "$B"; done
rm -rf "$B/debs" "$B/usr/share/doc" "$B/usr/share/man"
# A -dev package's links point into its runtime package (libz.so -> libz.so.1.2.13 of zlib1g),
# which is not extracted: drop every link that leads nowhere, so the bundle holds none.
find "$B" -xtype l -print -delete | sed 's/^/gpu-bundle: dropped the dangling link /'
# Fashion-MNIST: the first N images of each split, headers rewritten to the new counts.
FM=${DILUTE_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
/usr/bin/python3 - "$FM" "$B/fashion-mnist" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
for split, n in (("train", 12000), ("t10k", 2000)):
    with gzip.open(f"{src}/{split}-images-idx3-ubyte.gz") as f:
        magic, count, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803 and count >= n
        pixels = f.read(n * h * w)
    with open(f"{dst}/{split}-images-idx3-ubyte.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(struct.pack(">IIII", magic, n, h, w) + pixels)
    with gzip.open(f"{src}/{split}-labels-idx1-ubyte.gz") as f:
        magic, count = struct.unpack(">II", f.read(8))
        assert magic == 0x801 and count >= n
        labels = f.read(n)
    with open(f"{dst}/{split}-labels-idx1-ubyte.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(struct.pack(">II", magic, n) + labels)
PY
if [ -n "$(find "$B" -xtype l)" ]; then
  echo "gpu-bundle: dangling links left in $B: $(find "$B" -xtype l | tr '\n' ' ')" >&2
  exit 1
fi
echo "gpu-bundle: $(du -sh "$B" | cut -f1) in $B"
