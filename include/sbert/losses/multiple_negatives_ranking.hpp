// SPDX-License-Identifier: Apache-2.0
// MultipleNegativesRankingLoss (InfoNCE with in-batch negatives).
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

/// Mirrors sentence_transformers.losses.MultipleNegativesRankingLoss. Inputs: (anchor, positive),
/// (anchor, positive, negative...), or (anchor, positive, text-list of negatives); no label.
/// For anchor i the candidates are every positive and every negative of the batch, column by
/// column; the target is positive i. A text-list column (any number of negatives per row)
/// simply adds all its texts to the candidates.
class multiple_negatives_ranking_loss {
 public:
  struct options {
    double scale = 20.0;
    similarity_function similarity = similarity_function::cosine;
    /// In a distributed run, every rank's positives and negatives are candidates for this
    /// rank's anchors (all_gather_with_grad), so the loss over N ranks of batch b trains as
    /// one process over batch N*b (Python v5's gather_across_devices). No effect alone.
    bool gather_across_devices = false;
  };
  static constexpr inputs_spec inputs{.texts = at_least(2), .labels = label_kind::none, .text_list = true,
                                      .roles = roles::ranking};
  static constexpr std::string_view name = "MultipleNegativesRankingLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{henderson2017efficient,
    title={Efficient Natural Language Response Suggestion for Smart Reply},
    author={Matthew Henderson and Rami Al-Rfou and Brian Strope and Yun-hsuan Sung and Laszlo Lukacs and Ruiqi Guo and Sanjiv Kumar and Balint Miklos and Ray Kurzweil},
    year={2017},
    eprint={1705.00652},
    archivePrefix={arXiv},
    primaryClass={cs.CL}
})bib";

  multiple_negatives_ranking_loss() = default;
  explicit multiple_negatives_ranking_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& /*labels*/) const {
    std::int64_t offset = 0;  // where this rank's positives start among the candidates
    std::vector<at::Tensor> cols(e.begin() + 1, e.end());
    if (opts_.gather_across_devices)
      for (std::size_t k = 0; k < cols.size(); ++k) cols[k] = distributed::all_gather_with_grad(cols[k], k == 0 ? &offset : nullptr);
    const auto candidates = cols.size() == 1 ? cols[0] : at::cat(cols, 0);
    const auto scores = similarity(opts_.similarity, e[0], candidates) * opts_.scale;
    const auto target = at::arange(offset, offset + e[0].size(0), scores.options().dtype(at::kLong));
    return at::cross_entropy_loss(scores, target);
  }

  [[nodiscard]] config_entries config() const {
    config_entries c{{"scale", detail::json_number(opts_.scale)},
                     {"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity)) + "\""}};
    if (opts_.gather_across_devices) c.emplace_back("gather_across_devices", "true");  // Python v5 lists it
    return c;
  }
  [[nodiscard]] const options& opts() const { return opts_; }

 private:
  options opts_{};
};

}  // namespace sbert
