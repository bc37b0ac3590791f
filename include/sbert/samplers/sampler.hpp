// SPDX-License-Identifier: Apache-2.0
// Batch samplers turn a data set's rows into the batches of an epoch. They are runtime-
// polymorphic (the trainer's loop is not a template); the typed constructors check at compile
// time that the schema has what the sampler needs. Torch-free; seeded with std::mt19937_64,
// so a seed gives the same batches on every platform.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include <sbert/error.hpp>

namespace sbert {

using batch_list = std::vector<std::vector<std::size_t>>;

class batch_sampler_base {
 public:
  virtual ~batch_sampler_base() = default;
  /// The batches of epoch `epoch` (0-based); the same epoch always gives the same batches.
  [[nodiscard]] virtual batch_list batches(std::uint64_t epoch) = 0;
  /// How many batches an epoch has (for no_duplicates, the optimistic Python count).
  [[nodiscard]] virtual std::size_t size() const = 0;
};

namespace detail {
inline std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[static_cast<std::size_t>(rng() % i)]);
  return idx;
}
inline std::size_t batch_count(std::size_t n, std::size_t bs, bool drop_last) {
  return drop_last ? n / bs : (n + bs - 1) / bs;
}
inline void check_batch_size(std::size_t bs) {
  if (bs == 0) throw error("batch sampler: batch_size must be positive");
}
}  // namespace detail

/// Python's DefaultBatchSampler (BatchSamplers.BATCH_SAMPLER): a seeded permutation per epoch
/// (seed + epoch), cut into batches; the last partial batch is kept unless drop_last.
class default_batch_sampler : public batch_sampler_base {
 public:
  default_batch_sampler(std::size_t n, std::size_t batch_size, bool drop_last = false, std::uint64_t seed = 0)
      : n_(n), bs_(batch_size), drop_last_(drop_last), seed_(seed) {
    detail::check_batch_size(bs_);
  }
  [[nodiscard]] batch_list batches(std::uint64_t epoch) override { return cut(detail::seeded_permutation(n_, seed_ + epoch)); }
  [[nodiscard]] std::size_t size() const override { return detail::batch_count(n_, bs_, drop_last_); }

 protected:
  [[nodiscard]] batch_list cut(const std::vector<std::size_t>& order) const {
    batch_list out;
    for (std::size_t i = 0; i < order.size(); i += bs_) {
      const std::size_t e = std::min(order.size(), i + bs_);
      if (e - i < bs_ && drop_last_) break;
      out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i), order.begin() + static_cast<std::ptrdiff_t>(e));
    }
    return out;
  }
  std::size_t n_, bs_;
  bool drop_last_;
  std::uint64_t seed_;
};

/// Rows in data-set order, every epoch (for reproducing a run and for debugging).
class sequential_batch_sampler : public default_batch_sampler {
 public:
  using default_batch_sampler::default_batch_sampler;
  [[nodiscard]] batch_list batches(std::uint64_t) override {
    std::vector<std::size_t> order(n_);
    std::iota(order.begin(), order.end(), std::size_t{0});
    return cut(order);
  }
};

/// Replays given batches every epoch (e.g. the batch rows a Python run recorded).
class fixed_batch_sampler : public batch_sampler_base {
 public:
  explicit fixed_batch_sampler(batch_list b) : b_(std::move(b)) {}
  [[nodiscard]] batch_list batches(std::uint64_t) override { return b_; }
  [[nodiscard]] std::size_t size() const override { return b_.size(); }

 private:
  batch_list b_;
};

}  // namespace sbert
