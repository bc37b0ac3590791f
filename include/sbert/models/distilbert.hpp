// SPDX-License-Identifier: Apache-2.0
// DistilBERT (Hugging Face DistilBertModel) by its checkpoint names: embeddings.*,
// transformer.layer.N.attention.{q,k,v,out}_lin, sa_layer_norm, ffn.lin{1,2},
// output_layer_norm. Post-LN like BERT, no token types, LayerNorm eps fixed at 1e-12.
#pragma once
#include <sbert/detail/compiled.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
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

/// DistilBertConfig's fields that the forward pass uses (transformers' defaults).
struct distilbert_config {
  std::int64_t vocab_size = 30522;
  std::int64_t dim = 768;
  std::int64_t n_layers = 6;
  std::int64_t n_heads = 12;
  std::int64_t hidden_dim = 3072;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  std::string activation = "gelu";
  std::int64_t max_position_embeddings = 512;
  double initializer_range = 0.02;
  std::int64_t pad_token_id = 0;
  bool sinusoidal_pos_embds = false;

  bool operator==(const distilbert_config&) const = default;

  [[nodiscard]] static distilbert_config from_json(const detail::json_file& f) {
    distilbert_config c;
    f.read("vocab_size", c.vocab_size);
    f.read("dim", c.dim);
    f.read("n_layers", c.n_layers);
    f.read("n_heads", c.n_heads);
    f.read("hidden_dim", c.hidden_dim);
    f.read("dropout", c.dropout);
    f.read("attention_dropout", c.attention_dropout);
    f.read("activation", c.activation);
    f.read("max_position_embeddings", c.max_position_embeddings);
    f.read("initializer_range", c.initializer_range);
    f.read("pad_token_id", c.pad_token_id);
    f.read("sinusoidal_pos_embds", c.sinusoidal_pos_embds);
    c.validate(f.path());
    return c;
  }

  void validate(const std::string& where) const {
    auto bad = [&](const std::string& field, const std::string& what) {
      return model_error(input_error::format(where, 0, field, what));
    };
    if (vocab_size <= 0) throw bad("vocab_size", "must be positive");
    if (dim <= 0 || n_heads <= 0 || dim % n_heads != 0) throw bad("n_heads", "must divide dim");
    if (n_layers < 0) throw bad("n_layers", "must not be negative");
    if (hidden_dim <= 0) throw bad("hidden_dim", "must be positive");
    if (max_position_embeddings <= 0) throw bad("max_position_embeddings", "must be positive");
    if (activation != "gelu" && activation != "relu")
      throw bad("activation", "'" + activation + "' is not supported (gelu, relu)");
  }

  [[nodiscard]] std::string to_json() const {
    json::value v = json::value::make_object();
    v.set("activation", activation)
        .set("architectures", json::value::array{"DistilBertModel"})
        .set("attention_dropout", attention_dropout)
        .set("dim", dim)
        .set("dropout", dropout)
        .set("hidden_dim", hidden_dim)
        .set("initializer_range", initializer_range)
        .set("max_position_embeddings", max_position_embeddings)
        .set("model_type", "distilbert")
        .set("n_heads", n_heads)
        .set("n_layers", n_layers)
        .set("pad_token_id", pad_token_id)
        .set("qa_dropout", 0.1)
        .set("seq_classif_dropout", 0.2)
        .set("sinusoidal_pos_embds", sinusoidal_pos_embds)
        .set("torch_dtype", "float32")
        .set("transformers_version", "4.44.2")
        .set("vocab_size", vocab_size);
    return json::dump(v, {.indent = 2, .sort_keys = true}) + "\n";
  }
};

class distilbert_embeddings : public torch::nn::Module {
 public:
  explicit distilbert_embeddings(const distilbert_config& c)
      : word_embeddings(register_module("word_embeddings", torch::nn::Embedding(c.vocab_size, c.dim))),
        position_embeddings(register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.dim))),
        LayerNorm(register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(1e-12)))),
        p_(c.dropout) {}
  at::Tensor forward(const at::Tensor& ids) {
    auto pos = at::arange(ids.size(1), ids.options().dtype(at::kLong)).unsqueeze(0);
    auto x = word_embeddings->forward(ids) + position_embeddings->forward(pos);
    return at::dropout(LayerNorm->forward(x), p_, is_training());
  }
  torch::nn::Embedding word_embeddings, position_embeddings;
  torch::nn::LayerNorm LayerNorm;  // NOLINT: the checkpoint's name

 private:
  double p_;
};

class distilbert_attention : public torch::nn::Module {
 public:
  explicit distilbert_attention(const distilbert_config& c)
      : q_lin(register_module("q_lin", torch::nn::Linear(c.dim, c.dim))),
        k_lin(register_module("k_lin", torch::nn::Linear(c.dim, c.dim))),
        v_lin(register_module("v_lin", torch::nn::Linear(c.dim, c.dim))),
        out_lin(register_module("out_lin", torch::nn::Linear(c.dim, c.dim))),
        heads_(c.n_heads), p_(c.attention_dropout) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) {
    return out_lin->forward(detail::multi_head_attention(q_lin->forward(x), k_lin->forward(x), v_lin->forward(x),
                                                         heads_, mask, p_, is_training()));
  }
  torch::nn::Linear q_lin, k_lin, v_lin, out_lin;

 private:
  std::int64_t heads_;
  double p_;
};

class distilbert_ffn : public torch::nn::Module {
 public:
  explicit distilbert_ffn(const distilbert_config& c)
      : lin1(register_module("lin1", torch::nn::Linear(c.dim, c.hidden_dim))),
        lin2(register_module("lin2", torch::nn::Linear(c.hidden_dim, c.dim))), act_(c.activation), p_(c.dropout) {}
  at::Tensor forward(const at::Tensor& x) {
    return at::dropout(lin2->forward(detail::activation(act_, lin1->forward(x))), p_, is_training());
  }
  torch::nn::Linear lin1, lin2;

 private:
  std::string act_;
  double p_;
};

class distilbert_layer : public torch::nn::Module {
 public:
  explicit distilbert_layer(const distilbert_config& c)
      : attention(register_module("attention", std::make_shared<distilbert_attention>(c))),
        sa_layer_norm(register_module("sa_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(1e-12)))),
        ffn(register_module("ffn", std::make_shared<distilbert_ffn>(c))),
        output_layer_norm(register_module("output_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(1e-12)))) {}
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) {
    auto sa = sa_layer_norm->forward(attention->forward(x, mask) + x);
    return output_layer_norm->forward(ffn->forward(sa) + sa);
  }
  std::shared_ptr<distilbert_attention> attention;
  torch::nn::LayerNorm sa_layer_norm;
  std::shared_ptr<distilbert_ffn> ffn;
  torch::nn::LayerNorm output_layer_norm;
};

class distilbert_model : public encoder {
 public:
  explicit distilbert_model(distilbert_config c);

  [[nodiscard]] static std::shared_ptr<distilbert_model> load(const std::string& dir);

  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, const at::Tensor&,
                     std::vector<at::Tensor>* hidden_states = nullptr) override;

  /// HF's _init_weights (normal Linear/Embedding, zero bias and padding row, LayerNorm 1/0).
  void init_weights();

  void load_weights(const safetensors::reader& r) override {
    safetensors::load_options o;
    if (!r.find("embeddings.word_embeddings.weight") && r.find("distilbert.embeddings.word_embeddings.weight"))
      o.prefix = "distilbert.";
    safetensors::load_into(*this, r, o);
  }

  [[nodiscard]] std::int64_t hidden_size() const override { return config_.dim; }
  [[nodiscard]] std::int64_t max_position_embeddings() const override { return config_.max_position_embeddings; }
  [[nodiscard]] std::string model_type() const override { return "distilbert"; }
  [[nodiscard]] std::string config_json() const override {
    if (!raw_config_.empty() && config_ == loaded_config_) return raw_config_;
    return config_.to_json();
  }
  [[nodiscard]] const distilbert_config& config() const { return config_; }

  std::shared_ptr<distilbert_embeddings> embeddings;
  torch::nn::ModuleList layers;

 private:
  distilbert_config config_, loaded_config_;
  std::string raw_config_;
  std::vector<std::shared_ptr<distilbert_layer>> layer_ptrs_;
};

#if SBERT_DEFINITIONS

SBERT_INLINE distilbert_model::distilbert_model(distilbert_config c)
    : config_(std::move(c)) {
  config_.validate("distilbert_config");
  embeddings = register_module("embeddings", std::make_shared<distilbert_embeddings>(config_));
  auto t = register_module("transformer", std::make_shared<torch::nn::Module>());
  layers = t->register_module("layer", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.n_layers; ++i) {
    auto l = std::make_shared<distilbert_layer>(config_);
    layers->push_back(l);
    layer_ptrs_.push_back(l);
  }
  init_weights();
}

SBERT_INLINE std::shared_ptr<distilbert_model> distilbert_model::load(const std::string& dir) {
  detail::json_file cfg(detail::join_path(dir, "config.json"));
  auto c = distilbert_config::from_json(cfg);
  auto r = safetensors::reader::open(bert_model::weights_path(dir));
  auto m = std::make_shared<distilbert_model>(c);
  m->load_weights(r);
  m->raw_config_ = cfg.text();
  m->loaded_config_ = c;
  return m;
}

SBERT_INLINE at::Tensor distilbert_model::forward(const at::Tensor& input_ids,
                                                  const at::Tensor& attention_mask,
                                                  const at::Tensor&,
                                                  std::vector<at::Tensor>* hidden_states) {
  if (input_ids.size(1) > config_.max_position_embeddings)
    throw model_error("distilbert_model: sequence of " + std::to_string(input_ids.size(1)) +
                      " tokens exceeds max_position_embeddings " + std::to_string(config_.max_position_embeddings));
  auto x = embeddings->forward(input_ids);
  auto mask = attention_mask.defined() ? attention_mask : at::ones_like(input_ids);
  auto ext = detail::additive_mask(mask, x.scalar_type());
  if (hidden_states) hidden_states->push_back(x);
  for (auto& l : layer_ptrs_) {
    x = l->forward(x, ext);
    if (hidden_states) hidden_states->push_back(x);
  }
  return x;
}

SBERT_INLINE void distilbert_model::init_weights() {
  if (config_.sinusoidal_pos_embds)
    throw model_error("distilbert_model: random init with sinusoidal_pos_embds is not supported");
  detail::init_hf_weights(*this, config_.initializer_range);
  at::NoGradGuard ng;
  if (config_.pad_token_id >= 0 && config_.pad_token_id < config_.vocab_size)
    embeddings->word_embeddings->weight[config_.pad_token_id].zero_();
}
#endif  // SBERT_DEFINITIONS

}  // namespace sbert::models
