// SPDX-License-Identifier: Apache-2.0
// BinaryClassificationEvaluator: how well a similarity threshold separates paraphrase pairs
// (label 1) from the rest (label 0): accuracy, F1, precision, recall with their best
// thresholds, average precision and MCC.
//
// Euclidean and manhattan are scored as distances (lower = more similar), so their thresholds
// are positive distances: the corrected semantics of sentence-transformers v6 (#3886). Versions
// 3-5 searched the already negated distances as if lower were better, which inverted every
// metric of those two functions.
#pragma once
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct binary_classification_options {
  std::string name;
  std::int64_t batch_size = 32;
  bool show_progress_bar = false;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
  /// Empty: the model's similarity function.
  std::vector<similarity_function> similarity_fn_names;
};

class binary_classification_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "BinaryClassificationEvaluator";
  static constexpr std::string_view description = "Binary Classification";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = binary_classification_options;
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::class_label,
                                      .roles = roles::labelled_pair};

  binary_classification_evaluator(std::vector<std::string> sentences1, std::vector<std::string> sentences2,
                                  std::vector<int> labels, options o = {})
      : evaluator(o.name), s1_(std::move(sentences1)), s2_(std::move(sentences2)), labels_(std::move(labels)),
        opts_(std::move(o)) {
    detail::check_same_length(s1_.size(), s2_.size(), "binary_classification_evaluator");
    detail::check_same_length(s1_.size(), labels_.size(), "binary_classification_evaluator");
    check_labels();
    primary_ = opts_.similarity_fn_names.size() > 1
                   ? "max_ap"
                   : std::string(name_of(opts_.similarity_fn_names.empty() ? similarity_function::cosine
                                                                           : opts_.similarity_fn_names.front())) + "_ap";
  }

  /// From a data set of (text, text, class label 0/1) rows.
  template <Schema S>
  explicit binary_classification_evaluator(const dataset<S>& d, options o = {})
      : binary_classification_evaluator({}, {}, {}, std::move(o)) {
    check_inputs_fit<binary_classification_evaluator, S>();
    if constexpr (InputsFit<binary_classification_evaluator, S>) {
      s1_ = detail::input_column<0>(d);
      s2_ = detail::input_column<1>(d);
      const auto& y = detail::label_column(d);
      labels_.clear();
      for (auto v : y) {
        if (v != 0 && v != 1)
          throw input_error(d.source(), labels_.size() + 1, "label",
                            "binary_classification_evaluator needs labels 0 or 1, got " + std::to_string(v));
        labels_.push_back(static_cast<int>(v));
      }
    }
  }

  /// The metrics of one similarity function, before prefixing.
  struct fn_metrics {
    double accuracy = 0, accuracy_threshold = 0, f1 = 0, f1_threshold = 0, precision = 0, recall = 0, ap = 0, mcc = 0;
  };

  /// The metrics from precomputed pair scores (similarities, or distances when
  /// greater_is_better is false).
  [[nodiscard]] static fn_metrics compute(std::span<const float> scores, std::span<const int> labels, bool greater_is_better) {
    fn_metrics r;
    const auto acc = detail::best_accuracy_threshold(scores, labels, greater_is_better);
    const auto f1 = detail::best_f1_threshold(scores, labels, greater_is_better);
    r.accuracy = acc.accuracy;
    r.accuracy_threshold = acc.threshold;
    r.f1 = f1.f1;
    r.precision = f1.precision;
    r.recall = f1.recall;
    r.f1_threshold = f1.threshold;
    std::vector<double> signed_scores(scores.size());
    std::vector<int> predicted(scores.size());
    const auto t = static_cast<float>(f1.threshold);
    for (std::size_t i = 0; i < scores.size(); ++i) {
      signed_scores[i] = greater_is_better ? scores[i] : -static_cast<double>(scores[i]);
      predicted[i] = greater_is_better ? scores[i] >= t : scores[i] <= t;
    }
    r.ap = detail::average_precision(labels, signed_scores);
    r.mcc = detail::matthews_corrcoef(labels, predicted);
    return r;
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto fns = detail::functions_or_models(opts_.similarity_fn_names, model);
    // Each distinct sentence is encoded once (Python encodes set(sentences1 + sentences2)).
    std::vector<std::string> unique;
    std::unordered_map<std::string, std::int64_t> index;
    std::vector<std::int64_t> i1, i2;
    auto id_of = [&](const std::string& s) {
      auto [it, fresh] = index.emplace(s, static_cast<std::int64_t>(unique.size()));
      if (fresh) unique.push_back(s);
      return it->second;
    };
    for (const auto& s : s1_) i1.push_back(id_of(s));
    for (const auto& s : s2_) i2.push_back(id_of(s));
    const auto enc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim);
    const auto emb = detail::encode_for_eval(model, unique, enc);
    const auto n = static_cast<std::int64_t>(s1_.size());
    const auto e1 = emb.index_select(0, at::from_blob(i1.data(), {n}, at::kLong));
    const auto e2 = emb.index_select(0, at::from_blob(i2.data(), {n}, at::kLong));

    std::vector<std::pair<std::string, double>> m;
    std::vector<std::string> header{"epoch", "steps"}, row{detail::csv_number(epoch), detail::csv_number(steps)};
    std::vector<fn_metrics> all;
    for (auto fn : fns) {
      const bool distance = fn == similarity_function::euclidean || fn == similarity_function::manhattan;
      auto sims = detail::to_vector<float>(similarity_pairwise(fn, e1, e2));
      if (distance)
        for (auto& v : sims) v = -v;  // back to a positive distance
      const auto r = compute(sims, labels_, !distance);
      all.push_back(r);
      const std::string f(name_of(fn));
      for (const auto& [k, v] : named(r)) m.emplace_back(f + "_" + k, v);
      // Python's header order; the row follows the header (Python 5.x drops the two
      // threshold values from the row, which misaligns its columns).
      for (const auto& [k, v] : csv_order(r)) {
        header.push_back(f + "_" + k);
        row.push_back(detail::csv_number(v));
      }
    }
    if (fns.size() > 1) {
      const auto names = named(all.front());
      for (std::size_t k = 0; k < names.size(); ++k) {
        double best = -std::numeric_limits<double>::infinity();
        for (const auto& r : all) best = std::max(best, named(r)[k].second);
        m.emplace_back("max_" + names[k].first, best);
      }
      primary_ = "max_ap";
    } else {
      primary_ = std::string(name_of(fns.front())) + "_ap";
    }
    if (!output_path.empty() && opts_.write_csv) detail::append_csv_row(output_path, csv_file(), header, row);
    return prefix_all(m);
  }

  /// binary_classification_evaluation[_{name}]_results.csv
  [[nodiscard]] std::string csv_file() const {
    return "binary_classification_evaluation" + (name_.empty() ? "" : "_" + name_) + "_results.csv";
  }

 private:
  static std::vector<std::pair<std::string, double>> named(const fn_metrics& r) {
    return {{"accuracy", r.accuracy}, {"accuracy_threshold", r.accuracy_threshold}, {"f1", r.f1},
            {"f1_threshold", r.f1_threshold}, {"precision", r.precision}, {"recall", r.recall},
            {"ap", r.ap}, {"mcc", r.mcc}};
  }
  static std::vector<std::pair<std::string, double>> csv_order(const fn_metrics& r) {
    return {{"accuracy", r.accuracy}, {"accuracy_threshold", r.accuracy_threshold}, {"f1", r.f1},
            {"precision", r.precision}, {"recall", r.recall}, {"f1_threshold", r.f1_threshold},
            {"ap", r.ap}, {"mcc", r.mcc}};
  }
  void check_labels() const {
    for (std::size_t i = 0; i < labels_.size(); ++i)
      if (labels_[i] != 0 && labels_[i] != 1)
        throw input_error("", i + 1, "labels", "binary_classification_evaluator needs labels 0 or 1, got " +
                                                   std::to_string(labels_[i]));
  }

  std::vector<std::string> s1_, s2_;
  std::vector<int> labels_;
  options opts_;
};

}  // namespace sbert
