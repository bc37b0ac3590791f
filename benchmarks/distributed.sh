#!/usr/bin/env bash
# Data-parallel figures on this machine: training samples/s with 1 and 2 processes (each with
# THREADS threads, default 1, so the comparison is per core), and the all-reduce cost per
# step for BERT-base-sized gradients over 2 Gloo processes on loopback.
#   benchmarks/distributed.sh [build-dir]
set -euo pipefail
build="${1:-build}"
threads="${THREADS:-1}"
launch="$build/tools/sbert-launch"
bench="$build/benchmarks/distributed_bench"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS=1
for n in 1 2; do
  "$launch" --nproc "$n" -- "$bench" train "${STEPS:-40}"
done
"$launch" --nproc 2 -- "$bench" allreduce
