// SPDX-License-Identifier: Apache-2.0
// MatryoshkaLoss: train every prefix of the embedding (each matryoshka dimension) with the
// base loss, so that truncated embeddings stay useful.
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

namespace detail {
/// First `dim` columns, L2-normalised (also at the full dimension, as Python's shrink does).
inline at::Tensor shrink(const at::Tensor& e, std::int64_t dim) { return unit_rows(e.narrow(-1, 0, dim)); }

/// Adds w * v into `acc` (a tensor or loss_parts, merged part by part by name).
inline void accumulate(at::Tensor& acc, const at::Tensor& v, double w) { acc = acc.defined() ? acc + w * v : w * v; }
inline void accumulate(loss_parts& acc, const loss_parts& v, double w) {
  for (const auto& [n, t] : v.parts) {
    auto it = std::find_if(acc.parts.begin(), acc.parts.end(), [&](const auto& p) { return p.first == n; });
    if (it == acc.parts.end()) acc.parts.emplace_back(n, w * t);
    else it->second = it->second + w * t;
  }
}
template <class L>
using loss_result_t = std::remove_cvref_t<decltype(std::declval<const L&>()(std::declval<std::span<const at::Tensor>>(), std::declval<const at::Tensor&>()))>;
}  // namespace detail

/// Mirrors sentence_transformers.losses.MatryoshkaLoss around any embedding loss `Base`:
/// L = sum_d w_d * Base(shrink_d(e), labels_d), where shrink_d keeps the first d dims and
/// L2-normalises (so a dot-product base loss behaves as cosine), and labels_d truncates a
/// [B, dim] vector label whose width equals the embedding's (embedding distillation).
/// Dims are sorted descending with their weights; n_dims_per_step > 0 samples that many dims
/// per call. For a GradCache base, wrap the other way round:
/// grad_cache_loss<matryoshka_loss<multiple_negatives_ranking_loss>> evaluates every dim on the
/// cached embeddings, which is what Python's CachedLossDecorator does.
template <class Base>
class matryoshka_loss {
  static_assert(EmbeddingLoss<Base>,
                "matryoshka_loss<Base>: Base must be an embedding loss (operator()(embeddings, labels)); for a "
                "GradCache loss use grad_cache_loss<matryoshka_loss<Core>> instead");

 public:
  struct options {
    std::vector<std::int64_t> dims{};   // required
    std::vector<double> weights{};      // empty: all 1
    int n_dims_per_step = -1;         // -1: every dim every call
    std::uint64_t seed = 42;          // for n_dims_per_step sampling
  };
  static constexpr inputs_spec inputs = Base::inputs;
  static constexpr std::string_view name = "MatryoshkaLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{kusupati2024matryoshka,
    title={Matryoshka Representation Learning},
    author={Aditya Kusupati and Gantavya Bhatt and Aniket Rege and Matthew Wallingford and Aditya Sinha and Vivek Ramanujan and William Howard-Snyder and Kaifeng Chen and Sham Kakade and Prateek Jain and Ali Farhadi},
    year={2024},
    eprint={2205.13147},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
})bib";
  using result_type = detail::loss_result_t<Base>;

  matryoshka_loss(Base base, options o) : base_(std::move(base)), opts_(std::move(o)), rng_(opts_.seed) {
    if (opts_.dims.empty()) throw error("MatryoshkaLoss: matryoshka_dims must not be empty");
    for (auto d : opts_.dims)
      if (d <= 0) throw error("MatryoshkaLoss: every matryoshka dim must be positive, got " + std::to_string(d));
    if (opts_.weights.empty()) opts_.weights.assign(opts_.dims.size(), 1.0);
    if (opts_.weights.size() != opts_.dims.size())
      throw error("MatryoshkaLoss: matryoshka_weights must have as many entries as matryoshka_dims");
    std::vector<std::size_t> order(opts_.dims.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return opts_.dims[a] > opts_.dims[b]; });
    std::vector<std::int64_t> d;
    std::vector<double> w;
    for (auto i : order) {
      d.push_back(opts_.dims[i]);
      w.push_back(opts_.weights[i]);
    }
    opts_.dims = std::move(d);
    opts_.weights = std::move(w);
  }

  [[nodiscard]] result_type operator()(std::span<const at::Tensor> e, const at::Tensor& labels) const {
    const auto full = e[0].size(-1);
    std::vector<std::size_t> idx(opts_.dims.size());
    std::iota(idx.begin(), idx.end(), 0);
    if (opts_.n_dims_per_step > 0 && static_cast<std::size_t>(opts_.n_dims_per_step) < idx.size()) {
      std::shuffle(idx.begin(), idx.end(), rng_);
      idx.resize(static_cast<std::size_t>(opts_.n_dims_per_step));
      std::sort(idx.begin(), idx.end());
    }
    result_type acc{};
    std::vector<at::Tensor> shrunk(e.size());
    for (auto i : idx) {
      const auto d = opts_.dims[i];
      if (d > full)
        throw error("MatryoshkaLoss: matryoshka dim " + std::to_string(d) + " exceeds the embedding dimension " + std::to_string(full));
      for (std::size_t c = 0; c < e.size(); ++c) shrunk[c] = detail::shrink(e[c], d);
      const bool vector_label = labels.defined() && labels.dim() == 2 && labels.size(1) == full && labels.is_floating_point();
      const auto y = vector_label ? labels.narrow(1, 0, d) : labels;
      detail::accumulate(acc, base_(shrunk, y), opts_.weights[i]);
    }
    return acc;
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
    std::string d = "[", w = "[";
    for (std::size_t i = 0; i < opts_.dims.size(); ++i) {
      d += (i ? ", " : "") + std::to_string(opts_.dims[i]);
      w += (i ? ", " : "") + detail::json_number(opts_.weights[i]);
    }
    return {{"loss", "\"" + std::string(Base::name) + "\""},
            {"matryoshka_dims", d + "]"},
            {"matryoshka_weights", w + "]"},
            {"n_dims_per_step", std::to_string(opts_.n_dims_per_step)}};
  }
  /// Moves the base loss's own weights (the trainer calls it with the model's device).
  void to(const at::Device& d)
    requires requires(Base& b, const at::Device& dev) { b.to(dev); }
  {
    base_.to(d);
  }
  [[nodiscard]] const Base& base() const { return base_; }
  [[nodiscard]] const options& opts() const { return opts_; }

 private:
  Base base_;
  options opts_;
  mutable std::mt19937_64 rng_;
};

}  // namespace sbert
