// SPDX-License-Identifier: Apache-2.0
// AdaptiveLayerLoss and Matryoshka2dLoss: train the earlier encoder layers too, so a model can
// be cut to fewer layers (2D Matryoshka Sentence Embeddings, Li et al. 2024).
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Reduction.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/kl_div.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/softmax.h>

#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/models/sentence_transformer.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.AdaptiveLayerLoss around any embedding loss `Base`
/// (a feature loss: it needs every layer's output). The model runs once per column with
/// output_hidden_states; then
///   L = last_layer_weight * Base(final)
///     + sum over the chosen earlier layers l of prior_layers_weight * Base(layer l) / (1 + l) / n
///     + (kl_temperature > 0) kl_div_weight * T * KL(softmax(final / T) || softmax(layer l / T)),
/// where "layer l" (l = 0 .. L - 2 for an L-layer encoder) means the model's modules after the
/// transformer (pooling, dense, ...) run on the output of encoder layer l + 1: the embedding
/// output and the final layer are not candidates (5.x; v6's rewrite also counts the embedding
/// output, which the reference values do not). The KL term uses every column's embeddings
/// stacked (batchmean). With 0 < n_layers_per_step < L - 1, that many layers are drawn at
/// random per call.
template <class Base>
class adaptive_layer_loss {
  static_assert(EmbeddingLoss<Base>, "adaptive_layer_loss<Base>: Base must be an embedding loss; cached (GradCache) losses are not supported, as in Python");

 public:
  struct options {
    int n_layers_per_step = 1;
    double last_layer_weight = 1.0;
    double prior_layers_weight = 1.0;
    double kl_div_weight = 1.0;
    double kl_temperature = 0.3;
    std::uint64_t seed = 42;
  };
  static constexpr inputs_spec inputs = Base::inputs;
  static constexpr std::string_view name = "AdaptiveLayerLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{li20242d,
    title={2D Matryoshka Sentence Embeddings},
    author={Xianming Li and Zongxi Li and Jing Li and Haoran Xie and Qing Li},
    year={2024},
    eprint={2402.14776},
    archivePrefix={arXiv},
    primaryClass={cs.CL}
})bib";

  explicit adaptive_layer_loss(Base base) : adaptive_layer_loss(std::move(base), options{}) {}
  adaptive_layer_loss(Base base, options o) : base_(std::move(base)), opts_(o), rng_(o.seed) {}

  [[nodiscard]] at::Tensor operator()(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& labels) const {
    const auto& mods = m.modules_list();
    std::vector<at::Tensor> final_emb;
    std::size_t layers = 0;
    for (auto& x : f) {
      x.output_hidden_states = true;
      m.forward(x);
      final_emb.push_back(x.sentence_embedding);
      if (layers == 0) layers = x.all_layer_embeddings.size();
      else if (layers != x.all_layer_embeddings.size()) throw error("AdaptiveLayerLoss: columns report different layer counts");
    }
    if (layers < 2) throw error("AdaptiveLayerLoss: the encoder reported no per-layer outputs (output_hidden_states)");
    // all_layer_embeddings = embedding output, layer 1, ..., layer L: candidates are 1 .. L - 1.
    at::Tensor loss = total(base_(final_emb, labels)) * opts_.last_layer_weight;
    const double t = opts_.kl_temperature;
    at::Tensor final_probs;
    if (t > 0) final_probs = at::softmax(cat_rows(final_emb) / t, -1);

    std::vector<std::size_t> idx(layers - 2);
    std::iota(idx.begin(), idx.end(), 0);
    if (opts_.n_layers_per_step > 0 && static_cast<std::size_t>(opts_.n_layers_per_step) < idx.size()) {
      std::shuffle(idx.begin(), idx.end(), rng_);
      idx.resize(static_cast<std::size_t>(opts_.n_layers_per_step));
    }
    for (auto l : idx) {
      std::vector<at::Tensor> emb;
      for (auto& x : f) {
        models::features y;
        y.input_ids = x.input_ids;
        y.attention_mask = x.attention_mask;
        y.token_type_ids = x.token_type_ids;
        y.prompt_length = x.prompt_length;
        y.token_embeddings = x.all_layer_embeddings[l + 1];
        for (std::size_t k = 1; k < mods.size(); ++k) mods[k]->forward(y);
        emb.push_back(y.sentence_embedding);
      }
      loss = loss + total(base_(emb, labels)) / static_cast<double>(1 + l) / static_cast<double>(idx.size()) * opts_.prior_layers_weight;
      if (t > 0) {
        const auto rows = static_cast<double>(final_probs.size(0));
        const auto kl = at::kl_div(at::log_softmax(cat_rows(emb) / t, -1), final_probs, at::Reduction::Sum) / rows;
        loss = loss + kl * t * opts_.kl_div_weight;
      }
    }
    for (auto& x : f) x.all_layer_embeddings.clear();
    return loss;
  }

  [[nodiscard]] std::vector<at::Tensor> parameters() const {
    if constexpr (HasParameters<Base>) return base_.parameters();
    else return {};
  }
  /// The base loss's module, so its weights keep their names (and decay split) when wrapped.
  [[nodiscard]] std::shared_ptr<torch::nn::Module> module() const
    requires HasModule<Base>
  {
    return base_.module();
  }
  [[nodiscard]] config_entries config() const {
    return {{"loss", "\"" + std::string(Base::name) + "\""},
            {"n_layers_per_step", std::to_string(opts_.n_layers_per_step)},
            {"last_layer_weight", detail::json_number(opts_.last_layer_weight)},
            {"prior_layers_weight", detail::json_number(opts_.prior_layers_weight)},
            {"kl_div_weight", detail::json_number(opts_.kl_div_weight)},
            {"kl_temperature", detail::json_number(opts_.kl_temperature)}};
  }
  /// Moves the base loss's own weights (the trainer calls it with the model's device).
  void to(const at::Device& d)
    requires requires(Base& b, const at::Device& dev) { b.to(dev); }
  {
    base_.to(d);
  }
  [[nodiscard]] const Base& base() const { return base_; }

 private:
  static at::Tensor total(const at::Tensor& t) { return t; }
  static at::Tensor total(const loss_parts& p) { return p.total(); }
  static at::Tensor cat_rows(const std::vector<at::Tensor>& v) { return v.size() == 1 ? v[0] : at::cat(v, 0); }

  Base base_;
  options opts_;
  mutable std::mt19937_64 rng_;
};

/// Mirrors sentence_transformers.losses.Matryoshka2dLoss: AdaptiveLayerLoss over MatryoshkaLoss,
/// by default one random layer and one random dimension per step (the code's defaults; the
/// Python docstring's -1 is wrong).
template <class Base>
class matryoshka_2d_loss : public adaptive_layer_loss<matryoshka_loss<Base>> {
 public:
  struct options {
    std::vector<std::int64_t> dims{};
    std::vector<double> weights{};
    int n_layers_per_step = 1;
    int n_dims_per_step = 1;
    double last_layer_weight = 1.0;
    double prior_layers_weight = 1.0;
    double kl_div_weight = 1.0;
    double kl_temperature = 0.3;
    std::uint64_t seed = 42;
  };
  static constexpr std::string_view name = "Matryoshka2dLoss";
  /// BibTeX for the model card: the 2DMSE paper, as AdaptiveLayerLoss's.
  static constexpr std::string_view citation = adaptive_layer_loss<matryoshka_loss<Base>>::citation;

  matryoshka_2d_loss(Base base, options o)
      : adaptive_layer_loss<matryoshka_loss<Base>>(
            matryoshka_loss<Base>(std::move(base), {.dims = o.dims, .weights = o.weights, .n_dims_per_step = o.n_dims_per_step, .seed = o.seed}),
            {.n_layers_per_step = o.n_layers_per_step, .last_layer_weight = o.last_layer_weight,
             .prior_layers_weight = o.prior_layers_weight, .kl_div_weight = o.kl_div_weight,
             .kl_temperature = o.kl_temperature, .seed = o.seed + 1}) {}
};

}  // namespace sbert
