// SPDX-License-Identifier: Apache-2.0
// MPNet (Hugging Face MPNetModel; all-mpnet-base-v2 and the other *-mpnet-* sentence models) by
// its checkpoint names: embeddings.{word,position}_embeddings, embeddings.LayerNorm,
// encoder.layer.N.attention.attn.{q,k,v,o}, encoder.layer.N.attention.LayerNorm,
// encoder.layer.N.{intermediate,output}.*, encoder.relative_attention_bias, pooler.dense.
//
// What differs from BERT: no token types; RoBERTa-style positions counted from padding_idx + 1
// over non-pad tokens, with padding_idx fixed at 1 as transformers hard-codes it (not
// config.pad_token_id); and a T5-style relative position bias, one learned scalar per
// (bucket, head), shared by all layers and added to the attention scores before the padding
// mask. Like transformers, the bias always uses 32 buckets and max_distance 128, whatever
// config.relative_attention_num_buckets says (that only sizes the table).
#pragma once
#include <sbert/detail/compiled.hpp>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/TensorOperators.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/io/safetensors_torch.hpp>
#include <sbert/models/bert.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/encoder.hpp>

namespace sbert::models {

/// MPNetConfig's fields that the forward pass uses (transformers' defaults).
struct mpnet_config {
  std::int64_t vocab_size = 30527;
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 514;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  std::int64_t relative_attention_num_buckets = 32;
  std::int64_t pad_token_id = 1;
  std::int64_t bos_token_id = 0;
  std::int64_t eos_token_id = 2;

  /// The buckets the bias actually uses, and transformers' padding_idx (both hard-coded there).
  static constexpr std::int64_t used_buckets = 32;
  static constexpr std::int64_t max_distance = 128;
  static constexpr std::int64_t padding_idx = 1;

  bool operator==(const mpnet_config&) const = default;

  [[nodiscard]] static mpnet_config from_json(const detail::json_file& f) {
    mpnet_config c;
    f.read("vocab_size", c.vocab_size);
    f.read("hidden_size", c.hidden_size);
    f.read("num_hidden_layers", c.num_hidden_layers);
    f.read("num_attention_heads", c.num_attention_heads);
    f.read("intermediate_size", c.intermediate_size);
    f.read("hidden_act", c.hidden_act);
    f.read("hidden_dropout_prob", c.hidden_dropout_prob);
    f.read("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
    f.read("max_position_embeddings", c.max_position_embeddings);
    f.read("initializer_range", c.initializer_range);
    f.read("layer_norm_eps", c.layer_norm_eps);
    f.read("relative_attention_num_buckets", c.relative_attention_num_buckets);
    f.read("pad_token_id", c.pad_token_id);
    f.read("bos_token_id", c.bos_token_id);
    f.read("eos_token_id", c.eos_token_id);
    if (auto s = f.get_string("model_type"); s && *s != "mpnet")
      throw model_error(input_error::format(f.path(), 0, "model_type", "'" + *s + "' is not an MPNet model"));
    c.validate(f.path());
    return c;
  }

  void validate(const std::string& where) const {
    auto bad = [&](const std::string& field, const std::string& what) {
      return model_error(input_error::format(where, 0, field, what));
    };
    if (vocab_size <= padding_idx) throw bad("vocab_size", "must be at least 2 (id 1 is MPNet's padding)");
    if (hidden_size <= 0) throw bad("hidden_size", "must be positive");
    if (num_attention_heads <= 0 || hidden_size % num_attention_heads != 0)
      throw bad("num_attention_heads", "must divide hidden_size (" + std::to_string(hidden_size) + ")");
    if (num_hidden_layers < 0) throw bad("num_hidden_layers", "must not be negative");
    if (intermediate_size <= 0) throw bad("intermediate_size", "must be positive");
    if (max_position_embeddings <= padding_idx + 1)
      throw bad("max_position_embeddings", "must exceed 2 (positions start at padding_idx + 1 = 2)");
    if (relative_attention_num_buckets < used_buckets)
      throw bad("relative_attention_num_buckets",
                "must be at least 32: MPNet's position bias always looks up 32 buckets");
    if (!detail::is_supported_activation(hidden_act))
      throw bad("hidden_act", "'" + hidden_act + "' is not supported");
  }

  /// The BERT-shaped fields, for the blocks MPNet shares with BERT (intermediate, output).
  [[nodiscard]] bert_config bert_layout() const {
    bert_config b;
    b.hidden_size = hidden_size;
    b.num_attention_heads = num_attention_heads;
    b.intermediate_size = intermediate_size;
    b.hidden_act = hidden_act;
    b.hidden_dropout_prob = hidden_dropout_prob;
    b.attention_probs_dropout_prob = attention_probs_dropout_prob;
    b.layer_norm_eps = layer_norm_eps;
    return b;
  }

  /// config.json as transformers writes it (sorted keys, indent 2, trailing newline).
  [[nodiscard]] std::string to_json() const {
    json::value v = json::value::make_object();
    v.set("architectures", json::value::array{"MPNetModel"})
        .set("attention_probs_dropout_prob", attention_probs_dropout_prob)
        .set("bos_token_id", bos_token_id)
        .set("eos_token_id", eos_token_id)
        .set("hidden_act", hidden_act)
        .set("hidden_dropout_prob", hidden_dropout_prob)
        .set("hidden_size", hidden_size)
        .set("initializer_range", initializer_range)
        .set("intermediate_size", intermediate_size)
        .set("layer_norm_eps", layer_norm_eps)
        .set("max_position_embeddings", max_position_embeddings)
        .set("model_type", "mpnet")
        .set("num_attention_heads", num_attention_heads)
        .set("num_hidden_layers", num_hidden_layers)
        .set("pad_token_id", pad_token_id)
        .set("relative_attention_num_buckets", relative_attention_num_buckets)
        .set("torch_dtype", "float32")
        .set("transformers_version", "4.44.2")
        .set("vocab_size", vocab_size);
    return json::dump(v, {.indent = 2, .sort_keys = true}) + "\n";
  }
};

namespace detail {

/// T5's bidirectional bucketing as MPNetEncoder.relative_position_bucket computes it, with the
/// same tensor ops in the same float32 order on CPU, so bucket boundaries (where log-ratios land
/// on whole numbers) round exactly as in transformers. [q, k] -> bucket of (k - q).
#if SBERT_DEFINITIONS
SBERT_INLINE at::Tensor mpnet_relative_buckets(std::int64_t q_len, std::int64_t k_len,
                                         std::int64_t num_buckets = mpnet_config::used_buckets,
                                         std::int64_t max_distance = mpnet_config::max_distance) {
  const auto opts = at::TensorOptions().dtype(at::kLong);
  auto context = at::arange(q_len, opts).unsqueeze(1);
  auto memory = at::arange(k_len, opts).unsqueeze(0);
  auto n = -(memory - context);
  const std::int64_t half = num_buckets / 2;
  auto ret = n.lt(0).to(at::kLong) * half;
  n = n.abs();
  const std::int64_t max_exact = half / 2;
  auto is_small = n.lt(max_exact);
  auto scaled = at::log(n.to(at::kFloat) / static_cast<double>(max_exact)) /
                std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                static_cast<double>(half - max_exact);
  auto large = scaled.to(at::kLong) + max_exact;  // log(0) = -inf only where is_small holds
  large = at::clamp_max(large, half - 1);
  return ret + at::where(is_small, n, large);
}
#else
at::Tensor mpnet_relative_buckets(std::int64_t q_len, std::int64_t k_len,
                                         std::int64_t num_buckets = mpnet_config::used_buckets,
                                         std::int64_t max_distance = mpnet_config::max_distance);
#endif

}  // namespace detail

class mpnet_embeddings : public torch::nn::Module {
 public:
  explicit mpnet_embeddings(const mpnet_config& c)
      : word_embeddings(register_module("word_embeddings", torch::nn::Embedding(c.vocab_size, c.hidden_size))),
        position_embeddings(register_module("position_embeddings", torch::nn::Embedding(
            c.max_position_embeddings, c.hidden_size))),
        LayerNorm(register_module("LayerNorm", torch::nn::LayerNorm(
            torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)))),
        dropout_p_(c.hidden_dropout_prob) {}

  at::Tensor forward(const at::Tensor& input_ids);

  torch::nn::Embedding word_embeddings, position_embeddings;
  torch::nn::LayerNorm LayerNorm;  // NOLINT: the checkpoint's name

 private:
  double dropout_p_;
};

/// MPNetSelfAttention: q, k, v, and the output projection o inside the attention block.
class mpnet_self_attention : public torch::nn::Module {
 public:
  explicit mpnet_self_attention(const mpnet_config& c)
      : q(register_module("q", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        k(register_module("k", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        v(register_module("v", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        o(register_module("o", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        heads_(c.num_attention_heads), dropout_p_(c.attention_probs_dropout_prob) {}

  /// `bias_and_mask`: position bias + padding mask, [batch, heads, seq, seq].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias_and_mask) {
    return o->forward(detail::multi_head_attention(q->forward(x), k->forward(x), v->forward(x), heads_,
                                                   bias_and_mask, dropout_p_, is_training()));
  }

  torch::nn::Linear q, k, v, o;

 private:
  std::int64_t heads_;
  double dropout_p_;
};

/// MPNetAttention: LayerNorm(dropout(attn(x)) + x).
class mpnet_attention : public torch::nn::Module {
 public:
  explicit mpnet_attention(const mpnet_config& c)
      : attn(register_module("attn", std::make_shared<mpnet_self_attention>(c))),
        LayerNorm(register_module("LayerNorm", torch::nn::LayerNorm(
            torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)))),
        dropout_p_(c.hidden_dropout_prob) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias_and_mask) {
    return LayerNorm->forward(at::dropout(attn->forward(x, bias_and_mask), dropout_p_, is_training()) + x);
  }
  std::shared_ptr<mpnet_self_attention> attn;
  torch::nn::LayerNorm LayerNorm;  // NOLINT

 private:
  double dropout_p_;
};

/// MPNetLayer; its intermediate and output blocks are BERT's (same names, same math).
class mpnet_layer : public torch::nn::Module {
 public:
  explicit mpnet_layer(const mpnet_config& c)
      : attention(register_module("attention", std::make_shared<mpnet_attention>(c))),
        intermediate(register_module("intermediate", std::make_shared<bert_intermediate>(c.bert_layout()))),
        output(register_module("output", std::make_shared<bert_residual_output>(c.intermediate_size, c.bert_layout()))) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias_and_mask) {
    auto a = attention->forward(x, bias_and_mask);
    return output->forward(intermediate->forward(a), a);
  }
  std::shared_ptr<mpnet_attention> attention;
  std::shared_ptr<bert_intermediate> intermediate;
  std::shared_ptr<bert_residual_output> output;
};

/// MPNetModel. The pooler is kept (loaded and saved) but sentence-transformers never uses it.
class mpnet_model : public encoder {
 public:
  explicit mpnet_model(mpnet_config c, bool with_pooler = true);

  /// Reads `dir`/config.json and `dir`/model.safetensors (a HF MPNetModel folder).
  [[nodiscard]] static std::shared_ptr<mpnet_model> load(const std::string& dir);

  /// token_type_ids are ignored: MPNet has no segment embeddings.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor&,
                     std::vector<at::Tensor>* hidden_states = nullptr) override;

  /// The relative position bias [1, heads, seq, seq] (differentiable in the bias table).
  [[nodiscard]] at::Tensor position_bias(std::int64_t len, const at::Device& device) {
    auto values = relative_attention_bias->forward(buckets(len, device));  // [seq, seq, heads]
    return values.permute({2, 0, 1}).unsqueeze(0);
  }

  /// HF's _init_weights: normal(0, initializer_range) for Linear and Embedding weights (the
  /// relative bias table included), zero biases and padding rows (id 1 of the word and position
  /// tables), LayerNorm weight 1 and bias 0.
  void init_weights() {
    detail::init_hf_weights(*this, config_.initializer_range);
    at::NoGradGuard ng;
    embeddings->word_embeddings->weight[mpnet_config::padding_idx].zero_();
    embeddings->position_embeddings->weight[mpnet_config::padding_idx].zero_();
  }

  void load_weights(const safetensors::reader& r) override {
    safetensors::load_options o;
    if (!r.find("embeddings.word_embeddings.weight") && r.find("mpnet.embeddings.word_embeddings.weight"))
      o.prefix = "mpnet.";  // a task checkpoint (MPNetForMaskedLM, ...): its base model
    safetensors::load_into(*this, r, o);
  }

  [[nodiscard]] std::int64_t hidden_size() const override { return config_.hidden_size; }
  /// The usable sequence length: positions 0 and 1 are never given to a token, so 514 table
  /// rows hold 512 tokens (what Python gets from the tokenizer's model_max_length).
  [[nodiscard]] std::int64_t max_position_embeddings() const override {
    return config_.max_position_embeddings - mpnet_config::padding_idx - 1;
  }
  [[nodiscard]] std::string model_type() const override { return "mpnet"; }
  [[nodiscard]] std::string config_json() const override {
    if (!raw_config_.empty() && config_ == loaded_config_) return raw_config_;
    return config_.to_json();
  }
  [[nodiscard]] const mpnet_config& config() const { return config_; }

  std::shared_ptr<mpnet_embeddings> embeddings;
  torch::nn::ModuleList layers;
  torch::nn::Embedding relative_attention_bias{nullptr};
  std::shared_ptr<bert_pooler> pooler;

 private:
  /// Buckets depend only on the length: computed once per length on CPU (as transformers
  /// does), cached per device.
  at::Tensor buckets(std::int64_t len, const at::Device& device);

  mpnet_config config_, loaded_config_;
  std::string raw_config_;
  std::vector<std::shared_ptr<mpnet_layer>> layer_ptrs_;
  std::map<std::pair<std::int64_t, std::string>, at::Tensor> bucket_cache_;
  std::mutex cache_mutex_;
};

#if SBERT_DEFINITIONS

SBERT_INLINE at::Tensor mpnet_embeddings::forward(const at::Tensor& input_ids) {
  constexpr auto pad = mpnet_config::padding_idx;
  auto not_pad = input_ids.ne(pad).to(at::kLong);
  auto positions = not_pad.cumsum(1) * not_pad + pad;
  auto x = word_embeddings->forward(input_ids) + position_embeddings->forward(positions);
  return at::dropout(LayerNorm->forward(x), dropout_p_, is_training());
}

SBERT_INLINE mpnet_model::mpnet_model(mpnet_config c, bool with_pooler)
    : config_(std::move(c)) {
  config_.validate("mpnet_config");
  embeddings = register_module("embeddings", std::make_shared<mpnet_embeddings>(config_));
  auto enc = register_module("encoder", std::make_shared<torch::nn::Module>());
  layers = enc->register_module("layer", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    auto l = std::make_shared<mpnet_layer>(config_);
    layers->push_back(l);
    layer_ptrs_.push_back(l);
  }
  relative_attention_bias = enc->register_module(
      "relative_attention_bias",
      torch::nn::Embedding(config_.relative_attention_num_buckets, config_.num_attention_heads));
  if (with_pooler) pooler = register_module("pooler", std::make_shared<bert_pooler>(config_.bert_layout()));
  init_weights();
}

SBERT_INLINE std::shared_ptr<mpnet_model> mpnet_model::load(const std::string& dir) {
  detail::json_file cfg(detail::join_path(dir, "config.json"));
  auto c = mpnet_config::from_json(cfg);
  auto r = safetensors::reader::open(bert_model::weights_path(dir));
  const bool has_pooler = r.find("pooler.dense.weight") || r.find("mpnet.pooler.dense.weight");
  auto m = std::make_shared<mpnet_model>(c, has_pooler);
  m->load_weights(r);
  m->raw_config_ = cfg.text();
  m->loaded_config_ = c;
  return m;
}

SBERT_INLINE at::Tensor mpnet_model::forward(const at::Tensor& input_ids,
                                             const at::Tensor& attention_mask, const at::Tensor&,
                                             std::vector<at::Tensor>* hidden_states) {
  if (input_ids.dim() != 2) throw model_error("mpnet_model: input_ids must be [batch, seq]");
  const auto len = input_ids.size(1);
  if (len + mpnet_config::padding_idx >= config_.max_position_embeddings)
    throw model_error("mpnet_model: sequence of " + std::to_string(len) + " tokens exceeds the " +
                      std::to_string(config_.max_position_embeddings - mpnet_config::padding_idx - 1) +
                      " positions of max_position_embeddings " +
                      std::to_string(config_.max_position_embeddings) + " (positions start at 2)");
  auto x = embeddings->forward(input_ids);
  auto mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);
  // One [batch, heads, seq, seq] additive term for every layer: the bias, then the mask.
  auto bias_and_mask = position_bias(len, x.device()) + detail::additive_mask(mask, x.scalar_type());
  if (hidden_states) hidden_states->push_back(x);
  for (auto& l : layer_ptrs_) {
    x = l->forward(x, bias_and_mask);
    if (hidden_states) hidden_states->push_back(x);
  }
  return x;
}

SBERT_INLINE at::Tensor mpnet_model::buckets(std::int64_t len, const at::Device& device) {
  std::lock_guard lock(cache_mutex_);
  auto key = std::make_pair(len, device.str());
  auto it = bucket_cache_.find(key);
  if (it != bucket_cache_.end()) return it->second;
  auto b = detail::mpnet_relative_buckets(len, len).to(device);
  if (bucket_cache_.size() > 64) bucket_cache_.clear();  // bounded: lengths vary per batch
  bucket_cache_.emplace(key, b);
  return b;
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::models
