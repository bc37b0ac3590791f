// JSONL -> typed dataset throughput on one core, in MB/s of input. The input is the SNLI and
// MultiNLI dev files (real text), repeated to ~64 MB in memory so the disk is not measured.
// Goal: >= 300 MB/s end to end (simdjson itself parses at GB/s).
#include <sbert/data/readers.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {
struct premise : sbert::text_column<"premise"> {};
struct hypothesis : sbert::text_column<"hypothesis"> {};
struct label : sbert::class_column<"label"> {};
}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : SBERT_SHARED_DIR;
  std::string base;
  for (const char* f : {"/data/nli/snli_1.0_dev.jsonl", "/data/nli/multinli_1.0_dev_matched.jsonl"}) {
    std::ifstream in(dir + f, std::ios::binary);
    if (!in) {
      std::cerr << "cannot read " << dir << f << '\n';
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    base += ss.str();
  }
  std::string content;
  while (content.size() < (64u << 20)) content += base;
  sbert::read_options o;
  o.class_names = {"entailment", "neutral", "contradiction"};
  using S = sbert::schema<premise, hypothesis, label>;
  double best = 0;
  std::size_t rows = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    auto d = sbert::parse_jsonl<S>(content, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rows = d.size();
    best = std::max(best, static_cast<double>(content.size()) / 1e6 / s);
  }
  std::cout << "jsonl_throughput: " << rows << " rows, " << content.size() / 1000000 << " MB, best of 3: " << best
            << " MB/s (goal >= 300 MB/s)\n";
}
