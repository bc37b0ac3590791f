// SPDX-License-Identifier: Apache-2.0
// RerankingEvaluator: for each query, rank its positive and negative documents by similarity
// and score the ranking: MAP (over all of the query's documents), MRR@k and NDCG@k.
#pragma once
#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct reranking_sample {
  std::string query;
  std::vector<std::string> positive;
  std::vector<std::string> negative;
};

struct reranking_options {
  std::size_t at_k = 10;
  std::string name;
  bool write_csv = true;
  similarity_function similarity_fct = similarity_function::cosine;
  std::int64_t batch_size = 64;
  bool show_progress_bar = false;
  /// false: encode each sample's query and documents on their own (less memory).
  bool use_batched_encoding = true;
  std::optional<std::int64_t> truncate_dim;
};

class reranking_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "RerankingEvaluator";
  static constexpr std::string_view description = "Reranking";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = reranking_options;
  /// (query, positive, negative) rows, or (query, positive, negatives list) rows.
  static constexpr inputs_spec inputs{.texts = exactly(3), .text_list = true, .roles = roles::triplet};

  explicit reranking_evaluator(std::vector<reranking_sample> samples, options o = {})
      : evaluator(o.name), opts_(std::move(o)) {
    if (opts_.at_k == 0) throw error("reranking_evaluator: at_k must be positive");
    // Python drops samples without a positive or without a negative.
    for (auto& s : samples)
      if (!s.positive.empty() && !s.negative.empty()) samples_.push_back(std::move(s));
    primary_ = "ndcg@" + std::to_string(opts_.at_k);
  }

  /// Rows grouped by query text (in order of first appearance); each row adds its positive and
  /// its negative (or list of negatives) to that query's sample, without repeats.
  template <Schema S>
  explicit reranking_evaluator(const dataset<S>& d, options o = {}) : reranking_evaluator(std::vector<reranking_sample>{}, std::move(o)) {
    check_inputs_fit<reranking_evaluator, S>();
    if constexpr (InputsFit<reranking_evaluator, S>) {
      const auto& qs = detail::input_column<0>(d);
      const auto& ps = detail::input_column<1>(d);
      const auto& ns = detail::input_column<2>(d);
      std::vector<reranking_sample> samples;
      std::map<std::string, std::size_t> at;
      std::vector<std::set<std::string>> seen_pos, seen_neg;
      for (std::size_t i = 0; i < qs.size(); ++i) {
        auto [it, fresh] = at.emplace(qs[i], samples.size());
        if (fresh) {
          samples.push_back({qs[i], {}, {}});
          seen_pos.emplace_back();
          seen_neg.emplace_back();
        }
        const auto k = it->second;
        if (seen_pos[k].insert(ps[i]).second) samples[k].positive.push_back(ps[i]);
        auto add_negative = [&](const std::string& n) {
          if (seen_neg[k].insert(n).second) samples[k].negative.push_back(n);
        };
        if constexpr (std::is_same_v<std::decay_t<decltype(ns[i])>, std::string>) add_negative(ns[i]);
        else for (const auto& n : ns[i]) add_negative(n);
      }
      for (auto& s : samples)
        if (!s.positive.empty() && !s.negative.empty()) samples_.push_back(std::move(s));
    }
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto enc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim);
    std::vector<double> aps, mrrs, ndcgs;
    auto score_sample = [&](const reranking_sample& s, const at::Tensor& q, const at::Tensor& docs) {
      const auto scores = detail::to_vector<double>(similarity(opts_.similarity_fct, q, docs).reshape({-1}));
      std::vector<int> relevant(scores.size(), 0);
      std::fill(relevant.begin(), relevant.begin() + static_cast<std::ptrdiff_t>(s.positive.size()), 1);
      std::vector<std::size_t> order(scores.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return scores[a] > scores[b]; });
      double mrr = 0;
      for (std::size_t r = 0; r < order.size() && r < opts_.at_k; ++r)
        if (relevant[order[r]]) {
          mrr = 1.0 / static_cast<double>(r + 1);
          break;
        }
      const std::vector<double> gains(relevant.begin(), relevant.end());
      mrrs.push_back(mrr);
      ndcgs.push_back(detail::ndcg_at_k(gains, scores, opts_.at_k));
      aps.push_back(detail::average_precision(relevant, scores));
    };
    if (opts_.use_batched_encoding) {
      std::vector<std::string> queries, docs;
      for (const auto& s : samples_) {
        queries.push_back(s.query);
        docs.insert(docs.end(), s.positive.begin(), s.positive.end());
        docs.insert(docs.end(), s.negative.begin(), s.negative.end());
      }
      const auto q = detail::encode_for_eval(model, queries, enc, detail::encode_role::query);
      const auto d = detail::encode_for_eval(model, docs, enc, detail::encode_role::document);
      std::int64_t at = 0;
      for (std::size_t i = 0; i < samples_.size(); ++i) {
        const auto n = static_cast<std::int64_t>(samples_[i].positive.size() + samples_[i].negative.size());
        score_sample(samples_[i], q[static_cast<std::int64_t>(i)], d.narrow(0, at, n));
        at += n;
      }
    } else {
      for (const auto& s : samples_) {
        std::vector<std::string> docs = s.positive;
        docs.insert(docs.end(), s.negative.begin(), s.negative.end());
        const std::vector<std::string> query{s.query};
        auto e = enc;
        e.show_progress_bar = false;
        score_sample(s, detail::encode_for_eval(model, query, e, detail::encode_role::query),
                     detail::encode_for_eval(model, docs, e, detail::encode_role::document));
      }
    }
    auto mean = [](const std::vector<double>& v) {
      return v.empty() ? std::numeric_limits<double>::quiet_NaN() : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    };
    const double map = mean(aps), mrr = mean(mrrs), ndcg = mean(ndcgs);
    const auto k = std::to_string(opts_.at_k);
    if (!output_path.empty() && opts_.write_csv) {
      const std::vector<std::string> header{"epoch", "steps", "MAP", "MRR@" + k, "NDCG@" + k};
      const std::vector<std::string> row{detail::csv_number(epoch), detail::csv_number(steps), detail::csv_number(map),
                                         detail::csv_number(mrr), detail::csv_number(ndcg)};
      detail::append_csv_row(output_path, csv_file(), header, row);
    }
    return prefix_all({{"map", map}, {"mrr@" + k, mrr}, {"ndcg@" + k, ndcg}});
  }

  /// RerankingEvaluator[_{name}]_results_@{at_k}.csv
  [[nodiscard]] std::string csv_file() const {
    return "RerankingEvaluator" + (name_.empty() ? "" : "_" + name_) + "_results_@" + std::to_string(opts_.at_k) + ".csv";
  }
  [[nodiscard]] const std::vector<reranking_sample>& samples() const { return samples_; }

 private:
  std::vector<reranking_sample> samples_;
  options opts_;
};

}  // namespace sbert
