// SPDX-License-Identifier: Apache-2.0
// Trainer state, log records and callbacks. Callbacks are type-erased (std::function members),
// so adding one never instantiates the trainer again. Torch-free.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sbert/training/emissions.hpp>

namespace sbert {

/// One log entry, keys in the order they are logged (as the Python trainer's dicts).
using log_record = std::vector<std::pair<std::string, double>>;

[[nodiscard]] inline std::optional<double> find_value(const log_record& r, const std::string& key) {
  for (const auto& [k, v] : r)
    if (k == key) return v;
  return std::nullopt;
}

/// What the trainer knows about the run (Python's TrainerState).
struct train_state {
  std::int64_t global_step = 0;
  double epoch = 0;
  std::int64_t max_steps = 0;
  std::int64_t num_train_epochs = 0;
  std::vector<log_record> log_history;
  std::optional<double> best_metric;
  std::string best_model_checkpoint;
  std::int64_t skipped_steps = 0;  ///< updates dropped for a non-finite loss or gradient
  bool should_stop = false;  ///< a callback may set this to end training after the step
  // The step just taken (for on_step_end): its mean loss, gradient norm before clipping, and
  // the learning rate the optimizer applied.
  double step_loss = 0;
  std::optional<double> step_grad_norm;
  double step_learning_rate = 0;
  /// The energy and emissions so far (report_to "codecarbon" or "all"), for the model card.
  std::optional<emissions_data> emissions;
};

struct callback {
  std::function<void(train_state&, const log_record&)> on_log;
  std::function<void(train_state&, const std::map<std::string, double>&)> on_evaluate;
  std::function<void(train_state&)> on_step_end;
  /// After the gradients are final (accumulated, all-reduced over the ranks of a distributed
  /// run, unscaled and clipped) and before the optimizer applies them (transformers'
  /// on_pre_optimizer_step); not called for a skipped update.
  std::function<void(train_state&)> on_pre_optimizer_step;
  std::function<void(train_state&, const std::string& checkpoint_dir)> on_save;
  std::function<void(train_state&)> on_train_end;
};

/// What train() returns.
struct train_result {
  std::int64_t global_step = 0;
  double training_loss = 0;
  log_record metrics;  // train_runtime, train_samples_per_second, train_steps_per_second, train_loss,
                      // with report_to codecarbon train_emissions (kg CO2eq) and train_energy_consumed (kWh), epoch
};

}  // namespace sbert
