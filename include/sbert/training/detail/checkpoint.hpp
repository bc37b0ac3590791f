// SPDX-License-Identifier: Apache-2.0
// IWYU pragma: private, include <sbert/training/trainer.hpp>
// What a checkpoint-{step}/ folder holds besides the model folder, so a run resumes exactly:
// optimizer.safetensors (AdamW moments, named exp_avg.<param> / exp_avg_sq.<param>, step
// counts in the metadata), rng_state.safetensors (the CPU generator), loss_parameters
// (a loss's own weights), and trainer_state.json (log history, best metric, the position in
// the data and the running loss sums).
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <c10/core/GradMode.h>

#include <sbert/error.hpp>
#include <sbert/io/json_writer.hpp>
#include <sbert/io/safetensors_torch.hpp>
#include <sbert/training/callbacks.hpp>
#include <sbert/training/optimizer.hpp>

namespace sbert::detail {

/// The loop's running sums, saved so the first log after a resume equals the uninterrupted one.
struct running_totals {
  double loss_since_log = 0, loss_total = 0;
  std::map<std::string, std::pair<double, std::int64_t>> parts;  // name -> (sum, micro-batches)
  std::int64_t last_logged = 0, samples = 0;
  std::int64_t epoch_index = 0, next_batch = 0;  // where the data continues
  double scaler_scale = 65536.0;
  std::int64_t scaler_good_steps = 0;
};

inline void save_optimizer(const std::string& path, adamw& opt) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::vector<std::pair<std::string, std::string>> meta{{"format", "pt"}};
  for (auto& s : opt.slots()) {
    if (!s.exp_avg.defined()) continue;
    tensors.emplace_back("exp_avg." + s.p.name, s.exp_avg);
    tensors.emplace_back("exp_avg_sq." + s.p.name, s.exp_avg_sq);
    meta.emplace_back("step." + s.p.name, std::to_string(s.step));
  }
  safetensors::save_file(path, tensors, meta);
}

inline void load_optimizer(const std::string& path, adamw& opt) {
  auto r = safetensors::reader::open(path);
  std::map<std::string, at::Tensor> t;
  for (const auto& info : r.tensors()) t.emplace(info.name, safetensors::to_tensor(r, info));
  std::map<std::string, std::string> meta(r.metadata().begin(), r.metadata().end());
  for (auto& s : opt.slots()) {
    auto a = t.find("exp_avg." + s.p.name), b = t.find("exp_avg_sq." + s.p.name);
    if (a == t.end() || b == t.end()) continue;  // no update yet for this parameter
    if (a->second.sizes() != s.p.tensor.sizes())
      throw error(path + ": optimizer state of '" + s.p.name + "' has the wrong shape");
    s.exp_avg = a->second.to(s.p.tensor.device());
    s.exp_avg_sq = b->second.to(s.p.tensor.device());
    auto it = meta.find("step." + s.p.name);
    if (it == meta.end()) throw error(path + ": no step count for '" + s.p.name + "'");
    s.step = std::stoll(it->second);
  }
}

/// This process's CPU generator state (what dropout draws from).
inline at::Tensor rng_state_now() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

/// Writes "cpu" (this process, rank 0) and, in a data-parallel run, "rank{r}.cpu" for every
/// other rank's state (gathered beforehand): ranks draw different dropout masks once their
/// batches differ, so each must resume from its own state (transformers writes
/// rng_state_{rank}.pth per process; here rank 0 alone writes).
inline void save_rng(const std::string& path, const std::vector<at::Tensor>& rank_states = {}) {
  std::vector<std::pair<std::string, at::Tensor>> t{{"cpu", rank_states.empty() ? rng_state_now() : rank_states[0]}};
  for (std::size_t r = 1; r < rank_states.size(); ++r) t.emplace_back("rank" + std::to_string(r) + ".cpu", rank_states[r]);
  safetensors::save_file(path, t);
}

/// Restores rank `rank`'s state; a rank the checkpoint has no state for (a run resumed with
/// more processes than wrote it) takes rank 0's.
inline void load_rng(const std::string& path, int rank = 0) {
  auto saved = safetensors::load_file(path);
  const std::string own = rank == 0 ? "cpu" : "rank" + std::to_string(rank) + ".cpu";
  const at::Tensor* pick = nullptr;
  for (auto& [name, t] : saved)
    if (name == own) pick = &t;
  if (!pick)
    for (auto& [name, t] : saved)
      if (name == "cpu") pick = &t;
  if (!pick) return;
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(*pick);
}

inline json::value record_json(const log_record& r) {
  json::value o = json::value::make_object();
  for (const auto& [k, v] : r) {
    if (k == "step") o.set(k, static_cast<std::int64_t>(v));
    else o.set(k, v);
  }
  return o;
}

inline json::value state_json(const train_state& st, const running_totals& rt, std::int64_t logging_steps,
                              std::int64_t eval_steps, std::int64_t save_steps, std::int64_t batch_size,
                              std::int64_t world_size = 1, std::int64_t accumulation = 1) {
  json::value hist = json::value::make_array();
  for (const auto& r : st.log_history) hist.push(record_json(r));
  json::value parts = json::value::make_object();
  for (const auto& [k, v] : rt.parts) parts.set(k, json::value::array{v.first, v.second});
  json::value loop = json::value::make_object();
  loop.set("epoch_index", rt.epoch_index)
      .set("next_batch", rt.next_batch)
      .set("loss_since_log", rt.loss_since_log)
      .set("loss_total", rt.loss_total)
      .set("parts", parts)
      .set("last_logged", rt.last_logged)
      .set("samples", rt.samples)
      .set("scaler_scale", rt.scaler_scale)
      .set("scaler_good_steps", rt.scaler_good_steps)
      .set("skipped_steps", st.skipped_steps)
      // what next_batch counts in: global batches of this many rows, `accumulation` per step
      .set("world_size", world_size)
      .set("global_batch_size", batch_size * world_size)
      .set("gradient_accumulation_steps", accumulation);
  json::value o = json::value::make_object();
  o.set("best_metric", st.best_metric ? json::value(*st.best_metric) : json::value())
      .set("best_model_checkpoint", st.best_model_checkpoint.empty() ? json::value() : json::value(st.best_model_checkpoint))
      .set("epoch", st.epoch)
      .set("eval_steps", eval_steps)
      .set("global_step", st.global_step)
      .set("log_history", hist)
      .set("logging_steps", logging_steps)
      .set("max_steps", st.max_steps)
      .set("num_train_epochs", st.num_train_epochs)
      .set("save_steps", save_steps)
      .set("train_batch_size", batch_size)
      .set("sbert_loop", loop);
  return o;
}

/// The batch layout a checkpoint's sampler position counts in (recorded = false: written
/// before these keys existed).
struct checkpoint_layout {
  bool recorded = false;
  std::int64_t world_size = 1, global_batch_size = 0, accumulation = 1;
};

/// Reads trainer_state.json back into the state and the running sums; returns the layout.
inline checkpoint_layout read_state(const std::string& path, train_state& st, running_totals& rt) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.load(path).get(root)) throw error(path + ": cannot read or parse the trainer state");
  auto num = [&](simdjson::dom::element e, const char* key) -> double {
    double d = 0;
    auto v = e[key];
    if (v.error()) throw error(path + ": missing '" + key + "'");
    if (v.is_int64()) return static_cast<double>(std::int64_t(v.get_int64()));
    if (v.get_double().get(d)) throw error(path + ": '" + key + "' is not a number");
    return d;
  };
  st.global_step = static_cast<std::int64_t>(num(root, "global_step"));
  st.epoch = num(root, "epoch");
  if (auto b = root["best_metric"]; !b.error() && !b.is_null()) st.best_metric = num(root, "best_metric");
  if (auto b = root["best_model_checkpoint"]; !b.error() && b.is_string()) st.best_model_checkpoint = std::string(std::string_view(b.get_string()));
  st.log_history.clear();
  for (auto rec : root["log_history"].get_array()) {
    log_record r;
    for (auto [k, v] : rec.get_object()) {
      double d = 0;
      if (v.is_int64()) d = static_cast<double>(std::int64_t(v.get_int64()));
      else if (v.get_double().get(d)) continue;
      r.emplace_back(std::string(k), d);
    }
    st.log_history.push_back(std::move(r));
  }
  simdjson::dom::element loop;
  if (root["sbert_loop"].get(loop)) throw error(path + ": not written by sbert (no 'sbert_loop'); cannot resume from it");
  rt.epoch_index = static_cast<std::int64_t>(num(loop, "epoch_index"));
  rt.next_batch = static_cast<std::int64_t>(num(loop, "next_batch"));
  rt.loss_since_log = num(loop, "loss_since_log");
  rt.loss_total = num(loop, "loss_total");
  rt.last_logged = static_cast<std::int64_t>(num(loop, "last_logged"));
  rt.samples = static_cast<std::int64_t>(num(loop, "samples"));
  rt.scaler_scale = num(loop, "scaler_scale");
  rt.scaler_good_steps = static_cast<std::int64_t>(num(loop, "scaler_good_steps"));
  st.skipped_steps = static_cast<std::int64_t>(num(loop, "skipped_steps"));
  rt.parts.clear();
  for (auto [k, v] : loop["parts"].get_object()) {
    auto arr = v.get_array();
    rt.parts[std::string(k)] = {double(arr.at(0)), std::int64_t(arr.at(1))};
  }
  checkpoint_layout layout;
  layout.recorded = !loop["global_batch_size"].get(layout.global_batch_size) &&
                    !loop["gradient_accumulation_steps"].get(layout.accumulation) && !loop["world_size"].get(layout.world_size);
  return layout;
}

/// A checkpoint's sampler position counts global batches of its run: resuming is exact with
/// any process count whose global batch (per-device size x processes) and accumulation are
/// the checkpoint's, and refused otherwise (the position would point at other rows); a
/// one-process checkpoint resumed in one process is not checked.
/// Checkpoints written before these keys existed are not checked.
inline void check_resume_layout(const checkpoint_layout& layout, const std::string& path, std::int64_t per_device,
                                std::int64_t world_size, std::int64_t accumulation) {
  if (!layout.recorded) return;
  const std::int64_t global = layout.global_batch_size, accum = layout.accumulation, world = layout.world_size;
  // One process resuming a one-process checkpoint keeps transformers' leniency (another batch
  // size is the user's choice); across process counts the position would silently shift.
  if (world == 1 && world_size == 1) return;
  if (global == per_device * world_size && accum == accumulation) return;
  throw error("resume_from_checkpoint: " + path + " was written by a run with a global batch of " + std::to_string(global) +
              " rows (" + std::to_string(global / std::max<std::int64_t>(world, 1)) + " per device x " + std::to_string(world) +
              " processes) and gradient_accumulation_steps " + std::to_string(accum) + "; this run has " +
              std::to_string(per_device * world_size) + " (" + std::to_string(per_device) + " x " + std::to_string(world_size) +
              ") and " + std::to_string(accumulation) +
              ". Its sampler position counts those batches: resume with per_device_train_batch_size x WORLD_SIZE = " +
              std::to_string(global) + " and the same accumulation");
}

/// The newest complete checkpoint-{step} folder in `dir` (temporary ones are ignored).
inline std::string latest_checkpoint(const std::string& dir) {
  std::int64_t best = -1;
  std::string path;
  if (!std::filesystem::exists(dir)) return {};
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (!e.is_directory() || !name.starts_with("checkpoint-") || name.ends_with(".tmp")) continue;
    try {
      const auto step = std::stoll(name.substr(11));
      if (step > best && std::filesystem::exists(e.path() / "trainer_state.json")) {
        best = step;
        path = e.path().string();
      }
    } catch (...) {
    }
  }
  return path;
}

}  // namespace sbert::detail
