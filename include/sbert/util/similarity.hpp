// SPDX-License-Identifier: Apache-2.0
// Similarity functions of sentence_transformers.util / SimilarityFunction: cosine, dot,
// euclidean and manhattan, where higher always means more similar (the distances negated).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cdist.h>

#include <sbert/error.hpp>

namespace sbert {

enum class similarity_function { cosine, dot, euclidean, manhattan };

[[nodiscard]] inline std::string_view name_of(similarity_function f) {
  switch (f) {
    case similarity_function::cosine: return "cosine";
    case similarity_function::dot: return "dot";
    case similarity_function::euclidean: return "euclidean";
    case similarity_function::manhattan: return "manhattan";
  }
  return "cosine";
}

/// Python's names, plus its aliases ("cos_sim", "dot_score", "dot_product").
[[nodiscard]] inline std::optional<similarity_function> parse_similarity_function(std::string_view s) {
  if (s == "cosine" || s == "cos_sim") return similarity_function::cosine;
  if (s == "dot" || s == "dot_score" || s == "dot_product") return similarity_function::dot;
  if (s == "euclidean") return similarity_function::euclidean;
  if (s == "manhattan") return similarity_function::manhattan;
  return std::nullopt;
}

namespace detail {
inline at::Tensor as_2d(const at::Tensor& t) { return t.dim() == 1 ? t.unsqueeze(0) : t; }
inline at::Tensor unit_rows(const at::Tensor& t) {
  return t / t.norm(2, {-1}, true).clamp_min(1e-12).expand_as(t);
}
}  // namespace detail

/// [n, d] x [m, d] -> [n, m] cosine similarities (1-d inputs count as one row).
[[nodiscard]] inline at::Tensor cos_sim(const at::Tensor& a, const at::Tensor& b) {
  return detail::unit_rows(detail::as_2d(a)).matmul(detail::unit_rows(detail::as_2d(b)).transpose(0, 1));
}
[[nodiscard]] inline at::Tensor dot_score(const at::Tensor& a, const at::Tensor& b) {
  return detail::as_2d(a).matmul(detail::as_2d(b).transpose(0, 1));
}
/// -||a_i - b_j||_2
[[nodiscard]] inline at::Tensor euclidean_sim(const at::Tensor& a, const at::Tensor& b) {
  return -at::cdist(detail::as_2d(a), detail::as_2d(b), 2.0);
}
/// -||a_i - b_j||_1
[[nodiscard]] inline at::Tensor manhattan_sim(const at::Tensor& a, const at::Tensor& b) {
  return -at::cdist(detail::as_2d(a), detail::as_2d(b), 1.0);
}

[[nodiscard]] inline at::Tensor pairwise_cos_sim(const at::Tensor& a, const at::Tensor& b) {
  return (detail::unit_rows(detail::as_2d(a)) * detail::unit_rows(detail::as_2d(b))).sum(-1);
}
[[nodiscard]] inline at::Tensor pairwise_dot_score(const at::Tensor& a, const at::Tensor& b) {
  return (detail::as_2d(a) * detail::as_2d(b)).sum(-1);
}
[[nodiscard]] inline at::Tensor pairwise_euclidean_sim(const at::Tensor& a, const at::Tensor& b) {
  return -((detail::as_2d(a) - detail::as_2d(b)).pow(2).sum(-1)).sqrt();
}
[[nodiscard]] inline at::Tensor pairwise_manhattan_sim(const at::Tensor& a, const at::Tensor& b) {
  return -(detail::as_2d(a) - detail::as_2d(b)).abs().sum(-1);
}

/// The [n, m] score matrix for `f`.
[[nodiscard]] inline at::Tensor similarity(similarity_function f, const at::Tensor& a, const at::Tensor& b) {
  switch (f) {
    case similarity_function::cosine: return cos_sim(a, b);
    case similarity_function::dot: return dot_score(a, b);
    case similarity_function::euclidean: return euclidean_sim(a, b);
    case similarity_function::manhattan: return manhattan_sim(a, b);
  }
  throw error("similarity: unknown function");
}
/// Row-by-row scores [n] for `f`.
[[nodiscard]] inline at::Tensor similarity_pairwise(similarity_function f, const at::Tensor& a, const at::Tensor& b) {
  switch (f) {
    case similarity_function::cosine: return pairwise_cos_sim(a, b);
    case similarity_function::dot: return pairwise_dot_score(a, b);
    case similarity_function::euclidean: return pairwise_euclidean_sim(a, b);
    case similarity_function::manhattan: return pairwise_manhattan_sim(a, b);
  }
  throw error("similarity_pairwise: unknown function");
}

}  // namespace sbert
