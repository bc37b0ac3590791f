// SPDX-License-Identifier: Apache-2.0
// The runtime interface every tokenizer implements (WordPiece, SentencePiece, ...).
// Torch-free: it produces plain integer buffers; the model layer turns them into tensors.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sbert::models {

/// One tokenized text (or text pair), with special tokens, unpadded.
struct encoding {
  std::vector<std::int64_t> input_ids;
  std::vector<std::int64_t> token_type_ids;
  std::vector<std::int64_t> attention_mask;
  std::vector<std::string> tokens;
};

/// A right-padded batch, row-major [batch][seq_len].
struct batch_encoding {
  std::size_t batch = 0;
  std::size_t seq_len = 0;
  std::vector<std::int64_t> input_ids;
  std::vector<std::int64_t> token_type_ids;
  std::vector<std::int64_t> attention_mask;
};

class tokenizer {
 public:
  virtual ~tokenizer() = default;

  /// Tokenize one text, or a pair, adding the model's special tokens. `max_length` counts the
  /// special tokens; 0 means no truncation. Pairs are truncated longest-first.
  [[nodiscard]] virtual encoding encode(std::string_view text,
                                        std::optional<std::string_view> pair = std::nullopt,
                                        std::size_t max_length = 0) const = 0;

  /// encode() into a reused `out` (its vectors keep their capacity). `with_tokens` false skips
  /// the token strings, which models never need: the hot path of training and encode().
  virtual void encode_into(encoding& out, std::string_view text,
                           std::optional<std::string_view> pair = std::nullopt,
                           std::size_t max_length = 0, bool with_tokens = true) const {
    out = encode(text, pair, max_length);
    if (!with_tokens) out.tokens.clear();
  }

  [[nodiscard]] virtual std::int64_t pad_id() const = 0;
  [[nodiscard]] virtual std::size_t vocab_size() const = 0;

  /// Write the files that let this tokenizer (and Python's AutoTokenizer) be loaded again.
  virtual void save(const std::string& directory) const = 0;

  /// Tokenize texts and right-pad them to the longest one.
  [[nodiscard]] batch_encoding encode_batch(std::span<const std::string_view> texts,
                                            std::size_t max_length = 0) const {
    std::vector<encoding> encs;
    encs.reserve(texts.size());
    std::size_t longest = 0;
    for (auto t : texts) {
      encode_into(encs.emplace_back(), t, std::nullopt, max_length, false);
      longest = std::max(longest, encs.back().input_ids.size());
    }
    return pad(encs, longest);
  }

  [[nodiscard]] batch_encoding pad(const std::vector<encoding>& encs, std::size_t seq_len) const {
    batch_encoding b;
    b.batch = encs.size();
    b.seq_len = seq_len;
    b.input_ids.assign(b.batch * seq_len, pad_id());
    b.token_type_ids.assign(b.batch * seq_len, 0);
    b.attention_mask.assign(b.batch * seq_len, 0);
    for (std::size_t i = 0; i < encs.size(); ++i) {
      const auto& e = encs[i];
      const std::size_t n = std::min(seq_len, e.input_ids.size());
      for (std::size_t j = 0; j < n; ++j) {
        b.input_ids[i * seq_len + j] = e.input_ids[j];
        b.token_type_ids[i * seq_len + j] = e.token_type_ids[j];
        b.attention_mask[i * seq_len + j] = e.attention_mask[j];
      }
    }
    return b;
  }
};

}  // namespace sbert::models
