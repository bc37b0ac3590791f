// MPNet against an independent oracle: a plain-loop, double-precision forward pass written from
// transformers' modeling_mpnet.py (relative position buckets from the formula, positions that
// skip padding, post-LN blocks), fed the module's own weights. Also: the checkpoint's parameter
// names, folder save/load through sentence_transformer, task-checkpoint prefixes, gradients
// into the bias table, HF's init scheme, and errors naming the field.
// The check against the real transformers MPNetModel runs on the GPU machine
// (benchmarks/gpu/mpnet_parity.py); see docs/gpu_models.md.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>

#include <sbert/io/safetensors_torch.hpp>
#include <sbert/models/mpnet.hpp>
#include <sbert/models/sentence_transformer.hpp>

// libtorch's glog defines CHECK too; Catch's must win in this file.
#undef CHECK
#include "catch.hpp"

namespace fs = std::filesystem;
using namespace sbert::models;

namespace {

std::string temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto p = fs::temp_directory_path() / ("sbert_mpnet_" + std::to_string(::getpid()) + "_" + tag + "_" +
                                        std::to_string(counter++));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::string read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

mpnet_config tiny_config() {
  mpnet_config c;
  c.vocab_size = 120;
  c.hidden_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 3;
  c.intermediate_size = 40;
  c.max_position_embeddings = 200;
  c.layer_norm_eps = 1e-5;
  return c;
}

/// T5 bidirectional bucket of (key - query) in exact integer arithmetic: beyond the 8 exact
/// buckets, 8 + the largest k <= 7 with log(n/8)/log(16)*8 >= k, i.e. n^2 >= 64 * 2^k.
std::int64_t bucket_oracle(std::int64_t query, std::int64_t key) {
  std::int64_t n = query - key;  // transformers: n = -(memory - context)
  const std::int64_t ret = n < 0 ? 16 : 0;
  n = std::abs(n);
  if (n < 8) return ret + n;
  std::int64_t k = 0;
  while (k < 7 && n * n >= (std::int64_t{64} << (k + 1))) ++k;
  return ret + 8 + k;
}

/// A parameter as a flat vector of doubles.
struct weights {
  torch::OrderedDict<std::string, at::Tensor> params;
  explicit weights(const torch::nn::Module& m) : params(m.named_parameters()) {}
  std::vector<double> operator()(const std::string& name) const {
    auto t = params[name].detach().to(at::kDouble).contiguous();
    return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
  }
};

using vec = std::vector<double>;

vec linear(const weights& w, const std::string& name, const vec& x) {
  const auto W = w(name + ".weight"), b = w(name + ".bias");
  const auto out = b.size(), in = x.size();
  vec y(out);
  for (std::size_t o = 0; o < out; ++o) {
    double s = b[o];
    for (std::size_t i = 0; i < in; ++i) s += W[o * in + i] * x[i];
    y[o] = s;
  }
  return y;
}

vec layer_norm(const weights& w, const std::string& name, const vec& x, double eps) {
  const auto g = w(name + ".weight"), b = w(name + ".bias");
  double mean = 0, var = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (double v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size());
  vec y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
  return y;
}

/// The last hidden state of one sequence (ids, mask) as transformers computes it.
std::vector<vec> mpnet_oracle(const mpnet_model& m, const std::vector<std::int64_t>& ids,
                              const std::vector<int>& mask) {
  const auto& c = m.config();
  const weights w(m);
  const auto L = ids.size();
  const auto H = static_cast<std::size_t>(c.hidden_size), heads = static_cast<std::size_t>(c.num_attention_heads);
  const auto d = H / heads;
  const auto word = w("embeddings.word_embeddings.weight"), pos = w("embeddings.position_embeddings.weight");
  std::vector<vec> x(L, vec(H));
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < L; ++i) {
    std::int64_t p = 1;  // padding_idx
    if (ids[i] != 1) p = 1 + ++seen;
    for (std::size_t h = 0; h < H; ++h)
      x[i][h] = word[static_cast<std::size_t>(ids[i]) * H + h] + pos[static_cast<std::size_t>(p) * H + h];
    x[i] = layer_norm(w, "embeddings.LayerNorm", x[i], c.layer_norm_eps);
  }
  const auto bias_table = w("encoder.relative_attention_bias.weight");  // [buckets, heads]
  for (std::int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
    const std::string pre = "encoder.layer." + std::to_string(layer) + ".";
    std::vector<vec> q(L), k(L), v(L);
    for (std::size_t i = 0; i < L; ++i) {
      q[i] = linear(w, pre + "attention.attn.q", x[i]);
      k[i] = linear(w, pre + "attention.attn.k", x[i]);
      v[i] = linear(w, pre + "attention.attn.v", x[i]);
    }
    std::vector<vec> out(L);
    for (std::size_t i = 0; i < L; ++i) {
      vec ctx(H, 0.0);
      for (std::size_t h = 0; h < heads; ++h) {
        vec s(L);
        double mx = -1e300;
        for (std::size_t j = 0; j < L; ++j) {
          if (!mask[j]) continue;
          double dot = 0;
          for (std::size_t e = 0; e < d; ++e) dot += q[i][h * d + e] * k[j][h * d + e];
          const auto bucket = static_cast<std::size_t>(bucket_oracle(static_cast<std::int64_t>(i), static_cast<std::int64_t>(j)));
          s[j] = dot / std::sqrt(static_cast<double>(d)) + bias_table[bucket * heads + h];
          mx = std::max(mx, s[j]);
        }
        double z = 0;
        for (std::size_t j = 0; j < L; ++j)
          if (mask[j]) z += std::exp(s[j] - mx);
        for (std::size_t j = 0; j < L; ++j) {
          if (!mask[j]) continue;
          const double p = std::exp(s[j] - mx) / z;
          for (std::size_t e = 0; e < d; ++e) ctx[h * d + e] += p * v[j][h * d + e];
        }
      }
      auto o = linear(w, pre + "attention.attn.o", ctx);
      for (std::size_t e = 0; e < H; ++e) o[e] += x[i][e];
      auto a = layer_norm(w, pre + "attention.LayerNorm", o, c.layer_norm_eps);
      auto inter = linear(w, pre + "intermediate.dense", a);
      for (auto& t : inter) t = 0.5 * t * (1.0 + std::erf(t / std::sqrt(2.0)));
      auto y = linear(w, pre + "output.dense", inter);
      for (std::size_t e = 0; e < H; ++e) y[e] += a[e];
      out[i] = layer_norm(w, pre + "output.LayerNorm", y, c.layer_norm_eps);
    }
    x = std::move(out);
  }
  return x;
}

/// A random model whose LayerNorms and biases are not the trivial 1/0 of a fresh init, and whose
/// bias table is large enough to matter.
std::shared_ptr<mpnet_model> random_model(mpnet_config c, std::uint64_t seed) {
  at::manual_seed(seed);
  auto m = std::make_shared<mpnet_model>(c);
  at::NoGradGuard ng;
  for (auto& p : m->named_parameters()) {
    if (p.key().find("LayerNorm.weight") != std::string::npos) p.value().uniform_(0.5, 1.5);
    else if (p.key().find(".bias") != std::string::npos && p.key().find("relative") == std::string::npos)
      p.value().uniform_(-0.1, 0.1);
  }
  m->relative_attention_bias->weight.normal_(0.0, 1.0);
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("mpnet: relative position buckets follow the T5 formula at every distance") {
  const std::int64_t n = 600;
  auto b = sbert::models::detail::mpnet_relative_buckets(n, n);
  REQUIRE((b.sizes() == std::vector<std::int64_t>{n, n}));
  auto acc = b.accessor<std::int64_t, 2>();
  std::int64_t mismatches = 0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      if (acc[i][j] != bucket_oracle(i, j)) ++mismatches;
  CHECK(mismatches == 0);
  // Spot values: keys to the right (key > query) use buckets 16..31.
  CHECK(acc[0][0] == 0);
  CHECK(acc[7][0] == 7);
  CHECK(acc[0][7] == 23);
  CHECK(acc[16][0] == 10);   // log(2)/log(16) * 8 = 2 exactly
  CHECK(acc[64][0] == 14);   // log(8)/log(16) * 8 = 6
  CHECK(acc[500][0] == 15);  // saturates beyond max_distance
  CHECK(acc[0][500] == 31);
}

TEST_CASE("mpnet: the forward pass matches a plain double-precision oracle, padding included") {
  auto m = random_model(tiny_config(), 11);
  at::NoGradGuard ng;
  // Two sequences, the second right-padded (<pad> is id 1) to the first's length of 23: long
  // enough that relative distances reach the logarithmic buckets (>= 8) in both directions.
  std::vector<std::int64_t> a, b;
  for (int i = 0; i < 23; ++i) a.push_back(2 + (i * 37) % 117);
  for (int i = 0; i < 15; ++i) b.push_back(3 + (i * 53) % 110);
  std::vector<int> ma(23, 1), mb(23, 0);
  for (int i = 0; i < 15; ++i) mb[static_cast<std::size_t>(i)] = 1;
  auto bpad = b;
  bpad.resize(23, 1);
  auto ids = at::stack({at::tensor(a), at::tensor(bpad)});
  auto mask = at::stack({at::tensor(std::vector<std::int64_t>(ma.begin(), ma.end())),
                         at::tensor(std::vector<std::int64_t>(mb.begin(), mb.end()))});
  std::vector<at::Tensor> hidden;
  auto h = m->forward(ids, mask, {}, &hidden);
  REQUIRE((h.sizes() == std::vector<std::int64_t>{2, 23, 24}));
  CHECK(hidden.size() == 3);  // embeddings + 2 layers
  const auto oa = mpnet_oracle(*m, a, ma);
  const auto ob = mpnet_oracle(*m, bpad, mb);
  double worst = 0;
  for (std::size_t i = 0; i < 23; ++i)
    for (std::size_t e = 0; e < 24; ++e) {
      worst = std::max(worst, std::abs(h[0][static_cast<std::int64_t>(i)][static_cast<std::int64_t>(e)].item<double>() - oa[i][e]));
      if (i < 15)
        worst = std::max(worst, std::abs(h[1][static_cast<std::int64_t>(i)][static_cast<std::int64_t>(e)].item<double>() - ob[i][e]));
    }
  CHECK(worst < 1e-4);  // fp32 forward against a double oracle
  // The bias matters: zeroing the table changes the output well beyond that tolerance.
  auto m0 = random_model(tiny_config(), 11);
  m0->relative_attention_bias->weight.zero_();
  CHECK(max_abs_diff(m0->forward(ids, mask, {}), h) > 1e-2);
  // The padded row equals the unpadded sequence run alone.
  auto alone = m->forward(at::tensor(b).unsqueeze(0), at::ones({1, 15}, at::kLong), {});
  CHECK(max_abs_diff(h[1].narrow(0, 0, 15), alone[0]) < 1e-5);
}

TEST_CASE("mpnet: positions skip left padding; token type ids are ignored") {
  auto m = random_model(tiny_config(), 12);
  at::NoGradGuard ng;
  auto ids = at::tensor(std::vector<std::int64_t>{0, 57, 31, 9, 2}).unsqueeze(0);
  auto alone = m->forward(ids, at::ones_like(ids), {});
  auto left = at::cat({at::full({1, 3}, 1, at::kLong), ids}, 1);
  auto padded = m->forward(left, left.ne(1).to(at::kLong), {});
  // Absolute positions agree; the relative bias sees distances, which padding does not change.
  CHECK(max_abs_diff(padded[0].narrow(0, 3, 5), alone[0]) < 1e-5);
  CHECK(at::equal(m->forward(ids, at::ones_like(ids), at::ones_like(ids)), alone));
}

TEST_CASE("mpnet: parameters carry transformers' MPNetModel names") {
  auto m = std::make_shared<mpnet_model>(tiny_config());
  std::set<std::string> got;
  for (auto& p : m->named_parameters()) got.insert(p.key());
  std::set<std::string> want = {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                                "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
                                "encoder.relative_attention_bias.weight", "pooler.dense.weight", "pooler.dense.bias"};
  for (int l = 0; l < 2; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* n : {"attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o",
                          "attention.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"}) {
      want.insert(p + n + ".weight");
      want.insert(p + n + ".bias");
    }
  }
  CHECK(got == want);
  CHECK(m->relative_attention_bias->weight.sizes() == std::vector<std::int64_t>{32, 3});
}

TEST_CASE("mpnet: HF's init scheme, with the padding rows zero") {
  auto c = tiny_config();
  c.vocab_size = 2000;
  c.hidden_size = 64;
  c.num_attention_heads = 4;
  at::manual_seed(13);
  auto m = std::make_shared<mpnet_model>(c);
  auto& word = m->embeddings->word_embeddings->weight;
  CHECK(word[1].abs().sum().item<double>() == 0.0);
  CHECK(m->embeddings->position_embeddings->weight[1].abs().sum().item<double>() == 0.0);
  CHECK(std::abs(word.std().item<double>() - 0.02) < 0.002);
  CHECK(m->relative_attention_bias->weight.abs().sum().item<double>() > 0.0);
  auto ln = m->named_parameters()["encoder.layer.0.attention.LayerNorm.weight"];
  CHECK(at::equal(ln, at::ones_like(ln)));
  CHECK(m->named_parameters()["encoder.layer.1.attention.attn.q.bias"].abs().sum().item<double>() == 0.0);
}

TEST_CASE("mpnet: a training step reaches the relative bias table") {
  auto m = random_model(tiny_config(), 14);
  m->train();
  auto ids = at::randint(2, 120, {3, 12});
  auto h = m->forward(ids, at::ones_like(ids), {});
  h.pow(2).mean().backward();
  CHECK(m->relative_attention_bias->weight.grad().defined());
  CHECK(m->relative_attention_bias->weight.grad().abs().sum().item<double>() > 0.0);
  // Only the 32 used buckets, of a larger table, get gradient.
  auto c = tiny_config();
  c.relative_attention_num_buckets = 40;
  auto big = random_model(c, 15);
  big->forward(ids, at::ones_like(ids), {}).sum().backward();
  CHECK(big->relative_attention_bias->weight.grad().narrow(0, 32, 8).abs().sum().item<double>() == 0.0);
}

TEST_CASE("mpnet: a sentence model saves and reloads through config.json, like Python's folder") {
  const auto dir = temp_dir("st");
  auto m = random_model(tiny_config(), 16);
  // A tokenizer with MPNet's layout over a small vocabulary.
  std::vector<std::string> vocab = {"<s>", "<pad>", "</s>", "[UNK]", "<mask>"};
  for (int i = 0; vocab.size() < 120; ++i) vocab.push_back(std::string(1, static_cast<char>('a' + i % 26)) + (i >= 26 ? std::to_string(i) : ""));
  wordpiece_options wo;
  wo.use_mpnet_defaults();
  auto tok = std::make_shared<wordpiece_tokenizer>(vocab, wo);
  auto st = sentence_transformer::from_parts(std::make_shared<transformer>(m, tok, transformer_options{.max_seq_length = 64}));
  st->save(dir);
  const auto cfg = read_file(dir + "/config.json");
  CHECK(cfg.find("\"model_type\": \"mpnet\"") != std::string::npos);
  CHECK(cfg.find("\"MPNetModel\"") != std::string::npos);
  CHECK(cfg.find("\"relative_attention_num_buckets\": 32") != std::string::npos);
  CHECK(read_file(dir + "/tokenizer_config.json").find("MPNetTokenizer") != std::string::npos);
  auto back = sentence_transformer::load(dir);
  REQUIRE(back->first_transformer().auto_model->model_type() == "mpnet");
  CHECK(dynamic_cast<mpnet_model*>(back->first_transformer().auto_model.get()) != nullptr);
  const std::vector<std::string> s = {"a b c", "d e f g h i j k l m n o p q r s t u v w x y z a b", "q"};
  auto e = st->encode(s);
  CHECK((e.sizes() == std::vector<std::int64_t>{3, 24}));
  CHECK(at::equal(back->encode(s), e));
  // config.json is kept byte for byte when the config did not change.
  CHECK(back->first_transformer().auto_model->config_json() == cfg);
  fs::remove_all(dir);
}

TEST_CASE("mpnet: a task checkpoint (mpnet.* names) loads its base model") {
  const auto dir = temp_dir("task");
  auto m = random_model(tiny_config(), 17);
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (auto& [k, v] : sbert::safetensors::state_dict(*m)) named.emplace_back("mpnet." + k, v);
  named.emplace_back("lm_head.bias", at::zeros({120}));
  sbert::safetensors::save_file(dir + "/model.safetensors", named);
  std::ofstream(dir + "/config.json") << tiny_config().to_json();
  auto back = mpnet_model::load(dir);
  at::NoGradGuard ng;
  back->eval();
  auto ids = at::randint(2, 120, {2, 9});
  CHECK(at::equal(back->forward(ids, at::ones_like(ids), {}), m->forward(ids, at::ones_like(ids), {})));
  fs::remove_all(dir);
}

TEST_CASE("mpnet: bad configs and over-long inputs are errors naming the field") {
  const auto dir = temp_dir("bad");
  auto write = [&](const std::string& json) { std::ofstream(dir + "/config.json") << json; };
  write(R"({"model_type": "mpnet", "relative_attention_num_buckets": 16})");
  CHECK_THROWS_WITH(mpnet_config::from_json(sbert::models::detail::json_file(dir + "/config.json")),
                    Catch::Contains("config.json") && Catch::Contains("relative_attention_num_buckets"));
  write(R"({"model_type": "mpnet", "hidden_size": 30, "num_attention_heads": 4})");
  CHECK_THROWS_WITH(mpnet_config::from_json(sbert::models::detail::json_file(dir + "/config.json")),
                    Catch::Contains("num_attention_heads"));
  write(R"({"model_type": "mpnet", "hidden_act": "swiglu"})");
  CHECK_THROWS_WITH(mpnet_config::from_json(sbert::models::detail::json_file(dir + "/config.json")), Catch::Contains("hidden_act"));
  write(R"({"model_type": "mpnet"})");
  CHECK_THROWS_WITH(load_encoder(dir), Catch::Contains("model.safetensors"));
  auto m = std::make_shared<mpnet_model>(tiny_config());  // 200 rows: 198 usable positions
  CHECK(m->max_position_embeddings() == 198);
  auto ids = at::full({1, 199}, 5, at::kLong);
  CHECK_THROWS_WITH(m->forward(ids, at::ones_like(ids), {}), Catch::Contains("max_position_embeddings"));
  CHECK_NOTHROW(m->forward(ids.narrow(1, 0, 198), at::ones({1, 198}, at::kLong), {}));
  fs::remove_all(dir);
}

TEST_CASE("mpnet: bf16 runs, under CPU autocast (training) and with bf16 weights, close to fp32") {
  auto m = random_model(tiny_config(), 18);
  auto ids = at::randint(2, 120, {2, 20});
  auto mask = at::ones({2, 20}, at::kLong);
  mask[1].narrow(0, 15, 5).zero_();
  const auto keep = mask.unsqueeze(-1).to(at::kFloat);
  at::Tensor ref;
  {
    at::NoGradGuard ng;
    ref = m->forward(ids, mask, {});
  }
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(true);
  auto h = m->forward(ids, mask, {});
  at::autocast::set_cpu_enabled(false);
  at::autocast::clear_cache();
  const double autocast_diff = max_abs_diff(h.to(at::kFloat) * keep, ref * keep);
  INFO("autocast max|diff| " << autocast_diff);
  CHECK(autocast_diff < 0.1);
  h.to(at::kFloat).pow(2).sum().backward();
  CHECK(m->relative_attention_bias->weight.grad().abs().sum().item<double>() > 0.0);

  m->to(at::kBFloat16);
  at::NoGradGuard ng;
  auto hb = m->forward(ids, mask, {});
  CHECK(hb.scalar_type() == at::kBFloat16);
  const double weights_diff = max_abs_diff(hb.to(at::kFloat) * keep, ref * keep);
  INFO("bf16 weights max|diff| " << weights_diff);
  CHECK(weights_diff < 0.25);
  // A broken mask or bias would be far off: the padded row still matches its unpadded self.
  auto alone = m->forward(ids[1].narrow(0, 0, 15).unsqueeze(0), at::ones({1, 15}, at::kLong), {});
  CHECK(max_abs_diff(hb[1].narrow(0, 0, 15), alone[0]) < 0.1);
}
