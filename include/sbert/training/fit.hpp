// SPDX-License-Identifier: Apache-2.0
// sbert::fit: Python's legacy SentenceTransformer.fit (sentence-transformers >= 3), which since
// v3 is a thin wrapper that builds a multi-dataset trainer. Same parameter names and defaults;
// every (data set, loss) pair is checked at compile time as train_on checks it. A free function,
// so the model (a torch module) does not depend on the trainer.
//
//   Python:  model.fit(train_objectives=[(loader, loss)], epochs=1, warmup_steps=100, output_path="out")
//   C++:     sbert::fit(model, sbert::objective(train, sbert::cosent_loss{}),
//                       {.epochs = 1, .warmup_steps = 100, .output_path = "out", .batch_size = 16});
//   several: sbert::fit(model, sbert::objectives(sbert::objective(nli, mnrl), sbert::objective(sts, cosent)), {...});
#pragma once
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include <c10/core/GradMode.h>

#include <sbert/training/multi_dataset.hpp>

namespace sbert {

/// fit's optimizer_params: torch.optim.AdamW's keyword arguments (Python's default {"lr": 2e-5}).
struct fit_optimizer_params {
  double lr = 2e-5;
  double beta1 = 0.9, beta2 = 0.999;  ///< AdamW's betas
  double eps = 1e-8;
};

/// SentenceTransformer.fit's keyword arguments, with Python's defaults. The last group is what
/// Python reads off the DataLoaders (batch_size, NoDuplicatesDataLoader) or leaves to the trainer.
struct fit_options {
  std::shared_ptr<sbert::evaluator> evaluator{};  ///< run every evaluation_steps and at each epoch end
  std::int64_t epochs = 1;
  std::int64_t steps_per_epoch = 0;  ///< 0 (Python's None): the data decide; honoured only with epochs == 1
  /// constantlr, warmupconstant, warmuplinear, warmupcosine (any case).
  /// warmupcosinewithhardrestarts is not available.
  std::string scheduler = "WarmupLinear";
  std::int64_t warmup_steps = 10000;
  fit_optimizer_params optimizer_params{};
  double weight_decay = 0.01;
  std::int64_t evaluation_steps = 0;  ///< > 0: evaluate every so many steps (needs an evaluator)
  /// Where the model goes: the best one by the evaluator's primary metric (save_best_model), or
  /// without an evaluator the final one. Empty: not saved.
  std::string output_path{};
  bool save_best_model = true;
  double max_grad_norm = 1;
  bool use_amp = false;  ///< fp16 autocast with a gradient scaler (CUDA only)
  /// Called after each evaluation with the primary metric's score, the epoch and the step.
  std::function<void(double score, double epoch, std::int64_t steps)> callback{};
  bool show_progress_bar = true;
  std::string checkpoint_path{};  ///< empty: no checkpoints (and the trainer's folder is checkpoints/model{_N})
  std::int64_t checkpoint_save_steps = 500;
  std::int64_t checkpoint_save_total_limit = 0;  ///< 0: keep all
  bool resume_from_checkpoint = false;  ///< continue from the newest checkpoint in checkpoint_path, if any

  std::int64_t batch_size = 8;  ///< the DataLoader's batch_size (Python's fallback when it has none: 8)
  sbert::batch_sampler batch_sampler = batch_sampler::batch_sampler;  ///< no_duplicates: NoDuplicatesDataLoader
  std::uint64_t seed = 42;
  std::vector<std::string> report_to{"all"};
  sbert::log_level log_level = log_level::info;
};

namespace detail {

inline lr_scheduler_type fit_scheduler(const std::string& name) {
  std::string s;
  for (char c : name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "constantlr") return lr_scheduler_type::constant;
  if (s == "warmupconstant") return lr_scheduler_type::constant_with_warmup;
  if (s == "warmuplinear") return lr_scheduler_type::linear;
  if (s == "warmupcosine") return lr_scheduler_type::cosine;
  if (s == "warmupcosinewithhardrestarts")
    throw error("fit: scheduler 'WarmupCosineWithHardRestarts' is not available in sbert; use WarmupCosine or WarmupLinear");
  throw error("fit: unknown scheduler '" + name + "' (constantlr, warmupconstant, warmuplinear, warmupcosine)");
}

/// Python's _default_checkpoint_dir: checkpoints/model, or model_1, model_2, ... if that is taken.
inline std::string fit_default_checkpoint_dir() {
  namespace fs = std::filesystem;
  std::string dir = "checkpoints/model";
  for (int i = 1; fs::exists(dir) && !fs::is_empty(dir); ++i) dir = "checkpoints/model_" + std::to_string(i);
  return dir;
}

/// The newest checkpoint-{step} folder in dir, or "" (Python's fit warns and starts afresh).
inline std::string fit_resume_dir(const fit_options& o) {
  if (!o.resume_from_checkpoint || o.checkpoint_path.empty()) return {};
  const auto dir = std::filesystem::is_directory(o.checkpoint_path) ? latest_checkpoint(o.checkpoint_path) : std::string();
  if (dir.empty() && o.log_level != log_level::error)
    std::fprintf(stderr, "sbert: fit: no checkpoint in '%s' to resume from; training from the start\n", o.checkpoint_path.c_str());
  return dir;
}

/// Python's SaveModelCallback, EvaluatorCallback and OriginalCallback in one: after every
/// evaluation, save the model when the primary metric improved and call the user's callback;
/// at each epoch end (and when max_steps stops the run) run the evaluator once more.
template <class Trainer>
callback fit_callback(Trainer& t, std::shared_ptr<models::sentence_transformer> model, const fit_options& o) {
  struct best_state {
    std::optional<double> best;
  };
  auto best = std::make_shared<best_state>();
  auto on_evaluate = [&t, o, best](train_state& st, const std::map<std::string, double>& metrics) {
    if (!o.evaluator) return;
    const std::string key = o.evaluator->primary_metric();
    for (const auto& [k, v] : metrics) {
      if (!k.ends_with(key)) continue;
      if (!o.output_path.empty() && o.save_best_model &&
          (!best->best || (o.evaluator->greater_is_better() ? v > *best->best : v < *best->best))) {
        best->best = v;
        t.save_model(o.output_path);
      }
    }
    if (o.callback)
      for (const auto& [k, v] : metrics)
        if (k.ends_with(key)) {
          o.callback(v, st.epoch, st.global_step);
          break;
        }
  };
  callback c;
  c.on_evaluate = on_evaluate;
  if (o.evaluator)
    c.on_step_end = [&t, model, o, on_evaluate](train_state& st) {
      if (st.epoch != std::floor(st.epoch) && st.global_step < st.max_steps) return;  // not an epoch's end
      std::string path;
      if (!o.output_path.empty()) {
        path = (std::filesystem::path(o.output_path) / "eval").string();
        std::filesystem::create_directories(path);
      }
      std::map<std::string, double> raw, metrics;
      {
        const bool was_training = model->is_training();
        model->eval();
        c10::NoGradGuard no_grad;
        raw = (*o.evaluator)(*model, path, static_cast<int>(st.epoch), static_cast<int>(st.global_step));
        if (was_training) model->train();
      }
      t.record_evaluation(*o.evaluator, raw);  // the card lists the latest results
      for (const auto& [k, v] : raw) metrics[k.starts_with("eval_") ? k : "eval_" + k] = v;
      on_evaluate(st, metrics);
    };
  if (!o.evaluator && !o.output_path.empty())
    c.on_train_end = [&t, path = o.output_path](train_state&) { t.save_model(path); };
  return c;
}

}  // namespace detail

/// The training_args fit builds (Python's mapping): round-robin over the objectives, the
/// DataLoader's batch size, evaluation every evaluation_steps, checkpoints only with a
/// checkpoint_path, AdamW with optimizer_params and weight_decay, the scheduler by its old name.
[[nodiscard]] inline training_args fit_training_args(const fit_options& o) {
  if (o.epochs <= 0) throw error("fit: epochs must be positive");
  std::int64_t max_steps = -1;
  if (o.steps_per_epoch > 0) {
    if (o.epochs == 1) max_steps = o.steps_per_epoch;
    else if (o.log_level != log_level::error)
      std::fprintf(stderr, "sbert: fit: steps_per_epoch with epochs > 1 is ignored (as in Python); training on the full data sets each epoch\n");
  }
  training_args a;
  a.output_dir = o.checkpoint_path.empty() ? detail::fit_default_checkpoint_dir() : o.checkpoint_path;
  a.batch_sampler = o.batch_sampler;
  a.multi_dataset_batch_sampler = multi_dataset_batch_sampler::round_robin;
  a.per_device_train_batch_size = o.batch_size;
  a.per_device_eval_batch_size = o.batch_size;
  a.num_train_epochs = static_cast<double>(o.epochs);
  a.max_steps = max_steps;
  a.eval_strategy = o.evaluation_steps > 0 ? interval_strategy::steps : interval_strategy::no;
  if (o.evaluation_steps > 0) a.eval_steps = static_cast<double>(o.evaluation_steps);
  a.max_grad_norm = o.max_grad_norm;
  a.fp16 = o.use_amp;
  a.disable_progress_bar = !o.show_progress_bar;
  a.save_strategy = o.checkpoint_path.empty() ? interval_strategy::no : interval_strategy::steps;
  a.save_steps = static_cast<double>(o.checkpoint_save_steps);
  if (o.checkpoint_save_total_limit > 0) a.save_total_limit = o.checkpoint_save_total_limit;
  a.learning_rate = o.optimizer_params.lr;
  a.adam_beta1 = o.optimizer_params.beta1;
  a.adam_beta2 = o.optimizer_params.beta2;
  a.adam_epsilon = o.optimizer_params.eps;
  a.weight_decay = o.weight_decay;
  a.lr_scheduler_type = detail::fit_scheduler(o.scheduler);
  a.warmup_steps = o.warmup_steps;
  a.seed = o.seed;
  a.report_to = o.report_to;
  a.log_level = o.log_level;
  return a;
}

/// One training objective, (data set, loss): Python's (DataLoader, loss) tuple. The data set is
/// moved, shared or copied as train_on takes it; its schema must fit the loss (compile time).
template <class D, class L>
[[nodiscard]] auto objective(D&& train, L loss) {
  return train_on(std::string(), std::forward<D>(train), std::move(loss));
}
/// Several objectives for one fit call (each batch from one, in turn).
template <class... Entries>
[[nodiscard]] std::tuple<Entries...> objectives(Entries... e) {
  return std::tuple<Entries...>(std::move(e)...);
}

/// Trains `model` on the objectives as Python's SentenceTransformer.fit does: a
/// multi_dataset_trainer over data sets named _dataset_1, _dataset_2, ... (an objective made
/// with train_on keeps its name), sampled round robin.
template <class... Entries>
train_result fit(std::shared_ptr<models::sentence_transformer> model, std::tuple<Entries...> train_objectives,
                 const fit_options& options = {}) {
  static_assert(sizeof...(Entries) >= 1, "fit needs at least one objective");
  std::size_t i = 0;
  std::apply([&](auto&... e) { ((++i, e.name = e.name.empty() ? "_dataset_" + std::to_string(i) : e.name), ...); },
             train_objectives);
  auto resume = detail::fit_resume_dir(options);
  auto t = std::apply(
      [&](auto&... e) {
        return std::make_unique<multi_dataset_trainer<Entries...>>(model, fit_training_args(options), std::move(e)...);
      },
      train_objectives);
  if (options.evaluator) t->set_evaluator(options.evaluator);
  t->add_callback(detail::fit_callback(*t, model, options));
  return t->train(resume);
}
/// One objective.
template <Schema S, class L>
train_result fit(std::shared_ptr<models::sentence_transformer> model, dataset_entry<S, L> train_objective,
                 const fit_options& options = {}) {
  return fit(std::move(model), std::tuple<dataset_entry<S, L>>(std::move(train_objective)), options);
}

}  // namespace sbert
