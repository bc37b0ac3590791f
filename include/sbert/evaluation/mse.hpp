// SPDX-License-Identifier: Apache-2.0
// MSEEvaluator: the mean squared difference (x100) between a teacher's embeddings of the
// source sentences and the student's embeddings of the target sentences (distillation and
// multilingual training), reported negated so that higher is better.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct mse_options {
  bool show_progress_bar = false;
  std::int64_t batch_size = 32;
  std::string name;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
};

class mse_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "MSEEvaluator";
  static constexpr std::string_view description = "Knowledge Distillation";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = mse_options;
  /// (source, target) rows; the teacher model is a constructor argument.
  static constexpr inputs_spec inputs{.texts = exactly(2)};

  /// The teacher encodes the sources once, here (as Python does in its constructor).
  mse_evaluator(const std::vector<std::string>& source_sentences, std::vector<std::string> target_sentences,
                models::sentence_transformer& teacher, options o = {})
      : evaluator(o.name), target_(std::move(target_sentences)), opts_(std::move(o)) {
    detail::check_same_length(source_sentences.size(), target_.size(), "mse_evaluator");
    teacher_ = encode(teacher, source_sentences);
    primary_ = "negative_mse";
  }
  /// Precomputed teacher embeddings [n, dim], one row per target sentence.
  mse_evaluator(at::Tensor teacher_embeddings, std::vector<std::string> target_sentences, options o = {})
      : evaluator(o.name), target_(std::move(target_sentences)), teacher_(teacher_embeddings.to(at::kFloat)), opts_(std::move(o)) {
    if (teacher_.dim() != 2 || teacher_.size(0) != static_cast<std::int64_t>(target_.size()))
      throw error("mse_evaluator: teacher embeddings must be [" + std::to_string(target_.size()) + ", dim]");
    primary_ = "negative_mse";
  }

  /// From (source, target) rows.
  template <Schema S>
  mse_evaluator(const dataset<S>& d, models::sentence_transformer& teacher, options o = {})
      : evaluator(o.name), opts_(std::move(o)) {
    check_inputs_fit<mse_evaluator, S>();
    if constexpr (InputsFit<mse_evaluator, S>) {
      target_ = detail::input_column<1>(d);
      teacher_ = encode(teacher, detail::input_column<0>(d));
    }
    primary_ = "negative_mse";
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto student = encode(model, target_);
    if (student.sizes() != teacher_.sizes())
      throw error("mse_evaluator: student embeddings have shape [" + std::to_string(student.size(0)) + ", " +
                  std::to_string(student.size(1)) + "] but the teacher's are [" + std::to_string(teacher_.size(0)) + ", " +
                  std::to_string(teacher_.size(1)) + "]");
    // float32 throughout, as numpy computes it on float32 arrays.
    const float mse = (teacher_ - student).pow(2).mean().item<float>() * 100.0f;
    if (!output_path.empty() && opts_.write_csv) {
      const std::vector<std::string> header{"epoch", "steps", "MSE"};
      const std::vector<std::string> row{detail::csv_number(epoch), detail::csv_number(steps), detail::csv_number(static_cast<double>(mse))};
      detail::append_csv_row(output_path, csv_file(), header, row);
    }
    return prefix_all({{"negative_mse", -static_cast<double>(mse)}});
  }

  /// mse_evaluation_{name}_results.csv (Python always writes the "_", even with no name).
  [[nodiscard]] std::string csv_file() const { return "mse_evaluation_" + name_ + "_results.csv"; }

 private:
  at::Tensor encode(models::sentence_transformer& m, std::span<const std::string> texts) const {
    return detail::encode_for_eval(m, texts, detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim));
  }

  std::vector<std::string> target_;
  at::Tensor teacher_;
  options opts_;
};

}  // namespace sbert
