#!/usr/bin/env bash
# The GPU check, run on the device machine from the repository root, with .gpu/ carried
# (prepare it here with benchmarks/gpu/prepare.sh). Writes its results under $OUT.
set -euo pipefail
export PYTHONUNBUFFERED=1
C=.gpu
python3 - <<'PY' > /tmp/sentences.txt
import itertools
rows = [l.rstrip("\n").split("\t") for l in open(".gpu/sts-dev.csv", encoding="utf-8")]
sents = [r[5] for r in rows if len(r) > 6] + [r[6] for r in rows if len(r) > 6]
print("\n".join(sents[:2048]))
PY
python3 benchmarks/gpu/python_side.py $C /tmp/sentences.txt /tmp/bertbase_st $OUT/python.json
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
cmake -S benchmarks/gpu -B /tmp/gpu_build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  -DSBERT_INCLUDE_DIR=$PWD/include -DSIMDJSON_DIR=$PWD/$C > $OUT/cmake.log 2>&1 || { tail -50 $OUT/cmake.log; exit 1; }
cmake --build /tmp/gpu_build -j 16 2>&1 | tail -40
LD_LIBRARY_PATH=$PWD/$C /tmp/gpu_build/gpu_check $C/tiny-bert-st /tmp/bertbase_st /tmp/sentences.txt $OUT/cpp.json
python3 benchmarks/gpu/compare.py $OUT/python.json $OUT/cpp.json | tee $OUT/gpu_results.md
