// SPDX-License-Identifier: Apache-2.0
// SequentialEvaluator: runs several evaluators in order, merges their metrics, and adds
// `sequential_score` (by default the last evaluator's primary metric) as its own primary.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

class sequential_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "SequentialEvaluator";
  static constexpr std::string_view description = "Sequential";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  /// Turns the evaluators' primary scores (in order) into sequential_score.
  using score_fn = std::function<double(const std::vector<double>&)>;

  explicit sequential_evaluator(std::vector<std::shared_ptr<evaluator>> evaluators, score_fn main_score = last)
      : evaluators_(std::move(evaluators)), main_score_(std::move(main_score)) {
    if (evaluators_.empty()) throw error("sequential_evaluator: no evaluators");
    for (const auto& e : evaluators_)
      if (!e) throw error("sequential_evaluator: a null evaluator");
    primary_ = "sequential_score";
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    metric_map out;
    std::vector<double> scores;
    for (auto& e : evaluators_) {
      const auto m = (*e)(model, output_path, epoch, steps);
      // The primary metric, else the first key (Python takes the dict's first; ours is sorted).
      const auto it = m.find(e->primary_metric());
      if (it != m.end()) scores.push_back(it->second);
      else if (!m.empty()) scores.push_back(m.begin()->second);
      for (const auto& [k, v] : m) out.insert_or_assign(k, v);
    }
    out["sequential_score"] = main_score_(scores);
    return out;
  }

  [[nodiscard]] const std::vector<std::shared_ptr<evaluator>>& evaluators() const { return evaluators_; }
  [[nodiscard]] std::vector<std::shared_ptr<evaluator>> sub_evaluators() const override { return evaluators_; }

  static double last(const std::vector<double>& s) { return s.empty() ? 0.0 : s.back(); }
  static double mean(const std::vector<double>& s) {
    double t = 0;
    for (double v : s) t += v;
    return s.empty() ? 0.0 : t / static_cast<double>(s.size());
  }

 private:
  std::vector<std::shared_ptr<evaluator>> evaluators_;
  score_fn main_score_;
};

}  // namespace sbert
