#!/usr/bin/env bash
# Installs every Debian package sbert needs. Idempotent: re-running only checks.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev            # libtorch 1.13.1 (CPU), CMake target `torch`
  libopenblas0-openmp     # without it libtorch falls back to the ~2 GFLOP/s reference BLAS
  libsimdjson-dev libsqlite3-dev       # JSON readers and writers; SQLite reader
  libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev  # Parquet and Arrow IPC codecs
  libgloo-dev                          # Gloo headers for distributed training (c10d ProcessGroupGloo)
  catch2                               # tests
  sentencepiece libsentencepiece-dev   # test oracle only (never linked with libtorch)
  clang libclang-rt-14-dev             # libFuzzer + sanitizers for the fuzz targets
  python3                              # tests: the reference-subset generator, model-card parse check
  python3-torch                        # tests: PyTorch's torchrun, to test its launch contract (never linked)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
