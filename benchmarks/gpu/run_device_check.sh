#!/bin/sh
# One prepared script for a CUDA machine with PyTorch (pip) and sentence-transformers installed:
# builds device_check and encode_throughput against that machine's libtorch, checks CUDA against
# CPU and the Python reference, lets Python load sbert-written folders, and times encode() of a
# BERT-base-sized model in sbert and in Python on the same GPU.
#   [SKIP_TIMINGS=1] benchmarks/gpu/run_device_check.sh <shared_dir> <simdjson_dir: simdjson.h + libsimdjson.so> <out_dir>
# <shared_dir> needs reference/{embeddings.json,tiny-bert-st,tiny-bert-st-variants} and
# data/stsbenchmark/sts-dev.csv; <simdjson_dir> holds simdjson.h and libsimdjson.so.14 copied
# from the build machine (Debian's libsimdjson-dev). Results of one run: docs/gpu_models.md.
set -eu
SHARED=$(realpath "$1"); SJ=$(realpath "$2"); OUT=$(realpath "$3")
mkdir -p "$OUT/build"
TORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
ABI=$(python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
CXX=${CXX:-g++}
FLAGS="-std=c++20 -O2 -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=$ABI -Iinclude -I$SJ -isystem $TORCH/include -isystem $TORCH/include/torch/csrc/api/include"
LIBS="-L$TORCH/lib -L$SJ -Wl,-rpath,$TORCH/lib -Wl,-rpath,$SJ -Wl,--no-as-needed -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 -l:libsimdjson.so.14"
echo "== build ($($CXX --version | head -1))"
$CXX $FLAGS -g -rdynamic benchmarks/gpu/device_check.cpp -o "$OUT/build/device_check" $LIBS &
[ -n "${SKIP_TIMINGS:-}" ] || $CXX $FLAGS -DSBERT_SHARED_DIR="\"$SHARED\"" benchmarks/encode_throughput.cpp -o "$OUT/build/encode_throughput" $LIBS &
wait
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
echo "== device_check"
rc=0
PYTHONUNBUFFERED=1 python3 benchmarks/gpu/encoder_reference.py "$OUT/encref" || rc=1
"$OUT/build/device_check" "$SHARED" "$OUT" "$OUT/encref" || rc=1
echo "== python_compare"
PYTHONUNBUFFERED=1 N_BASE=4096 SKIP_TIMINGS=${SKIP_TIMINGS:-} python3 benchmarks/gpu/python_compare.py "$SHARED" "$OUT" || rc=1
echo "== sbert encode_throughput (CPU: 16 threads; CUDA: x16 sentences)"
[ -n "${SKIP_TIMINGS:-}" ] || "$OUT/build/encode_throughput" 2000 128 32 || rc=1
exit $rc
