// SPDX-License-Identifier: Apache-2.0
// CoSENTLoss: ranks pairs by similarity so that they follow the order of the gold scores.
#pragma once
#include <span>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/zeros.h>

#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

namespace detail {
/// log(1 + sum over pairs (i, j) with label_i < label_j of exp(s_i - s_j)), as CoSENT computes
/// it: other pairs are masked with -1e12 and a 0 is prepended before logsumexp.
inline at::Tensor cosent_from_scores(const at::Tensor& s, const at::Tensor& labels) {
  auto diff = s.unsqueeze(1) - s.unsqueeze(0);
  const auto y = labels.to(s.scalar_type());
  const auto lower = (y.unsqueeze(1) < y.unsqueeze(0)).to(s.scalar_type());
  diff = diff - (1 - lower) * 1e12;
  return at::logsumexp(at::cat({at::zeros({1}, s.options()), diff.reshape({-1})}), 0);
}
}  // namespace detail

/// Mirrors sentence_transformers.losses.CoSENTLoss. Inputs: (text, text) + float score.
class cosent_loss {
 public:
  struct options {
    double scale = 20.0;
    similarity_function similarity = similarity_function::cosine;  // used pairwise
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::score, .roles = roles::labelled_pair};
  static constexpr std::string_view name = "CoSENTLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@online{kexuefm-8847,
    title={CoSENT: A more efficient sentence vector scheme than Sentence-BERT},
    author={Su Jianlin},
    year={2022},
    month={Jan},
    url={https://kexue.fm/archives/8847},
})bib";

  cosent_loss() = default;
  explicit cosent_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    return detail::cosent_from_scores(similarity_pairwise(opts_.similarity, e[0], e[1]) * opts_.scale, labels);
  }
  [[nodiscard]] config_entries config() const {
    return {{"scale", detail::json_number(opts_.scale)},
            {"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity, true)) + "\""}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
