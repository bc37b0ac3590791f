// SPDX-License-Identifier: Apache-2.0
// NoDuplicatesBatchSampler: no text appears twice in a batch (an in-batch "negative" equal to a
// positive would be a false negative).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/samplers/sampler.hpp>

namespace sbert {

/// Python's semantics: each epoch starts from a seeded permutation; a batch is built by
/// scanning the remaining rows in order and taking each row none of whose texts is already in
/// the batch; a short final scan is yielded unless drop_last; skipped rows stay for later
/// batches. Every input column counts (anchor included); labels do not; each text of a
/// text-list column counts on its own. Texts are compared by 64-bit hash, computed once, and
/// the remaining rows are a linked list, so an epoch is O(rows) when duplicates are rare
/// (the Python sampler rescans a Python list per batch and is slow on large data).
class no_duplicates_batch_sampler : public batch_sampler_base {
 public:
  static constexpr inputs_spec inputs{.texts = at_least(1),
                                      .labels = label_kind::none | label_kind::score | label_set{label_kind::class_label} |
                                                label_set{label_kind::vector},
                                      .text_list = true};

  template <Schema S>
  no_duplicates_batch_sampler(const dataset<S>& d, std::size_t batch_size, bool drop_last = false, std::uint64_t seed = 0)
      : bs_(batch_size), drop_last_(drop_last), seed_(seed) {
    check_inputs_fit<no_duplicates_batch_sampler, S>();
    detail::check_batch_size(bs_);
    const std::size_t n = d.size();
    offsets_.assign(n + 1, 0);
    std::vector<std::vector<std::uint64_t>> per_row(n);
    const std::hash<std::string_view> h;
    std::apply([&](const auto&... cols) {
      (
          [&](const auto& col) {
            using V = typename std::decay_t<decltype(col)>::value_type;
            if constexpr (std::is_same_v<V, std::string>) {
              for (std::size_t i = 0; i < n; ++i) per_row[i].push_back(h(col[i]));
            } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
              for (std::size_t i = 0; i < n; ++i)
                for (const auto& s : col[i]) per_row[i].push_back(h(s));
            }
          }(cols),
          ...);
    }, d.columns());
    for (std::size_t i = 0; i < n; ++i) {
      offsets_[i + 1] = offsets_[i] + per_row[i].size();
      hashes_.insert(hashes_.end(), per_row[i].begin(), per_row[i].end());
    }
  }

  [[nodiscard]] batch_list batches(std::uint64_t epoch) override {
    return batches_in_order(detail::seeded_permutation(offsets_.size() - 1, seed_ + epoch));
  }
  /// The same scan over a given order of all rows (each once): the group_by_length sampler
  /// passes its length-grouped order, so batches keep both properties.
  [[nodiscard]] batch_list batches_in_order(const std::vector<std::size_t>& perm) const {
    const std::size_t n = offsets_.size() - 1;
    if (perm.size() != n) throw error("no_duplicates batch sampler: the order must hold every row once");
    // doubly linked list over positions of perm; n is the end marker
    std::vector<std::size_t> next(n + 1), prev(n + 1);
    for (std::size_t i = 0; i <= n; ++i) {
      next[i] = i + 1 <= n ? i + 1 : n;
      prev[i] = i == 0 ? n : i - 1;
    }
    std::size_t head = n ? 0 : n;
    auto unlink = [&](std::size_t p) {
      if (prev[p] != n) next[prev[p]] = next[p];
      else head = next[p];
      if (next[p] != n) prev[next[p]] = prev[p];
    };
    batch_list out;
    std::unordered_set<std::uint64_t> seen;
    std::vector<std::size_t> batch, taken;
    while (head != n) {
      seen.clear();
      batch.clear();
      taken.clear();
      for (std::size_t p = head; p != n && batch.size() < bs_; p = next[p]) {
        const std::size_t row = perm[p];
        bool clash = false;
        for (std::size_t k = offsets_[row]; k < offsets_[row + 1] && !clash; ++k) clash = seen.contains(hashes_[k]);
        if (clash) continue;
        for (std::size_t k = offsets_[row]; k < offsets_[row + 1]; ++k) seen.insert(hashes_[k]);
        batch.push_back(row);
        taken.push_back(p);
      }
      for (auto p : taken) unlink(p);
      if (batch.size() == bs_ || !drop_last_) out.push_back(batch);
    }
    return out;
  }
  [[nodiscard]] std::size_t size() const override { return detail::batch_count(offsets_.size() - 1, bs_, drop_last_); }

 private:
  std::size_t bs_;
  bool drop_last_;
  std::uint64_t seed_;
  std::vector<std::size_t> offsets_;  // row i's hashes are hashes_[offsets_[i], offsets_[i+1])
  std::vector<std::uint64_t> hashes_;
};

}  // namespace sbert
