// SPDX-License-Identifier: Apache-2.0
// The four batch-mining triplet losses over one text column with class labels:
// BatchAllTripletLoss, BatchHardTripletLoss, BatchHardSoftMarginTripletLoss and
// BatchSemiHardTripletLoss. They mine (anchor, positive, negative) triplets inside the batch,
// so every batch needs at least two texts of one class: train them with the group_by_label
// batch sampler. A batch without any positive pair is an error (the losses would silently be
// 0 or meaningless), reported with that advice.
#pragma once
#include <span>
#include <string>

#include <ATen/core/Tensor.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/log1p.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/where.h>

#include <sbert/detail/citations.hpp>
#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// BatchHardTripletLossDistanceFunction of the Python library.
enum class batch_distance { euclidean, cosine };

namespace detail {
/// [B, B] distances. Euclidean is non-squared and computed from dot products, as the Python
/// library does: ||a||^2 - 2ab + ||b||^2 clamped at 0, the sqrt taken away from exact zeros
/// (which keeps the gradient finite on the diagonal).
inline at::Tensor batch_distance_matrix(batch_distance m, const at::Tensor& e) {
  if (m == batch_distance::cosine) return 1 - cos_sim(e, e);
  const auto dot = e.matmul(e.t());
  const auto sq = dot.diagonal();
  auto d = at::relu(sq.unsqueeze(0) - 2.0 * dot + sq.unsqueeze(1));
  const auto zero = (d == 0).to(d.scalar_type());
  d = d + zero * 1e-16;
  return (1.0 - zero) * at::sqrt(d);
}
inline std::string batch_distance_name(batch_distance m) {
  return m == batch_distance::cosine ? "\"BatchHardTripletLossDistanceFunction.cosine_distance\""
                                     : "\"BatchHardTripletLossDistanceFunction.eucledian_distance\"";
}
/// same[i][j]: labels equal; the diagonal excluded gives the anchor-positive pairs.
inline at::Tensor same_label(const at::Tensor& labels) {
  const auto y = labels.reshape({-1});
  return y.unsqueeze(0) == y.unsqueeze(1);
}
inline at::Tensor anchor_positive_mask(const at::Tensor& labels) {
  const auto same = same_label(labels);
  return same & ~at::eye(same.size(0), same.options());
}
inline void require_positive_pair(const at::Tensor& ap_mask, std::string_view loss) {
  if (!ap_mask.any().item<bool>())
    throw error(std::string(loss) + ": the batch has no two texts with the same label, so there is no "
                "(anchor, positive) pair to mine triplets from; train it with the group_by_label batch "
                "sampler (batch_sampler::group_by_label), which puts at least two texts of a class in every batch");
}
/// Hardest positive and hardest negative distance per anchor ([B, 1] each), as BatchHard mines.
inline std::pair<at::Tensor, at::Tensor> hardest_pairs(const at::Tensor& d, const at::Tensor& labels, std::string_view loss) {
  const auto ap = anchor_positive_mask(labels);
  require_positive_pair(ap, loss);
  const auto hardest_pos = std::get<0>((ap.to(d.scalar_type()) * d).max(1, true));
  const auto an = (~same_label(labels)).to(d.scalar_type());
  const auto row_max = std::get<0>(d.max(1, true));
  const auto hardest_neg = std::get<0>((d + row_max * (1.0 - an)).min(1, true));
  return {hardest_pos, hardest_neg};
}
}  // namespace detail

/// Mirrors sentence_transformers.losses.BatchHardTripletLoss: per anchor, the farthest
/// positive and the closest negative; loss = mean(relu(d_hp - d_hn + margin)).
class batch_hard_triplet_loss {
 public:
  struct options {
    batch_distance metric = batch_distance::euclidean;
    double margin = 5.0;
  };
  static constexpr inputs_spec inputs{.texts = exactly(1), .labels = label_kind::class_label};
  static constexpr std::string_view name = "BatchHardTripletLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::triplet_bibtex;

  batch_hard_triplet_loss() = default;
  explicit batch_hard_triplet_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto d = detail::batch_distance_matrix(opts_.metric, e[0]);
    const auto [hp, hn] = detail::hardest_pairs(d, labels, name);
    return at::relu(hp - hn + opts_.margin).mean();
  }
  [[nodiscard]] config_entries config() const {
    return {{"distance_metric", detail::batch_distance_name(opts_.metric)}, {"margin", detail::json_number(opts_.margin)}};
  }

 private:
  options opts_{};
};

/// Mirrors sentence_transformers.losses.BatchHardSoftMarginTripletLoss: the hardest pairs of
/// BatchHard with the soft margin mean(log(1 + exp(d_hp - d_hn))).
class batch_hard_soft_margin_triplet_loss {
 public:
  struct options {
    batch_distance metric = batch_distance::euclidean;
  };
  static constexpr inputs_spec inputs{.texts = exactly(1), .labels = label_kind::class_label};
  static constexpr std::string_view name = "BatchHardSoftMarginTripletLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::triplet_bibtex;

  batch_hard_soft_margin_triplet_loss() = default;
  explicit batch_hard_soft_margin_triplet_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto d = detail::batch_distance_matrix(opts_.metric, e[0]);
    const auto [hp, hn] = detail::hardest_pairs(d, labels, name);
    return at::log1p((hp - hn).exp()).mean();
  }
  [[nodiscard]] config_entries config() const { return {{"distance_metric", detail::batch_distance_name(opts_.metric)}}; }

 private:
  options opts_{};
};

/// Mirrors sentence_transformers.losses.BatchAllTripletLoss: every valid triplet (i, j, k
/// distinct, y_i = y_j != y_k) contributes relu(d_ij - d_ik + margin); the sum is divided by
/// the number of triplets with a positive loss (> 1e-16), not by all valid triplets.
class batch_all_triplet_loss {
 public:
  struct options {
    batch_distance metric = batch_distance::euclidean;
    double margin = 5.0;
  };
  static constexpr inputs_spec inputs{.texts = exactly(1), .labels = label_kind::class_label};
  static constexpr std::string_view name = "BatchAllTripletLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::triplet_bibtex;

  batch_all_triplet_loss() = default;
  explicit batch_all_triplet_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto d = detail::batch_distance_matrix(opts_.metric, e[0]);
    const auto ap = detail::anchor_positive_mask(labels);
    detail::require_positive_pair(ap, name);
    const auto an = ~detail::same_label(labels);
    // valid[i][j][k] = (i, j) an anchor-positive pair and (i, k) an anchor-negative pair; that
    // already makes i, j, k distinct.
    const auto valid = (ap.unsqueeze(2) & an.unsqueeze(1)).to(d.scalar_type());
    const auto t = at::relu(valid * (d.unsqueeze(2) - d.unsqueeze(1) + opts_.margin));
    const auto positive = (t > 1e-16).sum().to(d.scalar_type());
    return t.sum() / (positive + 1e-16);
  }
  [[nodiscard]] config_entries config() const {
    return {{"distance_metric", detail::batch_distance_name(opts_.metric)}, {"margin", detail::json_number(opts_.margin)}};
  }

 private:
  options opts_{};
};

/// Mirrors sentence_transformers.losses.BatchSemiHardTripletLoss (FaceNet's semi-hard mining,
/// as TensorFlow's triplet_semihard_loss): for every positive pair (a, p) the negative is the
/// closest one still farther than d(a, p), or the farthest negative when none is; loss =
/// sum over positive pairs of relu(d_ap - d_an + margin) / the number of positive pairs.
class batch_semi_hard_triplet_loss {
 public:
  struct options {
    batch_distance metric = batch_distance::euclidean;
    double margin = 5.0;
  };
  static constexpr inputs_spec inputs{.texts = exactly(1), .labels = label_kind::class_label};
  static constexpr std::string_view name = "BatchSemiHardTripletLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::triplet_bibtex;

  batch_semi_hard_triplet_loss() = default;
  explicit batch_semi_hard_triplet_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto d = detail::batch_distance_matrix(opts_.metric, e[0]);
    const auto ap = detail::anchor_positive_mask(labels);
    detail::require_positive_pair(ap, name);
    const auto same = detail::same_label(labels);
    const auto not_same = ~same;
    // For anchor a and positive column p: candidates k are negatives of a with d[a,k] > d[a,p].
    const auto outside = not_same.unsqueeze(1) & (d.unsqueeze(1) > d.unsqueeze(2));  // [a, p, k]
    const auto has_outside = outside.any(2);                                          // [a, p]
    // Masked minimum / maximum via the shift-by-extreme trick, which keeps the gradient paths
    // of the reference implementation.
    const auto row_max = std::get<0>(d.max(1, true));                                 // [a, 1]
    const auto outside_f = outside.to(d.scalar_type());
    const auto neg_outside = std::get<0>(((d.unsqueeze(1) - row_max.unsqueeze(2)) * outside_f).min(2)) + row_max;  // [a, p]
    const auto row_min = std::get<0>(d.min(1, true));
    const auto neg_inside = std::get<0>(((d - row_min) * not_same.to(d.scalar_type())).max(1, true)) + row_min;  // [a, 1]
    const auto semi_hard = at::where(has_outside, neg_outside, neg_inside.expand_as(d));
    const auto pos = ap.to(d.scalar_type());
    return at::relu((d - semi_hard + opts_.margin) * pos).sum() / pos.sum();
  }
  [[nodiscard]] config_entries config() const {
    return {{"distance_metric", detail::batch_distance_name(opts_.metric)}, {"margin", detail::json_number(opts_.margin)}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
