// SPDX-License-Identifier: Apache-2.0
// Embedding distillation against pre-computed teacher embeddings: EmbedDistillLoss (v6) and
// MSELoss, which is EmbedDistillLoss with the "mse" metric and one flat MSE over all columns.
#pragma once
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cosine_similarity.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/mse_loss.h>
#include <ATen/ops/stack.h>

#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.MSELoss. Inputs: 1..N text columns + the teacher's
/// embedding of each row as a vector label [B, D]. With N columns the N embedding blocks are
/// stacked along the batch and the label repeated N times (the multilingual recipe: source and
/// translation both regress onto the teacher's source embedding); loss = mean((e - t)^2).
class mse_loss {
 public:
  static constexpr inputs_spec inputs{.texts = at_least(1), .labels = label_kind::vector};
  static constexpr std::string_view name = "MSELoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@inproceedings{reimers-2020-multilingual-sentence-bert,
    title = "Making Monolingual Sentence Embeddings Multilingual using Knowledge Distillation",
    author = "Reimers, Nils and Gurevych, Iryna",
    booktitle = "Proceedings of the 2020 Conference on Empirical Methods in Natural Language Processing",
    month = "11",
    year = "2020",
    publisher = "Association for Computational Linguistics",
    url = "https://arxiv.org/abs/2004.09813",
})bib";

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    if (!labels.defined() || labels.dim() != 2)
      throw error("MSELoss: the label must be the teacher's embeddings, a [batch, dim] tensor");
    const auto n = static_cast<std::int64_t>(e.size());
    const auto emb = n == 1 ? e[0] : at::cat(std::vector<at::Tensor>(e.begin(), e.end()), 0);
    const auto target = (n == 1 ? labels : labels.repeat({n, 1})).to(emb.scalar_type()).detach();
    return at::mse_loss(emb, target);
  }
  [[nodiscard]] config_entries config() const { return {}; }
};

/// Mirrors sentence_transformers.losses.EmbedDistillLoss (v6). Inputs: 1..N text columns +
/// teacher embeddings: [B, D] (the same target for every column) or [B, N, D] (one per column).
/// Per column the distance is "cosine" (mean(1 - cos)), "l2" (mean ||s - t||_2) or "mse"; the
/// loss is the mean over columns. With projection_dim a learnable Linear(student_dim ->
/// projection_dim) maps the student into the teacher's space first; it belongs to the loss
/// (parameters()).
class embed_distill_loss {
 public:
  enum class metric { cosine, l2, mse };
  struct options {
    metric distance = metric::cosine;
    std::optional<std::int64_t> projection_dim{};  // requires student_dim
    std::int64_t student_dim = 0;
  };
  static constexpr inputs_spec inputs{.texts = at_least(1), .labels = label_kind::vector};
  static constexpr std::string_view name = "EmbedDistillLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@article{kim2023embeddistill,
    title={EmbedDistill: A Geometric Knowledge Distillation for Information Retrieval},
    author={Kim, Seungyeon and Rawat, Ankit Singh and Zaheer, Manzil and Jayasumana, Sadeep and Sadhanala, Veeranjaneyulu and Jitkrittum, Wittawat and Menon, Aditya Krishna and Fergus, Rob and Kumar, Sanjiv},
    year={2023},
    eprint={2301.12005},
    archivePrefix={arXiv},
    primaryClass={cs.IR}
})bib";

  embed_distill_loss() = default;
  explicit embed_distill_loss(options o) : opts_(o) {
    if (o.projection_dim) {
      if (*o.projection_dim <= 0 || o.student_dim <= 0)
        throw error("EmbedDistillLoss: projection_dim needs a positive projection_dim and the student's dimension (student_dim)");
      const double bound = 1.0 / std::sqrt(static_cast<double>(o.student_dim));  // nn.Linear's init
      weight_ = at::empty({*o.projection_dim, o.student_dim}).uniform_(-bound, bound).set_requires_grad(true);
      bias_ = at::empty({*o.projection_dim}).uniform_(-bound, bound).set_requires_grad(true);
    }
  }

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    if (!labels.defined() || (labels.dim() != 2 && labels.dim() != 3))
      throw error("EmbedDistillLoss: the label must be teacher embeddings, [batch, dim] or [batch, columns, dim]");
    if (labels.dim() == 3 && labels.size(1) != static_cast<std::int64_t>(e.size()))
      throw error("EmbedDistillLoss: the label has " + std::to_string(labels.size(1)) + " teacher embeddings per row but there are " +
                  std::to_string(e.size()) + " text columns; pass [batch, " + std::to_string(e.size()) +
                  ", dim], or [batch, dim] to use one target for every column");
    std::vector<at::Tensor> per_column;
    for (std::size_t i = 0; i < e.size(); ++i) {
      auto s = e[i];
      const auto t = (labels.dim() == 2 ? labels : labels.select(1, static_cast<std::int64_t>(i))).to(s.scalar_type()).detach();
      if (weight_.defined()) s = at::linear(s, weight_, bias_);
      switch (opts_.distance) {
        case metric::mse: per_column.push_back(at::mse_loss(s, t)); break;
        case metric::l2: per_column.push_back((s - t).norm(2, {-1}).mean()); break;
        case metric::cosine: per_column.push_back((1 - at::cosine_similarity(s, t, -1)).mean()); break;
      }
    }
    return at::stack(per_column).mean();
  }
  [[nodiscard]] std::vector<at::Tensor> parameters() const {
    if (!weight_.defined()) return {};
    return {weight_, bias_};
  }
  at::Tensor& weight() { return weight_; }
  at::Tensor& bias() { return bias_; }
  void to(const at::Device& d) {
    if (!weight_.defined()) return;
    weight_ = weight_.detach().to(d).set_requires_grad(true);
    bias_ = bias_.detach().to(d).set_requires_grad(true);
  }
  [[nodiscard]] config_entries config() const {
    const char* m = opts_.distance == metric::cosine ? "\"cosine\"" : opts_.distance == metric::l2 ? "\"l2\"" : "\"mse\"";
    return {{"distance_metric", m},
            {"projection_dim", opts_.projection_dim ? std::to_string(*opts_.projection_dim) : std::string("null")}};
  }

 private:
  options opts_{};
  at::Tensor weight_, bias_;
};

}  // namespace sbert
