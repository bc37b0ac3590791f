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
#include <sbert/training/model_card.hpp>

#include <cxxabi.h>
#include <torch/version.h>

namespace sbert {

template <class L>
concept TrainableLoss = Loss<L> ||
    unsatisfied<"the loss type is not a loss: it needs `static constexpr sbert::inputs_spec inputs` and an operator()(std::span<const at::Tensor> embeddings, const at::Tensor& labels) (or the feature-loss form); see examples/custom_loss.cpp">();

namespace detail {

/// "sbert::embedding_similarity_evaluator" -> "EmbeddingSimilarityEvaluator": the Python class
/// name, by the mechanical mapping in reverse (for model cards).
inline std::string python_class_name(const std::type_info& t) {
  int status = 0;
  char* d = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : t.name();
  std::free(d);
  if (auto c = s.rfind("::"); c != std::string::npos) s = s.substr(c + 2);
  if (auto lt = s.find('<'); lt != std::string::npos) s = s.substr(0, lt);
  std::string out;
  bool up = true;
  for (char ch : s) {
    if (ch == '_') { up = true; continue; }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch;
    up = false;
  }
  return out;
}

/// The model card's common part: the model, hyperparameters, log and evaluations.
inline model_card_data card_base(models::sentence_transformer& m, const training_args& args, const train_state& st,
                                 const std::vector<evaluation_info>& evals) {
  model_card_data card;
  card.max_seq_length = m.max_seq_length();
  card.output_dimensionality = m.embedding_dimension();
  card.similarity_fn_name = std::string(name_of(m.similarity_fn));
  std::string arch = "SentenceTransformer(\n";
  std::size_t i = 0;
  for (const auto& mod : m.modules_list()) arch += "  (" + std::to_string(i++) + "): " + mod->class_name() + "\n";
  card.architecture = arch + ")";
  card.evaluations = evals;
  for (const auto& e : evals) card.primary_metrics.push_back(e.primary_metric);
  card.hyperparameters = card_hyperparameters(args);
  card.default_hyperparameters = card_hyperparameters(training_args{});
  card.log_history = st.log_history;
  card.versions = {{"sbert", "0.1.0"}, {"libtorch", TORCH_VERSION}};
  return card;
}

/// Adds one training data set and its loss to a card.
template <Schema S, class L>
void card_add(model_card_data& card, models::sentence_transformer& m, const std::string& name, const dataset<S>& train,
              const L& loss) {
  auto tokens = [&m](const std::string& text) -> std::size_t {
    return static_cast<std::size_t>(m.tokenize(std::vector<std::string>{text}).input_ids.size(1));
  };
  card.train_datasets.push_back(describe_dataset(name, train, tokens, std::string(L::name)));
  for (const auto& l : card.losses)
    if (l.name == L::name) return;
  loss_info li{std::string(L::name), {}, {}};
  if constexpr (requires { loss.config(); }) li.config = loss.config();
  if constexpr (requires { L::citation; }) li.citation = std::string(L::citation);
  card.losses.push_back(std::move(li));
}

/// The card's data-set part (column statistics tokenize up to 1000 rows per column): computed
/// once per train() and reused by every checkpoint's card.
struct card_data_cache {
  std::optional<std::pair<std::vector<dataset_info>, std::vector<loss_info>>> data;

  template <class Fill>
  void apply(model_card_data& card, Fill&& fill) {
    if (!data) {
      model_card_data tmp;
      fill(tmp);
      data.emplace(std::move(tmp.train_datasets), std::move(tmp.losses));
    }
    card.train_datasets = data->first;
    card.losses = data->second;
  }
  void reset() { data.reset(); }
};

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
  /// With an evaluator object (any type callable as (model, output_path, epoch, steps)); its
  /// results also go into the model card.
  template <class E>
    requires(!std::is_convertible_v<std::shared_ptr<E>, evaluator_fn>)
  trainer(std::shared_ptr<models::sentence_transformer> model, training_args args, dataset<S> train, L loss,
          std::optional<dataset<S>> eval_dataset, std::shared_ptr<E> evaluator)
      : trainer(std::move(model), std::move(args), std::move(train), std::move(loss), std::move(eval_dataset)) {
    set_evaluator(std::move(evaluator));
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
    evaluator_ = [this, e](models::sentence_transformer& m, const std::string& p, int ep, int st) {
      auto metrics = (*e)(m, p, ep, st);
      // remembered for the model card
      evaluation_info info{detail::python_class_name(typeid(*e)), {}, {}, {}, {metrics.begin(), metrics.end()}, {}};
      if constexpr (requires { e->name(); e->primary_metric(); }) {
        info.name = e->name();
        info.primary_metric = e->primary_metric();
      }
      last_evaluations_ = {info};
      return metrics;
    };
    core_.set_hooks(make_hooks());
  }

  /// Saves the model in the sentence-transformers folder format, with its model card
  /// (README.md and the training-curve plot).
  void save_model(const std::string& dir) {
    model_->save(dir);
    write_model_card(dir, card(core_.state()));
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
  train_result train(const std::string& resume_from_checkpoint = {}) {
    card_cache_.reset();  // the data set may have changed since the last run
    return core_.train(resume_from_checkpoint);
  }
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
    h.write_card = [this](const std::string& dir, const train_state& st) { write_model_card(dir, card(st)); };
    return h;
  }

  model_card_data card(const train_state& st) {
    auto c = detail::card_base(*model_, core_.args(), st, last_evaluations_);
    card_cache_.apply(c, [&](model_card_data& d) { detail::card_add(d, *model_, "train", *train_, *loss_); });
    return c;
  }

  detail::card_data_cache card_cache_;
  std::vector<evaluation_info> last_evaluations_;
  std::shared_ptr<models::sentence_transformer> model_;
  std::shared_ptr<dataset<S>> train_, eval_;
  std::shared_ptr<L> loss_;
  std::shared_ptr<batch_sampler_base> sampler_;
  evaluator_fn evaluator_;
  detail::trainer_core core_;
};

}  // namespace sbert
