// SPDX-License-Identifier: Apache-2.0
// CosineSimilarityLoss: regress the cosine of each pair onto its gold score.
#pragma once
#include <span>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cosine_similarity.h>
#include <ATen/ops/mse_loss.h>

#include <sbert/losses/loss.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.CosineSimilarityLoss (loss_fct MSELoss, identity
/// transformation). Inputs: (text, text) + float score, typically in [0, 1].
class cosine_similarity_loss {
 public:
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::score, .roles = roles::labelled_pair};
  static constexpr std::string_view name = "CosineSimilarityLoss";

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto cos = at::cosine_similarity(e[0], e[1], 1);
    return at::mse_loss(cos, labels.to(cos.scalar_type()).reshape({-1}));
  }
  [[nodiscard]] config_entries config() const { return {{"loss_fct", "\"MSELoss()\""}, {"cos_score_transformation", "\"Identity()\""}}; }
};

}  // namespace sbert
