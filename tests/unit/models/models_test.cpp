// The model stack against the Python library: tiny BERT and every pooling variant reproduce
// shared/reference/embeddings.json; folders save and reload bit-identically; encode() options;
// similarity functions; safetensors <-> torch; random init; errors that name the file.
// One TU on purpose: each libtorch TU costs ~20 s to compile.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <simdjson.h>

#include <sbert/io/safetensors_torch.hpp>
#include <sbert/models/sentence_transformer.hpp>

// libtorch's glog defines CHECK too; Catch's must win in this file.
#undef CHECK
#include "catch.hpp"

namespace fs = std::filesystem;
using namespace sbert::models;

namespace {

// Tolerances of shared/reference/README.md section 7 (they do not depend on the reference set).
constexpr double plain_tol = 1e-5;       // embeddings ("plain"), token_embeddings_probe
constexpr double normalized_tol = 1e-6;  // embeddings ("normalized")

simdjson::dom::element load_json(simdjson::dom::parser& parser, const std::string& path) {
  simdjson::dom::element e;
  if (parser.load(path).get(e)) throw std::runtime_error("cannot read " + path);
  return e;
}

/// One entry of tiny-bert-st-variants/variants.json.
struct variant {
  std::string name, pooling_mode;
  bool normalize = false;
  std::vector<std::string> overlay_files;
};

/// Everything a test may know about the reference set comes from here: embeddings.json, the
/// model folder's config.json and 1_Pooling/config.json, and variants.json. Nothing below
/// hard-codes a count or a size of the shipped set (shared/reference), so the tests hold for
/// any set the same Python generator writes (SBERT_REFERENCE_DIR).
struct reference {
  simdjson::dom::parser parser, config_parser, pooling_parser, variants_parser;
  simdjson::dom::element root, config, pooling_config, variants_root;
  reference() {
    const auto dir = sbert::test::reference_dir();
    root = load_json(parser, dir + "/embeddings.json");
    config = load_json(config_parser, dir + "/tiny-bert-st/config.json");
    pooling_config = load_json(pooling_parser, dir + "/tiny-bert-st/1_Pooling/config.json");
    variants_root = load_json(variants_parser, dir + "/tiny-bert-st-variants/variants.json");
  }
  std::vector<std::string> sentences() {
    std::vector<std::string> out;
    for (auto s : root["sentences"].get_array()) out.emplace_back(std::string_view(s.get_string()));
    return out;
  }
  /// The number of sentences (= rows of padded_batch and of every embeddings matrix).
  std::int64_t n() { return static_cast<std::int64_t>(root["sentences"].get_array().size()); }
  std::int64_t max_seq_length() { return root["max_seq_length"].get_int64().value(); }
  /// BertConfig.hidden_size of the model folder (= embeddings.json's hidden_size).
  std::int64_t hidden() { return config["hidden_size"].get_int64().value(); }
  std::int64_t intermediate_size() { return config["intermediate_size"].get_int64().value(); }
  std::int64_t num_hidden_layers() { return config["num_hidden_layers"].get_int64().value(); }
  /// The pooling mode of the model folder itself (1_Pooling/config.json's enabled flag).
  std::string base_mode() {
    static const std::pair<const char*, const char*> flags[] = {
        {"pooling_mode_cls_token", "cls"},
        {"pooling_mode_mean_tokens", "mean"},
        {"pooling_mode_max_tokens", "max"},
        {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
        {"pooling_mode_weightedmean_tokens", "weightedmean"},
        {"pooling_mode_lasttoken", "lasttoken"}};
    std::string mode;
    for (auto [key, name] : flags) {
      bool on = false;
      if (!pooling_config[key].get(on) && on) {
        REQUIRE(mode.empty());  // a single mode, as the generator writes it
        mode = name;
      }
    }
    REQUIRE(!mode.empty());
    return mode;
  }
  /// A [rows][cols] JSON matrix as a float tensor (values are exact float32).
  static at::Tensor matrix(simdjson::dom::array rows, at::ScalarType type = at::kFloat) {
    std::vector<double> v;
    std::int64_t n = 0, m = 0;
    for (auto r : rows) {
      m = 0;
      for (auto x : r.get_array()) {
        double d;
        if (x.get_double().get(d)) d = static_cast<double>(std::int64_t(x.get_int64()));
        v.push_back(d);
        ++m;
      }
      ++n;
    }
    return at::from_blob(v.data(), {n, m}, at::kDouble).to(type);
  }
  at::Tensor batch(const char* key) { return matrix(root["padded_batch"][key].get_array(), at::kLong); }
  /// Whether this set recorded embeddings[mode][plain|normalized] (a set may leave some out).
  bool has_embeddings(std::string_view mode, bool normalized) {
    return !root["embeddings"][mode][normalized ? "normalized" : "plain"].error();
  }
  at::Tensor embeddings(std::string_view mode, bool normalized) {
    INFO("embeddings[" << mode << "][" << (normalized ? "normalized" : "plain") << "]");
    REQUIRE(has_embeddings(mode, normalized));
    return matrix(root["embeddings"][mode][normalized ? "normalized" : "plain"].get_array());
  }
  std::vector<std::string> pooling_modes() {
    std::vector<std::string> out;
    for (auto m : root["pooling_modes"].get_array()) out.emplace_back(std::string_view(m.get_string()));
    return out;
  }
  /// The variants this set ships, in variants.json's order.
  std::vector<variant> variants() {
    std::vector<variant> out;
    for (auto [key, v] : variants_root.get_object()) {
      variant x;
      x.name = std::string(key);
      x.pooling_mode = std::string(std::string_view(v["pooling_mode"].get_string()));
      x.normalize = v["normalize"].get_bool().value();
      for (auto f : v["overlay_files"].get_array()) x.overlay_files.emplace_back(std::string_view(f.get_string()));
      out.push_back(std::move(x));
    }
    return out;
  }
  /// The overlay folder of a variant, from embeddings.json's variant_dirs.
  std::string variant_dir(const std::string& name) {
    std::string_view rel;
    INFO("variant_dirs[" << name << "]");
    REQUIRE(!root["variant_dirs"][name].get(rel));
    return sbert::test::reference_dir() + "/" + std::string(rel);
  }
  /// A pooling mode with normalized embeddings in this set, preferring one other than the model
  /// folder's own mode; empty if the set has none.
  std::string normalized_mode() {
    std::string fallback;
    for (const auto& m : pooling_modes()) {
      if (!has_embeddings(m, true)) continue;
      if (m != base_mode()) return m;
      fallback = m;
    }
    return fallback;
  }
};

reference& ref() {
  static reference r;
  return r;
}

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto p = fs::temp_directory_path() / ("sbert_models_" + std::to_string(::getpid()) + "_" + tag + "_" +
                                        std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

/// A writable copy of the reference model folder tiny-bert-st.
std::string copy_model(const std::string& tag) {
  const auto dir = temp_dir(tag);
  fs::copy(sbert::test::reference_dir() + "/tiny-bert-st", dir,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  for (auto& p : fs::recursive_directory_iterator(dir))
    fs::permissions(p.path(), fs::perms::owner_write, fs::perm_options::add);
  return dir;
}

/// tiny-bert-st with a variant's overlay files copied over it (reference README section 2).
std::string assemble_variant(const variant& v) {
  const auto dir = copy_model(v.name);
  const auto overlay = ref().variant_dir(v.name);
  REQUIRE(!v.overlay_files.empty());
  for (const auto& f : v.overlay_files) {
    fs::create_directories(fs::path(dir + "/" + f).parent_path());
    fs::copy_file(overlay + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  }
  return dir;
}

features padded_features() {
  features f;
  f.input_ids = ref().batch("input_ids");
  f.attention_mask = ref().batch("attention_mask");
  f.token_type_ids = ref().batch("token_type_ids");
  return f;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

using shape = std::vector<std::int64_t>;

}  // namespace

TEST_CASE("models: tokenize() reproduces the reference padded batch", "[reference]") {
  auto m = sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  CHECK(m->max_seq_length() == ref().max_seq_length());
  CHECK(ref().root["hidden_size"].get_int64().value() == ref().hidden());
  const auto s = ref().sentences();
  REQUIRE(!s.empty());
  REQUIRE(ref().root["tokenized"].get_array().size() == s.size());
  REQUIRE(ref().batch("input_ids").size(0) == ref().n());
  CHECK(ref().batch("input_ids").size(1) <= ref().max_seq_length());
  auto f = m->tokenize(s);
  CHECK(at::equal(f.input_ids, ref().batch("input_ids")));
  CHECK(at::equal(f.attention_mask, ref().batch("attention_mask")));
  CHECK(at::equal(f.token_type_ids, ref().batch("token_type_ids")));
}

TEST_CASE("models: BERT last hidden state matches token_embeddings_probe within 1e-5", "[reference]") {
  auto m = sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  // The model's shape is the folder's config.json.
  auto bert = std::dynamic_pointer_cast<bert_model>(m->first_transformer().auto_model);
  REQUIRE(bert != nullptr);
  CHECK(bert->config().hidden_size == ref().hidden());
  CHECK(bert->config().intermediate_size == ref().intermediate_size());
  CHECK(static_cast<std::int64_t>(bert->layers->size()) == ref().num_hidden_layers());
  m->eval();
  at::NoGradGuard ng;
  auto f = padded_features();
  m->forward(f);
  REQUIRE((f.token_embeddings.sizes() == shape{ref().n(), f.input_ids.size(1), ref().hidden()}));
  auto probe = ref().root["token_embeddings_probe"];
  auto values = probe["values"].get_array();
  auto indices = probe["indices"].get_array();
  REQUIRE(values.size() == indices.size());  // one [n_tokens][hidden] matrix per probed sentence
  std::size_t k = 0;
  for (auto idx : indices) {
    const auto i = std::int64_t(idx);
    INFO("sentence " << i);
    REQUIRE(i >= 0);
    REQUIRE(i < ref().n());
    auto expected = reference::matrix(values.at(k++).get_array());
    simdjson::dom::array tokenized = ref().root["tokenized"].get_array();
    simdjson::dom::array ids = tokenized.at(static_cast<std::size_t>(i))["input_ids"].get_array();
    CHECK(expected.size(0) == static_cast<std::int64_t>(ids.size()));
    REQUIRE(expected.size(1) == ref().hidden());
    auto got = f.token_embeddings[i].narrow(0, 0, expected.size(0));
    CHECK(max_abs_diff(got, expected) < plain_tol);
    // The rows after the attended ones are padding: the probe must stop at the mask's end.
    CHECK(f.attention_mask[i].sum().item<std::int64_t>() == expected.size(0));
  }
  CHECK(k == indices.size());
}

TEST_CASE("models: every pooling variant, plain and normalized, reproduces embeddings.json", "[reference]") {
  at::NoGradGuard ng;
  const auto variants = ref().variants();
  REQUIRE(!variants.empty());
  CHECK(ref().root["variant_dirs"].get_object().size() == variants.size());
  // Every variant folder is listed in embeddings.json and its embeddings were recorded; every
  // recorded pooling mode has its plain embeddings.
  const auto modes = ref().pooling_modes();
  for (const auto& mode : modes) {
    INFO("pooling mode " << mode);
    CHECK(ref().has_embeddings(mode, false));
  }
  const auto batch_size = ref().n();  // one batch holding all sentences, as embeddings.json's encode_call
  for (const auto& v : variants) {
    INFO("variant " << v.name);
    CHECK(std::find(modes.begin(), modes.end(), v.pooling_mode) != modes.end());
    const auto dir = assemble_variant(v);
    auto m = sentence_transformer::load(dir);
    CHECK(m->modules_list().size() == (v.normalize ? 3u : 2u));
    m->eval();
    auto f = padded_features();
    m->forward(f);
    const auto expected = ref().embeddings(v.pooling_mode, v.normalize);
    REQUIRE((expected.sizes() == shape{ref().n(), ref().hidden()}));
    CHECK(max_abs_diff(f.sentence_embedding, expected) < (v.normalize ? normalized_tol : plain_tol));
    if (!v.normalize && ref().has_embeddings(v.pooling_mode, true)) {
      // encode(normalize_embeddings=true) on the plain variant = the normalized reference.
      auto e = m->encode(ref().sentences(), {.batch_size = batch_size, .normalize_embeddings = true});
      CHECK(max_abs_diff(e, ref().embeddings(v.pooling_mode, true)) < normalized_tol);
    }
    fs::remove_all(dir);
  }
}

TEST_CASE("models: encode() batches by length and restores the order", "[reference]") {
  auto m = sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  const auto s = ref().sentences();
  const auto n = ref().n();
  const auto expected = ref().embeddings(ref().base_mode(), false);
  auto all = m->encode(s, {.batch_size = n});
  CHECK(all.device().is_cpu());
  CHECK(max_abs_diff(all, expected) < plain_tol);
  // One sentence per batch, uneven batches, about half, and a batch larger than the set.
  // Each with the next batch tokenised on a worker thread and without (the default on CPU).
  for (std::int64_t bs : {std::int64_t{1}, std::int64_t{7}, (n + 1) / 2, n + 3}) {
    for (bool ahead : {true, false}) {
      INFO("batch_size " << bs << ", tokenize_ahead " << ahead);
      CHECK(max_abs_diff(m->encode(s, {.batch_size = bs, .tokenize_ahead = ahead}), expected) < plain_tol);
    }
  }
  // truncate_dim keeps the leading dims, then normalisation applies to what is kept.
  const auto keep = std::max<std::int64_t>(1, ref().hidden() / 4);
  auto t = m->encode(s, {.batch_size = 16, .normalize_embeddings = true, .truncate_dim = keep});
  REQUIRE((t.sizes() == shape{n, keep}));
  auto manual = l2_normalize(expected.narrow(1, 0, keep));
  CHECK(max_abs_diff(t, manual) < plain_tol);
  CHECK((m->encode(std::vector<std::string>{}).sizes() == shape{0, ref().hidden()}));
  // The reference's own batch-of-one check is what the plain tolerance rests on.
  double noise = 0;
  if (!ref().root["checks"]["max_abs_diff_batch_size_1_vs_single_batch"].get(noise)) CHECK(noise < plain_tol);
}

TEST_CASE("models: prompts are prepended; include_prompt=false drops them from pooling", "[reference]") {
  auto m = sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  {
    // The folder's prompts (the shipped set has "query": "", "document": "").
    simdjson::dom::parser parser;
    auto cfg = load_json(parser, sbert::test::reference_dir() + "/tiny-bert-st/config_sentence_transformers.json");
    simdjson::dom::object prompts;
    REQUIRE(!cfg["prompts"].get(prompts));
    sentence_transformer::prompt_list expected;
    for (auto [name, text] : prompts)
      expected.emplace_back(std::string(name), std::string(std::string_view(text.get_string())));
    CHECK(m->prompts == expected);
  }
  m->prompts = {{"query", "query: "}};
  const std::vector<std::string> s = {"A man is playing a guitar.", "Dogs run."};
  auto with_name = m->encode(s, {.prompt_name = "query"});
  const std::vector<std::string> prefixed = {"query: A man is playing a guitar.", "query: Dogs run."};
  CHECK(max_abs_diff(with_name, m->encode(prefixed)) == 0.0);
  CHECK(max_abs_diff(m->encode(s, {.prompt = "query: "}), with_name) == 0.0);
  CHECK_THROWS_WITH(m->encode(s, {.prompt_name = "nope"}), Catch::Contains("nope"));

  // include_prompt=false: mean over the tokens after "[CLS] query :" (prompt_length 3).
  auto t = std::dynamic_pointer_cast<transformer>(m->modules_list()[0]);
  auto excl = sentence_transformer(std::vector<std::shared_ptr<module>>{
      t, std::make_shared<pooling>(pooling::options{.word_embedding_dimension = ref().hidden(), .include_prompt = false})});
  excl.prompts = m->prompts;
  auto got = excl.encode(s, {.prompt_name = "query"});
  at::NoGradGuard ng;
  m->eval();
  auto f = m->tokenize(prefixed);
  m->forward(f);
  auto mask = f.attention_mask.clone();
  mask.narrow(1, 0, 3).zero_();
  auto mk = mask.unsqueeze(-1).to(at::kFloat);
  auto manual = (f.token_embeddings * mk).sum(1) / mk.sum(1);
  CHECK(max_abs_diff(got, manual) < 1e-6);
  CHECK(max_abs_diff(got, with_name) > 1e-3);
}

TEST_CASE("models: save() writes the Python folder byte for byte and reloads bit-identically", "[reference]") {
  const auto src = sbert::test::reference_dir() + "/tiny-bert-st";
  auto m = sentence_transformer::load(src);
  const auto out = temp_dir("save");
  m->save(out);
  for (const char* f : {"modules.json", "config_sentence_transformers.json", "sentence_bert_config.json",
                        "1_Pooling/config.json", "config.json", "model.safetensors", "vocab.txt"}) {
    INFO(f);
    CHECK(read_file(out + "/" + f) == read_file(src + "/" + f));
  }
  auto again = sentence_transformer::load(out);
  auto p1 = m->named_parameters(), p2 = again->named_parameters();
  REQUIRE(p1.size() == p2.size());
  for (const auto& p : p1) {
    INFO(p.key());
    REQUIRE(p2.contains(p.key()));
    CHECK(at::equal(p.value(), p2[p.key()]));
  }
  const auto s = ref().sentences();
  CHECK(at::equal(m->encode(s), again->encode(s)));
  // Saving the reloaded model again gives the same bytes.
  const auto out2 = temp_dir("save2");
  again->save(out2);
  for (auto& e : fs::recursive_directory_iterator(out)) {
    if (!e.is_regular_file()) continue;
    const auto rel = fs::relative(e.path(), out).string();
    INFO(rel);
    CHECK(read_file(out2 + "/" + rel) == read_file(e.path().string()));
  }
  fs::remove_all(out);
  fs::remove_all(out2);
}

TEST_CASE("models: a normalize variant saves its empty 2_Normalize folder and the same modules.json", "[reference]") {
  const auto variants = ref().variants();
  const auto v = std::find_if(variants.begin(), variants.end(), [](const variant& x) { return x.normalize; });
  if (v == variants.end()) {
    WARN("this reference set has no normalize variant");
    return;
  }
  INFO("variant " << v->name);
  const auto dir = assemble_variant(*v);
  auto m = sentence_transformer::load(dir);
  const auto out = temp_dir("norm");
  m->save(out);
  CHECK(fs::is_directory(out + "/2_Normalize"));
  CHECK(fs::is_empty(out + "/2_Normalize"));
  CHECK(read_file(out + "/modules.json") == read_file(dir + "/modules.json"));
  CHECK(read_file(out + "/1_Pooling/config.json") == read_file(dir + "/1_Pooling/config.json"));
  fs::remove_all(dir);
  fs::remove_all(out);
}

TEST_CASE("models: from parts, Dense in the pipeline, save and load", "[reference]") {
  auto t = transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  const auto h = ref().hidden();
  const auto mode = ref().base_mode();
  auto d = std::make_shared<dense>(dense::options{.in_features = h, .out_features = 16});
  auto m = std::make_shared<sentence_transformer>(std::vector<std::shared_ptr<module>>{
      t, std::make_shared<pooling>(pooling::mode(h, mode)), d, std::make_shared<normalize>()});
  CHECK(m->embedding_dimension() == 16);
  const auto s = ref().sentences();
  auto e = m->encode(s);
  REQUIRE((e.sizes() == shape{ref().n(), 16}));
  at::NoGradGuard ng;
  auto manual = l2_normalize(at::tanh(at::linear(ref().embeddings(mode, false), d->linear->weight, d->linear->bias)));
  CHECK(max_abs_diff(e, manual) < plain_tol);

  const auto out = temp_dir("dense");
  m->save(out);
  CHECK(fs::exists(out + "/2_Dense/config.json"));
  CHECK(fs::exists(out + "/2_Dense/model.safetensors"));
  CHECK(read_file(out + "/2_Dense/config.json") ==
        "{\n    \"in_features\": " + std::to_string(h) + ",\n    \"out_features\": 16,\n    \"bias\": true,\n"
        "    \"activation_function\": \"torch.nn.modules.activation.Tanh\"\n}");
  auto r = sbert::safetensors::reader::open(out + "/2_Dense/model.safetensors");
  CHECK((r.at("linear.weight").shape == shape{16, h}));
  CHECK(r.at("linear.bias").shape == std::vector<std::int64_t>{16});
  auto back = sentence_transformer::load(out);
  CHECK(at::equal(back->encode(s), e));
  fs::remove_all(out);

  // from_parts with another pooling mode and Normalize, against that mode's normalized embeddings.
  if (const auto other = ref().normalized_mode(); !other.empty()) {
    INFO("pooling mode " << other);
    auto p = sentence_transformer::from_parts(t, other, true);
    CHECK(p->modules_list().size() == 3);
    CHECK(max_abs_diff(p->encode(s, {.batch_size = ref().n()}), ref().embeddings(other, true)) < normalized_tol);
  } else {
    WARN("this reference set has no normalized embeddings");
  }
}

TEST_CASE("models: similarity functions follow sentence_transformers.util", "[reference]") {
  auto a = at::tensor({1.0f, 2.0f, 2.0f, 0.0f, 3.0f, 4.0f}).view({2, 3});
  auto b = at::tensor({2.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 5.0f}).view({3, 3});
  auto cos = sbert::cos_sim(a, b);
  REQUIRE((cos.sizes() == std::vector<std::int64_t>{2, 3}));
  CHECK(cos[0][0].item<float>() == Approx(1.0 / 3.0).margin(1e-6));
  CHECK(cos[1][2].item<float>() == Approx(4.0 / 5.0).margin(1e-6));
  CHECK(cos[0][1].item<float>() == Approx(5.0 / (3.0 * std::sqrt(3.0))).margin(1e-6));
  CHECK(sbert::dot_score(a, b)[1][2].item<float>() == Approx(20.0f));
  CHECK(sbert::euclidean_sim(a, b)[0][0].item<float>() == Approx(-3.0).margin(1e-5));  // (-1,2,2)
  CHECK(sbert::manhattan_sim(a, b)[1][2].item<float>() == Approx(-4.0).margin(1e-5));  // (0,3,-1)
  auto b2 = b.narrow(0, 0, 2);
  CHECK(sbert::pairwise_cos_sim(a, b2)[1].item<float>() == Approx(7.0 / (5.0 * std::sqrt(3.0))).margin(1e-6));
  CHECK(sbert::pairwise_euclidean_sim(a, b2)[1].item<float>() == Approx(-std::sqrt(1.0 + 4.0 + 9.0)).margin(1e-5));
  CHECK(sbert::pairwise_manhattan_sim(a, b2)[0].item<float>() == Approx(-5.0).margin(1e-6));
  CHECK(sbert::pairwise_dot_score(a, b2)[1].item<float>() == Approx(7.0f));

  auto m = sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  CHECK(m->similarity_fn == sbert::similarity_function::cosine);
  CHECK(at::allclose(m->similarity(a, b), cos));
  m->similarity_fn = sbert::similarity_function::manhattan;
  CHECK(at::allclose(m->similarity(a, b), sbert::manhattan_sim(a, b)));
  CHECK(at::allclose(m->similarity_pairwise(a, b2), sbert::pairwise_manhattan_sim(a, b2)));
  CHECK(m->config_json().find("\"similarity_fn_name\": \"manhattan\"") != std::string::npos);
}

TEST_CASE("models: safetensors <-> torch round trip keeps dtypes and values") {
  const auto dir = temp_dir("st");
  auto f = at::randn({3, 5});
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f32", f}, {"f16", f.to(at::kHalf)}, {"bf16", f.to(at::kBFloat16)}, {"f64", f.to(at::kDouble)},
      {"i64", at::arange(7)}, {"i8", at::arange(-3, 3).to(at::kChar)}, {"b", f > 0},
      {"strided", f.t()}};
  sbert::safetensors::save_file(dir + "/t.safetensors", tensors);
  auto back = sbert::safetensors::load_file(dir + "/t.safetensors");
  REQUIRE(back.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    auto it = std::find_if(back.begin(), back.end(), [&](auto& kv) { return kv.first == name; });
    REQUIRE(it != back.end());
    CHECK(it->second.scalar_type() == t.scalar_type());
    CHECK(at::equal(it->second, t.contiguous()));
  }
  fs::remove_all(dir);
}

TEST_CASE("models: random init from a config follows HF's scheme", "[reference]") {
  at::manual_seed(0);
  bert_config c;
  c.hidden_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 128;
  c.vocab_size = 30522;  // the bert-base tokenizer below
  auto b = std::make_shared<bert_model>(c);
  const auto& w = b->embeddings->word_embeddings->weight;
  CHECK(w[0].abs().sum().item<float>() == 0.0f);  // padding row
  CHECK(w.std().item<float>() == Approx(0.02).margin(0.001));
  CHECK(b->layers->size() == 2);
  for (const auto& p : b->named_parameters()) {
    INFO(p.key());
    if (p.key().ends_with("LayerNorm.weight")) CHECK(at::all(p.value() == 1).item<bool>());
    if (p.key().ends_with(".bias")) CHECK(at::all(p.value() == 0).item<bool>());
  }
  CHECK(b->named_parameters().contains("encoder.layer.1.attention.self.query.weight"));
  CHECK(b->named_parameters().contains("pooler.dense.weight"));
  b->eval();
  auto ids = at::randint(1, 30522, {3, 9});
  auto mask = at::ones({3, 9}, at::kLong);
  mask[1].narrow(0, 5, 4).zero_();
  auto h = b->forward(ids, mask, {});
  CHECK((h.sizes() == std::vector<std::int64_t>{3, 9, 64}));
  // Padding does not leak: the padded row's first 5 positions equal the unpadded forward.
  auto h1 = b->forward(ids[1].narrow(0, 0, 5).unsqueeze(0), at::ones({1, 5}, at::kLong), {});
  CHECK(max_abs_diff(h[1].narrow(0, 0, 5), h1[0]) < 1e-5);

  // A new model writes a transformers-style config.json that loads back to the same config.
  const auto dir = temp_dir("init");
  auto st = sentence_transformer::from_parts(
      std::make_shared<transformer>(b, load_tokenizer(sbert::test::reference_dir() + "/tiny-bert-st"),
                                    transformer::options{.max_seq_length = 32}));
  st->save(dir);
  auto back = sentence_transformer::load(dir);
  CHECK(std::dynamic_pointer_cast<bert_model>(back->first_transformer().auto_model)->config() == c);
  CHECK(back->max_seq_length() == 32);
  const std::vector<std::string> s = {"hello world", "a b c"};
  CHECK(at::equal(back->encode(s), st->encode(s)));
  fs::remove_all(dir);
}

TEST_CASE("models: truncate_layers keeps the first n layers, as deleting encoder.layer[n:] does", "[reference]") {
  at::manual_seed(1);
  bert_config c;
  c.hidden_size = 32;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  auto b = std::make_shared<bert_model>(c);
  b->eval();
  auto ids = at::randint(1, 30522, {2, 7});
  auto mask = at::ones({2, 7}, at::kLong);
  std::vector<at::Tensor> hidden;
  (void)b->forward(ids, mask, {}, &hidden);  // embedding output, layer 1, 2, 3
  REQUIRE(hidden.size() == 4);
  CHECK_THROWS_WITH(b->truncate_layers(0), Catch::Contains("0 layers asked, the encoder has 3"));
  CHECK_THROWS_WITH(b->truncate_layers(4), Catch::Contains("4 layers asked, the encoder has 3"));
  b->truncate_layers(2);
  CHECK(b->config().num_hidden_layers == 2);
  CHECK(b->layers->size() == 2);
  CHECK(b->named_parameters().contains("encoder.layer.1.attention.self.query.weight"));
  CHECK_FALSE(b->named_parameters().contains("encoder.layer.2.attention.self.query.weight"));
  CHECK(at::equal(b->forward(ids, mask, {}), hidden[2]));  // the old second layer's output, exactly

  // Saved, it reloads as a 2-layer model that encodes the same.
  const auto dir = temp_dir("truncate");
  auto st = sentence_transformer::from_parts(
      std::make_shared<transformer>(b, load_tokenizer(sbert::test::reference_dir() + "/tiny-bert-st"),
                                    transformer::options{.max_seq_length = 32}));
  st->save(dir);
  auto back = sentence_transformer::load(dir);
  CHECK(std::dynamic_pointer_cast<bert_model>(back->first_transformer().auto_model)->config().num_hidden_layers == 2);
  const std::vector<std::string> s = {"hello world", "a b c"};
  CHECK(at::equal(back->encode(s), st->encode(s)));
  fs::remove_all(dir);
}

TEST_CASE("models: broken folders are errors naming the file", "[reference]") {
  using Catch::Contains;
  const auto base = sbert::test::reference_dir() + "/tiny-bert-st";
  CHECK_THROWS_WITH(sentence_transformer::load(base + "/nope"), Contains("tiny-bert-st/nope: the model folder does not exist"));
  CHECK_THROWS_WITH(sentence_transformer::load(base + "/modules.json"), Contains("modules.json: is a file, not a model folder"));
  {
    const auto dir = copy_model("broken");
    fs::remove(dir + "/1_Pooling/config.json");
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("1_Pooling/config.json") && Contains("missing"));
    fs::remove_all(dir);
  }
  {
    // A pooling dimension that is not the transformer's hidden size.
    const auto dir = copy_model("broken");
    const auto wrong = std::to_string(ref().hidden() * 2 + 1);
    std::ofstream(dir + "/1_Pooling/config.json")
        << R"({"word_embedding_dimension": )" << wrong << R"(, "pooling_mode_mean_tokens": true})";
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("modules.json") && Contains(wrong));
    fs::remove_all(dir);
  }
  {
    // config.json's intermediate_size no longer matches the checkpoint.
    const auto dir = copy_model("broken");
    auto cfg = read_file(dir + "/config.json");
    const auto from = "\"intermediate_size\": " + std::to_string(ref().intermediate_size());
    const auto at = cfg.find(from);
    REQUIRE(at != std::string::npos);
    cfg.replace(at, from.size(), "\"intermediate_size\": " + std::to_string(ref().intermediate_size() * 2));
    std::ofstream(dir + "/config.json") << cfg;
    CHECK_THROWS_WITH(sentence_transformer::load(dir),
                      Contains("model.safetensors") && Contains("intermediate.dense.weight") && Contains("shape"));
    fs::remove_all(dir);
  }
  {
    const auto dir = copy_model("broken");
    std::ofstream(dir + "/modules.json") << R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},)"
                                            R"({"idx":1,"name":"1","path":"1_X","type":"my.CustomModule"}])";
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("modules.json") && Contains("my.CustomModule"));
    std::ofstream(dir + "/modules.json") << "[{";
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("modules.json") && Contains("JSON"));
    fs::remove_all(dir);
  }
  {
    const auto dir = copy_model("broken");
    fs::resize_file(dir + "/model.safetensors", 1000);
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("model.safetensors") && Contains("truncated"));
    fs::remove(dir + "/model.safetensors");
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("model.safetensors") && Contains("missing"));
    fs::remove_all(dir);
  }
  {
    const auto dir = copy_model("broken");
    std::ofstream(dir + "/config_sentence_transformers.json") << R"({"similarity_fn_name": "jaccard"})";
    CHECK_THROWS_WITH(sentence_transformer::load(dir), Contains("config_sentence_transformers.json") && Contains("jaccard"));
    fs::remove_all(dir);
  }
}

TEST_CASE("models: a 5.4+ style folder (new module paths, pooling_mode key) loads", "[reference]") {
  // A pooling mode other than the folder's own where the set has one, so that the new
  // "pooling_mode" key is what selects it; with Normalize where normalized embeddings exist.
  auto mode = ref().normalized_mode();
  const bool norm = !mode.empty();
  if (!norm) {
    mode = ref().base_mode();
    for (const auto& m : ref().pooling_modes())
      if (m != ref().base_mode() && ref().has_embeddings(m, false)) {
        mode = m;
        break;
      }
  }
  INFO("pooling mode " << mode << (norm ? " + Normalize" : ""));
  const auto dir = copy_model("v54");
  std::ofstream(dir + "/modules.json")
      << R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.base.modules.transformer.Transformer"},)"
         R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.sentence_transformer.modules.pooling.Pooling"})"
      << (norm ? R"(,{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.base.modules.normalize.Normalize"})"
               : "")
      << "]";
  std::ofstream(dir + "/1_Pooling/config.json")
      << R"({"embedding_dimension": )" << ref().hidden() << R"(, "pooling_mode": ")" << mode
      << R"(", "include_prompt": true})";
  auto m = sentence_transformer::load(dir);
  CHECK(max_abs_diff(m->encode(ref().sentences(), {.batch_size = ref().n()}), ref().embeddings(mode, norm)) <
        (norm ? normalized_tol : plain_tol));
  fs::remove_all(dir);
}

TEST_CASE("models: RoBERTa/XLM-R positions skip padding, so left padding changes nothing") {
  at::manual_seed(3);
  bert_config c;
  c.model_type = "xlm-roberta";
  c.vocab_size = 1001;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 514;
  c.type_vocab_size = 1;
  c.pad_token_id = 1;
  c.layer_norm_eps = 1e-5;
  auto r = std::make_shared<bert_model>(c);
  r->eval();
  at::NoGradGuard ng;
  auto ids = at::tensor(std::vector<std::int64_t>{0, 57, 311, 9, 2}).unsqueeze(0);
  auto alone = r->forward(ids, at::ones_like(ids), {});
  // The same sentence left-padded by three <pad> (id 1): positions 2..6 as without padding.
  auto left = at::cat({at::full({1, 3}, 1, at::kLong), ids}, 1);
  auto mask = left.ne(1).to(at::kLong);
  auto padded = r->forward(left, mask, {});
  CHECK(max_abs_diff(padded[0].narrow(0, 3, 5), alone[0]) < 1e-5);
  // A BERT with the same weights counts positions from 0 and so differs under left padding.
  auto b = std::make_shared<bert_model>([&] { auto x = c; x.model_type = "bert"; return x; }());
  for (auto& p : b->named_parameters()) p.value().copy_(r->named_parameters()[p.key()]);
  b->eval();
  CHECK(max_abs_diff(b->forward(left, mask, {})[0].narrow(0, 3, 5), alone[0]) > 1e-3);
  CHECK(c.to_json().find("\"XLMRobertaModel\"") != std::string::npos);
}

TEST_CASE("models: an XLM-R model with a SentencePiece tokenizer saves and loads") {
  const auto spm_dir = sbert::test::shared_dir() + "/models/sentencepiece-botchan-unigram1000";
  auto tok = std::make_shared<sentencepiece_tokenizer>(
      sentencepiece_tokenizer::from_model_file(spm_dir + "/botchan_unigram_1000.model"));
  at::manual_seed(4);
  bert_config c;
  c.model_type = "xlm-roberta";
  c.vocab_size = static_cast<std::int64_t>(tok->vocab_size());
  c.hidden_size = 32;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 130;
  c.type_vocab_size = 1;
  c.pad_token_id = tok->pad_id();
  auto m = sentence_transformer::from_parts(std::make_shared<transformer>(
      std::make_shared<bert_model>(c), tok, transformer_options{.max_seq_length = 128}));
  const auto dir = temp_dir("xlmr");
  m->save(dir);
  auto back = sentence_transformer::load(dir);
  CHECK(back->first_transformer().auto_model->model_type() == "xlm-roberta");
  CHECK(dynamic_cast<const sentencepiece_tokenizer*>(back->first_transformer().get_tokenizer().get()) != nullptr);
  const std::vector<std::string> s = {"I am a cat.", "The quick brown fox jumps over the lazy dog, twice."};
  CHECK(at::equal(back->encode(s), m->encode(s)));
  fs::remove_all(dir);
}

TEST_CASE("models: DistilBERT by its checkpoint names, saved and loaded through config.json", "[reference]") {
  at::manual_seed(5);
  distilbert_config c;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 2;
  c.hidden_dim = 64;
  auto d = std::make_shared<distilbert_model>(c);
  const auto names = d->named_parameters();
  CHECK(names.contains("transformer.layer.1.attention.q_lin.weight"));
  CHECK(names.contains("transformer.layer.0.sa_layer_norm.bias"));
  CHECK(names.contains("transformer.layer.0.ffn.lin2.weight"));
  CHECK(names.contains("embeddings.position_embeddings.weight"));
  auto m = sentence_transformer::from_parts(std::make_shared<transformer>(
      d, load_tokenizer(sbert::test::reference_dir() + "/tiny-bert-st"), transformer_options{.max_seq_length = 64}));
  const auto dir = temp_dir("distil");
  m->save(dir);
  CHECK(read_file(dir + "/config.json").find("\"model_type\": \"distilbert\"") != std::string::npos);
  auto back = sentence_transformer::load(dir);
  CHECK(back->first_transformer().auto_model->model_type() == "distilbert");
  const auto s = ref().sentences();
  auto e = m->encode(s);
  CHECK((e.sizes() == shape{ref().n(), c.dim}));
  CHECK(at::equal(back->encode(s), e));
  // Padding does not leak into the attended positions.
  at::NoGradGuard ng;
  d->eval();
  auto ids = at::randint(1000, 2000, {2, 7});
  auto mask = at::ones({2, 7}, at::kLong);
  mask[1].narrow(0, 4, 3).zero_();
  auto h = d->forward(ids, mask, {});
  auto h1 = d->forward(ids[1].narrow(0, 0, 4).unsqueeze(0), at::ones({1, 4}, at::kLong), {});
  CHECK(max_abs_diff(h[1].narrow(0, 0, 4), h1[0]) < 1e-5);
  fs::remove_all(dir);
}

TEST_CASE("models: the legacy sentence_<arch>_config.json names are read, in Python's order", "[reference]") {
  for (const char* legacy : {"sentence_camembert_config.json", "sentence_albert_config.json",
                             "sentence_xlnet_config.json", "sentence_roberta_config.json"}) {
    INFO(legacy);
    const auto dir = copy_model("legacy");
    fs::remove(dir + "/sentence_bert_config.json");
    std::ofstream(dir + "/" + legacy) << R"({"max_seq_length": 17, "do_lower_case": false})";
    CHECK(sentence_transformer::load(dir)->max_seq_length() == 17);
    // sentence_bert_config.json comes first when both are there.
    std::ofstream(dir + "/sentence_bert_config.json") << R"({"max_seq_length": 23, "do_lower_case": false})";
    CHECK(sentence_transformer::load(dir)->max_seq_length() == 23);
    fs::remove_all(dir);
  }
}
