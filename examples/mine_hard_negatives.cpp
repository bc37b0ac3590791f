// Hard-negative mining on NLI (anchor, positive) pairs, as util.mine_hard_negatives.
//
//   mine_hard_negatives <model-dir> <nli_dev_triplets.tsv> [--rows N] [--negatives N] [--jsonl FILE]
#include <sbert/data.hpp>
#include <sbert/util/mine_hard_negatives.hpp>

#include <fstream>
#include <iostream>
#include <string>

namespace {
struct source : sbert::text_column<"source"> {};
using sbert::columns::anchor;
using sbert::columns::negative;
using sbert::columns::positive;
std::string quoted(const std::string& s) {
  std::string o = "\"";
  for (char c : s) o += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return o + "\"";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: mine_hard_negatives <model-dir> <nli_dev_triplets.tsv> [--rows N] [--negatives N] [--jsonl FILE]\n";
    return 2;
  }
  std::size_t rows = 200;
  std::string jsonl;
  sbert::mine_hard_negatives_options o;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rows") rows = std::stoul(argv[i + 1]);
    else if (a == "--negatives") o.num_negatives = std::stoul(argv[i + 1]);
    else if (a == "--jsonl") jsonl = argv[i + 1];
  }
  try {
    const auto pairs = sbert::read_tsv<sbert::schema<source, anchor, positive, negative>>(argv[2])
                           .take(rows)
                           .select_columns<anchor, positive>();
    auto model = sbert::models::sentence_transformer::load(argv[1]);
    sbert::mine_hard_negatives_report rep;
    o.report = &rep;
    const auto out = sbert::mine_hard_negatives(pairs, *model, o);
    std::cout << pairs.size() << " pairs, " << rep.unique_queries << " queries, " << rep.corpus_size
              << " candidates, range_max " << rep.range_max << ": " << out.size() << " triplets (of "
              << rep.maximum_rows << " possible)\n";
    for (std::size_t i = 0; i < std::min<std::size_t>(3, out.size()); ++i)
      std::cout << "  " << out[i].get<anchor>() << " | " << out[i].get<positive>() << " | " << out[i].get<negative>() << '\n';
    if (!jsonl.empty()) {
      std::ofstream f(jsonl);
      for (std::size_t i = 0; i < out.size(); ++i)
        f << "{\"anchor\": " << quoted(out[i].get<anchor>()) << ", \"positive\": " << quoted(out[i].get<positive>())
          << ", \"negative\": " << quoted(out[i].get<negative>()) << "}\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
