// SPDX-License-Identifier: Apache-2.0
// MegaBatchMarginLoss: per anchor, a margin on its positive and on the hardest in-batch
// negative positive.
#pragma once
#include <span>

#include <ATen/core/Tensor.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/relu.h>

#include <sbert/distributed/gather.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/util/similarity.hpp>

namespace sbert {

/// Mirrors sentence_transformers.losses.MegaBatchMarginLoss with v6's semantics. Inputs:
/// (anchor, positive); no label. S = cos_sim(anchors, positives); the hardest negative of
/// anchor i is max_{j != i} S_ij; loss = mean_i(relu(pm - S_ii) + relu(S_i,hard - nm)).
///
/// This is the full-batch value. Python 5.x's default "mini-batched version" returns (and
/// back-propagates) only the last mini-batch whenever the batch is larger than
/// mini_batch_size (a bug); v6 computes the full-batch mean on the GradCache engine, and so
/// does sbert: for big batches wrap it as grad_cache_loss<mega_batch_margin_loss> (see
/// cached.hpp), which gives this value with flat memory.
///
/// With gather_across_devices (in a distributed run) the hardest negative of each of this
/// rank's anchors is mined over every rank's positives (all_gather_with_grad). The loss is a
/// mean over this rank's anchors; the trainer's mean over ranks then is the mean over the
/// global batch (equal per-rank batches), so N ranks of batch b train as one process over N*b
/// — cached (grad_cache_loss<mega_batch_margin_loss>) or not.
class mega_batch_margin_loss {
 public:
  struct options {
    double positive_margin = 0.8;
    double negative_margin = 0.3;
    /// Mine the hardest negative among every rank's positives (no effect in one process).
    bool gather_across_devices = false;
  };
  static constexpr inputs_spec inputs{.texts = exactly(2), .labels = label_kind::none, .roles = roles::positive_pair};
  static constexpr std::string_view name = "MegaBatchMarginLoss";
  /// BibTeX for the model card.
  static constexpr std::string_view citation = R"bib(@inproceedings{wieting-gimpel-2018-paranmt,
    title = "{P}ara{NMT}-50{M}: Pushing the Limits of Paraphrastic Sentence Embeddings with Millions of Machine Translations",
    author = "Wieting, John and Gimpel, Kevin",
    editor = "Gurevych, Iryna and Miyao, Yusuke",
    booktitle = "Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics (Volume 1: Long Papers)",
    month = jul,
    year = "2018",
    address = "Melbourne, Australia",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/P18-1042",
    doi = "10.18653/v1/P18-1042",
    pages = "451--462",
})bib";

  mega_batch_margin_loss() = default;
  explicit mega_batch_margin_loss(options o) : opts_(o) {}

  [[nodiscard]] at::Tensor operator()(std::span<const at::Tensor> e, const at::Tensor& /*labels*/) const {
    std::int64_t offset = 0;  // where this rank's positives start among the candidates
    const auto positives = opts_.gather_across_devices ? distributed::all_gather_with_grad(e[1], &offset) : e[1];
    const auto s = cos_sim(e[0], positives);
    // Anchor i's own positive (column offset + i) is pushed below every cosine before the max.
    const auto rows = at::arange(s.size(0), s.options().dtype(at::kLong));
    const auto own = at::arange(s.size(1), s.options().dtype(at::kLong)).unsqueeze(0) == (rows + offset).unsqueeze(1);
    const auto hardest = std::get<0>((s - 2 * own.to(s.scalar_type())).max(1));
    const auto pos = s.narrow(1, offset, s.size(0)).diagonal();
    return (at::relu(opts_.positive_margin - pos) + at::relu(hardest - opts_.negative_margin)).mean();
  }
  [[nodiscard]] config_entries config() const {
    config_entries c{{"positive_margin", detail::json_number(opts_.positive_margin)},
                     {"negative_margin", detail::json_number(opts_.negative_margin)}};
    if (opts_.gather_across_devices) c.emplace_back("gather_across_devices", "true");
    return c;
  }
  [[nodiscard]] const options& opts() const { return opts_; }

 private:
  options opts_{};
};

}  // namespace sbert
