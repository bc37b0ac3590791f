// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/training/trainer.hpp>
// The non-template heart of the trainer: epochs, gradient accumulation, clipping, AdamW, the
// learning-rate schedule, logging, evaluation, checkpoints and callbacks. The typed trainer
// only supplies "compute the loss of these rows" as a std::function, so this code is compiled
// once whatever the schema and loss (fmt's print -> vprint design).
#pragma once
#include <sbert/detail/compiled.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/stack.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/generated/variable_factories.h>

#include <sbert/detail/nested_backward.hpp>
#include <sbert/distributed/data_parallel.hpp>
#include <sbert/distributed/process_group.hpp>
#include <sbert/distributed/sampler.hpp>
#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/models/sentence_transformer.hpp>
#include <sbert/samplers/sampler.hpp>
#include <sbert/training/arguments.hpp>
#include <sbert/training/callbacks.hpp>
#include <sbert/training/detail/checkpoint.hpp>
#include <sbert/training/emissions.hpp>
#include <sbert/training/optimizer.hpp>
#include <sbert/training/tensorboard.hpp>
#include <sbert/training/wandb.hpp>

namespace sbert {

/// Any evaluator, erased: (model, output_path, epoch, steps) -> metrics with "{name}_" keys.
using evaluator_fn =
    std::function<std::map<std::string, double>(models::sentence_transformer&, const std::string&, int, int)>;

namespace detail {

/// The loss of one batch, with its named parts when the loss has several.
struct step_loss {
  at::Tensor loss;
  std::vector<std::pair<std::string, at::Tensor>> parts;
  std::size_t rows = 0;
};

/// An evaluation data set: its name ("" for a single one: metric "eval_loss"; otherwise
/// "eval_{name}_loss"), its row count, and the loss of some of its rows.
struct eval_set {
  std::string name;
  std::size_t rows = 0;
  std::function<step_loss(const std::vector<std::size_t>& rows)> batch;
};

/// What the typed trainer hands to the core.
struct trainer_hooks {
  std::function<step_loss(const std::vector<std::size_t>& rows)> train_batch;
  std::vector<eval_set> eval_sets;
  /// The training batch sampler for these arguments (the core passes the global batch size in
  /// a data-parallel run).
  std::function<std::shared_ptr<batch_sampler_base>(const training_args&)> make_sampler;
  std::vector<named_parameter> loss_parameters;
  evaluator_fn evaluator;
  std::string loss_name;
  /// Writes README.md (the model card) into a saved model folder; empty: no card.
  std::function<void(const std::string& dir, const train_state&)> write_card;
};

/// Autocast for one forward pass (bf16 on CPU or CUDA, fp16 on CUDA), restored on exit.
class autocast_scope {
 public:
  autocast_scope(bool fp16, bool bf16, bool cuda) : active_(fp16 || bf16), cuda_(cuda) {
    if (!active_) return;
    if (cuda_) {
      prev_ = at::autocast::is_enabled();
      at::autocast::set_autocast_gpu_dtype(fp16 ? at::kHalf : at::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      if (fp16) throw error("fp16 autocast needs a CUDA device; on CPU use bf16");
      prev_ = at::autocast::is_cpu_enabled();
      at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    at::autocast::increment_nesting();
  }
  ~autocast_scope() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (cuda_) at::autocast::set_enabled(prev_);
    else at::autocast::set_cpu_enabled(prev_);
  }
  autocast_scope(const autocast_scope&) = delete;
  autocast_scope& operator=(const autocast_scope&) = delete;

 private:
  bool active_, cuda_, prev_ = false;
};

/// A log record as the Python trainer prints it: `{'loss': 0.5, 'learning_rate': 5e-05,
/// 'epoch': 0.33}` (Python's float repr, the epoch rounded to 2 places, no "step").
#if SBERT_DEFINITIONS
SBERT_INLINE std::string console_line(const log_record& r) {
  std::string out = "{";
  for (const auto& [k, v] : r) {
    if (k == "step") continue;
    const double x = k == "epoch" ? std::round(v * 100.0) / 100.0 : v;
    if (out.size() > 1) out += ", ";
    out += "'" + k + "': ";
    if (std::isnan(x)) out += "nan";
    else if (std::isinf(x)) out += x > 0 ? "inf" : "-inf";
    else out += json::python_float(x);
  }
  return out + "}";
}
#else
std::string console_line(const log_record& r);
#endif

inline std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

/// Rank 0's metrics into every rank's map: the keys as one byte buffer, then the values.
#if SBERT_DEFINITIONS
SBERT_INLINE void broadcast_metrics(distributed::process_group& g, std::map<std::string, double>& m) {
  std::string keys;
  for (const auto& [k, v] : m) keys += k + '\0';
  at::Tensor sizes = at::zeros({2}, at::kLong);
  sizes.data_ptr<std::int64_t>()[0] = static_cast<std::int64_t>(keys.size());
  sizes.data_ptr<std::int64_t>()[1] = static_cast<std::int64_t>(m.size());
  std::vector<at::Tensor> sv{sizes};
  g.broadcast(sv);
  const auto nbytes = sv[0].data_ptr<std::int64_t>()[0], nvals = sv[0].data_ptr<std::int64_t>()[1];
  if (nvals == 0) {
    m.clear();
    return;
  }
  at::Tensor bytes = at::zeros({nbytes}, at::kByte), vals = at::zeros({nvals}, at::kDouble);
  if (g.rank() == 0) {
    std::memcpy(bytes.data_ptr<std::uint8_t>(), keys.data(), keys.size());
    std::int64_t i = 0;
    for (const auto& [k, v] : m) vals.data_ptr<double>()[i++] = v;
  }
  std::vector<at::Tensor> bv{bytes, vals};
  g.broadcast(bv);
  if (g.rank() == 0) return;
  m.clear();
  const char* p = reinterpret_cast<const char*>(bv[0].data_ptr<std::uint8_t>());
  const double* v = bv[1].data_ptr<double>();
  std::int64_t off = 0;
  for (std::int64_t i = 0; i < nvals; ++i) {
    std::string k(p + off);
    off += static_cast<std::int64_t>(k.size()) + 1;
    m[k] = v[i];
  }
}
#else
void broadcast_metrics(distributed::process_group& g, std::map<std::string, double>& m);
#endif

class trainer_core {
 public:
  trainer_core(std::shared_ptr<models::sentence_transformer> model, training_args args, trainer_hooks hooks)
      : model_(std::move(model)), args_(std::move(args)), hooks_(std::move(hooks)) {
    if (!model_) throw error("trainer: the model is null");
  }

  void add_callback(callback c) { callbacks_.push_back(std::move(c)); }

  /// What the optimizer trains: the model's parameters and the loss's own (e.g. SoftmaxLoss's
  /// classifier), each tensor once (a loss may hold the model's weights, and one loss may
  /// serve several data sets). The names pick the decay group (no decay for biases and
  /// LayerNorm) and key the checkpoint.
  [[nodiscard]] std::vector<named_parameter> parameters() const;
  void set_hooks(trainer_hooks h) { hooks_ = std::move(h); }
  [[nodiscard]] train_state& state() { return state_; }
  [[nodiscard]] const training_args& args() const { return args_; }
  [[nodiscard]] models::sentence_transformer& model() { return *model_; }

  /// Trains; with `resume_from` (a checkpoint folder, or "latest" for the newest one in
  /// output_dir) it continues that run exactly where the checkpoint left it.
  train_result train(const std::string& resume_from = {});

  /// eval_loss on the eval data set (if any) and the evaluator's metrics, with "eval_" keys.
  std::map<std::string, double> evaluate();

 private:
  [[nodiscard]] double schedule(std::int64_t step) const {
    return lr_multiplier(args_.lr_scheduler_type, step, max_steps_, warmup_, args_.learning_rate);
  }
  [[nodiscard]] std::int64_t resolve_steps(double v) const {
    if (v < 1) return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(v * static_cast<double>(max_steps_))));
    return static_cast<std::int64_t>(v);
  }

  // The total gradient norm before clipping (as logged), then clip to max_grad_norm.
  std::optional<double> clip_gradients();

  void log_training(adamw& opt, const std::optional<double>& grad_norm);

  void warn_skip(const char* what, double v, const std::vector<std::size_t>& rows) {
    if (args_.log_level == log_level::error) return;
    clear_progress();
    std::fprintf(stderr, "sbert: skipping an update: %s\n", non_finite_message(what, v, rows).c_str());
  }

  /// The TensorBoard folder: logging_dir, else {output_dir}/runs/{run_name, or date_host}.
  [[nodiscard]] std::string tensorboard_dir() const {
    if (!args_.logging_dir.empty()) return args_.logging_dir;
    if (!args_.run_name.empty()) return (std::filesystem::path(args_.output_dir) / "runs" / args_.run_name).string();
    return tensorboard::default_log_dir(args_.output_dir);
  }

  // Wipes the progress line, so a message does not land in the middle of it (the next step
  // redraws it).
  void clear_progress() {
    if (!progress_shown_) return;
    std::fputs("\r\033[2K", stderr);
    std::fflush(stderr);
  }

  // Every learnable tensor of the loss comes back from the checkpoint, matched by name and
  // shape; a name on one side only (e.g. a checkpoint written before the loss named its
  // weights, as "loss.0") is an error, not a silently untrained resume.
  void restore_loss_parameters(const std::filesystem::path& file);

  void resume(std::string dir, adamw& opt);

  void copy_parameters_from(const std::string& dir);

  // fp16: unscale the gradients; false (skip the step, shrink the scale) when any is not finite.
  bool unscale();

  std::string non_finite_message(const char* what, double v, const std::vector<std::size_t>& rows) const;

  void log(log_record r);

  void evaluate_and_track();

  [[nodiscard]] std::string checkpoint_dir(std::int64_t step) const {
    return (std::filesystem::path(args_.output_dir) / ("checkpoint-" + std::to_string(step))).string();
  }

  void save_checkpoint();
  void write_checkpoint(const std::vector<at::Tensor>& rank_rng = {});

  // Keep the newest save_total_limit checkpoints, never deleting the best one.
  void rotate_checkpoints();

  // Rank 0 reads the best checkpoint (only it wrote one) and hands its weights to the others.
  void load_best() {
    if (main_process()) copy_parameters_from(state_.best_model_checkpoint);
    if (dist_) distributed::broadcast_tensors(*dist_, param_tensors());
  }

  void progress(std::int64_t step, double loss, std::int64_t samples, std::chrono::steady_clock::time_point t0);

  std::shared_ptr<models::sentence_transformer> model_;
  training_args args_;
  trainer_hooks hooks_;
  std::vector<callback> callbacks_;
  std::vector<callback> reporters_;  // report_to's integrations, set up by each train()
  train_state state_;
  std::vector<named_parameter> params_;
  std::int64_t warmup_ = 0, max_steps_ = 0, logging_steps_ = 1, eval_steps_ = 1, save_steps_ = 1;
  bool progress_shown_ = false, skipped_batch_ = false;
  running_totals rt_;
  adamw* opt_ = nullptr;  // the optimizer of the running train(), for checkpoints
  std::optional<emissions_tracker> emissions_;  // report_to "codecarbon" / "all", during train()
  // The data-parallel group of this train() (null: one process). Only rank 0 writes files,
  // prints and runs evaluators; every rank makes the same collective calls in the same order.
  std::shared_ptr<distributed::process_group> dist_;
  [[nodiscard]] bool main_process() const { return !dist_ || dist_->rank() == 0; }
  // The parameters of params_, for the collectives.
  [[nodiscard]] std::vector<at::Tensor> param_tensors() const {
    std::vector<at::Tensor> out;
    for (const auto& p : params_) out.push_back(p.tensor);
    return out;
  }
};

#if SBERT_DEFINITIONS

SBERT_INLINE std::vector<named_parameter> trainer_core::parameters() const {
  std::vector<named_parameter> params;
  std::unordered_set<const void*> seen;
  auto add = [&](const std::string& name, const at::Tensor& t) {
    if (seen.insert(t.unsafeGetTensorImpl()).second) params.push_back({name, t});
  };
  for (const auto& item : model_->named_parameters(true))
    if (item.value().requires_grad()) add(item.key(), item.value());
  for (const auto& p : hooks_.loss_parameters) add(p.name, p.tensor);
  return params;
}

SBERT_INLINE train_result trainer_core::train(const std::string& resume_from) {
  const bool has_eval = !hooks_.eval_sets.empty() || static_cast<bool>(hooks_.evaluator);
  args_.validate(has_eval);
  // A run that torchrun or sbert-launch started (WORLD_SIZE > 1) trains data-parallel.
  dist_ = distributed::init_process_group(args_.ddp_backend,
                                          std::chrono::milliseconds(static_cast<std::int64_t>(args_.ddp_timeout * 1000)),
                                          model_->device().is_cuda());
  if (dist_ && dist_->size() <= 1) dist_.reset();
  if (main_process()) std::filesystem::create_directories(args_.output_dir);
  at::manual_seed(args_.seed);
  std::shared_ptr<batch_sampler_base> sampler;
  if (dist_) {
    // The sampler draws global batches (world_size times the per-device size) and this rank
    // takes its slice of each, so the sampler's rules hold over the global batch.
    auto global = args_;
    global.per_device_train_batch_size *= dist_->size();
    sampler = std::make_shared<distributed::distributed_batch_sampler>(hooks_.make_sampler(global), dist_->rank(), dist_->size());
  } else {
    sampler = hooks_.make_sampler(args_);
  }
  const std::int64_t steps_in_epoch = static_cast<std::int64_t>(sampler->size());
  if (steps_in_epoch == 0) throw error("trainer: the training data set gives no batch (empty, or smaller than one batch with dataloader_drop_last)");
  const std::int64_t accum = args_.gradient_accumulation_steps;
  const std::int64_t updates_per_epoch = std::max<std::int64_t>(1, steps_in_epoch / accum);
  const std::int64_t max_steps = args_.max_steps > 0
      ? args_.max_steps
      : static_cast<std::int64_t>(std::ceil(args_.num_train_epochs * static_cast<double>(updates_per_epoch)));
  const std::int64_t num_epochs = args_.max_steps > 0
      ? (max_steps + updates_per_epoch - 1) / updates_per_epoch
      : static_cast<std::int64_t>(std::ceil(args_.num_train_epochs));
  warmup_ = args_.warmup_steps > 0 ? args_.warmup_steps
                                   : static_cast<std::int64_t>(std::ceil(args_.warmup_ratio * static_cast<double>(max_steps)));
  max_steps_ = max_steps;
  logging_steps_ = resolve_steps(args_.logging_steps);
  eval_steps_ = resolve_steps(args_.eval_steps.value_or(args_.logging_steps));
  save_steps_ = resolve_steps(args_.save_steps);
  state_ = train_state{};
  state_.max_steps = max_steps;
  state_.num_train_epochs = num_epochs;
  rt_ = running_totals{};

  const auto params = parameters();
  params_ = params;
  // Every rank starts from rank 0's weights (as DDP's constructor broadcasts them).
  if (dist_) distributed::broadcast_tensors(*dist_, param_tensors());
  reporters_.clear();
  if (main_process() && args_.reports_to_tensorboard()) reporters_.push_back(tensorboard_callback(tensorboard_dir()));
  if (main_process() && args_.reports_to_wandb()) {
    // transformers' WandbCallback config: the args and model/num_parameters; sbert adds the
    // model's modules and the loss, which the Python run shows only through model.config.
    auto o = wandb::options_for(args_);
    std::string arch = "SentenceTransformer(";
    for (std::size_t i = 0; i < model_->modules_list().size(); ++i)
      arch += (i ? ", " : "") + std::to_string(i) + ": " + model_->modules_list()[i]->class_name();
    std::int64_t n_params = 0;
    for (const auto& item : model_->named_parameters(true)) n_params += item.value().numel();
    o.config.emplace_back("model", arch + ")");
    o.config.emplace_back("loss", hooks_.loss_name);
    o.config.emplace_back("model/num_parameters", n_params);
    reporters_.push_back(wandb_callback(std::move(o)));
  }
  emissions_.reset();
  if (main_process() && args_.reports_to_codecarbon() && emissions_tracker::readable(args_.emissions)) {
    emissions_.emplace(args_.emissions);
    emissions_->start();
  }
  adamw opt(params, {.lr = args_.learning_rate,
                     .beta1 = args_.adam_beta1,
                     .beta2 = args_.adam_beta2,
                     .eps = args_.adam_epsilon,
                     .weight_decay = args_.weight_decay});
  opt_ = &opt;
  if (!resume_from.empty()) resume(resume_from, opt);
  // The gradient all-reduce's buckets, overlapped with the backward pass (DDP's Reducer).
  const auto bucket_bytes = static_cast<std::int64_t>(args_.ddp_bucket_cap_mb * (1 << 20));
  std::unique_ptr<distributed::gradient_reducer> reducer;
  if (dist_ && args_.ddp_overlap) reducer = std::make_unique<distributed::gradient_reducer>(*dist_, param_tensors(), bucket_bytes);
  opt.set_lr(args_.learning_rate * schedule(state_.global_step));
  const bool cuda = model_->device().is_cuda();
  model_->train();

  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t samples_before = rt_.samples;
  bool stop = state_.global_step >= max_steps;
  std::optional<double> last_grad_norm;
  double step_loss_acc = 0;
  for (std::int64_t epoch = rt_.epoch_index; epoch < num_epochs && !stop; ++epoch) {
    const batch_list batches = sampler->batches(static_cast<std::uint64_t>(epoch));
    const auto n_b = static_cast<std::int64_t>(batches.size());
    const std::int64_t first = epoch == rt_.epoch_index ? rt_.next_batch : 0;
    for (std::int64_t i = first; i < n_b && !stop; ++i) {
      const auto& rows = batches[static_cast<std::size_t>(i)];
      step_loss sl;
      const auto nested_before = nested_backward_graphs();
      {
        autocast_scope ac(args_.fp16, args_.bf16, cuda);
        sl = hooks_.train_batch(rows);
      }
      const bool nested = nested_backward_graphs() != nested_before;
      double value = sl.loss.detach().to(at::kDouble).item<double>();
      std::size_t batch_rows = sl.rows;
      if (dist_) {
        // The global batch's loss (the mean of the ranks', as the averaged gradients train
        // it), its rows, and whether any rank's loss is not finite: every rank then takes the
        // same decision, and a gathering loss's backward (a collective) runs on all or none.
        const bool finite = std::isfinite(value);
        at::Tensor t = at::zeros({3}, at::kDouble);
        auto* d = t.data_ptr<double>();
        d[0] = finite ? value : 0.0;
        d[1] = finite ? 0.0 : 1.0;
        d[2] = static_cast<double>(sl.rows);
        std::vector<at::Tensor> tv{t};
        dist_->all_reduce_sum(tv);
        d = tv[0].data_ptr<double>();
        value = d[1] > 0 ? (finite ? std::numeric_limits<double>::quiet_NaN() : value) : d[0] / static_cast<double>(dist_->size());
        batch_rows = static_cast<std::size_t>(d[2]);
      }
      bool bad_update = !std::isfinite(value);
      bool overlapped = false;
      if (bad_update && args_.on_non_finite == non_finite_policy::stop) throw error(non_finite_message("loss", value, rows));
      if (!bad_update) {
        at::Tensor scaled = sl.loss / static_cast<double>(accum);
        if (args_.fp16) scaled = scaled * rt_.scaler_scale;
        // The last micro-step of an update that is not skipped: reduce during the backward pass
        // (every rank takes the same branch: skipped_batch_ and bad_update agree).
        if (reducer && !skipped_batch_ && ((i + 1) % accum == 0 || i + 1 == n_b)) overlapped = reducer->prepare(scaled, nested);
        scaled.backward();
        rt_.loss_since_log += value / static_cast<double>(accum);
        step_loss_acc += value / static_cast<double>(accum);
        for (const auto& [name, t] : sl.parts) {
          auto& [sum, count] = rt_.parts[name];
          sum += t.detach().to(at::kDouble).item<double>();
          ++count;
        }
      } else {
        skipped_batch_ = true;
        warn_skip("loss", value, rows);
      }
      rt_.samples += static_cast<std::int64_t>(batch_rows);
      if ((i + 1) % accum != 0 && i + 1 != n_b) continue;  // no gradient reduce on these micro-steps

      // optimizer step
      state_.step_loss = step_loss_acc;
      step_loss_acc = 0;
      state_.step_learning_rate = opt.lr();
      bool skip = skipped_batch_;
      skipped_batch_ = false;
      // Sum and average the gradients over the ranks (skipped_batch_ agrees on every rank).
      if (overlapped) reducer->finish();
      else if (!skip && dist_) distributed::all_reduce_gradients(*dist_, param_tensors(), bucket_bytes);
      if (!skip && args_.fp16) skip = !unscale();
      if (!skip) {
        last_grad_norm = clip_gradients();
        if (last_grad_norm && !std::isfinite(*last_grad_norm)) {
          if (args_.on_non_finite == non_finite_policy::stop) throw error(non_finite_message("gradient norm", *last_grad_norm, rows));
          warn_skip("gradient norm", *last_grad_norm, rows);
          skip = true;
        }
      }
      if (!skip) {
        for (auto& c : callbacks_)
          if (c.on_pre_optimizer_step) c.on_pre_optimizer_step(state_);
        opt.step();
      } else {
        ++state_.skipped_steps;
      }
      opt.zero_grad();
      state_.step_grad_norm = last_grad_norm;
      ++state_.global_step;
      opt.set_lr(args_.learning_rate * schedule(state_.global_step));
      state_.epoch = static_cast<double>(epoch) + static_cast<double>(i + 1) / static_cast<double>(n_b);
      rt_.epoch_index = epoch;
      rt_.next_batch = i + 1;
      const std::int64_t step = state_.global_step;
      progress(step, rt_.loss_since_log / static_cast<double>(std::max<std::int64_t>(1, step - rt_.last_logged)),
               rt_.samples - samples_before, t0);

      const bool last = step >= max_steps;
      if ((args_.logging_strategy == interval_strategy::steps && step % logging_steps_ == 0) ||
          (args_.logging_first_step && step == 1))
        log_training(opt, last_grad_norm);
      if (args_.eval_strategy == interval_strategy::steps && step % eval_steps_ == 0) evaluate_and_track();
      if (args_.save_strategy == interval_strategy::steps && (step % save_steps_ == 0 || last)) save_checkpoint();
      if (emissions_) emissions_->sample();  // reads the counters every sample_interval_s
      for (auto& c : callbacks_)
        if (c.on_step_end) c.on_step_end(state_);
      stop = last || state_.should_stop;
    }
    if (stop && rt_.next_batch < n_b) break;  // stopped inside the epoch: no epoch-end work
    if (args_.logging_strategy == interval_strategy::epoch) log_training(opt, last_grad_norm);
    rt_.epoch_index = epoch + 1;
    rt_.next_batch = 0;
    if (args_.eval_strategy == interval_strategy::epoch) evaluate_and_track();
    if (args_.save_strategy == interval_strategy::epoch) save_checkpoint();
    stop = stop || state_.should_stop;  // e.g. early stopping after an epoch-end evaluation
  }
  rt_.loss_total += rt_.loss_since_log;
  if (progress_shown_) std::fputc('\n', stderr);
  progress_shown_ = false;

  if (args_.load_best_model_at_end && !state_.best_model_checkpoint.empty()) load_best();
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  train_result res;
  res.global_step = state_.global_step;
  res.training_loss = state_.global_step ? rt_.loss_total / static_cast<double>(state_.global_step) : 0.0;
  res.metrics = {{"train_runtime", std::round(runtime * 1e4) / 1e4},
                 {"train_samples_per_second", std::round(static_cast<double>(rt_.samples - samples_before) / runtime * 1e3) / 1e3},
                 {"train_steps_per_second", std::round(static_cast<double>(state_.global_step) / runtime * 1e3) / 1e3},
                 {"train_loss", res.training_loss}};
  if (emissions_) {  // CodeCarbon's totals: kg CO2eq and kWh, also in emissions.csv
    state_.emissions = emissions_->stop();
    append_emissions_csv((std::filesystem::path(args_.output_dir) / "emissions.csv").string(), *state_.emissions);
    res.metrics.emplace_back("train_emissions", state_.emissions->emissions);
    res.metrics.emplace_back("train_energy_consumed", state_.emissions->energy_consumed);
    emissions_.reset();
  }
  res.metrics.emplace_back("epoch", state_.epoch);
  log(res.metrics);
  for (auto* list : {&reporters_, &callbacks_})
    for (auto& c : *list)
      if (c.on_train_end) c.on_train_end(state_);
  opt_ = nullptr;
  return res;
}

SBERT_INLINE std::map<std::string, double> trainer_core::evaluate() {
  std::map<std::string, double> metrics;
  const bool was_training = model_->is_training();
  model_->eval();
  {
    c10::NoGradGuard no_grad;
    for (const auto& set : hooks_.eval_sets) {
      if (!set.rows) continue;
      const auto t0 = std::chrono::steady_clock::now();
      double sum = 0;
      std::size_t rows = 0;
      const auto bs = static_cast<std::size_t>(args_.per_device_eval_batch_size);
      for (std::size_t b = 0; b < set.rows; b += bs) {
        std::vector<std::size_t> idx;
        for (std::size_t r = b; r < std::min(set.rows, b + bs); ++r) idx.push_back(r);
        autocast_scope ac(args_.fp16, args_.bf16, model_->device().is_cuda());
        auto sl = set.batch(idx);
        sum += sl.loss.detach().to(at::kDouble).item<double>() * static_cast<double>(idx.size());
        rows += idx.size();
      }
      const std::string prefix = set.name.empty() ? "eval_" : "eval_" + set.name + "_";
      metrics[prefix + "loss"] = sum / static_cast<double>(rows);
      metrics[prefix + "runtime"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  if (hooks_.evaluator) {
    const auto path = (std::filesystem::path(args_.output_dir) / "eval").string();
    std::filesystem::create_directories(path);
    for (const auto& [k, v] : hooks_.evaluator(*model_, path, static_cast<int>(state_.epoch), static_cast<int>(state_.global_step)))
      metrics["eval_" + k] = v;
  }
  if (was_training) model_->train();
  return metrics;
}

SBERT_INLINE std::optional<double> trainer_core::clip_gradients() {
  if (args_.max_grad_norm <= 0) return std::nullopt;
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (auto& p : params_)
    if (p.tensor.grad().defined()) norms.push_back(p.tensor.grad().detach().norm(2));
  if (norms.empty()) return 0.0;
  const at::Tensor total = at::stack(norms).norm(2);
  const at::Tensor coef = (args_.max_grad_norm / (total + 1e-6)).clamp_max(1.0);
  for (auto& p : params_)
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().mul_(coef.to(p.tensor.grad().device()));
  return total.item<double>();
}

SBERT_INLINE void trainer_core::log_training(adamw& opt, const std::optional<double>& grad_norm) {
  const double n = static_cast<double>(std::max<std::int64_t>(1, state_.global_step - rt_.last_logged));
  log_record r{{"loss", std::round(rt_.loss_since_log / n * 1e4) / 1e4}};
  // named loss parts and per-dataset losses: the mean over the micro-batches that had them
  for (const auto& [k, v] : rt_.parts) r.emplace_back(k, std::round(v.first / static_cast<double>(v.second) * 1e4) / 1e4);
  if (grad_norm) r.emplace_back("grad_norm", *grad_norm);
  r.emplace_back("learning_rate", opt.lr());
  r.emplace_back("epoch", state_.epoch);
  rt_.loss_total += rt_.loss_since_log;
  rt_.loss_since_log = 0;
  rt_.parts.clear();
  rt_.last_logged = state_.global_step;
  log(std::move(r));
}

SBERT_INLINE void trainer_core::restore_loss_parameters(const std::filesystem::path& file) {
  if (hooks_.loss_parameters.empty()) return;
  if (!std::filesystem::exists(file))
    throw error("resume_from_checkpoint: " + file.string() + " does not exist, and the loss has learnable weights");
  auto saved = safetensors::load_file(file.string());
  std::string missing, extra;
  for (const auto& lp : hooks_.loss_parameters)
    if (std::none_of(saved.begin(), saved.end(), [&](const auto& kv) { return kv.first == lp.name; }))
      missing += (missing.empty() ? "" : ", ") + lp.name;
  for (const auto& [name, t] : saved)
    if (std::none_of(hooks_.loss_parameters.begin(), hooks_.loss_parameters.end(),
                     [&](const named_parameter& lp) { return lp.name == name; }))
      extra += (extra.empty() ? "" : ", ") + name;
  if (!missing.empty() || !extra.empty())
    throw error("resume_from_checkpoint: " + file.string() + " does not hold this loss's weights (missing: " +
                (missing.empty() ? "none" : missing) + "; not in the loss: " + (extra.empty() ? "none" : extra) +
                "): was it written for another loss, or by a version that named them loss.N?");
  c10::NoGradGuard no_grad;
  for (auto& lp : hooks_.loss_parameters)
    for (auto& [name, t] : saved)
      if (name == lp.name) {
        if (t.sizes() != lp.tensor.sizes())
          throw error("resume_from_checkpoint: " + file.string() + ": " + name + " has another shape than the loss's");
        lp.tensor.copy_(t);
      }
}

SBERT_INLINE void trainer_core::resume(std::string dir, adamw& opt) {
  if (dir == "latest") {
    dir = latest_checkpoint(args_.output_dir);
    if (dir.empty()) throw error("resume_from_checkpoint: no checkpoint-* folder in " + args_.output_dir);
  }
  const auto p = std::filesystem::path(dir);
  if (!std::filesystem::exists(p / "trainer_state.json"))
    throw error("resume_from_checkpoint: " + dir + " has no trainer_state.json: not a complete checkpoint");
  // the state is read and its layout checked first, so a refused resume changes nothing
  const auto state_path = (p / "trainer_state.json").string();
  train_state st = state_;  // what the file does not hold stays as it is
  running_totals rt = rt_;
  const auto layout = read_state(state_path, st, rt);
  check_resume_layout(layout, state_path, args_.per_device_train_batch_size, dist_ ? dist_->size() : 1,
                      args_.gradient_accumulation_steps);
  copy_parameters_from(dir);
  restore_loss_parameters(p / "loss_parameters.safetensors");
  if (std::filesystem::exists(p / "optimizer.safetensors")) load_optimizer((p / "optimizer.safetensors").string(), opt);
  if (std::filesystem::exists(p / "rng_state.safetensors"))
    load_rng((p / "rng_state.safetensors").string(), dist_ ? dist_->rank() : 0);
  state_ = std::move(st);
  rt_ = std::move(rt);
  // the log file restarts from the checkpoint's history
  if (!main_process()) return;
  std::ofstream f(std::filesystem::path(args_.output_dir) / "trainer_log.jsonl", std::ios::trunc);
  for (const auto& r : state_.log_history) f << json::dump(record_json(r)) << '\n';
}

SBERT_INLINE void trainer_core::copy_parameters_from(const std::string& dir) {
  auto src_model = models::sentence_transformer::load(dir);
  c10::NoGradGuard no_grad;
  auto src = src_model->named_parameters(true);
  for (auto& item : model_->named_parameters(true)) {
    const auto* p = src.find(item.key());
    if (!p) throw error(dir + ": the checkpoint has no parameter " + item.key() + " (a different model?)");
    if (p->sizes() != item.value().sizes()) throw error(dir + ": parameter " + item.key() + " has another shape");
    item.value().copy_(*p);
  }
}

SBERT_INLINE bool trainer_core::unscale() {
  double& scale = rt_.scaler_scale;
  std::int64_t& good = rt_.scaler_good_steps;
  c10::NoGradGuard no_grad;
  bool finite = true;
  for (auto& p : params_) {
    if (!p.tensor.grad().defined()) continue;
    p.tensor.mutable_grad().div_(scale);
    finite = finite && at::isfinite(p.tensor.grad()).all().item<bool>();
  }
  if (!finite) {
    scale *= 0.5;
    good = 0;
    return false;
  }
  if (++good == 2000) {  // GradScaler's growth_interval
    scale *= 2.0;
    good = 0;
  }
  return true;
}

SBERT_INLINE std::string trainer_core::non_finite_message(const char* what, double v,
                                                          const std::vector<std::size_t>& rows) const {
  std::string r;
  for (std::size_t k = 0; k < rows.size() && k < 16; ++k) r += (k ? ", " : "") + std::to_string(rows[k]);
  if (rows.size() > 16) r += ", ...";
  return std::string("trainer: the ") + what + " is " + std::to_string(v) + " at step " +
         std::to_string(state_.global_step + 1) + " (batch rows " + r +
         "); training stopped rather than train on it (training_args::on_non_finite = skip_step drops such updates instead)";
}

SBERT_INLINE void trainer_core::log(log_record r) {
  r.emplace_back("step", static_cast<double>(state_.global_step));
  state_.log_history.push_back(r);
  if (main_process())
    if (std::ofstream f(std::filesystem::path(args_.output_dir) / "trainer_log.jsonl", std::ios::app); f)
      f << json::dump(record_json(r)) << '\n';
  if (args_.log_level == log_level::info && main_process()) {  // stdout, terminal or not, as Python prints them
    clear_progress();
    std::printf("%s\n", console_line(r).c_str());
    std::fflush(stdout);
  }
  for (auto* list : {&reporters_, &callbacks_})
    for (auto& c : *list)
      if (c.on_log) c.on_log(state_, r);
}

SBERT_INLINE void trainer_core::evaluate_and_track() {
  // Rank 0 evaluates (evaluators write their CSVs once) and hands the results to the others,
  // so early stopping and the best checkpoint agree on every rank.
  std::map<std::string, double> metrics;
  if (main_process()) metrics = evaluate();
  if (dist_) broadcast_metrics(*dist_, metrics);
  if (metrics.empty()) return;
  log_record r(metrics.begin(), metrics.end());
  r.emplace_back("epoch", state_.epoch);
  log(r);
  for (auto& c : callbacks_)
    if (c.on_evaluate) c.on_evaluate(state_, metrics);
  const auto key = args_.best_metric_key();
  if (auto it = metrics.find(key); it != metrics.end()) {
    const bool better = !state_.best_metric ||
                        (args_.higher_is_better() ? it->second > *state_.best_metric : it->second < *state_.best_metric);
    if (better) {
      state_.best_metric = it->second;
      state_.best_model_checkpoint = checkpoint_dir(state_.global_step);
    }
  }
}

SBERT_INLINE void trainer_core::save_checkpoint() {
  // Rank 0 alone writes (every rank's RNG state, gathered); the others wait until the
  // checkpoint is complete.
  std::vector<at::Tensor> rng;
  if (dist_) rng = dist_->all_gather(rng_state_now());
  if (!main_process()) {
    dist_->barrier();
    return;
  }
  write_checkpoint(rng);
  if (dist_) dist_->barrier();
}

SBERT_INLINE void trainer_core::write_checkpoint(const std::vector<at::Tensor>& rank_rng) {
  const std::string dir = checkpoint_dir(state_.global_step);
  if (std::filesystem::exists(dir)) return;  // already saved at this step
  // Written under a temporary name and renamed when complete, so a crash never leaves a
  // half-written checkpoint that looks finished.
  const std::string tmp = dir + ".tmp";
  std::filesystem::remove_all(tmp);
  std::filesystem::create_directories(tmp);
  model_->save(tmp);
  if (emissions_) state_.emissions = emissions_->data();  // the card shows the run so far
  if (hooks_.write_card) hooks_.write_card(tmp, state_);
  if (opt_) save_optimizer((std::filesystem::path(tmp) / "optimizer.safetensors").string(), *opt_);
  save_rng((std::filesystem::path(tmp) / "rng_state.safetensors").string(), rank_rng);
  if (!hooks_.loss_parameters.empty()) {
    std::vector<std::pair<std::string, at::Tensor>> lp;
    for (const auto& p : hooks_.loss_parameters) lp.emplace_back(p.name, p.tensor);
    safetensors::save_file((std::filesystem::path(tmp) / "loss_parameters.safetensors").string(), lp);
  }
  // written last: its presence marks the checkpoint complete
  std::ofstream(std::filesystem::path(tmp) / "trainer_state.json")
      << json::dump(state_json(state_, rt_, logging_steps_, eval_steps_, save_steps_, args_.per_device_train_batch_size,
                            dist_ ? dist_->size() : 1, args_.gradient_accumulation_steps), {.indent = 2})
      << '\n';
  std::filesystem::rename(tmp, dir);
  for (auto& c : callbacks_)
    if (c.on_save) c.on_save(state_, dir);
  rotate_checkpoints();
}

SBERT_INLINE void trainer_core::rotate_checkpoints() {
  if (!args_.save_total_limit) return;
  std::vector<std::pair<std::int64_t, std::filesystem::path>> found;
  for (const auto& e : std::filesystem::directory_iterator(args_.output_dir)) {
    const auto name = e.path().filename().string();
    if (!e.is_directory() || !name.starts_with("checkpoint-") || name.ends_with(".tmp")) continue;
    try {
      found.emplace_back(std::stoll(name.substr(11)), e.path());
    } catch (...) {
    }
  }
  std::sort(found.begin(), found.end());
  auto limit = static_cast<std::size_t>(*args_.save_total_limit);
  // with load_best_model_at_end and a limit of 1, keep room for the best one too
  if (limit == 1 && args_.load_best_model_at_end && !state_.best_model_checkpoint.empty() &&
      found.size() > 0 && found.back().second.string() != state_.best_model_checkpoint)
    limit = 2;
  std::size_t excess = found.size() > limit ? found.size() - limit : 0;
  for (std::size_t k = 0; k < found.size() && excess > 0; ++k) {
    if (found[k].second.string() == state_.best_model_checkpoint) continue;
    std::filesystem::remove_all(found[k].second);
    --excess;
  }
}

SBERT_INLINE void trainer_core::progress(std::int64_t step, double loss, std::int64_t samples,
                                         std::chrono::steady_clock::time_point t0) {
  if (args_.disable_progress_bar || !isatty(2) || !main_process()) return;
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double eta = el / static_cast<double>(step) * static_cast<double>(max_steps_ - step);
  std::fprintf(stderr, "\r%lld/%lld [%3.0f%%] loss %.4f | %.1f samples/s | elapsed %s | ETA %s   ",
               static_cast<long long>(step), static_cast<long long>(max_steps_),
               100.0 * static_cast<double>(step) / static_cast<double>(max_steps_), loss,
               static_cast<double>(samples) / el, format_duration(el).c_str(), format_duration(eta).c_str());
  progress_shown_ = true;
}
#endif  // SBERT_DEFINITIONS

}  // namespace detail
}  // namespace sbert
