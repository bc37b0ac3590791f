#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (packages), builds every test, and runs them with ctest.
# This is the command README gives and .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. ./scripts/env.sh
# ctest runs two test programs at once on 2 cores: OpenMP threads that outnumber the free
# cores must sleep rather than spin, or they starve each other.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
jobs="$(nproc)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSBERT_BUILD_BENCHMARKS=ON
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 1500
