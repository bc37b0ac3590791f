// SPDX-License-Identifier: Apache-2.0
// MultipleNegativesSymmetricRankingLoss: InfoNCE in both directions (anchor -> positives and
// positive -> anchors), averaged.
#pragma once
#include <span>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>

#include <sbert/distributed/gather.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.MultipleNegativesSymmetricRankingLoss. Inputs:
/// (anchor, positive) or (anchor, positive, negative...) (as 5.2's code, the negatives join the
/// forward term's candidates; the backward term uses the positives only); no label.
/// loss = (CE(S, i) + CE(S[:, :B]^T, i)) / 2 with S = scale * sim(anchor, candidates).
class multiple_negatives_symmetric_ranking_loss {
 public:
  struct options {
    double scale = 20.0;
    similarity_function similarity = similarity_function::cosine;
    /// In a distributed run, the candidates of both directions come from every rank
    /// (all_gather_with_grad): this rank's anchors against all positives and negatives, its
    /// positives against all anchors; N ranks of batch b then train as one process over N*b.
    bool gather_across_devices = false;
  };
  static constexpr inputs_spec inputs{.texts = at_least(2), .labels = label_kind::none, .text_list = true,
                                      .roles = roles::ranking};
  static constexpr std::string_view name = "MultipleNegativesSymmetricRankingLoss";

  multiple_negatives_symmetric_ranking_loss() = default;
  explicit multiple_negatives_symmetric_ranking_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& /*labels*/) const {
    if (opts_.gather_across_devices && distributed::world_size() > 1) return gathered(e);
    const auto b = e[0].size(0);
    const auto candidates = e.size() == 2 ? e[1] : at::cat(std::vector<at::Tensor>(e.begin() + 1, e.end()), 0);
    const auto scores = similarity(opts_.similarity, e[0], candidates) * opts_.scale;
    const auto target = at::arange(b, scores.options().dtype(at::kLong));
    const auto forward = at::cross_entropy_loss(scores, target);
    const auto backward = at::cross_entropy_loss(scores.narrow(1, 0, b).t(), target);
    return (forward + backward) / 2;
  }

  [[nodiscard]] config_entries config() const {
    config_entries c{{"scale", detail::json_number(opts_.scale)},
                     {"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity)) + "\""}};
    if (opts_.gather_across_devices) c.emplace_back("gather_across_devices", "true");
    return c;
  }
  [[nodiscard]] const options& opts() const { return opts_; }

 private:
  // The distributed form: every rank's rows as candidates, this rank's rows as queries.
  [[nodiscard]] at::Tensor gathered(std::span<const at::Tensor> e) const {
    const auto b = e[0].size(0);
    std::int64_t offset = 0;  // where this rank's rows start in the gathered columns
    std::vector<at::Tensor> cols(e.begin() + 1, e.end());
    for (std::size_t k = 0; k < cols.size(); ++k) cols[k] = distributed::all_gather_with_grad(cols[k], k == 0 ? &offset : nullptr);
    const auto anchors = distributed::all_gather_with_grad(e[0]);
    const auto candidates = cols.size() == 1 ? cols[0] : at::cat(cols, 0);
    const auto scores = similarity(opts_.similarity, e[0], candidates) * opts_.scale;
    const auto target = at::arange(offset, offset + b, scores.options().dtype(at::kLong));
    const auto forward = at::cross_entropy_loss(scores, target);
    const auto backward = at::cross_entropy_loss(similarity(opts_.similarity, e[1], anchors) * opts_.scale, target);
    return (forward + backward) / 2;
  }
  options opts_{};
};

}  // namespace sbert
