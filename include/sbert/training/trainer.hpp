// SPDX-License-Identifier: Apache-2.0
// trainer<Schema, Loss>: SentenceTransformerTrainer in C++. The constructor checks at compile
// time that the loss fits the data set's schema; the loop itself is the non-template
// detail::trainer_core, so each trainer instantiation only adds batch assembly.
//
//   sbert::trainer trainer{model, args, train, sbert::cosent_loss{}};   // CTAD
//   trainer.train();
#pragma once
#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <sbert/concepts.hpp>
#include <sbert/data/dataset.hpp>
#include <sbert/evaluation/evaluator.hpp>
#include <sbert/losses/loss.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/samplers/group_by_label.hpp>
#include <sbert/samplers/group_by_length.hpp>
#include <sbert/samplers/no_duplicates.hpp>
#include <sbert/samplers/sampler.hpp>
#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>
#include <sbert/training/detail/token_cache.hpp>
#include <sbert/training/detail/trainer_core.hpp>
#include <sbert/training/model_card.hpp>

#include <cxxabi.h>
#include <torch/version.h>

namespace sbert {

namespace detail {

// ---- the model card's pieces (the card itself is torch-free: model_card.hpp) ----

/// A type's demangled name, e.g. "sbert::triplet_evaluator" or "my::recall_evaluator".
inline std::string demangled_name(const std::type_info& t) {
  int status = 0;
  char* d = abi::__cxa_demangle(t.name(), nullptr, nullptr, &status);
  std::string s = status == 0 && d ? d : t.name();
  std::free(d);
  return s;
}
/// The type's own name, without namespaces and template arguments.
inline std::string unqualified_name(const std::type_info& t) {
  std::string s = demangled_name(t);
  if (auto lt = s.find('<'); lt != std::string::npos) s = s.substr(0, lt);
  if (auto c = s.rfind("::"); c != std::string::npos) s = s.substr(c + 2);
  return s;
}
/// sbert's own classes are ports of sentence-transformers classes, which sbert.net documents;
/// a user's loss or evaluator is not, so the card does not link it.
inline bool in_library(const std::type_info& t) { return demangled_name(t).starts_with("sbert::"); }

/// The libtorch release for the card's Framework Versions. Debian's libtorch 1.13.1 ships a
/// torch/version.h (and TorchConfigVersion.cmake) saying 1.13.0, so sbert's CMake asks the
/// package manager and passes the packaged version as SBERT_LIBTORCH_VERSION.
inline std::string libtorch_version() {
#ifdef SBERT_LIBTORCH_VERSION
  return SBERT_LIBTORCH_VERSION;
#else
  return TORCH_VERSION;
#endif
}

/// The card's entries for one evaluator's results (non-template core): one entry, or one per
/// evaluator that a SequentialEvaluator merges, as Python lists them.
inline void card_evaluations(const evaluator& e, const std::map<std::string, double>& metrics, std::vector<evaluation_info>& out) {
  if (const auto subs = e.sub_evaluators(); !subs.empty()) {
    // A sub-evaluator's keys carry its "{name}_" prefix; an unnamed one gets what no named one claims.
    std::set<std::string> claimed{e.primary_metric()};
    for (const auto& s : subs)
      if (!s->name().empty())
        for (const auto& [k, v] : metrics)
          if (k.starts_with(s->name() + "_")) claimed.insert(k);
    for (const auto& s : subs) {
      std::map<std::string, double> own;
      for (const auto& [k, v] : metrics)
        if (s->name().empty() ? !claimed.count(k) : k.starts_with(s->name() + "_")) own.emplace(k, v);
      card_evaluations(*s, own, out);
    }
    return;
  }
  const std::string declared(e.card_class_name());
  evaluation_info info;
  info.class_name = declared.empty() ? unqualified_name(typeid(e)) : declared;
  info.description = std::string(e.card_description());  // empty: the card derives it from the class name
  info.in_library = !declared.empty() && in_library(typeid(e));
  info.name = e.name();
  info.primary_metric = e.primary_metric();
  info.metrics.assign(metrics.begin(), metrics.end());
  out.push_back(std::move(info));
}

/// Any evaluator object: an sbert::evaluator, or a type of your own callable as (model,
/// output_path, epoch, steps), which may declare `class_name` and `description` like sbert's
/// and `name()` / `primary_metric()`.
template <class E>
std::vector<evaluation_info> card_evaluations(const E& e, const std::map<std::string, double>& metrics) {
  std::vector<evaluation_info> out;
  if constexpr (std::is_base_of_v<evaluator, E>) {
    card_evaluations(static_cast<const evaluator&>(e), metrics, out);
  } else {
    evaluation_info info;
    if constexpr (requires { std::string_view(E::class_name); }) info.class_name = std::string(E::class_name);
    else info.class_name = unqualified_name(typeid(E));
    if constexpr (requires { std::string_view(E::description); }) info.description = std::string(E::description);
    info.in_library = false;
    if constexpr (requires { e.name(); e.primary_metric(); }) {
      info.name = e.name();
      info.primary_metric = e.primary_metric();
    }
    info.metrics.assign(metrics.begin(), metrics.end());
    out.push_back(std::move(info));
  }
  return out;
}

/// What every card of one trainer shares beyond the run itself: the user's metadata and the
/// latest results of each evaluator (the trainer's, and any recorded after training). Shared
/// with the evaluator wrapper, which outlives no trainer but may be copied by the core.
struct card_record {
  model_card_info info;
  std::vector<evaluation_info> evaluations;  // in first-run order, as Python's dict keeps them

  /// An evaluator's newest results replace its older ones (same class and name).
  void record(std::vector<evaluation_info> es) {
    for (auto& e : es) {
      auto it = std::find_if(evaluations.begin(), evaluations.end(),
                             [&](const evaluation_info& o) { return o.class_name == e.class_name && o.name == e.name; });
      if (it != evaluations.end()) *it = std::move(e);
      else evaluations.push_back(std::move(e));
    }
  }
};

/// The evaluator as the core calls it, recording its results for the card.
template <class E>
evaluator_fn recording_evaluator(std::shared_ptr<E> e, std::shared_ptr<card_record> record) {
  return [e = std::move(e), record = std::move(record)](models::sentence_transformer& m, const std::string& p, int ep, int st) {
    auto metrics = (*e)(m, p, ep, st);
    record->record(card_evaluations(*e, metrics));
    return metrics;
  };
}

/// The model card's common part: the model, hyperparameters, log, evaluations and the user's
/// metadata.
inline model_card_data card_base(models::sentence_transformer& m, const training_args& args, const train_state& st,
                                 const std::vector<evaluation_info>& evals, const model_card_info& info = {}) {
  model_card_data card;
  apply_card_info(card, info);
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
  card.versions = {{"sbert", "0.1.0"}, {"libtorch", libtorch_version()}};
  card.run_name = args.run_name;
  card.emissions = st.emissions;
  return card;
}

/// Registers a loss on a card (once per class).
template <class L>
void card_add_loss(model_card_data& card, const L& loss) {
  for (const auto& l : card.losses)
    if (l.name == L::name) return;
  loss_info li{std::string(L::name), {}, {}};
  if constexpr (requires { loss.config(); }) li.config = loss.config();
  if constexpr (requires { L::citation; }) li.citation = std::string(L::citation);
  li.in_library = in_library(typeid(L));
  card.losses.push_back(std::move(li));
}

/// Statistics counted in the model's tokens, as Python's card counts them.
inline token_counter card_tokens(models::sentence_transformer& m) {
  return [&m](const std::string& text) -> std::size_t {
    return static_cast<std::size_t>(m.tokenize(std::vector<std::string>{text}).input_ids.size(1));
  };
}

/// Adds one training data set and its loss to a card; returns its entry (to name it).
template <Schema S, class L>
dataset_info& card_add(model_card_data& card, models::sentence_transformer& m, const std::string& name, const dataset<S>& train,
                       const L& loss) {
  card.train_datasets.push_back(describe_dataset(name, train, card_tokens(m), std::string(L::name)));
  card_add_loss(card, loss);
  return card.train_datasets.back();
}
/// Adds one evaluation data set (its eval_loss uses `loss`); returns its entry.
template <Schema S, class L>
dataset_info& card_add_eval(model_card_data& card, models::sentence_transformer& m, const std::string& name,
                            const dataset<S>& eval, const L& loss) {
  card.eval_datasets.push_back(describe_dataset(name, eval, card_tokens(m), std::string(L::name)));
  card_add_loss(card, loss);
  return card.eval_datasets.back();
}

/// The card's data-set part (column statistics tokenize up to 1000 rows per column): computed
/// once per train() and reused by every checkpoint's card.
struct card_data_cache {
  std::optional<model_card_data> data;  // train_datasets, eval_datasets and losses

  template <class Fill>
  void apply(model_card_data& card, Fill&& fill) {
    if (!data) {
      model_card_data tmp;
      fill(tmp);
      data.emplace(std::move(tmp));
    }
    card.train_datasets = data->train_datasets;
    card.eval_datasets = data->eval_datasets;
    card.losses = data->losses;
  }
  void reset() { data.reset(); }
};

/// The user's entry for data set i, if the user named them.
inline const card_dataset* user_dataset(const std::vector<card_dataset>& v, std::size_t i) {
  return i < v.size() ? &v[i] : nullptr;
}

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

/// A column's prompt (training_args::prompts; empty: none) and its length in tokens, which
/// Pooling with include_prompt = false leaves out.
struct column_prompt {
  std::string text;
  std::int64_t length = 0;
};
using column_prompts = std::vector<column_prompt>;  // by schema column index

/// The prompts of one data set's columns (`dataset`: its train_on name, "" for the trainer).
inline column_prompts resolve_prompts(const models::sentence_transformer& m, const prompt_config& p,
                                      const std::string& dataset, std::span<const std::string_view> columns) {
  column_prompts out(columns.size());
  if (p.empty()) return out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    out[i].text = p.lookup(dataset, std::string(columns[i]));
    if (!out[i].text.empty()) out[i].length = m.prompt_length(out[i].text);
  }
  return out;
}

/// How a batch's texts become features: the padding (training_args::pad_to_multiple_of) and
/// the data set's token cache (null: tokenize every batch).
struct collate_config {
  token_cache* cache = nullptr;
  std::int64_t pad_to_multiple_of = 0;
};
inline collate_config collate_for(const training_args& a, token_cache& cache) {
  return {a.cache_tokenization ? &cache : nullptr, a.pad_to_multiple_of};
}

/// Tokenized features, one per input column (its prompt prepended), on the model's device.
template <Schema S, std::size_t... I>
std::vector<models::features> column_features(models::sentence_transformer& m, const dataset<S>& d,
                                              const std::vector<std::size_t>& rows, const column_prompts& prompts,
                                              const collate_config& c, std::index_sequence<I...>) {
  std::vector<models::features> out;
  (
      [&] {
        using C = std::tuple_element_t<I, typename S::columns>;
        if constexpr (C::is_input) {
          const column_prompt* p = I < prompts.size() && !prompts[I].text.empty() ? &prompts[I] : nullptr;
          std::optional<std::vector<models::encoding>> encs;
          if (c.cache) encs = c.cache->encodings<S, I>(m.first_transformer(), d, rows, p ? p->text : std::string());
          models::features f;
          if (encs) {
            if (encs->empty()) {
              out.emplace_back();  // an empty text list: no candidates from it
              return;
            }
            f = m.first_transformer().collate(*encs, c.pad_to_multiple_of);
          } else {
            auto texts = column_texts<S, I>(d, rows);
            if (texts.empty()) {
              out.emplace_back();
              return;
            }
            if (p)
              for (auto& t : texts) t.insert(0, p->text);
            f = m.tokenize(texts, c.pad_to_multiple_of);
          }
          f = m.to_device(std::move(f));
          if (p) f.prompt_length = p->length;
          out.push_back(std::move(f));
        }
      }(),
      ...);
  return out;
}

/// The batch sampler that args choose for one training set (`name`: its name in a multi-dataset
/// trainer, for messages). group_by_length takes each row's token count from `cache`, which
/// it fills (a throwaway cache when args.cache_tokenization is off).
template <Schema S>
std::shared_ptr<batch_sampler_base> make_batch_sampler(const training_args& a, const dataset<S>& d, const models::sentence_transformer& m,
                                                       const column_prompts& prompts, token_cache& cache,
                                                       const std::string& name = {}) {
  const auto bs = static_cast<std::size_t>(a.per_device_train_batch_size);
  std::shared_ptr<no_duplicates_batch_sampler> no_dup;
  switch (a.batch_sampler) {
    case batch_sampler::no_duplicates:
      no_dup = std::make_shared<no_duplicates_batch_sampler>(d, bs, a.dataloader_drop_last, a.seed);
      if (!a.group_by_length) return no_dup;
      break;
    case batch_sampler::group_by_label:
      if constexpr (SamplerFor<group_by_label_batch_sampler, S>)
        return std::make_shared<group_by_label_batch_sampler>(d, bs, a.dataloader_drop_last, a.seed);
      else
        throw error("batch_sampler::group_by_label needs a class label column, and " +
                    (name.empty() ? std::string("this data set's schema") : "data set '" + name + "'") + " has none");
    case batch_sampler::batch_sampler: break;
  }
  if (a.group_by_length) {
    token_cache throwaway;
    auto lengths = (a.cache_tokenization ? cache : throwaway)
                       .row_lengths(m.first_transformer(), d, [&](std::size_t i) { return i < prompts.size() ? prompts[i].text : std::string(); });
    return std::make_shared<length_grouped_batch_sampler>(std::move(lengths), bs, a.dataloader_drop_last, a.seed, std::move(no_dup));
  }
  return std::make_shared<default_batch_sampler>(d.size(), bs, a.dataloader_drop_last, a.seed);
}

template <Schema S, class L>
step_loss batch_loss(models::sentence_transformer& m, L& loss, const dataset<S>& d, const std::vector<std::size_t>& rows,
                     const column_prompts& prompts = {}, const collate_config& c = {}) {
  auto feats = column_features(m, d, rows, prompts, c, std::make_index_sequence<S::column_count>{});
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

/// Adds a module's trainable tensors under its names (e.g. "classifier.weight"), skipping any
/// tensor `out` already holds.
inline void add_module_parameters(std::vector<named_parameter>& out, const torch::nn::Module& mod, const std::string& prefix) {
  for (const auto& item : mod.named_parameters(true)) {
    if (!item.value().requires_grad()) continue;
    const bool held = std::any_of(out.begin(), out.end(), [&](const named_parameter& p) {
      return p.tensor.unsafeGetTensorImpl() == item.value().unsafeGetTensorImpl();
    });
    if (!held) out.push_back({prefix + item.key(), item.value()});
  }
}

/// The loss's own trainable tensors for the optimizer: named as in its module when it keeps
/// them in one (HasModule), else "loss.{i}"; each tensor once, so a loss that several data
/// sets share is one set of weights with one optimizer slot each.
template <class L>
void add_loss_parameters(std::vector<named_parameter>& out, const L& loss, const std::string& prefix) {
  if constexpr (std::derived_from<L, torch::nn::Module>) {
    add_module_parameters(out, loss, prefix);
  } else if constexpr (HasModule<L>) {
    if (auto mod = loss.module()) add_module_parameters(out, *mod, prefix);
  } else if constexpr (HasParameters<L>) {
    std::size_t k = 0;
    for (const auto& p : loss.parameters()) {
      const bool held = std::any_of(out.begin(), out.end(), [&](const named_parameter& q) {
        return q.tensor.unsafeGetTensorImpl() == p.unsafeGetTensorImpl();
      });
      if (!held) out.push_back({prefix + "loss." + std::to_string(k), p});
      ++k;
    }
  }
}

/// Moves the loss's own weights to the model's device (in place for a module, so copies of
/// the loss keep sharing them).
template <class L>
void loss_to(L& loss, const at::Device& d) {
  if constexpr (requires { loss.to(d); }) loss.to(d);
  else if constexpr (HasModule<L>) {
    if (auto mod = loss.module()) mod->to(d);
  }
}

template <class T>
inline constexpr bool is_shared_ptr = false;
template <class T>
inline constexpr bool is_shared_ptr<std::shared_ptr<T>> = true;

/// An evaluator object the model card can list: an sbert::evaluator, or a type that names
/// itself (name() and primary_metric(), or a class_name).
template <class E>
concept CardEvaluator = std::is_base_of_v<evaluator, E> || requires(const E& e) {
  e.name();
  e.primary_metric();
} || requires { std::string_view(E::class_name); };

/// Any evaluator as the core calls it: an evaluator object (by value or shared_ptr) kept whole
/// so the card can list its results; a std::function or a plain callable as is; nullptr: none.
template <class E>
evaluator_fn erase_evaluator(E&& e, const std::shared_ptr<card_record>& record) {
  using T = std::remove_cvref_t<E>;
  if constexpr (std::is_same_v<T, std::nullptr_t>) {
    return {};
  } else if constexpr (is_shared_ptr<T>) {
    if (!e) return {};
    return recording_evaluator(std::forward<E>(e), record);
  } else if constexpr (CardEvaluator<T>) {
    return recording_evaluator(std::make_shared<T>(std::forward<E>(e)), record);
  } else {
    static_assert(std::is_constructible_v<evaluator_fn, E>,
                  "the evaluator must be an sbert::evaluator, or callable as (model, output_path, epoch, steps) -> "
                  "std::map<std::string, double>");
    return evaluator_fn(std::forward<E>(e));
  }
}

}  // namespace detail

/// A data set handed to a trainer, held by shared ownership: moved in (`std::move(d)`, no
/// copy), shared (a std::shared_ptr, no copy), or copied from an lvalue. Empty (`{}`,
/// std::nullopt, nullptr): none, e.g. no eval split.
template <Schema S>
class shared_dataset {
 public:
  shared_dataset() = default;
  shared_dataset(std::nullptr_t) {}                                                   // NOLINT: implicit by design
  shared_dataset(std::nullopt_t) {}                                                   // NOLINT
  shared_dataset(dataset<S>&& d) : p_(std::make_shared<const dataset<S>>(std::move(d))) {}  // NOLINT
  shared_dataset(const dataset<S>& d) : p_(std::make_shared<const dataset<S>>(d)) {}  // NOLINT
  shared_dataset(std::shared_ptr<const dataset<S>> p) : p_(std::move(p)) {}           // NOLINT
  shared_dataset(std::shared_ptr<dataset<S>> p) : p_(std::move(p)) {}                 // NOLINT
  shared_dataset(std::optional<dataset<S>> d)                                         // NOLINT
      : p_(d ? std::make_shared<const dataset<S>>(std::move(*d)) : nullptr) {}
  [[nodiscard]] const std::shared_ptr<const dataset<S>>& get() const& { return p_; }
  [[nodiscard]] std::shared_ptr<const dataset<S>> get() && { return std::move(p_); }

 private:
  std::shared_ptr<const dataset<S>> p_;
};

template <Schema S, class L>
class trainer {
 public:
  /// `train` and `eval_dataset`: moved in or shared without a copy, or copied from an lvalue
  /// (see shared_dataset); no eval split: `{}`. `evaluator`: any evaluator by value (e.g.
  /// sbert::triplet_evaluator{...}), a std::shared_ptr to one, or a std::function; the model
  /// card lists the results of evaluator objects.
  ///   sbert::trainer t{model, args, std::move(train), loss, std::move(dev), sbert::triplet_evaluator{dev_rows}};
  template <class E = evaluator_fn>
  trainer(std::shared_ptr<models::sentence_transformer> model, training_args args, shared_dataset<S> train, L loss,
          shared_dataset<S> eval_dataset = {}, E evaluator = {})
      : model_(std::move(model)),
        train_(std::move(train).get()),
        eval_(std::move(eval_dataset).get()),
        loss_(std::make_shared<L>(std::move(loss))),
        core_(model_, std::move(args), {}) {
    check_loss<L>();           // each rule of a loss (callable, named) asserted on its own
    check_inputs_fit<L, S>();  // the data set's schema must fit the loss: see the notes below
    if (!train_) throw error("trainer: the training data set is null");
    // The sampler is chosen at run time by args.batch_sampler; a schema without a class label
    // cannot be grouped by label, so say so at construction rather than at the first epoch.
    if constexpr (!SamplerFor<group_by_label_batch_sampler, S>)
      if (core_.args().batch_sampler == batch_sampler::group_by_label)
        throw error("training_args::batch_sampler is group_by_label, and this data set's schema has no class label "
                    "column: add a class_column, or choose batch_sampler::no_duplicates / batch_sampler");
    detail::loss_to(*loss_, model_->device());
    const auto& prompts = core_.args().prompts;
    if (prompts.per_dataset())
      throw error("training_args::prompts: prompts per data set (a map of maps) need the multi_dataset_trainer; "
                  "give one prompt, or one per column");
    prompts_ = detail::resolve_prompts(*model_, prompts, "", S::names);
    evaluator_ = detail::erase_evaluator(std::move(evaluator), card_record_);
    core_.set_hooks(make_hooks());
  }
  // The hooks handed to the core point into this object.
  trainer(const trainer&) = delete;
  trainer& operator=(const trainer&) = delete;

  /// Any evaluator object callable as (model, output_path, epoch, steps) -> metrics. Every
  /// evaluator object goes through here, so that the model card lists its latest results.
  template <class E>
  void set_evaluator(std::shared_ptr<E> e) {
    evaluator_ = detail::recording_evaluator(std::move(e), card_record_);
    core_.set_hooks(make_hooks());
  }
  /// The same, taking the evaluator by value (or a std::function).
  template <class E>
    requires(!detail::is_shared_ptr<std::remove_cvref_t<E>>)
  void set_evaluator(E&& e) {
    evaluator_ = detail::erase_evaluator(std::forward<E>(e), card_record_);
    core_.set_hooks(make_hooks());
  }

  /// What the model card says about the model (Python's model_card_data: language, license,
  /// model name and id, the data sets' names and Hub ids); used by every card written from now
  /// on. Throws if its data set lists do not match this trainer's (one training set, and one
  /// evaluation set when given one).
  void set_model_card_info(model_card_info info) {
    info.validate(1, eval_ ? 1 : 0);
    card_record_->info = std::move(info);
    card_cache_.reset();
  }
  [[nodiscard]] const sbert::model_card_info& card_info() const { return card_record_->info; }
  /// Adds an evaluator's results to the model card, as Python's evaluator(model) does: e.g. a
  /// test evaluation after training. Results of the same evaluator (class and name) replace.
  template <class E>
  void record_evaluation(const E& e, const std::map<std::string, double>& metrics) {
    card_record_->record(detail::card_evaluations(e, metrics));
  }

  /// Saves the model in the sentence-transformers folder format, with its model card
  /// (README.md and the training-curve plot). In a distributed run only rank 0 writes (as
  /// Python's trainer), so every rank may call it.
  void save_model(const std::string& dir) {
    if (!distributed::is_main_process()) return;
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
    train_cache_->reset();  // and the tokenizer: each run tokenizes each text once
    eval_cache_->reset();
    return core_.train(resume_from_checkpoint);
  }
  std::map<std::string, double> evaluate() { return core_.evaluate(); }
  [[nodiscard]] train_state& state() { return core_.state(); }
  [[nodiscard]] L& loss() { return *loss_; }
  [[nodiscard]] models::sentence_transformer& model() { return *model_; }
  /// The data sets as the trainer holds them (shared, not copies).
  [[nodiscard]] const dataset<S>& train_dataset() const { return *train_; }
  [[nodiscard]] const dataset<S>* eval_dataset() const { return eval_.get(); }
  /// What the optimizer trains, by name (see detail::trainer_core::parameters()).
  [[nodiscard]] std::vector<named_parameter> optimizer_parameters() const { return core_.parameters(); }

 private:
  detail::trainer_hooks make_hooks() {
    detail::trainer_hooks h;
    const training_args* a = &core_.args();  // the core's, which outlives no hook
    h.train_batch = [m = model_, d = train_, l = loss_, p = prompts_, c = train_cache_, a](const std::vector<std::size_t>& rows) {
      return detail::batch_loss(*m, *l, *d, rows, p, detail::collate_for(*a, *c));
    };
    if (eval_)
      h.eval_sets.push_back({"", eval_->size(), [m = model_, d = eval_, l = loss_, p = prompts_, c = eval_cache_, a](const std::vector<std::size_t>& rows) {
                               return detail::batch_loss(*m, *l, *d, rows, p, detail::collate_for(*a, *c));
                             }});
    h.make_sampler = [this, d = train_, fixed = sampler_](const training_args& args) -> std::shared_ptr<batch_sampler_base> {
      if (fixed) return fixed;
      return detail::make_batch_sampler(args, *d, *model_, prompts_, *train_cache_);
    };
    detail::add_loss_parameters(h.loss_parameters, *loss_, "");
    h.evaluator = evaluator_;
    h.loss_name = std::string(L::name);
    h.write_card = [this](const std::string& dir, const train_state& st) { write_model_card(dir, card(st)); };
    return h;
  }

  model_card_data card(const train_state& st) {
    const auto& info = card_record_->info;
    auto c = detail::card_base(*model_, core_.args(), st, card_record_->evaluations, info);
    card_cache_.apply(c, [&](model_card_data& d) {
      // Named as the user says, else after the file the rows came from.
      name_dataset(detail::card_add(d, *model_, "", *train_, *loss_), detail::user_dataset(info.train_datasets, 0),
                   dataset_name_from_source(train_->source()));
      if (eval_)
        name_dataset(detail::card_add_eval(d, *model_, "", *eval_, *loss_), detail::user_dataset(info.eval_datasets, 0),
                     dataset_name_from_source(eval_->source()));
    });
    return c;
  }

  detail::card_data_cache card_cache_;
  std::shared_ptr<detail::card_record> card_record_ = std::make_shared<detail::card_record>();
  std::shared_ptr<models::sentence_transformer> model_;
  std::shared_ptr<const dataset<S>> train_, eval_;
  std::shared_ptr<L> loss_;
  detail::column_prompts prompts_;
  std::shared_ptr<detail::token_cache> train_cache_ = std::make_shared<detail::token_cache>(),
                                       eval_cache_ = std::make_shared<detail::token_cache>();
  std::shared_ptr<batch_sampler_base> sampler_;
  evaluator_fn evaluator_;
  detail::trainer_core core_;
};

// S and L come from the training set and the loss; the eval set and the evaluator then
// convert, so `{}` or std::nullopt (no eval set) and an evaluator by value all work.
template <Schema S, class L, class E = evaluator_fn>
trainer(std::shared_ptr<models::sentence_transformer>, training_args, dataset<S>, L,
        std::type_identity_t<shared_dataset<S>> = {}, E = {}) -> trainer<S, L>;
template <Schema S, class L, class E = evaluator_fn>
trainer(std::shared_ptr<models::sentence_transformer>, training_args, std::shared_ptr<const dataset<S>>, L,
        std::type_identity_t<shared_dataset<S>> = {}, E = {}) -> trainer<S, L>;
template <Schema S, class L, class E = evaluator_fn>
trainer(std::shared_ptr<models::sentence_transformer>, training_args, std::shared_ptr<dataset<S>>, L,
        std::type_identity_t<shared_dataset<S>> = {}, E = {}) -> trainer<S, L>;

}  // namespace sbert
