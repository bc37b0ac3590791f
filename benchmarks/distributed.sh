#!/usr/bin/env bash
# Data-parallel figures on this machine: training samples/s with 1 and 2 processes (each with
# THREADS threads, default 1, so the comparison is per core; for 2, the gradient all-reduce
# after the backward pass and overlapped with it), and the all-reduce cost per
# step for BERT-base-sized gradients over 2 Gloo processes on loopback.
#   benchmarks/distributed.sh [build-dir]
set -euo pipefail
build="${1:-build}"
threads="${THREADS:-1}"
launch="$build/tools/sbert-launch"
bench="$build/benchmarks/distributed_bench"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS=1
"$launch" --nproc 1 -- "$bench" train "${STEPS:-40}"
# 2 processes: the all-reduce after the backward pass, then overlapped with it in DDP's 25 MiB
# buckets (this model's 17 MiB of gradients: one bucket, so nothing can start early) and in
# 1 MiB buckets.
"$launch" --nproc 2 -- "$bench" train "${STEPS:-40}" 0 25
"$launch" --nproc 2 -- "$bench" train "${STEPS:-40}" 1 25
"$launch" --nproc 2 -- "$bench" train "${STEPS:-40}" 1 1
"$launch" --nproc 2 -- "$bench" allreduce
