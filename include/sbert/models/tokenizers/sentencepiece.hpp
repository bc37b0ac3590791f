// SPDX-License-Identifier: Apache-2.0
// SentencePiece (unigram, BPE, word, char) implemented inside sbert, torch-free.
//
// Why not link libsentencepiece: Debian's build carries its own protobuf, which collides with
// libtorch's; a program linking both dies before main. So this header reads the `.model` file
// (protobuf wire format) by hand, applies the precompiled normalization charsmap exactly as
// sentencepiece's normalizer does, and segments with the same arithmetic as sentencepiece
// 0.1.97 (unigram: the optimized Viterbi; BPE: score-ordered merges). libsentencepiece stays
// the oracle of the tests, in a test program that does not link libtorch.
//
// Two references, one per file type:
// - a `.model` is encoded as libsentencepiece encodes it (plain layout: spm_encode's ids);
// - a Unigram `tokenizer.json` (XLM-RoBERTa's) is encoded as Hugging Face's Rust tokenizers
//   encode it, which is what Python's fast tokenizer (and so sentence-transformers) uses: its
//   normalizers in order (Precompiled grapheme by grapheme, Strip, Replace), WhitespaceSplit and
//   Metaspace, and the Unigram Viterbi in doubles word by word. The two agree on ordinary text
//   and part on whitespace other than ' ', a literal U+2581, score ties and some combining marks.
// In the XLM-R layout, special tokens written in the text (<s>, <mask>, ...) are matched first,
// as both Python tokenizers do.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <algorithm>
#include <array>
#include <cfloat>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <queue>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "sbert/error.hpp"
#include "sbert/io/json_writer.hpp"
#include "sbert/models/tokenizers/detail/grapheme.hpp"
#include "sbert/models/tokenizers/tokenizer.hpp"

namespace sbert::models {

/// Which special tokens wrap the spm ids.
enum class sentencepiece_layout {
  plain,        ///< raw spm ids, no special tokens: what spm_encode prints
  xlm_roberta,  ///< <s>=0 <pad>=1 </s>=2 <unk>=3, spm ids +1, <mask> last; <s> A </s></s> B </s>
};

namespace spm_detail {

// ---- protobuf wire format ------------------------------------------------------------------

/// A bounds-checked protobuf reader: every varint, length and fixed field is checked against
/// the end of the buffer, so a corrupt file is a model_error, never an out-of-bounds read.
class pb_reader {
 public:
  pb_reader(std::string_view buf, const std::string& what) : p_(buf.data()), end_(buf.data() + buf.size()), begin_(buf.data()), what_(&what) {}

  [[nodiscard]] bool done() const { return p_ >= end_; }

  std::uint64_t varint();

  /// Reads a tag; returns {field number, wire type}.
  std::pair<std::uint32_t, int> tag() {
    const std::uint64_t t = varint();
    const auto field = t >> 3;
    if (field == 0 || field > 0x1FFFFFFF) fail("invalid field number");
    return {static_cast<std::uint32_t>(field), static_cast<int>(t & 7)};
  }

  std::string_view bytes();

  std::uint32_t fixed32();

  float float32() {
    const std::uint32_t u = fixed32();
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }

  void skip(int wire);

  void expect(int wire, int want, const char* field) {
    if (wire != want) fail(std::string("field '") + field + "' has wire type " + std::to_string(wire) + ", expected " + std::to_string(want));
  }

  [[noreturn]] void fail(const std::string& msg) const {
    throw model_error(*what_ + ": corrupt sentencepiece model at byte " + std::to_string(p_ - begin_) + ": " + msg);
  }

 private:
  const char* p_;
  const char* end_;
  const char* begin_;
  const std::string* what_;
};

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline void put_tag(std::string& out, std::uint32_t field, int wire) { put_varint(out, (std::uint64_t{field} << 3) | static_cast<unsigned>(wire)); }
inline void put_bytes(std::string& out, std::uint32_t field, std::string_view s) {
  put_tag(out, field, 2);
  put_varint(out, s.size());
  out.append(s);
}
inline void put_int(std::string& out, std::uint32_t field, std::int64_t v) {
  put_tag(out, field, 0);
  put_varint(out, static_cast<std::uint64_t>(v));  // negative int32 => 10-byte two's complement
}
inline void put_float(std::string& out, std::uint32_t field, float f) {
  put_tag(out, field, 5);
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xFF));
}

// ---- the model proto (the fields encoding needs) -------------------------------------------

enum piece_type : std::uint8_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };
enum model_type : int { unigram = 1, bpe = 2, word = 3, character = 4 };

struct piece {
  std::string text;
  float score = 0.0f;
  std::uint8_t type = normal;
};

struct model_proto {
  std::vector<piece> pieces;
  // trainer_spec
  int type = unigram;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  // normalizer_spec
  std::string normalizer_name;
  std::string charsmap;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

#if SBERT_DEFINITIONS
SBERT_INLINE void parse_piece(std::string_view buf, piece& p, const std::string& what) {
  pb_reader r(buf, what);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(wire, 2, "piece"); p.text = std::string(r.bytes()); break;
      case 2: r.expect(wire, 5, "score"); p.score = r.float32(); break;
      case 3: {
        r.expect(wire, 0, "type");
        const auto t = r.varint();
        if (t < 1 || t > 6) r.fail("unknown piece type " + std::to_string(t));
        p.type = static_cast<std::uint8_t>(t);
        break;
      }
      default: r.skip(wire);
    }
  }
}
#else
void parse_piece(std::string_view buf, piece& p, const std::string& what);
#endif

#if SBERT_DEFINITIONS
SBERT_INLINE void parse_trainer_spec(std::string_view buf, model_proto& m, const std::string& what) {
  pb_reader r(buf, what);
  auto as_int32 = [](std::uint64_t v) { return static_cast<int>(static_cast<std::int32_t>(static_cast<std::uint32_t>(v))); };
  while (!r.done()) {
    auto [field, wire] = r.tag();
    switch (field) {
      case 3: r.expect(wire, 0, "model_type"); m.type = as_int32(r.varint()); break;
      case 24: r.expect(wire, 0, "treat_whitespace_as_suffix"); m.treat_whitespace_as_suffix = r.varint() != 0; break;
      case 35: r.expect(wire, 0, "byte_fallback"); m.byte_fallback = r.varint() != 0; break;
      case 40: r.expect(wire, 0, "unk_id"); m.unk_id = as_int32(r.varint()); break;
      case 41: r.expect(wire, 0, "bos_id"); m.bos_id = as_int32(r.varint()); break;
      case 42: r.expect(wire, 0, "eos_id"); m.eos_id = as_int32(r.varint()); break;
      case 43: r.expect(wire, 0, "pad_id"); m.pad_id = as_int32(r.varint()); break;
      default: r.skip(wire);
    }
  }
}
#else
void parse_trainer_spec(std::string_view buf, model_proto& m, const std::string& what);
#endif

#if SBERT_DEFINITIONS
SBERT_INLINE void parse_normalizer_spec(std::string_view buf, model_proto& m, const std::string& what) {
  pb_reader r(buf, what);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    switch (field) {
      case 1: r.expect(wire, 2, "name"); m.normalizer_name = std::string(r.bytes()); break;
      case 2: r.expect(wire, 2, "precompiled_charsmap"); m.charsmap = std::string(r.bytes()); break;
      case 3: r.expect(wire, 0, "add_dummy_prefix"); m.add_dummy_prefix = r.varint() != 0; break;
      case 4: r.expect(wire, 0, "remove_extra_whitespaces"); m.remove_extra_whitespaces = r.varint() != 0; break;
      case 5: r.expect(wire, 0, "escape_whitespaces"); m.escape_whitespaces = r.varint() != 0; break;
      default: r.skip(wire);
    }
  }
}
#else
void parse_normalizer_spec(std::string_view buf, model_proto& m, const std::string& what);
#endif

#if SBERT_DEFINITIONS
SBERT_INLINE model_proto parse_model(std::string_view buf, const std::string& what) {
  model_proto m;
  pb_reader r(buf, what);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    switch (field) {
      case 1: {
        r.expect(wire, 2, "pieces");
        m.pieces.emplace_back();
        parse_piece(r.bytes(), m.pieces.back(), what);
        break;
      }
      case 2: r.expect(wire, 2, "trainer_spec"); parse_trainer_spec(r.bytes(), m, what); break;
      case 3: r.expect(wire, 2, "normalizer_spec"); parse_normalizer_spec(r.bytes(), m, what); break;
      default: r.skip(wire);
    }
  }
  return m;
}
#else
model_proto parse_model(std::string_view buf, const std::string& what);
#endif

/// Serializes the fields sbert understands (used when the source was a tokenizer.json).
#if SBERT_DEFINITIONS
SBERT_INLINE std::string serialize_model(const model_proto& m) {
  std::string out;
  for (const auto& p : m.pieces) {
    std::string sp;
    put_bytes(sp, 1, p.text);
    put_float(sp, 2, p.score);
    if (p.type != normal) put_int(sp, 3, p.type);
    put_bytes(out, 1, sp);
  }
  std::string ts;
  put_int(ts, 3, m.type);
  put_int(ts, 4, static_cast<std::int64_t>(m.pieces.size()));
  if (m.treat_whitespace_as_suffix) put_int(ts, 24, 1);
  if (m.byte_fallback) put_int(ts, 35, 1);
  put_int(ts, 40, m.unk_id);
  put_int(ts, 41, m.bos_id);
  put_int(ts, 42, m.eos_id);
  put_int(ts, 43, m.pad_id);
  put_bytes(out, 2, ts);
  std::string ns;
  if (!m.normalizer_name.empty()) put_bytes(ns, 1, m.normalizer_name);
  if (!m.charsmap.empty()) put_bytes(ns, 2, m.charsmap);
  put_int(ns, 3, m.add_dummy_prefix);
  put_int(ns, 4, m.remove_extra_whitespaces);
  put_int(ns, 5, m.escape_whitespaces);
  put_bytes(out, 3, ns);
  return out;
}
#else
std::string serialize_model(const model_proto& m);
#endif

// ---- UTF-8 as sentencepiece sees it --------------------------------------------------------

/// Length of the UTF-8 sequence a lead byte announces (continuation bytes count as 1).
inline int one_char_len(char c) {
  static constexpr std::uint8_t table[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return table[static_cast<std::uint8_t>(c) >> 4];
}

/// sentencepiece's IsValidDecodeUTF8: true and the length of a well-formed character (U+FFFD
/// itself counts as valid); false with length 1 for a malformed byte.
inline bool valid_utf8_prefix(std::string_view s, std::size_t& len) {
  const auto b0 = static_cast<std::uint8_t>(s[0]);
  auto trail = [&](std::size_t i) { return (static_cast<std::uint8_t>(s[i]) & 0xC0) == 0x80; };
  auto ok_cp = [](std::uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); };
  if (b0 < 0x80) {
    len = 1;
    return true;
  }
  if (s.size() >= 2 && (b0 & 0xE0) == 0xC0) {
    const std::uint32_t c = ((b0 & 0x1Fu) << 6) | (static_cast<std::uint8_t>(s[1]) & 0x3Fu);
    if (trail(1) && c >= 0x80 && ok_cp(c)) { len = 2; return true; }
  } else if (s.size() >= 3 && (b0 & 0xF0) == 0xE0) {
    const std::uint32_t c = ((b0 & 0x0Fu) << 12) | ((static_cast<std::uint8_t>(s[1]) & 0x3Fu) << 6) | (static_cast<std::uint8_t>(s[2]) & 0x3Fu);
    if (trail(1) && trail(2) && c >= 0x800 && ok_cp(c)) { len = 3; return true; }
  } else if (s.size() >= 4 && (b0 & 0xF8) == 0xF0) {
    const std::uint32_t c = ((b0 & 0x07u) << 18) | ((static_cast<std::uint8_t>(s[1]) & 0x3Fu) << 12) |
                            ((static_cast<std::uint8_t>(s[2]) & 0x3Fu) << 6) | (static_cast<std::uint8_t>(s[3]) & 0x3Fu);
    if (trail(1) && trail(2) && trail(3) && c >= 0x10000 && ok_cp(c)) { len = 4; return true; }
  }
  len = 1;
  return false;
}

// ---- a double-array trie over the vocabulary -----------------------------------------------

/// base/check double array: child of state s on byte c is t = base[s] + c when check[t] == s.
/// One array probe per input byte, no hashing: this is the inner loop of every segmentation.
class piece_trie {
 public:
  /// keys need not be sorted; values are >= 0.
  void build(std::vector<std::pair<std::string_view, int>> keys);

  /// Follows one byte; returns false when there is no transition.
  [[nodiscard]] bool step(std::uint32_t& s, std::uint8_t c) const {
    const std::uint32_t t = static_cast<std::uint32_t>(nodes_[s].base) + c;
    if (t >= nodes_.size() || nodes_[t].check != static_cast<std::int32_t>(s)) return false;
    s = t;
    return true;
  }
  [[nodiscard]] int value(std::uint32_t s) const { return nodes_[s].value; }

  [[nodiscard]] int exact(std::string_view key) const {
    std::uint32_t s = 0;
    for (char c : key)
      if (!step(s, static_cast<std::uint8_t>(c))) return -1;
    return nodes_[s].value;
  }

  /// Length of the longest key that is a prefix of `text`, 0 when none.
  [[nodiscard]] std::size_t longest_prefix(std::string_view text, int* value = nullptr) const;
  [[nodiscard]] bool empty() const { return empty_; }
  [[nodiscard]] bool has_first_byte(std::uint8_t c) const {
    std::uint32_t st = 0;
    return !empty_ && step(st, c);
  }

 private:
  struct node {
    std::int32_t base = 0;
    std::int32_t check = -1;  // -1: free
    std::int32_t value = -1;
  };
  std::vector<node> nodes_;
  std::vector<std::uint32_t> next_free_;  // union-find: next_free_[i] == i iff slot i is free
  bool empty_ = true;

  void grow(std::size_t n);
  /// The first free slot at or after i (amortized near O(1) by path compression).
  std::uint32_t find_free(std::uint32_t i);
  void occupy(std::size_t t, std::uint32_t parent) {
    nodes_[t].check = static_cast<std::int32_t>(parent);
    next_free_[t] = static_cast<std::uint32_t>(t) + 1;
  }

  void insert(std::uint32_t s, const std::vector<std::pair<std::string_view, int>>& keys, std::size_t lo, std::size_t hi, std::size_t depth);
};

// ---- the precompiled charsmap (a darts-clone double array + NUL-separated strings) ---------

class charsmap {
 public:
  charsmap() = default;
  charsmap(std::string_view blob, const std::string& what);
  [[nodiscard]] bool empty() const { return units_.empty(); }

  /// Whether some rule starts with byte `c` (false: a lone ASCII `c` maps to itself).
  [[nodiscard]] bool has_rule_starting_with(std::uint8_t c) const {
    if (units_.empty()) return false;
    const std::size_t pos = offset(units_[0]) ^ c;
    return pos < units_.size() && label(units_[pos]) == c;
  }

  /// Longest rule matching a prefix of `in` (among the first 32 matches, as sentencepiece);
  /// returns the consumed length (0: none) and the replacement. `shortest`: the first match
  /// instead, as Hugging Face's Precompiled normalizer takes it.
  std::size_t longest(std::string_view in, std::string_view& replacement, bool shortest = false) const;

 private:
  static std::uint32_t offset(std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
  static std::uint32_t label(std::uint32_t u) { return u & ((1u << 31) | 0xFFu); }
  static bool has_leaf(std::uint32_t u) { return ((u >> 8) & 1u) != 0; }
  std::vector<std::uint32_t> units_;
  std::string normalized_;
  std::string what_;
};

inline constexpr std::string_view space_symbol = "\xe2\x96\x81";  // U+2581

/// Rust's char::is_whitespace (Unicode White_Space), which Hugging Face's WhitespaceSplit uses.
inline bool is_unicode_space(std::uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/// The code point at the front of `s` (U+FFFD for a malformed sequence); `len` gets its length.
inline std::uint32_t decode_one(std::string_view s, std::size_t* len_out = nullptr) {
  std::size_t len = 0;
  std::uint32_t cp = 0xFFFD;
  if (valid_utf8_prefix(s, len)) {
    const auto b0 = static_cast<std::uint8_t>(s[0]);
    cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<std::uint8_t>(s[k]) & 0x3Fu);
  }
  if (len_out) *len_out = len;
  return cp;
}

inline bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && std::memcmp(s.data() + s.size() - suf.size(), suf.data(), suf.size()) == 0;
}

#if SBERT_DEFINITIONS

SBERT_INLINE charsmap::charsmap(std::string_view blob, const std::string& what) {
  if (blob.empty()) return;
  if (blob.size() <= 4) throw model_error(what + ": precompiled_charsmap is broken (shorter than its header)");
  std::uint32_t trie_size = 0;
  for (int i = 3; i >= 0; --i) trie_size = (trie_size << 8) | static_cast<std::uint8_t>(blob[i]);
  if (trie_size >= blob.size() || trie_size > blob.size() - 4)
    throw model_error(what + ": precompiled_charsmap trie size " + std::to_string(trie_size) + " exceeds the blob (" + std::to_string(blob.size()) + " bytes)");
  const std::size_t n = trie_size / 4;
  if (n == 0) throw model_error(what + ": precompiled_charsmap has an empty trie");
  units_.resize(n);
  const char* p = blob.data() + 4;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t u = 0;
    for (int b = 3; b >= 0; --b) u = (u << 8) | static_cast<std::uint8_t>(p[4 * i + b]);
    units_[i] = u;
  }
  normalized_.assign(blob.data() + 4 + trie_size, blob.size() - 4 - trie_size);
  what_ = what;
}

SBERT_INLINE std::size_t charsmap::longest(std::string_view in, std::string_view& replacement,
                                           bool shortest) const {
  const std::size_t max_results = shortest ? 1 : 32;
  std::size_t found = 0, best_len = 0;
  std::uint32_t best_val = 0;
  std::size_t pos = 0;
  std::uint32_t unit = units_[0];
  pos ^= offset(unit);
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<std::uint8_t>(in[i]);
    pos ^= c;
    if (pos >= units_.size()) break;
    unit = units_[pos];
    if (label(unit) != c) break;
    pos ^= offset(unit);
    if (has_leaf(unit)) {
      if (pos >= units_.size()) break;
      if (found < max_results && (best_len == 0 || i + 1 > best_len)) {
        best_len = i + 1;
        best_val = units_[pos] & 0x7FFFFFFFu;
      }
      ++found;
      if (shortest) break;
    }
  }
  if (best_len == 0) return 0;
  if (best_val >= normalized_.size()) throw model_error(what_ + ": precompiled_charsmap points past its string table");
  const char* s = normalized_.data() + best_val;
  const void* nul = std::memchr(s, 0, normalized_.size() - best_val);
  if (!nul) throw model_error(what_ + ": precompiled_charsmap string is not NUL-terminated");
  replacement = std::string_view(s, static_cast<std::size_t>(static_cast<const char*>(nul) - s));
  return best_len;
}

SBERT_INLINE void piece_trie::build(std::vector<std::pair<std::string_view, int>> keys) {
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
    return std::lexicographical_compare(a.first.begin(), a.first.end(), b.first.begin(), b.first.end(),
                                        [](char x, char y) { return static_cast<std::uint8_t>(x) < static_cast<std::uint8_t>(y); });
  });
  nodes_.assign(1024, node{});
  next_free_.clear();
  grow(1024);
  occupy(0, 0);  // the root
  empty_ = keys.empty();
  if (!keys.empty()) insert(0, keys, 0, keys.size(), 0);
  // trim the tail of never-used slots but keep room for base + 255
  std::int32_t max_base = 0;
  std::size_t last_used = 0;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].check >= 0) last_used = i;
    max_base = std::max(max_base, nodes_[i].base);
  }
  nodes_.resize(std::max<std::size_t>(last_used + 1, static_cast<std::size_t>(max_base) + 256));
  next_free_.clear();
  next_free_.shrink_to_fit();
}

SBERT_INLINE std::size_t piece_trie::longest_prefix(std::string_view text, int* value) const {
  std::uint32_t s = 0;
  std::size_t best = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!step(s, static_cast<std::uint8_t>(text[i]))) break;
    if (nodes_[s].value >= 0) {
      best = i + 1;
      if (value) *value = nodes_[s].value;
    }
  }
  return best;
}

SBERT_INLINE void piece_trie::grow(std::size_t n) {
  if (n > nodes_.size()) {
    std::size_t cap = nodes_.size();
    while (cap < n) cap *= 2;
    nodes_.resize(cap);
  }
  const std::size_t old = next_free_.size();
  if (old < nodes_.size() + 1) {
    next_free_.resize(nodes_.size() + 1);
    for (std::size_t k = old; k < next_free_.size(); ++k) next_free_[k] = static_cast<std::uint32_t>(k);
  }
}

SBERT_INLINE std::uint32_t piece_trie::find_free(std::uint32_t i) {
  const std::size_t n = nodes_.size();
  if (i >= n) return i;
  std::uint32_t r = i;
  while (r < n && next_free_[r] != r) r = next_free_[r];
  while (i != r) {
    const std::uint32_t nx = next_free_[i];
    next_free_[i] = r;
    i = nx;
  }
  return r;
}

SBERT_INLINE void piece_trie::insert(std::uint32_t s,
                                     const std::vector<std::pair<std::string_view, int>>& keys,
                                     std::size_t lo, std::size_t hi, std::size_t depth) {
  if (keys[lo].first.size() == depth) {
    nodes_[s].value = keys[lo].second;
    ++lo;
  }
  if (lo >= hi) return;
  // distinct next bytes and their key ranges
  std::vector<std::tuple<std::uint8_t, std::size_t, std::size_t>> kids;
  for (std::size_t i = lo; i < hi;) {
    const auto c = static_cast<std::uint8_t>(keys[i].first[depth]);
    std::size_t j = i + 1;
    while (j < hi && static_cast<std::uint8_t>(keys[j].first[depth]) == c) ++j;
    kids.emplace_back(c, i, j);
    i = j;
  }
  const std::uint8_t first = std::get<0>(kids.front());
  std::uint32_t pos = find_free(static_cast<std::uint32_t>(first) + 1);
  std::int32_t base = 0;
  for (;;) {
    base = static_cast<std::int32_t>(pos) - first;
    grow(static_cast<std::size_t>(base) + 256);
    bool ok = true;
    for (const auto& k : kids)
      if (nodes_[static_cast<std::size_t>(base) + std::get<0>(k)].check >= 0) { ok = false; break; }
    if (ok) break;
    pos = find_free(pos + 1);
  }
  nodes_[s].base = base;
  for (const auto& k : kids) occupy(static_cast<std::size_t>(base) + std::get<0>(k), s);
  for (const auto& [c, a, b] : kids) insert(static_cast<std::uint32_t>(base) + c, keys, a, b, depth + 1);
}

SBERT_INLINE std::uint64_t pb_reader::varint() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ >= end_) fail("truncated varint");
    const auto b = static_cast<std::uint8_t>(*p_++);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  fail("varint longer than 10 bytes");
}

SBERT_INLINE std::string_view pb_reader::bytes() {
  const std::uint64_t n = varint();
  if (n > static_cast<std::uint64_t>(end_ - p_)) fail("length-delimited field runs past the end");
  std::string_view s(p_, static_cast<std::size_t>(n));
  p_ += n;
  return s;
}

SBERT_INLINE std::uint32_t pb_reader::fixed32() {
  if (end_ - p_ < 4) fail("truncated fixed32");
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<std::uint8_t>(p_[i]);
  p_ += 4;
  return v;
}

SBERT_INLINE void pb_reader::skip(int wire) {
  switch (wire) {
    case 0: varint(); break;
    case 1:
      if (end_ - p_ < 8) fail("truncated fixed64");
      p_ += 8;
      break;
    case 2: bytes(); break;
    case 5: fixed32(); break;
    default: fail("unsupported wire type " + std::to_string(wire));
  }
}
#endif  // SBERT_DEFINITIONS

}  // namespace spm_detail

/// SentencePiece tokenizer: loads a `.model` file or an XLM-RoBERTa `tokenizer.json`.
class sentencepiece_tokenizer : public tokenizer {
 public:
  /// One segment of the raw spm output: id and piece (a view into scratch or into the vocab).
  struct spm_token {
    int id;  // an spm id, or the output id itself when `added`
    std::string_view piece;
    bool added = false;  // an added/special token matched in the raw text
  };

  // ---- loading ---------------------------------------------------------------------------

  static sentencepiece_tokenizer from_model_bytes(std::string bytes, sentencepiece_layout layout = sentencepiece_layout::xlm_roberta,
                                                  const std::string& name = "<memory>");

  static sentencepiece_tokenizer from_model_file(const std::string& path, sentencepiece_layout layout = sentencepiece_layout::xlm_roberta) {
    return from_model_bytes(read_file(path), layout, path);
  }

  /// A Hugging Face tokenizer.json with a Unigram model (XLM-RoBERTa's layout when its
  /// post-processor wraps texts in <s> ... </s>, plain otherwise).
  static sentencepiece_tokenizer from_tokenizer_json(const std::string& path) { return from_tokenizer_json_text(read_file(path), path); }

  static sentencepiece_tokenizer from_tokenizer_json_text(std::string json, const std::string& name = "<memory>");

  /// A folder: its tokenizer.json when that holds a Unigram model (what Python's fast tokenizer
  /// reads), else sentencepiece.bpe.model / spiece.model / tokenizer.model, with the XLM-R
  /// layout when tokenizer_config.json's tokenizer_class says XLMRoberta*.
  static sentencepiece_tokenizer load(const std::string& directory);

  /// Whether load(directory) would find a SentencePiece tokenizer there.
  [[nodiscard]] static bool is_sentencepiece_folder(const std::string& directory) {
    const std::filesystem::path dir(directory);
    return unigram_json(dir / "tokenizer.json") || model_file(dir).has_value();
  }

  // ---- the tokenizer interface -----------------------------------------------------------

  [[nodiscard]] encoding encode(std::string_view text, std::optional<std::string_view> pair = std::nullopt,
                                std::size_t max_length = 0) const override {
    encoding e;
    encode_into(e, text, pair, max_length, true);
    return e;
  }

  /// encode() into a reused `out`; without token strings nothing is allocated once the
  /// buffers (here and in the per-thread scratch) have grown.
  void encode_into(encoding& out, std::string_view text, std::optional<std::string_view> pair = std::nullopt,
                   std::size_t max_length = 0, bool with_tokens = true) const override;

  [[nodiscard]] std::int64_t pad_id() const override { return pad_out_; }
  [[nodiscard]] std::size_t vocab_size() const override { return vocab_size_; }

  /// Writes the model back byte-for-byte (or the tokenizer.json it came from), plus
  /// tokenizer_config.json / special_tokens_map.json, so load(directory) gives the same tokenizer.
  void save(const std::string& directory) const override;

  /// tokenizer_config.json's model_max_length (0: unknown); the Transformer module caps
  /// max_seq_length with it.
  [[nodiscard]] std::size_t model_max_length() const { return model_max_length_; }
  void set_model_max_length(std::size_t n) { model_max_length_ = n; }

  // ---- spm-level API ---------------------------------------------------------------------

  /// sentencepiece's normalization (charsmap, whitespace handling, U+2581 escaping).
  [[nodiscard]] std::string normalize(std::string_view text) const;

  /// Raw spm ids, as spm_encode --output_format=id prints them (no specials, no offset).
  void encode_ids(std::string_view text, std::vector<int>& out) const;
  [[nodiscard]] std::vector<int> encode_ids(std::string_view text) const {
    std::vector<int> v;
    encode_ids(text, v);
    return v;
  }
  /// Pieces, as spm_encode --output_format=piece prints them.
  [[nodiscard]] std::vector<std::string> encode_pieces(std::string_view text) const;

  [[nodiscard]] std::size_t spm_size() const { return model_.pieces.size(); }
  [[nodiscard]] const std::string& id_to_piece(int spm_id) const { return model_.pieces.at(static_cast<std::size_t>(spm_id)).text; }
  /// spm id of a piece (unk id when absent), as SentencePieceProcessor::PieceToId.
  [[nodiscard]] int piece_to_id(std::string_view piece) const {
    if (auto it = reserved_.find(std::string(piece)); it != reserved_.end()) return it->second;
    const int v = trie_.exact(piece);
    return v >= 0 ? v : unk_id_;
  }
  [[nodiscard]] sentencepiece_layout layout() const { return layout_; }
  [[nodiscard]] int model_type() const { return model_.type; }
  /// The id the tokenizer emits for an spm id (the fairseq offset in the XLM-R layout).
  [[nodiscard]] int output_id(int spm_id) const {
    if (spm_id == unk_id_) return unk_out_;
    return spm_id + id_offset_;
  }
  [[nodiscard]] std::int64_t bos_id() const { return bos_out_; }
  [[nodiscard]] std::int64_t eos_id() const { return eos_out_; }
  [[nodiscard]] std::int64_t unk_id() const { return unk_out_; }
  [[nodiscard]] std::int64_t mask_id() const { return mask_out_; }

 private:
  struct path_node {
    float score;
    int starts_at;
    int id;
  };
  struct path_node_d {
    double score;
    int starts_at;
    int id;
  };
  struct symbol {
    int prev, next;
    std::uint32_t begin, len;
    bool freeze;
  };
  struct symbol_pair {
    int left, right;
    float score;
    std::uint32_t size;
  };
  struct pair_less {
    bool operator()(const symbol_pair& a, const symbol_pair& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  /// Per-thread scratch: encode is const and may run on many threads; reusing these buffers
  /// keeps the hot path free of allocations once they have grown.
  struct scratch {
    std::vector<std::unique_ptr<std::string>> norms;  // stable addresses: pieces view into them
    std::vector<spm_token> seg_a, seg_b, raw;
    std::vector<path_node> best;
    std::vector<path_node_d> best_d;
    std::vector<symbol> symbols;
    std::vector<symbol_pair> heap;
    std::vector<std::string> owned;  // merged unk / byte pieces
    std::size_t owned_used = 0;
  };
  static scratch& tls() {
    thread_local scratch s;
    return s;
  }
  static std::string& norm_buffer(scratch& s, std::size_t& used) {
    if (used == s.norms.size()) s.norms.push_back(std::make_unique<std::string>());
    return *s.norms[used++];
  }

  /// Splits the raw text at added tokens (<s>, <mask>, ... as the Python tokenizers do), and
  /// runs sentencepiece on the pieces between them.
  void encode_text(std::string_view text, std::vector<spm_token>& out, scratch& s, std::size_t& bufs) const;

  std::string name_;
  std::string raw_model_;
  std::string raw_json_;
  spm_detail::model_proto model_;
  sentencepiece_layout layout_ = sentencepiece_layout::plain;
  spm_detail::piece_trie trie_;       // normal, user-defined and unused pieces
  spm_detail::piece_trie user_trie_;  // user-defined pieces (never normalized, never split)
  spm_detail::charsmap charsmap_;
  std::unordered_map<std::string, int> reserved_;  // control, unknown, byte pieces
  std::array<bool, 256> reserved_first_{};
  std::array<bool, 256> passthrough_{};  // ASCII bytes no rule or user symbol starts with
  // added tokens matched in the raw text before sentencepiece runs: (content, output id)
  std::vector<std::pair<std::string, std::int64_t>> added_;
  spm_detail::piece_trie added_trie_;
  std::array<bool, 256> added_first_{};
  // the tokenizer.json pipeline (Hugging Face's order of steps instead of sentencepiece's)
  struct hf_step {
    enum kind_t { precompiled, strip, replace_spaces, replace_string } kind;
    bool left = false, right = false;  // strip
    std::string pattern, content;      // replace
  };
  bool hf_ = false;
  std::vector<hf_step> hf_steps_;
  bool prefix_first_only_ = false;  // Metaspace prepend_scheme "first"
  bool whitespace_split_ = false;   // WhitespaceSplit pre-tokenizer: any Unicode space separates
  bool hf_word_split_ = false;      // Metaspace split / WhitespaceSplit: Viterbi per word
  std::vector<double> scores_d_;    // tokenizer.json scores as parsed (HF's f64 arithmetic)
  double min_score_d_ = 0.0;
  std::vector<std::uint8_t> types_;
  std::vector<float> scores_;
  std::array<int, 256> byte_ids_{};
  int unk_id_ = -1;
  float min_score_ = FLT_MAX, max_score_ = FLT_MIN;
  bool has_unused_ = false;
  // output mapping
  int id_offset_ = 0, unk_out_ = 0;
  std::int64_t bos_out_ = -1, eos_out_ = -1, pad_out_ = 0, mask_out_ = -1;
  std::size_t vocab_size_ = 0;
  std::size_t model_max_length_ = 0;
  std::string unk_token_ = "<unk>", bos_token_ = "<s>", eos_token_ = "</s>";

  void set_added(std::vector<std::pair<std::string, std::int64_t>> tokens);

  static std::optional<std::filesystem::path> model_file(const std::filesystem::path& dir) {
    for (const char* f : {"sentencepiece.bpe.model", "spiece.model", "tokenizer.model"})
      if (std::filesystem::exists(dir / f)) return dir / f;
    return std::nullopt;
  }
  /// A tokenizer.json whose model is Unigram (WordPiece and BPE ones belong to other tokenizers).
  static bool unigram_json(const std::filesystem::path& p);

  static std::string read_file(const std::string& path);
  static void write_file(const std::string& path, std::string_view data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw model_error(path + ": cannot write");
  }

  static std::string byte_piece(std::uint8_t b);

  /// Checks the vocabulary as sentencepiece's InitializePieces does and builds the tries.
  void init();

  // ---- normalization ----------------------------------------------------------------------

  /// One normalization step: consumes a prefix of `in`, returns its replacement.
  std::string_view normalize_prefix(std::string_view in, std::size_t& consumed) const;

  /// sentencepiece's Normalizer::Normalize.
  void normalize_into(std::string_view in, std::string& out) const;

  /// Hugging Face's Precompiled normalizer: grapheme by grapheme, a grapheme under 6 bytes that
  /// starts with a rule becomes that (shortest) rule's output whole; otherwise each character
  /// maps on its own. No whitespace handling here.
  void apply_charsmap(std::string_view in, std::string& out) const;

  static bool starts_with_space(std::string_view s, std::size_t& len) { return !s.empty() && spm_detail::is_unicode_space(spm_detail::decode_one(s, &len)); }
  static std::size_t last_char_start(std::string_view s) {
    std::size_t k = s.size() - 1;
    while (k > 0 && s.size() - k < 4 && (static_cast<std::uint8_t>(s[k]) & 0xC0) == 0x80) --k;
    return k;
  }

  /// Hugging Face's normalizers (in the file's order), then WhitespaceSplit and Metaspace: the
  /// words, each with its U+2581 prefix, concatenated into `out`.
  void normalize_hf(std::string_view in, std::string& out, bool at_start) const;

  // ---- segmentation -----------------------------------------------------------------------

  /// normalize + segment + sentencepiece's post-processing (byte fallback, merging unk runs).
  void encode_spm(std::string_view text, std::string& norm, std::vector<spm_token>& out, scratch& s, bool at_start) const;

  /// Hugging Face's Unigram (tokenizer.json): the same optimized Viterbi, but in doubles over
  /// the JSON's scores and one pre-tokenized word (split before each U+2581) at a time, so ties
  /// break as the Rust tokenizers break them.
  void segment_unigram_hf(std::string_view norm, std::vector<spm_token>& out, scratch& s) const;

  void viterbi_hf(std::string_view word, std::vector<spm_token>& out, scratch& s) const;

  /// Appends the best path ending at the end of `text` (lattice nodes from either Viterbi).
  template <class Node>
  static void backtrack(const std::vector<Node>& best, std::string_view text, std::vector<spm_token>& out) {
    const std::size_t first = out.size();
    for (int ends_at = static_cast<int>(text.size()); ends_at > 0;) {
      const auto& n = best[static_cast<std::size_t>(ends_at)];
      out.push_back({n.id, text.substr(static_cast<std::size_t>(n.starts_at), static_cast<std::size_t>(ends_at - n.starts_at))});
      ends_at = n.starts_at;
    }
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  }

  void segment_unigram(std::string_view norm, std::vector<spm_token>& out, scratch& s) const;

  /// One character, or the longest user-defined piece, at the front of `w`.
  std::size_t prefix_char(std::string_view w, bool& found) const;

  int piece_id_view(std::string_view piece) const;

  void segment_bpe(std::string_view norm, std::vector<spm_token>& out, scratch& s) const;

  void segment_word(std::string_view norm, std::vector<spm_token>& out) const;

  void segment_char(std::string_view norm, std::vector<spm_token>& out) const;
};

namespace spm_detail {

#if SBERT_DEFINITIONS
SBERT_INLINE std::string base64_decode(std::string_view in, const std::string& what) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = val(in[i]);
    if (v < 0) throw model_error(what + ": precompiled_charsmap is not valid base64");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=') throw model_error(what + ": precompiled_charsmap is not valid base64");
  return out;
}
#else
std::string base64_decode(std::string_view in, const std::string& what);
#endif

}  // namespace spm_detail

#if SBERT_DEFINITIONS
SBERT_INLINE sentencepiece_tokenizer sentencepiece_tokenizer::from_tokenizer_json_text(std::string json, const std::string& name) {
  using namespace spm_detail;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(json).get(doc)) throw model_error(name + ": invalid JSON: " + simdjson::error_message(err));
  auto bad = [&](const std::string& field, const std::string& msg) { return model_error(name + ": field '" + field + "': " + msg); };

  simdjson::dom::object model;
  if (doc["model"].get(model)) throw bad("model", "missing or not an object");
  std::string_view mtype;
  if (model["type"].get(mtype) || mtype != "Unigram")
    throw bad("model.type", "a Unigram model is required (sentencepiece BPE models load from their .model file)");
  std::int64_t unk = -1;
  if (model["unk_id"].get(unk) || unk < 0) throw bad("model.unk_id", "missing or null; sentencepiece needs an unknown piece");
  bool byte_fallback = false;
  if (auto bf = model["byte_fallback"]; !bf.error()) {
    if (bf.get(byte_fallback) && !bf.is_null()) throw bad("model.byte_fallback", "not a boolean");
  }
  simdjson::dom::array vocab;
  if (model["vocab"].get(vocab)) throw bad("model.vocab", "missing or not an array");

  sentencepiece_tokenizer t;
  t.name_ = name;
  auto& m = t.model_;
  m.type = unigram;
  m.byte_fallback = byte_fallback;
  std::size_t idx = 0;
  for (auto entry : vocab) {
    simdjson::dom::array pair;
    std::string_view text;
    double score = 0;
    if (entry.get(pair) || pair.size() != 2 || pair.at(0).get(text) || pair.at(1).get(score))
      throw bad("model.vocab[" + std::to_string(idx) + "]", "expected [piece, score]");
    m.pieces.push_back({std::string(text), static_cast<float>(score), normal});
    t.scores_d_.push_back(score);
    ++idx;
  }
  if (static_cast<std::size_t>(unk) >= m.pieces.size()) throw bad("model.unk_id", "out of range");
  m.pieces[static_cast<std::size_t>(unk)].type = unknown;
  m.unk_id = static_cast<int>(unk);
  if (byte_fallback)
    for (auto& p : m.pieces)
      if (p.type == normal && p.text.size() == 6 && p.text.compare(0, 3, "<0x") == 0 && p.text[5] == '>') p.type = byte;

  // added tokens: special ones are control symbols, the others user-defined
  std::vector<std::pair<std::string, std::int64_t>> added_list;
  simdjson::dom::array added;
  if (!doc["added_tokens"].get(added)) {
    for (auto a : added) {
      std::int64_t id = -1;
      std::string_view content;
      bool special = false;
      if (a["id"].get(id) || a["content"].get(content) || id < 0) throw bad("added_tokens", "entry without id/content");
      if (a["special"].get(special)) special = false;
      if (static_cast<std::size_t>(id) == m.pieces.size()) {
        m.pieces.push_back({std::string(content), 0.0f, normal});
        t.scores_d_.push_back(0.0);
      }
      if (static_cast<std::size_t>(id) > m.pieces.size()) throw bad("added_tokens", "id " + std::to_string(id) + " leaves a gap in the vocabulary");
      auto& p = m.pieces[static_cast<std::size_t>(id)];
      if (p.text != content) throw bad("added_tokens", "id " + std::to_string(id) + " is '" + p.text + "' in the vocabulary");
      added_list.emplace_back(std::string(content), id);
      if (p.type == unknown) continue;
      p.type = special ? control : user_defined;
    }
  }

  // normalizer and pre-tokenizer: the steps XLM-R style files use, in the file's order
  t.hf_ = true;
  simdjson::dom::element norm_el, pre_el;
  auto visit = [&](auto&& self, simdjson::dom::element e, const char* list_key, const std::string& where, auto&& on_step) -> void {
    if (e.is_null()) return;
    simdjson::dom::object obj;
    std::string_view type;
    if (e.get(obj) || obj["type"].get(type)) throw bad(where, "expected an object with a type");
    if (type == "Sequence") {
      simdjson::dom::array arr;
      if (obj[list_key].get(arr)) throw bad(where, std::string("Sequence without ") + list_key);
      for (auto x : arr) self(self, x, list_key, where, on_step);
      return;
    }
    on_step(type, obj);
  };
  if (!doc["normalizer"].get(norm_el)) {
    visit(visit, norm_el, "normalizers", "normalizer", [&](std::string_view type, simdjson::dom::object o) {
      hf_step st{};
      if (type == "Precompiled") {
        std::string_view b64;
        if (!o["precompiled_charsmap"].get(b64)) {
          if (!m.charsmap.empty()) throw bad("normalizer", "two Precompiled normalizers");
          m.charsmap = base64_decode(b64, name);
        }
        st.kind = hf_step::precompiled;
      } else if (type == "Strip") {
        st.kind = hf_step::strip;
        if (o["strip_left"].get(st.left)) st.left = false;
        if (o["strip_right"].get(st.right)) st.right = false;
      } else if (type == "Replace") {
        std::string_view content, pat;
        if (o["content"].get(content)) throw bad("normalizer.Replace", "no content");
        st.content = std::string(content);
        if (!o["pattern"]["Regex"].get(pat)) {
          if (pat != " {2,}") throw bad("normalizer.Replace", "unsupported regex '" + std::string(pat) + "'");
          st.kind = hf_step::replace_spaces;
        } else if (!o["pattern"]["String"].get(pat)) {
          st.kind = hf_step::replace_string;
          st.pattern = std::string(pat);
        } else {
          throw bad("normalizer.Replace", "pattern is neither Regex nor String");
        }
      } else {
        throw bad("normalizer", "unsupported normalizer '" + std::string(type) + "' for a SentencePiece tokenizer.json");
      }
      t.hf_steps_.push_back(std::move(st));
    });
  }
  bool metaspace = false;
  if (!doc["pre_tokenizer"].get(pre_el)) {
    visit(visit, pre_el, "pretokenizers", "pre_tokenizer", [&](std::string_view type, simdjson::dom::object o) {
      if (type == "WhitespaceSplit") {
        t.whitespace_split_ = true;
        t.hf_word_split_ = true;
      } else if (type == "Metaspace") {
        metaspace = true;
        bool split = true;  // absent in the 2020 files, where Metaspace always split
        if (o["split"].get(split)) split = true;
        if (split) t.hf_word_split_ = true;
        std::string_view repl;
        if (!o["replacement"].get(repl) && repl != space_symbol) throw bad("pre_tokenizer.replacement", "only U+2581 is supported");
        bool add_prefix = true;
        std::string_view scheme;
        if (!o["prepend_scheme"].get(scheme)) {
          add_prefix = scheme != "never";
          t.prefix_first_only_ = scheme == "first";
        } else if (o["add_prefix_space"].get(add_prefix)) {
          add_prefix = true;
        }
        m.add_dummy_prefix = add_prefix;
      } else {
        throw bad("pre_tokenizer", "unsupported pre-tokenizer '" + std::string(type) + "' for a SentencePiece tokenizer.json");
      }
    });
  }
  if (!metaspace) m.add_dummy_prefix = false;
  t.min_score_d_ = t.scores_d_.empty() ? 0.0 : *std::min_element(t.scores_d_.begin(), t.scores_d_.end());
  t.raw_json_ = std::move(json);
  simdjson::dom::element post;
  const bool wrapped = !doc["post_processor"].get(post) && !post.is_null();
  t.layout_ = wrapped ? sentencepiece_layout::xlm_roberta : sentencepiece_layout::plain;
  t.init();
  auto find_special = [&](std::string_view tok) -> std::int64_t {
    for (std::size_t i = 0; i < m.pieces.size(); ++i)
      if (m.pieces[i].text == tok && m.pieces[i].type != normal) return static_cast<std::int64_t>(i);
    return -1;
  };
  t.id_offset_ = 0;
  t.unk_out_ = t.unk_id_;
  t.unk_token_ = m.pieces[static_cast<std::size_t>(t.unk_id_)].text;
  t.vocab_size_ = m.pieces.size();
  t.bos_out_ = find_special("<s>");
  t.eos_out_ = find_special("</s>");
  t.mask_out_ = find_special("<mask>");
  const auto pad = find_special("<pad>");
  t.pad_out_ = pad >= 0 ? pad : 0;
  t.set_added(std::move(added_list));
  if (wrapped && (t.bos_out_ < 0 || t.eos_out_ < 0))
    throw bad("post_processor", "wraps texts but the vocabulary has no <s> / </s> special tokens");
  return t;
}
#endif  // SBERT_DEFINITIONS

/// The SentencePiece tokenizer of a model folder (see sentencepiece_tokenizer::load).
inline sentencepiece_tokenizer load_sentencepiece(const std::string& directory) { return sentencepiece_tokenizer::load(directory); }

#if SBERT_DEFINITIONS

SBERT_INLINE sentencepiece_tokenizer sentencepiece_tokenizer::from_model_bytes(std::string bytes,
                                                                               sentencepiece_layout layout,
                                                                               const std::string& name) {
  sentencepiece_tokenizer t;
  t.name_ = name;
  t.raw_model_ = std::move(bytes);
  t.model_ = spm_detail::parse_model(t.raw_model_, name);
  t.layout_ = layout;
  t.init();
  return t;
}

SBERT_INLINE sentencepiece_tokenizer sentencepiece_tokenizer::load(const std::string& directory) {
  namespace fs = std::filesystem;
  const fs::path dir(directory);
  sentencepiece_layout layout = sentencepiece_layout::plain;
  std::size_t max_len = 0;
  const fs::path cfg = dir / "tokenizer_config.json";
  if (fs::exists(cfg)) {
    // on-demand: transformers writes model_max_length = int(1e30) for "unknown", an integer
    // too big for the DOM parser's integer types
    const simdjson::padded_string text(read_file(cfg.string()));
    simdjson::ondemand::parser parser;
    auto fail = [&](simdjson::error_code e) { return model_error(cfg.string() + ": invalid JSON: " + simdjson::error_message(e)); };
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    if (auto e = parser.iterate(text).get(doc)) throw fail(e);
    if (auto e = doc.get_object().get(obj)) throw fail(e);
    for (auto field : obj) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) throw fail(e);
      if (key == "tokenizer_class") {
        std::string_view cls;
        if (!field.value().get_string().get(cls) && cls.find("XLMRoberta") != std::string_view::npos) layout = sentencepiece_layout::xlm_roberta;
      } else if (key == "model_max_length") {
        double d = 0;
        if (auto e = field.value().get_double().get(d)) {
          if (e != simdjson::INCORRECT_TYPE) throw fail(e);  // null: unknown
        } else if (d > 0 && d < 1e9) {
          max_len = static_cast<std::size_t>(d);
        }
      }
    }
  }
  if (unigram_json(dir / "tokenizer.json")) {
    auto t = from_tokenizer_json((dir / "tokenizer.json").string());
    t.model_max_length_ = max_len;
    return t;
  }
  if (auto f = model_file(dir)) {
    auto t = from_model_file(f->string(), layout);
    t.model_max_length_ = max_len;
    return t;
  }
  throw model_error(directory + ": no sentencepiece.bpe.model, spiece.model, tokenizer.model or Unigram tokenizer.json");
}

SBERT_INLINE void sentencepiece_tokenizer::encode_into(encoding& out, std::string_view text,
                                                       std::optional<std::string_view> pair,
                                                       std::size_t max_length,
                                                       bool with_tokens) const {
  auto& scratch = tls();
  std::vector<spm_token>& a = scratch.seg_a;
  std::vector<spm_token>& b = scratch.seg_b;
  a.clear();
  b.clear();
  std::size_t bufs = 0;
  encode_text(text, a, scratch, bufs);
  if (pair) encode_text(*pair, b, scratch, bufs);

  const bool xlmr = layout_ == sentencepiece_layout::xlm_roberta;
  const std::size_t specials = xlmr ? (pair ? 4 : 2) : 0;
  std::size_t na_len = a.size(), nb_len = b.size();
  if (max_length > 0) {
    const std::size_t budget = max_length > specials ? max_length - specials : 0;
    if (!pair) {
      na_len = std::min(na_len, budget);
    } else if (na_len + nb_len > budget) {
      // longest-first, as the Rust tokenizers do it
      std::size_t n1 = na_len, n2 = nb_len;
      const bool swap = n1 > n2;
      if (swap) std::swap(n1, n2);
      n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
      if (n1 + n2 > budget) {
        n1 = budget / 2;
        n2 = n1 + budget % 2;
      }
      if (swap) std::swap(n1, n2);
      na_len = std::min(na_len, n1);
      nb_len = std::min(nb_len, n2);
    }
  }
  const std::size_t total = na_len + nb_len + specials;
  out.input_ids.clear();
  out.tokens.clear();
  out.input_ids.reserve(total);
  if (with_tokens) out.tokens.reserve(total);
  auto push_special = [&](std::int64_t id, std::string_view tok) {
    out.input_ids.push_back(id);
    if (with_tokens) out.tokens.emplace_back(tok);
  };
  auto push_seg = [&](const std::vector<spm_token>& seg, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out.input_ids.push_back(seg[i].added ? seg[i].id : output_id(seg[i].id));
    if (with_tokens)
      for (std::size_t i = 0; i < n; ++i) {
        if (xlmr && !seg[i].added && seg[i].id == unk_id_)
          out.tokens.emplace_back(unk_token_);
        else
          out.tokens.emplace_back(seg[i].piece);
      }
  };
  if (xlmr) push_special(bos_out_, bos_token_);
  push_seg(a, na_len);
  if (xlmr) push_special(eos_out_, eos_token_);
  if (pair) {
    if (xlmr) push_special(eos_out_, eos_token_);
    push_seg(b, nb_len);
    if (xlmr) push_special(eos_out_, eos_token_);
  }
  out.token_type_ids.assign(out.input_ids.size(), 0);
  out.attention_mask.assign(out.input_ids.size(), 1);
}

SBERT_INLINE void sentencepiece_tokenizer::save(const std::string& directory) const {
  namespace fs = std::filesystem;
  fs::create_directories(directory);
  const fs::path dir(directory);
  const bool xlmr = layout_ == sentencepiece_layout::xlm_roberta;
  if (!raw_model_.empty()) {
    write_file((dir / (xlmr ? "sentencepiece.bpe.model" : "spiece.model")).string(), raw_model_);
  } else {
    write_file((dir / "tokenizer.json").string(), raw_json_);
  }
  using json::value;
  const json::dump_options pretty{2, false, false};
  value cfg = value::make_object();
  value specials = value::make_object();
  if (xlmr) {
    cfg.set("tokenizer_class", "XLMRobertaTokenizer");
    for (const auto& [k, v] : {std::pair{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"sep_token", "</s>"}, {"cls_token", "<s>"},
                               {"unk_token", "<unk>"}, {"pad_token", "<pad>"}, {"mask_token", "<mask>"}}) {
      cfg.set(k, v);
      specials.set(k, v);
    }
  }
  if (model_max_length_) cfg.set("model_max_length", model_max_length_);
  write_file((dir / "tokenizer_config.json").string(), json::dump(cfg, pretty) + "\n");
  if (xlmr) write_file((dir / "special_tokens_map.json").string(), json::dump(specials, pretty) + "\n");
}

SBERT_INLINE std::string sentencepiece_tokenizer::normalize(std::string_view text) const {
  std::string out;
  if (hf_)
    normalize_hf(text, out, true);
  else
    normalize_into(text, out);
  return out;
}

SBERT_INLINE void sentencepiece_tokenizer::encode_ids(std::string_view text,
                                                      std::vector<int>& out) const {
  auto& s = tls();
  s.seg_a.clear();
  std::size_t bufs = 0;
  encode_spm(text, norm_buffer(s, bufs), s.seg_a, s, true);
  out.clear();
  out.reserve(s.seg_a.size());
  for (const auto& t : s.seg_a) out.push_back(t.id);
}

SBERT_INLINE std::vector<std::string> sentencepiece_tokenizer::encode_pieces(std::string_view text) const {
  auto& s = tls();
  s.seg_a.clear();
  std::size_t bufs = 0;
  encode_spm(text, norm_buffer(s, bufs), s.seg_a, s, true);
  std::vector<std::string> v;
  v.reserve(s.seg_a.size());
  for (const auto& t : s.seg_a) v.emplace_back(t.piece);
  return v;
}

SBERT_INLINE void sentencepiece_tokenizer::encode_text(std::string_view text,
                                                       std::vector<spm_token>& out, scratch& s,
                                                       std::size_t& bufs) const {
  if (added_.empty()) {
    encode_spm(text, norm_buffer(s, bufs), out, s, true);
    return;
  }
  std::size_t seg = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    int idx = -1;
    const std::size_t n = added_first_[static_cast<std::uint8_t>(text[pos])] ? added_trie_.longest_prefix(text.substr(pos), &idx) : 0;
    if (n == 0) {
      ++pos;
      continue;
    }
    if (pos > seg) encode_spm(text.substr(seg, pos - seg), norm_buffer(s, bufs), out, s, seg == 0);
    const auto& a = added_[static_cast<std::size_t>(idx)];
    out.push_back({static_cast<int>(a.second), a.first, true});
    pos += n;
    seg = pos;
  }
  if (seg < text.size()) encode_spm(text.substr(seg), norm_buffer(s, bufs), out, s, seg == 0);
}

SBERT_INLINE void sentencepiece_tokenizer::set_added(std::vector<std::pair<std::string, std::int64_t>> tokens) {
  added_ = std::move(tokens);
  added_first_.fill(false);
  std::vector<std::pair<std::string_view, int>> keys;
  for (std::size_t i = 0; i < added_.size(); ++i) {
    if (added_[i].first.empty()) continue;
    keys.emplace_back(added_[i].first, static_cast<int>(i));
    added_first_[static_cast<std::uint8_t>(added_[i].first[0])] = true;
  }
  added_trie_.build(std::move(keys));
}

SBERT_INLINE bool sentencepiece_tokenizer::unigram_json(const std::filesystem::path& p) {
  if (!std::filesystem::exists(p)) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view type;
  return !parser.load(p.string()).get(doc) && !doc["model"]["type"].get(type) && type == "Unigram";
}

SBERT_INLINE std::string sentencepiece_tokenizer::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw model_error(path + ": cannot open");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw model_error(path + ": read error");
  return s;
}

SBERT_INLINE std::string sentencepiece_tokenizer::byte_piece(std::uint8_t b) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string s = "<0x00>";
  s[3] = hex[b >> 4];
  s[4] = hex[b & 15];
  return s;
}

SBERT_INLINE void sentencepiece_tokenizer::init() {
  using namespace spm_detail;
  const auto& m = model_;
  if (m.pieces.empty()) throw model_error(name_ + ": sentencepiece model has no pieces");
  if (m.type < unigram || m.type > character) throw model_error(name_ + ": unknown sentencepiece model_type " + std::to_string(m.type));
  if (m.pieces.size() > 0x7FFFFFFF) throw model_error(name_ + ": too many pieces");
  types_.resize(m.pieces.size());
  scores_.resize(m.pieces.size());
  std::vector<std::pair<std::string_view, int>> keys, user_keys;
  std::unordered_map<std::string_view, int> seen;
  std::array<bool, 256> byte_found{};
  byte_ids_.fill(-1);
  for (std::size_t i = 0; i < m.pieces.size(); ++i) {
    const auto& p = m.pieces[i];
    const int id = static_cast<int>(i);
    if (p.text.empty()) throw model_error(name_ + ": piece " + std::to_string(i) + " is empty");
    types_[i] = p.type;
    scores_[i] = p.score;
    const bool in_trie = p.type == normal || p.type == user_defined || p.type == unused;
    if (in_trie) {
      if (!seen.emplace(p.text, id).second) throw model_error(name_ + ": piece '" + p.text + "' is defined twice");
      keys.emplace_back(p.text, id);
    } else if (!reserved_.emplace(p.text, id).second) {
      throw model_error(name_ + ": piece '" + p.text + "' is defined twice");
    } else {
      reserved_first_[static_cast<std::uint8_t>(p.text[0])] = true;
    }
    if (p.type == user_defined) user_keys.emplace_back(p.text, id);
    if (p.type == unused) has_unused_ = true;
    if (p.type == unknown) {
      if (unk_id_ >= 0) throw model_error(name_ + ": <unk> is defined twice");
      unk_id_ = id;
    }
    if (p.type == byte) {
      if (!m.byte_fallback) throw model_error(name_ + ": byte piece '" + p.text + "' found although byte_fallback is false");
      int b = -1;
      if (p.text.size() == 6 && p.text.compare(0, 3, "<0x") == 0 && p.text[5] == '>') {
        auto hexv = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
        const int hi = hexv(p.text[3]), lo = hexv(p.text[4]);
        if (hi >= 0 && lo >= 0) b = hi * 16 + lo;
      }
      if (b < 0) throw model_error(name_ + ": byte piece '" + p.text + "' is invalid");
      byte_found[static_cast<std::size_t>(b)] = true;
    }
    if (p.type == normal) {
      min_score_ = std::min(min_score_, p.score);
      max_score_ = std::max(max_score_, p.score);
    }
  }
  if (unk_id_ < 0) throw model_error(name_ + ": sentencepiece model defines no <unk> piece");
  if (m.byte_fallback) {
    if (std::find(byte_found.begin(), byte_found.end(), false) != byte_found.end())
      throw model_error(name_ + ": byte_fallback is set but the 256 byte pieces are not all there");
  }
  trie_.build(std::move(keys));
  user_trie_.build(std::move(user_keys));
  charsmap_ = charsmap(m.charsmap, name_);
  for (int c = 0; c < 0x80; ++c)
    passthrough_[static_cast<std::size_t>(c)] = !charsmap_.has_rule_starting_with(static_cast<std::uint8_t>(c)) &&
                                                !user_trie_.has_first_byte(static_cast<std::uint8_t>(c));
  if (m.byte_fallback)
    for (int b = 0; b < 256; ++b) byte_ids_[static_cast<std::size_t>(b)] = piece_to_id(byte_piece(static_cast<std::uint8_t>(b)));

  // output mapping
  const int n = static_cast<int>(m.pieces.size());
  if (layout_ == sentencepiece_layout::xlm_roberta && raw_json_.empty()) {
    // fairseq's dictionary: <s> <pad> </s> <unk>, then spm ids shifted by one, <mask> last
    id_offset_ = 1;
    unk_out_ = 3;
    bos_out_ = 0;
    pad_out_ = 1;
    eos_out_ = 2;
    mask_out_ = n + 1;
    vocab_size_ = static_cast<std::size_t>(n) + 2;
    // the Python tokenizers match the special tokens in the raw text
    set_added({{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}, {"<mask>", mask_out_}});
  } else if (raw_json_.empty()) {
    id_offset_ = 0;
    unk_out_ = unk_id_;
    bos_out_ = m.bos_id;
    eos_out_ = m.eos_id;
    pad_out_ = m.pad_id >= 0 ? m.pad_id : 0;
    vocab_size_ = static_cast<std::size_t>(n);
  }
}

SBERT_INLINE std::string_view sentencepiece_tokenizer::normalize_prefix(std::string_view in,
                                                                        std::size_t& consumed) const {
  if (!user_trie_.empty()) {
    const std::size_t n = user_trie_.longest_prefix(in);
    if (n > 0) {
      consumed = n;
      return in.substr(0, n);
    }
  }
  if (!charsmap_.empty()) {
    std::string_view rep;
    const std::size_t n = charsmap_.longest(in, rep);
    if (n > 0) {
      consumed = n;
      return rep;
    }
  }
  std::size_t len = 0;
  if (!spm_detail::valid_utf8_prefix(in, len)) {
    consumed = 1;
    return "\xEF\xBF\xBD";  // U+FFFD for a malformed byte, consuming one byte
  }
  consumed = len;
  return in.substr(0, len);
}

SBERT_INLINE void sentencepiece_tokenizer::normalize_into(std::string_view in,
                                                          std::string& out) const {
  using spm_detail::space_symbol;
  out.clear();
  if (in.empty()) return;
  const auto& m = model_;
  std::size_t consumed = 0;
  if (m.remove_extra_whitespaces) {
    while (!in.empty()) {
      if (normalize_prefix(in, consumed) != " ") break;
      in.remove_prefix(consumed);
    }
  }
  if (in.empty()) return;
  out.reserve(in.size() * 3);
  auto add_ws = [&] {
    if (m.escape_whitespaces)
      out.append(space_symbol);
    else
      out.push_back(' ');
  };
  const bool suffix = m.treat_whitespace_as_suffix;
  const bool prefix = m.add_dummy_prefix;
  if (!suffix && prefix) add_ws();
  bool prev_space = m.remove_extra_whitespaces;
  while (!in.empty()) {
    const auto c0 = static_cast<std::uint8_t>(in.front());
    if (passthrough_[c0]) {
      // fast path: an ASCII byte that maps to itself (the common case)
      if (c0 == ' ') {
        if (!prev_space) add_ws();
        prev_space = m.remove_extra_whitespaces;
      } else {
        out.push_back(static_cast<char>(c0));
        prev_space = false;
      }
      in.remove_prefix(1);
      continue;
    }
    std::string_view sp = normalize_prefix(in, consumed);
    while (prev_space && !sp.empty() && sp.front() == ' ') sp.remove_prefix(1);
    if (!sp.empty()) {
      if (m.escape_whitespaces) {
        for (char c : sp) {
          if (c == ' ')
            out.append(space_symbol);
          else
            out.push_back(c);
        }
      } else {
        out.append(sp);
      }
      prev_space = sp.back() == ' ';
    }
    in.remove_prefix(consumed);
    if (!m.remove_extra_whitespaces) prev_space = false;
  }
  if (m.remove_extra_whitespaces) {
    const std::string_view space = m.escape_whitespaces ? space_symbol : std::string_view(" ");
    while (spm_detail::ends_with(out, space)) out.resize(out.size() - space.size());
  }
  if (suffix && prefix) add_ws();
}

SBERT_INLINE void sentencepiece_tokenizer::apply_charsmap(std::string_view in,
                                                          std::string& out) const {
  out.clear();
  while (!in.empty()) {
    const auto c0 = static_cast<std::uint8_t>(in.front());
    // an ASCII character followed by ASCII (or nothing) is a grapheme of its own (but CR LF)
    if (c0 < 0x80 && c0 != '\r' && (in.size() == 1 || static_cast<std::uint8_t>(in[1]) < 0x80) && !charsmap_.has_rule_starting_with(c0)) {
      out.push_back(static_cast<char>(c0));
      in.remove_prefix(1);
      continue;
    }
    const std::size_t g = detail::grapheme_length(in);
    std::string_view rep;
    if (g < 6 && !charsmap_.empty() && charsmap_.longest(in.substr(0, g), rep, true) > 0) {
      out.append(rep);
      in.remove_prefix(g);
      continue;
    }
    for (std::string_view part = in.substr(0, g); !part.empty();) {
      std::size_t n = 0;
      if (!spm_detail::valid_utf8_prefix(part, n)) {
        out.append("\xEF\xBF\xBD");  // U+FFFD, as sentencepiece does for a malformed byte
      } else if (!charsmap_.empty() && charsmap_.longest(part.substr(0, n), rep, true) == n) {
        out.append(rep);
      } else {
        out.append(part.substr(0, n));
      }
      part.remove_prefix(n);
    }
    in.remove_prefix(g);
  }
}

SBERT_INLINE void sentencepiece_tokenizer::normalize_hf(std::string_view in, std::string& out,
                                                        bool at_start) const {
  thread_local std::string a, b;
  a.assign(in);
  for (const auto& st : hf_steps_) {
    switch (st.kind) {
      case hf_step::precompiled: apply_charsmap(a, b); std::swap(a, b); break;
      case hf_step::strip: {
        std::size_t len = 0, begin = 0;
        if (st.left)
          while (begin < a.size() && starts_with_space(std::string_view(a).substr(begin), len)) begin += len;
        std::size_t end = a.size();
        if (st.right)
          while (end > begin) {
            const std::size_t k = last_char_start(std::string_view(a).substr(0, end));
            if (!spm_detail::is_unicode_space(spm_detail::decode_one(std::string_view(a).substr(k, end - k)))) break;
            end = k;
          }
        a = a.substr(begin, end - begin);
        break;
      }
      case hf_step::replace_spaces: {  // Regex " {2,}"
        b.clear();
        for (std::size_t i = 0; i < a.size();) {
          if (a[i] == ' ' && i + 1 < a.size() && a[i + 1] == ' ') {
            while (i < a.size() && a[i] == ' ') ++i;
            b += st.content;
          } else {
            b.push_back(a[i++]);
          }
        }
        std::swap(a, b);
        break;
      }
      case hf_step::replace_string: {
        if (st.pattern.empty()) break;
        b.clear();
        for (std::size_t i = 0; i < a.size();) {
          if (a.compare(i, st.pattern.size(), st.pattern) == 0) {
            b += st.content;
            i += st.pattern.size();
          } else {
            b.push_back(a[i++]);
          }
        }
        std::swap(a, b);
        break;
      }
    }
  }
  out.clear();
  bool first_word = true;
  auto emit_word = [&](std::string_view w) {
    if (w.empty()) return;
    const bool prefix = model_.add_dummy_prefix && (!prefix_first_only_ || (at_start && first_word));
    first_word = false;
    const bool starts = w[0] == ' ' || w.compare(0, spm_detail::space_symbol.size(), spm_detail::space_symbol) == 0;
    if (prefix && !starts) out.append(spm_detail::space_symbol);
    for (char c : w) {
      if (c == ' ')
        out.append(spm_detail::space_symbol);
      else
        out.push_back(c);
    }
  };
  if (!whitespace_split_) return emit_word(a);
  std::string_view rest(a);
  while (!rest.empty()) {
    std::size_t len = 0;
    while (!rest.empty() && starts_with_space(rest, len)) rest.remove_prefix(len);
    std::size_t n = 0;
    while (n < rest.size()) {
      if (starts_with_space(rest.substr(n), len)) break;
      n += std::max<std::size_t>(1, len);
    }
    emit_word(rest.substr(0, n));
    rest.remove_prefix(n);
  }
}

SBERT_INLINE void sentencepiece_tokenizer::encode_spm(std::string_view text, std::string& norm,
                                                      std::vector<spm_token>& out, scratch& s,
                                                      bool at_start) const {
  // positions are ints in the segmenters (as in sentencepiece); normalization can triple a text
  if (text.size() > (std::size_t{1} << 28)) throw input_error("", 0, "", "sentencepiece: a text of " + std::to_string(text.size()) + " bytes is too long to tokenize");
  if (hf_)
    normalize_hf(text, norm, at_start);
  else
    normalize_into(text, norm);
  if (norm.empty()) return;
  auto& raw = s.raw;
  raw.clear();
  switch (model_.type) {
    case spm_detail::unigram: segment_unigram(norm, raw, s); break;
    case spm_detail::bpe: segment_bpe(norm, raw, s); break;
    case spm_detail::word: segment_word(norm, raw); break;
    default: segment_char(norm, raw); break;
  }
  bool prev_unk = false;
  for (const auto& t : raw) {
    const bool is_unk = t.id == unk_id_;
    if (is_unk && model_.byte_fallback) {
      for (char c : t.piece) {
        const auto b = static_cast<std::uint8_t>(c);
        out.push_back({byte_ids_[b], model_.pieces[static_cast<std::size_t>(byte_ids_[b])].text});
      }
    } else if (is_unk && prev_unk && !out.empty()) {
      // sentencepiece merges a run of unknown pieces into one; they are adjacent in `norm`
      auto& last = out.back();
      last.piece = std::string_view(last.piece.data(), static_cast<std::size_t>(t.piece.data() + t.piece.size() - last.piece.data()));
    } else {
      out.push_back(t);
    }
    prev_unk = is_unk;
  }
}

SBERT_INLINE void sentencepiece_tokenizer::segment_unigram_hf(std::string_view norm,
                                                              std::vector<spm_token>& out,
                                                              scratch& s) const {
  if (!hf_word_split_) return viterbi_hf(norm, out, s);
  std::size_t begin = 0;
  for (std::size_t pos = spm_detail::space_symbol.size(); pos + spm_detail::space_symbol.size() <= norm.size();) {
    if (norm.compare(pos, spm_detail::space_symbol.size(), spm_detail::space_symbol) == 0 && pos > begin) {
      viterbi_hf(norm.substr(begin, pos - begin), out, s);
      begin = pos;
      pos += spm_detail::space_symbol.size();
    } else {
      ++pos;
    }
  }
  if (begin < norm.size()) viterbi_hf(norm.substr(begin), out, s);
}

SBERT_INLINE void sentencepiece_tokenizer::viterbi_hf(std::string_view word,
                                                      std::vector<spm_token>& out,
                                                      scratch& s) const {
  const int size = static_cast<int>(word.size());
  const double unk_score = min_score_d_ - 10.0;
  auto& best = s.best_d;
  best.assign(static_cast<std::size_t>(size) + 1, path_node_d{0.0, -1, -1});
  const auto* data = reinterpret_cast<const std::uint8_t*>(word.data());
  int starts_at = 0;
  while (starts_at < size) {
    const double till_here = best[static_cast<std::size_t>(starts_at)].score;
    bool has_single = false;
    const int mblen = std::min(spm_detail::one_char_len(word[static_cast<std::size_t>(starts_at)]), size - starts_at);
    std::uint32_t st = 0;
    for (int key_pos = starts_at; key_pos < size;) {
      if (!trie_.step(st, data[key_pos])) break;
      ++key_pos;
      const int id = trie_.value(st);
      if (id < 0) continue;
      auto& target = best[static_cast<std::size_t>(key_pos)];
      const double cand = scores_d_[static_cast<std::size_t>(id)] + till_here;
      if (target.starts_at == -1 || cand > target.score) {
        target.score = cand;
        target.starts_at = starts_at;
        target.id = id;
      }
      if (!has_single && key_pos - starts_at == mblen) has_single = true;
    }
    if (!has_single) {
      auto& target = best[static_cast<std::size_t>(starts_at + mblen)];
      const double cand = unk_score + till_here;
      if (target.starts_at == -1 || cand > target.score) {
        target.score = cand;
        target.starts_at = starts_at;
        target.id = unk_id_;
      }
    }
    starts_at += mblen;
  }
  backtrack(best, word, out);
}

SBERT_INLINE void sentencepiece_tokenizer::segment_unigram(std::string_view norm,
                                                           std::vector<spm_token>& out,
                                                           scratch& s) const {
  if (!scores_d_.empty()) return segment_unigram_hf(norm, out, s);
  const int size = static_cast<int>(norm.size());
  const float unk_score = min_score_ - 10.0f;  // sentencepiece's kUnkPenalty
  auto& best = s.best;
  best.assign(static_cast<std::size_t>(size) + 1, path_node{0.0f, -1, -1});
  const auto* data = reinterpret_cast<const std::uint8_t*>(norm.data());
  int starts_at = 0;
  while (starts_at < size) {
    const float till_here = best[static_cast<std::size_t>(starts_at)].score;
    bool has_single = false;
    const int mblen = std::min(spm_detail::one_char_len(norm[static_cast<std::size_t>(starts_at)]), size - starts_at);
    std::uint32_t st = 0;
    for (int key_pos = starts_at; key_pos < size;) {
      if (!trie_.step(st, data[key_pos])) break;
      ++key_pos;
      const int id = trie_.value(st);
      if (id < 0) continue;
      const auto type = types_[static_cast<std::size_t>(id)];
      if (type == spm_detail::unused) continue;
      const int length = key_pos - starts_at;
      auto& target = best[static_cast<std::size_t>(key_pos)];
      // sentencepiece's ternary yields a double (the 0.1 literal), so the candidate is a
      // double compared against the stored float; replicated for identical tie-breaking.
      const double score = type == spm_detail::user_defined ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                                                               : static_cast<double>(scores_[static_cast<std::size_t>(id)]);
      const double cand = score + static_cast<double>(till_here);
      if (target.starts_at == -1 || cand > static_cast<double>(target.score)) {
        target.score = static_cast<float>(cand);
        target.starts_at = starts_at;
        target.id = id;
      }
      if (!has_single && length == mblen) has_single = true;
    }
    if (!has_single) {
      auto& target = best[static_cast<std::size_t>(starts_at + mblen)];
      const float cand = unk_score + till_here;
      if (target.starts_at == -1 || cand > target.score) {
        target.score = cand;
        target.starts_at = starts_at;
        target.id = unk_id_;
      }
    }
    starts_at += mblen;
  }
  backtrack(best, norm, out);
}

SBERT_INLINE std::size_t sentencepiece_tokenizer::prefix_char(std::string_view w,
                                                              bool& found) const {
  if (!user_trie_.empty()) {
    const std::size_t n = user_trie_.longest_prefix(w);
    if (n > 0) {
      found = true;
      return n;
    }
  }
  found = false;
  return std::min<std::size_t>(w.size(), static_cast<std::size_t>(spm_detail::one_char_len(w[0])));
}

SBERT_INLINE int sentencepiece_tokenizer::piece_id_view(std::string_view piece) const {
  // reserved pieces are few (<s>, <0x41>, ...): skip the hash unless the first byte matches one
  if (!piece.empty() && reserved_first_[static_cast<std::uint8_t>(piece[0])])
    if (auto it = reserved_.find(std::string(piece)); it != reserved_.end()) return it->second;
  const int v = trie_.exact(piece);
  return v >= 0 ? v : unk_id_;
}

SBERT_INLINE void sentencepiece_tokenizer::segment_bpe(std::string_view norm,
                                                       std::vector<spm_token>& out,
                                                       scratch& s) const {
  auto& sym = s.symbols;
  auto& heap = s.heap;
  sym.clear();
  heap.clear();
  for (std::size_t pos = 0; pos < norm.size();) {
    bool freeze = false;
    const std::size_t n = prefix_char(norm.substr(pos), freeze);
    const int idx = static_cast<int>(sym.size());
    sym.push_back({idx - 1, pos + n < norm.size() ? idx + 1 : -1, static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(n), freeze});
    pos += n;
  }
  if (sym.empty()) return;
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  pair_less less;
  auto maybe_add = [&](int l, int r) {
    if (l == -1 || r == -1 || sym[static_cast<std::size_t>(l)].freeze || sym[static_cast<std::size_t>(r)].freeze) return;
    const auto& L = sym[static_cast<std::size_t>(l)];
    const auto& R = sym[static_cast<std::size_t>(r)];
    const std::string_view merged = norm.substr(L.begin, L.len + R.len);
    const int id = trie_.exact(merged);
    if (id < 0) return;
    heap.push_back({l, r, scores_[static_cast<std::size_t>(id)], static_cast<std::uint32_t>(merged.size())});
    std::push_heap(heap.begin(), heap.end(), less);
    if (types_[static_cast<std::size_t>(id)] == spm_detail::unused)
      rev_merge[merged] = {norm.substr(L.begin, L.len), norm.substr(R.begin, R.len)};
  };
  for (std::size_t i = 1; i < sym.size(); ++i) maybe_add(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), less);
    const symbol_pair top = heap.back();
    heap.pop_back();
    auto& L = sym[static_cast<std::size_t>(top.left)];
    auto& R = sym[static_cast<std::size_t>(top.right)];
    if (L.len == 0 || R.len == 0 || L.len + R.len != top.size) continue;  // stale
    L.len += R.len;
    L.next = R.next;
    if (R.next >= 0) sym[static_cast<std::size_t>(R.next)].prev = top.left;
    R.len = 0;
    maybe_add(L.prev, top.left);
    maybe_add(top.left, L.next);
  }
  // pieces merged through an unused piece are split back into their parts
  auto emit = [&](auto&& self, std::string_view w) -> void {
    const int id = piece_id_view(w);
    if (!has_unused_ || types_[static_cast<std::size_t>(id)] != spm_detail::unused) {
      out.push_back({id, w});
      return;
    }
    const auto it = rev_merge.find(w);
    if (it == rev_merge.end()) {
      out.push_back({id, w});
      return;
    }
    self(self, it->second.first);
    self(self, it->second.second);
  };
  for (int i = 0; i != -1; i = sym[static_cast<std::size_t>(i)].next) {
    const auto& x = sym[static_cast<std::size_t>(i)];
    emit(emit, norm.substr(x.begin, x.len));
  }
}

SBERT_INLINE void sentencepiece_tokenizer::segment_word(std::string_view norm,
                                                        std::vector<spm_token>& out) const {
  // sentencepiece's SplitIntoWords: a word starts at each U+2581 (or ends there, as suffix)
  const bool suffix = model_.treat_whitespace_as_suffix;
  std::size_t begin = 0;
  for (std::size_t pos = 0; pos < norm.size();) {
    const std::size_t n = std::min<std::size_t>(norm.size() - pos, static_cast<std::size_t>(spm_detail::one_char_len(norm[pos])));
    const bool is_ws = norm.compare(pos, n, spm_detail::space_symbol) == 0;
    if (!suffix && is_ws && pos > begin) {
      out.push_back({piece_id_view(norm.substr(begin, pos - begin)), norm.substr(begin, pos - begin)});
      begin = pos;
    }
    pos += n;
    if (suffix && is_ws) {
      out.push_back({piece_id_view(norm.substr(begin, pos - begin)), norm.substr(begin, pos - begin)});
      begin = pos;
    }
  }
  if (begin < norm.size()) out.push_back({piece_id_view(norm.substr(begin)), norm.substr(begin)});
}

SBERT_INLINE void sentencepiece_tokenizer::segment_char(std::string_view norm,
                                                        std::vector<spm_token>& out) const {
  for (std::size_t pos = 0; pos < norm.size();) {
    bool user = false;
    const std::size_t n = prefix_char(norm.substr(pos), user);
    out.push_back({piece_id_view(norm.substr(pos, n)), norm.substr(pos, n)});
    pos += n;
  }
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::models
