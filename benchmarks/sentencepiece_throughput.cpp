// SPDX-License-Identifier: Apache-2.0
// SentencePiece throughput on one core over the STSb train sentences (both columns).
// Usage: sentencepiece_throughput [model.model | tokenizer.json] [sts-train.csv] [seconds per measurement]
// Prints tokens/s for sbert's encode_into without token strings (the training hot path), for
// encode() with token strings, and, when built with libsentencepiece, for its Encode() on the
// same texts (the same ids: the tests check that they agree).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "sbert/models/tokenizers/sentencepiece.hpp"

#ifdef SBERT_BENCH_WITH_SPM
#include <sentencepiece_processor.h>
#endif

#ifndef SBERT_SHARED_DIR
#define SBERT_SHARED_DIR "../shared"
#endif

namespace {
template <class F>
void measure(const char* label, const std::vector<std::string>& sentences, std::size_t bytes, double seconds, F&& encode) {
  std::size_t tokens = 0, texts = 0, passes = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    for (const auto& s : sentences) tokens += encode(s);
    texts += sentences.size();
    ++passes;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } while (elapsed < seconds);
  std::printf("%-40s %8.3f M tokens/s  %9.0f sentences/s  %7.1f MB/s  (%zu passes, %zu tokens)\n", label,
              static_cast<double>(tokens) / elapsed / 1e6, static_cast<double>(texts) / elapsed,
              static_cast<double>(bytes * passes) / elapsed / 1e6, passes, tokens / passes);
}
}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 && *argv[1] ? argv[1] : SBERT_SHARED_DIR "/models/sentencepiece-botchan-unigram1000/botchan_unigram_1000.model";
  const std::string csv = argc > 2 && *argv[2] ? argv[2] : SBERT_SHARED_DIR "/data/stsbenchmark/sts-train.csv";
  const double seconds = argc > 3 ? std::stod(argv[3]) : 2.0;

  std::ifstream in(csv);
  if (!in) {
    std::cerr << csv << ": cannot open\n";
    return 1;
  }
  std::vector<std::string> sentences;
  std::size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::size_t s = 0;
    for (std::size_t t; (t = line.find('\t', s)) != std::string::npos; s = t + 1) f.push_back(line.substr(s, t - s));
    f.push_back(line.substr(s));
    if (f.size() < 7) continue;
    for (int k : {5, 6}) {
      bytes += f[static_cast<std::size_t>(k)].size();
      sentences.push_back(std::move(f[static_cast<std::size_t>(k)]));
    }
  }
  const bool json = model.size() > 5 && model.compare(model.size() - 5, 5, ".json") == 0;
  const auto tok = json ? sbert::models::sentencepiece_tokenizer::from_tokenizer_json(model)
                        : sbert::models::sentencepiece_tokenizer::from_model_file(model, sbert::models::sentencepiece_layout::xlm_roberta);
  std::printf("SentencePiece (%s, model_type %d), %zu STSb train sentences, %.1f MB, one thread\n", model.c_str(), tok.model_type(),
              sentences.size(), static_cast<double>(bytes) / 1e6);

  sbert::models::encoding e;
  auto ids_only = [&](const std::string& s) {
    tok.encode_into(e, s, std::nullopt, 0, false);
    return e.input_ids.size() - 2;  // spm pieces, without <s> </s>
  };
  measure("sbert encode_into(), ids only:", sentences, bytes, seconds, ids_only);  // warm-up
  measure("sbert encode_into(), ids only:", sentences, bytes, seconds, ids_only);
  measure("sbert encode() with token strings:", sentences, bytes, seconds, [&](const std::string& s) { return tok.encode(s).input_ids.size() - 2; });
#ifdef SBERT_BENCH_WITH_SPM
  if (json) return 0;
  sentencepiece::SentencePieceProcessor sp;
  if (!sp.Load(model).ok()) return 1;
  std::vector<int> ids;
  measure("libsentencepiece Encode(), ids:", sentences, bytes, seconds, [&](const std::string& s) {
    sp.Encode(s, &ids).IgnoreError();
    return ids.size();
  });
#endif
  return 0;
}
