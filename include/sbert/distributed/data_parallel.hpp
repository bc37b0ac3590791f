// SPDX-License-Identifier: Apache-2.0
// Data parallelism over a process_group, as PyTorch's DistributedDataParallel does it: the
// parameters start equal (broadcast from rank 0), and before each optimizer step the gradients
// are summed over the ranks in flat buckets and divided by the world size. libtorch 1.13 has no
// C++ DDP module, so this is sbert's own; it reduces after the backward pass rather than
// overlapping with it (correct first; see docs/distributed.md).
#pragma once
#include <sbert/detail/compiled.hpp>

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include <sbert/distributed/process_group.hpp>

namespace sbert::distributed {

/// Rank 0's values into every rank's tensors (parameters, or any state that must start equal).
void broadcast_tensors(process_group& g, const std::vector<at::Tensor>& tensors);

/// Sums each tensor's gradient over the ranks and divides by the world size, in buckets of about
/// `bucket_bytes` (DDP's default 25 MiB). A tensor whose gradient only some ranks have (e.g. a
/// module a batch did not reach) gets zeros on the others, so every rank steps the same tensors;
/// a tensor no rank has a gradient for keeps none.
void all_reduce_gradients(process_group& g, const std::vector<at::Tensor>& tensors,
                          std::int64_t bucket_bytes = std::int64_t{25} << 20);

}  // namespace sbert::distributed

#if SBERT_DEFINITIONS
#include <ATen/ops/cat.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>

namespace sbert::distributed {

SBERT_INLINE void broadcast_tensors(process_group& g, const std::vector<at::Tensor>& tensors) {
  c10::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    // c10d works on dense contiguous tensors; parameters are, but copy back to be safe.
    std::vector<at::Tensor> one{t.detach().contiguous()};
    g.broadcast(one, 0);
    if (!one[0].is_same(t)) t.detach().copy_(one[0]);
  }
}

SBERT_INLINE void all_reduce_gradients(process_group& g, const std::vector<at::Tensor>& tensors, std::int64_t bucket_bytes) {
  if (g.size() <= 1 || tensors.empty()) return;
  c10::NoGradGuard no_grad;
  // Which tensors have a gradient on some rank: one small max-reduce.
  const auto n = static_cast<std::int64_t>(tensors.size());
  at::Tensor has = at::zeros({n}, at::kFloat);
  auto* h = has.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) h[i] = tensors[static_cast<std::size_t>(i)].grad().defined() ? 1.f : 0.f;
  std::vector<at::Tensor> hv{has};
  g.all_reduce_max(hv);
  h = hv[0].data_ptr<float>();
  std::vector<at::Tensor> grads;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto& t = tensors[static_cast<std::size_t>(i)];
    if (h[i] == 0.f) continue;
    if (!t.grad().defined()) t.mutable_grad() = at::zeros_like(t);
    grads.push_back(t.grad());
  }
  // Buckets of one dtype and device, flattened into one buffer each: few, large messages.
  const double inv = 1.0 / static_cast<double>(g.size());
  std::size_t i = 0;
  while (i < grads.size()) {
    std::vector<at::Tensor> bucket;
    std::int64_t bytes = 0;
    const auto dtype = grads[i].scalar_type();
    const auto device = grads[i].device();
    while (i < grads.size() && grads[i].scalar_type() == dtype && grads[i].device() == device &&
           (bucket.empty() || bytes < bucket_bytes)) {
      bytes += grads[i].numel() * static_cast<std::int64_t>(grads[i].element_size());
      bucket.push_back(grads[i++]);
    }
    std::vector<at::Tensor> flat_parts;
    flat_parts.reserve(bucket.size());
    for (const auto& b : bucket) flat_parts.push_back(b.reshape({-1}));
    std::vector<at::Tensor> flat{at::cat(flat_parts)};
    g.all_reduce_sum(flat);
    flat[0].mul_(inv);
    std::int64_t off = 0;
    for (auto& b : bucket) {
      b.copy_(flat[0].narrow(0, off, b.numel()).view(b.sizes()));
      off += b.numel();
    }
  }
}

}  // namespace sbert::distributed
#endif  // SBERT_DEFINITIONS
