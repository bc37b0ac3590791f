// SPDX-License-Identifier: Apache-2.0
// AnglELoss: CoSENT over the angle difference of the two embeddings read as complex vectors.
#pragma once
#include <span>

#include <ATen/core/Tensor.h>
#include <ATen/ops/abs.h>

#include <sbert/losses/cosent.hpp>
#include <sbert/losses/loss.hpp>

namespace sbert {

/// Python's pairwise_angle_sim: each row is split into a real half and an imaginary half; the
/// score is |sum(Re(x / y)) + sum(Im(x / y))| with the quotient scaled by |y| / |x|, so only
/// the angle counts.
[[nodiscard]] inline at::Tensor pairwise_angle_sim(const at::Tensor& x, const at::Tensor& y) {
  const auto h = x.size(1) / 2;
  const auto a = x.narrow(1, 0, h), b = x.narrow(1, h, x.size(1) - h);
  const auto c = y.narrow(1, 0, h), d = y.narrow(1, h, y.size(1) - h);
  const auto z = (c * c + d * d).sum(1, true);
  auto re = (a * c + b * d) / z;
  auto im = (b * c - a * d) / z;
  const auto dz = (a * a + b * b).sum(1, true).sqrt();
  const auto dw = z.sqrt();
  re = re / (dz / dw);
  im = im / (dz / dw);
  return at::abs(re.sum(1) + im.sum(1));
}

/// Mirrors sentence_transformers.losses.AnglELoss. Inputs: (text, text) + float score.
class angle_loss {
 public:
  struct options {
    double scale = 20.0;
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::score, .roles = roles::labelled_pair};
  static constexpr std::string_view name = "AnglELoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@inproceedings{li-li-2024-aoe,
    title = "{A}o{E}: Angle-optimized Embeddings for Semantic Textual Similarity",
    author = "Li, Xianming and Li, Jing",
    year = "2024",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/2024.acl-long.101/",
    doi = "10.18653/v1/2024.acl-long.101"
})bib";

  angle_loss() = default;
  explicit angle_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    return detail::cosent_from_scores(pairwise_angle_sim(e[0], e[1]) * opts_.scale, labels);
  }
  [[nodiscard]] config_entries config() const {
    return {{"scale", detail::json_number(opts_.scale)}, {"similarity_fct", "\"pairwise_angle_sim\""}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
