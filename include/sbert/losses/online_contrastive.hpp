// SPDX-License-Identifier: Apache-2.0
// OnlineContrastiveLoss: ContrastiveLoss on the hard pairs of the batch only.
#pragma once
#include <span>

#include <ATen/core/Tensor.h>
#include <ATen/ops/relu.h>

#include <sbert/losses/contrastive.hpp>
#include <sbert/losses/loss.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.OnlineContrastiveLoss. Inputs: (text, text) + 1/0.
/// Hard negatives: negative pairs closer than the farthest positive pair (or than the mean
/// negative distance when the batch has at most one positive); hard positives: positive pairs
/// farther than the closest negative (or than the mean positive distance when the batch has
/// at most one negative). Loss = sum(d_hp^2) + sum(relu(margin - d_hn)^2): a sum, not a mean.
class online_contrastive_loss {
 public:
  struct options {
    siamese_distance metric = siamese_distance::cosine_distance;
    double margin = 0.5;
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::class_label | label_kind::score,
                                      .roles = roles::labelled_pair};
  static constexpr std::string_view name = "OnlineContrastiveLoss";

  online_contrastive_loss() = default;
  explicit online_contrastive_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto d = detail::siamese_distance_of(opts_.metric, e[0], e[1]);
    const auto y = labels.reshape({-1});
    const auto negs = d.masked_select(y == 0);
    const auto poss = d.masked_select(y == 1);
    const auto neg_bound = poss.size(0) > 1 ? poss.max() : negs.mean();
    const auto pos_bound = negs.size(0) > 1 ? negs.min() : poss.mean();
    const auto hard_negs = negs.masked_select(negs < neg_bound);
    const auto hard_poss = poss.masked_select(poss > pos_bound);
    return hard_poss.pow(2).sum() + at::relu(opts_.margin - hard_negs).pow(2).sum();
  }
  [[nodiscard]] config_entries config() const {
    return {{"distance_metric", detail::siamese_distance_name(opts_.metric)}, {"margin", detail::json_number(opts_.margin)}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
