// SPDX-License-Identifier: Apache-2.0
// ContrastiveLoss (Hadsell et al.): pull similar pairs together, push dissimilar pairs beyond
// a margin.
#pragma once
#include <span>
#include <string>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cosine_similarity.h>
#include <ATen/ops/pairwise_distance.h>
#include <ATen/ops/relu.h>

#include <sbert/losses/loss.hpp>

namespace sbert {

/// SiameseDistanceMetric of the Python library.
enum class siamese_distance { euclidean, manhattan, cosine_distance };

namespace detail {
/// Row-wise distances. Euclidean and manhattan are torch's pairwise_distance, which adds
/// eps = 1e-6 to the difference vector (as the Python library's lambdas do).
inline at::Tensor siamese_distance_of(siamese_distance m, const at::Tensor& x, const at::Tensor& y) {
  switch (m) {
    case siamese_distance::euclidean: return at::pairwise_distance(x, y, 2.0, 1e-6);
    case siamese_distance::manhattan: return at::pairwise_distance(x, y, 1.0, 1e-6);
    case siamese_distance::cosine_distance: return 1 - at::cosine_similarity(x, y, 1);
  }
  return {};
}
inline std::string siamese_distance_name(siamese_distance m) {
  switch (m) {
    case siamese_distance::euclidean: return "\"SiameseDistanceMetric.EUCLIDEAN\"";
    case siamese_distance::manhattan: return "\"SiameseDistanceMetric.MANHATTAN\"";
    case siamese_distance::cosine_distance: return "\"SiameseDistanceMetric.COSINE_DISTANCE\"";
  }
  return "\"\"";
}
}  // namespace detail

/// Mirrors sentence_transformers.losses.ContrastiveLoss. Inputs: (text, text) + a label 1
/// (similar) or 0 (dissimilar), as a class label or a float score.
/// L_i = 0.5 * (y_i d_i^2 + (1 - y_i) relu(margin - d_i)^2); mean (or sum without size_average).
class contrastive_loss {
 public:
  struct options {
    siamese_distance metric = siamese_distance::cosine_distance;
    double margin = 0.5;
    bool size_average = true;
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::class_label | label_kind::score,
                                      .roles = roles::labelled_pair};
  static constexpr std::string_view name = "ContrastiveLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@inproceedings{hadsell2006dimensionality,
    author={Hadsell, R. and Chopra, S. and LeCun, Y.},
    booktitle={2006 IEEE Computer Society Conference on Computer Vision and Pattern Recognition (CVPR'06)},
    title={Dimensionality Reduction by Learning an Invariant Mapping},
    year={2006},
    volume={2},
    number={},
    pages={1735-1742},
    doi={10.1109/CVPR.2006.100}
})bib";

  contrastive_loss() = default;
  explicit contrastive_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto d = detail::siamese_distance_of(opts_.metric, e[0], e[1]);
    const auto y = labels.to(d.scalar_type()).reshape({-1});
    const auto l = 0.5 * (y * d.pow(2) + (1 - y) * at::relu(opts_.margin - d).pow(2));
    return opts_.size_average ? l.mean() : l.sum();
  }
  [[nodiscard]] config_entries config() const {
    return {{"distance_metric", detail::siamese_distance_name(opts_.metric)},
            {"margin", detail::json_number(opts_.margin)},
            {"size_average", opts_.size_average ? "true" : "false"}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
