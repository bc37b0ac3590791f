#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds the examples, and runs the main job on the
# bundled data (shared/ beside this checkout, or SBERT_SHARED_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. ./scripts/env.sh
shared="${SBERT_SHARED_DIR:-$(cd .. && pwd)/shared}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSBERT_BUILD_TESTS=OFF -DSBERT_BUILD_BENCHMARKS=OFF
cmake --build build -j "$(nproc)" --target data_summary
./build/examples/data_summary "$shared"
