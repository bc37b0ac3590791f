// SPDX-License-Identifier: Apache-2.0
// WordPiece throughput on one core over the STSb train sentences (both columns).
// Usage: tokenizer_throughput [tokenizer folder] [sts-train.csv] [seconds per measurement]
// Prints tokens/s (special tokens included) for encode_into without token strings (the training
// hot path) and for encode() with token strings.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "sbert/models/tokenizers/wordpiece.hpp"

#ifndef SBERT_SHARED_DIR
#define SBERT_SHARED_DIR "../shared"
#endif

int main(int argc, char** argv) {
  auto arg = [&](int i, const char* fallback) {
    return std::string(argc > i && *argv[i] ? argv[i] : fallback);
  };
  const std::string dir = arg(1, SBERT_SHARED_DIR "/models/bert-base-uncased");
  const std::string csv = arg(2, SBERT_SHARED_DIR "/data/stsbenchmark/sts-train.csv");
  const double seconds = argc > 3 ? std::stod(argv[3]) : 2.0;

  std::ifstream in(csv);
  if (!in) {
    std::cerr << csv << ": cannot open\n";
    return 1;
  }
  // genre, filename, year, id, score, sentence1, sentence2 [, extra fields]
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
  const auto tok = sbert::models::load_wordpiece(dir);

  // CPU time of this thread is the figure (robust on a shared machine); wall time is printed too.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  auto measure = [&](bool with_tokens) {
    sbert::models::encoding e;
    std::size_t tokens = 0, texts = 0, passes = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    double cpu = 0;
    do {
      for (const auto& s : sentences) {
        tok.encode_into(e, s, std::nullopt, 0, with_tokens);
        tokens += e.input_ids.size();
      }
      texts += sentences.size();
      ++passes;
      cpu = cpu_now() - c0;
    } while (cpu < seconds);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%-30s %7.3f M tokens/s  %8.0f sentences/s  %6.1f MB/s  (CPU time; wall: %.3f M tokens/s; %zu passes of %zu tokens)\n",
                with_tokens ? "encode() with token strings:" : "encode_into(), ids only:",
                static_cast<double>(tokens) / cpu / 1e6, static_cast<double>(texts) / cpu,
                static_cast<double>(bytes * passes) / cpu / 1e6, static_cast<double>(tokens) / wall / 1e6,
                passes, tokens / passes);
  };
  std::printf("WordPiece (%s), %zu STSb train sentences, %.1f MB, one thread\n", dir.c_str(),
              sentences.size(), static_cast<double>(bytes) / 1e6);
  measure(false);  // the first run also warms the caches
  measure(false);
  measure(true);
  return 0;
}
