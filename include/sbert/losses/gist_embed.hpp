// SPDX-License-Identifier: Apache-2.0
// GISTEmbedLoss: in-batch negatives with a guide model that masks out likely false negatives.
#pragma once
#include <cmath>
#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/eye.h>
#include <c10/core/GradMode.h>

#include <sbert/distributed/gather.hpp>
#include <sbert/error.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// How GIST decides that an in-batch candidate is a false negative.
enum class gist_margin { absolute, relative };

/// The guide's embedding of one column's tokenized batch (computed without gradient).
using guide_embedder = std::function<at::Tensor(std::size_t column, const models::features&)>;

/// The guide model as a guide_embedder. It reads the *same token ids* as the trained model, so
/// the two must share the tokenizer (vocabulary and max_seq_length); with a different
/// tokenizer pass your own guide_embedder (e.g. looking up guide embeddings computed from the
/// texts beforehand). The guide runs in eval mode, without gradient.
[[nodiscard]] inline guide_embedder guide_model(std::shared_ptr<models::sentence_transformer> guide) {
  if (!guide) throw error("GISTEmbedLoss: the guide model is null");
  guide->eval();
  return [guide](std::size_t, const models::features& f) {
    c10::NoGradGuard no_grad;
    models::features x;
    const auto dev = guide->device();
    x.input_ids = f.input_ids.to(dev);
    if (f.attention_mask.defined()) x.attention_mask = f.attention_mask.to(dev);
    if (f.token_type_ids.defined()) x.token_type_ids = f.token_type_ids.to(dev);
    x.prompt_length = f.prompt_length;
    guide->forward(x);
    return x.sentence_embedding;
  };
}

struct gist_options {
  double temperature = 0.01;
  gist_margin margin_strategy = gist_margin::absolute;
  double margin = 0.0;
  bool contrast_anchors = true;
  bool contrast_positives = true;
  /// In a distributed run, every rank's positives, negatives and (for the anchor-anchor block)
  /// anchors are candidates for this rank's anchors (all_gather_with_grad), and so are their
  /// guide embeddings (gathered without gradient), so the false-negative filter compares with
  /// the guide similarities of the global batch: N ranks of batch b train as one process over
  /// N*b. No effect alone. (Python v5's flag; 5.x's CachedGIST keeps its anchor-anchor block
  /// local, this one gathers it so the global-batch equality holds.)
  bool gather_across_devices = false;
};

namespace detail {
/// GIST's scores for embeddings e = (anchor, positive, negatives...) and the guide's g of the
/// same shapes: blocks anchor-positive, [anchor-anchor], [positive-positive], anchor-negative
/// per negative column, each with the entries whose guide similarity exceeds the anchor's
/// guide threshold t_i = g_cos(a_i, p_i) (minus the margin) set to -inf, except the true
/// anchor-positive diagonal. The relative rule is v6's t_i - |t_i| * margin (5.x's t_i * (1 -
/// margin) inverts the margin for negative thresholds).
inline at::Tensor gist_loss_from(std::span<const at::Tensor> e, std::span<const at::Tensor> g, const gist_options& o) {
  if (e.size() != g.size()) throw error("GISTEmbedLoss: the guide gave a different number of columns");
  const auto b = e[0].size(0);
  // The candidates and their guide embeddings: every rank's rows with gather_across_devices
  // (each gathered on every rank, even an empty column: the gathers are collectives), this
  // rank's otherwise. `offset` is where this rank's rows start among them.
  std::int64_t offset = 0;
  std::vector<at::Tensor> all(e.begin(), e.end()), all_g(g.begin(), g.end());
  if (o.gather_across_devices)
    for (std::size_t i = 0; i < e.size(); ++i) {
      if (i == 0 && !o.contrast_anchors) continue;
      all[i] = distributed::all_gather_with_grad(e[i], i == 1 ? &offset : nullptr);
      all_g[i] = distributed::all_gather_with_grad(g[i].detach());
    }
  // The guide similarity of each anchor to its own positive (row-wise, this rank's rows).
  const auto t = cos_sim(g[0], g[1]).diagonal().unsqueeze(1).to(e[0].scalar_type());
  const auto threshold = o.margin_strategy == gist_margin::absolute ? t - o.margin : t - t.abs() * o.margin;
  const double inf = std::numeric_limits<double>::infinity();
  auto masked = [&](const at::Tensor& x, const at::Tensor& y, const at::Tensor& gx, const at::Tensor& gy, bool protect_diagonal) {
    auto mask = cos_sim(gx, gy).to(threshold.scalar_type()) > threshold;
    if (protect_diagonal) {  // anchor i's own positive is candidate offset + i
      const auto rows = at::arange(mask.size(0), mask.options().dtype(at::kLong)).unsqueeze(1);
      const auto cols = at::arange(mask.size(1), mask.options().dtype(at::kLong)).unsqueeze(0);
      mask = mask & (cols != rows + offset);
    }
    return cos_sim(x, y).masked_fill(mask, -inf);
  };
  std::vector<at::Tensor> blocks{masked(e[0], all[1], g[0], all_g[1], true)};
  if (o.contrast_anchors) blocks.push_back(masked(e[0], all[0], g[0], all_g[0], false));
  if (o.contrast_positives) blocks.push_back(masked(e[1], all[1], g[1], all_g[1], false));
  for (std::size_t i = 2; i < e.size(); ++i)
    if (all[i].size(0) > 0) blocks.push_back(masked(e[0], all[i], g[0], all_g[i], false));
  const auto scores = at::cat(blocks, 1) / o.temperature;
  return at::cross_entropy_loss(scores, at::arange(offset, offset + b, scores.options().dtype(at::kLong)));
}

/// The guide's embeddings of every column; with `chunk` > 0 in mini-batches of that many rows
/// (the cached loss keeps the guide's memory flat too).
inline std::vector<at::Tensor> guide_embeddings(const guide_embedder& guide, std::span<models::features> f, std::int64_t dim_hint,
                                                const c10::Device& dev, std::int64_t chunk = 0) {
  std::vector<at::Tensor> g;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (!f[i].input_ids.defined() || f[i].input_ids.size(0) == 0) {
      g.push_back(at::empty({0, dim_hint}, at::TensorOptions().device(dev)));
      continue;
    }
    const auto rows = f[i].input_ids.size(0);
    if (chunk <= 0 || chunk >= rows) {
      g.push_back(guide(i, f[i]).detach().to(dev));
      continue;
    }
    std::vector<at::Tensor> parts;
    for (std::int64_t s = 0; s < rows; s += chunk) {
      const auto n = std::min(chunk, rows - s);
      models::features x;
      x.input_ids = f[i].input_ids.narrow(0, s, n);
      if (f[i].attention_mask.defined()) x.attention_mask = f[i].attention_mask.narrow(0, s, n);
      if (f[i].token_type_ids.defined()) x.token_type_ids = f[i].token_type_ids.narrow(0, s, n);
      x.prompt_length = f[i].prompt_length;
      parts.push_back(guide(i, x).detach().to(dev));
    }
    g.push_back(at::cat(parts, 0));
  }
  return g;
}

inline config_entries gist_config(const gist_options& o) {
  config_entries c{{"guide", "\"SentenceTransformer\""},
                   {"temperature", json_number(o.temperature)},
                   {"margin_strategy", o.margin_strategy == gist_margin::absolute ? "\"absolute\"" : "\"relative\""},
                   {"margin", json_number(o.margin)},
                   {"contrast_anchors", o.contrast_anchors ? "true" : "false"},
                   {"contrast_positives", o.contrast_positives ? "true" : "false"}};
  if (o.gather_across_devices) c.emplace_back("gather_across_devices", "true");
  return c;
}

/// GIST as an embedding loss whose guide embeddings are prepared per batch (the GradCache
/// core of cached_gist_embed_loss).
class gist_core {
 public:
  static constexpr inputs_spec inputs{.texts = at_least(2), .labels = label_kind::none, .text_list = true,
                                      .roles = roles::ranking};
  static constexpr std::string_view name = "CachedGISTEmbedLoss";
  gist_core(guide_embedder guide, gist_options o, std::int64_t guide_mini_batch = 0)
      : guide_(std::move(guide)), opts_(o), chunk_(guide_mini_batch) {}
  void prepare(models::sentence_transformer& m, std::span<models::features> f) const {
    guides_ = guide_embeddings(guide_, f, m.embedding_dimension(), m.device(), chunk_);
  }
  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& /*labels*/) const {
    return gist_loss_from(e, guides_, opts_);
  }
  [[nodiscard]] config_entries config() const { return gist_config(opts_); }

 private:
  guide_embedder guide_;
  gist_options opts_;
  std::int64_t chunk_ = 0;
  mutable std::vector<at::Tensor> guides_;
};
}  // namespace detail

/// Mirrors sentence_transformers.losses.GISTEmbedLoss (with v6's relative-margin rule).
/// Inputs: (anchor, positive) or (anchor, positive, negative); no label. A feature loss: it runs
/// the trained model on each column with gradient and the guide without.
class gist_embed_loss {
 public:
  static constexpr inputs_spec inputs{.texts = between(2, 3), .labels = label_kind::none, .roles = roles::ranking};
  static constexpr std::string_view name = "GISTEmbedLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@misc{solatorio2024gistembed,
    title={GISTEmbed: Guided In-sample Selection of Training Negatives for Text Embedding Fine-tuning},
    author={Aivin V. Solatorio},
    year={2024},
    eprint={2402.16829},
    archivePrefix={arXiv},
    primaryClass={cs.LG}
})bib";

  gist_embed_loss(std::shared_ptr<models::sentence_transformer> guide, gist_options o = {}) : gist_embed_loss(guide_model(std::move(guide)), o) {}
  gist_embed_loss(guide_embedder guide, gist_options o = {}) : guide_(std::move(guide)), opts_(o) {
    if (!guide_) throw error("GISTEmbedLoss: no guide");
  }

  [[nodiscard]] at::Tensor operator()(models::sentence_transformer& m, std::span<models::features> f, const at::Tensor& /*labels*/) const {
    const auto g = detail::guide_embeddings(guide_, f, m.embedding_dimension(), m.device());
    std::vector<at::Tensor> e;
    for (auto& x : f) {
      m.forward(x);
      e.push_back(x.sentence_embedding);
    }
    return detail::gist_loss_from(e, g, opts_);
  }
  /// The formula on embeddings the caller computed (model and guide).
  [[nodiscard]] at::Tensor from_embeddings(std::span<const at::Tensor> e, std::span<const at::Tensor> guide) const {
    return detail::gist_loss_from(e, guide, opts_);
  }
  [[nodiscard]] config_entries config() const { return detail::gist_config(opts_); }

 private:
  guide_embedder guide_;
  gist_options opts_;
};

}  // namespace sbert
