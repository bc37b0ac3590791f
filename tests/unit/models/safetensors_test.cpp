// safetensors reader/writer: round trips, byte-identity with a file the Python library wrote,
// and corrupt files that must be errors naming the file and tensor, never crashes.
#include "catch.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <simdjson.h>

#include <sbert/io/safetensors.hpp>

namespace st = sbert::safetensors;

namespace {

std::vector<std::byte> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), {});
  std::vector<std::byte> b(c.size());
  if (!c.empty()) std::memcpy(b.data(), c.data(), c.size());
  return b;
}

/// A file image from a literal header and `data_size` zero bytes (no padding, as a hostile
/// writer might produce).
std::vector<std::byte> image(const std::string& header, std::size_t data_size) {
  std::vector<std::byte> out(8 + header.size() + data_size);
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

/// The BertModel state dict that transformers writes for the reference folder's config.json:
/// every tensor name with its shape (Linear weights [out, in]). For the shipped tiny BERT
/// (hidden 128, 2 layers, intermediate 512) this is 39 tensors and 4385920 parameters.
std::vector<std::pair<std::string, std::vector<std::int64_t>>> bert_state_dict_shapes(const std::string& config_path) {
  simdjson::dom::parser parser;
  simdjson::dom::element c;
  if (parser.load(config_path).get(c)) throw std::runtime_error("cannot read " + config_path);
  auto get = [&](const char* key) { return c[key].get_int64().value(); };
  const auto H = get("hidden_size"), I = get("intermediate_size"), L = get("num_hidden_layers");
  const auto V = get("vocab_size"), P = get("max_position_embeddings"), T = get("type_vocab_size");
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> out = {
      {"embeddings.word_embeddings.weight", {V, H}},
      {"embeddings.position_embeddings.weight", {P, H}},
      {"embeddings.token_type_embeddings.weight", {T, H}},
      {"embeddings.LayerNorm.weight", {H}},
      {"embeddings.LayerNorm.bias", {H}}};
  auto linear = [&](const std::string& name, std::int64_t in, std::int64_t o) {
    out.push_back({name + ".weight", {o, in}});
    out.push_back({name + ".bias", {o}});
  };
  auto layer_norm = [&](const std::string& name) {
    out.push_back({name + ".weight", {H}});
    out.push_back({name + ".bias", {H}});
  };
  for (std::int64_t l = 0; l < L; ++l) {
    const auto p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* qkv : {"query", "key", "value"}) linear(p + "attention.self." + qkv, H, H);
    linear(p + "attention.output.dense", H, H);
    layer_norm(p + "attention.output.LayerNorm");
    linear(p + "intermediate.dense", H, I);
    linear(p + "output.dense", I, H);
    layer_norm(p + "output.LayerNorm");
  }
  linear("pooler.dense", H, H);
  return out;
}

std::string error_of(const std::vector<std::byte>& file) {
  try {
    (void)st::parse_header(file, "bad.safetensors");
  } catch (const sbert::model_error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("safetensors: round trip of every dtype keeps bytes, shapes and metadata") {
  std::vector<std::byte> pool(4096);
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<std::byte>(i * 37 + 11);
  std::vector<st::tensor_ref> refs;
  std::size_t off = 0;
  int k = 0;
  for (auto [type, name] : st::dtype_names) {
    const std::vector<std::int64_t> shape = {2, 3};
    const std::size_t n = 6 * st::element_size(type);
    std::string tensor_name = "t";
    tensor_name.append(std::to_string(k++)).append("_").append(name);
    refs.push_back({tensor_name, type, shape, std::span<const std::byte>(pool).subspan(off, n)});
    off += n;
  }
  refs.push_back({"scalar", st::dtype::F64, {}, std::span<const std::byte>(pool).subspan(0, 8)});
  refs.push_back({"empty", st::dtype::F32, {0, 4}, {}});
  const auto bytes = st::serialize(refs, {{"format", "pt"}, {"note", "caf\xC3\xA9 \"q\""}});

  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);  // the data section starts 8-byte aligned, as Python writes it

  auto r = st::reader::from_bytes(bytes, "mem.safetensors");
  REQUIRE(r.tensors().size() == refs.size());
  REQUIRE(r.metadata().size() == 2);
  CHECK(r.metadata()[0] == std::pair<std::string, std::string>{"format", "pt"});
  CHECK(r.metadata()[1].second == "caf\xC3\xA9 \"q\"");
  for (const auto& ref : refs) {
    const auto& t = r.at(ref.name);
    CHECK(t.type == ref.type);
    CHECK(t.shape == ref.shape);
    auto d = r.data(t);
    REQUIRE(d.size() == ref.data.size());
    CHECK(std::memcmp(d.data(), ref.data.data(), d.size()) == 0);
  }
  // Largest dtype first, then by name, as the Rust crate lays tensors out.
  CHECK(r.tensors().front().type == st::dtype::U64);
  CHECK(r.tensors().back().type == st::dtype::BOOL);
  CHECK(r.find("missing") == nullptr);
  CHECK_THROWS_AS(r.at("missing"), sbert::model_error);
}

TEST_CASE("safetensors: the Python-written tiny BERT reads, and re-serializes byte-identically",
          "[reference]") {
  const std::string path = sbert::test::reference_dir() + "/tiny-bert-st/model.safetensors";
  auto r = st::reader::open(path);
  // Exactly the tensors (names, shapes, F32) that the folder's config.json implies.
  const auto expected = bert_state_dict_shapes(sbert::test::reference_dir() + "/tiny-bert-st/config.json");
  CHECK(r.tensors().size() == expected.size());
  REQUIRE(r.metadata().size() == 1);
  CHECK(r.metadata()[0].first == "format");
  CHECK(r.metadata()[0].second == "pt");
  std::size_t expected_params = 0;
  for (const auto& [name, shape] : expected) {
    INFO(name);
    const auto* t = r.find(name);
    REQUIRE(t != nullptr);
    CHECK(t->type == st::dtype::F32);
    CHECK(t->shape == shape);
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    expected_params += n;
  }
  std::size_t params = 0;
  for (const auto& t : r.tensors()) params += t.numel();
  CHECK(params == expected_params);

  std::vector<st::tensor_ref> refs;
  for (const auto& t : r.tensors()) refs.push_back({t.name, t.type, t.shape, r.data(t)});
  const auto again = st::serialize(refs, {{"format", "pt"}});
  const auto original = read_all(path);
  REQUIRE(again.size() == original.size());
  CHECK(std::memcmp(again.data(), original.data(), again.size()) == 0);
}

TEST_CASE("safetensors: save_file writes a file that reader::open maps back") {
  const std::string path = "safetensors_test_tmp.safetensors";
  std::vector<float> v = {1.5f, -2.0f, 3.25f};
  st::save_file(path, {{"v", st::dtype::F32, {3}, std::as_bytes(std::span(v))}});
  auto r = st::reader::open(path);
  auto d = r.data(r.at("v"));
  float back[3];
  std::memcpy(back, d.data(), sizeof back);
  CHECK(back[0] == 1.5f);
  CHECK(back[1] == -2.0f);
  CHECK(back[2] == 3.25f);
  std::remove(path.c_str());
  CHECK_THROWS_WITH(st::reader::open(path), Catch::Contains(path) && Catch::Contains("cannot open"));
}

TEST_CASE("safetensors: writer refuses inconsistent tensors") {
  std::vector<std::byte> b(12);
  CHECK_THROWS_AS(st::serialize({{"x", st::dtype::F32, {2, 2}, b}}), sbert::model_error);
  CHECK_THROWS_AS(st::serialize({{"x", st::dtype::F32, {3}, b}, {"x", st::dtype::F32, {3}, b}}),
                  sbert::model_error);
}

TEST_CASE("safetensors: corrupt files are model_errors that say what is wrong", "[reference]") {
  using Catch::Contains;
  SECTION("shorter than the length prefix") {
    CHECK_THAT(error_of(std::vector<std::byte>(5)), Contains("bad.safetensors") && Contains("8-byte"));
  }
  SECTION("absurd header length") {
    auto f = image("{}", 0);
    const std::uint64_t n = 1ull << 40;
    std::memcpy(f.data(), &n, 8);
    CHECK_THAT(error_of(f), Contains("absurd"));
  }
  SECTION("header length past the end of the file") {
    auto f = image("{}", 0);
    const std::uint64_t n = 64;
    std::memcpy(f.data(), &n, 8);
    CHECK_THAT(error_of(f), Contains("truncated"));
  }
  SECTION("truncated data section") {
    auto f = image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8);
    CHECK(error_of(f) == "<no error>");
    f.pop_back();
    CHECK_THAT(error_of(f), Contains("tensor 'w'") && Contains("past the data section"));
  }
  SECTION("truncated Python file") {
    auto f = read_all(sbert::test::reference_dir() + "/tiny-bert-st/model.safetensors");
    f.resize(f.size() - 100);
    CHECK_THAT(error_of(f), Contains("past the data section"));
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, f.data(), 8);
    f.resize(8 + header_size / 2);  // inside the header
    CHECK_THAT(error_of(f), Contains("truncated"));
  }
  SECTION("offsets out of range, reversed, or not integers") {
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 8)),
               Contains("tensor 'w'") && Contains("past the data section"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)),
               Contains("end before they begin"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", 8)),
               Contains("non-integer or negative"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8)),
               Contains("exactly two"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", 8)),
               Contains("exactly two"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", 8)),
               Contains("past the data section"));
  }
  SECTION("dtype size x shape mismatch") {
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,16]}})", 16)),
               Contains("tensor 'w'") && Contains("size mismatch"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]}})", 16)),
               Contains("tensor 'w'"));
    CHECK_THAT(error_of(image(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)),
               Contains("negative"));
  }
  SECTION("overlapping, gapped and incomplete coverage") {
    CHECK_THAT(error_of(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)),
               Contains("overlaps"));
    CHECK_THAT(error_of(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12)),
               Contains("tensor 'b'") && Contains("gap"));
    CHECK_THAT(error_of(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12)),
               Contains("trailing"));
  }
  SECTION("bad JSON, dtype, duplicates and metadata") {
    CHECK_THAT(error_of(image(R"({"a":{"dtype":"F32",)", 0)), Contains("not valid JSON"));
    CHECK_THAT(error_of(image(R"([1,2])", 0)), Contains("start with '{'"));
    CHECK_THAT(error_of(image(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", 4)),
               Contains("unsupported dtype 'Q7'"));
    CHECK_THAT(error_of(image(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4)), Contains("dtype"));
    CHECK_THAT(error_of(image(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
               Contains("twice"));
    CHECK_THAT(error_of(image(R"({"__metadata__":{"format":3}})", 0)), Contains("not a string"));
    CHECK_THAT(error_of(image(R"({"a":[1,2]})", 0)), Contains("tensor 'a'"));
    CHECK_THAT(error_of(image("{\"a\xff\":{}}", 0)), Contains("not valid JSON"));
  }
  SECTION("an empty file is fine: header only, no tensors") {
    CHECK(error_of(image("{}", 0)) == "<no error>");
    CHECK(error_of(image(R"({"__metadata__":null})", 0)) == "<no error>");
  }
}

TEST_CASE("safetensors: random corruption of a valid file never crashes or reads outside it") {
  std::vector<std::byte> payload(64);
  const auto seed = st::serialize({{"a", st::dtype::F32, {4, 2}, std::span(payload).first(32)},
                                   {"b", st::dtype::BF16, {16}, std::span(payload).subspan(32)}});
  std::mt19937 rng(7);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    auto m = seed;
    const auto pos = rng() % m.size();
    m[pos] = static_cast<std::byte>(rng());
    if (rng() % 3 == 0) m.resize(rng() % m.size());
    try {
      const auto h = st::parse_header(m, "m");
      for (const auto& t : h.tensors) REQUIRE(h.data_start + t.end <= m.size());
      ++accepted;
    } catch (const sbert::model_error&) {
      ++rejected;
    }
  }
  CHECK(accepted > 0);
  CHECK(rejected > 0);
}
