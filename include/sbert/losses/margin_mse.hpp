// SPDX-License-Identifier: Apache-2.0
// Score distillation: MarginMSELoss (regress the student's score margins onto the teacher's)
// and DistillKLDivLoss (match the teacher's softmax over the candidates).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Reduction.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/kl_div.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/mse_loss.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/stack.h>

#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

namespace detail {
/// [B, 1 + k] scores sim(q, c) over the candidates (positive, negative_1..k).
inline at::Tensor candidate_scores(similarity_function f, std::span<const at::Tensor> e) {
  std::vector<at::Tensor> s;
  for (std::size_t i = 1; i < e.size(); ++i) s.push_back(similarity_pairwise(f, e[0], e[i]));
  return at::stack(s, 1);
}
}  // namespace detail

/// Mirrors sentence_transformers.losses.MarginMSELoss. Inputs: (query, positive,
/// negative_1..k) + the teacher's margins: a score [B] (one negative), a vector [B, k] of
/// margins, or a vector [B, k + 1] of raw teacher scores (turned into margins score_pos -
/// score_neg_j). Prediction: sim(q, p) - sim(q, n_j); loss = MSE over all B * k entries.
class margin_mse_loss {
 public:
  struct options {
    similarity_function similarity = similarity_function::dot;  // used pairwise
  };
  static constexpr inputs_spec inputs{.texts = at_least(3), .labels = label_kind::score | label_kind::vector,
                                      .roles = roles::ranking};
  static constexpr std::string_view name = "MarginMSELoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{hofstätter2021improving,
    title={Improving Efficient Neural Ranking Models with Cross-Architecture Knowledge Distillation},
    author={Sebastian Hofstätter and Sophia Althammer and Michael Schröder and Mete Sertkan and Allan Hanbury},
    year={2021},
    eprint={2010.02666},
    archivePrefix={arXiv},
    primaryClass={cs.IR}
})bib";

  margin_mse_loss() = default;
  explicit margin_mse_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto s = detail::candidate_scores(opts_.similarity, e);
    const auto b = s.size(0), k = s.size(1) - 1;
    const auto pred = s.narrow(1, 0, 1) - s.narrow(1, 1, k);
    at::Tensor y = labels.to(pred.scalar_type());
    if (y.dim() == 2 && y.size(0) == b && y.size(1) == k + 1) y = y.narrow(1, 0, 1) - y.narrow(1, 1, k);
    else if (y.dim() == 1 && y.size(0) == b) y = y.unsqueeze(1);
    if (y.dim() != 2 || y.size(0) != b || y.size(1) != k)
      throw error("MarginMSELoss: labels must be [batch] (one negative), [batch, " + std::to_string(k) + "] margins or [batch, " +
                  std::to_string(k + 1) + "] teacher scores");
    return at::mse_loss(pred, y.detach());
  }
  [[nodiscard]] config_entries config() const {
    return {{"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity, true)) + "\""}};
  }

 private:
  options opts_{};
};

/// Mirrors sentence_transformers.losses.DistillKLDivLoss. Inputs: (query, positive,
/// negative_1..k) + the teacher's scores [B, k + 1] as a vector label. Student logits sim(q, c)/T
/// over the candidates; loss = T^2 * KL(softmax(teacher/T) || softmax(student)), summed over the
/// candidates and averaged over rows (batchmean). Default T = 1 (5.0.1+).
class distill_kl_div_loss {
 public:
  struct options {
    similarity_function similarity = similarity_function::dot;  // used pairwise
    double temperature = 1.0;
  };
  static constexpr inputs_spec inputs{.texts = at_least(3), .labels = label_kind::vector, .roles = roles::ranking};
  static constexpr std::string_view name = "DistillKLDivLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{lin2020distillingdenserepresentationsranking,
      title={Distilling Dense Representations for Ranking using Tightly-Coupled Teachers},
      author={Sheng-Chieh Lin and Jheng-Hong Yang and Jimmy Lin},
      year={2020},
      eprint={2010.11386},
      archivePrefix={arXiv},
      primaryClass={cs.IR},
      url={https://arxiv.org/abs/2010.11386},
})bib";

  distill_kl_div_loss() = default;
  explicit distill_kl_div_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto s = detail::candidate_scores(opts_.similarity, e);
    if (!labels.defined() || labels.dim() != 2 || labels.size(0) != s.size(0) || labels.size(1) != s.size(1))
      throw error("DistillKLDivLoss: labels must be the teacher's scores, [batch, " + std::to_string(s.size(1)) + "]");
    const double t = opts_.temperature;
    const auto student = at::log_softmax(s / t, 1);
    const auto teacher = at::softmax(labels.to(s.scalar_type()).detach() / t, 1);
    return at::kl_div(student, teacher, at::Reduction::Sum) / static_cast<double>(s.size(0)) * (t * t);
  }
  [[nodiscard]] config_entries config() const {
    return {{"similarity_fct", "\"" + std::string(similarity_fct_name(opts_.similarity, true)) + "\""},
            {"temperature", detail::json_number(opts_.temperature)}};
  }

 private:
  options opts_{};
};

}  // namespace sbert
