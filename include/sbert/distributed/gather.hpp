// SPDX-License-Identifier: Apache-2.0
// all_gather_with_grad: every rank's rows of a tensor, concatenated in rank order, with the
// gradient flowing back to this rank's own rows (Python's sentence_transformers.util
// all_gather_with_grad). The backward pass sums each row's gradient over the ranks: rank s's
// loss reaches rank r's embeddings only through this gather, so with the gradients averaged
// afterwards (all_reduce_gradients) the loss of N ranks over batch b trains as one process
// over batch N*b. Ranks may hold different row counts (a short last batch).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <sbert/distributed/process_group.hpp>

namespace sbert::distributed {

namespace detail {
struct all_gather_function : torch::autograd::Function<all_gather_function> {
  // counts: every rank's row count (gathered beforehand), so each rank sends a tensor of the
  // same, largest shape.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, std::vector<std::int64_t> counts) {
    auto g = default_group();
    const std::int64_t rows = x.size(0);
    std::int64_t offset = 0, most = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      if (static_cast<int>(r) < g->rank()) offset += counts[r];
      most = std::max(most, counts[r]);
    }
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = rows;
    auto sizes = x.sizes().vec();
    if (most == 0) return x.detach().clone();  // no rank has rows: nothing to send
    at::Tensor padded = x.detach().contiguous();
    if (rows < most) {
      sizes[0] = most - rows;
      padded = at::cat({padded, at::zeros(sizes, x.options())});
    }
    auto parts = g->all_gather(padded);
    std::vector<at::Tensor> kept;
    for (std::size_t r = 0; r < parts.size(); ++r) kept.push_back(parts[r].narrow(0, 0, counts[r]));
    return at::cat(kept);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto offset = ctx->saved_data["offset"].toInt();
    const auto rows = ctx->saved_data["rows"].toInt();
    std::vector<at::Tensor> sum{grad[0].contiguous().clone()};
    default_group()->all_reduce_sum(sum);  // every rank's loss's gradient w.r.t. the gathered rows
    return {sum[0].narrow(0, offset, rows), at::Tensor()};
  }
};
}  // namespace detail

/// The rows of `x` from every rank in rank order, differentiable w.r.t. this rank's `x`;
/// `offset` (optional) receives where this rank's rows start. Without a process group (one
/// process): `x` itself, offset 0. Every rank must call it, in the same order, and every
/// rank's loss must depend on the result (the backward pass is a collective too). Under no_grad
/// (evaluation, which rank 0 may run alone) it gathers nothing and returns `x`.
inline at::Tensor all_gather_with_grad(const at::Tensor& x, std::int64_t* offset = nullptr) {
  if (offset) *offset = 0;
  auto g = default_group();
  if (!g || g->size() <= 1 || !c10::GradMode::is_enabled()) return x;
  auto gathered = g->all_gather(at::full({1}, x.size(0), at::TensorOptions().dtype(at::kLong)));
  std::vector<std::int64_t> counts;
  for (const auto& c : gathered) counts.push_back(c.item<std::int64_t>());
  if (offset)
    for (int r = 0; r < g->rank(); ++r) *offset += counts[static_cast<std::size_t>(r)];
  return detail::all_gather_function::apply(x, std::move(counts));
}

}  // namespace sbert::distributed
