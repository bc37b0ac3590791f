// SPDX-License-Identifier: Apache-2.0
// The batches of one rank in a data-parallel run: the sampler draws global batches of
// world_size * per_device_train_batch_size rows and each rank takes its contiguous slice of
// every one (accelerate's BatchSamplerShard with split_batches), so a sampler's rule — no
// duplicate texts, label groups, one data set per batch — holds over the global batch, and
// with all_gather_with_grad the in-batch negatives are those of the global batch. Torch-free.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <sbert/error.hpp>
#include <sbert/samplers/sampler.hpp>

namespace sbert::distributed {

/// Rows [begin, end) of a global batch of `n` rows that rank `rank` of `world` takes: equal
/// slices, the first n % world ranks one row more (a short last batch).
inline std::pair<std::size_t, std::size_t> shard_range(std::size_t n, int rank, int world) {
  const auto w = static_cast<std::size_t>(world), r = static_cast<std::size_t>(rank);
  const std::size_t base = n / w, extra = n % w;
  const std::size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

class distributed_batch_sampler : public batch_sampler_base {
 public:
  /// `global`: a sampler whose batches are the global batches (its batch size already
  /// world_size times the per-device one).
  distributed_batch_sampler(std::shared_ptr<batch_sampler_base> global, int rank, int world)
      : global_(std::move(global)), rank_(rank), world_(world) {
    if (!global_) throw error("distributed_batch_sampler: the global sampler is null");
    if (world_ < 1 || rank_ < 0 || rank_ >= world_)
      throw error("distributed_batch_sampler: rank " + std::to_string(rank_) + " is outside [0, " + std::to_string(world_) + ")");
  }
  [[nodiscard]] batch_list batches(std::uint64_t epoch) override {
    batch_list out;
    for (auto& b : global_->batches(epoch)) {
      // A global batch with fewer rows than ranks (a short last one) would leave a rank
      // without rows, and a gathering loss needs every rank: it is dropped.
      if (b.size() < static_cast<std::size_t>(world_)) continue;
      const auto [s, e] = shard_range(b.size(), rank_, world_);
      out.emplace_back(b.begin() + static_cast<std::ptrdiff_t>(s), b.begin() + static_cast<std::ptrdiff_t>(e));
    }
    return out;
  }
  /// The global sampler's count (a last global batch smaller than the world is dropped).
  [[nodiscard]] std::size_t size() const override { return global_->size(); }
  [[nodiscard]] const batch_sampler_base& global() const { return *global_; }

 private:
  std::shared_ptr<batch_sampler_base> global_;
  int rank_, world_;
};

}  // namespace sbert::distributed
