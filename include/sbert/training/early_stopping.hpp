// SPDX-License-Identifier: Apache-2.0
// Early stopping as transformers' EarlyStoppingCallback: after each evaluation, an improvement of
// the watched metric by more than `threshold` over the best so far resets a counter, anything
// else increments it; at `patience` the run stops. Torch-free.
#pragma once
#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include <sbert/error.hpp>
#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>

namespace sbert {

struct early_stopping_options {
  int patience = 1;        ///< evaluations without improvement before stopping
  double threshold = 0.0;  ///< an improvement must exceed this (absolute) to count
  std::string metric{};    ///< empty: the args' metric_for_best_model; "eval_" is added if missing
  std::optional<bool> greater_is_better{};  ///< unset: as the args decide for that metric
};

/// What the callback has seen; shared with the callback, so a caller can read it after training.
struct early_stopping_state {
  std::string metric;  ///< the full key watched, e.g. "eval_sts-dev_spearman_cosine"
  bool greater_is_better = true;
  std::optional<double> best;
  int patience_counter = 0;
  bool stopped = false;
};

/// Sets train_state::should_stop once `patience` evaluations in a row fail to improve the metric.
/// The trainer calls on_evaluate before it updates best_metric, so "improve" is measured against
/// the best of the earlier evaluations, as in transformers. A metric missing from an evaluation
/// is an error rather than a silently disabled stopper (a misspelt name would otherwise never stop).
[[nodiscard]] inline callback early_stopping_callback(const training_args& args, early_stopping_options opt = {},
                                                      std::shared_ptr<early_stopping_state> out = nullptr) {
  if (opt.patience < 1) throw error("early_stopping_callback: patience must be >= 1");
  if (!(opt.threshold >= 0)) throw error("early_stopping_callback: threshold must be >= 0");
  if (args.eval_strategy == interval_strategy::no)  // as transformers: it would never fire
    throw error("early_stopping_callback: eval_strategy is 'no', so no evaluation runs to stop on; set it to steps or epoch");
  auto st = out ? std::move(out) : std::make_shared<early_stopping_state>();
  if (opt.metric.empty()) {
    st->metric = args.best_metric_key();
    st->greater_is_better = opt.greater_is_better.value_or(args.higher_is_better());
  } else {
    st->metric = opt.metric.starts_with("eval_") ? opt.metric : "eval_" + opt.metric;
    st->greater_is_better = opt.greater_is_better.value_or(!st->metric.ends_with("loss"));
  }
  // The trainer's best_metric tracks the args' metric; it seeds our best after a resume.
  const bool same_as_trainer = st->metric == args.best_metric_key() && st->greater_is_better == args.higher_is_better();
  callback c;
  c.on_evaluate = [st, opt, same_as_trainer](train_state& s, const std::map<std::string, double>& metrics) {
    const auto it = metrics.find(st->metric);
    if (it == metrics.end()) {
      std::string keys;
      for (const auto& [k, v] : metrics) keys += (keys.empty() ? "" : ", ") + k;
      throw error("early_stopping_callback: the evaluation has no metric '" + st->metric + "' (it has: " + keys +
                  "); set early_stopping_options::metric or training_args::metric_for_best_model to one of them");
    }
    const double v = it->second;
    if (!st->best && same_as_trainer) st->best = s.best_metric;
    const bool better = std::isfinite(v) && (!st->best || ((st->greater_is_better ? v > *st->best : v < *st->best) &&
                                                           std::abs(v - *st->best) > opt.threshold));
    if (better) st->patience_counter = 0;
    else ++st->patience_counter;
    // The best moves on any strict improvement (as the trainer's best_metric does), threshold or not.
    if (std::isfinite(v) && (!st->best || (st->greater_is_better ? v > *st->best : v < *st->best))) st->best = v;
    if (st->patience_counter >= opt.patience) {
      s.should_stop = true;
      st->stopped = true;
    }
  };
  return c;
}

}  // namespace sbert
