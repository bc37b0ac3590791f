// WordPiece against the Hugging Face Rust tokenizer's own output (shared/models/reference) and
// the Python BertTokenizer's (shared/reference/embeddings.json): exact match, no tolerance.
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "catch.hpp"
#include "sbert/error.hpp"
#include "sbert/models/tokenizers/wordpiece.hpp"

namespace fs = std::filesystem;
using namespace std::literals;
using sbert::models::encoding;
using sbert::models::load_wordpiece;
using sbert::models::wordpiece_tokenizer;

namespace {

std::string bert_dir() { return sbert::test::shared_dir() + "/models/bert-base-uncased"; }

struct reference_case {
  std::string text;
  std::optional<std::string> pair;
  std::size_t max_length = 0;
  std::vector<std::string> tokens;
  std::vector<std::int64_t> ids, type_ids, attention_mask;
  std::string decoded;
};

std::vector<std::int64_t> int_array(simdjson::dom::element e) {
  std::vector<std::int64_t> out;
  for (auto x : e.get_array()) out.push_back(x.get_int64().value());
  return out;
}

std::vector<std::string> string_array(simdjson::dom::element e) {
  std::vector<std::string> out;
  for (auto x : e.get_array()) out.emplace_back(x.get_string().value());
  return out;
}

std::vector<reference_case> load_reference() {
  const auto path = sbert::test::shared_dir() + "/models/reference/bert-base-uncased_wordpiece_reference.jsonl";
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<reference_case> cases;
  simdjson::dom::parser parser;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    simdjson::dom::element d = parser.parse(line);
    reference_case c;
    c.text = std::string(d["text"].get_string().value());
    if (!d["text_pair"].is_null()) c.pair = std::string(d["text_pair"].get_string().value());
    if (!d["max_length"].is_null()) c.max_length = static_cast<std::size_t>(d["max_length"].get_int64().value());
    c.tokens = string_array(d["tokens"]);
    c.ids = int_array(d["ids"]);
    c.type_ids = int_array(d["type_ids"]);
    c.attention_mask = int_array(d["attention_mask"]);
    c.decoded = std::string(d["decoded"].get_string().value());
    cases.push_back(std::move(c));
  }
  return cases;
}

void check_reference(const wordpiece_tokenizer& tok) {
  const auto cases = load_reference();
  REQUIRE(cases.size() == 114);
  std::size_t pairs = 0, truncated = 0;
  for (const auto& c : cases) {
    INFO("text: " << c.text << " | pair: " << c.pair.value_or("<none>") << " | max_length " << c.max_length);
    std::optional<std::string_view> pair;
    if (c.pair) pair = *c.pair;
    const encoding e = tok.encode(c.text, pair, c.max_length);
    CHECK(e.tokens == c.tokens);
    CHECK(e.input_ids == c.ids);
    CHECK(e.token_type_ids == c.type_ids);
    CHECK(e.attention_mask == c.attention_mask);
    CHECK(tok.decode(e.input_ids) == c.decoded);
    pairs += c.pair.has_value();
    truncated += c.max_length > 0;
  }
  CHECK(pairs == 30);
  CHECK(truncated == 20);
}

/// An integer field of a JSON file in the reference folder (for example tokenizer_config.json's
/// model_max_length), so that no test hard-codes a value of one reference set.
std::int64_t reference_int(const std::string& file, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.load(sbert::test::reference_dir() + "/" + file);
  return doc[key].get_int64().value();
}

std::string temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("sbert_wordpiece_" + name + "_" + std::to_string(std::random_device{}()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A small vocabulary for behaviour tests that do not need BERT's: [PAD] [UNK] [CLS] [SEP] [MASK]
// then the letters a..z (ids 5..30), "##b", "un", "##aff", "##able".
wordpiece_tokenizer tiny(sbert::models::wordpiece_options opt = {}) {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (char c = 'a'; c <= 'z'; ++c) v.emplace_back(1, c);
  for (const char* t : {"##b", "un", "##aff", "##able"}) v.emplace_back(t);
  return wordpiece_tokenizer(v, opt);
}

std::string letters(std::size_t n) {  // "a b c ..." -> n tokens
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += static_cast<char>('a' + i % 26);
  }
  return s;
}

}  // namespace

TEST_CASE("wordpiece: all reference cases from tokenizer.json", "[tokenizers][wordpiece]") {
  const auto tok = wordpiece_tokenizer::from_tokenizer_json(bert_dir() + "/tokenizer.json");
  CHECK(tok.vocab_size() == 30522);
  CHECK(tok.pad_id() == 0);
  check_reference(tok);
}

TEST_CASE("wordpiece: all reference cases from vocab.txt + tokenizer_config.json", "[tokenizers][wordpiece]") {
  const auto tok = wordpiece_tokenizer::from_vocab_file(bert_dir() + "/vocab.txt",
                                                        bert_dir() + "/tokenizer_config.json");
  CHECK(tok.vocab_size() == 30522);
  check_reference(tok);
}

TEST_CASE("wordpiece: load_wordpiece prefers tokenizer.json and falls back to vocab.txt",
          "[tokenizers][wordpiece][reference]") {
  const auto a = load_wordpiece(bert_dir());                              // tokenizer.json
  const auto b = load_wordpiece(sbert::test::reference_dir() + "/tiny-bert-st");  // vocab.txt only
  const auto model_max_length = reference_int("tiny-bert-st/tokenizer_config.json", "model_max_length");
  REQUIRE(model_max_length > 0);
  CHECK(b.model_max_length() == static_cast<std::size_t>(model_max_length));
  CHECK(a.model_max_length() == 0);
  CHECK(b.options().lowercase);
  const auto ea = a.encode("Hello, WORLD! Ünïcödé 你好");
  const auto eb = b.encode("Hello, WORLD! Ünïcödé 你好");
  CHECK(ea.input_ids == eb.input_ids);
  CHECK(ea.tokens == eb.tokens);
}

TEST_CASE("wordpiece: Python reference tokenization of embeddings.json at its max_seq_length",
          "[tokenizers][wordpiece][reference]") {
  const auto path = sbert::test::reference_dir() + "/embeddings.json";
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.load(path);
  const auto max_len = static_cast<std::size_t>(doc["max_seq_length"].get_int64().value());
  REQUIRE(max_len > 2);  // room for [CLS] and [SEP] and at least one token
  std::vector<std::string> sentences = string_array(doc["sentences"]);
  REQUIRE(!sentences.empty());
  simdjson::dom::array tokenized = doc["tokenized"].get_array();
  REQUIRE(tokenized.size() == sentences.size());
  const auto folder = load_wordpiece(sbert::test::reference_dir() + "/tiny-bert-st");
  const auto json = load_wordpiece(bert_dir());
  std::size_t i = 0, truncated = 0, longest = 0;
  for (auto t : tokenized) {
    INFO("sentence " << i << ": " << sentences[i]);
    const auto expected_ids = int_array(t["input_ids"]);
    CHECK(expected_ids.size() <= max_len);
    for (const auto* tok : {&folder, &json}) {
      const auto e = tok->encode(sentences[i], std::nullopt, max_len);
      CHECK(e.input_ids == expected_ids);
      CHECK(e.token_type_ids == int_array(t["token_type_ids"]));
      CHECK(e.attention_mask == int_array(t["attention_mask"]));
      CHECK(e.tokens == string_array(t["tokens"]));
    }
    // Truncation happens exactly where the untruncated text is longer than max_seq_length.
    const auto untruncated = folder.encode(sentences[i]).input_ids.size();
    CHECK(expected_ids.size() == std::min(untruncated, max_len));
    truncated += untruncated > max_len;
    longest = std::max(longest, expected_ids.size());
    ++i;
  }
  CHECK(i == sentences.size());
  // The long edge case, where this reference set kept it: its untruncated token count is
  // recorded, and it is truncated to max_seq_length.
  if (auto long_sentence = doc["long_sentence"]; !long_sentence.error()) {
    const auto index = static_cast<std::size_t>(long_sentence["index"].get_int64().value());
    const auto count =
        static_cast<std::size_t>(long_sentence["untruncated_token_count_with_special_tokens"].get_int64().value());
    REQUIRE(index < sentences.size());
    CHECK(count > max_len);
    CHECK(folder.encode(sentences[index]).input_ids.size() == count);
    CHECK(folder.encode(sentences[index], std::nullopt, max_len).input_ids.size() == max_len);
    CHECK(truncated >= 1);
  }

  // The padded batch: right-padded with id 0 / mask 0 to the longest text.
  std::vector<std::string_view> views(sentences.begin(), sentences.end());
  const auto batch = folder.encode_batch(views, max_len);
  REQUIRE(batch.batch == sentences.size());
  REQUIRE(batch.seq_len == longest);
  std::vector<std::int64_t> ids, types, mask;
  std::size_t rows = 0;
  for (auto row : doc["padded_batch"]["input_ids"].get_array()) {
    const auto r = int_array(row);
    CHECK(r.size() == longest);
    for (auto x : r) ids.push_back(x);
    ++rows;
  }
  CHECK(rows == sentences.size());
  for (auto row : doc["padded_batch"]["token_type_ids"].get_array())
    for (auto x : int_array(row)) types.push_back(x);
  for (auto row : doc["padded_batch"]["attention_mask"].get_array())
    for (auto x : int_array(row)) mask.push_back(x);
  CHECK(batch.input_ids == ids);
  CHECK(batch.token_type_ids == types);
  CHECK(batch.attention_mask == mask);
}

TEST_CASE("wordpiece: pair truncation is longest-first as in the Rust tokenizers", "[tokenizers][wordpiece]") {
  const auto tok = tiny();
  // The Rust unit test table: budget 7 (+3 special tokens), lengths 0/2/4/8.
  struct row { std::size_t a, b, ea, eb; };
  const row rows[] = {{0, 0, 0, 0}, {0, 2, 0, 2}, {0, 4, 0, 4}, {0, 8, 0, 7}, {2, 0, 2, 0}, {2, 2, 2, 2},
                      {2, 4, 2, 4}, {2, 8, 2, 5}, {4, 0, 4, 0}, {4, 2, 4, 2}, {4, 4, 3, 4}, {4, 8, 3, 4},
                      {8, 0, 7, 0}, {8, 2, 5, 2}, {8, 4, 4, 3}, {8, 8, 3, 4}};
  for (const auto& r : rows) {
    INFO(r.a << " + " << r.b);
    const auto a = letters(r.a), b = letters(r.b);
    const auto e = tok.encode(a, std::string_view(b), 10);
    REQUIRE(e.input_ids.size() == r.ea + r.eb + 3);
    CHECK(e.input_ids.front() == 2);
    CHECK(e.input_ids[r.ea + 1] == 3);
    CHECK(e.input_ids.back() == 3);
    std::size_t ones = 0;
    for (auto t : e.token_type_ids) ones += t == 1;
    CHECK(ones == r.eb + 1);
    for (std::size_t k = 0; k < r.ea; ++k) CHECK(e.input_ids[k + 1] == 5 + static_cast<std::int64_t>(k));
  }
  // Singles: max_length counts [CLS] and [SEP]; 0 means no truncation.
  CHECK(tok.encode(letters(20), std::nullopt, 8).input_ids.size() == 8);
  CHECK(tok.encode(letters(20)).input_ids.size() == 22);
  CHECK(tok.encode(letters(20), std::nullopt, 1).input_ids.size() == 2);  // only the specials fit
}

TEST_CASE("wordpiece: greedy longest match, unknown words, max_input_chars_per_word", "[tokenizers][wordpiece]") {
  auto tok = tiny();
  CHECK(tok.encode("unaffable").tokens == std::vector<std::string>{"[CLS]", "un", "##aff", "##able", "[SEP]"});
  CHECK(tok.encode("ab").tokens == std::vector<std::string>{"[CLS]", "a", "##b", "[SEP]"});
  CHECK(tok.encode("ac").tokens == std::vector<std::string>{"[CLS]", "[UNK]", "[SEP]"});  // no ##c
  sbert::models::wordpiece_options opt;
  opt.max_input_chars_per_word = 3;
  tok = tiny(opt);
  CHECK(tok.encode("abb b").tokens == std::vector<std::string>{"[CLS]", "a", "##b", "##b", "b", "[SEP]"});
  CHECK(tok.encode("abbb").tokens == std::vector<std::string>{"[CLS]", "[UNK]", "[SEP]"});
}

TEST_CASE("wordpiece: BERT normaliser details", "[tokenizers][wordpiece]") {
  const auto tok = load_wordpiece(bert_dir());
  auto toks = [&](std::string_view s) {
    auto t = tok.encode(s).tokens;
    return std::vector<std::string>(t.begin() + 1, t.end() - 1);
  };
  using v = std::vector<std::string>;
  CHECK(toks("a\0b\xEF\xBF\xBD" "c"sv) == v{"abc"});             // NUL and U+FFFD removed
  CHECK(toks("a\u200Bb") == v{"ab"});                             // U+200B (Cf) removed
  CHECK(toks("a\x0B" "b") == v{"ab"});                               // VT is a control: removed, not a space
  CHECK(toks("a\u3000b") == v{"a", "b"});                         // ideographic space splits
  CHECK(toks("a\u2028b") == v{"a", "b"});
  CHECK(toks("$5+3=8") == v{"$", "5", "+", "3", "=", "8"});        // ASCII symbols are punctuation
  CHECK(toks("\u00BFqu\u00E9?") == v{"\u00BF", "que", "?"});
  CHECK(toks("\u0130stanbul") == toks("istanbul"));               // strip: I + U+0307 -> i
  CHECK(toks("ÅNGSTRÖM") == v{"ang", "##strom"});
  CHECK(toks("\uF900") == toks("\u8C48"));                       // CJK compatibility ideograph -> NFD
  CHECK(toks("hello [MASK] world [mask]") ==
        v{"hello", "[MASK]", "world", "[", "mask", "]"});          // special tokens are matched raw
  CHECK(tok.encode("[CLS]").input_ids == std::vector<std::int64_t>{101, 101, 102});

  // lowercase without accent stripping: 'İ' lower-cases to "i\u0307" (two characters).
  sbert::models::wordpiece_options opt;
  opt.strip_accents = false;
  std::vector<std::string> letters_vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "##\u0307", "\u03C3", "##\u03C3"};
  const wordpiece_tokenizer t2(letters_vocab, opt);
  CHECK(t2.encode("\u0130").tokens == std::vector<std::string>{"[CLS]", "i", "##\u0307", "[SEP]"});
  CHECK(t2.encode("\u03A3\u03A3").tokens == std::vector<std::string>{"[CLS]", "\u03C3", "##\u03C3", "[SEP]"});  // no final sigma
}

TEST_CASE("wordpiece: invalid UTF-8 is a clear input_error", "[tokenizers][wordpiece]") {
  const auto tok = tiny();
  for (std::string bad : {std::string("ab\xFF" "cd"), std::string("\xC3"), std::string("\xED\xA0\x80"),
                          std::string("\xC0\xAF"), std::string("\xF4\x90\x80\x80")}) {
    INFO(bad.size());
    CHECK_THROWS_AS(tok.encode(bad), sbert::input_error);
    CHECK_THROWS_WITH(tok.encode(bad), Catch::Contains("invalid UTF-8"));
  }
  CHECK_THROWS_AS(tok.encode("a", std::string_view("\x80")), sbert::input_error);
}

TEST_CASE("wordpiece: save and reload round trip", "[tokenizers][wordpiece][reference]") {
  const auto orig = wordpiece_tokenizer::from_vocab_file(
      sbert::test::reference_dir() + "/tiny-bert-st/vocab.txt",
      sbert::test::reference_dir() + "/tiny-bert-st/tokenizer_config.json");
  const auto dir = temp_dir("save");
  orig.save(dir);
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    CHECK(fs::exists(fs::path(dir) / f));
  // vocab.txt, tokenizer_config.json and special_tokens_map.json are byte-identical to the files
  // the Python library (transformers 4.44) wrote for the same tokenizer; other reference sets
  // (SBERT_REFERENCE_DIR) may come from versions that format them differently.
  const bool default_reference = sbert::test::reference_dir() == sbert::test::shared_dir() + "/reference";
  for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    if (!default_reference && std::string(f) != "vocab.txt") continue;
    INFO(f);
    CHECK(sbert::models::detail::read_file(dir + "/" + f) ==
          sbert::models::detail::read_file(sbert::test::reference_dir() + "/tiny-bert-st/" + f));
  }
  const auto from_json = load_wordpiece(dir);
  const auto from_vocab = wordpiece_tokenizer::from_vocab_file(dir + "/vocab.txt", dir + "/tokenizer_config.json");
  const auto model_max_length = reference_int("tiny-bert-st/tokenizer_config.json", "model_max_length");
  CHECK(orig.model_max_length() == static_cast<std::size_t>(model_max_length));
  CHECK(from_json.model_max_length() == orig.model_max_length());
  CHECK(from_vocab.model_max_length() == orig.model_max_length());
  CHECK(from_json.vocab_size() == orig.vocab_size());
  for (std::int64_t id = 0; id < static_cast<std::int64_t>(orig.vocab_size()); ++id)
    REQUIRE(from_json.id_to_token(id) == orig.id_to_token(id));
  for (const auto& c : load_reference()) {
    std::optional<std::string_view> pair;
    if (c.pair) pair = *c.pair;
    const auto a = orig.encode(c.text, pair, c.max_length);
    const auto b = from_json.encode(c.text, pair, c.max_length);
    const auto d = from_vocab.encode(c.text, pair, c.max_length);
    CHECK(a.input_ids == c.ids);
    CHECK(b.input_ids == c.ids);
    CHECK(d.input_ids == c.ids);
    CHECK(b.token_type_ids == c.type_ids);
    CHECK(b.tokens == c.tokens);
  }
  // Saving the reloaded tokenizer writes the same files again.
  const auto dir2 = temp_dir("save2");
  from_json.save(dir2);
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    CHECK(sbert::models::detail::read_file(dir + "/" + f) == sbert::models::detail::read_file(dir2 + "/" + f));
  fs::remove_all(dir);
  fs::remove_all(dir2);
}

TEST_CASE("wordpiece: missing or corrupt files name the file", "[tokenizers][wordpiece]") {
  const auto dir = temp_dir("errors");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains(dir) && Catch::Contains("no tokenizer.json or vocab.txt"));
  CHECK_THROWS_AS(wordpiece_tokenizer::from_vocab_file(dir + "/vocab.txt"), sbert::input_error);
  CHECK_THROWS_WITH(wordpiece_tokenizer::from_vocab_file(dir + "/vocab.txt"), Catch::Contains(dir + "/vocab.txt"));

  // A vocabulary without the unknown token.
  write_text(dir + "/vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("vocab.txt") && Catch::Contains("[UNK]"));
  // Invalid UTF-8 in the vocabulary: the line is named.
  write_text(dir + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nbad\xFF\n");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("vocab.txt:5"));
  // An empty file.
  write_text(dir + "/vocab.txt", "");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("vocab.txt") && Catch::Contains("empty"));

  // tokenizer.json: truncated, wrong model, bad normaliser, broken vocab.
  const auto good = sbert::models::detail::read_file(bert_dir() + "/tokenizer.json");
  write_text(dir + "/tokenizer.json", good.substr(0, good.size() / 2));
  CHECK_THROWS_AS(load_wordpiece(dir), sbert::input_error);
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer.json"));
  auto replaced = [&](std::string from, std::string to) {
    std::string s = good;
    const auto p = s.find(from);
    REQUIRE(p != std::string::npos);
    s.replace(p, from.size(), to);
    write_text(dir + "/tokenizer.json", s);
  };
  replaced("\"BertNormalizer\"", "\"NFKC\"");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer.json") && Catch::Contains("normalizer"));
  replaced("\"[UNK]\":100", "\"[UNK]\":\"x\"");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer.json") && Catch::Contains("model.vocab"));
  replaced("\"[UNK]\":100", "\"[UNKNOWN]\":100");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer.json") && Catch::Contains("[UNK]"));
  replaced("\"[unused0]\":1", "\"[unused0]\":0");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer.json") && Catch::Contains("used twice"));
  // A corrupt tokenizer_config.json is named too.
  write_text(dir + "/tokenizer.json", good);
  write_text(dir + "/tokenizer_config.json", "{\"do_lower_case\": tru");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer_config.json"));
  write_text(dir + "/tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
  CHECK_THROWS_WITH(load_wordpiece(dir), Catch::Contains("tokenizer_config.json") && Catch::Contains("do_lower_case"));
  fs::remove_all(dir);
}

TEST_CASE("wordpiece: concurrent encoding from several threads", "[tokenizers][wordpiece]") {
  const auto tok = load_wordpiece(bert_dir());
  const auto cases = load_reference();
  std::vector<std::vector<std::int64_t>> expected;
  for (const auto& c : cases) expected.push_back(tok.encode(c.text).input_ids);
  std::vector<int> ok(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      sbert::models::encoding e;
      int good = 0;
      for (int rep = 0; rep < 50; ++rep)
        for (std::size_t i = 0; i < cases.size(); ++i) {
          tok.encode_into(e, cases[(i + static_cast<std::size_t>(t) * 7) % cases.size()].text, std::nullopt, 0, false);
          good += e.input_ids == expected[(i + static_cast<std::size_t>(t) * 7) % cases.size()];
        }
      ok[static_cast<std::size_t>(t)] = good;
    });
  for (auto& th : threads) th.join();
  for (int g : ok) CHECK(g == static_cast<int>(50 * cases.size()));
}

TEST_CASE("wordpiece: tokenizer_config.json next to tokenizer.json, as transformers reads it", "[tokenizers][wordpiece]") {
  const auto dir = temp_dir("config");
  fs::copy_file(bert_dir() + "/tokenizer.json", dir + "/tokenizer.json");
  const auto lowered = std::vector<std::string>{"[CLS]", "hello", "world", "[SEP]"};
  // transformers' "no limit" model_max_length, special tokens as AddedToken objects.
  write_text(dir + "/tokenizer_config.json",
             R"({"model_max_length": 1000000000000000019884624838656, "tokenizer_class": "BertTokenizer",
                 "unk_token": {"__type": "AddedToken", "content": "[UNK]", "lstrip": false}})");
  auto tok = load_wordpiece(dir);
  CHECK(tok.model_max_length() == 0);
  CHECK(tok.encode("Hello World").tokens == lowered);
  // do_lower_case false overrides the tokenizer.json normaliser (BertTokenizerFast does so).
  write_text(dir + "/tokenizer_config.json", R"({"do_lower_case": false, "model_max_length": 128})");
  tok = load_wordpiece(dir);
  CHECK(tok.model_max_length() == 128);
  CHECK_FALSE(tok.options().lowercase);
  CHECK(tok.encode("Hello World").tokens == std::vector<std::string>{"[CLS]", "[UNK]", "[UNK]", "[SEP]"});
  // strip_accents null follows lowercase: no stripping, and "café" is not in the uncased vocab.
  CHECK(tok.encode("café").tokens == std::vector<std::string>{"[CLS]", "[UNK]", "[SEP]"});
  // ... but not for the generic PreTrainedTokenizerFast, and not without a config.
  write_text(dir + "/tokenizer_config.json", R"({"do_lower_case": false, "tokenizer_class": "PreTrainedTokenizerFast"})");
  CHECK(load_wordpiece(dir).encode("Hello World").tokens == lowered);
  CHECK(wordpiece_tokenizer::from_tokenizer_json(dir + "/tokenizer.json").encode("Hello World").tokens == lowered);
  // The padding block of tokenizer.json names the pad token.
  auto text = sbert::models::detail::read_file(bert_dir() + "/tokenizer.json");
  const std::string from = "\"padding\":null";
  REQUIRE(text.find(from) != std::string::npos);
  text.replace(text.find(from), from.size(),
               R"("padding":{"strategy":"BatchLongest","direction":"Right","pad_to_multiple_of":null,)"
               R"("pad_id":103,"pad_type_id":0,"pad_token":"[MASK]"})");
  write_text(dir + "/tokenizer.json", text);
  CHECK(wordpiece_tokenizer::from_tokenizer_json(dir + "/tokenizer.json").pad_id() == 103);
  CHECK(load_wordpiece(bert_dir()).pad_id() == 0);
  fs::remove_all(dir);
}

TEST_CASE("wordpiece: random text never breaks the invariants", "[tokenizers][wordpiece]") {
  const auto tok = load_wordpiece(bert_dir());
  std::mt19937 rng(1234);
  const char32_t pool[] = {'a', 'b', 'Z', ' ', ' ', '\t', '\n', '.', ',', '#', '[', ']', '0', 0x00, 0x7F,
                           0xA0, 0xC9, 0xE9, 0x130, 0x1E9E, 0x300, 0x315, 0x345, 0x3A3, 0x3C2, 0x416,
                           0x5D0, 0x627, 0x93F, 0xE01, 0x1D165, 0x1D16D, 0x200B, 0x2028, 0x3000,
                           0x4E2D, 0xAC00, 0xD55C, 0xF900, 0xFFFD, 0xE000, 0xE123, 0x1F600, 0x20000};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pool) - 1), len(0, 60);
  sbert::models::encoding e2;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string a, b;
    for (auto* s : {&a, &b}) {
      const auto n = len(rng);
      for (std::size_t k = 0; k < n; ++k) {
        if (rng() % 7 == 0) *s += "[SEP]";
        sbert::models::detail::append_utf8(*s, pool[pick(rng)]);
      }
    }
    const std::size_t max_length = rng() % 3 == 0 ? 0 : 3 + rng() % 20;
    const auto e = tok.encode(a, std::string_view(b), max_length);
    INFO("iteration " << iter);
    REQUIRE(e.input_ids.size() == e.tokens.size());
    REQUIRE(e.input_ids.size() == e.token_type_ids.size());
    REQUIRE(e.input_ids.size() == e.attention_mask.size());
    if (max_length) REQUIRE(e.input_ids.size() <= max_length);
    REQUIRE(e.input_ids.front() == 101);
    REQUIRE(e.input_ids.back() == 102);
    for (std::size_t k = 0; k < e.input_ids.size(); ++k) {
      REQUIRE(e.input_ids[k] >= 0);
      REQUIRE(e.input_ids[k] < 30522);
      REQUIRE(tok.id_to_token(e.input_ids[k]) == e.tokens[k]);
    }
    tok.encode_into(e2, a, std::string_view(b), max_length, false);
    REQUIRE(e2.input_ids == e.input_ids);
    REQUIRE(e2.tokens.empty());
    (void)tok.decode(e.input_ids);
  }
  // Random bytes: either tokenized or rejected as input_error, never anything else.
  std::size_t rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 3 ? rng() % 256 : 'a' + rng() % 26);
    try {
      (void)tok.encode(s, std::nullopt, 16);
    } catch (const sbert::input_error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}

TEST_CASE("wordpiece: normalize() and added tokens matched on the normalised text", "[tokenizers][wordpiece]") {
  const auto bert = load_wordpiece(bert_dir());
  CHECK(bert.normalize("H\u00E9llo\tWORLD \u4F60\u597D\u200B!") == "hello world  \u4F60  \u597D !");
  CHECK(bert.normalize("\u0130") == "i");

  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (char c = 'a'; c <= 'z'; ++c) v.emplace_back(1, c);
  std::vector<sbert::models::added_token> added = {
      {"Foo Bar", 31, false, false, false, false, true},   // normalized: matches "FOO BAR" too
      {"QQ", 32, false, false, false, false, false}};      // raw: only "QQ"
  const wordpiece_tokenizer tok(v, {}, added);
  CHECK(tok.vocab_size() == 33);
  CHECK(tok.encode("xFOO BARy").input_ids == std::vector<std::int64_t>{2, 28, 31, 29, 3});
  CHECK(tok.encode("QQ q").input_ids == std::vector<std::int64_t>{2, 32, 21, 3});
  CHECK(tok.encode("QQ q").tokens == std::vector<std::string>{"[CLS]", "QQ", "q", "[SEP]"});
  CHECK(tok.encode("qq").tokens == std::vector<std::string>{"[CLS]", "[UNK]", "[SEP]"});  // no "##q"
  CHECK(tok.id_to_token(31) == "Foo Bar");
}

TEST_CASE("wordpiece: added token lstrip / rstrip / single_word", "[tokenizers][wordpiece]") {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (char c = 'a'; c <= 'z'; ++c) v.emplace_back(1, c);
  std::vector<sbert::models::added_token> added = {
      {"<m>", 31, true, false, true, true, false},   // lstrip + rstrip
      {"w", 32, false, true, false, false, false}};  // single_word
  const wordpiece_tokenizer tok(v, {}, added);
  // The whitespace around <m> is absorbed (it would be dropped by the pre-tokenizer anyway).
  CHECK(tok.encode("a  <m>  b").input_ids == std::vector<std::int64_t>{2, 5, 31, 6, 3});
  // "w" alone is the added token; inside a word it is the letter (id 5 + 22 = 27).
  CHECK(tok.encode("w").input_ids == std::vector<std::int64_t>{2, 32, 3});
  CHECK(tok.encode("a w, b").input_ids == std::vector<std::int64_t>{2, 5, 32, 1, 6, 3});  // ',' -> [UNK]
  CHECK(tok.encode("w_").input_ids == std::vector<std::int64_t>{2, 27, 1, 3});  // '_' is a word character
}

namespace {
/// An MPNet-style vocabulary as microsoft/mpnet-base ships it: <s> <pad> </s> <unk> first, then
/// BERT's uncased vocabulary shifted by 4, then <mask>.
std::string write_mpnet_vocab(const std::string& dir) {
  std::string v = "<s>\n<pad>\n</s>\n<unk>\n" + sbert::models::detail::read_file(bert_dir() + "/vocab.txt") + "<mask>\n";
  write_text(dir + "/vocab.txt", v);
  return dir + "/vocab.txt";
}
std::vector<std::int64_t> shifted(std::vector<std::int64_t> ids, std::int64_t by) {
  for (auto& x : ids) x += by;
  return ids;
}
}  // namespace

TEST_CASE("wordpiece: MPNetTokenizer layout from vocab.txt: <s> A </s></s> B </s>, type ids 0", "[tokenizers][wordpiece]") {
  const auto dir = temp_dir("mpnet");
  const auto vocab = write_mpnet_vocab(dir);
  write_text(dir + "/tokenizer_config.json",
             R"({"do_lower_case": true, "tokenizer_class": "MPNetTokenizer", "model_max_length": 512})");
  const auto tok = wordpiece_tokenizer::from_vocab_file(vocab, dir + "/tokenizer_config.json");
  const auto bert = load_wordpiece(bert_dir());
  const std::string a = "The quick brown fox, unbelievably!", b = "A second sentence.";
  // The content tokens are BERT's shifted by the four tokens in front.
  auto inner = [&](const std::string& t) {
    auto ids = bert.encode(t).input_ids;
    return shifted(std::vector<std::int64_t>(ids.begin() + 1, ids.end() - 1), 4);
  };
  const auto single = tok.encode(a);
  std::vector<std::int64_t> want = {0};
  for (auto x : inner(a)) want.push_back(x);
  want.push_back(2);
  CHECK(single.input_ids == want);
  const auto pair = tok.encode(a, std::string_view(b));
  want.push_back(2);
  for (auto x : inner(b)) want.push_back(x);
  want.push_back(2);
  CHECK(pair.input_ids == want);
  CHECK(pair.token_type_ids == std::vector<std::int64_t>(want.size(), 0));
  CHECK(tok.pad_id() == 1);
  CHECK(tok.num_special_tokens(true) == 4);
  // Pair truncation keeps the four specials.
  CHECK(tok.encode(a, std::string_view(b), 10).input_ids.size() == 10);
  // The <s>, </s> written in the text are special tokens, never split.
  CHECK(tok.encode("x <mask> y").input_ids.at(2) == static_cast<std::int64_t>(tok.vocab_size()) - 1);

  // Saved, its tokenizer_config keeps the class and the files reload to the same layout.
  const auto out = temp_dir("mpnet_saved");
  tok.save(out);
  const auto cfg = sbert::models::detail::read_file(out + "/tokenizer_config.json");
  CHECK(cfg.find("\"tokenizer_class\": \"MPNetTokenizer\"") != std::string::npos);
  CHECK(cfg.find("\"pad_token\": \"<pad>\"") != std::string::npos);
  for (const auto& back : {load_wordpiece(out), wordpiece_tokenizer::from_vocab_file(out + "/vocab.txt", out + "/tokenizer_config.json")}) {
    CHECK(back.encode(a, std::string_view(b)).input_ids == pair.input_ids);
    CHECK(back.encode(a, std::string_view(b)).token_type_ids == pair.token_type_ids);
    CHECK(back.pad_id() == 1);
  }
  fs::remove_all(dir);
  fs::remove_all(out);
}

TEST_CASE("wordpiece: tokenizer.json with RobertaProcessing (MPNet's fast tokenizer)", "[tokenizers][wordpiece]") {
  // BERT's tokenizer.json with its post-processor swapped for RoBERTa's, as MPNet's has it.
  auto text = sbert::models::detail::read_file(bert_dir() + "/tokenizer.json");
  const auto from = text.find("\"post_processor\":"), to = text.find("\"decoder\":");
  REQUIRE(from != std::string::npos);
  REQUIRE(to > from);
  text.replace(from, to - from,
               R"("post_processor":{"type":"RobertaProcessing","sep":["[SEP]",102],"cls":["[CLS]",101],"trim_offsets":true,"add_prefix_space":false},)");
  const auto dir = temp_dir("roberta_proc");
  write_text(dir + "/tokenizer.json", text);
  const auto tok = load_wordpiece(dir);
  const auto bert = load_wordpiece(bert_dir());
  const std::string a = "Hello world", b = "how are you?";
  auto want = bert.encode(a).input_ids;  // [CLS] A [SEP], then [SEP] B [SEP]
  want.push_back(102);
  const auto tail = bert.encode(b).input_ids;
  want.insert(want.end(), tail.begin() + 1, tail.end());
  const auto got = tok.encode(a, std::string_view(b));
  CHECK(got.input_ids == want);
  CHECK(got.token_type_ids == std::vector<std::int64_t>(want.size(), 0));
  CHECK(tok.encode(a).input_ids == bert.encode(a).input_ids);

  // MPNet's own shape: its vocabulary, <s>/</s> in RobertaProcessing, no tokenizer_config.json.
  // The role tokens default to MPNet's, so padding uses <pad> (id 1), which the model's
  // position ids rely on.
  const auto mdir = temp_dir("mpnet_json");
  write_mpnet_vocab(mdir);
  write_text(mdir + "/tokenizer_config.json", R"({"tokenizer_class": "MPNetTokenizer"})");
  wordpiece_tokenizer::from_vocab_file(mdir + "/vocab.txt", mdir + "/tokenizer_config.json").save(mdir);
  auto mj = sbert::models::detail::read_file(mdir + "/tokenizer.json");
  const auto mf = mj.find("\"post_processor\":"), mt = mj.find("\"decoder\":");
  REQUIRE(mf != std::string::npos);
  REQUIRE(mt > mf);
  mj.replace(mf, mt - mf,
             R"("post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": true, "add_prefix_space": false},
  )");
  fs::remove(mdir + "/tokenizer_config.json");
  fs::remove(mdir + "/vocab.txt");
  write_text(mdir + "/tokenizer.json", mj);
  const auto mpnet = load_wordpiece(mdir);
  CHECK(mpnet.pad_id() == 1);
  const auto e = mpnet.encode(a, std::string_view(b));
  CHECK(e.input_ids.front() == 0);
  CHECK(e.input_ids.back() == 2);
  CHECK(std::count(e.input_ids.begin(), e.input_ids.end(), 2) == 3);
  const auto batch = mpnet.encode_batch(std::vector<std::string_view>{a, "x"});
  CHECK(batch.input_ids.back() == 1);
  // A "padding" section that names another pad token wins over the defaults.
  const auto pad_at = mj.find("\"padding\": null");
  REQUIRE(pad_at != std::string::npos);
  mj.replace(pad_at, 15, R"("padding": {"strategy": "BatchLongest", "pad_id": 4, "pad_token": "[PAD]"})");
  write_text(mdir + "/tokenizer.json", mj);
  CHECK(load_wordpiece(mdir).pad_id() == 4);
  fs::remove_all(mdir);
  fs::remove_all(dir);
}
