// SPDX-License-Identifier: Apache-2.0
// Unicode helpers shared by the tokenizers: strict UTF-8 decoding and encoding, and fast
// character properties with the exact semantics of Hugging Face's Rust BERT normaliser and
// pre-tokeniser (see scripts/gen_unicode_tables.py for where each table comes from).
// The generated range tables are expanded once per process into a two-stage lookup table
// (about 20 KiB), so a property query is two loads.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sbert/models/tokenizers/detail/unicode_tables.hpp"

namespace sbert::models::detail {

/// Property bits of one code point.
enum unicode_flag : std::uint8_t {
  uf_control = 1,      // Rust tokenizers' is_control: Cc | Cf | Co (Unicode 8.0 crate tables)
  uf_whitespace = 2,   // Rust char::is_whitespace (White_Space)
  uf_punctuation = 4,  // P* (Unicode 8.0) or ASCII 33-47, 58-64, 91-96, 123-126
  uf_nonspacing = 8,   // Mn (Unicode 8.0): removed when stripping accents
  uf_cjk = 16,         // the CJK ideograph blocks BERT puts spaces around
  uf_lower = 32,       // has a lower-case mapping different from itself
  uf_decomposes = 64,  // has a canonical decomposition (NFD differs)
  uf_combining = 128,  // canonical combining class != 0
};

class unicode_properties {
 public:
  static const unicode_properties& instance() {
    static const unicode_properties p;
    return p;
  }

  [[nodiscard]] std::uint8_t flags(char32_t c) const {
    if (c >= 0x110000) return 0;
    return blocks_[(static_cast<std::size_t>(stage1_[c >> 8]) << 8) | (c & 0xFF)];
  }

 private:
  unicode_properties() {
    namespace ud = unicode_data;
    std::vector<std::uint8_t> all(0x110000, 0);
    auto mark = [&](std::span<const ud::cp_range> rs, std::uint8_t f) {
      for (auto r : rs)
        for (char32_t c = r.first; c <= r.last; ++c) all[c] |= f;
    };
    mark(ud::control, uf_control);
    mark(ud::whitespace, uf_whitespace);
    mark(ud::punctuation, uf_punctuation);
    mark(ud::nonspacing_mark, uf_nonspacing);
    static constexpr ud::cp_range cjk[] = {
        {0x4E00, 0x9FFF},   {0x3400, 0x4DBF},   {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
        {0x2B740, 0x2B81F}, {0x2B920, 0x2CEAF}, {0xF900, 0xFAFF},   {0x2F800, 0x2FA1F}};
    mark(cjk, uf_cjk);
    static constexpr ud::cp_range ascii_punct[] = {{33, 47}, {58, 64}, {91, 96}, {123, 126}};
    mark(ascii_punct, uf_punctuation);
    for (auto r : ud::lower_runs)
      for (char32_t c = r.first; c <= r.last; c += r.stride) all[c] |= uf_lower;
    all[0x130] |= uf_lower;
    for (auto k : ud::nfd_keys) all[k] |= uf_decomposes;
    for (char32_t c = 0xAC00; c <= 0xD7A3; ++c) all[c] |= uf_decomposes;  // Hangul syllables
    for (auto r : ud::ccc_ranges)
      for (char32_t c = r.first; c <= r.last; ++c) all[c] |= uf_combining;

    // Deduplicate 256-code-point blocks.
    stage1_.resize(0x110000 >> 8);
    std::unordered_map<std::string, std::uint16_t> seen;
    for (std::size_t b = 0; b < stage1_.size(); ++b) {
      std::string key(reinterpret_cast<const char*>(all.data() + (b << 8)), 256);
      auto [it, fresh] = seen.emplace(std::move(key), static_cast<std::uint16_t>(blocks_.size() >> 8));
      if (fresh) blocks_.insert(blocks_.end(), all.data() + (b << 8), all.data() + (b << 8) + 256);
      stage1_[b] = it->second;
    }
  }

  std::vector<std::uint16_t> stage1_;
  std::vector<std::uint8_t> blocks_;
};

/// Rust's char::to_lowercase (full, context-free). Writes 1 or 2 code points to `out`.
inline int to_lower(char32_t c, char32_t out[2]) {
  if (c == 0x130) {  // 'İ' -> "i\u0307", the only multi-character lower-case mapping
    out[0] = 0x69;
    out[1] = 0x307;
    return 2;
  }
  const auto& runs = unicode_data::lower_runs;
  auto it = std::upper_bound(std::begin(runs), std::end(runs), c,
                             [](char32_t v, const unicode_data::lower_run& r) { return v < r.first; });
  if (it != std::begin(runs)) {
    const auto& r = *(it - 1);
    if (c <= r.last && (c - r.first) % r.stride == 0) {
      out[0] = static_cast<char32_t>(static_cast<std::int64_t>(c) + r.delta);
      return 1;
    }
  }
  out[0] = c;
  return 1;
}

/// Full canonical decomposition of one code point (NFD without reordering across characters).
/// Returns the number of code points written to `out` (at most 4 for any Unicode version so far;
/// `out` must hold 8).
inline int nfd_decompose(char32_t c, char32_t out[8]) {
  if (c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllable: algorithmic
    const char32_t s = c - 0xAC00;
    out[0] = 0x1100 + s / 588;
    out[1] = 0x1161 + (s % 588) / 28;
    if (s % 28) {
      out[2] = 0x11A7 + s % 28;
      return 3;
    }
    return 2;
  }
  const auto& keys = unicode_data::nfd_keys;
  auto it = std::lower_bound(std::begin(keys), std::end(keys), c);
  if (it == std::end(keys) || *it != c) {
    out[0] = c;
    return 1;
  }
  const auto i = static_cast<std::size_t>(it - std::begin(keys));
  const int n = unicode_data::nfd_offsets[i + 1] - unicode_data::nfd_offsets[i];
  for (int k = 0; k < n && k < 8; ++k) out[k] = unicode_data::nfd_pool[unicode_data::nfd_offsets[i] + k];
  return std::min(n, 8);
}

/// Canonical combining class (0 for most characters).
inline std::uint8_t combining_class(char32_t c) {
  const auto& rs = unicode_data::ccc_ranges;
  auto it = std::upper_bound(std::begin(rs), std::end(rs), c,
                             [](char32_t v, const unicode_data::ccc_range& r) { return v < r.first; });
  if (it == std::begin(rs)) return 0;
  const auto& r = *(it - 1);
  return c <= r.last ? r.ccc : 0;
}

inline constexpr char32_t invalid_utf8 = 0xFFFFFFFF;

/// Strict UTF-8 decoding (as Rust's str: no overlong forms, no surrogates, <= U+10FFFF).
/// Advances `i`; returns invalid_utf8 and leaves `i` unchanged on a bad sequence.
inline char32_t decode_utf8(const unsigned char* s, std::size_t n, std::size_t& i) {
  const unsigned b0 = s[i];
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  auto cont = [&](std::size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (!cont(1)) return invalid_utf8;
    const char32_t c = ((b0 & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    i += 2;
    return c;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return invalid_utf8;
    const char32_t c = ((b0 & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) return invalid_utf8;
    i += 3;
    return c;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return invalid_utf8;
    const char32_t c = ((b0 & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) |
                       ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
    if (c < 0x10000 || c > 0x10FFFF) return invalid_utf8;
    i += 4;
    return c;
  }
  return invalid_utf8;
}

/// Byte offset of the first invalid UTF-8 sequence, or npos when `s` is valid.
inline std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size()) {  // eight ASCII bytes at a time
      std::uint64_t v;
      std::memcpy(&v, p + i, 8);
      if (!(v & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    if (decode_utf8(p, s.size(), i) == invalid_utf8) return i;
  }
  return std::string_view::npos;
}

inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace sbert::models::detail
