// SPDX-License-Identifier: Apache-2.0
// trainer<Schema, Loss>: SentenceTransformerTrainer in C++. The constructor checks at compile
// time that the loss fits the data set's schema; the loop itself is the non-template
// detail::trainer_core, so each trainer instantiation only adds batch assembly.
//
//   sbert::trainer trainer{model, args, train, sbert::cosent_loss{}};   // CTAD
//   trainer.train();
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/samplers/group_by_label.hpp>
#include <sbert/samplers/no_duplicates.hpp>
#include <sbert/samplers/sampler.hpp>
#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>
#include <sbert/training/detail/trainer_core.hpp>

namespace sbert {

template <class L>
concept TrainableLoss = Loss<L> ||
    unsatisfied<"the loss type is not a loss: it needs `static constexpr sbert::inputs_spec inputs` and an operator()(std::span<const at::Tensor> embeddings, const at::Tensor& labels) (or the feature-loss form); see examples/custom_loss.cpp">();

namespace detail {

/// The texts of input column I for the given rows (a text-list column flattened).
template <Schema S, std::size_t I>
std::vector<std::string> column_texts(const dataset<S>& d, const std::vector<std::size_t>& rows) {
  const auto& col = std::get<I>(d.columns());
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (auto r : rows) {
    if constexpr (std::is_same_v<typename std::decay_t<decltype(col)>::value_type, std::string>) out.push_back(col[r]);
    else out.insert(out.end(), col[r].begin(), col[r].end());
  }
  return out;
}

/// The label tensor of the rows: float [B] scores, int64 [B] classes, float [B, D] vectors, or
/// an undefined tensor when the schema has no label.
template <Schema S>
at::Tensor label_tensor(const dataset<S>& d, const std::vector<std::size_t>& rows, const at::Device& dev) {
  at::Tensor out;
  std::apply([&](const auto&... cols) {
    ([&](const auto& col) {
      using V = typename std::decay_t<decltype(col)>::value_type;
      const auto n = static_cast<std::int64_t>(rows.size());
      if constexpr (std::is_same_v<V, float>) {
        std::vector<float> v;
        for (auto r : rows) v.push_back(col[r]);
        out = at::from_blob(v.data(), {n}, at::kFloat).clone().to(dev);
      } else if constexpr (std::is_same_v<V, std::int64_t>) {
        std::vector<std::int64_t> v;
        for (auto r : rows) v.push_back(col[r]);
        out = at::from_blob(v.data(), {n}, at::kLong).clone().to(dev);
      } else if constexpr (std::is_same_v<V, std::vector<float>>) {
        const std::size_t dim = rows.empty() ? 0 : col[rows[0]].size();
        std::vector<float> v;
        for (auto r : rows) {
          if (col[r].size() != dim)
            throw error("vector labels of one batch differ in length (" + std::to_string(col[r].size()) + " vs " +
                        std::to_string(dim) + ", row " + std::to_string(r) + ")");
          v.insert(v.end(), col[r].begin(), col[r].end());
        }
        out = at::from_blob(v.data(), {n, static_cast<std::int64_t>(dim)}, at::kFloat).clone().to(dev);
      }
    }(cols), ...);
  }, d.columns());
  return out;
}

/// Tokenized features, one per input column, on the model's device.
template <Schema S, std::size_t... I>
std::vector<models::features> column_features(models::sentence_transformer& m, const dataset<S>& d,
                                              const std::vector<std::size_t>& rows, std::index_sequence<I...>) {
  std::vector<models::features> out;
  (
      [&] {
        using C = std::tuple_element_t<I, typename S::columns>;
        if constexpr (C::is_input) {
          auto texts = column_texts<S, I>(d, rows);
          if (texts.empty()) out.emplace_back();  // an empty text list: no candidates from it
          else out.push_back(m.to_device(m.tokenize(texts)));
        }
      }(),
      ...);
  return out;
}

template <Schema S, class L>
step_loss batch_loss(models::sentence_transformer& m, L& loss, const dataset<S>& d, const std::vector<std::size_t>& rows) {
  auto feats = column_features(m, d, rows, std::make_index_sequence<S::column_count>{});
  const at::Tensor labels = label_tensor(d, rows, m.device());
  step_loss out;
  out.rows = rows.size();
  auto take = [&](auto&& r) {
    if constexpr (std::is_same_v<std::decay_t<decltype(r)>, loss_parts>) {
      out.loss = r.total();
      out.parts = std::move(r.parts);
    } else {
      out.loss = std::move(r);
    }
  };
  if constexpr (EmbeddingLoss<L>) {
    std::vector<at::Tensor> emb;
    emb.reserve(feats.size());
    for (auto& f : feats) {
      if (!f.input_ids.defined()) {
        emb.push_back(at::empty({0, m.embedding_dimension()}, at::TensorOptions().device(m.device())));
        continue;
      }
      m.forward(f);
      emb.push_back(f.sentence_embedding);
    }
    take(std::as_const(loss)(std::span<const at::Tensor>(emb), labels));
  } else {
    take(loss(m, std::span<models::features>(feats), labels));
  }
  return out;
}

}  // namespace detail

template <Schema S, class L>
class trainer {
 public:
  trainer(std::shared_ptr<models::sentence_transformer> model, training_args args, dataset<S> train, L loss,
          std::optional<dataset<S>> eval_dataset = std::nullopt, evaluator_fn evaluator = {})
      : model_(std::move(model)),
        train_(std::make_shared<dataset<S>>(std::move(train))),
        eval_(eval_dataset ? std::make_shared<dataset<S>>(std::move(*eval_dataset)) : nullptr),
        loss_(std::make_shared<L>(std::move(loss))),
        evaluator_(std::move(evaluator)),
        core_(model_, std::move(args), {}) {
    static_assert(TrainableLoss<L>, "sbert::trainer: the loss type is not a loss; see the notes below");
    check_inputs_fit<L, S>();  // the data set's schema must fit the loss: see the notes below
    if constexpr (requires(L& l, const at::Device& d) { l.to(d); }) loss_->to(model_->device());
    core_.set_hooks(make_hooks());
  }
  trainer(std::shared_ptr<models::sentence_transformer> model, training_args args, dataset<S> train, L loss,
          dataset<S> eval_dataset, evaluator_fn evaluator = {})
      : trainer(std::move(model), std::move(args), std::move(train), std::move(loss),
                std::optional<dataset<S>>(std::move(eval_dataset)), std::move(evaluator)) {}
  // The hooks handed to the core point into this object.
  trainer(const trainer&) = delete;
  trainer& operator=(const trainer&) = delete;

  /// Any evaluator object callable as (model, output_path, epoch, steps) -> metrics.
  template <class E>
  void set_evaluator(std::shared_ptr<E> e) {
    evaluator_ = [e](models::sentence_transformer& m, const std::string& p, int ep, int st) { return (*e)(m, p, ep, st); };
    core_.set_hooks(make_hooks());
  }
  /// Replaces the sampler that args.batch_sampler would choose (e.g. a group_by_label sampler
  /// built with its compile-time check, or a fixed batch order).
  void set_batch_sampler(std::shared_ptr<batch_sampler_base> s) {
    sampler_ = std::move(s);
    core_.set_hooks(make_hooks());
  }
  void add_callback(callback c) { core_.add_callback(std::move(c)); }

  /// Trains. `resume_from_checkpoint`: a checkpoint-{step} folder, or "latest" for the newest
  /// in output_dir; the run then continues exactly where that checkpoint left it.
  train_result train(const std::string& resume_from_checkpoint = {}) { return core_.train(resume_from_checkpoint); }
  std::map<std::string, double> evaluate() { return core_.evaluate(); }
  [[nodiscard]] train_state& state() { return core_.state(); }
  [[nodiscard]] L& loss() { return *loss_; }
  [[nodiscard]] models::sentence_transformer& model() { return *model_; }

 private:
  detail::trainer_hooks make_hooks() {
    detail::trainer_hooks h;
    h.train_batch = [m = model_, d = train_, l = loss_](const std::vector<std::size_t>& rows) {
      return detail::batch_loss(*m, *l, *d, rows);
    };
    if (eval_)
      h.eval_sets.push_back({"", eval_->size(), [m = model_, d = eval_, l = loss_](const std::vector<std::size_t>& rows) {
                               return detail::batch_loss(*m, *l, *d, rows);
                             }});
    h.make_sampler = [this, d = train_, fixed = sampler_]() -> std::shared_ptr<batch_sampler_base> {
      if (fixed) return fixed;
      const auto& a = core_.args();
      const auto bs = static_cast<std::size_t>(a.per_device_train_batch_size);
      switch (a.batch_sampler) {
        case batch_sampler::no_duplicates:
          return std::make_shared<no_duplicates_batch_sampler>(*d, bs, a.dataloader_drop_last, a.seed);
        case batch_sampler::group_by_label:
          if constexpr (SamplerFor<group_by_label_batch_sampler, S>)
            return std::make_shared<group_by_label_batch_sampler>(*d, bs, a.dataloader_drop_last, a.seed);
          else
            throw error("batch_sampler::group_by_label needs a class label column, and this data set's schema has none");
        case batch_sampler::batch_sampler: break;
      }
      return std::make_shared<default_batch_sampler>(d->size(), bs, a.dataloader_drop_last, a.seed);
    };
    if constexpr (HasParameters<L>) {
      std::size_t k = 0;
      for (auto& p : loss_->parameters()) h.loss_parameters.push_back({"loss." + std::to_string(k++), p});
    }
    h.evaluator = evaluator_;
    h.loss_name = std::string(L::name);
    return h;
  }

  std::shared_ptr<models::sentence_transformer> model_;
  std::shared_ptr<dataset<S>> train_, eval_;
  std::shared_ptr<L> loss_;
  std::shared_ptr<batch_sampler_base> sampler_;
  evaluator_fn evaluator_;
  detail::trainer_core core_;
};

}  // namespace sbert
