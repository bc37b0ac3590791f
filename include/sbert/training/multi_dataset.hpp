// SPDX-License-Identifier: Apache-2.0
// Multi-dataset training: a named collection of data sets, each with its own schema and its
// own loss, every pairing checked at compile time. Each batch comes from one data set; the
// multi-dataset sampler (proportional or round-robin) decides the order.
//
//   sbert::multi_dataset_trainer trainer{model, args,
//       sbert::train_on("nli", nli_triplets, sbert::multiple_negatives_ranking_loss{}),
//       sbert::train_on("stsb", stsb, sbert::cosent_loss{}, stsb_dev)};
#pragma once
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <sbert/samplers/multi_dataset.hpp>
#include <sbert/training/trainer.hpp>

namespace sbert {

/// One named data set with its loss (and optionally its eval split). The data sets are held
/// shared, never copied after train_on; copies of one loss share its weights (HasModule).
template <Schema S, class L>
struct dataset_entry {
  std::string name;
  std::shared_ptr<const dataset<S>> train;
  L loss;
  std::shared_ptr<const dataset<S>> eval;  // null: no eval split
};

namespace detail {
template <Schema S, class L>
dataset_entry<S, L> make_entry(std::string name, shared_dataset<S> train, L loss, shared_dataset<S> eval) {
  check_loss<L>();
  check_inputs_fit<L, S>();  // this data set's schema must fit its loss: see the notes below
  if (!train.get()) throw error("train_on('" + name + "'): the training data set is null");
  return {std::move(name), std::move(train).get(), std::move(loss), std::move(eval).get()};
}
}  // namespace detail

/// A data set to train on with its loss and optional eval split. The data sets are moved in or
/// shared (std::shared_ptr) without a copy, or copied from an lvalue; `{}`: no eval split.
template <Schema S, class L>
[[nodiscard]] dataset_entry<S, L> train_on(std::string name, dataset<S> train, L loss,
                                           std::type_identity_t<shared_dataset<S>> eval = {}) {
  return detail::make_entry<S, L>(std::move(name), std::move(train), std::move(loss), std::move(eval));
}
template <Schema S, class L>
[[nodiscard]] dataset_entry<S, L> train_on(std::string name, std::shared_ptr<const dataset<S>> train, L loss,
                                           std::type_identity_t<shared_dataset<S>> eval = {}) {
  return detail::make_entry<S, L>(std::move(name), std::move(train), std::move(loss), std::move(eval));
}
template <Schema S, class L>
[[nodiscard]] dataset_entry<S, L> train_on(std::string name, std::shared_ptr<dataset<S>> train, L loss,
                                           std::type_identity_t<shared_dataset<S>> eval = {}) {
  return detail::make_entry<S, L>(std::move(name), std::move(train), std::move(loss), std::move(eval));
}

template <class... Entries>
class multi_dataset_trainer {
 public:
  multi_dataset_trainer(std::shared_ptr<models::sentence_transformer> model, training_args args, Entries... entries)
      : model_(std::move(model)),
        entries_(std::make_shared<std::tuple<Entries...>>(std::move(entries)...)),
        core_(model_, std::move(args), {}) {
    static_assert(sizeof...(Entries) >= 1, "multi_dataset_trainer needs at least one sbert::train_on(...) entry");
    std::apply([&](auto&... e) {
      std::size_t off = 0;
      ((offsets_.push_back(off), off += e.train->size(), names_.push_back(e.name)), ...);
      (detail::loss_to(e.loss, model_->device()), ...);
    }, *entries_);
    for (std::size_t i = 0; i < names_.size(); ++i)
      for (std::size_t j = i + 1; j < names_.size(); ++j)
        if (names_[i] == names_[j]) throw error("multi_dataset_trainer: two data sets are named '" + names_[i] + "'");
    const auto& prompts = core_.args().prompts;
    for (const auto& [name, cols] : prompts.datasets())
      if (std::find(names_.begin(), names_.end(), name) == names_.end())
        throw error("training_args::prompts has prompts for data set '" + name + "', but no train_on entry has that name");
    std::apply([&](const auto&... e) {
      (prompts_.push_back(detail::resolve_prompts(*model_, prompts, e.name, std::decay_t<decltype(*e.train)>::schema_type::names)), ...);
    }, *entries_);
    core_.set_hooks(make_hooks());
  }
  multi_dataset_trainer(const multi_dataset_trainer&) = delete;
  multi_dataset_trainer& operator=(const multi_dataset_trainer&) = delete;

  /// Any evaluator object callable as (model, output_path, epoch, steps) -> metrics; the model
  /// card lists its latest results.
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
  /// What the model card says about the model (see trainer::set_model_card_info): its
  /// train_datasets, when given, name the train_on entries in order, its eval_datasets those
  /// entries that have an eval split.
  void set_model_card_info(model_card_info info) {
    std::size_t n_eval = 0;
    std::apply([&](const auto&... e) { ((n_eval += e.eval ? 1 : 0), ...); }, *entries_);
    info.validate(sizeof...(Entries), n_eval);
    card_record_->info = std::move(info);
    card_cache_.reset();
  }
  [[nodiscard]] const sbert::model_card_info& card_info() const { return card_record_->info; }
  /// Adds an evaluator's results to the model card (e.g. a test evaluation after training).
  template <class E>
  void record_evaluation(const E& e, const std::map<std::string, double>& metrics) {
    card_record_->record(detail::card_evaluations(e, metrics));
  }
  void add_callback(callback c) { core_.add_callback(std::move(c)); }
  /// Saves the model with its model card (every data set and loss listed); in a distributed
  /// run only rank 0 writes.
  void save_model(const std::string& dir) {
    if (!distributed::is_main_process()) return;
    model_->save(dir);
    write_model_card(dir, card(core_.state()));
  }
  train_result train(const std::string& resume_from_checkpoint = {}) {
    card_cache_.reset();
    for (auto& c : *caches_) c.reset();  // each run tokenizes each text once
    return core_.train(resume_from_checkpoint);
  }
  std::map<std::string, double> evaluate() { return core_.evaluate(); }
  [[nodiscard]] train_state& state() { return core_.state(); }
  /// What the optimizer trains, by name: a loss shared by several data sets appears once, under
  /// the first one's name (as Python's Sequential of the loss dict names it).
  [[nodiscard]] std::vector<named_parameter> optimizer_parameters() const { return core_.parameters(); }

 private:
  // The loss of global rows (all from one data set), logged also as "{name}_loss".
  static detail::step_loss entry_loss(models::sentence_transformer& m, std::tuple<Entries...>& entries,
                                      const std::vector<std::size_t>& offsets, const std::vector<detail::column_prompts>& prompts,
                                      std::vector<detail::token_cache>& caches, const training_args& a,
                                      const std::vector<std::size_t>& rows) {
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(offsets.begin(), offsets.end(), rows.front()) - offsets.begin()) - 1;
    detail::step_loss out;
    std::size_t i = 0;
    std::apply([&](auto&... e) {
      ([&](auto& x) {
        if (i++ != k) return;
        std::vector<std::size_t> local(rows);
        for (auto& r : local) r -= offsets[k];
        out = detail::batch_loss(m, x.loss, *x.train, local, prompts[k], detail::collate_for(a, caches[k]));
        out.parts.emplace_back(x.name + "_loss", out.loss.detach());
      }(e), ...);
    }, entries);
    return out;
  }

  detail::trainer_hooks make_hooks() {
    detail::trainer_hooks h;
    const training_args* a = &core_.args();  // the core's, which outlives no hook
    h.train_batch = [m = model_, e = entries_, off = offsets_, p = prompts_, c = caches_, a](const std::vector<std::size_t>& rows) {
      return entry_loss(*m, *e, off, p, *c, *a, rows);
    };
    std::size_t k = 0;
    std::apply([&](auto&... e) {
      ([&](auto& x) {
        const auto& p = prompts_[k];
        auto* cache = &(*caches_)[sizeof...(Entries) + k++];  // eval caches follow the train caches
        if (!x.eval) return;
        h.eval_sets.push_back({x.name, x.eval->size(), [m = model_, ent = entries_, &x, p, c = caches_, cache, a](const std::vector<std::size_t>& rows) {
                                 (void)ent;  // keeps the entries (and x) alive
                                 (void)c;    // and the caches
                                 return detail::batch_loss(*m, x.loss, *x.eval, rows, p, detail::collate_for(*a, *cache));
                               }});
      }(e), ...);
    }, *entries_);
    h.make_sampler = [this](const training_args& args) -> std::shared_ptr<batch_sampler_base> {
      std::vector<std::shared_ptr<batch_sampler_base>> inner;
      std::size_t i = 0;
      std::apply([&](auto&... e) {
        ([&](auto& x) {
          inner.push_back(detail::make_batch_sampler(args, *x.train, *model_, prompts_[i], (*caches_)[i], x.name));
          ++i;
        }(e), ...);
      }, *entries_);
      if (args.multi_dataset_batch_sampler == multi_dataset_batch_sampler::round_robin)
        return std::make_shared<round_robin_batch_sampler>(std::move(inner), offsets_);
      return std::make_shared<proportional_batch_sampler>(std::move(inner), offsets_, args.seed);
    };
    // a loss shared by several entries: its tensors once, under the first entry's name
    std::apply([&](auto&... e) { (detail::add_loss_parameters(h.loss_parameters, e.loss, e.name + "."), ...); }, *entries_);
    h.evaluator = evaluator_;
    h.write_card = [this](const std::string& dir, const train_state& st) { write_model_card(dir, card(st)); };
    return h;
  }

  model_card_data card(const train_state& st) {
    const auto& info = card_record_->info;
    auto c = detail::card_base(*model_, core_.args(), st, card_record_->evaluations, info);
    card_cache_.apply(c, [&](model_card_data& d) {
      // Each data set by its train_on name unless the user names it; eval splits likewise.
      std::size_t i = 0, k = 0;
      std::apply([&](auto&... e) {
        ([&](auto& x) {
          name_dataset(detail::card_add(d, *model_, x.name, *x.train, x.loss), detail::user_dataset(info.train_datasets, i++), x.name);
          if (x.eval)
            name_dataset(detail::card_add_eval(d, *model_, x.name, *x.eval, x.loss), detail::user_dataset(info.eval_datasets, k++), x.name);
        }(e), ...);
      }, *entries_);
    });
    return c;
  }

  detail::card_data_cache card_cache_;
  std::shared_ptr<detail::card_record> card_record_ = std::make_shared<detail::card_record>();
  std::shared_ptr<models::sentence_transformer> model_;
  std::shared_ptr<std::tuple<Entries...>> entries_;
  std::vector<std::size_t> offsets_;
  std::vector<std::string> names_;
  std::vector<detail::column_prompts> prompts_;  // per entry
  // per entry its train set's token cache, then per entry its eval set's
  std::shared_ptr<std::vector<detail::token_cache>> caches_ =
      std::make_shared<std::vector<detail::token_cache>>(2 * sizeof...(Entries));
  evaluator_fn evaluator_;
  detail::trainer_core core_;
};

}  // namespace sbert
