// SPDX-License-Identifier: Apache-2.0
// GlobalOrthogonalRegularizationLoss (v6), and combined_loss, which adds a regulariser's parts
// to a main loss so the trainer logs each one.
#pragma once
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/stack.h>

#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.GlobalOrthogonalRegularizationLoss. Inputs: any text
/// columns; no label. Per column, over the off-diagonal similarities of the batch: the mean
/// term M1^2 and the second-moment term relu(M2 - 1/dim); each aggregated over the columns by
/// mean (or sum) and weighted. Returns the named parts "gor_mean" and "gor_second_moment" (a
/// weight of 0 drops its part).
class global_orthogonal_regularization_loss {
 public:
  struct options {
    similarity_function similarity = similarity_function::cosine;
    double mean_weight = 1.0;
    double second_moment_weight = 1.0;
    bool sum_over_columns = false;  // aggregation "sum" (EmbeddingGemma) instead of "mean"
  };
  static constexpr inputs_spec inputs{.texts = at_least(1), .labels = label_kind::none, .text_list = true};
  static constexpr std::string_view name = "GlobalOrthogonalRegularizationLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{zhang2017learningspreadoutlocalfeature,
      title={Learning Spread-out Local Feature Descriptors},
      author={Xu Zhang and Felix X. Yu and Sanjiv Kumar and Shih-Fu Chang},
      year={2017},
      eprint={1708.06320},
      archivePrefix={arXiv},
      primaryClass={cs.CV},
      url={https://arxiv.org/abs/1708.06320},
})bib";

  global_orthogonal_regularization_loss() = default;
  explicit global_orthogonal_regularization_loss(options o) : opts_(o) {
    if (o.mean_weight == 0 && o.second_moment_weight == 0)
      throw error("GlobalOrthogonalRegularizationLoss: at least one of mean_weight and second_moment_weight must be non-zero");
  }

  [[nodiscard]] loss_parts operator()(std::span<const at::Tensor> e, const at::Tensor& /*labels*/) const {
    std::vector<at::Tensor> means, seconds;
    for (const auto& x : e) {
      const auto b = x.size(0);
      const double off = static_cast<double>(b * (b - 1));
      const auto s = similarity(opts_.similarity, x, x) * (1 - at::eye(b, x.options()));
      means.push_back((s.sum() / off).pow(2));
      seconds.push_back(at::relu(s.pow(2).sum() / off - 1.0 / static_cast<double>(x.size(1))));
    }
    auto agg = [&](const std::vector<at::Tensor>& v) {
      const auto t = at::stack(v);
      return opts_.sum_over_columns ? t.sum() : t.mean();
    };
    loss_parts out;
    if (opts_.mean_weight != 0) out.parts.emplace_back("gor_mean", opts_.mean_weight * agg(means));
    if (opts_.second_moment_weight != 0) out.parts.emplace_back("gor_second_moment", opts_.second_moment_weight * agg(seconds));
    return out;
  }
  [[nodiscard]] config_entries config() const {
    return {{"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity)) + "\""},
            {"mean_weight", detail::json_number(opts_.mean_weight)},
            {"second_moment_weight", detail::json_number(opts_.second_moment_weight)},
            {"aggregation", opts_.sum_over_columns ? "\"sum\"" : "\"mean\""}};
  }

 private:
  options opts_{};
};

namespace detail {
template <class L>
loss_parts as_parts(L&& v, std::string_view name) {
  if constexpr (std::same_as<std::remove_cvref_t<L>, loss_parts>) {
    return std::forward<L>(v);
  } else {
    loss_parts p;
    p.parts.emplace_back(std::string(name), std::forward<L>(v));
    return p;
  }
}
}  // namespace detail

/// A main embedding loss plus a second one on the same embeddings (typically a regulariser
/// such as GOR), returned as named parts: the main loss under `main_name`, then the second
/// loss's parts (or the second loss under its own name). Both losses must accept the data:
/// the declared inputs are the main loss's.
template <EmbeddingLoss Main, EmbeddingLoss Extra>
class combined_loss {
 public:
  static constexpr inputs_spec inputs = Main::inputs;
  static constexpr std::string_view name = Main::name;

  combined_loss(Main main, Extra extra, std::string main_name = "loss")
      : main_(std::move(main)), extra_(std::move(extra)), main_name_(std::move(main_name)) {}

  [[nodiscard]] loss_parts operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    auto out = detail::as_parts(main_(e, labels), main_name_);
    auto extra = detail::as_parts(extra_(e, labels), Extra::name);
    for (auto& p : extra.parts) out.parts.push_back(std::move(p));
    return out;
  }
  [[nodiscard]] std::vector<at::Tensor> parameters() const {
    std::vector<at::Tensor> out;
    if constexpr (HasParameters<Main>) for (auto& p : main_.parameters()) out.push_back(p);
    if constexpr (HasParameters<Extra>) for (auto& p : extra_.parameters()) out.push_back(p);
    return out;
  }
  [[nodiscard]] config_entries config() const { return main_.config(); }
  void to(const at::Device& d) {
    if constexpr (requires(Main& m, const at::Device& dev) { m.to(dev); }) main_.to(d);
    if constexpr (requires(Extra& x, const at::Device& dev) { x.to(dev); }) extra_.to(d);
  }
  [[nodiscard]] const Main& main() const { return main_; }
  [[nodiscard]] const Extra& extra() const { return extra_; }

 private:
  Main main_;
  Extra extra_;
  std::string main_name_;
};

}  // namespace sbert
