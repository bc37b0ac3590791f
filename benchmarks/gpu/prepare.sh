#!/usr/bin/env bash
# Fills .gpu/ (git-ignored) with what the GPU machine lacks: simdjson's header and library,
# the tiny reference model, the vocabulary and STSb dev.
set -euo pipefail
cd "$(dirname "$0")/../.."
shared="${SBERT_SHARED_DIR:-../shared}"
grep -qx '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu
cp /usr/include/simdjson.h .gpu/
cp /usr/lib/x86_64-linux-gnu/libsimdjson.so.14.0.0 .gpu/libsimdjson.so
cp .gpu/libsimdjson.so .gpu/libsimdjson.so.14
cp -r "$shared/reference/tiny-bert-st" .gpu/
cp "$shared/models/bert-base-uncased/vocab.txt" "$shared/data/stsbenchmark/sts-dev.csv" .gpu/
du -sh .gpu
