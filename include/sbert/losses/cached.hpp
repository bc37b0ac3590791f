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

#include <ATen/core/Reduction.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>

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

/// The cached loss's BibTeX for the model card: the core's own (MatryoshkaLoss or
/// MegaBatchMarginLoss computed with GradCache keep their name and citation), GradCache's paper
/// for CachedMultipleNegativesRankingLoss, none where the core has none (Python's
/// CachedMultipleNegativesSymmetricRankingLoss and CachedGISTEmbedLoss declare no citation).
template <class Core>
struct cached_citation {
  static constexpr std::string_view value{};
};
template <class Core>
  requires requires { Core::citation; }
struct cached_citation<Core> {
  static constexpr std::string_view value = Core::citation;
};
template <>
struct cached_citation<multiple_negatives_ranking_loss> {
  static constexpr std::string_view value = R"bib(@misc{gao2021scaling,
    title={Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup},
    author={Luyu Gao and Yunyi Zhang and Jiawei Han and Jamie Callan},
    year={2021},
    eprint={2101.06983},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
})bib";
};

inline at::Tensor candidates_of(std::span<const at::Tensor> e) {
  return e.size() == 2 ? e[1] : at::cat(std::vector<at::Tensor>(e.begin() + 1, e.end()), 0);
}

/// MNRL is a mean over anchors of CE(scale * sim(a_i, candidates), i). With
/// gather_across_devices the candidate columns come from every rank and anchor i's target is
/// its positive's place among them (offset + i), as in the uncached loss.
template <>
struct anchor_chunks<multiple_negatives_ranking_loss> {
  static constexpr bool enabled = true;
  static bool gathers(const multiple_negatives_ranking_loss& l, std::size_t column) {
    return l.opts().gather_across_devices && column > 0;
  }
  static at::Tensor part(const multiple_negatives_ranking_loss& l, const chunk_view& v, const at::Tensor&, std::int64_t s,
                         std::int64_t n) {
    const auto b = static_cast<double>(v.local[0].size(0));
    const auto scores = similarity(l.opts().similarity, v.local[0].narrow(0, s, n), candidates_of(v.all)) * l.opts().scale;
    const auto target = at::arange(v.offset + s, v.offset + s + n, scores.options().dtype(at::kLong));
    return at::cross_entropy_loss(scores, target, {}, at::Reduction::Sum) / b;
  }
};
/// MNSRL: the anchor rows' forward terms plus the backward terms of the positives with the
/// same indices (sim is symmetric, so sim(p_j, anchors) is column j of sim(anchors, p)). With
/// gather_across_devices every column is gathered: this rank's anchors against every rank's
/// candidates, this rank's positives against every rank's anchors.
template <>
struct anchor_chunks<multiple_negatives_symmetric_ranking_loss> {
  static constexpr bool enabled = true;
  static bool gathers(const multiple_negatives_symmetric_ranking_loss& l, std::size_t) { return l.opts().gather_across_devices; }
  static at::Tensor part(const multiple_negatives_symmetric_ranking_loss& l, const chunk_view& v, const at::Tensor&, std::int64_t s,
                         std::int64_t n) {
    const auto b = static_cast<double>(v.local[0].size(0));
    const auto& o = l.opts();
    const auto target = at::arange(v.offset + s, v.offset + s + n, v.local[0].options().dtype(at::kLong));
    const auto fwd = similarity(o.similarity, v.local[0].narrow(0, s, n), candidates_of(v.all)) * o.scale;
    const auto bwd = similarity(o.similarity, v.local[1].narrow(0, s, n), v.all[0]) * o.scale;
    return (at::cross_entropy_loss(fwd, target, {}, at::Reduction::Sum) + at::cross_entropy_loss(bwd, target, {}, at::Reduction::Sum)) /
           (2 * b);
  }
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
  /// BibTeX for the model card (empty: none).
  static constexpr std::string_view citation = detail::cached_citation<Core>::value;

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
  /// The base loss's module, so its weights keep their names (and decay split) when wrapped.
  [[nodiscard]] std::shared_ptr<torch::nn::Module> module() const
    requires HasModule<Core>
  {
    return core_.module();
  }
  [[nodiscard]] config_entries config() const {
    auto c = core_.config();
    c.emplace_back("mini_batch_size", std::to_string(opts_.mini_batch_size));
    return c;
  }
  /// Moves the core loss's own weights (the trainer calls it with the model's device).
  void to(const at::Device& d)
    requires requires(Core& b, const at::Device& dev) { b.to(dev); }
  {
    core_.to(d);
  }
  [[nodiscard]] const Core& core() const { return core_; }

 private:
  Core core_{};
  options opts_{};
};

/// Mirrors CachedMultipleNegativesRankingLoss (mini_batch_size 32 by default). Python's
/// gather_across_devices is the core's option, listed in config() through the core's:
///     using mnrl = multiple_negatives_ranking_loss;
///     cached_multiple_negatives_ranking_loss loss{mnrl{{.gather_across_devices = true}}, {.mini_batch_size = 32}};
/// Step 2 then scores this rank's anchors against every rank's candidates, as the uncached
/// loss does, and N ranks of batch b train as one process over N*b.
using cached_multiple_negatives_ranking_loss = grad_cache_loss<multiple_negatives_ranking_loss>;
/// Mirrors CachedMultipleNegativesSymmetricRankingLoss; gather_across_devices as above (the
/// core's option; every column, anchors included, is gathered).
using cached_multiple_negatives_symmetric_ranking_loss = grad_cache_loss<multiple_negatives_symmetric_ranking_loss>;

/// Mirrors CachedGISTEmbedLoss: (anchor, positive, negatives...) with a guide (v6 relative rule).
/// gist_options::gather_across_devices gathers the embeddings and the guide's in step 2.
class cached_gist_embed_loss : public grad_cache_loss<detail::gist_core> {
 public:
  cached_gist_embed_loss(std::shared_ptr<models::sentence_transformer> guide, gist_options o = {}, std::int64_t mini_batch_size = 32)
      : grad_cache_loss(detail::gist_core(guide_model(std::move(guide)), o, mini_batch_size), {mini_batch_size}) {}
  cached_gist_embed_loss(guide_embedder guide, gist_options o = {}, std::int64_t mini_batch_size = 32)
      : grad_cache_loss(detail::gist_core(std::move(guide), o, mini_batch_size), {mini_batch_size}) {}
};

}  // namespace sbert
