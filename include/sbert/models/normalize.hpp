// SPDX-License-Identifier: Apache-2.0
// Normalize: L2-normalizes the sentence embedding (sentence_transformers.models.Normalize).
#pragma once
#include <string>

#include <ATen/core/Tensor.h>

#include <sbert/error.hpp>
#include <sbert/models/module.hpp>

namespace sbert::models {

/// x / max(||x||_2, 1e-12) over the last dimension, as torch.nn.functional.normalize.
[[nodiscard]] inline at::Tensor l2_normalize(const at::Tensor& x, double eps = 1e-12) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(eps).expand_as(x);
}

class normalize : public module {
 public:
  void forward(features& f) override {
    if (!f.sentence_embedding.defined()) throw model_error("normalize: no sentence_embedding to normalize");
    f.sentence_embedding = l2_normalize(f.sentence_embedding);
  }
  [[nodiscard]] std::string type_name() const override { return "sentence_transformers.models.Normalize"; }
  [[nodiscard]] std::string class_name() const override { return "Normalize"; }
  /// Normalize has no configuration: Python saves an empty folder.
  void save(const std::string&) const override {}
};

}  // namespace sbert::models
