// SPDX-License-Identifier: Apache-2.0
// BERT (Hugging Face BertModel), and RoBERTa / XLM-RoBERTa (the same network; positions count
// from padding_idx + 1 over non-pad tokens), as a torch::nn::Module whose parameter names are the
// checkpoint's (embeddings.word_embeddings.weight, encoder.layer.N.attention.self.query.weight,
// ..., pooler.dense.*), so model.safetensors loads and saves by name. Same math as
// transformers' eager BertModel: exact erf GELU, LayerNorm eps from config.json, and the padding
// mask added to the attention scores as (1 - mask) * finfo(dtype).min.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/version.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/io/safetensors_torch.hpp>
#include <sbert/models/detail/json_config.hpp>
#include <sbert/models/encoder.hpp>

namespace sbert::models {

namespace detail {
/// The hidden_act names detail::activation computes (transformers' ACT2FN keys).
inline bool is_supported_activation(const std::string& name) {
  for (const char* n : {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh"})
    if (name == n) return true;
  return false;
}
}  // namespace detail

/// BertConfig's fields that the forward pass uses (transformers' defaults).
struct bert_config {
  std::int64_t vocab_size = 30522;
  std::int64_t hidden_size = 768;
  std::int64_t num_hidden_layers = 12;
  std::int64_t num_attention_heads = 12;
  std::int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::int64_t max_position_embeddings = 512;
  std::int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  std::string model_type = "bert";  // "roberta", "xlm-roberta", "camembert": RoBERTa positions

  /// RoBERTa-style position ids: padding_idx + 1 + index among non-pad tokens, pad -> padding_idx.
  [[nodiscard]] bool roberta_positions() const { return model_type != "bert"; }

  bool operator==(const bert_config&) const = default;

  /// Reads config.json. Unknown keys are ignored (they are kept in the file text).
  [[nodiscard]] static bert_config from_json(const detail::json_file& f) {
    bert_config c;
    f.read("vocab_size", c.vocab_size);
    f.read("hidden_size", c.hidden_size);
    f.read("num_hidden_layers", c.num_hidden_layers);
    f.read("num_attention_heads", c.num_attention_heads);
    f.read("intermediate_size", c.intermediate_size);
    f.read("hidden_act", c.hidden_act);
    f.read("hidden_dropout_prob", c.hidden_dropout_prob);
    f.read("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
    f.read("max_position_embeddings", c.max_position_embeddings);
    f.read("type_vocab_size", c.type_vocab_size);
    f.read("initializer_range", c.initializer_range);
    f.read("layer_norm_eps", c.layer_norm_eps);
    f.read("pad_token_id", c.pad_token_id);
    f.read("position_embedding_type", c.position_embedding_type);
    f.read("model_type", c.model_type);
    c.validate(f.path());
    return c;
  }

  void validate(const std::string& where) const {
    auto bad = [&](const std::string& field, const std::string& what) {
      return model_error(input_error::format(where, 0, field, what));
    };
    if (vocab_size <= 0) throw bad("vocab_size", "must be positive");
    if (hidden_size <= 0) throw bad("hidden_size", "must be positive");
    if (num_attention_heads <= 0 || hidden_size % num_attention_heads != 0)
      throw bad("num_attention_heads", "must divide hidden_size (" + std::to_string(hidden_size) + ")");
    if (num_hidden_layers < 0) throw bad("num_hidden_layers", "must not be negative");
    if (intermediate_size <= 0) throw bad("intermediate_size", "must be positive");
    if (max_position_embeddings <= 0) throw bad("max_position_embeddings", "must be positive");
    if (type_vocab_size <= 0) throw bad("type_vocab_size", "must be positive");
    if (model_type != "bert" && model_type != "roberta" && model_type != "xlm-roberta" &&
        model_type != "camembert")
      throw bad("model_type", "'" + model_type + "' is not a BERT/RoBERTa model");
    if (position_embedding_type != "absolute")
      throw bad("position_embedding_type", "'" + position_embedding_type + "' is not supported (only \"absolute\")");
    if (!detail::is_supported_activation(hidden_act))
      throw bad("hidden_act", "'" + hidden_act + "' is not supported");
  }

  /// config.json as transformers writes it (sorted keys, indent 2, trailing newline).
  [[nodiscard]] std::string to_json() const {
    json::value v = json::value::make_object();
    const bool xlmr = model_type == "xlm-roberta";
    const char* arch = model_type == "bert" ? "BertModel" : xlmr ? "XLMRobertaModel"
                       : model_type == "camembert" ? "CamembertModel" : "RobertaModel";
    v.set("architectures", json::value::array{arch})
        .set("attention_probs_dropout_prob", attention_probs_dropout_prob)
        .set("classifier_dropout", nullptr)
        .set("hidden_act", hidden_act)
        .set("hidden_dropout_prob", hidden_dropout_prob)
        .set("hidden_size", hidden_size)
        .set("initializer_range", initializer_range)
        .set("intermediate_size", intermediate_size)
        .set("layer_norm_eps", layer_norm_eps)
        .set("max_position_embeddings", max_position_embeddings)
        .set("model_type", model_type)
        .set("num_attention_heads", num_attention_heads)
        .set("num_hidden_layers", num_hidden_layers)
        .set("pad_token_id", pad_token_id)
        .set("position_embedding_type", position_embedding_type)
        .set("torch_dtype", "float32")
        .set("transformers_version", "4.44.2")
        .set("type_vocab_size", type_vocab_size)
        .set("use_cache", true)
        .set("vocab_size", vocab_size);
    return json::dump(v, {.indent = 2, .sort_keys = true}) + "\n";
  }
};

namespace detail {

inline at::Tensor activation(const std::string& name, const at::Tensor& x) {
  if (name == "gelu") return at::gelu(x);  // exact erf form, HF's "gelu"
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (name == "relu") return at::relu(x);
  if (name == "silu" || name == "swish") return at::silu(x);
  if (name == "tanh") return at::tanh(x);
  throw model_error("unsupported activation '" + name + "'");
}

/// torch.finfo(dtype).min
inline double lowest_of(at::ScalarType dtype) {
  if (dtype == at::kHalf) return -65504.0;
  if (dtype == at::kBFloat16) return -3.3895313892515355e38;
  if (dtype == at::kDouble) return std::numeric_limits<double>::lowest();
  return std::numeric_limits<float>::lowest();
}

/// HF's PreTrainedModel._init_weights for encoders: normal(0, sd) for every Linear and
/// Embedding weight, zero Linear biases, LayerNorm weight 1 and bias 0. (Padding rows are the
/// caller's: each model zeroes its own.)
#if SBERT_DEFINITIONS
SBERT_INLINE void init_hf_weights(torch::nn::Module& root, double sd) {
  at::NoGradGuard ng;
  for (auto& m : root.modules(/*include_self=*/false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, sd);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, sd);
    } else if (auto* ln = m->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}
#else
void init_hf_weights(torch::nn::Module& root, double sd);
#endif

/// The additive attention mask [batch, 1, 1, seq]: 0 where attended, finfo(dtype).min elsewhere.
inline at::Tensor additive_mask(const at::Tensor& attention_mask, at::ScalarType dtype) {
  auto m = attention_mask.unsqueeze(1).unsqueeze(2).to(dtype);
  return (1.0 - m) * lowest_of(dtype);
}

/// softmax(q kᵀ / √d + mask) v. libtorch ≥ 2 has the fused kernels (flash / memory-efficient
/// on CUDA); 1.13's private _scaled_dot_product_attention is not used, the math path is.
inline at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& additive, double dropout_p, bool training) {
  // Under autocast q is bf16/fp16 while the mask was built in fp32: re-express it in q's type
  // (clamped, so fp16 gets -65504 rather than -inf).
  const auto mask = additive.scalar_type() == q.scalar_type()
                        ? additive
                        : additive.clamp_min(lowest_of(q.scalar_type())).to(q.scalar_type());
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, mask, training ? dropout_p : 0.0);
#else
  auto scores = at::matmul(q, k.transpose(-1, -2));
  scores = scores / std::sqrt(static_cast<double>(q.size(-1)));
  scores = scores + mask;
  auto probs = at::softmax(scores, -1);
  if (training && dropout_p > 0) probs = at::dropout(probs, dropout_p, true);
  return at::matmul(probs, v);
#endif
}

/// Multi-head attention over projected inputs: q [batch, q_len, hidden], k and v [batch, k_len,
/// hidden] are split into `heads`, attended (attention() above) and merged back to
/// [batch, q_len, hidden]. Shared by every encoder's self-attention and TSDAE's cross-attention.
inline at::Tensor multi_head_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                       std::int64_t heads, const at::Tensor& additive, double dropout_p,
                                       bool training) {
  const auto b = q.size(0), hidden = q.size(2), d = hidden / heads;
  auto split = [&](const at::Tensor& t) { return t.view({b, t.size(1), heads, d}).permute({0, 2, 1, 3}); };
  auto ctx = attention(split(q), split(k), split(v), additive, dropout_p, training);
  return ctx.permute({0, 2, 1, 3}).contiguous().view({b, q.size(1), hidden});
}

}  // namespace detail

class bert_embeddings : public torch::nn::Module {
 public:
  explicit bert_embeddings(const bert_config& c)
      : word_embeddings(register_module("word_embeddings", torch::nn::Embedding(
            torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size)))),
        position_embeddings(register_module("position_embeddings", torch::nn::Embedding(
            c.max_position_embeddings, c.hidden_size))),
        token_type_embeddings(register_module("token_type_embeddings", torch::nn::Embedding(
            c.type_vocab_size, c.hidden_size))),
        LayerNorm(register_module("LayerNorm", torch::nn::LayerNorm(
            torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)))),
        dropout_p_(c.hidden_dropout_prob), roberta_positions_(c.roberta_positions()), pad_(c.pad_token_id) {}

  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& token_type_ids);

  torch::nn::Embedding word_embeddings, position_embeddings, token_type_embeddings;
  torch::nn::LayerNorm LayerNorm;  // NOLINT: the checkpoint's name

 private:
  double dropout_p_;
  bool roberta_positions_;
  std::int64_t pad_;
};

class bert_self_attention : public torch::nn::Module {
 public:
  explicit bert_self_attention(const bert_config& c)
      : query(register_module("query", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        key(register_module("key", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        value(register_module("value", torch::nn::Linear(c.hidden_size, c.hidden_size))),
        heads_(c.num_attention_heads), dropout_p_(c.attention_probs_dropout_prob) {}

  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) {
    return detail::multi_head_attention(query->forward(x), key->forward(x), value->forward(x), heads_, mask,
                                        dropout_p_, is_training());
  }

  torch::nn::Linear query, key, value;

 private:
  std::int64_t heads_;
  double dropout_p_;
};

/// dense -> dropout -> LayerNorm(h + residual): BertSelfOutput and BertOutput.
class bert_residual_output : public torch::nn::Module {
 public:
  bert_residual_output(std::int64_t in, const bert_config& c)
      : dense(register_module("dense", torch::nn::Linear(in, c.hidden_size))),
        LayerNorm(register_module("LayerNorm", torch::nn::LayerNorm(
            torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)))),
        dropout_p_(c.hidden_dropout_prob) {}

  at::Tensor forward(const at::Tensor& h, const at::Tensor& residual) {
    auto y = at::dropout(dense->forward(h), dropout_p_, is_training());
    return LayerNorm->forward(y + residual);
  }

  torch::nn::Linear dense;
  torch::nn::LayerNorm LayerNorm;  // NOLINT

 private:
  double dropout_p_;
};

class bert_attention : public torch::nn::Module {
 public:
  explicit bert_attention(const bert_config& c)
      : self(register_module("self", std::make_shared<bert_self_attention>(c))),
        output(register_module("output", std::make_shared<bert_residual_output>(c.hidden_size, c))) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) {
    return output->forward(self->forward(x, mask), x);
  }
  std::shared_ptr<bert_self_attention> self;
  std::shared_ptr<bert_residual_output> output;
};

class bert_intermediate : public torch::nn::Module {
 public:
  explicit bert_intermediate(const bert_config& c)
      : dense(register_module("dense", torch::nn::Linear(c.hidden_size, c.intermediate_size))),
        act_(c.hidden_act) {}
  at::Tensor forward(const at::Tensor& x) { return detail::activation(act_, dense->forward(x)); }
  torch::nn::Linear dense;

 private:
  std::string act_;
};

class bert_layer : public torch::nn::Module {
 public:
  explicit bert_layer(const bert_config& c)
      : attention(register_module("attention", std::make_shared<bert_attention>(c))),
        intermediate(register_module("intermediate", std::make_shared<bert_intermediate>(c))),
        output(register_module("output", std::make_shared<bert_residual_output>(c.intermediate_size, c))) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) {
    auto a = attention->forward(x, mask);
    return output->forward(intermediate->forward(a), a);
  }
  std::shared_ptr<bert_attention> attention;
  std::shared_ptr<bert_intermediate> intermediate;
  std::shared_ptr<bert_residual_output> output;
};

class bert_pooler : public torch::nn::Module {
 public:
  explicit bert_pooler(const bert_config& c)
      : dense(register_module("dense", torch::nn::Linear(c.hidden_size, c.hidden_size))) {}
  at::Tensor forward(const at::Tensor& h) { return at::tanh(dense->forward(h.select(1, 0))); }
  torch::nn::Linear dense;
};

/// BertModel. The pooler is kept (loaded and saved) but sentence-transformers never uses it.
class bert_model : public encoder {
 public:
  explicit bert_model(bert_config c, bool with_pooler = true);

  /// Reads `dir`/config.json and `dir`/model.safetensors (a HF BertModel folder).
  [[nodiscard]] static std::shared_ptr<bert_model> load(const std::string& dir);

  [[nodiscard]] static std::string weights_path(const std::string& dir);

  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                     const at::Tensor& token_type_ids,
                     std::vector<at::Tensor>* hidden_states = nullptr) override;

  /// HF's _init_weights: normal(0, initializer_range) for Linear and Embedding weights, zero
  /// biases and padding row, LayerNorm weight 1 and bias 0.
  void init_weights() {
    detail::init_hf_weights(*this, config_.initializer_range);
    at::NoGradGuard ng;
    const auto pad = config_.pad_token_id;
    if (pad >= 0 && pad < config_.vocab_size) embeddings->word_embeddings->weight[pad].zero_();
  }

  void load_weights(const safetensors::reader& r) override;

  [[nodiscard]] std::int64_t hidden_size() const override { return config_.hidden_size; }
  [[nodiscard]] std::int64_t max_position_embeddings() const override {
    return config_.max_position_embeddings;
  }
  [[nodiscard]] std::string model_type() const override { return config_.model_type; }
  [[nodiscard]] std::string config_json() const override {
    if (!raw_config_.empty() && config_ == loaded_config_) return raw_config_;
    return config_.to_json();
  }
  [[nodiscard]] const bert_config& config() const { return config_; }

  /// Keeps the first n encoder layers and drops the rest (Python: del
  /// auto_model.encoder.layer[n:]), e.g. to run a model trained with AdaptiveLayerLoss at fewer
  /// layers. num_hidden_layers follows, so a saved folder reloads with n layers.
  void truncate_layers(std::int64_t n) {
    const auto have = static_cast<std::int64_t>(layer_ptrs_.size());
    if (n < 1 || n > have)
      throw model_error("bert_model::truncate_layers: " + std::to_string(n) + " layers asked, the encoder has " + std::to_string(have));
    layer_ptrs_.resize(static_cast<std::size_t>(n));
    torch::nn::ModuleList kept;
    for (const auto& l : layer_ptrs_) kept->push_back(l);
    named_children()["encoder"]->replace_module("layer", kept.ptr());
    layers = kept;
    config_.num_hidden_layers = n;
  }

  std::shared_ptr<bert_embeddings> embeddings;
  torch::nn::ModuleList layers;
  std::shared_ptr<bert_pooler> pooler;

 private:
  bert_config config_;
  bert_config loaded_config_;
  std::string raw_config_;
  std::vector<std::shared_ptr<bert_layer>> layer_ptrs_;
};

#if SBERT_DEFINITIONS

SBERT_INLINE at::Tensor bert_embeddings::forward(const at::Tensor& input_ids,
                                                 const at::Tensor& token_type_ids) {
  const auto seq = input_ids.size(1);
  at::Tensor positions;
  if (roberta_positions_) {
    auto not_pad = input_ids.ne(pad_).to(at::kLong);
    positions = not_pad.cumsum(1) * not_pad + pad_;
  } else {
    positions = at::arange(seq, input_ids.options().dtype(at::kLong)).unsqueeze(0);
  }
  auto types = token_type_ids.defined() ? token_type_ids : at::zeros_like(input_ids);
  auto x = word_embeddings->forward(input_ids) + token_type_embeddings->forward(types);
  x = x + position_embeddings->forward(positions);
  x = LayerNorm->forward(x);
  return at::dropout(x, dropout_p_, is_training());
}

SBERT_INLINE bert_model::bert_model(bert_config c, bool with_pooler)
    : config_(std::move(c)) {
  config_.validate("bert_config");
  embeddings = register_module("embeddings", std::make_shared<bert_embeddings>(config_));
  auto enc = register_module("encoder", std::make_shared<torch::nn::Module>());
  layers = enc->register_module("layer", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    auto l = std::make_shared<bert_layer>(config_);
    layers->push_back(l);
    layer_ptrs_.push_back(l);
  }
  if (with_pooler) pooler = register_module("pooler", std::make_shared<bert_pooler>(config_));
  init_weights();
}

SBERT_INLINE std::shared_ptr<bert_model> bert_model::load(const std::string& dir) {
  detail::json_file cfg(detail::join_path(dir, "config.json"));
  auto c = bert_config::from_json(cfg);
  auto r = safetensors::reader::open(weights_path(dir));
  const bool has_pooler = r.find("pooler.dense.weight") || r.find("bert.pooler.dense.weight") ||
                          r.find("roberta.pooler.dense.weight");
  auto m = std::make_shared<bert_model>(c, has_pooler);
  m->load_weights(r);
  m->raw_config_ = cfg.text();
  m->loaded_config_ = c;
  return m;
}

SBERT_INLINE std::string bert_model::weights_path(const std::string& dir) {
  const auto p = detail::join_path(dir, "model.safetensors");
  if (std::filesystem::exists(p)) return p;
  if (std::filesystem::exists(detail::join_path(dir, "pytorch_model.bin")))
    throw model_error(p + ": missing; the folder has only pytorch_model.bin, a pickle file, "
                      "which sbert never loads (convert it to safetensors)");
  throw model_error(p + ": missing");
}

SBERT_INLINE at::Tensor bert_model::forward(const at::Tensor& input_ids,
                                            const at::Tensor& attention_mask,
                                            const at::Tensor& token_type_ids,
                                            std::vector<at::Tensor>* hidden_states) {
  if (input_ids.dim() != 2) throw model_error("bert_model: input_ids must be [batch, seq]");
  if (input_ids.size(1) > config_.max_position_embeddings)
    throw model_error("bert_model: sequence of " + std::to_string(input_ids.size(1)) +
                      " tokens exceeds max_position_embeddings " +
                      std::to_string(config_.max_position_embeddings));
  auto x = embeddings->forward(input_ids, token_type_ids);
  auto mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);
  auto ext = detail::additive_mask(mask, x.scalar_type());
  if (hidden_states) hidden_states->push_back(x);
  for (auto& l : layer_ptrs_) {
    x = l->forward(x, ext);
    if (hidden_states) hidden_states->push_back(x);
  }
  return x;
}

SBERT_INLINE void bert_model::load_weights(const safetensors::reader& r) {
  safetensors::load_options o;
  if (!r.find("embeddings.word_embeddings.weight")) {  // a task checkpoint: its base model
    for (const char* p : {"bert.", "roberta."})
      if (r.find(std::string(p) + "embeddings.word_embeddings.weight")) o.prefix = p;
  }
  safetensors::load_into(*this, r, o);
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::models
