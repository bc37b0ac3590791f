#!/usr/bin/env bash
# Side-by-side: the same workloads through sbert and through Python sentence-transformers (when
# importable), one run, same weights, same texts; prints sbert : Python ratios (compare.py).
#
#   benchmarks/compare_python/run.sh [build-dir] [--quick]
#
# Needs build-dir/benchmarks/compare_python_sbert (built with the benchmarks, which the tests'
# build does). Writes under out/compare_python/. On the GPU machine, build the sbert side against
# the Python torch package's libtorch (see benchmarks/gpu/run.sh for that setup).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
quick="${2:-}"
shared="${SBERT_SHARED_DIR:-$(cd .. && pwd)/shared}"
. ./scripts/env.sh
work=out/compare_python
mkdir -p "$work"
"$build/benchmarks/compare_python_sbert" "$shared" "$work" "$work/sbert.json" $quick
python3 benchmarks/compare_python/python_side.py "$shared" "$work" "$work/python.json" $quick
python3 benchmarks/compare_python/compare.py "$work/sbert.json" "$work/python.json" | tee "$work/results.md"
