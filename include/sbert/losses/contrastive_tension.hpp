// SPDX-License-Identifier: Apache-2.0
// Contrastive Tension (Carlsson et al., 2021): two copies of the model, trained to agree on
// identical sentences. ContrastiveTensionLossInBatchNegatives uses the batch's other
// sentences as negatives; ContrastiveTensionLoss uses pairs prepared by
// contrastive_tension_pairs (one identical pair, then pos_neg_ratio - 1 different ones).
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <algorithm>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/binary_cross_entropy_with_logits.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/full.h>

#include <sbert/detail/citations.hpp>
#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

namespace detail {
inline at::Tensor embed_with(models::sentence_transformer& m, models::features& f) {
  models::features x;
  const auto dev = m.device();
  x.input_ids = f.input_ids.to(dev);
  if (f.attention_mask.defined()) x.attention_mask = f.attention_mask.to(dev);
  if (f.token_type_ids.defined()) x.token_type_ids = f.token_type_ids.to(dev);
  x.prompt_length = f.prompt_length;
  m.forward(x);
  return x.sentence_embedding;
}
inline std::vector<at::Tensor> trainable(const models::sentence_transformer& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}
}  // namespace detail

/// Mirrors sentence_transformers.losses.ContrastiveTensionLossInBatchNegatives. Inputs: (text,
/// text), usually the same sentence twice; no label. Column 0 goes through `model1` (a second,
/// independently loaded copy of the model: Python deep-copies it), column 1 through the trained
/// model; scores = cos_sim * exp(logit_scale), loss = (CE(S, i) + CE(S^T, i)) / 2. The learnable
/// logit_scale (initially log(scale)) and model1's parameters are the loss's parameters().
class contrastive_tension_loss_in_batch_negatives {
 public:
  struct options {
    double scale = 20.0;
    similarity_function similarity = similarity_function::cosine;
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::none, .roles = roles::positive_pair};
  static constexpr std::string_view name = "ContrastiveTensionLossInBatchNegatives";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::contrastive_tension_bibtex;

  explicit contrastive_tension_loss_in_batch_negatives(std::shared_ptr<models::sentence_transformer> model1)
      : contrastive_tension_loss_in_batch_negatives(std::move(model1), options{}) {}
  contrastive_tension_loss_in_batch_negatives(std::shared_ptr<models::sentence_transformer> model1, options o)
      : model1_(std::move(model1)), opts_(o) {
    if (!model1_) throw error("ContrastiveTensionLossInBatchNegatives: model1 (the model's copy) is null");
    // One module holds what the loss learns, under Python's names (logit_scale, model1.*):
    // the optimizer names and decays them as Python does, and to() moves them in place.
    module_->register_module("model1", model1_);
    logit_scale_ = module_->register_parameter("logit_scale", at::full({}, std::log(o.scale)));
  }

  [[nodiscard]] at::Tensor operator()(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& /*labels*/) const {
    const auto a = detail::embed_with(*model1_, f[0]);
    m.forward(f[1]);
    return from_embeddings(a.to(f[1].sentence_embedding.device()), f[1].sentence_embedding);
  }
  [[nodiscard]] at::Tensor from_embeddings(const at::Tensor& a, const at::Tensor& b) const {
    const auto s = similarity(opts_.similarity, a, b) * logit_scale_.to(a.device()).exp();
    const auto target = at::arange(s.size(0), s.options().dtype(at::kLong));
    return (at::cross_entropy_loss(s, target) + at::cross_entropy_loss(s.t(), target)) / 2;
  }
  [[nodiscard]] std::vector<at::Tensor> parameters() const {
    auto out = detail::trainable(*model1_);
    out.insert(out.begin(), logit_scale_);
    return out;
  }
  [[nodiscard]] const at::Tensor& logit_scale() const { return logit_scale_; }
  [[nodiscard]] std::shared_ptr<torch::nn::Module> module() const { return module_; }
  /// Moves logit_scale and model1 in place, so copies of the loss keep sharing them.
  void to(const at::Device& d) { module_->to(d); }
  [[nodiscard]] config_entries config() const {
    return {{"scale", detail::json_number(opts_.scale)},
            {"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity)) + "\""}};
  }

 private:
  std::shared_ptr<models::sentence_transformer> model1_;
  options opts_;
  std::shared_ptr<torch::nn::Module> module_ = std::make_shared<torch::nn::Module>("ContrastiveTensionLossInBatchNegatives");
  at::Tensor logit_scale_;  // the module's parameter (same tensor)
};

/// Mirrors sentence_transformers.losses.ContrastiveTensionLoss. Inputs: (text, text) + a
/// label 1 (identical sentences) or 0 (different), as contrastive_tension_pairs prepares them.
/// logits = dot(model1(s1), model(s2)); loss = BCE-with-logits, summed.
class contrastive_tension_loss {
 public:
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::class_label | label_kind::score,
                                      .roles = roles::labelled_pair};
  static constexpr std::string_view name = "ContrastiveTensionLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::contrastive_tension_bibtex;

  explicit contrastive_tension_loss(std::shared_ptr<models::sentence_transformer> model1) : model1_(std::move(model1)) {
    if (!model1_) throw error("ContrastiveTensionLoss: model1 (the model's copy) is null");
    module_->register_module("model1", model1_);  // Python's names: model1.*
  }
  [[nodiscard]] at::Tensor operator()(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& labels) const {
    const auto a = detail::embed_with(*model1_, f[0]);
    m.forward(f[1]);
    return from_embeddings(a.to(f[1].sentence_embedding.device()), f[1].sentence_embedding, labels);
  }
  [[nodiscard]] static at::Tensor from_embeddings(const at::Tensor& a, const at::Tensor& b, const at::Tensor& labels) {
    const auto logits = (a * b).sum(-1);
    return at::binary_cross_entropy_with_logits(logits, labels.to(logits.scalar_type()).reshape({-1}), {}, {}, at::Reduction::Sum);
  }
  [[nodiscard]] std::vector<at::Tensor> parameters() const { return detail::trainable(*model1_); }
  [[nodiscard]] std::shared_ptr<torch::nn::Module> module() const { return module_; }
  [[nodiscard]] config_entries config() const { return {}; }

 private:
  std::shared_ptr<models::sentence_transformer> model1_;
  std::shared_ptr<torch::nn::Module> module_ = std::make_shared<torch::nn::Module>("ContrastiveTensionLoss");
};

/// One row of Contrastive Tension's training data.
struct contrastive_tension_pair {
  std::string text1, text2;
  std::int64_t label = 0;  // 1: text1 == text2 (a positive)
};

/// Contrastive Tension's data preparation (Python's ContrastiveTensionDataLoader): the
/// sentences in a random order, walked in turn into batches of `batch_size` pairs; in each
/// batch every pos_neg_ratio-th pair (starting with the first) is a sentence with itself
/// (label 1), the others pair a sentence with the next one (label 0, both consumed). An
/// incomplete final batch is dropped, as in Python. Feed the pairs with a sequential
/// (non-shuffling) sampler and the same batch size, so each batch keeps its positives.
[[nodiscard]] inline std::vector<contrastive_tension_pair> contrastive_tension_pairs(std::vector<std::string> sentences, std::size_t batch_size,
                                                                                    std::size_t pos_neg_ratio = 8, std::uint64_t seed = 42) {
  if (batch_size == 0 || pos_neg_ratio == 0 || batch_size % pos_neg_ratio != 0)
    throw error("contrastive_tension_pairs: batch_size (" + std::to_string(batch_size) + ") must be a positive multiple of pos_neg_ratio (" +
                std::to_string(pos_neg_ratio) + ")");
  std::mt19937_64 rng(seed);
  std::shuffle(sentences.begin(), sentences.end(), rng);
  std::vector<contrastive_tension_pair> out, batch;
  std::size_t i = 0;
  while (i + 1 < sentences.size()) {
    if (batch.size() % pos_neg_ratio > 0) {
      batch.push_back({sentences[i], sentences[i + 1], 0});
      i += 2;
    } else {
      batch.push_back({sentences[i], sentences[i], 1});
      i += 1;
    }
    if (batch.size() == batch_size) {
      for (auto& p : batch) out.push_back(std::move(p));
      batch.clear();
    }
  }
  return out;
}

}  // namespace sbert
