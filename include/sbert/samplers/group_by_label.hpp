// SPDX-License-Identifier: Apache-2.0
// GroupByLabelBatchSampler: P x K batches (K = 2 rows per label, P = batch_size / 2 labels), so
// the Batch*TripletLoss family always finds positive pairs in a batch.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/samplers/sampler.hpp>

namespace sbert {

/// The rule of its own (not only inputs_spec's generic "needs a label"): the message names the
/// sampler and the samplers that need no label.
template <class S>
concept GroupableByLabel = S::label == label_kind::class_label ||
    unsatisfied<"the group_by_label batch sampler groups rows by their class label, and the schema has no class_column: add one (e.g. sbert::columns::label), or use the no_duplicates or the default batch sampler">();

/// The sentence-transformers >= 5.3 algorithm: each epoch shuffles every label's rows; then, in
/// rounds, the labels that still have two or more rows are shuffled and two rows are taken
/// from each, filling batches, while at least two such labels remain. A final partial batch
/// is kept only without drop_last and when it holds at least 4 rows. Needs a class label.
class group_by_label_batch_sampler : public batch_sampler_base {
 public:
  static constexpr inputs_spec inputs{.texts = at_least(1), .labels = label_kind::class_label, .text_list = true};

  template <Schema S>
  group_by_label_batch_sampler(const dataset<S>& d, std::size_t batch_size, bool drop_last = false, std::uint64_t seed = 0)
      : bs_(batch_size), drop_last_(drop_last), seed_(seed) {
    static_assert(GroupableByLabel<S>, "sbert::group_by_label_batch_sampler: see the note below");
    if constexpr (GroupableByLabel<S>) check_inputs_fit<group_by_label_batch_sampler, S>();
    if (bs_ < 4 || bs_ % 2) throw error("group_by_label batch sampler: batch_size must be even and at least 4");
    std::map<std::int64_t, std::vector<std::size_t>> groups;
    std::apply([&](const auto&... cols) {
      ([&](const auto& col) {
        using V = typename std::decay_t<decltype(col)>::value_type;
        if constexpr (std::is_same_v<V, std::int64_t>)
          for (std::size_t i = 0; i < col.size(); ++i) groups[col[i]].push_back(i);
      }(cols), ...);
    }, d.columns());
    for (auto& [label, rows] : groups)
      if (rows.size() >= 2) groups_.push_back(std::move(rows));
    if (groups_.size() < 2)
      throw error("group_by_label batch sampler: needs at least 2 labels with at least 2 rows each (found " +
                  std::to_string(groups_.size()) + ")");
    // Pairs available per round are capped by the second-largest group (one label alone
    // cannot form a batch).
    std::vector<std::size_t> pairs;
    for (auto& g : groups_) pairs.push_back(g.size() / 2);
    std::sort(pairs.rbegin(), pairs.rend());
    std::size_t total_pairs = 0;
    for (auto p : pairs) total_pairs += std::min(p, pairs[1]);
    rows_ = total_pairs * 2;
  }

  [[nodiscard]] batch_list batches(std::uint64_t epoch) override {
    std::mt19937_64 rng(seed_ + epoch);
    std::vector<std::vector<std::size_t>> remaining = groups_;
    for (auto& g : remaining)
      for (std::size_t i = g.size(); i > 1; --i) std::swap(g[i - 1], g[static_cast<std::size_t>(rng() % i)]);
    batch_list out;
    std::vector<std::size_t> batch;
    for (;;) {
      std::vector<std::size_t> live;
      for (std::size_t l = 0; l < remaining.size(); ++l)
        if (remaining[l].size() >= 2) live.push_back(l);
      if (live.size() < 2) break;
      for (std::size_t i = live.size(); i > 1; --i) std::swap(live[i - 1], live[static_cast<std::size_t>(rng() % i)]);
      for (auto l : live) {
        for (int k = 0; k < 2; ++k) {
          batch.push_back(remaining[l].back());
          remaining[l].pop_back();
        }
        if (batch.size() == bs_) {
          out.push_back(std::move(batch));
          batch.clear();
        }
      }
    }
    if (!drop_last_ && batch.size() >= 4) out.push_back(std::move(batch));
    return out;
  }
  [[nodiscard]] std::size_t size() const override { return detail::batch_count(rows_, bs_, drop_last_); }

 private:
  std::size_t bs_;
  bool drop_last_;
  std::uint64_t seed_;
  std::vector<std::vector<std::size_t>> groups_;
  std::size_t rows_ = 0;
};

}  // namespace sbert
