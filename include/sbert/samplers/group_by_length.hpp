// SPDX-License-Identifier: Apache-2.0
// training_args::group_by_length: batches of rows with similar token lengths, so that padding
// each batch to its longest text wastes little (transformers' LengthGroupedSampler).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/samplers/no_duplicates.hpp>
#include <sbert/samplers/sampler.hpp>

namespace sbert {

namespace detail {
/// transformers' get_length_grouped_indices: a seeded permutation cut into megabatches of
/// min(n / (4 * batch_size), 50) batches (at least one), each sorted by length, longest
/// first; then the overall longest row is swapped to the front, so the biggest batch comes
/// first (an out-of-memory shows at once). Ties keep the permutation's order.
inline std::vector<std::size_t> length_grouped_order(const std::vector<std::size_t>& lengths, std::size_t batch_size,
                                                     std::uint64_t seed) {
  auto order = seeded_permutation(lengths.size(), seed);
  const std::size_t mult = std::clamp<std::size_t>(lengths.size() / (batch_size * 4), 1, 50);
  const std::size_t mega = mult * batch_size;
  auto longer = [&](std::size_t a, std::size_t b) { return lengths[a] > lengths[b]; };
  std::size_t best = 0;  // the megabatch whose first row is the longest
  for (std::size_t i = 0; i < order.size(); i += mega) {
    const auto b = order.begin() + static_cast<std::ptrdiff_t>(i);
    const auto e = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + mega));
    std::stable_sort(b, e, longer);
    if (lengths[order[i]] > lengths[order[best]]) best = i;
  }
  if (!order.empty()) std::swap(order[0], order[best]);
  return order;
}
}  // namespace detail

/// Rows grouped by length (`lengths[row]`: the trainer gives the tokens of the row's longest text),
/// seeded per epoch like the other samplers (seed + epoch), so a resumed run replays the same
/// batches. With a no_duplicates sampler of the same data set, its scan runs over the grouped
/// order: no text twice in a batch, and a row it defers lands in a batch of similar length.
class length_grouped_batch_sampler : public default_batch_sampler {
 public:
  length_grouped_batch_sampler(std::vector<std::size_t> lengths, std::size_t batch_size, bool drop_last = false,
                               std::uint64_t seed = 0, std::shared_ptr<const no_duplicates_batch_sampler> no_duplicates = nullptr)
      : default_batch_sampler(lengths.size(), batch_size, drop_last, seed),
        lengths_(std::move(lengths)),
        no_duplicates_(std::move(no_duplicates)) {}

  [[nodiscard]] batch_list batches(std::uint64_t epoch) override {
    const auto order = detail::length_grouped_order(lengths_, bs_, seed_ + epoch);
    return no_duplicates_ ? no_duplicates_->batches_in_order(order) : cut(order);
  }
  [[nodiscard]] const std::vector<std::size_t>& lengths() const { return lengths_; }

 private:
  std::vector<std::size_t> lengths_;
  std::shared_ptr<const no_duplicates_batch_sampler> no_duplicates_;
};

}  // namespace sbert
