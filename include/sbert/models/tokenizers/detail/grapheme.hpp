// SPDX-License-Identifier: Apache-2.0
// Extended grapheme clusters (UAX #29, Unicode 15.0 rules GB3-GB13), as the Rust crate
// unicode-segmentation finds them. Hugging Face's Precompiled normalizer works one grapheme
// at a time, so matching its output needs the same boundaries.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sbert/models/tokenizers/detail/grapheme_tables.hpp"

namespace sbert::models::detail {

inline grapheme_class grapheme_class_of(char32_t c) {
  if (c < 0x80) {
    if (c == '\r') return grapheme_class::cr;
    if (c == '\n') return grapheme_class::lf;
    return c < 0x20 || c == 0x7F ? grapheme_class::control : grapheme_class::other;
  }
  std::size_t lo = 0, hi = sizeof(grapheme_ranges) / sizeof(grapheme_ranges[0]);
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (grapheme_ranges[mid].last < c)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < sizeof(grapheme_ranges) / sizeof(grapheme_ranges[0]) && grapheme_ranges[lo].first <= c ? grapheme_ranges[lo].cls
                                                                                                       : grapheme_class::other;
}

/// Decodes one UTF-8 character; a malformed byte counts as one character of its own (it becomes
/// U+FFFD downstream), reported as a control so it stands alone.
inline char32_t grapheme_decode(std::string_view s, std::size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  auto trail = [&](std::size_t i) { return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; };
  char32_t c = 0;
  if (b0 < 0x80) {
    len = 1;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0 && trail(1)) {
    len = 2;
    c = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[1]) & 0x3Fu);
    if (c >= 0x80) return c;
  } else if ((b0 & 0xF0) == 0xE0 && trail(1) && trail(2)) {
    len = 3;
    c = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[1]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[2]) & 0x3Fu);
    if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) return c;
  } else if ((b0 & 0xF8) == 0xF0 && trail(1) && trail(2) && trail(3)) {
    len = 4;
    c = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[1]) & 0x3Fu) << 12) | ((static_cast<unsigned char>(s[2]) & 0x3Fu) << 6) |
        (static_cast<unsigned char>(s[3]) & 0x3Fu);
    if (c >= 0x10000 && c <= 0x10FFFF) return c;
  }
  len = 1;
  return 0xFFFFFFFFu;
}

/// Byte length of the extended grapheme cluster at the front of `s` (0 for an empty `s`).
inline std::size_t grapheme_length(std::string_view s) {
  using gc = grapheme_class;
  if (s.empty()) return 0;
  std::size_t len = 0;
  char32_t c = grapheme_decode(s, len);
  gc prev = c == 0xFFFFFFFFu ? gc::control : grapheme_class_of(c);
  std::size_t pos = len;
  std::size_t ri_run = prev == gc::regional_indicator ? 1 : 0;  // consecutive RIs ending at prev
  bool in_pict = prev == gc::extended_pictographic;             // ExtPict Extend*
  bool zwj_after_pict = false;                                  // ExtPict Extend* ZWJ
  while (pos < s.size()) {
    c = grapheme_decode(s.substr(pos), len);
    const gc cur = c == 0xFFFFFFFFu ? gc::control : grapheme_class_of(c);
    bool join;
    if (prev == gc::cr && cur == gc::lf) join = true;                                          // GB3
    else if (prev == gc::control || prev == gc::cr || prev == gc::lf) join = false;            // GB4
    else if (cur == gc::control || cur == gc::cr || cur == gc::lf) join = false;               // GB5
    else if (prev == gc::l && (cur == gc::l || cur == gc::v || cur == gc::lv || cur == gc::lvt)) join = true;  // GB6
    else if ((prev == gc::lv || prev == gc::v) && (cur == gc::v || cur == gc::t)) join = true;   // GB7
    else if ((prev == gc::lvt || prev == gc::t) && cur == gc::t) join = true;                    // GB8
    else if (cur == gc::extend || cur == gc::zwj) join = true;                                   // GB9
    else if (cur == gc::spacingmark) join = true;                                                // GB9a
    else if (prev == gc::prepend) join = true;                                                   // GB9b
    else if (prev == gc::zwj && cur == gc::extended_pictographic && zwj_after_pict) join = true; // GB11
    else if (prev == gc::regional_indicator && cur == gc::regional_indicator) join = ri_run % 2 == 1;  // GB12/13
    else join = false;                                                                           // GB999
    if (!join) return pos;
    ri_run = cur == gc::regional_indicator ? ri_run + 1 : 0;
    if (cur == gc::extended_pictographic) {
      in_pict = true;
      zwj_after_pict = false;
    } else if (cur == gc::extend) {
      zwj_after_pict = false;
    } else if (cur == gc::zwj) {
      zwj_after_pict = in_pict;
      in_pict = false;
    } else {
      in_pict = zwj_after_pict = false;
    }
    prev = cur;
    pos += len;
  }
  return pos;
}

}  // namespace sbert::models::detail
