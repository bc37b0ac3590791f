// SPDX-License-Identifier: Apache-2.0
// EmbeddingSimilarityEvaluator: Pearson and Spearman correlation between the gold scores of
// sentence pairs and their embedding similarities (cosine, dot, euclidean, manhattan).
#pragma once
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <sbert/evaluation/evaluator.hpp>

namespace sbert {

struct embedding_similarity_options {
  std::int64_t batch_size = 16;
  /// Makes spearman_{fn} the primary metric; unset: spearman_max with several functions.
  std::optional<similarity_function> main_similarity;
  /// Empty: the model's similarity function.
  std::vector<similarity_function> similarity_fn_names;
  std::string name;
  bool show_progress_bar = false;
  bool write_csv = true;
  std::optional<std::int64_t> truncate_dim;
};

class embedding_similarity_evaluator : public evaluator {
 public:
  /// The Python class and its description (the model card's names for it).
  static constexpr std::string_view class_name = "EmbeddingSimilarityEvaluator";
  static constexpr std::string_view description = "Semantic Similarity";
  [[nodiscard]] std::string_view card_class_name() const override { return class_name; }
  [[nodiscard]] std::string_view card_description() const override { return description; }
  using options = embedding_similarity_options;
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::score, .roles = roles::labelled_pair};

  embedding_similarity_evaluator(std::vector<std::string> sentences1, std::vector<std::string> sentences2,
                                 std::vector<double> scores, options o = {})
      : evaluator(o.name), s1_(std::move(sentences1)), s2_(std::move(sentences2)), scores_(std::move(scores)),
        opts_(std::move(o)) {
    detail::check_same_length(s1_.size(), s2_.size(), "embedding_similarity_evaluator");
    detail::check_same_length(s1_.size(), scores_.size(), "embedding_similarity_evaluator");
    primary_ = primary_key(opts_.similarity_fn_names.empty() ? std::vector{similarity_function::cosine}
                                                             : opts_.similarity_fn_names);
  }

  /// From a data set of (text, text, score) rows.
  template <Schema S>
  explicit embedding_similarity_evaluator(const dataset<S>& d, options o = {})
      : embedding_similarity_evaluator({}, {}, {}, std::move(o)) {
    check_inputs_fit<embedding_similarity_evaluator, S>();
    if constexpr (InputsFit<embedding_similarity_evaluator, S>) {
      s1_ = detail::input_column<0>(d);
      s2_ = detail::input_column<1>(d);
      const auto& y = detail::label_column(d);
      scores_.assign(y.begin(), y.end());
    }
  }

  metric_map operator()(models::sentence_transformer& model, const std::string& output_path = "", int epoch = -1,
                        int steps = -1) override {
    const auto fns = detail::functions_or_models(opts_.similarity_fn_names, model);
    const auto enc = detail::make_encode(opts_.batch_size, opts_.show_progress_bar, opts_.truncate_dim);
    const auto e1 = detail::encode_for_eval(model, s1_, enc);
    const auto e2 = detail::encode_for_eval(model, s2_, enc);
    std::vector<std::pair<std::string, double>> m;
    std::vector<std::string> header{"epoch", "steps"}, row{detail::csv_number(epoch), detail::csv_number(steps)};
    double pmax = -std::numeric_limits<double>::infinity(), smax = pmax;
    for (auto fn : fns) {
      const auto sims = detail::to_vector<double>(similarity_pairwise(fn, e1, e2));
      const double p = detail::pearson(scores_, sims), s = detail::spearman(scores_, sims);
      const std::string f(name_of(fn));
      m.emplace_back("pearson_" + f, p);
      m.emplace_back("spearman_" + f, s);
      header.insert(header.end(), {f + "_pearson", f + "_spearman"});
      row.insert(row.end(), {detail::csv_number(p), detail::csv_number(s)});
      pmax = std::max(pmax, p);
      smax = std::max(smax, s);
    }
    if (fns.size() > 1) {
      m.emplace_back("pearson_max", pmax);
      m.emplace_back("spearman_max", smax);
    }
    primary_ = primary_key(fns);
    if (!output_path.empty() && opts_.write_csv) detail::append_csv_row(output_path, csv_file(), header, row);
    return prefix_all(m);
  }

  /// similarity_evaluation[_{name}]_results.csv
  [[nodiscard]] std::string csv_file() const {
    return "similarity_evaluation" + (name_.empty() ? "" : "_" + name_) + "_results.csv";
  }
  [[nodiscard]] const options& settings() const { return opts_; }

 private:
  std::string primary_key(const std::vector<similarity_function>& fns) const {
    if (opts_.main_similarity) return "spearman_" + std::string(name_of(*opts_.main_similarity));
    return fns.size() > 1 ? "spearman_max" : "spearman_" + std::string(name_of(fns.front()));
  }

  std::vector<std::string> s1_, s2_;
  std::vector<double> scores_;
  options opts_;
};

}  // namespace sbert
