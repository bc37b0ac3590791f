// SPDX-License-Identifier: Apache-2.0
// AdamW as torch.optim.AdamW computes it (single-tensor path, bias correction, no amsgrad),
// with transformers' parameter groups: no weight decay on biases and LayerNorm weights.
// Written over plain tensors so the trainer needs no torch/optim headers and its state can be
// checkpointed as named tensors.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>

namespace sbert {

struct named_parameter {
  std::string name;
  at::Tensor tensor;
};

/// transformers' rule: biases and LayerNorm parameters get no weight decay.
[[nodiscard]] inline bool decays(const std::string& name) {
  return name.find("bias") == std::string::npos && name.find("LayerNorm") == std::string::npos &&
         name.find("layer_norm") == std::string::npos && name.find("layernorm") == std::string::npos;
}

class adamw {
 public:
  struct options {
    double lr = 5e-5;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    double weight_decay = 0.0;
  };
  struct slot {
    named_parameter p;
    bool decay = true;
    at::Tensor exp_avg, exp_avg_sq;
    std::int64_t step = 0;
  };

  adamw(std::vector<named_parameter> params, options o) : o_(o) {
    for (auto& p : params) slots_.push_back({std::move(p), decays(p.name), {}, {}, 0});
  }

  void set_lr(double lr) { o_.lr = lr; }
  [[nodiscard]] double lr() const { return o_.lr; }
  [[nodiscard]] std::vector<slot>& slots() { return slots_; }
  [[nodiscard]] const options& opts() const { return o_; }

  void zero_grad() {
    for (auto& s : slots_)
      if (s.p.tensor.grad().defined()) s.p.tensor.mutable_grad() = at::Tensor();
  }

  /// One update. Parameters without a gradient are skipped (as torch does: their state and
  /// step count do not advance).
  void step() {
    c10::NoGradGuard no_grad;
    for (auto& s : slots_) {
      auto& p = s.p.tensor;
      const at::Tensor g = p.grad();
      if (!g.defined()) continue;
      if (!s.exp_avg.defined()) {
        s.exp_avg = at::zeros_like(p);
        s.exp_avg_sq = at::zeros_like(p);
      }
      ++s.step;
      const double wd = s.decay ? o_.weight_decay : 0.0;
      if (wd != 0.0) p.mul_(1.0 - o_.lr * wd);
      s.exp_avg.mul_(o_.beta1).add_(g, 1.0 - o_.beta1);
      s.exp_avg_sq.mul_(o_.beta2).addcmul_(g, g, 1.0 - o_.beta2);
      const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(s.step));
      const double bc2 = 1.0 - std::pow(o_.beta2, static_cast<double>(s.step));
      const at::Tensor denom = (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(o_.eps);
      p.addcdiv_(s.exp_avg, denom, -o_.lr / bc1);
    }
  }

 private:
  options o_;
  std::vector<slot> slots_;
};

}  // namespace sbert
