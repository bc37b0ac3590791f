// SPDX-License-Identifier: Apache-2.0
// TranslationEvaluator: given parallel sentences (source i translates to target i), the share
// of sources whose most similar target (cosine) is their own translation, and vice versa.
#pragma once
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct translation_options {
  bool show_progress_bar = false;
  std::int64_t batch_size = 16;
  std::string name;
  /// Print each source whose best match is not its translation (to stderr).
  bool print_wrong_matches = false;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
};

class translation_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "TranslationEvaluator";
  static constexpr std::string_view description = "Translation";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = translation_options;
  static constexpr inputs_spec inputs{.texts = exactly(2)};

  translation_evaluator(std::vector<std::string> source_sentences, std::vector<std::string> target_sentences, options o = {})
      : evaluator(o.name), src_(std::move(source_sentences)), trg_(std::move(target_sentences)), opts_(std::move(o)) {
    detail::check_same_length(src_.size(), trg_.size(), "translation_evaluator");
    primary_ = "mean_accuracy";
  }

  /// From (source, target) rows.
  template <Schema S>
  explicit translation_evaluator(const dataset<S>& d, options o = {}) : translation_evaluator({}, {}, std::move(o)) {
    check_inputs_fit<translation_evaluator, S>();
    if constexpr (InputsFit<translation_evaluator, S>) {
      src_ = detail::input_column<0>(d);
      trg_ = detail::input_column<1>(d);
    }
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto enc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim);
    const auto e1 = detail::encode_for_eval(model, src_, enc);
    const auto e2 = detail::encode_for_eval(model, trg_, enc);
    const auto sims = cos_sim(e1, e2).contiguous();
    const auto n = static_cast<std::size_t>(sims.size(0));
    const float* s = sims.data_ptr<float>();
    // argmax keeps the first maximum, as numpy's does.
    auto argmax = [&](std::size_t i, bool by_row) {
      std::size_t best = 0;
      for (std::size_t j = 1; j < n; ++j) {
        const float v = by_row ? s[i * n + j] : s[j * n + i];
        const float b = by_row ? s[i * n + best] : s[best * n + i];
        if (v > b) best = j;
      }
      return best;
    };
    std::size_t src2trg = 0, trg2src = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto j = argmax(i, true);
      if (j == i) ++src2trg;
      else if (opts_.print_wrong_matches)
        std::fprintf(stderr, "i: %zu j: %zu INCORRECT\nSource: %s\nTarget: %s\nPredicted: %s\n\n", i, j, src_[i].c_str(),
                     trg_[i].c_str(), trg_[j].c_str());
      if (argmax(i, false) == i) ++trg2src;
    }
    const double a = n ? static_cast<double>(src2trg) / static_cast<double>(n) : 0.0;
    const double b = n ? static_cast<double>(trg2src) / static_cast<double>(n) : 0.0;
    if (!output_path.empty() && opts_.write_csv) {
      const std::vector<std::string> header{"epoch", "steps", "src2trg", "trg2src"};
      const std::vector<std::string> row{detail::csv_number(epoch), detail::csv_number(steps), detail::csv_number(a),
                                         detail::csv_number(b)};
      detail::append_csv_row(output_path, csv_file(), header, row);
    }
    return prefix_all({{"src2trg_accuracy", a}, {"trg2src_accuracy", b}, {"mean_accuracy", (a + b) / 2}});
  }

  /// translation_evaluation[_{name}]_results.csv
  [[nodiscard]] std::string csv_file() const {
    return "translation_evaluation" + (name_.empty() ? "" : "_" + name_) + "_results.csv";
  }

 private:
  std::vector<std::string> src_, trg_;
  options opts_;
};

}  // namespace sbert
