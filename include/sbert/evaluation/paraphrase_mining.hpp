// SPDX-License-Identifier: Apache-2.0
// ParaphraseMiningEvaluator: mine the most similar sentence pairs of a collection (cosine,
// top_k per sentence, at most max_pairs) and score them against the known duplicates: average
// precision over the ranked pairs, and the best F1 with its precision, recall and threshold.
#pragma once
#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ops/topk.h>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct paraphrase_mining_options {
  /// Also count as duplicates every pair connected through other duplicates.
  bool add_transitive_closure = false;
  std::int64_t query_chunk_size = 5000;
  std::int64_t corpus_chunk_size = 100000;
  std::size_t max_pairs = 500000;
  std::size_t top_k = 100;
  bool show_progress_bar = false;
  std::int64_t batch_size = 16;
  std::string name;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
};

namespace detail {
/// One mined pair: cosine score and the two sentence indices (i < j).
struct mined_pair {
  double score;
  std::size_t i, j;
};

/// util.paraphrase_mining_embeddings: for every sentence its top_k + 1 most similar (itself
/// excluded afterwards), chunk by chunk; a min-heap holds the best max_pairs candidates; each
/// unordered pair is kept once (the lower of its two scores, as Python's queue pops it first);
/// the result is sorted by descending score.
[[nodiscard]] inline std::vector<mined_pair> mine_pairs(const at::Tensor& emb, std::int64_t query_chunk, std::int64_t corpus_chunk,
                                                        std::size_t max_pairs, std::size_t top_k) {
  using entry = std::tuple<double, std::size_t, std::size_t>;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> heap;
  const auto n = emb.size(0);
  double min_score = -1;
  std::size_t added = 0;
  for (std::int64_t cs = 0; cs < n; cs += corpus_chunk) {
    const auto ce = std::min(n, cs + corpus_chunk);
    for (std::int64_t qs = 0; qs < n; qs += query_chunk) {
      const auto qe = std::min(n, qs + query_chunk);
      const auto scores = cos_sim(emb.narrow(0, qs, qe - qs), emb.narrow(0, cs, ce - cs));
      const auto k = std::min<std::int64_t>(static_cast<std::int64_t>(top_k) + 1, ce - cs);
      const auto [values, indices] = at::topk(scores, k, 1, true, false);
      const auto v = values.contiguous();
      const auto ix = indices.contiguous();
      const float* vp = v.data_ptr<float>();
      const std::int64_t* ip = ix.data_ptr<std::int64_t>();
      for (std::int64_t q = 0; q < qe - qs; ++q)
        for (std::int64_t t = 0; t < k; ++t) {
          const auto i = static_cast<std::size_t>(qs + q), j = static_cast<std::size_t>(cs + ip[q * k + t]);
          const double s = vp[q * k + t];
          if (i != j && s > min_score) {
            heap.emplace(s, i, j);
            if (++added >= max_pairs) {
              min_score = std::get<0>(heap.top());
              heap.pop();
            }
          }
        }
    }
  }
  std::set<std::pair<std::size_t, std::size_t>> seen;
  std::vector<mined_pair> out;
  while (!heap.empty()) {
    auto [s, i, j] = heap.top();
    heap.pop();
    const auto a = std::min(i, j), b = std::max(i, j);
    if (a != b && seen.emplace(a, b).second) out.push_back({s, a, b});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.score > y.score; });
  return out;
}
}  // namespace detail

class paraphrase_mining_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "ParaphraseMiningEvaluator";
  static constexpr std::string_view description = "Paraphrase Mining";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = paraphrase_mining_options;
  using id_texts = std::vector<std::pair<std::string, std::string>>;
  /// (text, text) rows that are duplicates; with a class label, the rows labelled 1 are.
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::none | label_kind::class_label,
                                      .roles = roles::labelled_pair};

  /// sentences_map as (id, text) pairs in order; duplicates as id pairs.
  paraphrase_mining_evaluator(id_texts sentences, const std::vector<std::pair<std::string, std::string>>& duplicates, options o = {})
      : evaluator(o.name), opts_(std::move(o)) {
    set_data(std::move(sentences), duplicates);
  }

  /// Each distinct text is a sentence (id = its position); each row (labelled 1, if labelled)
  /// is a duplicate pair.
  template <Schema S>
  explicit paraphrase_mining_evaluator(const dataset<S>& d, options o = {}) : evaluator(o.name), opts_(std::move(o)) {
    check_inputs_fit<paraphrase_mining_evaluator, S>();
    if constexpr (InputsFit<paraphrase_mining_evaluator, S>) {
      const auto& a = detail::input_column<0>(d);
      const auto& b = detail::input_column<1>(d);
      id_texts sentences;
      std::unordered_map<std::string, std::string> ids;
      auto id_of = [&](const std::string& t) {
        auto [it, fresh] = ids.emplace(t, std::to_string(sentences.size()));
        if (fresh) sentences.emplace_back(it->second, t);
        return it->second;
      };
      std::vector<std::pair<std::string, std::string>> dups;
      for (std::size_t i = 0; i < a.size(); ++i) {
        const auto x = id_of(a[i]), y = id_of(b[i]);
        bool duplicate = true;
        if constexpr (S::label == label_kind::class_label) duplicate = detail::label_column(d)[i] == 1;
        if (duplicate) dups.emplace_back(x, y);
      }
      set_data(std::move(sentences), dups);
    }
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto emb = detail::encode_for_eval(model, texts_, detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim));
    const auto pairs = detail::mine_pairs(emb, std::max<std::int64_t>(1, opts_.query_chunk_size),
                                          std::max<std::int64_t>(1, opts_.corpus_chunk_size), opts_.max_pairs, opts_.top_k);
    std::size_t extracted = 0, correct = 0;
    double best_f1 = 0, best_p = 0, best_r = 0, threshold = 0, ap = 0;
    const auto total = static_cast<double>(total_duplicates_);
    for (std::size_t idx = 0; idx < pairs.size(); ++idx) {
      ++extracted;
      if (!duplicates_.count({pairs[idx].i, pairs[idx].j})) continue;
      ++correct;
      const double p = static_cast<double>(correct) / static_cast<double>(extracted);
      const double r = static_cast<double>(correct) / total;
      const double f1 = 2 * p * r / (p + r);
      ap += p;
      if (f1 > best_f1) {
        best_f1 = f1;
        best_p = p;
        best_r = r;
        threshold = (pairs[idx].score + pairs[std::min(idx + 1, pairs.size() - 1)].score) / 2;
      }
    }
    ap = total > 0 ? ap / total : 0.0;
    if (!output_path.empty() && opts_.write_csv) {
      const std::vector<std::string> header{"epoch", "steps", "precision", "recall", "f1", "threshold", "average_precision"};
      const std::vector<std::string> row{detail::csv_number(epoch), detail::csv_number(steps), detail::csv_number(best_p),
                                         detail::csv_number(best_r), detail::csv_number(best_f1), detail::csv_number(threshold),
                                         detail::csv_number(ap)};
      detail::append_csv_row(output_path, csv_file(), header, row);
    }
    return prefix_all({{"average_precision", ap}, {"f1", best_f1}, {"precision", best_p}, {"recall", best_r}, {"threshold", threshold}});
  }

  /// paraphrase_mining_evaluation[_{name}]_results.csv
  [[nodiscard]] std::string csv_file() const {
    return "paraphrase_mining_evaluation" + (name_.empty() ? "" : "_" + name_) + "_results.csv";
  }
  [[nodiscard]] std::size_t duplicate_count() const { return total_duplicates_; }

 private:
  void set_data(id_texts sentences, const std::vector<std::pair<std::string, std::string>>& duplicates) {
    primary_ = "average_precision";
    std::unordered_map<std::string, std::size_t> index;
    for (auto& [id, text] : sentences) {
      if (!index.emplace(id, texts_.size()).second)
        throw error("paraphrase_mining_evaluator: sentence id '" + id + "' appears twice");
      texts_.push_back(std::move(text));
    }
    // Pairs whose ids are not both among the sentences are ignored, as in Python.
    std::vector<std::size_t> parent(texts_.size());
    std::iota(parent.begin(), parent.end(), std::size_t{0});
    auto find = [&](std::size_t x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    for (const auto& [a, b] : duplicates) {
      auto ia = index.find(a), ib = index.find(b);
      if (ia == index.end() || ib == index.end()) continue;
      const auto x = std::min(ia->second, ib->second), y = std::max(ia->second, ib->second);
      duplicates_.emplace(x, y);
      parent[find(x)] = find(y);
    }
    if (opts_.add_transitive_closure) {
      std::map<std::size_t, std::vector<std::size_t>> groups;
      std::set<std::size_t> linked;
      for (const auto& [x, y] : duplicates_) linked.insert({x, y});
      for (auto v : linked) groups[find(v)].push_back(v);
      for (const auto& [root, members] : groups)
        for (std::size_t i = 0; i < members.size(); ++i)
          for (std::size_t j = i + 1; j < members.size(); ++j) duplicates_.emplace(members[i], members[j]);
    }
    total_duplicates_ = duplicates_.size();
  }

  std::vector<std::string> texts_;
  std::set<std::pair<std::size_t, std::size_t>> duplicates_;  // (i, j), i <= j
  std::size_t total_duplicates_ = 0;
  options opts_;
};

}  // namespace sbert
