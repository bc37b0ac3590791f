// sbert's own SentencePiece against the real one: libsentencepiece 0.1.97 (and its trainer) is
// the oracle here. This program must not link libtorch (see CMakeLists.txt).
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "catch.hpp"
#include "sbert/io/json_writer.hpp"
#include "sbert/models/tokenizers/sentencepiece.hpp"

namespace fs = std::filesystem;
using sbert::models::sentencepiece_layout;
using sbert::models::sentencepiece_tokenizer;

namespace {

std::string botchan_model() {
  return sbert::test::shared_dir() + "/models/sentencepiece-botchan-unigram1000/botchan_unigram_1000.model";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// STS-B sentences (both columns of the tab-separated files).
std::vector<std::string> stsb_sentences(const std::string& file, std::size_t limit) {
  std::ifstream in(sbert::test::shared_dir() + "/data/stsbenchmark/" + file);
  REQUIRE(in.good());
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line) && out.size() < limit) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() >= 7) {
      out.push_back(cols[5]);
      out.push_back(cols[6]);
    }
  }
  return out;
}

/// Hand-picked texts that exercise normalization and unknown handling.
std::vector<std::string> edge_texts() {
  return {"",
          " ",
          "   ",
          "\t\n",
          "   leading and trailing   ",
          "multiple     spaces\tand\ttabs",
          "line\nbreak and \r\n windows",
          "naïve café résumé Ångström",
          "日本語のテキストです。",
          "emoji 😀🎉 and ♥",
          "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
          "ﬁ ligature ﬂ",
          "ideographic\u3000space",
          "a\u200bb zero width",
          "e\u0301 combining",
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "1234567890 3.14159 $100",
          "<unk> <s> </s> <pad>",
          "Hello World ( 2 ) [x] {y}",
          "ÀÉÎÕÜ ß ŒÆ",
          "Привет мир Γειά σου κόσμε",
          "مرحبا بالعالم",
          "𝒜𝓁𝓅𝒽𝒶 math",
          "x",
          "bad \xff\xfe utf8 \xc3 end",
          "\xed\xa0\x80 surrogate",
          "\xef\xbf\xbd replacement char",
          std::string("nul \0 inside", 12),
          "\x01\x02 control \x7f",
          "hello<sep>world @@ hello",
          "hellohello<sep><sep>@@@@",
          "I saw a girl with a telescope.",
          "A man is playing a flute.",
          "zzzzqqqq xxxjjj"};
}

/// Random texts: mixes of ASCII words, spaces, non-Latin characters and stray bytes.
std::vector<std::string> random_texts(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> atoms = {"the", "a", "man", "woman", " ", "  ", "\t", ".", ",", "ing", "é", "ß",
                                          "日本", "😀", "Ж", "\u3000", "ﬁ", "Ａ", "\xff", "\xe2\x96\x81", "<s>",
                                          "hello", "@@", "<sep>", "x", "Q", "9", "\u00a0", "\u200b", "ー"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s;
    const int len = static_cast<int>(rng() % 12);
    for (int k = 0; k < len; ++k) s += atoms[rng() % atoms.size()];
    out.push_back(s);
  }
  return out;
}

struct oracle {
  sentencepiece::SentencePieceProcessor sp;
  explicit oracle(const std::string& path) { REQUIRE(sp.Load(path).ok()); }
  std::vector<int> ids(const std::string& t) const {
    std::vector<int> v;
    REQUIRE(sp.Encode(t, &v).ok());
    return v;
  }
  std::vector<std::string> pieces(const std::string& t) const {
    std::vector<std::string> v;
    REQUIRE(sp.Encode(t, &v).ok());
    return v;
  }
};

/// Counts texts where sbert and libsentencepiece disagree (ids or pieces); reports the first few.
std::size_t mismatches(const std::string& model_path, const std::vector<std::string>& texts) {
  const oracle o(model_path);
  const auto tok = sentencepiece_tokenizer::from_model_file(model_path, sentencepiece_layout::plain);
  std::size_t bad = 0;
  for (const auto& t : texts) {
    const auto want_ids = o.ids(t);
    const auto want_pieces = o.pieces(t);
    const auto got_ids = tok.encode_ids(t);
    const auto got_pieces = tok.encode_pieces(t);
    if (want_ids != got_ids || want_pieces != got_pieces) {
      if (++bad <= 3) {
        INFO("model " << model_path << " text [" << t << "]");
        CHECK(got_ids == want_ids);
        CHECK(got_pieces == want_pieces);
      }
    }
  }
  return bad;
}

/// A scratch folder, removed at exit.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("sbert_spm_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// Models trained by sentencepiece's own trainer once per test run, from STS-B training text.
struct trained_models {
  temp_dir dir;
  std::string unigram, bpe, bpe_bytes, unigram_bytes, unigram_nfkc_cf, bpe_raw_ws, unigram_suffix, word, chars;

  trained_models() {
    const auto corpus = stsb_sentences("sts-train.csv", 2000);
    const fs::path input = dir.path / "corpus.txt";
    {
      std::ofstream out(input);
      for (const auto& s : corpus) out << s << '\n';
      out << "naïve café résumé 日本語 Привет мир\n";
    }
    auto train = [&](const std::string& name, const std::string& args) {
      const std::string prefix = (dir.path / name).string();
      const std::string all = "--input=" + input.string() + " --model_prefix=" + prefix + " --minloglevel=2 --num_threads=2 " + args;
      const auto status = sentencepiece::SentencePieceTrainer::Train(all);
      INFO(status.ToString());
      REQUIRE(status.ok());
      return prefix + ".model";
    };
    unigram = train("unigram", "--vocab_size=600 --model_type=unigram");
    bpe = train("bpe", "--vocab_size=600 --model_type=bpe");
    bpe_bytes = train("bpe_bytes", "--vocab_size=700 --model_type=bpe --byte_fallback=true --user_defined_symbols=<sep>,@@,hello");
    unigram_bytes = train("unigram_bytes",
                          "--vocab_size=700 --model_type=unigram --byte_fallback=true --character_coverage=0.99 --user_defined_symbols=<sep>,@@,hello");
    unigram_nfkc_cf = train("unigram_cf", "--vocab_size=500 --model_type=unigram --normalization_rule_name=nmt_nfkc_cf");
    bpe_raw_ws = train("bpe_raw_ws",
                       "--vocab_size=500 --model_type=bpe --normalization_rule_name=identity --add_dummy_prefix=false --remove_extra_whitespaces=false");
    unigram_suffix = train("unigram_suffix", "--vocab_size=500 --model_type=unigram --treat_whitespace_as_suffix=true");
    word = train("word", "--vocab_size=1500 --model_type=word");
    chars = train("chars", "--vocab_size=60 --model_type=char");
  }
  static const trained_models& get() {
    static trained_models m;
    return m;
  }
};

std::vector<std::string> test_texts() {
  auto texts = stsb_sentences("sts-dev.csv", 600);
  for (auto& e : edge_texts()) texts.push_back(e);
  for (auto& r : random_texts(400, 12345)) texts.push_back(r);
  return texts;
}

std::string base64(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) | std::uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += tbl[(v >> k) & 63];
  }
  if (i + 1 == in.size()) {
    const std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

/// An XLM-RoBERTa style tokenizer.json (fairseq layout) made from a unigram .model, as the Hugging
/// Face converter writes it: `modern` as tokenizers >= 0.14 (a normalizer Sequence, prepend_scheme,
/// TemplateProcessing), otherwise the 2020 layout (WhitespaceSplit + Metaspace, RobertaProcessing).
std::string xlmr_tokenizer_json(const std::string& model_path, bool modern) {
  const std::string bytes = slurp(model_path);
  const auto m = sbert::models::spm_detail::parse_model(bytes, model_path);
  using sbert::json::value;
  value vocab = value::make_array();
  // the specials' scores as JSON integers in the legacy file: the loader must accept both
  for (const char* s : {"<s>", "<pad>", "</s>", "<unk>"}) vocab.push(value(value::array{value(s), modern ? value(0.0) : value(0)}));
  for (std::size_t i = 3; i < m.pieces.size(); ++i) vocab.push(value(value::array{value(m.pieces[i].text), value(static_cast<double>(m.pieces[i].score))}));
  vocab.push(value(value::array{value("<mask>"), value(0.0)}));
  const int mask = static_cast<int>(m.pieces.size()) + 1;
  value added = value::make_array();
  const std::vector<std::pair<int, std::string>> specials = {{0, "<s>"}, {1, "<pad>"}, {2, "</s>"}, {3, "<unk>"}, {mask, "<mask>"}};
  for (const auto& [id, content] : specials)
    added.push(value::make_object().set("id", id).set("content", content).set("single_word", false).set("lstrip", false).set("rstrip", false).set("normalized", false).set("special", true));
  value doc = value::make_object();
  doc.set("version", "1.0").set("truncation", nullptr).set("padding", nullptr).set("added_tokens", added);
  value precompiled = value::make_object().set("type", "Precompiled").set("precompiled_charsmap", base64(m.charsmap));
  if (modern) {
    value strip = value::make_object().set("type", "Strip").set("strip_left", false).set("strip_right", true);
    value replace = value::make_object().set("type", "Replace").set("pattern", value::make_object().set("Regex", " {2,}")).set("content", "\xe2\x96\x81");
    doc.set("normalizer", value::make_object().set("type", "Sequence").set("normalizers", value(value::array{precompiled, strip, replace})));
    doc.set("pre_tokenizer", value::make_object().set("type", "Metaspace").set("replacement", "\xe2\x96\x81").set("prepend_scheme", "always").set("split", true));
    auto special = [](const char* t) { return value::make_object().set("SpecialToken", value::make_object().set("id", t).set("type_id", 0)); };
    auto seq = [](const char* t) { return value::make_object().set("Sequence", value::make_object().set("id", t).set("type_id", 0)); };
    auto entry = [](const char* t, int id) { return value::make_object().set("id", t).set("ids", value(value::array{value(id)})).set("tokens", value(value::array{value(t)})); };
    doc.set("post_processor", value::make_object()
                                  .set("type", "TemplateProcessing")
                                  .set("single", value(value::array{special("<s>"), seq("A"), special("</s>")}))
                                  .set("pair", value(value::array{special("<s>"), seq("A"), special("</s>"), special("</s>"), seq("B"), special("</s>")}))
                                  .set("special_tokens", value::make_object().set("<s>", entry("<s>", 0)).set("</s>", entry("</s>", 2))));
  } else {
    doc.set("normalizer", precompiled);
    value ws = value::make_object().set("type", "WhitespaceSplit");
    value ms = value::make_object().set("type", "Metaspace").set("replacement", "\xe2\x96\x81").set("add_prefix_space", true);
    doc.set("pre_tokenizer", value::make_object().set("type", "Sequence").set("pretokenizers", value(value::array{ws, ms})));
    doc.set("post_processor", value::make_object().set("type", "RobertaProcessing").set("sep", value(value::array{value("</s>"), value(2)})).set("cls", value(value::array{value("<s>"), value(0)})));
  }
  doc.set("decoder", value::make_object().set("type", "Metaspace").set("replacement", "\xe2\x96\x81").set("prepend_scheme", "always").set("split", true));
  doc.set("model", value::make_object().set("type", "Unigram").set("unk_id", 3).set("vocab", vocab).set("byte_fallback", false));
  sbert::json::dump_options o;
  o.ensure_ascii = false;
  return sbert::json::dump(doc, o);
}

}  // namespace

TEST_CASE("botchan unigram model reproduces spm_encode's reference cases exactly", "[sentencepiece]") {
  const auto tok = sentencepiece_tokenizer::from_model_file(botchan_model(), sentencepiece_layout::plain);
  std::ifstream in(sbert::test::shared_dir() + "/models/reference/sentencepiece_botchan_unigram_1000_reference.jsonl");
  REQUIRE(in.good());
  simdjson::dom::parser parser;
  std::string line;
  std::size_t cases = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    simdjson::dom::element doc = parser.parse(line);
    const std::string text{std::string_view(doc["text"])};
    std::vector<int> ids;
    for (auto v : doc["ids"].get_array()) ids.push_back(static_cast<int>(std::int64_t(v)));
    std::vector<std::string> pieces;
    for (auto v : doc["pieces"].get_array()) pieces.emplace_back(std::string_view(v));
    INFO("case " << cases << ": [" << text << "]");
    CHECK(tok.encode_ids(text) == ids);
    CHECK(tok.encode_pieces(text) == pieces);
    ++cases;
  }
  CHECK(cases == 105);
  // the check values the reference README quotes
  CHECK(tok.encode_ids("I saw a girl with a telescope.") == std::vector<int>{9, 459, 11, 939, 44, 11, 4, 142, 82, 8, 28, 21, 132, 6});
  CHECK(tok.encode_ids("I have a pen.") == std::vector<int>{9, 76, 11, 68, 98, 6});
}

TEST_CASE("botchan model matches libsentencepiece on STS-B, edge and random texts", "[sentencepiece]") {
  CHECK(mismatches(botchan_model(), test_texts()) == 0);
}

TEST_CASE("normalization matches libsentencepiece", "[sentencepiece]") {
  // 0.1.97 has no public Normalize(); without byte fallback the pieces tile the normalized text
  const auto& m = trained_models::get();
  for (const auto& path : {botchan_model(), m.unigram_nfkc_cf, m.bpe_raw_ws, m.unigram_suffix}) {
    const oracle o(path);
    const auto tok = sentencepiece_tokenizer::from_model_file(path, sentencepiece_layout::plain);
    for (const auto& t : test_texts()) {
      std::string want;
      for (const auto& p : o.pieces(t)) want += p;
      INFO(path << " [" << t << "]");
      CHECK(tok.normalize(t) == want);
    }
  }
}

TEST_CASE("models trained by spm_train match libsentencepiece exactly", "[sentencepiece]") {
  const auto& m = trained_models::get();
  const auto texts = test_texts();
  SECTION("unigram") { CHECK(mismatches(m.unigram, texts) == 0); }
  SECTION("bpe") { CHECK(mismatches(m.bpe, texts) == 0); }
  SECTION("bpe, byte fallback, user-defined symbols") { CHECK(mismatches(m.bpe_bytes, texts) == 0); }
  SECTION("unigram, byte fallback, user-defined symbols") { CHECK(mismatches(m.unigram_bytes, texts) == 0); }
  SECTION("unigram, nmt_nfkc_cf") { CHECK(mismatches(m.unigram_nfkc_cf, texts) == 0); }
  SECTION("bpe, identity, whitespace kept, no dummy prefix") { CHECK(mismatches(m.bpe_raw_ws, texts) == 0); }
  SECTION("unigram, whitespace as suffix") { CHECK(mismatches(m.unigram_suffix, texts) == 0); }
  SECTION("word") { CHECK(mismatches(m.word, texts) == 0); }
  SECTION("char") { CHECK(mismatches(m.chars, texts) == 0); }
}

TEST_CASE("one tokenizer shared by threads gives the single-threaded ids", "[sentencepiece]") {
  const auto tok = sentencepiece_tokenizer::from_model_file(trained_models::get().bpe_bytes, sentencepiece_layout::xlm_roberta);
  const auto texts = test_texts();
  std::vector<std::vector<std::int64_t>> want;
  for (const auto& t : texts) want.push_back(tok.encode(t, std::string_view("a second text")).input_ids);
  std::vector<std::size_t> bad(4, 0);
  std::vector<std::thread> pool;
  for (std::size_t k = 0; k < bad.size(); ++k)
    pool.emplace_back([&, k] {
      sbert::models::encoding e;
      for (int rep = 0; rep < 3; ++rep)
        for (std::size_t i = k; i < texts.size(); i += 1 + k) {
          tok.encode_into(e, texts[i], std::string_view("a second text"), 0, false);
          if (e.input_ids != want[i]) ++bad[k];
        }
    });
  for (auto& th : pool) th.join();
  CHECK(bad == std::vector<std::size_t>(4, 0));
}

TEST_CASE("byte fallback and unknown runs behave as sentencepiece's", "[sentencepiece]") {
  const auto& m = trained_models::get();
  const auto bytes = sentencepiece_tokenizer::from_model_file(m.bpe_bytes, sentencepiece_layout::plain);
  // an unseen CJK character becomes its three UTF-8 bytes
  const auto p = bytes.encode_pieces("鬱");
  REQUIRE(p.size() >= 3);
  CHECK(p[p.size() - 3] == "<0xE9>");
  CHECK(p[p.size() - 2] == "<0xAC>");
  CHECK(p[p.size() - 1] == "<0xB1>");
  // without byte fallback a run of unknown characters is one <unk> piece holding their surface
  const auto plain = sentencepiece_tokenizer::from_model_file(m.bpe, sentencepiece_layout::plain);
  const auto q = plain.encode_pieces("鬱鬱鬱");
  REQUIRE_FALSE(q.empty());
  CHECK(q.back() == "鬱鬱鬱");
  CHECK(plain.encode_ids("鬱鬱鬱").back() == 0);
  // user-defined symbols are never split
  CHECK(bytes.encode_pieces("x<sep>y") == oracle(m.bpe_bytes).pieces("x<sep>y"));
}

TEST_CASE("XLM-RoBERTa layout: fairseq offset, specials, pairs, truncation, padding", "[sentencepiece]") {
  const auto spm = sentencepiece_tokenizer::from_model_file(botchan_model(), sentencepiece_layout::plain);
  const auto x = sentencepiece_tokenizer::from_model_file(botchan_model(), sentencepiece_layout::xlm_roberta);
  CHECK(x.vocab_size() == 1002);
  CHECK(x.pad_id() == 1);
  CHECK(x.bos_id() == 0);
  CHECK(x.eos_id() == 2);
  CHECK(x.unk_id() == 3);
  CHECK(x.mask_id() == 1001);

  const std::string a = "I saw a girl with a telescope.";
  const std::string b = "I have a pen.";
  const auto ra = spm.encode_ids(a);
  const auto e = x.encode(a);
  REQUIRE(e.input_ids.size() == ra.size() + 2);
  CHECK(e.input_ids.front() == 0);
  CHECK(e.input_ids.back() == 2);
  for (std::size_t i = 0; i < ra.size(); ++i) CHECK(e.input_ids[i + 1] == ra[i] + 1);
  CHECK(e.tokens.front() == "<s>");
  CHECK(e.tokens[1] == "▁I");
  CHECK(e.attention_mask == std::vector<std::int64_t>(e.input_ids.size(), 1));
  CHECK(e.token_type_ids == std::vector<std::int64_t>(e.input_ids.size(), 0));

  // unknown characters map to fairseq's <unk> = 3
  const auto u = x.encode("鬱");
  CHECK(std::find(u.input_ids.begin(), u.input_ids.end(), 3) != u.input_ids.end());
  CHECK(std::find(u.tokens.begin(), u.tokens.end(), "<unk>") != u.tokens.end());

  // pair: <s> A </s></s> B </s>
  const auto rb = spm.encode_ids(b);
  const auto p = x.encode(a, b);
  REQUIRE(p.input_ids.size() == ra.size() + rb.size() + 4);
  CHECK(p.input_ids[ra.size() + 1] == 2);
  CHECK(p.input_ids[ra.size() + 2] == 2);
  CHECK(p.input_ids[ra.size() + 3] == rb[0] + 1);
  CHECK(p.input_ids.back() == 2);

  // truncation counts the specials; pairs are cut longest-first (a: 14 pieces, b: 6)
  const auto t1 = x.encode(a, std::nullopt, 8);
  REQUIRE(t1.input_ids.size() == 8);
  CHECK(t1.input_ids.back() == 2);
  CHECK(t1.input_ids[6] == ra[5] + 1);
  const auto t2 = x.encode(a, b, 16);  // budget 12: b keeps 6, a keeps 6
  REQUIRE(t2.input_ids.size() == 16);
  CHECK(t2.input_ids[6] == ra[5] + 1);
  CHECK(t2.input_ids[7] == 2);
  CHECK(t2.input_ids[8] == 2);
  CHECK(t2.input_ids[9] == rb[0] + 1);
  const auto t3 = x.encode(a, b, 10);  // budget 6: both over half, 3 and 3
  REQUIRE(t3.input_ids.size() == 10);
  CHECK(t3.input_ids[4] == 2);
  CHECK(t3.input_ids[5] == 2);
  CHECK(t3.input_ids[6] == rb[0] + 1);

  // special tokens written in the text are matched first, as the Python tokenizers do; each
  // stretch between them is its own sentencepiece input (with its own dummy prefix)
  const auto m = x.encode("Hello <mask> world");
  const auto hello = spm.encode_ids("Hello");
  const auto world = spm.encode_ids("world");
  std::vector<std::int64_t> want = {0};
  for (int id : hello) want.push_back(id + 1);
  want.push_back(1001);
  for (int id : world) want.push_back(id + 1);
  want.push_back(2);
  CHECK(m.input_ids == want);
  CHECK(x.encode("<s></s><pad><unk>").input_ids == std::vector<std::int64_t>{0, 0, 2, 1, 3, 2});
  // the plain layout is spm_encode's: no special tokens at all
  CHECK(spm.encode_ids("<s>") == oracle(botchan_model()).ids("<s>"));

  // batch padding uses <pad> = 1
  const std::vector<std::string_view> texts = {a, b};
  const auto batch = x.encode_batch(texts);
  CHECK(batch.seq_len == ra.size() + 2);
  CHECK(batch.input_ids[batch.seq_len + rb.size() + 2] == 1);
  CHECK(batch.attention_mask[batch.seq_len + rb.size() + 2] == 0);
}

TEST_CASE("XLM-RoBERTa tokenizer.json loads and encodes as its .model does", "[sentencepiece]") {
  const bool modern = GENERATE(true, false);
  INFO((modern ? "tokenizers >= 0.14 layout" : "2020 layout"));
  temp_dir dir;
  const auto json_path = dir.path / "tokenizer.json";
  {
    std::ofstream out(json_path, std::ios::binary);
    out << xlmr_tokenizer_json(botchan_model(), modern);
  }
  const auto from_json = sentencepiece_tokenizer::from_tokenizer_json(json_path.string());
  const auto from_model = sentencepiece_tokenizer::from_model_file(botchan_model(), sentencepiece_layout::xlm_roberta);
  CHECK(from_json.vocab_size() == 1002);
  CHECK(from_json.pad_id() == 1);
  CHECK(from_json.mask_id() == 1001);
  CHECK(from_json.unk_id() == 3);
  // On ordinary text the two agree; they part on whitespace other than ' ' and on special-token
  // strings in the text, where each follows its own reference (the .model path libsentencepiece,
  // the tokenizer.json path Hugging Face's tokenizers: see the hf_xlmr_reference test).
  std::size_t bad = 0;
  for (const auto& t : stsb_sentences("sts-dev.csv", 3000)) {
    const auto a = from_json.encode(t);
    const auto b = from_model.encode(t);
    if (a.input_ids != b.input_ids || a.tokens != b.tokens) {
      if (++bad <= 3) {
        INFO("[" << t << "]");
        CHECK(a.input_ids == b.input_ids);
      }
    }
  }
  CHECK(bad == 0);

  // save writes tokenizer.json back; load(dir) gives the same tokenizer
  temp_dir out;
  from_json.save(out.path.string());
  CHECK(slurp((out.path / "tokenizer.json").string()) == slurp(json_path.string()));
  const auto again = sentencepiece_tokenizer::load(out.path.string());
  for (const auto& t : edge_texts()) CHECK(again.encode(t).input_ids == from_json.encode(t).input_ids);

  // broken tokenizer.json files are clear errors
  CHECK_THROWS_AS(sentencepiece_tokenizer::from_tokenizer_json_text("{", "bad.json"), sbert::model_error);
  CHECK_THROWS_AS(sentencepiece_tokenizer::from_tokenizer_json_text(R"({"model": {"type": "WordPiece"}})", "bad.json"), sbert::model_error);
  CHECK_THROWS_AS(sentencepiece_tokenizer::from_tokenizer_json_text(R"({"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", "x"]]}})", "bad.json"),
                  sbert::model_error);
  CHECK_THROWS_AS(sentencepiece_tokenizer::from_tokenizer_json_text(R"({"model": {"type": "Unigram", "unk_id": 5, "vocab": [["a", -1.0]]}})", "bad.json"),
                  sbert::model_error);
}

TEST_CASE("tokenizer.json: ids equal Hugging Face tokenizers' on the recorded cases", "[sentencepiece]") {
  // data/hf_xlmr_reference.jsonl: Rust tokenizers 0.23.2 (npm) on the tokenizer.json files below
  // (data/make_hf_reference.js): STS-B sentences, edge cases, special tokens inside the text,
  // tabs (split by the 2020 layout's WhitespaceSplit), trailing Unicode spaces (Strip), literal
  // U+2581 in the text, exact score ties (HF sums doubles word by word), and grapheme clusters
  // (HF's Precompiled normalizer maps a short grapheme by its first rule, whole).
  temp_dir dir;
  std::map<std::string, sentencepiece_tokenizer> toks;
  for (const char* layout : {"modern", "legacy"}) {
    const auto path = dir.path / (std::string("botchan_xlmr_") + layout + ".json");
    std::ofstream(path, std::ios::binary) << xlmr_tokenizer_json(botchan_model(), std::string(layout) == "modern");
    toks.emplace(layout, sentencepiece_tokenizer::from_tokenizer_json(path.string()));
  }
  std::ifstream in(std::string(SBERT_SPM_TEST_DATA) + "/hf_xlmr_reference.jsonl");
  REQUIRE(in.good());
  simdjson::dom::parser parser;
  std::size_t cases = 0;
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element doc = parser.parse(line);
    const std::string layout{std::string_view(doc["layout"])};
    const std::string text{std::string_view(doc["text"])};
    std::vector<std::int64_t> ids;
    for (auto v : doc["ids"].get_array()) ids.push_back(std::int64_t(v));
    INFO(layout << " [" << text << "]");
    CHECK(toks.at(layout).encode(text).input_ids == ids);
    ++cases;
  }
  CHECK(cases == 608);
}

TEST_CASE("grapheme clusters match Unicode 15.0's GraphemeBreakTest", "[sentencepiece]") {
  std::ifstream in(std::string(SBERT_SPM_TEST_DATA) + "/GraphemeBreakTest-15.0.0.txt");
  REQUIRE(in.good());
  auto utf8 = [](std::string& o, char32_t c) {
    if (c < 0x80) {
      o += static_cast<char>(c);
    } else if (c < 0x800) {
      o += static_cast<char>(0xC0 | (c >> 6));
      o += static_cast<char>(0x80 | (c & 63));
    } else if (c < 0x10000) {
      o += static_cast<char>(0xE0 | (c >> 12));
      o += static_cast<char>(0x80 | ((c >> 6) & 63));
      o += static_cast<char>(0x80 | (c & 63));
    } else {
      o += static_cast<char>(0xF0 | (c >> 18));
      o += static_cast<char>(0x80 | ((c >> 12) & 63));
      o += static_cast<char>(0x80 | ((c >> 6) & 63));
      o += static_cast<char>(0x80 | (c & 63));
    }
  };
  std::size_t cases = 0;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::istringstream ss(line);
    std::string text;
    std::vector<std::size_t> want;  // byte offsets where a cluster ends
    for (std::string tok; ss >> tok;) {
      if (tok == "\xc3\xb7") {  // ÷: a boundary
        if (!text.empty()) want.push_back(text.size());
      } else if (tok != "\xc3\x97") {  // ×: none
        utf8(text, static_cast<char32_t>(std::stoul(tok, nullptr, 16)));
      }
    }
    std::vector<std::size_t> got;
    for (std::size_t p = 0; p < text.size();) got.push_back(p += sbert::models::detail::grapheme_length(std::string_view(text).substr(p)));
    INFO(line);
    CHECK(got == want);
    ++cases;
  }
  CHECK(cases == 602);
}

TEST_CASE("dump the XLM-R tokenizer.json files for make_hf_reference.js", "[.dump]") {
  const char* dir = std::getenv("SBERT_SPM_DUMP_DIR");
  REQUIRE(dir != nullptr);
  for (const char* layout : {"modern", "legacy"})
    std::ofstream(fs::path(dir) / (std::string("botchan_xlmr_") + layout + ".json"), std::ios::binary)
        << xlmr_tokenizer_json(botchan_model(), std::string(layout) == "modern");
}

TEST_CASE("mutated tokenizer.json files load or are model_errors, never crashes", "[sentencepiece]") {
  const std::string good = xlmr_tokenizer_json(botchan_model(), true);
  const std::size_t vocab_at = good.find("\"vocab\"");
  REQUIRE(vocab_at != std::string::npos);
  std::mt19937 rng(99);
  std::size_t rejected = 0;
  for (int k = 0; k < 300; ++k) {
    std::string b = good;
    // aim at the structure (the head with added tokens, normalizer and pre-tokenizer, and the
    // model's own fields) as often as at the vocabulary
    for (int e = 0, n = 1 + static_cast<int>(rng() % 4); e < n; ++e) {
      const std::size_t at = (rng() % 2) ? rng() % b.size() : (rng() % 2 ? rng() % std::min<std::size_t>(b.size(), 3000) : vocab_at + rng() % 200);
      constexpr std::string_view bytes = "{}[]\",:0-9e \\ntx\xff";
      switch (rng() % 3) {
        case 0: b[at % b.size()] = bytes[rng() % bytes.size()]; break;
        case 1: b.erase(at % b.size(), 1 + rng() % 8); break;
        default: b.insert(at % b.size(), 1, bytes[rng() % 12]); break;
      }
    }
    try {
      const auto t = sentencepiece_tokenizer::from_tokenizer_json_text(b, "mutated.json");
      for (const auto& s : {"A man is playing a flute.", "naïve café 日本語 <mask>", "  x  "}) (void)t.encode(s, std::string_view("pair"), 16);
    } catch (const sbert::model_error& e) {
      CHECK(std::string(e.what()).find("mutated.json") != std::string::npos);
      ++rejected;
    }
  }
  CHECK(rejected > 50);
}

TEST_CASE("save writes the .model back byte for byte and reloads identically", "[sentencepiece]") {
  for (auto layout : {sentencepiece_layout::xlm_roberta, sentencepiece_layout::plain}) {
    const auto tok = sentencepiece_tokenizer::from_model_file(botchan_model(), layout);
    temp_dir dir;
    tok.save(dir.path.string());
    const auto file = layout == sentencepiece_layout::xlm_roberta ? "sentencepiece.bpe.model" : "spiece.model";
    CHECK(slurp((dir.path / file).string()) == slurp(botchan_model()));
    const auto again = sentencepiece_tokenizer::load(dir.path.string());
    CHECK(again.layout() == layout);
    CHECK(again.vocab_size() == tok.vocab_size());
    for (const auto& t : test_texts()) {
      const auto a = again.encode(t, std::string_view("second text"));
      const auto b = tok.encode(t, std::string_view("second text"));
      REQUIRE(a.input_ids == b.input_ids);
    }
    CHECK(again.model_max_length() == 0);
    // the saved model is still a valid sentencepiece model
    const oracle o((dir.path / file).string());
    CHECK(o.ids("I have a pen.") == std::vector<int>{9, 76, 11, 68, 98, 6});
  }
}

TEST_CASE("load(dir) picks the tokenizer Python would use", "[sentencepiece]") {
  CHECK_FALSE(sentencepiece_tokenizer::is_sentencepiece_folder(sbert::test::shared_dir() + "/models/bert-base-uncased"));
  temp_dir dir;
  CHECK_FALSE(sentencepiece_tokenizer::is_sentencepiece_folder(dir.path.string()));
  // an XLM-R folder as the Hub has it: both files; the fast tokenizer (tokenizer.json) wins
  fs::copy_file(botchan_model(), dir.path / "sentencepiece.bpe.model");
  std::ofstream(dir.path / "tokenizer_config.json") << R"({"tokenizer_class": "XLMRobertaTokenizer"})";
  CHECK(sentencepiece_tokenizer::is_sentencepiece_folder(dir.path.string()));
  CHECK(sentencepiece_tokenizer::load(dir.path.string()).layout() == sentencepiece_layout::xlm_roberta);
  const std::string tabs = "tab\tseparated";  // the 2020 layout's WhitespaceSplit splits at tabs, spm does not
  const auto from_model = sbert::models::load_sentencepiece(dir.path.string()).encode(tabs).input_ids;
  std::ofstream(dir.path / "tokenizer.json", std::ios::binary) << xlmr_tokenizer_json(botchan_model(), false);
  const auto from_json = sbert::models::load_sentencepiece(dir.path.string()).encode(tabs).input_ids;
  CHECK(from_json == sentencepiece_tokenizer::from_tokenizer_json((dir.path / "tokenizer.json").string()).encode(tabs).input_ids);
  CHECK(from_json != from_model);

  // model_max_length comes from tokenizer_config.json (Python's 1e30 sentinel means unknown)
  std::ofstream(dir.path / "tokenizer_config.json") << R"({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 128})";
  auto t = sbert::models::load_sentencepiece(dir.path.string());
  CHECK(t.model_max_length() == 128);
  temp_dir out;
  t.save(out.path.string());
  CHECK(sbert::models::load_sentencepiece(out.path.string()).model_max_length() == 128);
  CHECK(slurp((out.path / "tokenizer_config.json").string()).find("\"model_max_length\": 128") != std::string::npos);
  std::ofstream(dir.path / "tokenizer_config.json") << R"({"model_max_length": 1000000000000000019884624838656})";
  CHECK(sbert::models::load_sentencepiece(dir.path.string()).model_max_length() == 0);
  std::ofstream(dir.path / "tokenizer_config.json") << R"({"model_max_length": )";
  CHECK_THROWS_AS(sbert::models::load_sentencepiece(dir.path.string()), sbert::model_error);
}

TEST_CASE("a model serialized by sbert is read back identically by libsentencepiece", "[sentencepiece]") {
  const std::string bytes = slurp(botchan_model());
  const auto m = sbert::models::spm_detail::parse_model(bytes, "botchan");
  REQUIRE(m.pieces.size() == 1000);
  CHECK(m.type == sbert::models::spm_detail::unigram);
  CHECK(m.pieces[0].type == sbert::models::spm_detail::unknown);
  CHECK(m.pieces[1].text == "<s>");
  CHECK(m.pieces[1].type == sbert::models::spm_detail::control);
  CHECK(m.add_dummy_prefix);
  CHECK_FALSE(m.charsmap.empty());
  temp_dir dir;
  const auto path = (dir.path / "re.model").string();
  {
    std::ofstream out(path, std::ios::binary);
    out << sbert::models::spm_detail::serialize_model(m);
  }
  const oracle o(path);
  const oracle ref(botchan_model());
  for (const auto& t : test_texts()) REQUIRE(o.ids(t) == ref.ids(t));
}

TEST_CASE("corrupt .model files are model_errors, never crashes", "[sentencepiece]") {
  const std::string good = slurp(botchan_model());
  auto try_load = [](const std::string& bytes) {
    try {
      const auto t = sentencepiece_tokenizer::from_model_bytes(bytes, sentencepiece_layout::plain, "corrupt.model");
      // a mutation that still parses must still encode without touching memory it does not own
      for (const auto& s : {"A man is playing a flute.", "naïve café 日本語", "  x  "}) {
        try {
          (void)t.encode_ids(s);
        } catch (const sbert::model_error&) {
        }
      }
      return true;
    } catch (const sbert::model_error& e) {
      CHECK(std::string(e.what()).find("corrupt.model") != std::string::npos);
      return false;
    }
  };
  SECTION("truncated") {
    std::size_t rejected = 0, total = 0;
    for (std::size_t n = 0; n < good.size(); n += (n < 4096 ? 1 : 509)) {
      ++total;
      if (!try_load(good.substr(0, n))) ++rejected;
    }
    // a prefix that ends between fields is a valid (smaller) message; most cuts are not
    CHECK(rejected > total / 2);
    CHECK_FALSE(try_load(good.substr(0, 3)));
    CHECK_FALSE(try_load(""));
  }
  SECTION("bad lengths and wire types") {
    // the first field is `pieces` (tag 0x0A) with a length; claim far more than the file has
    REQUIRE(static_cast<unsigned char>(good[0]) == 0x0A);
    std::string huge = good;
    huge[1] = '\xff';
    huge[2] = '\xff';
    huge[3] = '\xff';
    huge[4] = '\x7f';
    CHECK_FALSE(try_load(huge));
    std::string wire = good;
    wire[0] = 0x0B;  // field 1 with a group wire type
    CHECK_FALSE(try_load(wire));
    CHECK_FALSE(try_load(std::string(12, '\xff')));  // an endless varint
    // a charsmap whose trie claims more bytes than it has
    auto m = sbert::models::spm_detail::parse_model(good, "x");
    m.charsmap[0] = '\xff';
    m.charsmap[1] = '\xff';
    m.charsmap[2] = '\xff';
    m.charsmap[3] = '\x0f';
    CHECK_FALSE(try_load(sbert::models::spm_detail::serialize_model(m)));
    // no <unk>, duplicate pieces, byte pieces without byte_fallback
    auto no_unk = sbert::models::spm_detail::parse_model(good, "x");
    no_unk.pieces[0].type = sbert::models::spm_detail::normal;
    CHECK_FALSE(try_load(sbert::models::spm_detail::serialize_model(no_unk)));
    auto dup = sbert::models::spm_detail::parse_model(good, "x");
    dup.pieces[10].text = dup.pieces[11].text;
    CHECK_FALSE(try_load(sbert::models::spm_detail::serialize_model(dup)));
    auto byte_piece = sbert::models::spm_detail::parse_model(good, "x");
    byte_piece.pieces[10].text = "<0x41>";
    byte_piece.pieces[10].type = sbert::models::spm_detail::byte;
    CHECK_FALSE(try_load(sbert::models::spm_detail::serialize_model(byte_piece)));
  }
  SECTION("random byte flips") {
    std::mt19937 rng(7);
    for (int k = 0; k < 300; ++k) {
      std::string b = good;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<char>(rng() & 0xFF);
      (void)try_load(b);
    }
    SUCCEED("300 mutated models loaded or were rejected without crashing");
  }
  SECTION("missing file") {
    CHECK_THROWS_AS(sentencepiece_tokenizer::from_model_file("/nonexistent/x.model"), sbert::model_error);
    CHECK_THROWS_AS(sentencepiece_tokenizer::load("/nonexistent"), sbert::model_error);
  }
}
