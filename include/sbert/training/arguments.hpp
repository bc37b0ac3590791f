// SPDX-License-Identifier: Apache-2.0
// training_args: SentenceTransformerTrainingArguments as one aggregate with designated
// initialisers and the Python defaults. Torch-free.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sbert/error.hpp>
#include <sbert/training/emissions.hpp>

namespace sbert {

enum class lr_scheduler_type { linear, cosine, constant, constant_with_warmup, polynomial };
enum class batch_sampler { batch_sampler, no_duplicates, group_by_label };
enum class multi_dataset_batch_sampler { proportional, round_robin };
enum class interval_strategy { no, steps, epoch };
/// What the trainer does when a loss or gradient norm is NaN or infinite.
enum class non_finite_policy { stop, skip_step };
/// What the trainer prints. info (the default) prints every log dict and the final summary to
/// stdout, as the Python trainer does; warning prints only warnings (to stderr); error, neither.
enum class log_level { info, warning, error };

/// training_args::prompts, as Python's (>= 3.1): a prefix added to the texts of input columns,
/// in training and in the eval_loss batches.
///   prompts{"query: "}                                    every column of every data set
///   prompts{{{"anchor", "query: "}, {"positive", "doc: "}}}  per column; with the
///       multi_dataset_trainer a key naming a data set gives all its columns that prompt
///   prompts{{{"nli", {{"anchor", "query: "}}}}}           per data set, per column (multi only)
/// With Pooling's include_prompt = false the prompt's tokens are left out of the pooling.
class prompt_config {
 public:
  using column_map = std::map<std::string, std::string>;
  prompt_config() = default;
  prompt_config(std::string all) : all_(std::move(all)) {}  // NOLINT: implicit, as Python takes a str
  prompt_config(const char* all) : all_(std::string(all)) {}  // NOLINT
  prompt_config(column_map by_name) : by_name_(std::move(by_name)) {}  // NOLINT
  prompt_config(std::map<std::string, column_map> by_dataset) : by_dataset_(std::move(by_dataset)) {}  // NOLINT

  [[nodiscard]] bool empty() const { return !all_ && by_name_.empty() && by_dataset_.empty(); }
  [[nodiscard]] bool per_dataset() const { return !by_dataset_.empty(); }
  [[nodiscard]] const std::map<std::string, column_map>& datasets() const { return by_dataset_; }

  /// The prompt of `column` in data set `dataset` ("" for the single-data-set trainer); "" for none.
  /// As Python's collator: prompts[dataset] when it names the data set, else prompts[column].
  [[nodiscard]] std::string lookup(const std::string& dataset, const std::string& column) const {
    if (all_) return *all_;
    if (!dataset.empty()) {
      if (auto d = by_dataset_.find(dataset); d != by_dataset_.end()) {
        auto c = d->second.find(column);
        return c != d->second.end() ? c->second : std::string();
      }
      if (auto d = by_name_.find(dataset); d != by_name_.end()) return d->second;
    }
    auto c = by_name_.find(column);
    return c != by_name_.end() ? c->second : std::string();
  }

 private:
  std::optional<std::string> all_;
  column_map by_name_;
  std::map<std::string, column_map> by_dataset_;
};

struct training_args {
  std::string output_dir = "trainer_output";
  double num_train_epochs = 3.0;
  std::int64_t max_steps = -1;  ///< > 0 overrides num_train_epochs
  std::int64_t per_device_train_batch_size = 8;
  std::int64_t per_device_eval_batch_size = 8;
  double learning_rate = 5e-5;
  double weight_decay = 0.0;  ///< never applied to biases and LayerNorm weights
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double warmup_ratio = 0.0;
  std::int64_t warmup_steps = 0;  ///< wins over warmup_ratio when > 0
  sbert::lr_scheduler_type lr_scheduler_type = lr_scheduler_type::linear;
  double max_grad_norm = 1.0;  ///< 0 disables clipping
  std::int64_t gradient_accumulation_steps = 1;
  std::uint64_t seed = 42;
  bool fp16 = false;  ///< autocast to float16 with a gradient scaler (CUDA)
  bool bf16 = false;  ///< autocast to bfloat16 (CPU or CUDA)
  sbert::batch_sampler batch_sampler = batch_sampler::batch_sampler;
  /// Batches of rows with similar token lengths (transformers' LengthGroupedSampler), so the
  /// padding of each batch is short; with batch_sampler::no_duplicates, still no text twice
  /// in a batch. Tokenizes the whole training set when training starts.
  bool group_by_length = false;
  /// Each training/eval batch is padded to its longest text rounded up to a multiple of this
  /// (0 or 1: the longest, as Python's collator). Masked padding changes no result beyond
  /// float rounding (dropout draws differ); see docs/training.md for the choice of default.
  std::int64_t pad_to_multiple_of = 0;
  /// Tokenizes each text once per train() and keeps its token ids (4 bytes a token), so that
  /// later epochs and eval passes only pad; the batches are bit-identical either way.
  bool cache_tokenization = true;
  sbert::multi_dataset_batch_sampler multi_dataset_batch_sampler = multi_dataset_batch_sampler::proportional;
  interval_strategy eval_strategy = interval_strategy::no;
  std::optional<double> eval_steps;  ///< unset: logging_steps; < 1: a fraction of the total steps
  interval_strategy save_strategy = interval_strategy::steps;
  double save_steps = 500;  ///< < 1: a fraction of the total steps
  std::optional<std::int64_t> save_total_limit;
  interval_strategy logging_strategy = interval_strategy::steps;
  double logging_steps = 500;  ///< < 1: a fraction of the total steps
  bool logging_first_step = false;
  bool load_best_model_at_end = false;
  std::optional<std::string> metric_for_best_model;  ///< unset: "loss"
  std::optional<bool> greater_is_better;             ///< unset: true unless the name ends in "loss"
  bool dataloader_drop_last = false;
  /// Names the run: its TensorBoard folder is {output_dir}/runs/{run_name} (unset: the date and
  /// host, as transformers' default logging_dir), and the model card shows it.
  std::string run_name{};
  /// The TensorBoard folder itself; wins over the run_name rule when set.
  std::string logging_dir{};
  /// Where logs go besides the console and trainer_log.jsonl: "all" (transformers 4.x's
  /// default: "tensorboard" and "codecarbon", and "wandb" when WANDB_MODE=offline),
  /// "tensorboard", "codecarbon" (energy and emissions: emissions.csv, the summary and the card;
  /// see emissions.hpp), "wandb" (an offline W&B run for `wandb sync`; see wandb.hpp), or "none".
  std::vector<std::string> report_to{"all"};
  sbert::log_level log_level = log_level::info;
  bool disable_progress_bar = false;  ///< the progress line on stderr (shown only on a terminal)
  /// Prefixes for the input texts; see prompt_config.
  prompt_config prompts{};
  /// stop (default): throw, naming the step and batch; skip_step: drop that update, log a
  /// warning and count it (train_state::skipped_steps).
  non_finite_policy on_non_finite = non_finite_policy::stop;
  /// report_to "codecarbon" (or "all"): what the emissions tracker reads and the carbon
  /// intensity it uses (emissions_options::country_iso_code or carbon_intensity).
  emissions_options emissions{};
  /// Distributed data parallel (a run started by torchrun or sbert-launch, WORLD_SIZE > 1; see
  /// docs/distributed.md): the process group's backend, "gloo", "nccl" or "" (gloo on CPU, nccl
  /// when the model is on CUDA), and the seconds a rank waits for the others (rendezvous and
  /// each collective) before it fails instead of hanging. Python's defaults.
  std::string ddp_backend{};
  double ddp_timeout = 1800;
  /// The gradient all-reduce's bucket size in MiB (DDP's bucket_cap_mb; Python's None means
  /// its 25). Fractions are allowed.
  double ddp_bucket_cap_mb = 25;
  /// Overlap the gradient all-reduce with the backward pass, as DDP always does; false reduces
  /// after it (sbert's own switch, to compare the two: the gradients are the same).
  bool ddp_overlap = true;

  /// Rejects invalid combinations before training starts, with a message saying what to change.
  void validate(bool has_eval_data) const {
    auto fail = [](const std::string& m) { throw error("training_args: " + m); };
    if (per_device_train_batch_size <= 0) fail("per_device_train_batch_size must be positive");
    if (per_device_eval_batch_size <= 0) fail("per_device_eval_batch_size must be positive");
    if (gradient_accumulation_steps <= 0) fail("gradient_accumulation_steps must be positive");
    if (max_steps <= 0 && !(num_train_epochs > 0)) fail("set num_train_epochs > 0 or max_steps > 0");
    if (!(learning_rate >= 0) || !std::isfinite(learning_rate)) fail("learning_rate must be a finite number >= 0");
    if (weight_decay < 0) fail("weight_decay must be >= 0");
    if (!(adam_beta1 >= 0 && adam_beta1 < 1) || !(adam_beta2 >= 0 && adam_beta2 < 1)) fail("adam betas must lie in [0, 1)");
    if (!(adam_epsilon >= 0)) fail("adam_epsilon must be >= 0");
    if (warmup_ratio < 0 || warmup_ratio > 1) fail("warmup_ratio must lie in [0, 1]");
    if (warmup_steps < 0) fail("warmup_steps must be >= 0");
    if (max_grad_norm < 0) fail("max_grad_norm must be >= 0 (0 disables clipping)");
    if (fp16 && bf16) fail("fp16 and bf16 cannot both be set");
    if (logging_steps <= 0) fail("logging_steps must be positive");
    if (save_strategy == interval_strategy::steps && save_steps <= 0) fail("save_steps must be positive");
    if (eval_steps && *eval_steps <= 0) fail("eval_steps must be positive");
    if (eval_strategy != interval_strategy::no && !has_eval_data)
      fail("eval_strategy is set, but there is neither an eval_dataset nor an evaluator: pass one, or set eval_strategy = no");
    if (pad_to_multiple_of < 0) fail("pad_to_multiple_of must be >= 0 (0: pad to the longest text)");
    if (group_by_length && batch_sampler == batch_sampler::group_by_label)
      fail("group_by_length and batch_sampler::group_by_label each choose the rows of a batch: use one of them");
    if (batch_sampler == batch_sampler::group_by_label && per_device_train_batch_size % 2 != 0)
      fail("the group_by_label batch sampler needs an even per_device_train_batch_size");
    if (load_best_model_at_end) {
      if (eval_strategy == interval_strategy::no)
        fail("load_best_model_at_end needs an eval_strategy (steps or epoch) that matches save_strategy");
      if (save_strategy != eval_strategy)
        fail("load_best_model_at_end needs save_strategy == eval_strategy, so every evaluated step has a checkpoint");
      if (save_strategy == interval_strategy::steps && eval_steps && std::fmod(save_steps, *eval_steps) != 0)
        fail("load_best_model_at_end needs save_steps to be a multiple of eval_steps");
    }
    if (save_total_limit && *save_total_limit <= 0) fail("save_total_limit must be positive");
    if (!ddp_backend.empty() && ddp_backend != "gloo" && ddp_backend != "nccl")
      fail("ddp_backend: '" + ddp_backend + "' is not one sbert has (\"gloo\", \"nccl\", or \"\" to choose by device)");
    if (!(ddp_timeout > 0)) fail("ddp_timeout must be a positive number of seconds");
    if (!(ddp_bucket_cap_mb > 0)) fail("ddp_bucket_cap_mb must be a positive number of MiB");
    for (const auto& r : report_to)
      if (r != "all" && r != "none" && r != "tensorboard" && r != "codecarbon" && r != "wandb")
        fail("report_to: '" + r + "' is not an integration sbert has (\"tensorboard\", \"codecarbon\", \"wandb\"; or \"all\" / \"none\")");
  }

  /// Whether logs go to TensorBoard (report_to "all" or "tensorboard", and not "none").
  [[nodiscard]] bool reports_to_tensorboard() const {
    bool on = false;
    for (const auto& r : report_to) {
      if (r == "none") return false;
      on = on || r == "all" || r == "tensorboard";
    }
    return on;
  }

  /// Whether the trainer tracks energy and emissions (report_to "all" or "codecarbon", and not
  /// "none"); it does so only where emissions_tracker::readable(emissions).
  [[nodiscard]] bool reports_to_codecarbon() const {
    bool on = false;
    for (const auto& r : report_to) {
      if (r == "none") return false;
      on = on || r == "all" || r == "codecarbon";
    }
    return on;
  }

  /// Whether the trainer writes an offline W&B run (wandb.hpp): report_to "wandb", or "all" when
  /// WANDB_MODE is "offline" (Python's "all" takes wandb whenever it is installed, and wandb.init
  /// then needs a login unless WANDB_MODE=offline; sbert only writes offline runs, so "all"
  /// waits for that explicit choice). Never with "none" or WANDB_MODE=disabled, with which
  /// wandb.init writes nothing.
  [[nodiscard]] bool reports_to_wandb() const {
    const char* env = std::getenv("WANDB_MODE");
    const std::string mode = env ? env : "";
    if (mode == "disabled") return false;
    bool on = false;
    for (const auto& r : report_to) {
      if (r == "none") return false;
      on = on || r == "wandb" || (r == "all" && (mode == "offline" || mode == "dryrun"));
    }
    return on;
  }

  /// "eval_" + the metric (as the Python trainer prefixes it), and whether higher is better.
  [[nodiscard]] std::string best_metric_key() const {
    std::string m = metric_for_best_model.value_or("loss");
    return m.starts_with("eval_") ? m : "eval_" + m;
  }
  [[nodiscard]] bool higher_is_better() const {
    if (greater_is_better) return *greater_is_better;
    return !best_metric_key().ends_with("loss");
  }
};

/// The learning-rate multiplier at 0-based optimizer step `s` of `total` (transformers'
/// schedules; the first step of a warmup runs at 0).
[[nodiscard]] inline double lr_multiplier(lr_scheduler_type t, std::int64_t s, std::int64_t total, std::int64_t warmup,
                                          double lr_init = 1.0, double lr_end = 1e-7, double power = 1.0) {
  const double sd = static_cast<double>(s), w = static_cast<double>(warmup), T = static_cast<double>(total);
  auto warm = [&] { return sd / std::max(1.0, w); };
  switch (t) {
    case lr_scheduler_type::constant: return 1.0;
    case lr_scheduler_type::constant_with_warmup: return s < warmup ? warm() : 1.0;
    case lr_scheduler_type::linear:
      if (s < warmup) return warm();
      return std::max(0.0, (T - sd) / std::max(1.0, T - w));
    case lr_scheduler_type::cosine: {
      if (s < warmup) return warm();
      const double progress = (sd - w) / std::max(1.0, T - w);
      return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * 0.5 * 2.0 * progress)));
    }
    case lr_scheduler_type::polynomial: {
      if (s < warmup) return warm();
      if (sd > T) return lr_end / lr_init;
      const double pct_remaining = 1.0 - (sd - w) / std::max(1.0, T - w);
      return ((lr_init - lr_end) * std::pow(pct_remaining, power) + lr_end) / lr_init;
    }
  }
  return 1.0;
}

}  // namespace sbert
