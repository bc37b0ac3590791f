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

/// One named data set with its loss (and optionally its eval split).
template <Schema S, class L>
struct dataset_entry {
  std::string name;
  dataset<S> train;
  L loss;
  std::optional<dataset<S>> eval;
};

template <Schema S, class L>
[[nodiscard]] dataset_entry<S, L> train_on(std::string name, dataset<S> train, L loss, std::optional<dataset<S>> eval = std::nullopt) {
  check_inputs_fit<L, S>();  // this data set's schema must fit its loss: see the notes below
  return {std::move(name), std::move(train), std::move(loss), std::move(eval)};
}

template <Schema S, class L>
[[nodiscard]] dataset_entry<S, L> train_on(std::string name, dataset<S> train, L loss, dataset<S> eval) {
  return train_on(std::move(name), std::move(train), std::move(loss), std::optional<dataset<S>>(std::move(eval)));
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
      ((offsets_.push_back(off), off += e.train.size(), names_.push_back(e.name)), ...);
      ([&](auto& x) {
        using L = decltype(x.loss);
        if constexpr (requires(L& l, const at::Device& d) { l.to(d); }) x.loss.to(model_->device());
      }(e), ...);
    }, *entries_);
    for (std::size_t i = 0; i < names_.size(); ++i)
      for (std::size_t j = i + 1; j < names_.size(); ++j)
        if (names_[i] == names_[j]) throw error("multi_dataset_trainer: two data sets are named '" + names_[i] + "'");
    core_.set_hooks(make_hooks());
  }
  multi_dataset_trainer(const multi_dataset_trainer&) = delete;
  multi_dataset_trainer& operator=(const multi_dataset_trainer&) = delete;

  template <class E>
  void set_evaluator(std::shared_ptr<E> e) {
    evaluator_ = [e](models::sentence_transformer& m, const std::string& p, int ep, int st) { return (*e)(m, p, ep, st); };
    core_.set_hooks(make_hooks());
  }
  void add_callback(callback c) { core_.add_callback(std::move(c)); }
  /// Saves the model with its model card (every data set and loss listed).
  void save_model(const std::string& dir) {
    model_->save(dir);
    write_model_card(dir, card(core_.state()));
  }
  train_result train(const std::string& resume_from_checkpoint = {}) {
    card_cache_.reset();
    return core_.train(resume_from_checkpoint);
  }
  std::map<std::string, double> evaluate() { return core_.evaluate(); }
  [[nodiscard]] train_state& state() { return core_.state(); }

 private:
  // The loss of global rows (all from one data set), logged also as "{name}_loss".
  static detail::step_loss entry_loss(models::sentence_transformer& m, std::tuple<Entries...>& entries,
                                      const std::vector<std::size_t>& offsets, const std::vector<std::size_t>& rows) {
    const std::size_t k = static_cast<std::size_t>(std::upper_bound(offsets.begin(), offsets.end(), rows.front()) - offsets.begin()) - 1;
    detail::step_loss out;
    std::size_t i = 0;
    std::apply([&](auto&... e) {
      ([&](auto& x) {
        if (i++ != k) return;
        std::vector<std::size_t> local(rows);
        for (auto& r : local) r -= offsets[k];
        out = detail::batch_loss(m, x.loss, x.train, local);
        out.parts.emplace_back(x.name + "_loss", out.loss.detach());
      }(e), ...);
    }, entries);
    return out;
  }

  detail::trainer_hooks make_hooks() {
    detail::trainer_hooks h;
    h.train_batch = [m = model_, e = entries_, off = offsets_](const std::vector<std::size_t>& rows) {
      return entry_loss(*m, *e, off, rows);
    };
    std::apply([&](auto&... e) {
      ([&](auto& x) {
        if (!x.eval) return;
        h.eval_sets.push_back({x.name, x.eval->size(), [m = model_, ent = entries_, &x](const std::vector<std::size_t>& rows) {
                                 (void)ent;  // keeps the entries (and x) alive
                                 return detail::batch_loss(*m, x.loss, *x.eval, rows);
                               }});
      }(e), ...);
    }, *entries_);
    h.make_sampler = [this]() -> std::shared_ptr<batch_sampler_base> {
      const auto& a = core_.args();
      const auto bs = static_cast<std::size_t>(a.per_device_train_batch_size);
      std::vector<std::shared_ptr<batch_sampler_base>> inner;
      std::apply([&](auto&... e) {
        ([&](auto& x) {
          using S = typename std::decay_t<decltype(x.train)>::schema_type;
          switch (a.batch_sampler) {
            case batch_sampler::no_duplicates:
              inner.push_back(std::make_shared<no_duplicates_batch_sampler>(x.train, bs, a.dataloader_drop_last, a.seed));
              return;
            case batch_sampler::group_by_label:
              if constexpr (SamplerFor<group_by_label_batch_sampler, S>) {
                inner.push_back(std::make_shared<group_by_label_batch_sampler>(x.train, bs, a.dataloader_drop_last, a.seed));
                return;
              } else {
                throw error("batch_sampler::group_by_label needs a class label column; data set '" + x.name + "' has none");
              }
            case batch_sampler::batch_sampler: break;
          }
          inner.push_back(std::make_shared<default_batch_sampler>(x.train.size(), bs, a.dataloader_drop_last, a.seed));
        }(e), ...);
      }, *entries_);
      if (a.multi_dataset_batch_sampler == multi_dataset_batch_sampler::round_robin)
        return std::make_shared<round_robin_batch_sampler>(std::move(inner), offsets_);
      return std::make_shared<proportional_batch_sampler>(std::move(inner), offsets_, a.seed);
    };
    std::apply([&](auto&... e) {
      ([&](auto& x) {
        using L = decltype(x.loss);
        if constexpr (HasParameters<L>) {
          std::size_t j = 0;
          for (auto& p : x.loss.parameters()) h.loss_parameters.push_back({x.name + ".loss." + std::to_string(j++), p});
        }
      }(e), ...);
    }, *entries_);
    h.evaluator = evaluator_;
    h.write_card = [this](const std::string& dir, const train_state& st) { write_model_card(dir, card(st)); };
    return h;
  }

  model_card_data card(const train_state& st) {
    auto c = detail::card_base(*model_, core_.args(), st, {});
    card_cache_.apply(c, [&](model_card_data& d) {
      std::apply([&](auto&... e) { (detail::card_add(d, *model_, e.name, e.train, e.loss), ...); }, *entries_);
    });
    return c;
  }

  detail::card_data_cache card_cache_;
  std::shared_ptr<models::sentence_transformer> model_;
  std::shared_ptr<std::tuple<Entries...>> entries_;
  std::vector<std::size_t> offsets_;
  std::vector<std::string> names_;
  evaluator_fn evaluator_;
  detail::trainer_core core_;
};

}  // namespace sbert
