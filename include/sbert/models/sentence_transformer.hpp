// SPDX-License-Identifier: Apache-2.0
// sentence_transformer: modules run in sequence (Transformer -> Pooling [-> Dense] [-> Normalize])
// as modules.json says; load/save in the Python library's folder format; encode() with its
// batching, prompts, truncation and normalisation; similarity() with the model's function.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>
#include <torch/version.h>

#include <sbert/detail/prefetch.hpp>
#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/models/dense.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/module.hpp>
#include <sbert/models/normalize.hpp>
#include <sbert/models/pooling.hpp>
#include <sbert/models/transformer.hpp>
#include <sbert/util/blas.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert::models {

/// Options of encode(); the defaults are Python's.
struct encode_options {
  std::int64_t batch_size = 32;
  bool normalize_embeddings = false;
  std::optional<std::int64_t> truncate_dim{};     // falls back to the model's truncate_dim
  std::optional<std::string> prompt_name{};       // a key of the model's prompts
  std::optional<std::string> prompt{};            // literal prefix; wins over prompt_name
  std::optional<bool> show_progress_bar{};        // unset: only on a terminal, for long inputs
  bool to_cpu = true;                             // false: leave the result on the model's device
  /// Tokenise the next batch on a worker thread while the model runs this one (sbert's; the
  /// tokenizer's encode must be thread-safe, as sbert's own are). Unset: on when the model is on
  /// a GPU (which otherwise waits while the CPU tokenises), off on CPU, where the worker competes
  /// with libtorch's threads for the cores (measured: ~8 % slower on the tiny model, no
  /// difference on BERT-base, 2 cores; benchmarks/encode_throughput, docs/gpu_models.md).
  std::optional<bool> tokenize_ahead{};
};

/// The best device libtorch offers here: CUDA when built in and a GPU is present, else CPU.
[[nodiscard]] inline c10::Device default_device() {
  return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
}

/// On CPU, one intra-op thread per hardware thread (libtorch's default may be lower), and the
/// OpenBLAS kernels the CPU supports best (sbert/util/blas.hpp: OpenBLAS 0.3.21 falls back to
/// SSE3 kernels on CPUs it does not know). Call it at the start of a program.
inline void set_threads_from_hardware() {
  (void)select_blas_kernel();
  const auto n = std::thread::hardware_concurrency();
  if (n > 0) at::set_num_threads(static_cast<int>(n));
}

class sentence_transformer : public torch::nn::Module {
 public:
  using prompt_list = std::vector<std::pair<std::string, std::string>>;

  explicit sentence_transformer(std::vector<std::shared_ptr<module>> modules) {
    if (modules.empty()) throw model_error("sentence_transformer: no modules");
    for (std::size_t i = 0; i < modules.size(); ++i)
      modules_.push_back(register_module(std::to_string(i), std::move(modules[i])));
  }

  /// Transformer + Pooling [+ Normalize] from parts, on `device` (default: as load(), CUDA
  /// when available, else CPU).
  [[nodiscard]] static std::shared_ptr<sentence_transformer> from_parts(
      std::shared_ptr<transformer> t, std::string_view pooling_mode = "mean", bool normalize = false,
      std::optional<c10::Device> device = std::nullopt) {
    const auto dim = t->auto_model->hidden_size();
    std::vector<std::shared_ptr<module>> mods{std::move(t), std::make_shared<pooling>(pooling::mode(dim, pooling_mode))};
    if (normalize) mods.push_back(std::make_shared<models::normalize>());
    auto m = std::make_shared<sentence_transformer>(std::move(mods));
    m->to(device.value_or(default_device()));
    return m;
  }

  /// Loads a sentence-transformers folder (any version from 3.0, legacy or 5.4+ module
  /// names), or a plain HF model folder (Transformer + mean pooling), onto `device` (default:
  /// CUDA when available, else CPU, as Python does).
  [[nodiscard]] static std::shared_ptr<sentence_transformer> load(
      const std::string& dir, std::optional<c10::Device> device = std::nullopt) {
    namespace fs = std::filesystem;
    if (!fs::exists(dir)) throw model_error(dir + ": the model folder does not exist (no such file or folder)");
    if (!fs::is_directory(dir)) throw model_error(dir + ": is a file, not a model folder");
    const auto modules_path = detail::join_path(dir, "modules.json");
    std::vector<std::shared_ptr<module>> mods;
    if (!fs::exists(modules_path)) {
      if (!fs::exists(detail::join_path(dir, "config.json")))
        throw model_error(dir + ": neither modules.json nor config.json: not a model folder");
      auto t = transformer::load(dir);
      const auto dim = t->auto_model->hidden_size();
      mods = {t, std::make_shared<pooling>(pooling::mode(dim, "mean"))};
    } else {
      detail::json_file mj(modules_path);
      simdjson::dom::array arr;
      if (mj.root().get_array().get(arr)) throw model_error(modules_path + ": expected a JSON list of modules");
      std::size_t k = 0;
      for (auto entry : arr) {
        const std::string where = "[" + std::to_string(k++) + "]";
        std::string_view type, path;
        if (entry["type"].get_string().get(type)) throw mj.error(where + ".type", "missing or not a string");
        if (entry["path"].get_string().get(path)) throw mj.error(where + ".path", "missing or not a string");
        const std::string sub = detail::join_path(dir, std::string(path));
        auto is = [&](std::string_view cls) {
          return type == "sentence_transformers.models." + std::string(cls) || type.ends_with("." + std::string(cls));
        };
        if (is("Transformer")) {
          mods.push_back(transformer::load(sub));
        } else if (is("Pooling")) {
          mods.push_back(pooling::load(sub));
        } else if (is("Dense")) {
          mods.push_back(dense::load(sub));
        } else if (is("Normalize")) {
          mods.push_back(std::make_shared<normalize>());  // no files; the folder may be absent
        } else {
          throw mj.error(where + ".type", "module type '" + std::string(type) + "' is not supported "
                         "(Transformer, Pooling, Dense, Normalize)");
        }
      }
      if (mods.empty()) throw model_error(modules_path + ": lists no modules");
    }
    auto m = std::make_shared<sentence_transformer>(std::move(mods));
    m->check_dimensions(dir);
    const auto cfg_path = detail::join_path(dir, "config_sentence_transformers.json");
    if (fs::exists(cfg_path)) m->read_config(cfg_path);
    m->to(device.value_or(default_device()));
    return m;
  }

  /// Writes the folder in the legacy 5.2 format, which every Python version from 2 to 6 loads.
  void save(const std::string& dir) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw model_error(dir + ": cannot create: " + ec.message());
    json::value list = json::value::make_array();
    for (std::size_t i = 0; i < modules_.size(); ++i) {
      const auto& m = modules_[i];
      const std::string rel = (i == 0 && m->save_in_root()) ? "" : std::to_string(i) + "_" + m->class_name();
      const auto sub = detail::join_path(dir, rel);
      fs::create_directories(sub, ec);
      if (ec) throw model_error(sub + ": cannot create: " + ec.message());
      m->save(sub);
      list.push(json::value::object{{"idx", static_cast<std::int64_t>(i)}, {"name", std::to_string(i)},
                                    {"path", rel}, {"type", m->type_name()}});
    }
    detail::write_text_file(detail::join_path(dir, "modules.json"), json::dump(list, {.indent = 2}));
    detail::write_text_file(detail::join_path(dir, "config_sentence_transformers.json"), config_json());
  }

  /// config_sentence_transformers.json (keys in 5.2's order, indent 2). A model loaded from a
  /// folder keeps that folder's __version__; a new one names the format version it follows.
  [[nodiscard]] std::string config_json() const {
    json::value v = json::value::make_object();
    v.set("model_type", "SentenceTransformer");
    json::value ver = json::value::make_object();
    if (version_.empty()) {
      ver.set("sentence_transformers", "5.1.2").set("transformers", "4.44.2").set("pytorch", TORCH_VERSION);
    } else {
      for (const auto& [k, s] : version_) ver.set(k, s);
    }
    v.set("__version__", ver);
    json::value p = json::value::make_object();
    for (const auto& [k, s] : prompts) p.set(k, s);
    v.set("prompts", p);
    v.set("default_prompt_name", default_prompt_name ? json::value(*default_prompt_name) : json::value());
    v.set("similarity_fn_name", std::string(name_of(similarity_fn)));
    if (truncate_dim) v.set("truncate_dim", *truncate_dim);
    return json::dump(v, {.indent = 2});
  }

  /// Runs every module on a tokenized batch (gradients flow when enabled): the trainer's entry.
  features& forward(features& f) {
    for (auto& m : modules_) m->forward(f);
    return f;
  }

  /// Tokenizes with the first module (a transformer), padded to the longest text (rounded up
  /// to a multiple of `pad_to_multiple_of` when > 1). Tensors are on the CPU.
  [[nodiscard]] features tokenize(std::span<const std::string> texts, std::int64_t pad_to_multiple_of = 0) const {
    return first_transformer().tokenize(texts, pad_to_multiple_of);
  }

  /// Moves a tokenized batch to the model's device.
  [[nodiscard]] features to_device(features f) const {
    const auto dev = device();
    if (f.input_ids.defined()) f.input_ids = f.input_ids.to(dev);
    if (f.attention_mask.defined()) f.attention_mask = f.attention_mask.to(dev);
    if (f.token_type_ids.defined()) f.token_type_ids = f.token_type_ids.to(dev);
    return f;
  }

  /// Sentence embeddings [n, dim], computed as Python's encode(): texts sorted by descending
  /// length (in characters) and batched, the original order restored; truncation before
  /// normalisation.
  [[nodiscard]] at::Tensor encode(std::span<const std::string> texts, const encode_options& o = {}) {
    if (o.batch_size <= 0) throw error("encode: batch_size must be positive");
    const auto prompt = resolve_prompt(o);
    std::optional<std::int64_t> prompt_length;
    if (!prompt.empty()) prompt_length = this->prompt_length(prompt);
    const auto tdim = o.truncate_dim ? o.truncate_dim : truncate_dim;

    std::vector<std::size_t> order(texts.size());
    std::iota(order.begin(), order.end(), 0);
    std::vector<std::size_t> len(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) len[i] = utf8_length(texts[i]);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return len[a] > len[b]; });

    const bool was_training = is_training();
    eval();
    at::NoGradGuard no_grad;
    const auto n = static_cast<std::int64_t>(texts.size());
    const auto batches = (n + o.batch_size - 1) / o.batch_size;
    const bool progress = o.show_progress_bar.value_or(::isatty(STDERR_FILENO) && batches >= 8);
    std::vector<at::Tensor> parts;
    parts.reserve(static_cast<std::size_t>(batches));
    // the tokenizers are const and thread-safe: batch b + 1 is tokenised on a worker thread
    // while the model runs batch b (one batch is tokenised here, no thread for it)
    auto tokenize_batch = [&, this](std::size_t b) {
      const auto first = static_cast<std::int64_t>(b) * o.batch_size;
      std::vector<std::string> batch;
      batch.reserve(static_cast<std::size_t>(std::min(n - first, o.batch_size)));
      for (std::int64_t i = first; i < std::min(n, first + o.batch_size); ++i)
        batch.push_back(prompt + texts[order[static_cast<std::size_t>(i)]]);
      return tokenize(batch);
    };
    std::optional<sbert::detail::prefetch<features>> ahead;
    if (batches > 1 && o.tokenize_ahead.value_or(!device().is_cpu())) ahead.emplace(static_cast<std::size_t>(batches), tokenize_batch);
    for (std::int64_t b = 0; b < batches; ++b) {
      auto f = to_device(ahead ? ahead->next() : tokenize_batch(static_cast<std::size_t>(b)));
      f.prompt_length = prompt_length;
      forward(f);
      auto e = f.sentence_embedding.detach();
      if (tdim) e = e.narrow(1, 0, std::min<std::int64_t>(*tdim, e.size(1)));
      if (o.normalize_embeddings) e = l2_normalize(e);
      parts.push_back(o.to_cpu ? e.to(at::kCPU) : e);
      if (progress) std::fprintf(stderr, "\rBatches: %lld/%lld", static_cast<long long>(b + 1), static_cast<long long>(batches));
    }
    if (progress) std::fprintf(stderr, "\n");
    if (was_training) train();
    if (parts.empty()) {
      const auto dim = tdim ? std::min(*tdim, embedding_dimension()) : embedding_dimension();
      return at::empty({0, dim}, at::TensorOptions().device(o.to_cpu ? c10::Device(c10::kCPU) : device()));
    }
    auto sorted = at::cat(parts, 0);
    std::vector<std::int64_t> inverse(texts.size());
    for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<std::int64_t>(i);
    auto idx = at::from_blob(inverse.data(), {n}, at::kLong).to(sorted.device());
    return sorted.index_select(0, idx);
  }
  [[nodiscard]] at::Tensor encode(const std::vector<std::string>& texts, const encode_options& o = {}) {
    return encode(std::span<const std::string>(texts), o);
  }

  /// Score matrix [n, m] with the model's similarity function (computed in fp32).
  [[nodiscard]] at::Tensor similarity(const at::Tensor& a, const at::Tensor& b) const {
    return sbert::similarity(similarity_fn, a.to(at::kFloat), b.to(at::kFloat));
  }
  [[nodiscard]] at::Tensor similarity_pairwise(const at::Tensor& a, const at::Tensor& b) const {
    return sbert::similarity_pairwise(similarity_fn, a.to(at::kFloat), b.to(at::kFloat));
  }

  /// Output dimension (after Dense layers and truncate_dim-free).
  [[nodiscard]] std::int64_t embedding_dimension() const {
    std::int64_t d = 0;
    for (const auto& m : modules_)
      if (auto x = m->embedding_dimension()) d = *x;
    return d;
  }
  [[nodiscard]] c10::Device device() const {
    for (const auto& p : parameters()) return p.device();
    return c10::Device(c10::kCPU);
  }
  [[nodiscard]] transformer& first_transformer() const {
    auto* t = dynamic_cast<transformer*>(modules_.front().get());
    if (!t) throw model_error("sentence_transformer: the first module is not a Transformer");
    return *t;
  }
  [[nodiscard]] const std::vector<std::shared_ptr<module>>& modules_list() const { return modules_; }
  [[nodiscard]] std::int64_t max_seq_length() const { return first_transformer().max_seq_length(); }
  /// Tokens of the prompt, less a trailing special token (as Python counts it for pooling;
  /// encode() and the trainer both use it, so include_prompt = false pools the same tokens).
  [[nodiscard]] std::int64_t prompt_length(const std::string& prompt) const {
    const std::vector<std::string> one{prompt}, empty{std::string()};
    const auto f = tokenize(one);
    auto len = f.input_ids.size(1);
    const auto specials = tokenize(empty).input_ids;
    const auto last = f.input_ids[0][len - 1].item<std::int64_t>();
    for (std::int64_t i = 0; i < specials.size(1); ++i)
      if (specials[0][i].item<std::int64_t>() == last) return len - 1;
    return len;
  }

  // config_sentence_transformers.json
  prompt_list prompts;
  std::optional<std::string> default_prompt_name;
  similarity_function similarity_fn = similarity_function::cosine;
  std::optional<std::int64_t> truncate_dim;

 private:
  static std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  }

  std::string resolve_prompt(const encode_options& o) const {
    if (o.prompt) return *o.prompt;
    auto name = o.prompt_name ? o.prompt_name : default_prompt_name;
    if (!name) return {};
    for (const auto& [k, v] : prompts)
      if (k == *name) return v;
    std::string known;
    for (const auto& [k, v] : prompts) known += (known.empty() ? "" : ", ") + k;
    throw error("encode: prompt name '" + *name + "' not found in the model's prompts (" + known + ")");
  }

  void check_dimensions(const std::string& dir) const {
    std::optional<std::int64_t> d;
    for (const auto& m : modules_) {
      if (auto* p = dynamic_cast<pooling*>(m.get()); p && d && *d != p->config().word_embedding_dimension)
        throw model_error(dir + "/modules.json: Pooling expects word_embedding_dimension " +
                          std::to_string(p->config().word_embedding_dimension) + " but the module before it outputs " + std::to_string(*d));
      if (auto* x = dynamic_cast<dense*>(m.get()); x && d && *d != x->config().in_features)
        throw model_error(dir + "/modules.json: Dense expects in_features " + std::to_string(x->config().in_features) +
                          " but the module before it outputs " + std::to_string(*d));
      if (auto e = m->embedding_dimension()) d = e;
    }
  }

  void read_config(const std::string& path) {
    detail::json_file f(path);
    if (auto v = f.find("__version__")) {
      simdjson::dom::object o;
      if (v->get_object().get(o)) throw f.error("__version__", "expected an object");
      for (auto [k, x] : o) {
        std::string_view s;
        if (!x.get_string().get(s)) version_.emplace_back(std::string(k), std::string(s));
      }
    }
    if (auto p = f.find("prompts")) {
      simdjson::dom::object o;
      if (p->get_object().get(o)) throw f.error("prompts", "expected an object of strings");
      for (auto [k, x] : o) {
        std::string_view s;
        if (x.get_string().get(s)) throw f.error("prompts." + std::string(k), "expected a string");
        prompts.emplace_back(std::string(k), std::string(s));
      }
    }
    default_prompt_name = f.get_string("default_prompt_name");
    if (default_prompt_name &&
        std::none_of(prompts.begin(), prompts.end(), [&](auto& kv) { return kv.first == *default_prompt_name; }))
      throw f.error("default_prompt_name", "'" + *default_prompt_name + "' is not one of the prompts");
    if (auto s = f.get_string("similarity_fn_name")) {
      auto fn = parse_similarity_function(*s);
      if (!fn) throw f.error("similarity_fn_name", "'" + *s + "' is not cosine, dot, euclidean or manhattan");
      similarity_fn = *fn;
    }
    truncate_dim = f.get_int("truncate_dim");
  }

  std::vector<std::shared_ptr<module>> modules_;
  std::vector<std::pair<std::string, std::string>> version_;
};

}  // namespace sbert::models
