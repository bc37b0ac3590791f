// SPDX-License-Identifier: Apache-2.0
// The GradCache losses: CachedMultipleNegativesRankingLoss,
// CachedMultipleNegativesSymmetricRankingLoss, CachedGISTEmbedLoss, and any embedding loss
// made cached with grad_cache_loss<Core> (MegaBatchMarginLoss as v6 computes it, Matryoshka
// over a cached loss). All share the engine in detail/grad_cache.hpp.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <ATen/core/Tensor.h>

#include <sbert/losses/detail/grad_cache.hpp>
#include <sbert/losses/gist_embed.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/losses/matryoshka.hpp>
#include <sbert/losses/mega_batch_margin.hpp>
#include <sbert/losses/multiple_negatives_ranking.hpp>
#include <sbert/losses/multiple_negatives_symmetric_ranking.hpp>

namespace sbert {

namespace detail {
template <class Core>
struct cached_name {
  static constexpr std::string_view value = Core::name;
};
template <>
struct cached_name<multiple_negatives_ranking_loss> {
  static constexpr std::string_view value = "CachedMultipleNegativesRankingLoss";
};
template <>
struct cached_name<multiple_negatives_symmetric_ranking_loss> {
  static constexpr std::string_view value = "CachedMultipleNegativesSymmetricRankingLoss";
};
}  // namespace detail

/// Any embedding loss `Core` computed with GradCache: a feature loss whose value and parameter
/// gradients equal Core's on the whole batch, with the activation memory of one mini-batch of
/// `mini_batch_size` rows per column. A Core with a `prepare(model, features)` member (GIST's
/// guide) gets it called first.
template <class Core>
class grad_cache_loss {
  static_assert(EmbeddingLoss<Core>, "grad_cache_loss<Core>: Core must be an embedding loss (operator()(embeddings, labels))");

 public:
  struct options {
    std::int64_t mini_batch_size = 32;
  };
  static constexpr inputs_spec inputs = Core::inputs;
  static constexpr std::string_view name = detail::cached_name<Core>::value;

  grad_cache_loss() = default;
  explicit grad_cache_loss(Core core) : core_(std::move(core)) {}
  grad_cache_loss(Core core, options o) : core_(std::move(core)), opts_(o) {}
  explicit grad_cache_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& labels) const {
    if constexpr (requires { core_.prepare(m, f); }) core_.prepare(m, f);
    return detail::grad_cache(m, f, labels, opts_.mini_batch_size, core_);
  }
  [[nodiscard]] std::vector<at::Tensor> parameters() const {
    if constexpr (HasParameters<Core>) return core_.parameters();
    else return {};
  }
  [[nodiscard]] config_entries config() const {
    auto c = core_.config();
    c.emplace_back("mini_batch_size", std::to_string(opts_.mini_batch_size));
    return c;
  }
  [[nodiscard]] const Core& core() const { return core_; }

 private:
  Core core_{};
  options opts_{};
};

/// Mirrors CachedMultipleNegativesRankingLoss (mini_batch_size 32 by default).
using cached_multiple_negatives_ranking_loss = grad_cache_loss<multiple_negatives_ranking_loss>;
/// Mirrors CachedMultipleNegativesSymmetricRankingLoss.
using cached_multiple_negatives_symmetric_ranking_loss = grad_cache_loss<multiple_negatives_symmetric_ranking_loss>;

/// Mirrors CachedGISTEmbedLoss: (anchor, positive, negatives...) with a guide (v6 relative rule).
class cached_gist_embed_loss : public grad_cache_loss<detail::gist_core> {
 public:
  cached_gist_embed_loss(std::shared_ptr<models::sentence_transformer> guide, gist_options o = {}, std::int64_t mini_batch_size = 32)
      : grad_cache_loss(detail::gist_core(guide_model(std::move(guide)), o), {mini_batch_size}) {}
  cached_gist_embed_loss(guide_embedder guide, gist_options o = {}, std::int64_t mini_batch_size = 32)
      : grad_cache_loss(detail::gist_core(std::move(guide), o), {mini_batch_size}) {}
};

}  // namespace sbert
