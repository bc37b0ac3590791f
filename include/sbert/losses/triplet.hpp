// SPDX-License-Identifier: Apache-2.0
// TripletLoss with the textbook sign: mean(relu(d(a, p) - d(a, n) + margin)).
#pragma once
#include <span>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cosine_similarity.h>
#include <ATen/ops/relu.h>

#include <sbert/detail/citations.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.TripletLoss. Inputs: (anchor, positive, negative); no
/// label. Distances are true distances: euclidean ||x - y||_2, manhattan ||x - y||_1, cosine
/// 1 - cos. (sentence-transformers 5.0-5.3 used the negated distances for euclidean and
/// manhattan, which inverts the objective; sbert ships the corrected semantics of 5.4+.)
class triplet_loss {
 public:
  enum class distance { euclidean, manhattan, cosine };
  struct options {
    distance metric = distance::euclidean;
    double triplet_margin = 5.0;
  };
  static constexpr inputs_spec inputs{.texts = exactly(3), .labels = label_kind::none, .roles = roles::triplet};
  static constexpr std::string_view name = "TripletLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::triplet_bibtex;

  triplet_loss() = default;
  explicit triplet_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor distance_of(const at::Tensor& x, const at::Tensor& y) const {
    switch (opts_.metric) {
      case distance::euclidean: return -pairwise_euclidean_sim(x, y);
      case distance::manhattan: return -pairwise_manhattan_sim(x, y);
      case distance::cosine: return 1 - at::cosine_similarity(x, y, 1);
    }
    return {};
  }
  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& /*labels*/) const {
    return at::relu(distance_of(e[0], e[1]) - distance_of(e[0], e[2]) + opts_.triplet_margin).mean();
  }
  [[nodiscard]] config_entries config() const {
    const char* m = opts_.metric == distance::euclidean ? "TripletDistanceMetric.EUCLIDEAN"
                    : opts_.metric == distance::manhattan ? "TripletDistanceMetric.MANHATTAN"
                                                          : "TripletDistanceMetric.COSINE";
    return {{"distance_metric", std::string("\"") + m + "\""}, {"triplet_margin", detail::json_number(opts_.triplet_margin)}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
