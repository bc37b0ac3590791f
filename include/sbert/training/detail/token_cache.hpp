// SPDX-License-Identifier: Apache-2.0
// The trainer's token cache (training_args::cache_tokenization): each input text of a data set
// is tokenized once per train() and kept as its token ids, so that a batch only pads. The
// batches are bit-identical to tokenizing the texts each time: the same transformer code
// tokenizes one text (encode_text) and pads a batch (collate).
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <sbert/data/dataset.hpp>
#include <sbert/models/transformer.hpp>

namespace sbert::detail {

class token_cache {
 public:
  /// Forgets every text (e.g. a new train(): the model's tokenizer settings may have changed).
  void reset() {
    columns_.clear();
    owner_ = nullptr;
  }

  /// The unpadded encodings of input column I's texts of `rows` (a text-list column's texts one
  /// after the other), each prefixed with `prompt`; tokenized on first use. std::nullopt when
  /// a text's encoding is not the plain single-text form the cache keeps (then tokenize).
  template <Schema S, std::size_t I>
  std::optional<std::vector<models::encoding>> encodings(const models::transformer& t, const dataset<S>& d,
                                                         const std::vector<std::size_t>& rows, const std::string& prompt) {
    auto& c = column<S, I>(t, d);
    std::vector<models::encoding> out;
    for (auto r : rows) {
      if (!fill<S, I>(c, t, d, r, prompt)) return std::nullopt;
      for (std::size_t s = first_slot(c, r); s < first_slot(c, r + 1); ++s) {
        auto& e = out.emplace_back();
        const auto* p = c.ids.data() + c.start[s];
        e.input_ids.assign(p, p + c.length[s]);
        e.token_type_ids.assign(c.length[s], 0);
        e.attention_mask.assign(c.length[s], 1);
      }
    }
    return out;
  }

  /// Tokens of each row's longest input text (its prompt included): group_by_length's key.
  /// Each column pads to its own longest text, and on NLI triplets this key leaves less
  /// padding than the row's total (25 % vs 29 % of the computed tokens, 41 % at random).
  /// Tokenizes the whole data set (once: the cache keeps it).
  template <Schema S, class Prompts>
  std::vector<std::size_t> row_lengths(const models::transformer& t, const dataset<S>& d, const Prompts& prompt_of) {
    std::vector<std::size_t> out(d.size(), 0);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (std::tuple_element_t<I, typename S::columns>::is_input) {
              auto& c = column<S, I>(t, d);
              const std::string prompt = prompt_of(I);
              for (std::size_t r = 0; r < d.size(); ++r) {
                // a text the cache cannot keep still counts: tokenized here, not kept
                if (!fill<S, I>(c, t, d, r, prompt)) {
                  for (const auto& e : encodings_uncached<S, I>(t, d, r, prompt)) out[r] = std::max(out[r], e.input_ids.size());
                  continue;
                }
                for (std::size_t s = first_slot(c, r); s < first_slot(c, r + 1); ++s)
                  out[r] = std::max<std::size_t>(out[r], c.length[s]);
              }
            }
          }(),
          ...);
    }(std::make_index_sequence<S::column_count>{});
    return out;
  }

  /// Bytes held (token ids and slot tables), for the docs' memory figure and the benchmark.
  [[nodiscard]] std::size_t bytes() const {
    std::size_t n = 0;
    for (const auto& c : columns_)
      n += c.ids.capacity() * sizeof(std::int32_t) + c.start.capacity() * sizeof(std::uint64_t) +
           c.length.capacity() * sizeof(std::uint32_t) + c.first.capacity() * sizeof(std::size_t);
    return n;
  }

 private:
  static constexpr std::uint64_t unset = std::numeric_limits<std::uint64_t>::max();
  struct column_cache {
    bool ready = false;
    std::vector<std::size_t> first;    // text-list columns: row r's slots are [first[r], first[r+1])
    std::vector<std::uint64_t> start;  // slot -> offset into ids (unset: not yet tokenized)
    std::vector<std::uint32_t> length;
    std::vector<std::int32_t> ids;     // token ids fit 32 bits (vocabularies do)
  };

  static std::size_t first_slot(const column_cache& c, std::size_t r) { return c.first.empty() ? r : c.first[r]; }

  template <Schema S, std::size_t I>
  column_cache& column(const models::transformer& t, const dataset<S>& d) {
    // Another model, or a changed max_seq_length / lowercasing, tokenizes differently.
    const std::tuple key{t.max_seq_length(), t.do_lower_case()};
    if (owner_ != &t || key_ != key) {
      columns_.clear();
      owner_ = &t;
      key_ = key;
    }
    if (columns_.size() < S::column_count) columns_.resize(S::column_count);
    auto& c = columns_[I];
    if (!c.ready) {
      const auto& col = std::get<I>(d.columns());
      std::size_t slots = d.size();
      if constexpr (std::is_same_v<typename std::decay_t<decltype(col)>::value_type, std::vector<std::string>>) {
        c.first.assign(d.size() + 1, 0);
        for (std::size_t r = 0; r < d.size(); ++r) c.first[r + 1] = c.first[r] + col[r].size();
        slots = c.first.back();
      }
      c.start.assign(slots, unset);
      c.length.assign(slots, 0);
      c.ready = true;
    }
    return c;
  }

  /// Tokenizes row r's texts of column I unless cached; false when one is not cacheable.
  template <Schema S, std::size_t I>
  bool fill(column_cache& c, const models::transformer& t, const dataset<S>& d, std::size_t r, const std::string& prompt) {
    const auto& v = std::get<I>(d.columns())[r];
    auto one = [&](std::size_t slot, const std::string& text) {
      if (c.start[slot] != unset) return true;
      t.encode_text(scratch_, prompt.empty() ? text : prompt + text);
      const auto& e = scratch_;
      for (std::size_t j = 0; j < e.input_ids.size(); ++j)
        if (e.token_type_ids[j] != 0 || e.attention_mask[j] != 1 || e.input_ids[j] < 0 ||
            e.input_ids[j] > std::numeric_limits<std::int32_t>::max())
          return false;
      c.start[slot] = c.ids.size();
      c.length[slot] = static_cast<std::uint32_t>(e.input_ids.size());
      for (auto id : e.input_ids) c.ids.push_back(static_cast<std::int32_t>(id));
      return true;
    };
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
      return one(r, v);
    } else {
      for (std::size_t k = 0; k < v.size(); ++k)
        if (!one(c.first[r] + k, v[k])) return false;
      return true;
    }
  }

  template <Schema S, std::size_t I>
  std::vector<models::encoding> encodings_uncached(const models::transformer& t, const dataset<S>& d,
                                                                  std::size_t r, const std::string& prompt) const {
    const auto& v = std::get<I>(d.columns())[r];
    std::vector<models::encoding> out;
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) t.encode_text(out.emplace_back(), prompt + v);
    else
      for (const auto& s : v) t.encode_text(out.emplace_back(), prompt + s);
    return out;
  }

  std::vector<column_cache> columns_;  // by schema column index
  const models::transformer* owner_ = nullptr;
  std::tuple<std::int64_t, bool> key_{};
  models::encoding scratch_;
};

}  // namespace sbert::detail
