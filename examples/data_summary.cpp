// Load the bundled data sets into typed schemas, validate them, and print a summary: the data
// half of a training run. Usage: data_summary [shared-dir]
#include <sbert/data.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>

struct sentence1 : sbert::text_column<"sentence1"> {};
struct sentence2 : sbert::text_column<"sentence2"> {};
struct score : sbert::score_column<"score"> {};
struct premise : sbert::text_column<"premise"> {};
struct hypothesis : sbert::text_column<"hypothesis"> {};
struct label : sbert::class_column<"label"> {};
using sts_pairs = sbert::schema<sentence1, sentence2, score>;
using nli_pairs = sbert::schema<premise, hypothesis, label>;
using triplets = sbert::schema<sbert::columns::anchor, sbert::columns::positive, sbert::columns::negative>;

template <class S, class C>
void text_stats(const char* name, const sbert::dataset<S>& d) {
  const auto& col = d.template column<C>();
  std::size_t total = 0, longest = 0;
  for (const auto& s : col) {
    total += s.size();
    longest = std::max(longest, s.size());
  }
  std::printf("    %-10s mean %.1f chars, max %zu\n", name, col.empty() ? 0.0 : double(total) / double(col.size()), longest);
}

int main(int argc, char** argv) {
  const std::string shared = argc > 1 ? argv[1] : SBERT_SHARED_DIR;
  sbert::read_options stsb;
  stsb.header = false;
  stsb.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  stsb.extra_fields = sbert::extra_fields::ignore;  // some rows carry two licence fields
  try {
    sbert::dataset_dict<sts_pairs> sts;
    sts.insert("train", sbert::read_tsv<sts_pairs>(shared + "/data/stsbenchmark/sts-train.csv", stsb));
    sts.insert("validation", sbert::read_tsv<sts_pairs>(shared + "/data/stsbenchmark/sts-dev.csv", stsb));
    for (const auto& [split, d] : sts) {
      const auto& s = d.column<score>();
      const auto [mn, mx] = std::minmax_element(s.begin(), s.end());
      std::printf("stsb/%s: %zu rows, score mean %.3f in [%.1f, %.1f]\n", split.c_str(), d.size(),
                  std::accumulate(s.begin(), s.end(), 0.0) / double(s.size()), *mn, *mx);
      text_stats<sts_pairs, sentence1>("sentence1", d);
      text_stats<sts_pairs, sentence2>("sentence2", d);
    }
    auto first_k = sts["train[:1%]"];
    std::printf("stsb train[:1%%] = %zu rows; first: \"%s\" / \"%s\" -> %.2f\n", first_k.size(),
                first_k[0].get<sentence1>().c_str(), first_k[0].get<sentence2>().c_str(), first_k[0].get<score>());

    sbert::read_options nli;
    nli.class_names = {"entailment", "neutral", "contradiction"};
    auto snli = sbert::read_jsonl<nli_pairs>(shared + "/data/nli/snli_1.0_dev.jsonl", nli);
    std::array<std::size_t, 3> counts{};
    for (auto l : snli.column<label>()) ++counts.at(static_cast<std::size_t>(l));
    std::printf("snli/dev: %zu rows, entailment %zu, neutral %zu, contradiction %zu\n", snli.size(), counts[0], counts[1], counts[2]);

    auto trip = sbert::read_tsv<triplets>(shared + "/data/nli/nli_dev_triplets.tsv");
    auto [train, test] = trip.shuffle(12).train_test_split(0.1, 12);
    std::printf("nli triplets: %zu rows -> train %zu / test %zu\n", trip.size(), train.size(), test.size());
  } catch (const sbert::error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
}
