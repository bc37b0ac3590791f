// SPDX-License-Identifier: Apache-2.0
// TripletEvaluator: the share of (anchor, positive, negative) triplets whose anchor is more
// similar to the positive than to the negative, by more than a margin.
#pragma once
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

/// Per-function margins (Python's dict form; 0 by default). `all(m)` is the float form.
struct triplet_margins {
  double cosine = 0, dot = 0, euclidean = 0, manhattan = 0;
  [[nodiscard]] static constexpr triplet_margins all(double m) { return {m, m, m, m}; }
  [[nodiscard]] constexpr double of(similarity_function f) const {
    switch (f) {
      case similarity_function::cosine: return cosine;
      case similarity_function::dot: return dot;
      case similarity_function::euclidean: return euclidean;
      case similarity_function::manhattan: return manhattan;
    }
    return 0;
  }
};

struct triplet_options {
  std::optional<similarity_function> main_similarity_function;
  triplet_margins margin;
  std::string name;
  std::int64_t batch_size = 16;
  bool show_progress_bar = false;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
  /// Empty: the model's similarity function.
  std::vector<similarity_function> similarity_fn_names;
};

class triplet_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "TripletEvaluator";
  static constexpr std::string_view description = "Triplet";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = triplet_options;
  static constexpr inputs_spec inputs{.texts = exactly(3), .roles = roles::triplet};

  triplet_evaluator(std::vector<std::string> anchors, std::vector<std::string> positives,
                    std::vector<std::string> negatives, options o = {})
      : evaluator(o.name), a_(std::move(anchors)), p_(std::move(positives)), n_(std::move(negatives)), opts_(std::move(o)) {
    detail::check_same_length(a_.size(), p_.size(), "triplet_evaluator");
    detail::check_same_length(a_.size(), n_.size(), "triplet_evaluator");
    primary_ = primary_key(opts_.similarity_fn_names.empty() ? std::vector{similarity_function::cosine}
                                                             : opts_.similarity_fn_names);
  }

  /// From a data set of (anchor, positive, negative) rows.
  template <Schema S>
  explicit triplet_evaluator(const dataset<S>& d, options o = {}) : triplet_evaluator({}, {}, {}, std::move(o)) {
    check_inputs_fit<triplet_evaluator, S>();
    if constexpr (InputsFit<triplet_evaluator, S>) {
      a_ = detail::input_column<0>(d);
      p_ = detail::input_column<1>(d);
      n_ = detail::input_column<2>(d);
    }
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto fns = detail::functions_or_models(opts_.similarity_fn_names, model);
    const auto enc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim);
    const auto ea = detail::encode_for_eval(model, a_, enc, detail::encode_role::query);
    const auto ep = detail::encode_for_eval(model, p_, enc, detail::encode_role::document);
    const auto en = detail::encode_for_eval(model, n_, enc, detail::encode_role::document);
    std::vector<std::pair<std::string, double>> m;
    std::vector<std::string> header{"epoch", "steps"}, row{detail::csv_number(epoch), detail::csv_number(steps)};
    double best = -1;
    for (auto fn : fns) {
      // Similarities (distances negated), compared in float32 as Python compares its tensors.
      const auto pos = detail::to_vector<float>(similarity_pairwise(fn, ea, ep));
      const auto neg = detail::to_vector<float>(similarity_pairwise(fn, ea, en));
      const auto margin = static_cast<float>(opts_.margin.of(fn));
      std::size_t correct = 0;
      for (std::size_t i = 0; i < pos.size(); ++i) correct += pos[i] > neg[i] + margin ? 1 : 0;
      // The mean of a float32 tensor: 13/24 reads 0.5416666865348816, as the reference has it.
      const double acc = pos.empty() ? 0.0 : static_cast<double>(static_cast<float>(correct) / static_cast<float>(pos.size()));
      const std::string f(name_of(fn));
      m.emplace_back(f + "_accuracy", acc);
      header.push_back("accuracy_" + f);
      row.push_back(detail::csv_number(acc));
      best = std::max(best, acc);
    }
    if (fns.size() > 1) m.emplace_back("max_accuracy", best);
    primary_ = primary_key(fns);
    if (!output_path.empty() && opts_.write_csv) detail::append_csv_row(output_path, csv_file(), header, row);
    return prefix_all(m);
  }

  /// triplet_evaluation[_{name}]_results.csv
  [[nodiscard]] std::string csv_file() const {
    return "triplet_evaluation" + (name_.empty() ? "" : "_" + name_) + "_results.csv";
  }

 private:
  std::string primary_key(const std::vector<similarity_function>& fns) const {
    if (opts_.main_similarity_function) return std::string(name_of(*opts_.main_similarity_function)) + "_accuracy";
    return fns.size() > 1 ? "max_accuracy" : std::string(name_of(fns.front())) + "_accuracy";
  }

  std::vector<std::string> a_, p_, n_;
  options opts_;
};

}  // namespace sbert
