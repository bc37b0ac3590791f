// SPDX-License-Identifier: Apache-2.0
// Multi-dataset batch samplers: every batch comes from one data set; the datasets' rows are
// numbered one after the other (dataset k's row r is offsets[k] + r).
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/samplers/sampler.hpp>

namespace sbert {

class multi_dataset_sampler_base : public batch_sampler_base {
 public:
  multi_dataset_sampler_base(std::vector<std::shared_ptr<batch_sampler_base>> samplers, std::vector<std::size_t> offsets)
      : samplers_(std::move(samplers)), offsets_(std::move(offsets)) {
    if (samplers_.size() != offsets_.size() || samplers_.empty())
      throw error("multi-dataset sampler: the number of batch samplers must match the number of datasets");
  }

 protected:
  std::vector<batch_list> inner(std::uint64_t epoch) const {
    std::vector<batch_list> out;
    for (std::size_t k = 0; k < samplers_.size(); ++k) {
      out.push_back(samplers_[k]->batches(epoch));
      for (auto& b : out.back())
        for (auto& r : b) r += offsets_[k];
    }
    return out;
  }
  std::vector<std::shared_ptr<batch_sampler_base>> samplers_;
  std::vector<std::size_t> offsets_;
};

/// ROUND_ROBIN: datasets take turns, 0, 1, ..., k-1, 0, ...; the epoch ends the first time a
/// dataset has no batch left (so every dataset gives as many batches as the smallest).
class round_robin_batch_sampler : public multi_dataset_sampler_base {
 public:
  using multi_dataset_sampler_base::multi_dataset_sampler_base;
  [[nodiscard]] batch_list batches(std::uint64_t epoch) override {
    auto per = inner(epoch);
    batch_list out;
    for (std::size_t i = 0;; ++i)
      for (auto& b : per) {
        if (i >= b.size()) return out;
        out.push_back(std::move(b[i]));
      }
  }
  [[nodiscard]] std::size_t size() const override {
    std::size_t m = SIZE_MAX;
    for (auto& s : samplers_) m = std::min(m, s->size());
    return m * samplers_.size();
  }
};

/// PROPORTIONAL (the default): every batch of every dataset is used once per epoch, in an
/// order that interleaves the datasets at random (seed + epoch), so larger datasets are
/// sampled more often.
class proportional_batch_sampler : public multi_dataset_sampler_base {
 public:
  proportional_batch_sampler(std::vector<std::shared_ptr<batch_sampler_base>> samplers, std::vector<std::size_t> offsets,
                             std::uint64_t seed)
      : multi_dataset_sampler_base(std::move(samplers), std::move(offsets)), seed_(seed) {}
  [[nodiscard]] batch_list batches(std::uint64_t epoch) override {
    auto per = inner(epoch);
    std::vector<std::size_t> ids;
    for (std::size_t k = 0; k < per.size(); ++k) ids.insert(ids.end(), per[k].size(), k);
    std::mt19937_64 rng(seed_ + epoch);
    for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[static_cast<std::size_t>(rng() % i)]);
    std::vector<std::size_t> next(per.size(), 0);
    batch_list out;
    for (auto k : ids) out.push_back(std::move(per[k][next[k]++]));
    return out;
  }
  [[nodiscard]] std::size_t size() const override {
    std::size_t n = 0;
    for (auto& s : samplers_) n += s->size();
    return n;
  }

 private:
  std::uint64_t seed_;
};

}  // namespace sbert
