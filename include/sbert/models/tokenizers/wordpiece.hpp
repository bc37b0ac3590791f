// SPDX-License-Identifier: Apache-2.0
// BERT's WordPiece tokenizer, token for token as Hugging Face's Rust `tokenizers` does it:
// BertNormalizer -> BertPreTokenizer -> WordPiece -> TemplateProcessing, with added (special)
// tokens matched in the raw text first. Loads `tokenizer.json` or `vocab.txt` (+
// `tokenizer_config.json`), saves all of them. Torch-free.
//
// Invalid UTF-8 input is rejected with an sbert::input_error naming the byte offset: the Rust
// library cannot even represent such a string, and replacing bytes with U+FFFD would make
// clean_text delete them silently.
//
// Known limits of the match with the Rust library: character data is that of the crates it uses
// (categories of Unicode 8.0, see scripts/gen_unicode_tables.py) but lower-casing and NFD come from
// Unicode 14, so characters whose case or decomposition was added after 14 (or changed between
// the crates' versions) may differ; single_word added tokens treat non-ASCII symbols as word
// characters; a max_length smaller than the special tokens keeps only the special tokens.
//
// Speed: one pass over the text; ASCII goes through a 128-entry action table; words are looked
// up in open-addressing hash tables keyed by the raw bytes (continuation pieces in their own table
// without the "##", so no string is built per lookup); thread-local scratch buffers, so encoding
// allocates nothing once warm except the output vectors.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "sbert/error.hpp"
#include "sbert/io/json_writer.hpp"
#include "sbert/models/tokenizers/detail/unicode.hpp"
#include "sbert/models/tokenizers/tokenizer.hpp"

namespace sbert::models {

/// BertNormalizer + WordPiece model options (the fields of tokenizer.json, or the
/// BertTokenizer arguments of tokenizer_config.json).
struct wordpiece_options {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;  // unset: strip when lower-casing (HF's default)
  bool lowercase = true;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  std::size_t max_input_chars_per_word = 100;
  // The special tokens transformers knows by role (tokenizer_config.json / special_tokens_map).
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string mask_token = "[MASK]";
  std::size_t model_max_length = 0;  // 0: unknown
  // tokenizer_config.json's class, written back on save. An MPNetTokenizer lays pairs out as
  // <s> A </s></s> B </s> (RoBERTa's layout) and names <s>, </s>, <pad>, <mask> by default.
  std::string tokenizer_class = "BertTokenizer";

  [[nodiscard]] bool mpnet_layout() const { return tokenizer_class.rfind("MPNetTokenizer", 0) == 0; }
  /// MPNetTokenizer's defaults for the role tokens (unk stays [UNK], as in its vocab.txt).
  void use_mpnet_defaults() {
    tokenizer_class = "MPNetTokenizer";
    cls_token = "<s>";
    sep_token = "</s>";
    pad_token = "<pad>";
    mask_token = "<mask>";
  }
};

/// A token matched in the raw text before normalisation (HF's AddedToken).
struct added_token {
  std::string content;
  std::int64_t id = 0;
  bool special = true;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // sbert matches every added token on the raw text
};

/// One item of a post-processing template: a special token or the A / B sequence.
struct template_item {
  bool is_sequence = false;
  int sequence = 0;         // 0 = A, 1 = B
  std::string special;      // name of the special token
  std::vector<std::int64_t> ids;
  std::vector<std::string> tokens;
  std::int64_t type_id = 0;
};

namespace detail {

/// Open-addressing map from byte strings to ids. Each slot holds the first 8 key bytes, so keys
/// of up to 8 bytes (most WordPiece lookups) compare with one integer comparison and touch no
/// other memory; longer keys compare their tail in a contiguous pool.
class piece_table {
 public:
  void build(const std::vector<std::pair<std::string_view, std::int64_t>>& entries) {
    std::size_t cap = 16;
    shift_ = 60;
    while (cap < entries.size() * 2) {
      cap <<= 1;
      --shift_;
    }
    slots_.assign(cap, slot{});
    mask_ = cap - 1;
    pool_.clear();
    long_keys_.clear();
    max_len_ = 0;
    for (const auto& [key, id] : entries) {
      max_len_ = std::max(max_len_, key.size());
      if (key.size() >= 255) {  // rare: kept out of the slots so a length fits in a byte
        long_keys_[std::string(key)] = id;
        continue;
      }
      const auto k8 = head(key.data(), key.size());
      for (std::size_t i = index(k8, key.data(), key.size());; i = (i + 1) & mask_) {
        auto& s = slots_[i];
        if (s.id < 0) {
          s.k8 = k8;
          s.id = static_cast<std::int32_t>(id);
          s.len = static_cast<std::uint8_t>(key.size());
          s.off = static_cast<std::uint32_t>(pool_.size());
          if (key.size() > 8) pool_.append(key.substr(8));
          if (pool_.size() >= (1u << 24)) throw model_error("wordpiece: vocabulary too large");
          break;
        }
        if (equal(s, key.data(), key.size(), k8)) {
          s.id = static_cast<std::int32_t>(id);  // a later duplicate wins, as in Python's dict
          break;
        }
      }
    }
  }

  [[nodiscard]] std::int64_t find(const char* p, std::size_t n) const {
    if (n >= 255) {
      auto it = long_keys_.find(std::string(p, n));
      return it == long_keys_.end() ? -1 : it->second;
    }
    const auto k8 = head(p, n);
    for (std::size_t i = index(k8, p, n);; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.id < 0) return -1;
      if (equal(s, p, n, k8)) return s.id;
    }
  }

  [[nodiscard]] std::size_t max_len() const { return max_len_; }

 private:
  struct slot {
    std::uint64_t k8 = 0;  // first 8 bytes, zero padded
    std::int32_t id = -1;
    std::uint32_t off : 24 = 0;  // tail (bytes 8..) in pool_
    std::uint32_t len : 8 = 0;
  };
  /// Fibonacci hashing of the head (one multiply for keys of up to 8 bytes), tail folded in.
  [[nodiscard]] std::size_t index(std::uint64_t k8, const char* p, std::size_t n) const {
    std::uint64_t h = k8 ^ (static_cast<std::uint64_t>(n) << 56);
    for (std::size_t i = 8; i < n; i += 8) {
      std::uint64_t v = 0;
      std::memcpy(&v, p + i, n - i < 8 ? n - i : 8);
      h = h * 0xBF58476D1CE4E5B9ull;
      h = ((h << 29) | (h >> 35)) ^ v;
    }
    return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  static std::uint64_t head(const char* p, std::size_t n) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, n < 8 ? n : 8);
    return v;
  }
  bool equal(const slot& s, const char* p, std::size_t n, std::uint64_t k8) const {
    return s.k8 == k8 && s.len == n && (n <= 8 || std::memcmp(pool_.data() + s.off, p + 8, n - 8) == 0);
  }
  std::vector<slot> slots_{16};
  std::size_t mask_ = 15;
  int shift_ = 60;
  std::string pool_;
  std::unordered_map<std::string, std::int64_t> long_keys_;
  std::size_t max_len_ = 0;
};

/// Reads a whole file; throws input_error naming it when missing or unreadable.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path, 0, "", "cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

/// simdjson on-demand with errors turned into input_error(file, field).
struct json_reader {
  std::string file;
  template <class T>
  T get(simdjson::simdjson_result<T>&& r, std::string_view field) const {
    T v;
    if (auto e = std::move(r).get(v); e)
      throw input_error(file, 0, std::string(field),
                        std::string("invalid or unexpected JSON: ") + simdjson::error_message(e));
    return v;
  }
  [[nodiscard]] bool is_null(simdjson::ondemand::value& v, std::string_view field) const {
    return get(v.type(), field) == simdjson::ondemand::json_type::null;
  }
  std::string string(simdjson::ondemand::value& v, std::string_view field) const {
    return std::string(get(v.get_string(), field));
  }
  /// A special token given as "[CLS]" or as {"content": "[CLS]", ...}.
  std::string token_content(simdjson::ondemand::value& v, std::string_view field) const {
    if (get(v.type(), field) == simdjson::ondemand::json_type::string) return string(v, field);
    auto obj = get(v.get_object(), field);
    for (auto f : obj) {
      auto fld = get(std::move(f), field);
      if (get(fld.unescaped_key(), field) == "content") {
        auto val = fld.value();
        return string(val, field);
      }
    }
    throw input_error(file, 0, std::string(field), "special token without 'content'");
  }
};

}  // namespace detail

class wordpiece_tokenizer : public tokenizer {
 public:
  /// `vocab[i]` is the token of id i. Empty `single`/`pair` templates mean BERT's
  /// [CLS] A [SEP] / [CLS] A [SEP] B [SEP] with options.cls_token / sep_token (MPNet's
  /// <s> A </s></s> B </s> when options.tokenizer_class is MPNetTokenizer).
  explicit wordpiece_tokenizer(std::vector<std::string> vocab, wordpiece_options options = {},
                               std::vector<added_token> added = {},
                               std::vector<template_item> single = {},
                               std::vector<template_item> pair = {},
                               std::string source = "<memory>")
      : opt_(std::move(options)), tokens_(std::move(vocab)), model_vocab_size_(tokens_.size()),
        added_(std::move(added)), single_(std::move(single)), pair_(std::move(pair)),
        source_(std::move(source)) {
    init();
  }

  /// vocab.txt (one token per line, the line number is the id) with the BertTokenizer options
  /// of tokenizer_config.json when `config_path` is not empty.
  static wordpiece_tokenizer from_vocab_file(const std::string& vocab_path,
                                             const std::string& config_path = "");

  /// A Hugging Face tokenizer.json with a BertNormalizer, BertPreTokenizer and WordPiece model.
  /// `config_path` (optional tokenizer_config.json) supplies model_max_length and the pad/mask
  /// token names, and, as transformers' BertTokenizerFast does when it loads a model folder, the
  /// normaliser's lowercase / strip_accents / handle_chinese_chars (do_lower_case default true,
  /// strip_accents default null, tokenize_chinese_chars default true) unless the config names
  /// the generic PreTrainedTokenizerFast. Without a config, tokenizer.json alone decides.
  static wordpiece_tokenizer from_tokenizer_json(const std::string& path,
                                                 const std::string& config_path = "");

  // ---- tokenizer interface ----------------------------------------------------------------

  [[nodiscard]] encoding encode(std::string_view text,
                                std::optional<std::string_view> pair = std::nullopt,
                                std::size_t max_length = 0) const override {
    encoding e;
    encode_into(e, text, pair, max_length, true);
    return e;
  }

  void encode_into(encoding& out, std::string_view text,
                   std::optional<std::string_view> pair = std::nullopt,
                   std::size_t max_length = 0, bool with_tokens = true) const override;

  /// Ids of one text without special tokens and without truncation (appended to `ids`).
  void encode_ids(std::string_view text, std::vector<std::int64_t>& ids) const {
    encode_sequence(text, ids);
  }

  [[nodiscard]] std::int64_t pad_id() const override { return pad_id_; }
  [[nodiscard]] std::size_t vocab_size() const override { return tokens_.size(); }

  [[nodiscard]] std::optional<std::int64_t> token_to_id(std::string_view token) const {
    for (const auto& a : added_)
      if (a.content == token) return a.id;
    const auto id = full_.find(token.data(), token.size());
    return id < 0 ? std::nullopt : std::optional<std::int64_t>(id);
  }
  [[nodiscard]] const std::string& id_to_token(std::int64_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size())
      throw model_error("wordpiece: token id " + std::to_string(id) + " out of range");
    return tokens_[static_cast<std::size_t>(id)];
  }

  /// HF's WordPiece decoder (prefix removal + cleanup of spaces before punctuation).
  [[nodiscard]] std::string decode(const std::vector<std::int64_t>& ids,
                                   bool skip_special_tokens = true) const;

  /// The BertNormalizer alone: what HF's `normalizer.normalize_str` returns (control characters
  /// removed, whitespace -> ' ', spaces around CJK ideographs, accents stripped, lower-cased).
  [[nodiscard]] std::string normalize(std::string_view text) const;

  [[nodiscard]] const wordpiece_options& options() const { return opt_; }
  [[nodiscard]] std::size_t model_max_length() const { return opt_.model_max_length; }
  [[nodiscard]] const std::vector<added_token>& added_tokens() const { return added_; }
  /// Number of special tokens added to a single text (pair = true: to a pair).
  [[nodiscard]] std::size_t num_special_tokens(bool pair = false) const {
    return pair ? n_special_pair_ : n_special_single_;
  }

  /// Writes vocab.txt, tokenizer_config.json, special_tokens_map.json and tokenizer.json.
  void save(const std::string& directory) const override;

  /// Reads the BertTokenizer fields of a tokenizer_config.json into `opt` (and its
  /// added_tokens_decoder into `added` when not null).
  static void read_tokenizer_config(const std::string& path, wordpiece_options& opt,
                                    std::vector<added_token>* added,
                                    std::string* tokenizer_class = nullptr);

 private:
  struct scratch_buffers {
    std::string word;
    std::vector<char32_t> run;
    std::vector<std::int64_t> a, b;
  };
  static scratch_buffers& scratch() {
    thread_local scratch_buffers s;
    return s;
  }

  enum : std::uint8_t { act_skip, act_break, act_punct, act_char };

  void init();

  /// Splits on added tokens (leftmost-longest), then normalises, pre-tokenises and
  /// WordPiece-encodes each piece between them.
  void encode_sequence(std::string_view text, std::vector<std::int64_t>& ids) const;

  struct added_matcher {
    std::vector<added_token> by_length;  // longest first: leftmost-longest matching
    bool first[256]{};
  };

  template <class Segment>
  void split_on_added(std::string_view text, const added_matcher& m, std::vector<std::int64_t>& ids,
                      Segment&& segment) const {
    std::size_t seg = 0;
    for (std::size_t i = 0; i < text.size();) {
      if (!m.first[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      const added_token* hit = nullptr;
      for (const auto& a : m.by_length)
        if (text.compare(i, a.content.size(), a.content) == 0) {
          hit = &a;
          break;
        }
      if (!hit) {
        ++i;
        continue;
      }
      if (!single_word_ok(text, i, *hit)) {  // HF drops the match and scans on after it
        i += hit->content.size();
        continue;
      }
      std::size_t seg_end = i, next = i + hit->content.size();
      if (hit->lstrip)
        while (seg_end > seg && is_space_before(text, seg_end)) seg_end = prev_char(text, seg_end);
      if (hit->rstrip)
        while (next < text.size() && is_space_at(text, next)) next = next_char(text, next);
      segment(text.substr(seg, seg_end - seg));
      ids.push_back(hit->id);
      seg = i = next;
    }
    segment(text.substr(seg));
  }

  static std::size_t prev_char(std::string_view s, std::size_t i) {
    do --i;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80);
    return i;
  }
  static std::size_t next_char(std::string_view s, std::size_t i) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    return i;
  }
  static char32_t char_at(std::string_view s, std::size_t i) {
    std::size_t j = i;
    return detail::decode_utf8(reinterpret_cast<const unsigned char*>(s.data()), s.size(), j);
  }
  static bool is_space_at(std::string_view s, std::size_t i) {
    return detail::unicode_properties::instance().flags(char_at(s, i)) & detail::uf_whitespace;
  }
  static bool is_space_before(std::string_view s, std::size_t end) {
    return is_space_at(s, prev_char(s, end));
  }
  /// single_word: the match must not touch a word character (regex \w) on either side. Exact
  /// for ASCII; other characters count as word characters unless they are whitespace,
  /// punctuation or control characters (symbols such as emoji are the approximation).
  static bool single_word_ok(std::string_view s, std::size_t i, const added_token& a);

  /// The BERT normaliser, pre-tokeniser and WordPiece model over a text with no added tokens.
  void encode_plain(std::string_view text, std::vector<std::int64_t>& ids) const;

  /// Canonical ordering: puts combining mark `c` after the marks of the run that have a
  /// combining class <= its own (a stable sort by class, as NFD requires).
  static void insert_combining(std::string& word, std::size_t run_begin, char32_t c);

  /// Greedy longest-match-first WordPiece over one pre-token.
  void wordpiece(const std::string& word, std::size_t nchars, std::vector<std::int64_t>& ids) const;

  /// Truncation to `max_length` including the special tokens; pairs longest-first exactly as
  /// the Rust tokenizers do (the shorter side keeps its length when it fits in half the budget;
  /// otherwise both get half and the odd token goes to the longer, or to B on a tie).
  void truncate(std::vector<std::int64_t>& a, std::vector<std::int64_t>* b,
                std::size_t max_length) const;

  wordpiece_options opt_;
  std::vector<std::string> tokens_;  // id -> token (model vocabulary, then added tokens)
  std::size_t model_vocab_size_ = 0;
  std::vector<added_token> added_;
  added_matcher raw_added_, norm_added_;
  std::vector<template_item> single_, pair_;
  std::string source_;
  detail::piece_table full_, cont_;
  std::int64_t unk_id_ = 0;
  std::int64_t pad_id_ = 0;
  std::size_t n_special_single_ = 0, n_special_pair_ = 0;
  bool strip_ = false;
  std::uint8_t ascii_action_[128]{};
  char ascii_map_[128]{};
};

/// Loads the WordPiece tokenizer of a model folder: tokenizer.json when present (with
/// tokenizer_config.json for model_max_length and role names), else vocab.txt +
/// tokenizer_config.json (optional).
#if SBERT_DEFINITIONS
SBERT_INLINE wordpiece_tokenizer load_wordpiece(const std::string& directory) {
  namespace fs = std::filesystem;
  const fs::path dir(directory);
  const auto tj = dir / "tokenizer.json", vt = dir / "vocab.txt", cfg = dir / "tokenizer_config.json";
  const std::string cfg_path = fs::exists(cfg) ? cfg.string() : std::string();
  if (fs::exists(tj)) return wordpiece_tokenizer::from_tokenizer_json(tj.string(), cfg_path);
  if (fs::exists(vt)) return wordpiece_tokenizer::from_vocab_file(vt.string(), cfg_path);
  throw input_error(directory, 0, "",
                    "no tokenizer.json or vocab.txt: not a WordPiece tokenizer folder");
}
#else
wordpiece_tokenizer load_wordpiece(const std::string& directory);
#endif

#if SBERT_DEFINITIONS

SBERT_INLINE wordpiece_tokenizer wordpiece_tokenizer::from_vocab_file(const std::string& vocab_path,
                                                                      const std::string& config_path) {
  const std::string text = detail::read_file(vocab_path);
  std::vector<std::string> vocab;
  std::size_t line = 1;
  // Python reads vocab.txt in universal-newline mode: \n, \r\n and \r all end a line.
  for (std::size_t i = 0; i < text.size();) {
    std::size_t j = i;
    while (j < text.size() && text[j] != '\n' && text[j] != '\r') ++j;
    std::string tok = text.substr(i, j - i);
    if (auto bad = detail::find_invalid_utf8(tok); bad != std::string_view::npos)
      throw input_error(vocab_path, line, "", "invalid UTF-8 at byte " + std::to_string(bad));
    vocab.push_back(std::move(tok));
    if (j < text.size() && text[j] == '\r' && j + 1 < text.size() && text[j + 1] == '\n') ++j;
    i = j + 1;
    ++line;
  }
  if (vocab.empty()) throw input_error(vocab_path, 0, "", "empty vocabulary");
  wordpiece_options opt;
  std::vector<added_token> added;
  if (!config_path.empty()) {
    read_tokenizer_config(config_path, opt, &added);
    if (opt.mpnet_layout()) {  // read again over MPNetTokenizer's defaults
      const auto cls = opt.tokenizer_class;
      opt = wordpiece_options{};
      opt.use_mpnet_defaults();
      added.clear();
      read_tokenizer_config(config_path, opt, &added);
      opt.tokenizer_class = cls;
    }
  }
  // The role tokens are never split (transformers registers them as added tokens).
  std::unordered_map<std::string, std::int64_t> ids;
  for (std::size_t i = 0; i < vocab.size(); ++i) ids[vocab[i]] = static_cast<std::int64_t>(i);
  for (const auto* t : {&opt.pad_token, &opt.unk_token, &opt.cls_token, &opt.sep_token,
                        &opt.mask_token}) {
    auto it = ids.find(*t);
    if (it == ids.end()) continue;
    if (std::none_of(added.begin(), added.end(),
                     [&](const added_token& a) { return a.content == *t; }))
      added.push_back(added_token{*t, it->second});
  }
  for (const auto& a : added)
    if (a.id < 0 || a.id > 100'000'000)
      throw input_error(config_path, 0, "added_tokens_decoder", "token id out of range");
  try {
    return wordpiece_tokenizer(std::move(vocab), std::move(opt), std::move(added), {}, {},
                               vocab_path);
  } catch (const model_error& e) {
    throw input_error(vocab_path, 0, "", e.what());
  }
}

SBERT_INLINE wordpiece_tokenizer wordpiece_tokenizer::from_tokenizer_json(const std::string& path,
                                                                          const std::string& config_path) {
  namespace od = simdjson::ondemand;
  const detail::json_reader js{path};
  simdjson::padded_string json(detail::read_file(path));
  od::parser parser;
  auto doc = js.get(parser.iterate(json), "");
  auto root = js.get(doc.get_object(), "");

  wordpiece_options opt, from_config;
  std::string tokenizer_class;
  if (!config_path.empty()) {
    read_tokenizer_config(config_path, from_config, nullptr, &tokenizer_class);
    opt = from_config;
  }
  bool bert_normalizer = false;
  std::vector<added_token> added;
  std::vector<std::pair<std::string, std::int64_t>> vocab_entries;
  bool have_model = false, pad_named = false;
  std::string post_type;
  struct raw_item {
    bool seq;
    std::string id;
    std::int64_t type_id;
  };
  std::vector<raw_item> raw_single, raw_pair;
  std::unordered_map<std::string, std::pair<std::vector<std::int64_t>, std::vector<std::string>>>
      specials;

  auto read_template = [&](od::value v, std::vector<raw_item>& out, const char* field) {
    auto arr = js.get(v.get_array(), field);
    for (auto el : arr) {
      auto obj = js.get(js.get(std::move(el), field).get_object(), field);
      for (auto f : obj) {
        auto fld = js.get(std::move(f), field);
        const std::string kind(js.get(fld.unescaped_key(), field));
        auto inner = js.get(fld.value().get_object(), field);
        raw_item it{kind == "Sequence", "", 0};
        if (kind != "Sequence" && kind != "SpecialToken")
          throw input_error(path, 0, field, "unknown template item '" + kind + "'");
        for (auto g : inner) {
          auto gf = js.get(std::move(g), field);
          const std::string k(js.get(gf.unescaped_key(), field));
          auto val = gf.value();
          if (k == "id") it.id = js.string(val, field);
          else if (k == "type_id") it.type_id = js.get(val.get_int64(), field);
        }
        out.push_back(std::move(it));
      }
    }
  };

  for (auto f : root) {
    auto fld = js.get(std::move(f), "");
    const std::string key(js.get(fld.unescaped_key(), ""));
    auto v = fld.value();
    if (key == "added_tokens") {
      if (js.is_null(v, key)) continue;
      for (auto el : js.get(v.get_array(), key)) {
        auto obj = js.get(js.get(std::move(el), key).get_object(), key);
        added_token t;
        for (auto g : obj) {
          auto gf = js.get(std::move(g), key);
          const std::string k(js.get(gf.unescaped_key(), key));
          auto val = gf.value();
          if (k == "id") t.id = js.get(val.get_int64(), "added_tokens.id");
          else if (k == "content") t.content = js.string(val, "added_tokens.content");
          else if (k == "special") t.special = js.get(val.get_bool(), "added_tokens.special");
          else if (k == "single_word") t.single_word = js.get(val.get_bool(), key);
          else if (k == "lstrip") t.lstrip = js.get(val.get_bool(), key);
          else if (k == "rstrip") t.rstrip = js.get(val.get_bool(), key);
          else if (k == "normalized") t.normalized = js.get(val.get_bool(), key);
        }
        if (t.content.empty() || t.id < 0 || t.id > 100'000'000)
          throw input_error(path, 0, "added_tokens", "token without content or with a bad id");
        added.push_back(std::move(t));
      }
    } else if (key == "normalizer") {
      if (js.is_null(v, key)) {
        opt.clean_text = opt.handle_chinese_chars = opt.lowercase = false;
        opt.strip_accents = false;
        continue;
      }
      for (auto g : js.get(v.get_object(), key)) {
        auto gf = js.get(std::move(g), key);
        const std::string k(js.get(gf.unescaped_key(), key));
        auto val = gf.value();
        if (k == "type") {
          if (auto t = js.string(val, "normalizer.type"); t != "BertNormalizer")
            throw input_error(path, 0, "normalizer.type",
                              "unsupported normalizer '" + t + "' (sbert's WordPiece needs BertNormalizer)");
          bert_normalizer = true;
        } else if (k == "clean_text") {
          opt.clean_text = js.get(val.get_bool(), "normalizer.clean_text");
        } else if (k == "handle_chinese_chars") {
          opt.handle_chinese_chars = js.get(val.get_bool(), "normalizer.handle_chinese_chars");
        } else if (k == "strip_accents") {
          if (js.is_null(val, k)) opt.strip_accents.reset();
          else opt.strip_accents = js.get(val.get_bool(), "normalizer.strip_accents");
        } else if (k == "lowercase") {
          opt.lowercase = js.get(val.get_bool(), "normalizer.lowercase");
        }
      }
    } else if (key == "padding") {  // only the pad token's name matters here
      if (js.is_null(v, key)) continue;
      for (auto g : js.get(v.get_object(), key)) {
        auto gf = js.get(std::move(g), key);
        if (js.get(gf.unescaped_key(), key) == "pad_token") {
          auto val = gf.value();
          opt.pad_token = js.string(val, "padding.pad_token");
          pad_named = true;
        }
      }
    } else if (key == "pre_tokenizer") {
      std::string t = "null";
      if (!js.is_null(v, key))
        for (auto g : js.get(v.get_object(), key)) {
          auto gf = js.get(std::move(g), key);
          if (js.get(gf.unescaped_key(), key) == "type") {
            auto val = gf.value();
            t = js.string(val, "pre_tokenizer.type");
          }
        }
      if (t != "BertPreTokenizer")
        throw input_error(path, 0, "pre_tokenizer.type",
                          "unsupported pre-tokenizer '" + t + "' (sbert's WordPiece needs BertPreTokenizer)");
    } else if (key == "post_processor") {
      if (js.is_null(v, key)) {
        post_type = "null";
        continue;
      }
      std::pair<std::string, std::int64_t> cls, sep;
      for (auto g : js.get(v.get_object(), key)) {
        auto gf = js.get(std::move(g), key);
        const std::string k(js.get(gf.unescaped_key(), key));
        auto val = gf.value();
        if (k == "type") {
          post_type = js.string(val, "post_processor.type");
        } else if (k == "single") {
          read_template(val, raw_single, "post_processor.single");
        } else if (k == "pair") {
          read_template(val, raw_pair, "post_processor.pair");
        } else if (k == "special_tokens") {
          for (auto h : js.get(val.get_object(), "post_processor.special_tokens")) {
            auto hf = js.get(std::move(h), k);
            const std::string name(js.get(hf.unescaped_key(), k));
            auto& entry = specials[name];
            for (auto q : js.get(hf.value().get_object(), k)) {
              auto qf = js.get(std::move(q), k);
              const std::string qk(js.get(qf.unescaped_key(), k));
              auto qv = qf.value();
              if (qk == "ids")
                for (auto x : js.get(qv.get_array(), k))
                  entry.first.push_back(js.get(std::move(x).get_int64(), "special_tokens.ids"));
              else if (qk == "tokens")
                for (auto x : js.get(qv.get_array(), k))
                  entry.second.emplace_back(js.get(std::move(x).get_string(), "special_tokens.tokens"));
            }
          }
        } else if (k == "cls" || k == "sep") {  // BertProcessing: ["[CLS]", 101]
          auto& dst = k == "cls" ? cls : sep;
          int n = 0;
          for (auto x : js.get(val.get_array(), "post_processor." + k)) {
            auto xv = js.get(std::move(x), k);
            if (n == 0) dst.first = js.string(xv, "post_processor." + k);
            else dst.second = js.get(xv.get_int64(), "post_processor." + k);
            ++n;
          }
        }
      }
      if (post_type == "RobertaProcessing") {  // MPNet: every type id is 0, pairs get </s></s>
        specials[cls.first] = {{cls.second}, {cls.first}};
        specials[sep.first] = {{sep.second}, {sep.first}};
        raw_single = {{false, cls.first, 0}, {true, "A", 0}, {false, sep.first, 0}};
        raw_pair = {{false, cls.first, 0}, {true, "A", 0}, {false, sep.first, 0},
                    {false, sep.first, 0}, {true, "B", 0}, {false, sep.first, 0}};
      } else if (post_type == "BertProcessing") {
        specials[cls.first] = {{cls.second}, {cls.first}};
        specials[sep.first] = {{sep.second}, {sep.first}};
        raw_single = {{false, cls.first, 0}, {true, "A", 0}, {false, sep.first, 0}};
        raw_pair = {{false, cls.first, 0}, {true, "A", 0}, {false, sep.first, 0},
                    {true, "B", 1}, {false, sep.first, 1}};
      } else if (post_type != "TemplateProcessing") {
        throw input_error(path, 0, "post_processor.type",
                          "unsupported post-processor '" + post_type + "'");
      }
    } else if (key == "model") {
      have_model = true;
      for (auto g : js.get(v.get_object(), key)) {
        auto gf = js.get(std::move(g), key);
        const std::string k(js.get(gf.unescaped_key(), key));
        auto val = gf.value();
        if (k == "type") {
          if (auto t = js.string(val, "model.type"); t != "WordPiece")
            throw input_error(path, 0, "model.type", "not a WordPiece model: '" + t + "'");
        } else if (k == "unk_token") {
          opt.unk_token = js.string(val, "model.unk_token");
        } else if (k == "continuing_subword_prefix") {
          opt.continuing_subword_prefix = js.string(val, "model.continuing_subword_prefix");
        } else if (k == "max_input_chars_per_word") {
          opt.max_input_chars_per_word =
              static_cast<std::size_t>(js.get(val.get_uint64(), "model.max_input_chars_per_word"));
        } else if (k == "merges") {
          throw input_error(path, 0, "model", "a BPE model, not WordPiece");
        } else if (k == "vocab") {
          auto obj = js.get(val.get_object(), "model.vocab");
          for (auto h : obj) {
            auto hf = js.get(std::move(h), "model.vocab");
            std::string tok(js.get(hf.unescaped_key(), "model.vocab"));
            const auto id = js.get(hf.value().get_int64(), "model.vocab");
            if (id < 0 || id > 100'000'000)
              throw input_error(path, 0, "model.vocab", "token id out of range for '" + tok + "'");
            vocab_entries.emplace_back(std::move(tok), id);
          }
        }
      }
    }
  }
  if (!have_model) throw input_error(path, 0, "model", "missing");
  if (!config_path.empty() && bert_normalizer && tokenizer_class != "PreTrainedTokenizerFast") {
    opt.lowercase = from_config.lowercase;
    opt.strip_accents = from_config.strip_accents;
    opt.handle_chinese_chars = from_config.handle_chinese_chars;
  }
  if (vocab_entries.empty()) throw input_error(path, 0, "model.vocab", "missing or empty");
  if (post_type == "RobertaProcessing" && config_path.empty()) {
    // A WordPiece model with RoBERTa's post-processor is MPNet's: its role tokens by default.
    const auto unk = opt.unk_token, pad = opt.pad_token;
    opt.use_mpnet_defaults();
    opt.unk_token = unk;
    if (pad_named) opt.pad_token = pad;
  }

  std::int64_t max_id = 0;
  for (const auto& [t, id] : vocab_entries) max_id = std::max(max_id, id);
  std::vector<std::string> vocab(static_cast<std::size_t>(max_id) + 1);
  std::vector<bool> seen(vocab.size(), false);
  for (auto& [t, id] : vocab_entries) {
    if (seen[static_cast<std::size_t>(id)])
      throw input_error(path, 0, "model.vocab", "id " + std::to_string(id) + " used twice");
    seen[static_cast<std::size_t>(id)] = true;
    vocab[static_cast<std::size_t>(id)] = std::move(t);
  }
  if (std::find(seen.begin(), seen.end(), false) != seen.end())
    throw input_error(path, 0, "model.vocab", "ids are not contiguous from 0");

  auto build = [&](const std::vector<raw_item>& raw, const char* field) {
    std::vector<template_item> out;
    for (const auto& r : raw) {
      template_item it;
      it.type_id = r.type_id;
      if (r.seq) {
        it.is_sequence = true;
        if (r.id != "A" && r.id != "B")
          throw input_error(path, 0, field, "sequence id must be A or B, got '" + r.id + "'");
        it.sequence = r.id == "A" ? 0 : 1;
      } else {
        auto sp = specials.find(r.id);
        if (sp == specials.end())
          throw input_error(path, 0, field, "special token '" + r.id + "' not in special_tokens");
        it.special = r.id;
        it.ids = sp->second.first;
        it.tokens = sp->second.second;
        if (it.ids.size() != it.tokens.size())
          throw input_error(path, 0, field, "special token '" + r.id + "': ids/tokens differ in length");
      }
      out.push_back(std::move(it));
    }
    return out;
  };
  std::vector<template_item> single, pair;
  if (post_type == "null") {
    single = {template_item{true, 0, "", {}, {}, 0}};
    pair = {template_item{true, 0, "", {}, {}, 0}, template_item{true, 1, "", {}, {}, 1}};
  } else if (!post_type.empty()) {
    single = build(raw_single, "post_processor.single");
    pair = build(raw_pair, "post_processor.pair");
    // Name the role tokens after the template, so save() writes consistent files.
    for (const auto& it : single)
      if (!it.is_sequence) {
        if (&it == &single.front()) opt.cls_token = it.special;
        else opt.sep_token = it.special;
      }
  }
  try {
    return wordpiece_tokenizer(std::move(vocab), std::move(opt), std::move(added),
                               std::move(single), std::move(pair), path);
  } catch (const model_error& e) {
    throw input_error(path, 0, "", e.what());
  }
}

SBERT_INLINE void wordpiece_tokenizer::encode_into(encoding& out, std::string_view text,
                                                   std::optional<std::string_view> pair,
                                                   std::size_t max_length, bool with_tokens) const {
  auto& s = scratch();
  s.a.clear();
  encode_sequence(text, s.a);
  if (pair) {
    s.b.clear();
    encode_sequence(*pair, s.b);
  }
  if (max_length) truncate(s.a, pair ? &s.b : nullptr, max_length);
  const auto& tmpl = pair ? pair_ : single_;
  out.input_ids.clear();
  out.token_type_ids.clear();
  out.attention_mask.clear();
  out.tokens.clear();
  for (const auto& it : tmpl) {
    if (it.is_sequence) {
      const auto& seq = it.sequence == 0 ? s.a : s.b;
      out.input_ids.insert(out.input_ids.end(), seq.begin(), seq.end());
      out.token_type_ids.insert(out.token_type_ids.end(), seq.size(), it.type_id);
      if (with_tokens)
        for (auto id : seq) out.tokens.push_back(tokens_[static_cast<std::size_t>(id)]);
    } else {
      out.input_ids.insert(out.input_ids.end(), it.ids.begin(), it.ids.end());
      out.token_type_ids.insert(out.token_type_ids.end(), it.ids.size(), it.type_id);
      if (with_tokens) out.tokens.insert(out.tokens.end(), it.tokens.begin(), it.tokens.end());
    }
  }
  out.attention_mask.assign(out.input_ids.size(), 1);
}

SBERT_INLINE std::string wordpiece_tokenizer::decode(const std::vector<std::int64_t>& ids,
                                                     bool skip_special_tokens) const {
  std::string out;
  bool first = true;
  const auto& prefix = opt_.continuing_subword_prefix;
  for (auto id : ids) {
    if (skip_special_tokens && std::any_of(added_.begin(), added_.end(), [&](const added_token& a) {
          return a.special && a.id == id;
        }))
      continue;
    std::string t = id_to_token(id);
    if (!first) {
      if (!prefix.empty() && t.compare(0, prefix.size(), prefix) == 0) t.erase(0, prefix.size());
      else t.insert(t.begin(), ' ');
    }
    first = false;
    static const std::pair<std::string_view, std::string_view> cleanup[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : cleanup)
      for (std::size_t p = t.find(from); p != std::string::npos; p = t.find(from, p + to.size()))
        t.replace(p, from.size(), to);
    out += t;
  }
  return out;
}

SBERT_INLINE std::string wordpiece_tokenizer::normalize(std::string_view text) const {
  if (auto bad = detail::find_invalid_utf8(text); bad != std::string_view::npos)
    throw input_error("", 0, "text", "invalid UTF-8 at byte " + std::to_string(bad));
  const auto& props = detail::unicode_properties::instance();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  auto lower = [&](char32_t c) {
    if (opt_.lowercase && (props.flags(c) & detail::uf_lower)) {
      char32_t lo[2];
      const int k = detail::to_lower(c, lo);
      cps.insert(cps.end(), lo, lo + k);
    } else {
      cps.push_back(c);
    }
  };
  for (std::size_t i = 0; i < text.size();) {
    char32_t c = detail::decode_utf8(p, text.size(), i);
    auto f = props.flags(c);
    if (opt_.clean_text) {
      if (c == 0 || c == 0xFFFD || ((f & detail::uf_control) && c != '\t' && c != '\n' && c != '\r'))
        continue;
      if (f & detail::uf_whitespace) {
        c = ' ';
        f = props.flags(c);
      }
    }
    const bool cjk = opt_.handle_chinese_chars && (f & detail::uf_cjk);
    if (cjk) cps.push_back(' ');
    if (strip_) {
      char32_t d[8];
      const int k = detail::nfd_decompose(c, d);
      for (int j = 0; j < k; ++j)
        if (!(props.flags(d[j]) & detail::uf_nonspacing)) lower(d[j]);
    } else {
      lower(c);
    }
    if (cjk) cps.push_back(' ');
  }
  if (strip_) {  // canonical ordering of the remaining combining marks
    for (std::size_t i = 0; i < cps.size();) {
      if (!detail::combining_class(cps[i])) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < cps.size() && detail::combining_class(cps[j])) ++j;
      std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i), cps.begin() + static_cast<std::ptrdiff_t>(j),
                       [](char32_t x, char32_t y) { return detail::combining_class(x) < detail::combining_class(y); });
      i = j;
    }
  }
  std::string out;
  out.reserve(cps.size());
  for (auto c : cps) detail::append_utf8(out, c);
  return out;
}

SBERT_INLINE void wordpiece_tokenizer::save(const std::string& directory) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) throw model_error(directory + ": cannot create directory: " + ec.message());
  const fs::path dir(directory);
  auto write = [&](const char* name, const std::string& text) {
    const auto p = (dir / name).string();
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw model_error(p + ": write failed");
  };
  using json::value;
  json::dump_options pretty;  // as transformers writes them: indent 2, UTF-8 kept
  pretty.indent = 2;
  pretty.ensure_ascii = false;

  std::string vocab_txt;
  for (std::size_t i = 0; i < model_vocab_size_; ++i) {
    if (tokens_[i].find_first_of("\r\n") != std::string::npos)
      throw model_error("wordpiece: token " + std::to_string(i) +
                        " contains a line break and cannot be written to vocab.txt");
    vocab_txt += tokens_[i];
    vocab_txt += '\n';
  }
  write("vocab.txt", vocab_txt);

  auto token_obj = [](const added_token& a) {
    return value(value::object{{"content", a.content}, {"lstrip", a.lstrip},
                               {"normalized", a.normalized}, {"rstrip", a.rstrip},
                               {"single_word", a.single_word}});
  };
  auto find_added = [&](const std::string& content) -> std::optional<added_token> {
    for (const auto& a : added_)
      if (a.content == content) return a;
    return std::nullopt;
  };
  value decoder_map = value::make_object();
  std::vector<added_token> sorted = added_;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (const auto& a : sorted) {
    auto o = token_obj(a);
    o.set("special", a.special);
    decoder_map.set(std::to_string(a.id), o);
  }
  value cfg = value::make_object();
  cfg.set("added_tokens_decoder", decoder_map);
  if (opt_.mpnet_layout()) cfg.set("bos_token", opt_.cls_token);  // keys in sorted order
  cfg.set("clean_up_tokenization_spaces", true);
  cfg.set("cls_token", opt_.cls_token);
  cfg.set("do_basic_tokenize", true);
  cfg.set("do_lower_case", opt_.lowercase);
  if (opt_.mpnet_layout()) cfg.set("eos_token", opt_.sep_token);
  cfg.set("mask_token", opt_.mask_token);
  if (opt_.model_max_length) cfg.set("model_max_length", opt_.model_max_length);
  cfg.set("never_split", nullptr);
  cfg.set("pad_token", opt_.pad_token);
  cfg.set("sep_token", opt_.sep_token);
  cfg.set("strip_accents", opt_.strip_accents ? value(*opt_.strip_accents) : value());
  cfg.set("tokenize_chinese_chars", opt_.handle_chinese_chars);
  cfg.set("tokenizer_class", opt_.tokenizer_class);
  cfg.set("unk_token", opt_.unk_token);
  write("tokenizer_config.json", json::dump(cfg, pretty) + "\n");

  value stm = value::make_object();
  for (auto [role, tok] : {std::pair{"cls_token", &opt_.cls_token}, {"mask_token", &opt_.mask_token},
                           {"pad_token", &opt_.pad_token}, {"sep_token", &opt_.sep_token},
                           {"unk_token", &opt_.unk_token}}) {
    if (auto a = find_added(*tok)) stm.set(role, token_obj(*a));
    else if (token_to_id(*tok)) stm.set(role, *tok);
  }
  write("special_tokens_map.json", json::dump(stm, pretty) + "\n");

  // tokenizer.json, in the layout the Rust library writes.
  value added = value::make_array();
  for (const auto& a : sorted)
    added.push(value(value::object{{"id", a.id}, {"content", a.content},
                                   {"single_word", a.single_word}, {"lstrip", a.lstrip},
                                   {"rstrip", a.rstrip}, {"normalized", a.normalized},
                                   {"special", a.special}}));
  auto tmpl = [](const std::vector<template_item>& items) {
    value arr = value::make_array();
    for (const auto& it : items) {
      if (it.is_sequence)
        arr.push(value(value::object{
            {"Sequence", value(value::object{{"id", it.sequence == 0 ? "A" : "B"},
                                              {"type_id", it.type_id}})}}));
      else
        arr.push(value(value::object{
            {"SpecialToken", value(value::object{{"id", it.special}, {"type_id", it.type_id}})}}));
    }
    return arr;
  };
  value special_tokens = value::make_object();
  for (const auto* items : {&single_, &pair_})
    for (const auto& it : *items)
      if (!it.is_sequence) {
        value ids = value::make_array(), toks = value::make_array();
        for (auto id : it.ids) ids.push(id);
        for (const auto& t : it.tokens) toks.push(t);
        special_tokens.set(it.special, value(value::object{{"id", it.special}, {"ids", ids},
                                                           {"tokens", toks}}));
      }
  value::object vocab_items;  // built directly: value::set() is linear per key
  vocab_items.reserve(model_vocab_size_);
  for (std::size_t i = 0; i < model_vocab_size_; ++i)
    vocab_items.emplace_back(tokens_[i], value(static_cast<std::int64_t>(i)));
  value vocab(std::move(vocab_items));
  value tj(value::object{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", value(value::object{
                         {"type", "BertNormalizer"},
                         {"clean_text", opt_.clean_text},
                         {"handle_chinese_chars", opt_.handle_chinese_chars},
                         {"strip_accents", opt_.strip_accents ? value(*opt_.strip_accents) : value()},
                         {"lowercase", opt_.lowercase}})},
      {"pre_tokenizer", value(value::object{{"type", "BertPreTokenizer"}})},
      {"post_processor", value(value::object{{"type", "TemplateProcessing"},
                                             {"single", tmpl(single_)},
                                             {"pair", tmpl(pair_)},
                                             {"special_tokens", special_tokens}})},
      {"decoder", value(value::object{{"type", "WordPiece"},
                                      {"prefix", opt_.continuing_subword_prefix},
                                      {"cleanup", true}})},
      {"model", value(value::object{{"type", "WordPiece"},
                                    {"unk_token", opt_.unk_token},
                                    {"continuing_subword_prefix", opt_.continuing_subword_prefix},
                                    {"max_input_chars_per_word", opt_.max_input_chars_per_word},
                                    {"vocab", vocab}})}});
  write("tokenizer.json", json::dump(tj, pretty));
}

SBERT_INLINE void wordpiece_tokenizer::read_tokenizer_config(const std::string& path,
                                                             wordpiece_options& opt,
                                                             std::vector<added_token>* added,
                                                             std::string* tokenizer_class) {
  namespace od = simdjson::ondemand;
  const detail::json_reader js{path};
  simdjson::padded_string json(detail::read_file(path));
  od::parser parser;
  auto doc = js.get(parser.iterate(json), "");
  for (auto f : js.get(doc.get_object(), "")) {
    auto fld = js.get(std::move(f), "");
    const std::string key(js.get(fld.unescaped_key(), ""));
    auto v = fld.value();
    if (js.is_null(v, key)) continue;
    if (key == "do_lower_case") opt.lowercase = js.get(v.get_bool(), key);
    else if (key == "strip_accents") opt.strip_accents = js.get(v.get_bool(), key);
    else if (key == "tokenize_chinese_chars") opt.handle_chinese_chars = js.get(v.get_bool(), key);
    else if (key == "model_max_length") {
      // transformers writes 1e30 (as a huge integer) for "no limit".
      const double d = js.get(v.get_double(), key);
      opt.model_max_length = d > 0 && d < 1e9 ? static_cast<std::size_t>(d) : 0;
    } else if (key == "unk_token") opt.unk_token = js.token_content(v, key);
    else if (key == "cls_token") opt.cls_token = js.token_content(v, key);
    else if (key == "sep_token") opt.sep_token = js.token_content(v, key);
    else if (key == "pad_token") opt.pad_token = js.token_content(v, key);
    else if (key == "mask_token") opt.mask_token = js.token_content(v, key);
    else if (key == "tokenizer_class") {
      opt.tokenizer_class = js.string(v, key);
      if (tokenizer_class) *tokenizer_class = opt.tokenizer_class;
    }
    else if (key == "added_tokens_decoder" && added) {
      for (auto g : js.get(v.get_object(), key)) {
        auto gf = js.get(std::move(g), key);
        added_token t;
        const std::string id_text(js.get(gf.unescaped_key(), key));
        try {
          std::size_t used = 0;
          t.id = std::stoll(id_text, &used);
          if (used != id_text.size()) throw std::invalid_argument(id_text);
        } catch (const std::exception&) {
          throw input_error(path, 0, key, "token id '" + id_text + "' is not an integer");
        }
        for (auto h : js.get(gf.value().get_object(), key)) {
          auto hf = js.get(std::move(h), key);
          const std::string k(js.get(hf.unescaped_key(), key));
          auto val = hf.value();
          if (k == "content") t.content = js.string(val, key);
          else if (k == "special") t.special = js.get(val.get_bool(), key);
          else if (k == "single_word") t.single_word = js.get(val.get_bool(), key);
          else if (k == "lstrip") t.lstrip = js.get(val.get_bool(), key);
          else if (k == "rstrip") t.rstrip = js.get(val.get_bool(), key);
          else if (k == "normalized") t.normalized = js.get(val.get_bool(), key);
        }
        if (t.content.empty()) throw input_error(path, 0, key, "token without content");
        added->push_back(std::move(t));
      }
    }
  }
}

SBERT_INLINE void wordpiece_tokenizer::init() {
  if (tokens_.empty()) throw model_error("wordpiece: empty vocabulary");
  if (tokens_.size() > 0x7FFFFFFF) throw model_error("wordpiece: vocabulary too large");
  const auto& prefix = opt_.continuing_subword_prefix;
  std::vector<std::pair<std::string_view, std::int64_t>> full, cont;
  full.reserve(model_vocab_size_);
  for (std::size_t i = 0; i < model_vocab_size_; ++i) {
    const std::string_view t = tokens_[i];
    full.emplace_back(t, static_cast<std::int64_t>(i));
    if (!prefix.empty() && t.size() > prefix.size() && t.substr(0, prefix.size()) == prefix)
      cont.emplace_back(t.substr(prefix.size()), static_cast<std::int64_t>(i));
  }
  full_.build(full);
  cont_.build(cont);
  if (prefix.empty()) cont_ = full_;

  unk_id_ = full_.find(opt_.unk_token.data(), opt_.unk_token.size());
  if (unk_id_ < 0) throw model_error("wordpiece: unk token '" + opt_.unk_token + "' is not in the vocabulary");

  // Added tokens may extend the id space beyond the model vocabulary.
  for (const auto& a : added_) {
    if (a.content.empty()) throw model_error("wordpiece: empty added token");
    if (a.id < 0) throw model_error("wordpiece: negative added token id");
    const auto id = static_cast<std::size_t>(a.id);
    if (id >= tokens_.size()) tokens_.resize(id + 1);
    if (id < model_vocab_size_ && tokens_[id] != a.content)
      throw model_error("wordpiece: added token '" + a.content + "' has id " + std::to_string(a.id) +
                        ", which the vocabulary gives to '" + tokens_[id] + "'");
    tokens_[id] = a.content;
  }

  auto special_item = [&](const std::string& tok, std::int64_t type_id) {
    const auto id = token_to_id(tok);
    if (!id) throw model_error("wordpiece: special token '" + tok + "' is not in the vocabulary");
    return template_item{false, 0, tok, {*id}, {tok}, type_id};
  };
  if (single_.empty())
    single_ = {special_item(opt_.cls_token, 0), template_item{true, 0, "", {}, {}, 0},
               special_item(opt_.sep_token, 0)};
  if (pair_.empty() && opt_.mpnet_layout())  // <s> A </s></s> B </s>, every type id 0
    pair_ = {special_item(opt_.cls_token, 0), template_item{true, 0, "", {}, {}, 0},
             special_item(opt_.sep_token, 0), special_item(opt_.sep_token, 0),
             template_item{true, 1, "", {}, {}, 0}, special_item(opt_.sep_token, 0)};
  if (pair_.empty())
    pair_ = {special_item(opt_.cls_token, 0), template_item{true, 0, "", {}, {}, 0},
             special_item(opt_.sep_token, 0), template_item{true, 1, "", {}, {}, 1},
             special_item(opt_.sep_token, 1)};
  n_special_single_ = n_special_pair_ = 0;
  for (const auto& it : single_) {
    if (!it.is_sequence) n_special_single_ += it.ids.size();
    for (auto id : it.ids)
      if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size())
        throw model_error("wordpiece: special token id " + std::to_string(id) + " out of range");
  }
  for (const auto& it : pair_) {
    if (!it.is_sequence) n_special_pair_ += it.ids.size();
    for (auto id : it.ids)
      if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size())
        throw model_error("wordpiece: special token id " + std::to_string(id) + " out of range");
  }
  pad_id_ = token_to_id(opt_.pad_token).value_or(0);

  strip_ = opt_.strip_accents.value_or(opt_.lowercase);
  const auto& props = detail::unicode_properties::instance();
  for (unsigned b = 0; b < 128; ++b) {
    const auto f = props.flags(b);
    std::uint8_t act = act_char;
    char mapped = static_cast<char>(b);
    if (opt_.clean_text && (b == 0 || (f & detail::uf_control)) && b != '\t' && b != '\n' && b != '\r')
      act = act_skip;
    else if (f & detail::uf_whitespace) act = act_break;
    else if (f & detail::uf_punctuation) act = act_punct;
    else if (opt_.lowercase && b >= 'A' && b <= 'Z') mapped = static_cast<char>(b + 32);
    ascii_action_[b] = act;
    ascii_map_[b] = mapped;
  }
  // Added tokens: normalized=false ones match the raw text, normalized=true ones the
  // normalised text (their content normalised the same way), as HF's AddedVocabulary does.
  raw_added_ = {};
  norm_added_ = {};
  for (const auto& a : added_) {
    auto& m = a.normalized ? norm_added_ : raw_added_;
    added_token t = a;
    if (a.normalized) t.content = normalize(a.content);
    if (t.content.empty()) continue;
    m.first[static_cast<unsigned char>(t.content[0])] = true;
    m.by_length.push_back(std::move(t));
  }
  for (auto* m : {&raw_added_, &norm_added_})
    std::stable_sort(m->by_length.begin(), m->by_length.end(),
                     [](const added_token& x, const added_token& y) { return x.content.size() > y.content.size(); });
}

SBERT_INLINE void wordpiece_tokenizer::encode_sequence(std::string_view text,
                                                       std::vector<std::int64_t>& ids) const {
  if (auto bad = detail::find_invalid_utf8(text); bad != std::string_view::npos)
    throw input_error("", 0, "text", "invalid UTF-8 at byte " + std::to_string(bad));
  if (raw_added_.by_length.empty() && norm_added_.by_length.empty()) {
    encode_plain(text, ids);
    return;
  }
  split_on_added(text, raw_added_, ids, [&](std::string_view seg) {
    if (norm_added_.by_length.empty()) {
      encode_plain(seg, ids);
      return;
    }
    // Slow path, only with normalized added tokens: the BERT normaliser is idempotent, so the
    // pieces of the normalised text can go through encode_plain again.
    const std::string normalized = normalize(seg);
    split_on_added(normalized, norm_added_, ids, [&](std::string_view piece) { encode_plain(piece, ids); });
  });
}

SBERT_INLINE bool wordpiece_tokenizer::single_word_ok(std::string_view s, std::size_t i,
                                                      const added_token& a) {
  if (!a.single_word) return true;
  auto wordy = [&](std::size_t at) {
    const char32_t c = char_at(s, at);
    if (c < 0x80)
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    const auto f = detail::unicode_properties::instance().flags(c);
    return !(f & (detail::uf_whitespace | detail::uf_punctuation | detail::uf_control));
  };
  if (i > 0 && wordy(prev_char(s, i))) return false;
  const std::size_t end = i + a.content.size();
  return end >= s.size() || !wordy(end);
}

SBERT_INLINE void wordpiece_tokenizer::encode_plain(std::string_view text,
                                                    std::vector<std::int64_t>& ids) const {
  auto& s = scratch();
  std::string& word = s.word;
  word.clear();
  std::size_t nchars = 0;
  std::size_t run_begin = std::string::npos;  // trailing run of combining marks (NFD order)
  const auto& props = detail::unicode_properties::instance();
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();

  auto flush = [&] {
    if (!word.empty()) wordpiece(word, nchars, ids);
    word.clear();
    nchars = 0;
    run_begin = std::string::npos;
  };
  auto append = [&](char32_t c, std::uint8_t f) {
    if (strip_ && (f & detail::uf_combining)) {
      if (run_begin != std::string::npos) {
        insert_combining(word, run_begin, c);
        ++nchars;
        return;
      }
      run_begin = word.size();
    } else {
      run_begin = std::string::npos;
    }
    detail::append_utf8(word, c);
    ++nchars;
  };
  // The pre-tokeniser's view of one normalised character.
  auto emit = [&](char32_t c) {
    const auto f = props.flags(c);
    if (f & detail::uf_whitespace) {
      flush();
    } else if (f & detail::uf_punctuation) {
      flush();
      detail::append_utf8(word, c);
      nchars = 1;
      flush();
    } else {
      append(c, f);
    }
  };
  auto emit_lowered = [&](char32_t c, std::uint8_t f) {
    if (opt_.lowercase && (f & detail::uf_lower)) {
      char32_t lo[2];
      const int k = detail::to_lower(c, lo);
      for (int j = 0; j < k; ++j) emit(lo[j]);
    } else {
      emit(c);
    }
  };

  for (std::size_t i = 0; i < n;) {
    const unsigned b = p[i];
    if (b < 0x80) {
      ++i;
      switch (ascii_action_[b]) {
        case act_skip: break;
        case act_break: flush(); break;
        case act_punct:
          flush();
          word.push_back(static_cast<char>(b));
          nchars = 1;
          flush();
          break;
        default: {
          // A run of ordinary ASCII characters: copied (lower-cased) in one go.
          std::size_t j = i;
          while (j < n && p[j] < 0x80 && ascii_action_[p[j]] == act_char) ++j;
          const std::size_t old = word.size();
          word.resize(old + (j - i) + 1);
          char* dst = word.data() + old;
          *dst++ = ascii_map_[b];
          for (std::size_t k = i; k < j; ++k) *dst++ = ascii_map_[p[k]];
          nchars += j - i + 1;
          i = j;
          run_begin = std::string::npos;
        }
      }
      continue;
    }
    const char32_t c = detail::decode_utf8(p, n, i);  // validated by the caller
    const auto f = props.flags(c);
    if (opt_.clean_text && (c == 0xFFFD || (f & detail::uf_control))) continue;
    if (f & detail::uf_whitespace) {
      flush();
      continue;
    }
    const bool cjk = opt_.handle_chinese_chars && (f & detail::uf_cjk);
    if (cjk) flush();
    if (strip_) {
      char32_t d[8];
      int k = 1;
      d[0] = c;
      if (f & detail::uf_decomposes) k = detail::nfd_decompose(c, d);
      for (int j = 0; j < k; ++j) {
        const auto fd = j == 0 && k == 1 ? f : props.flags(d[j]);
        if (fd & detail::uf_nonspacing) continue;
        emit_lowered(d[j], fd);
      }
    } else {
      emit_lowered(c, f);
    }
    if (cjk) flush();
  }
  flush();
}

SBERT_INLINE void wordpiece_tokenizer::insert_combining(std::string& word, std::size_t run_begin,
                                                        char32_t c) {
  auto& run = scratch().run;
  run.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(word.data());
  for (std::size_t i = run_begin; i < word.size();) run.push_back(detail::decode_utf8(p, word.size(), i));
  const auto cc = detail::combining_class(c);
  auto pos = run.end();
  while (pos != run.begin() && detail::combining_class(*(pos - 1)) > cc) --pos;
  run.insert(pos, c);
  word.resize(run_begin);
  for (auto r : run) detail::append_utf8(word, r);
}

SBERT_INLINE void wordpiece_tokenizer::wordpiece(const std::string& word, std::size_t nchars,
                                                 std::vector<std::int64_t>& ids) const {
  if (nchars > opt_.max_input_chars_per_word) {
    ids.push_back(unk_id_);
    return;
  }
  const std::size_t mark = ids.size();
  const std::size_t n = word.size();
  const char* w = word.data();
  std::size_t start = 0;
  while (start < n) {
    const auto& table = start == 0 ? full_ : cont_;
    std::size_t end = std::min(n, start + table.max_len());
    while (end < n && end > start && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80) --end;
    std::int64_t found = -1;
    while (end > start) {
      found = table.find(w + start, end - start);
      if (found >= 0) break;
      do --end;
      while (end > start && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {
      ids.resize(mark);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

SBERT_INLINE void wordpiece_tokenizer::truncate(std::vector<std::int64_t>& a,
                                                std::vector<std::int64_t>* b,
                                                std::size_t max_length) const {
  const std::size_t specials = b ? n_special_pair_ : n_special_single_;
  const std::size_t budget = max_length > specials ? max_length - specials : 0;
  if (!b) {
    if (a.size() > budget) a.resize(budget);
    return;
  }
  if (a.size() + b->size() <= budget) return;
  if (budget == 0) {
    a.clear();
    b->clear();
    return;
  }
  std::size_t n1 = a.size(), n2 = b->size();
  const bool swap = n1 > n2;
  if (swap) std::swap(n1, n2);
  n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = budget / 2;
    n2 = n1 + budget % 2;
  }
  if (swap) std::swap(n1, n2);
  if (a.size() > n1) a.resize(n1);
  if (b->size() > n2) b->resize(n2);
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::models
