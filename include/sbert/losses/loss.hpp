// SPDX-License-Identifier: Apache-2.0
// What a loss is to sbert. Most losses are *embedding losses*: a callable
//     at::Tensor operator()(std::span<const at::Tensor> embeddings, const at::Tensor& labels) const
// getting one [rows, dim] embedding tensor per input column (in schema order; a text-list column
// arrives flattened) and the label tensor (float [B] scores, int64 [B] classes, float [B, D]
// vectors, or undefined). Losses that drive the model themselves (GradCache, Matryoshka over
// the model, adaptive layers) are *feature losses* instead; see FeatureLoss.
// Every loss also declares `static constexpr inputs_spec inputs` (checked against the data
// set's schema at compile time), `name` (the Python class name, for model cards and logs) and
// `config()` (its settings as JSON values, as get_config_dict()).
#pragma once
#include <concepts>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>

#include <sbert/concepts.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

namespace models {
class sentence_transformer;
struct features;
}  // namespace models
}  // namespace sbert
namespace torch::nn {
class Module;
}  // namespace torch::nn
namespace sbert {

/// A loss made of named parts (e.g. a regulariser next to the main term): the trainer sums the
/// parts and logs each one under its name.
struct loss_parts {
  std::vector<std::pair<std::string, at::Tensor>> parts;
  [[nodiscard]] at::Tensor total() const {
    at::Tensor t;
    for (const auto& [n, v] : parts) t = t.defined() ? t + v : v;
    return t;
  }
};

/// Settings of a loss as (key, JSON literal) pairs, in Python's get_config_dict() order.
using config_entries = std::vector<std::pair<std::string, std::string>>;

template <class L>
concept EmbeddingLoss = DeclaresInputs<L> && requires(const L& l, std::span<const at::Tensor> e, const at::Tensor& y) {
  { l(e, y) };
  requires std::same_as<std::remove_cvref_t<decltype(l(e, y))>, at::Tensor> ||
           std::same_as<std::remove_cvref_t<decltype(l(e, y))>, loss_parts>;
};

/// A loss that drives the model itself, called by the trainer as
///     loss(model, std::span<models::features> per_column_features, labels)
/// with one tokenized batch per input column (an empty text-list column arrives as features
/// with undefined input_ids). It returns a scalar tensor (or loss_parts) on which the caller
/// simply calls backward(): every parameter gradient is then in place, as for an embedding
/// loss. The GradCache losses (cached.hpp) keep that contract through an autograd node
/// (torch::autograd::Function) whose backward re-embeds the mini-batches and back-propagates
/// through the model, accumulating into the parameters' .grad; so use backward() (or a loss
/// built from the returned value, e.g. scaled by 1 / accumulation steps), not
/// torch::autograd::grad() with explicit inputs, on them. Under NoGradGuard they only compute
/// the value. Feature losses may write into the features (embeddings, hidden states).
template <class L>
concept FeatureLoss = DeclaresInputs<L> &&
    requires(L& l, models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& y) {
      { l(m, f, y) };
    };

/// A loss with trainable parameters of its own (SoftmaxLoss's classifier): the trainer adds
/// them to the optimizer.
template <class L>
concept HasParameters = requires(const L& l) {
  { l.parameters() } -> std::convertible_to<std::vector<at::Tensor>>;
};

/// A loss that keeps its learnable weights in a torch::nn::Module, returned by module() (or the
/// loss is itself a torch::nn::Module): the trainer optimises them under the module's own
/// names ("classifier.weight"), so the no-decay rule for biases holds, moves them with
/// module->to(device), and a copy of the loss shares them (one set of weights, one optimizer
/// slot each, however many data sets use it).
template <class L>
concept HasModule = requires(const L& l) {
  { l.module() } -> std::convertible_to<std::shared_ptr<torch::nn::Module>>;
};

/// Every loss has a name: the Python class name for a port (the logs, the model card and the
/// multi-dataset trainer's per-loss lines show it).
template <class L>
concept NamedLoss = requires {
  { L::name } -> std::convertible_to<std::string_view>;
} || unsatisfied<"a loss needs a name: add `static constexpr std::string_view name = \"MyLoss\";` to the loss type (the Python class name for a port; logs and the model card show it)">();

/// Callable the way the trainer calls a loss (the embedding or the feature form).
template <class L>
concept CallableLoss = EmbeddingLoss<L> || FeatureLoss<L> ||
    unsatisfied<"the loss type is not a loss: it needs `static constexpr sbert::inputs_spec inputs` and an operator()(std::span<const at::Tensor> embeddings, const at::Tensor& labels) (or the feature-loss form); see examples/custom_loss.cpp">();

template <class L>
concept Loss = (EmbeddingLoss<L> || FeatureLoss<L>) && NamedLoss<L>;

/// The trainers' check of a loss type: one static_assert per rule, so a type that breaks both
/// gets both messages in one compile.
template <class L>
constexpr void check_loss() {
  static_assert(CallableLoss<L>, "sbert: the loss type is not a loss; see the note below");
  static_assert(NamedLoss<L>, "sbert: the loss type has no name; see the note below");
}

namespace detail {
inline std::string json_number(double v) {
  std::string s = std::to_string(v);
  // trim trailing zeros of the fixed notation ("20.000000" -> "20.0")
  if (auto dot = s.find('.'); dot != std::string::npos) {
    while (s.size() > dot + 2 && s.back() == '0') s.pop_back();
  }
  return s;
}
}  // namespace detail

/// The Python function name of a similarity, as get_config_dict() shows it ("cos_sim", ...).
[[nodiscard]] inline std::string_view similarity_fct_name(similarity_function f, bool pairwise = false) {
  switch (f) {
    case similarity_function::cosine: return pairwise ? "pairwise_cos_sim" : "cos_sim";
    case similarity_function::dot: return pairwise ? "pairwise_dot_score" : "dot_score";
    case similarity_function::euclidean: return pairwise ? "pairwise_euclidean_sim" : "euclidean_sim";
    case similarity_function::manhattan: return pairwise ? "pairwise_manhattan_sim" : "manhattan_sim";
  }
  return "cos_sim";
}

}  // namespace sbert
