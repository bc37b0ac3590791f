#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds the training example, and runs the main job on the
# bundled data (shared/ beside this checkout, or SBERT_SHARED_DIR): a small BERT from a random
# initialisation, trained on NLI triplets (MNRL) then STSb (CoSENT), with STSb dev Spearman
# printed before and after. Extra arguments go to the program (e.g. --model DIR, --epochs N).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. ./scripts/env.sh
shared="${SBERT_SHARED_DIR:-$(cd .. && pwd)/shared}"
cmake -S . -B build-main -G Ninja -DCMAKE_BUILD_TYPE=Release -DSBERT_BUILD_TESTS=OFF -DSBERT_BUILD_BENCHMARKS=OFF -DSBERT_PROGRAMS_HEADER_ONLY=ON
cmake --build build-main -j "$(nproc)" --target train_sts_nli
./build-main/examples/train_sts_nli --shared "$shared" --output out/main_job "$@"
