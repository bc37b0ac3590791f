// SPDX-License-Identifier: Apache-2.0
// SoftmaxLoss: a linear classifier over (u, v, |u - v| [, u * v]), trained with the model
// (the NLI recipe of the original Sentence-BERT paper).
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <c10/core/GradMode.h>
#include <torch/nn/module.h>

#include <sbert/detail/citations.hpp>
#include <sbert/losses/loss.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.SoftmaxLoss. Inputs: (text, text) + class label.
/// The classifier's weight [num_labels, k * dim] and bias belong to the loss and are trained:
/// they live in module() as "classifier.weight" and "classifier.bias", Python's names. Copies
/// of the loss share them (the module is held by pointer).
class softmax_loss {
 public:
  struct options {
    std::int64_t sentence_embedding_dimension = 0;  // required
    std::int64_t num_labels = 0;                     // required
    bool concatenation_sent_rep = true;
    bool concatenation_sent_difference = true;
    bool concatenation_sent_multiplication = false;
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::class_label,
                                      .roles = roles::labelled_pair};
  static constexpr std::string_view name = "SoftmaxLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = detail::sentence_bert_bibtex;

  explicit softmax_loss(options o) : opts_(o), module_(std::make_shared<torch::nn::Module>("SoftmaxLoss")) {
    if (o.sentence_embedding_dimension <= 0 || o.num_labels <= 1)
      throw error("softmax_loss: sentence_embedding_dimension and num_labels (>= 2) are required");
    const std::int64_t in = features_per_dim() * o.sentence_embedding_dimension;
    // nn.Linear's default initialisation: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    auto classifier = module_->register_module("classifier", std::make_shared<torch::nn::Module>("Linear"));
    // handles to the registered tensors: Module::to() moves them in place, so they stay valid
    weight_ = classifier->register_parameter("weight", at::empty({o.num_labels, in}).uniform_(-bound, bound));
    bias_ = classifier->register_parameter("bias", at::empty({o.num_labels}).uniform_(-bound, bound));
  }

  [[nodiscard]] at::Tensor logits(const at::Tensor& u, const at::Tensor& v) const {
    std::vector<at::Tensor> parts;
    if (opts_.concatenation_sent_rep) {
      parts.push_back(u);
      parts.push_back(v);
    }
    if (opts_.concatenation_sent_difference) parts.push_back(at::abs(u - v));
    if (opts_.concatenation_sent_multiplication) parts.push_back(u * v);
    return at::linear(at::cat(parts, 1), weight_, bias_);
  }

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    return at::cross_entropy_loss(logits(e[0], e[1]), labels.reshape({-1}));
  }

  [[nodiscard]] std::vector<at::Tensor> parameters() const { return {weight_, bias_}; }
  /// The module holding the classifier (the trainer names, moves and checkpoints it).
  [[nodiscard]] std::shared_ptr<torch::nn::Module> module() const { return module_; }
  [[nodiscard]] const at::Tensor& weight() const { return weight_; }
  [[nodiscard]] const at::Tensor& bias() const { return bias_; }
  /// Overwrites the classifier in place (e.g. with a reference run's initial weights).
  void set_classifier(const at::Tensor& weight, const at::Tensor& bias) {
    if (weight.sizes() != weight_.sizes() || bias.sizes() != bias_.sizes())
      throw error("softmax_loss::set_classifier: expected weight and bias of shapes [num_labels, k * dim] and [num_labels]");
    c10::NoGradGuard no_grad;
    weight_.copy_(weight);
    bias_.copy_(bias);
  }
  void to(const at::Device& d) { module_->to(d); }

  [[nodiscard]] config_entries config() const {
    auto b = [](bool x) { return std::string(x ? "true" : "false"); };
    return {{"sentence_embedding_dimension", std::to_string(opts_.sentence_embedding_dimension)},
            {"num_labels", std::to_string(opts_.num_labels)},
            {"concatenation_sent_rep", b(opts_.concatenation_sent_rep)},
            {"concatenation_sent_difference", b(opts_.concatenation_sent_difference)},
            {"concatenation_sent_multiplication", b(opts_.concatenation_sent_multiplication)},
            {"loss_fct", "\"CrossEntropyLoss\""}};
  }

 private:
  [[nodiscard]] std::int64_t features_per_dim() const {
    return (opts_.concatenation_sent_rep ? 2 : 0) + (opts_.concatenation_sent_difference ? 1 : 0) +
           (opts_.concatenation_sent_multiplication ? 1 : 0);
  }
  options opts_;
  std::shared_ptr<torch::nn::Module> module_;
  at::Tensor weight_, bias_;
};

}  // namespace sbert
